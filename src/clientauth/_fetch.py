"""Outbound HTTP: the one place clientauth opens a connection to a host named by someone else.

CRL distribution points and OCSP responders (RFC 5280 4.2.1.13 and 4.2.2.1) come from
certificates, ``jwks_uri`` (RFC 7591 section 2) from client metadata: every URL fetched here was
chosen by a party we do not trust. :func:`fetch` therefore keeps these bounds, whatever the
host does:

* **one deadline** for the whole exchange -- connect, TLS handshake, request, status line,
  headers and body -- not a timeout per read. The socket's timeout is reset to what remains
  before every read, and the process watchdog (:mod:`clientauth._watchdog`) shuts the socket
  down when the deadline passes, so a host that drips headers or body one byte at a time is
  cut off on time. DNS resolution is the system resolver's and is not covered.
* **a size cap**: a body longer than ``max_size`` is refused, not truncated; an announced
  ``Content-Length`` above it is refused before reading.
* **no redirects**: a 3xx is a failure (the URL the certificate or the registration names is
  the one to fetch; a redirect could lead anywhere, including past the address policy).
* **an address policy** (:class:`AddressPolicy`): every address the host name resolves to must
  be globally routable -- loopback, link-local (169.254.169.254, the cloud metadata service),
  private, shared (100.64/10), multicast, unspecified and reserved ranges are refused unless
  the operator allowed them explicitly -- and the connection goes to an address that was
  checked, never to a second resolution (DNS rebinding).
* **no proxy**: the ``*_proxy`` environment variables are not honoured, because a proxy would
  connect to an address this policy never saw.

Every failure is a :class:`~clientauth.FetchError` whose message names the URL and the cause.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from ._watchdog import WATCHDOG, Guard
from .exceptions import ConfigurationError, FetchError

__all__ = ["AddressPolicy", "fetch"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_READ_CHUNK: Final = 64 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_MIN_SOCKET_TIMEOUT: Final = 0.001
"""A socket timeout of 0 would switch the socket to non-blocking mode: never set less."""

# Checked in this order so that the reason names the most specific category.
_CATEGORIES: Final = (
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),
    ("unspecified", "is_unspecified"),
    ("multicast", "is_multicast"),
    ("private", "is_private"),
    ("reserved", "is_reserved"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses an outbound fetch may connect to.

    By default only globally routable unicast addresses; ``allow`` lists addresses or networks
    (``"10.1.2.3"``, ``"10.0.0.0/8"``, ``"::1"``) the operator explicitly permits, e.g. an
    internal CRL server or, in tests, ``"127.0.0.1"``.
    """

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, allow: Iterable[str] | AddressPolicy | None) -> AddressPolicy:
        """The policy for a setting given by a user; :class:`ConfigurationError` if malformed."""
        if allow is None:
            return cls()
        if isinstance(allow, AddressPolicy):
            return allow
        if isinstance(allow, str | bytes) or not isinstance(allow, Iterable):
            raise ConfigurationError("allow_addresses must be a list of addresses or networks")
        networks: list[IPNetwork] = []
        for item in allow:
            if not isinstance(item, str):
                raise ConfigurationError("allow_addresses entries must be strings")
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=True))
            except ValueError:
                raise ConfigurationError(
                    f"allow_addresses: {item!r} is not an IP address or network"
                ) from None
        return cls(tuple(networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be connected to (``None`` if it may)."""
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                # ::ffff:a.b.c.d, 64:ff9b::a.b.c.d (NAT64, RFC 6052) and 2002:a.b.c.d::
                # (6to4, RFC 3056) reach the IPv4 host a.b.c.d: judge that one.
                return self.refusal(embedded)
        if any(address in network for network in self.allow):
            return None
        for label, attribute in _CATEGORIES:
            if getattr(address, attribute):
                return label
        if not address.is_global:
            return "not globally routable"
        return None

    def __repr__(self) -> str:
        return f"AddressPolicy(allow={[str(n) for n in self.allow]})"


_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def fetch(
    url: str,
    *,
    what: str,
    timeout: float,
    max_size: int,
    policy: AddressPolicy,
    schemes: Sequence[str] = ("http", "https"),
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> bytes:
    """The body of a 200 answer to one request for ``url``, within every bound of the module.

    ``what`` names the fetch in error messages (``"CRL"``, ``"jwks_uri"``). Raises
    :class:`~clientauth.FetchError`; never anything else for what the host does.
    """
    deadline = time.monotonic() + timeout
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except (ValueError, TypeError):
        raise FetchError(f"{what} {url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise FetchError(f"{what} {url!r}: only {' or '.join(schemes)} URLs are fetched")
    host = parts.hostname
    if not host:
        raise FetchError(f"{what} {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise FetchError(f"{what} {url!r}: credentials in the URL are refused")
    port = port or _DEFAULT_PORTS[scheme]
    addresses = _resolve(url, what, host, port, policy)

    request_headers = {"Host": _host_header(host, port, scheme), "Connection": "close"}
    request_headers.update(headers or {})
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock: socket.socket | None = None
    guard: Guard | None = None
    connection: http.client.HTTPConnection | None = None
    try:
        sock, guard = _connect(addresses, deadline)
        if scheme == "https":
            context = tls or ssl.create_default_context()
            sock.settimeout(_remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port)
        connection.sock = sock
        connection.request(method, target, body=body, headers=request_headers)
        sock.settimeout(_remaining(deadline))
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise FetchError(f"{what} {url!r}: redirect refused (HTTP {response.status})")
        if response.status != 200:
            raise FetchError(f"{what} {url!r}: HTTP status {response.status}")
        length = (response.getheader("Content-Length") or "").strip()
        if length.isdigit() and int(length) > max_size:
            raise FetchError(f"{what} {url!r}: larger than {max_size} bytes ({length} announced)")
        return _read(
            url, what, response=response, sock=sock, deadline=deadline, max_size=max_size,
            timeout=timeout,
        )
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # Past the deadline whatever broke is the deadline's doing (the watchdog shut the
        # socket down, or the last read ran out of time): say so, not "connection reset".
        if time.monotonic() >= deadline or (guard is not None and guard.fired):
            raise FetchError(_late(what, url, timeout)) from None
        raise FetchError(f"{what} {url!r}: {_describe(exc)}") from None
    finally:
        WATCHDOG.disarm(guard)
        with contextlib.suppress(OSError):
            # The connection closes the response too: the socket is really closed only
            # when the response's file object lets go of it.
            if connection is not None:
                connection.close()
            if sock is not None:
                sock.close()


def _resolve(
    url: str, what: str, host: str, port: int, policy: AddressPolicy
) -> list[tuple[int, tuple[str, int] | tuple[str, int, int, int]]]:
    """Every address ``host`` resolves to, each checked by ``policy``. A name with any
    refused address is refused as a whole: which one a client would get is not ours to
    guess."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"{what} {url!r}: cannot resolve {host!r} ({_describe(exc)})") from None
    found: list[tuple[int, tuple[str, int] | tuple[str, int, int, int]]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        why = policy.refusal(address)
        if why is not None:
            named = "" if host == str(address) else f" ({host})"
            raise FetchError(
                f"{what} {url!r}: {address}{named} is a {why} address, refused by the "
                "address policy (allow_addresses)"
            )
        found.append((family, sockaddr))  # type: ignore[arg-type] # AF_INET/6 sockaddrs
    if not found:
        raise FetchError(f"{what} {url!r}: {host!r} has no IP address")
    return found


def _connect(
    addresses: list[tuple[int, tuple[str, int] | tuple[str, int, int, int]]], deadline: float
) -> tuple[socket.socket, Guard | None]:
    last: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(_remaining(deadline))
        guard = WATCHDOG.arm(sock.fileno(), _remaining(deadline))
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            WATCHDOG.disarm(guard)
            sock.close()
            last = exc
            if time.monotonic() >= deadline:
                break
            continue
        return sock, guard
    raise last or TimeoutError("connect")


def _read(
    url: str,
    what: str,
    *,
    response: http.client.HTTPResponse,
    sock: socket.socket,
    deadline: float,
    max_size: int,
    timeout: float,
) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(_late(what, url, timeout))
        sock.settimeout(max(remaining, _MIN_SOCKET_TIMEOUT))
        # read1: what one socket read gives, so the deadline is looked at between reads.
        chunk = response.read1(min(_READ_CHUNK, max_size + 1 - total))
        if not chunk:
            if response.length:  # Content-Length announced more than arrived
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return b"".join(chunks)
        total += len(chunk)
        if total > max_size:
            raise FetchError(f"{what} {url!r}: larger than {max_size} bytes")
        chunks.append(chunk)


def _late(what: str, url: str, timeout: float) -> str:
    return f"{what} {url!r}: no complete answer within the {timeout:.3g} s timeout"


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    return max(remaining, _MIN_SOCKET_TIMEOUT)


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__
