"""Per-request cost against the peers and the floor (issue 18), in process.

    python3 benchmarks/bench_peers.py [--rounds 9] [--scale 1.0] [--only secret,cold,...]

Sections, each a table of median per-call CPU time and ratios taken within one round:

  secret     client_secret_basic: ``Authenticator.authenticate`` vs Authlib's
             ``ClientAuthentication`` on the same Basic header, the Authlib client's
             ``check_client_secret`` doing what clientauth's ``$sha256$`` scheme does
             (salted SHA-256 + ``hmac.compare_digest``). Goal <= 1.0x.
  cold       tls_client_auth with a leaf never seen before and fresh certificate objects on
             both sides (leaf + intermediate loaded from DER outside the timing) vs
             cryptography's ``ClientVerifier.verify`` alone on the same chain. Goal <= 1.10x.
             Beside it, the floor in the same run: verify plus the subject alone, and verify
             plus every read of the leaf an accept needs (see docs/design.md).
  pinned     self_signed_tls_client_auth with the DER the TLS layer hands over (same
             client reconnecting). Goal <= 8 us.
  forwarded  ``parse_forwarded`` vs a bare decode + load of the same certificate: rfc9440 and
             haproxy (base64 -> ``load_der_x509_certificate``), envoy (cut the ``Cert`` value,
             percent-decode -> ``load_pem_x509_certificate``). Goal <= 1.3x each.
  middleware ``ClientAuthMiddleware`` in process (no server, no socket) minus the bare app,
             against ``authenticate`` alone on a request built beforehand: the adapter's own
             cost, for the secret path and the forwarded (rfc9440) path; and, for the secret
             path, Starlette's ``AuthenticationMiddleware`` with the Basic backend of
             ``bench_server_cpu.py`` on the same request.

Figures are per-call CPU time of this thread (``time.thread_time_ns``); each round measures
every side back to back in alternating order; ratios are the median of the per-round ratios.
Server CPU per request under real uvicorn is ``bench_server_cpu.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import Samples, interleaved, load_average, median, ratio, verdict
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

import clientauth
from certs import NOW, Pki, clock, new_key, self_signed
from clientauth.forwarded import parse_forwarded

Row = tuple[str, str, str | None]
"""(label, side name, base side name or None)."""


def table(title: str, samples: Samples, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(f"  {'measurement':<58}{'CPU us/call':>12}{'ratio':>9}")
    for label, side, base in rows:
        shown = f"{ratio(samples, side, base):8.2f}x" if base else ""
        print(f"  {label:<58}{median(samples, side):12.2f}{shown:>9}")


# -- (a) client_secret_basic vs Authlib ------------------------------------------------------


class _AuthlibClient:
    """An Authlib user's client model: the secret stored as salt + SHA-256(salt + secret)."""

    def __init__(self, client_id: str, secret: str, method: str) -> None:
        self.client_id = client_id
        self.salt = secrets.token_bytes(16)
        self.digest = hashlib.sha256(self.salt + secret.encode()).digest()
        self.method = method

    def check_client_secret(self, client_secret: str) -> bool:
        candidate = hashlib.sha256(self.salt + client_secret.encode()).digest()
        return hmac.compare_digest(candidate, self.digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.method


def secret_section(rounds: int, scale: float) -> None:
    from authlib.oauth2.rfc6749 import OAuth2Request
    from authlib.oauth2.rfc6749.authenticate_client import ClientAuthentication
    from authlib.oauth2.rfc6749.errors import InvalidClientError

    secret = clientauth.generate_secret()
    registry = clientauth.load_clients(
        [{"client_id": "bench", "client_secret_hash": clientauth.hash_secret(secret)}]
    )
    auth = clientauth.Authenticator(registry)
    clients = {"bench": _AuthlibClient("bench", secret, "client_secret_basic")}
    authlib_auth = ClientAuthentication(clients.get)
    methods = ["client_secret_basic"]

    def basic(client_id: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{client_id}:{password}".encode()).decode()

    headers = {"right": basic("bench", secret), "wrong": basic("bench", secret[::-1]),
               "unknown": basic("nobody", secret)}
    ours = {k: clientauth.ClientRequest([("authorization", v)]) for k, v in headers.items()}
    theirs = {
        k: OAuth2Request("POST", "https://as.example/token", headers={"Authorization": v})
        for k, v in headers.items()
    }
    assert auth.authenticate(ours["right"]).ok
    assert authlib_auth(theirs["right"], methods) is clients["bench"]

    def authlib_call(request: Any) -> Callable[[], object]:
        def call() -> object:
            try:
                return authlib_auth(request, methods)
            except InvalidClientError as exc:  # what a wrong or unknown client gets
                return exc

        return call

    sides: dict[str, Callable[[], object]] = {}
    for kind in headers:
        sides[f"ours {kind}"] = lambda r=ours[kind]: auth.authenticate(r)
        sides[f"authlib {kind}"] = authlib_call(theirs[kind])
    # The same, with each side's request object built from the header inside the timing
    # (what an adapter does per request).
    raw = headers["right"]
    sides["ours right + request"] = lambda: auth.authenticate(
        clientauth.ClientRequest([(b"authorization", raw.encode())])
    )
    sides["authlib right + request"] = lambda: authlib_auth(
        OAuth2Request("POST", "https://as.example/token", headers={"Authorization": raw}),
        methods,
    )
    samples = interleaved(sides, number=int(3000 * scale), rounds=rounds)
    table(
        "client_secret_basic: Authenticator.authenticate vs Authlib ClientAuthentication "
        "(goal <= 1.0x)",
        samples,
        [
            ("right secret: clientauth / Authlib", "ours right", "authlib right"),
            ("  Authlib", "authlib right", None),
            ("wrong secret: clientauth / Authlib", "ours wrong", "authlib wrong"),
            ("  Authlib", "authlib wrong", None),
            ("unknown id: clientauth / Authlib", "ours unknown", "authlib unknown"),
            ("  Authlib", "authlib unknown", None),
            ("right, request object built per call: clientauth / Authlib",
             "ours right + request", "authlib right + request"),
        ],
    )
    right = ratio(samples, "ours right", "authlib right")
    print(f"  => right secret {right:.2f}x Authlib: goal <= 1.0x {verdict(right, 1.0)}")


# -- (b) tls_client_auth cold vs ClientVerifier.verify ----------------------------------------


def cold_section(rounds: int, scale: float) -> None:
    number = max(20, int(150 * scale))
    pki = Pki.create()
    # Every leaf is new to the verifier (distinct key, serial and signature); every call on
    # either side gets its own freshly loaded objects, as a new TLS connection would.
    count = number * rounds + 1  # + the warm-up call
    leaves = [
        pki.leaf("client-1", org="Acme", san_dns=["client-1.example"]).der for _ in range(count)
    ]
    inter_der = pki.intermediate.der
    load = x509.load_der_x509_certificate
    # Loaded before the timing: the figure is verification alone, on objects nothing has read.
    ours_chains = iter([(load(der), load(inter_der)) for der in leaves])
    raw_chains = iter([(load(der), load(inter_der)) for der in leaves])
    floor_chains = iter([(load(der), load(inter_der)) for der in leaves])
    least_chains = iter([(load(der), load(inter_der)) for der in leaves])
    registry = clientauth.load_clients([{
        "client_id": "c1", "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": "CN=client-1,O=Acme",
    }])
    auth = clientauth.Authenticator(registry, trust_anchors=[pki.root.cert], now=clock(NOW))
    store = verification.Store([x509.load_der_x509_certificate(pki.root.der)])
    raw = verification.PolicyBuilder().store(store).time(NOW).build_client_verifier()

    def ours() -> object:
        leaf, inter = next(ours_chains)
        result = auth.authenticate(
            clientauth.ClientRequest(form={"client_id": "c1"}, tls_chain=(leaf, inter))
        )
        assert result.ok, result
        return result

    def bare() -> object:
        leaf, inter = next(raw_chains)
        return raw.verify(leaf, [inter])

    def floor() -> object:
        # The verification plus what any accept must read of the new leaf through
        # cryptography's API: the parts check_usable vouches for (issue 11: nothing read
        # later may raise), the key (its strength: the verifier does not judge it) and the
        # DER for the x5t#S256 thumbprint. No Python logic at all.
        leaf, inter = next(floor_chains)
        verified = raw.verify(leaf, [inter])
        _ = leaf.subject, leaf.issuer, leaf.extensions, leaf.serial_number
        _ = leaf.not_valid_before_utc, leaf.not_valid_after_utc, leaf.public_key()
        return verified, hashlib.sha256(leaf.public_bytes(Encoding.DER)).digest()

    def least() -> object:
        # The least any implementation could do: verify, and read the subject (the name a
        # tls_client_auth_subject_dn client is matched by) -- no thumbprint, no key strength,
        # no vouching for what the application reads later, no Python logic.
        leaf, inter = next(least_chains)
        return raw.verify(leaf, [inter]), leaf.subject

    samples = interleaved({"ours": ours, "raw": bare, "floor": floor, "least": least},
                          number=number, rounds=rounds)
    table(
        "tls_client_auth, leaf never seen before, fresh objects (goal <= 1.10x)",
        samples,
        [
            ("authenticate / ClientVerifier.verify", "ours", "raw"),
            ("  ClientVerifier.verify alone", "raw", None),
            ("  verify + the subject alone (the least any match reads)", "least", "raw"),
            ("  verify + the leaf reads every accept needs (floor)", "floor", "raw"),
            ("authenticate / that floor", "ours", "floor"),
        ],
    )
    value = ratio(samples, "ours", "raw")
    print(f"  => {value:.2f}x: goal <= 1.10x {verdict(value, 1.10)}; the reads alone put the "
          f"floor at {ratio(samples, 'floor', 'raw'):.2f}x (the subject alone: "
          f"{ratio(samples, 'least', 'raw'):.2f}x)")


# -- (c) self_signed_tls_client_auth from DER ----------------------------------------------------


def pinned_section(rounds: int, scale: float) -> None:
    cert = self_signed("pinned-client")
    registry = clientauth.load_clients([{
        "client_id": "p1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "tls_client_certificates": [cert.pem],
    }])
    auth = clientauth.Authenticator(registry, now=clock(NOW))
    der = cert.der
    copies = [bytes(bytearray(der)) for _ in range(64)]  # distinct objects, same content
    it = iter(copies * 10**6)

    def ours() -> object:
        return auth.authenticate(
            clientauth.ClientRequest(form={"client_id": "p1"}, tls_chain=(next(it),))
        )

    assert ours().ok  # type: ignore[attr-defined]

    def by_cert() -> object:
        return auth.authenticate(clientauth.ClientRequest(tls_chain=(next(it),)))

    assert by_cert().ok  # type: ignore[attr-defined]
    load = x509.load_der_x509_certificate
    samples = interleaved(
        {"ours": ours, "by cert": by_cert, "load": lambda: load(der)},
        number=int(3000 * scale), rounds=rounds,
    )
    table(
        "self_signed_tls_client_auth, DER from the TLS layer (goal <= 8 us)",
        samples,
        [
            ("authenticate, client_id in the form", "ours", None),
            ("authenticate, identified by the certificate", "by cert", None),
            ("  load_der_x509_certificate alone (x ours)", "load", "ours"),
        ],
    )
    value = median(samples, "ours")
    print(f"  => {value:.2f} us: goal <= 8 us {verdict(value, 8.0)}")


# -- (d) parse_forwarded vs a bare decode + load -----------------------------------------------


def forwarded_values(leaf: Any) -> dict[str, str]:
    der, pem = leaf.der, leaf.pem
    escaped = pem
    for char, escape in (("\n", "%0A"), (" ", "%20"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D")):
        escaped = escaped.replace(char, escape)
    b64 = base64.b64encode(der).decode("ascii")
    return {
        "rfc9440": f":{b64}:",
        "haproxy": b64,
        "envoy": (
            f"By=spiffe://mesh/gw;Hash={hashlib.sha256(der).hexdigest()};"
            f'Cert="{escaped}";Subject="CN=bench-client";URI=;DNS=client.example'
        ),
    }


def forwarded_sides(
    values: dict[str, str] | Callable[[str], Iterator[dict[str, str]]],
) -> dict[str, Callable[[], object]]:
    """Our parser and the bare decode + load per format, on fixed values or on new ones
    each call (``values(format)`` an iterator; both sides of a format get the same
    certificates, each format its own)."""
    load_der, load_pem = x509.load_der_x509_certificate, x509.load_pem_x509_certificate
    b64decode, unquote = base64.b64decode, urllib.parse.unquote

    def envoy_bare(xfcc: str) -> object:
        start = xfcc.index('Cert="') + 6
        return load_pem(unquote(xfcc[start : xfcc.index('"', start)]).encode())

    bare: dict[str, Callable[[str], object]] = {
        "rfc9440": lambda v: load_der(b64decode(v[1:-1])),
        "haproxy": lambda v: load_der(b64decode(v)),
        "envoy": envoy_bare,
    }
    sides: dict[str, Callable[[], object]] = {}
    for fmt, decode in bare.items():
        if callable(values):
            ours_values, bare_values = values(fmt), values(fmt)

            def ours(fmt: str = fmt, it: Any = ours_values) -> object:
                return parse_forwarded(fmt, next(it)[fmt])

            def floor(decode: Callable[[str], object] = decode, fmt: str = fmt,
                      it: Any = bare_values) -> object:
                return decode(next(it)[fmt])
        else:
            value = values[fmt]

            def ours(fmt: str = fmt, value: str = value) -> object:
                return parse_forwarded(fmt, value)

            def floor(decode: Callable[[str], object] = decode, value: str = value) -> object:
                return decode(value)

        sides[fmt], sides[f"{fmt} bare"] = ours, floor
    return sides


FORMATS = ("rfc9440", "haproxy", "envoy")


def forwarded_table(title: str, samples: Samples) -> None:
    table(
        title,
        samples,
        [(f"{fmt}: parse_forwarded / bare", fmt, f"{fmt} bare") for fmt in FORMATS]
        + [(f"  {fmt} bare", f"{fmt} bare", None) for fmt in FORMATS],
    )
    print("  => " + ", ".join(
        f"{fmt} {ratio(samples, fmt, fmt + ' bare'):.2f}x "
        f"{verdict(ratio(samples, fmt, fmt + ' bare'), 1.3)}" for fmt in FORMATS))


def forwarded_section(rounds: int, scale: float) -> None:
    for key in ("ec", "rsa"):
        pki = Pki.create(key=key)
        leaf = pki.leaf("bench-client", san_dns=["client.example"], key=new_key(key))
        values = forwarded_values(leaf)
        for fmt in FORMATS:
            assert parse_forwarded(fmt, values[fmt])[0] == leaf.cert
        samples = interleaved(forwarded_sides(values), number=int(3000 * scale), rounds=rounds)
        forwarded_table(
            f"parse_forwarded vs bare decode + load, {key.upper()} leaf, the same header again "
            "(goal <= 1.3x each)", samples)
        # Cold: a certificate never seen before on every call (one key, distinct serials),
        # each format its own certificates.
        number = max(10, int(100 * scale))
        one_key = new_key(key)
        fresh = {
            fmt: [forwarded_values(pki.leaf("bench-client", san_dns=["client.example"],
                                            key=one_key))
                  for _ in range(number * rounds + 1)]
            for fmt in FORMATS
        }
        samples = interleaved(forwarded_sides(lambda fmt, f=fresh: iter(f[fmt])),
                              number=number, rounds=rounds)
        forwarded_table(
            f"parse_forwarded vs bare decode + load, {key.upper()} leaf never seen before",
            samples)


# -- (f) in-process middleware overhead over authenticate ---------------------------------------


def middleware_section(rounds: int, scale: float) -> None:
    from bench_server_cpu import starlette_app

    from clientauth.asgi import ClientAuthMiddleware

    pki = Pki.create()
    leaf = pki.leaf("bench-mtls", org="Bench")
    secret = clientauth.generate_secret()
    shared = secrets.token_urlsafe(32)
    registry = clientauth.load_clients([
        {"client_id": "bench", "client_secret_hash": clientauth.hash_secret(secret)},
        {"client_id": "bench-mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=bench-mtls,O=Bench"},
    ])
    forwarded = clientauth.ForwardedCertificates(
        "rfc9440", trusted_proxies=["127.0.0.1/32"], shared_secret=("X-Proxy-Secret", shared))
    auth = clientauth.Authenticator(registry, trust_anchors=[pki.root.cert],
                                    intermediates=[pki.intermediate.cert], forwarded=forwarded,
                                    now=clock(NOW))
    token = base64.b64encode(f"bench:{secret}".encode()).decode()
    cases = {
        "secret": [(b"authorization", f"Basic {token}".encode())],
        "forwarded": [
            (b"client-cert", f":{base64.b64encode(leaf.der).decode()}:".encode()),
            (b"x-proxy-secret", shared.encode()), (b"client_id", b"bench-mtls"),
        ],
    }

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    guarded = ClientAuthMiddleware(app, authenticator=auth)
    salt = secrets.token_bytes(16)
    starlette = starlette_app(salt, hashlib.sha256(salt + secret.encode()).digest(), app)
    sides: dict[str, Callable[[], object]] = {}
    for case, extra in cases.items():
        headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench"), *extra]
        request = clientauth.ClientRequest(headers, peer="127.0.0.1")
        assert auth.authenticate(request).ok, auth.authenticate(request)

        def scope(headers: list[tuple[bytes, bytes]] = headers) -> dict[str, Any]:
            return {"type": "http", "path": "/token", "headers": headers, "query_string": b"",
                    "client": ("127.0.0.1", 50000), "method": "POST"}

        def through(target: Any, scope: Callable[[], dict[str, Any]] = scope) -> Callable[[], Any]:
            def call() -> Any:
                # Drive the coroutine by hand: no await is pending, so one send() completes
                # it, and the event loop's own cost stays out of the figure.
                coro = target(scope(), receive, send)
                try:
                    coro.send(None)
                except StopIteration:
                    return None
                raise RuntimeError("the middleware awaited something")

            return call

        if case == "secret":
            sides["secret starlette"] = through(starlette)
        sides[f"{case} middleware"] = through(guarded)
        sides[f"{case} app"] = through(app)
        sides[f"{case} authenticate"] = lambda r=request: auth.authenticate(r)
        sides[f"{case} request+authenticate"] = lambda h=headers: auth.authenticate(
            clientauth.ClientRequest(h, peer="127.0.0.1"))
    samples = interleaved(sides, number=int(3000 * scale), rounds=rounds)
    print("\nClientAuthMiddleware in process, over authenticate alone")
    print(f"  {'case':<10}{'authenticate':>13}{'middleware-app':>16}{'adapter us':>12}"
          f"{'mw / auth':>11}{'req+auth':>10}")
    import statistics

    for case in cases:
        mw = [m - a for m, a in zip(samples[f"{case} middleware"], samples[f"{case} app"],
                                    strict=True)]
        alone = samples[f"{case} authenticate"]
        over = statistics.median(m / a for m, a in zip(mw, alone, strict=True))
        adapter = statistics.median(m - a for m, a in zip(mw, alone, strict=True))
        print(f"  {case:<10}{statistics.median(alone):13.2f}{statistics.median(mw):16.2f}"
              f"{adapter:12.2f}{over:10.2f}x"
              f"{median(samples, f'{case} request+authenticate'):10.2f}")
    starlette = [s - a for s, a in zip(samples["secret starlette"], samples["secret app"],
                                       strict=True)]
    ours = [m - a for m, a in zip(samples["secret middleware"], samples["secret app"],
                                  strict=True)]
    versus = statistics.median(o / s for o, s in zip(ours, starlette, strict=True))
    print(f"  Starlette AuthenticationMiddleware, Basic backend (salted SHA-256): "
          f"{statistics.median(starlette):.2f} us over the app; ClientAuthMiddleware / "
          f"Starlette {versus:.2f}x")


SECTIONS = {
    "secret": secret_section,
    "cold": cold_section,
    "pinned": pinned_section,
    "forwarded": forwarded_section,
    "middleware": middleware_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per section")
    parser.add_argument("--scale", type=float, default=1.0, help="calls per round, relative")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args()
    import cryptography

    print(f"Python {sys.version.split()[0]}, cryptography {cryptography.__version__}, "
          f"{load_average()} at start; medians of {args.rounds} rounds")
    for section in args.only.split(","):
        SECTIONS[section](args.rounds, args.scale)
    print(f"\n{load_average()} at end")


if __name__ == "__main__":
    main()
