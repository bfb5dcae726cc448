"""ForwardedCertificates(proxy_certificates=...): the proxy proves itself with its own TLS
certificate on the proxy-to-app hop (issue 15).

What must hold: the header is honoured only when the TLS peer's leaf is a pinned proxy
certificate (and every other configured technique holds too); a pinned proxy's certificate is
never a client credential; any other TLS peer is an ordinary direct-mTLS client whose header is
ignored with ``Notice.UNTRUSTED_FORWARDED_HEADER``; bad pins are refused at construction.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from certs import Issued, Pki, clock, self_signed
from clientauth import (
    Authenticator,
    ClientRequest,
    ConfigurationError,
    Failure,
    Notice,
    certificate_thumbprint,
    load_clients,
)
from clientauth.asgi import ClientAuthMiddleware
from clientauth.forwarded import ForwardedCertificates
from clientauth.resource import BoundTokenGuard

SECRET = "s3cr3t-proxy-token-0123456789"
ORG = "Example Corp"


@pytest.fixture(scope="module")
def proxy() -> Issued:
    """The proxy's own client certificate for the upstream hop (self-signed, as often)."""
    return self_signed("edge-proxy")


@pytest.fixture(scope="module")
def proxy_next() -> Issued:
    """The certificate the proxy rotates to."""
    return self_signed("edge-proxy")


@pytest.fixture(scope="module")
def client_leaf(pki: Pki) -> Issued:
    return pki.leaf("client-1", org=ORG)


@pytest.fixture(scope="module")
def other_leaf(pki: Pki) -> Issued:
    return pki.leaf("client-2", org=ORG)


@pytest.fixture(scope="module")
def registry(proxy: Issued) -> Any:
    """Two PKI clients, and -- the trap -- a pinned client registered with the proxy's own
    certificate (a copy-paste mistake, or an attacker's registration)."""
    return load_clients([
        *({"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
           "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"} for cid in ("client-1", "client-2")),
        {"client_id": "proxy-as-client", "token_endpoint_auth_method":
            "self_signed_tls_client_auth", "tls_client_certificates": [proxy.pem]},
    ])


def authenticator(pki: Pki, registry: Any, forwarded: ForwardedCertificates) -> Authenticator:
    return Authenticator(registry, trust_anchors=[pki.root.cert],
                         intermediates=[pki.intermediate.cert], forwarded=forwarded, now=clock())


def header(issued: Issued) -> tuple[str, str]:
    """What nginx's ``$ssl_client_escaped_cert`` forwards."""
    return ("X-SSL-Client-Cert", urllib.parse.quote(issued.pem, safe=""))


def via(tls_peer: Issued | None, *headers: tuple[str, str], peer: str = "10.0.0.5",
        form: dict[str, str] | None = None) -> ClientRequest:
    """A request whose TLS peer presented ``tls_peer`` (PEM, as ASGI servers hand it over)."""
    return ClientRequest(list(headers), form=form, peer=peer,
                         tls_chain=[tls_peer.pem] if tls_peer else ())


class TestPins:
    def test_pem_certificate_and_thumbprint_are_the_same_pin(self, proxy: Issued) -> None:
        """A pin given as PEM text, as an x509.Certificate or as its x5t#S256 is one pin."""
        x5t = certificate_thumbprint(proxy.cert)
        for pin in (proxy.pem, proxy.cert, x5t, proxy.der):
            fwd = ForwardedCertificates("nginx", proxy_certificates=[pin])
            assert fwd.proxy_certificates == (x5t,)
        both = ForwardedCertificates("nginx", proxy_certificates=[proxy.pem, x5t, proxy.cert])
        assert both.proxy_certificates == (x5t,)

    def test_pins_alone_are_a_trust_technique(self, proxy: Issued) -> None:
        """proxy_certificates without trusted_proxies or shared_secret is a complete config."""
        fwd = ForwardedCertificates("nginx", proxy_certificates=[proxy.pem])
        assert f"proxy_certificates=['{certificate_thumbprint(proxy.cert)}']" in repr(fwd)
        assert "BEGIN" not in repr(fwd)

    @pytest.mark.parametrize("extra", [{}, {"trusted_proxies": ["10.0.0.5"]},
                                       {"shared_secret": ("X-Proxy-Secret", SECRET)}])
    def test_empty_list_refused(self, extra: dict[str, Any]) -> None:
        """An empty pin list is refused: alone it trusts nobody's certificate yet looks
        configured, and beside another technique it silently drops the mTLS requirement."""
        with pytest.raises(ConfigurationError, match="empty"):
            ForwardedCertificates("nginx", proxy_certificates=[], **extra)

    def test_no_technique_refused(self) -> None:
        """Without any technique the constructor still refuses, naming all three."""
        with pytest.raises(ConfigurationError, match="proxy_certificates"):
            ForwardedCertificates("nginx")

    @pytest.mark.parametrize("pin", [
        "hello",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        b"\x30\x03\x02\x01\x00",
        42,
        None,
        ("a", "b"),
    ])
    def test_not_a_certificate_refused(self, pin: Any) -> None:
        """Anything that is not one readable certificate or a thumbprint is refused."""
        with pytest.raises(ConfigurationError, match=r"proxy_certificates\[0\]"):
            ForwardedCertificates("nginx", proxy_certificates=[pin])

    def test_bundle_is_not_one_pin(self, proxy: Issued, proxy_next: Issued) -> None:
        """A PEM holding two certificates is refused: each pin names one certificate."""
        with pytest.raises(ConfigurationError, match="one readable certificate"):
            ForwardedCertificates("nginx", proxy_certificates=[proxy.pem + proxy_next.pem])

    def test_single_pin_not_in_a_list_refused(self, proxy: Issued) -> None:
        """A bare string would otherwise be iterated character by character."""
        with pytest.raises(ConfigurationError, match="list"):
            ForwardedCertificates("nginx", proxy_certificates=proxy.pem)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="list"):
            ForwardedCertificates("nginx", proxy_certificates=proxy.cert)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="list"):
            ForwardedCertificates("nginx", proxy_certificates=5)  # type: ignore[arg-type]

    def test_thumbprint_shape_enforced(self, proxy: Issued) -> None:
        """x5t#S256 is exactly 43 base64url characters (RFC 8705 3.1, RFC 4648 5, no
        padding): shorter, longer, padded, the standard alphabet, hex and a non-canonical last
        character are refused."""
        x5t = certificate_thumbprint(proxy.cert)
        digest = proxy.cert.fingerprint(hashes.SHA256())
        standard_alphabet = base64.b64encode(digest).decode()
        bad_last = x5t[:-1] + "B"  # B = 000001: low bits the 32-byte digest does not have
        for pin in (x5t[:-1], x5t + "A", x5t + "=", "+" + x5t[1:], "/" + x5t[1:],
                    standard_alphabet, digest.hex(), bad_last, ""):
            with pytest.raises(ConfigurationError, match="x5t#S256"):
                ForwardedCertificates("nginx", proxy_certificates=[pin])

    def test_surrounding_whitespace_in_thumbprint_tolerated(self, proxy: Issued) -> None:
        """A thumbprint read from a file keeps its newline; that is still the same pin."""
        x5t = certificate_thumbprint(proxy.cert)
        fwd = ForwardedCertificates("nginx", proxy_certificates=[f" {x5t}\n"])
        assert fwd.proxy_certificates == (x5t,)


class TestHonoured:
    def test_header_from_pinned_proxy_authenticates_the_client(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """TLS peer = the pinned proxy, header = the client's certificate: the client is
        authenticated from the header."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        result = auth.authenticate(via(proxy, header(client_leaf)))
        assert result.ok, result.detail
        assert result.client_id == "client-1"
        assert result.source == "forwarded:nginx"
        assert result.thumbprint == certificate_thumbprint(client_leaf.cert)

    @pytest.mark.parametrize("form", ["certificate", "der", "pem", "pem-bundle"])
    def test_every_tls_chain_form_matches(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued, form: str
    ) -> None:
        """The TLS leaf matches whether the server handed it over as a Certificate, DER,
        PEM, or a PEM bundle with the proxy's leaf first."""
        leaf: Any = {"certificate": proxy.cert, "der": proxy.der, "pem": proxy.pem,
                     "pem-bundle": proxy.pem + pki.root.pem}[form]
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[certificate_thumbprint(proxy.cert)]))
        request = ClientRequest([header(client_leaf)], peer="10.0.0.5", tls_chain=[leaf])
        assert auth.authenticate(request).client_id == "client-1"

    def test_rotation_two_pins(
        self, pki: Pki, registry: Any, proxy: Issued, proxy_next: Issued,
        client_leaf: Issued
    ) -> None:
        """While rotating, both the old and the new proxy certificate are honoured; a third
        certificate with the same subject is not."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem, proxy_next.pem]))
        for current in (proxy, proxy_next):
            assert auth.authenticate(via(current, header(client_leaf))).ok
        impostor = self_signed("edge-proxy")
        result = auth.authenticate(via(impostor, header(client_leaf)))
        assert Notice.UNTRUSTED_FORWARDED_HEADER in result.notices
        assert result.source == "tls"

    def test_every_technique_must_hold_address(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """With trusted_proxies too: the pinned certificate from an untrusted address is
        ignored -- and its certificate is still not a client credential."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", trusted_proxies=["10.0.0.5"], proxy_certificates=[proxy.pem]))
        assert auth.authenticate(via(proxy, header(client_leaf))).ok
        wrong_address = auth.authenticate(via(proxy, header(client_leaf), peer="10.9.9.9"))
        assert not wrong_address.ok
        assert Notice.UNTRUSTED_FORWARDED_HEADER in wrong_address.notices
        assert wrong_address.failure is Failure.NO_CREDENTIALS
        assert wrong_address.certificate is None
        not_pinned = auth.authenticate(via(client_leaf, header(client_leaf)))
        assert Notice.UNTRUSTED_FORWARDED_HEADER in not_pinned.notices
        assert not_pinned.source == "tls"

    def test_every_technique_must_hold_secret(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """With shared_secret too: the pinned proxy without the secret is ignored."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", shared_secret=("X-Proxy-Secret", SECRET), proxy_certificates=[proxy.pem]))
        assert auth.authenticate(
            via(proxy, header(client_leaf), ("X-Proxy-Secret", SECRET))).ok
        missing = auth.authenticate(via(proxy, header(client_leaf)))
        assert not missing.ok
        assert Notice.UNTRUSTED_FORWARDED_HEADER in missing.notices
        secret_no_tls = auth.authenticate(via(None, header(client_leaf),
                                              ("X-Proxy-Secret", SECRET)))
        assert not secret_no_tls.ok
        assert Notice.UNTRUSTED_FORWARDED_HEADER in secret_no_tls.notices


class TestNeverAClient:
    @pytest.mark.parametrize("headers", [(), (("X-SSL-Client-Cert", ""),)])
    def test_pinned_proxy_certificate_is_not_a_credential(
        self, pki: Pki, registry: Any, proxy: Issued, headers: tuple[tuple[str, str], ...]
    ) -> None:
        """The proxy's TLS certificate never authenticates anyone -- not even a client that
        registered exactly that certificate, with or without an (empty) forwarded header.
        (Before proxy_certificates, a proxy on a trusted address that sent no header was
        authenticated by its own certificate: see the report of issue 15.)"""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        for form in ({"client_id": "proxy-as-client"}, None):
            result = auth.authenticate(via(proxy, *headers, form=form))
            assert not result.ok
            assert result.certificate is None
            assert result.thumbprint is None
            assert Notice.UNTRUSTED_FORWARDED_HEADER not in result.notices

    def test_same_certificate_not_pinned_is_a_client(self, pki: Pki, registry: Any,
                                                     proxy: Issued, proxy_next: Issued) -> None:
        """Control: pin another proxy and the very same request authenticates the pinned
        client -- it is the pin that makes the difference."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy_next.pem]))
        result = auth.authenticate(via(proxy, form={"client_id": "proxy-as-client"}))
        assert result.ok and result.source == "tls"

    def test_resource_server_does_not_bind_to_the_proxy(self, proxy: Issued) -> None:
        """BoundTokenGuard: a token bound to the proxy's certificate is not accepted from
        the proxy's connection (the proxy is not the token holder)."""
        x5t = certificate_thumbprint(proxy.cert)
        guard = BoundTokenGuard(lambda token: {"cnf": {"x5t#S256": x5t}},
                                forwarded=ForwardedCertificates(
                                    "nginx", proxy_certificates=[proxy.pem]))
        check = guard.check(via(proxy, ("Authorization", "Bearer t")))
        assert not check.ok
        assert check.thumbprint is None


class TestDirectClient:
    def test_other_tls_peer_is_a_direct_client_and_its_header_ignored(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued, other_leaf: Issued
    ) -> None:
        """client-1 connects straight to the app with its own certificate and sends client-2's
        certificate in the header: it is client-1 (source tls), the header ignored, noticed."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        request = ClientRequest([header(other_leaf)], peer="10.0.0.5",
                                tls_chain=[client_leaf.pem, pki.intermediate.pem])
        result = auth.authenticate(request)
        assert result.ok, result.detail
        assert result.client_id == "client-1"
        assert result.source == "tls"
        assert Notice.UNTRUSTED_FORWARDED_HEADER in result.notices

    def test_without_tls_the_header_is_ignored(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """No TLS peer at all: the header is ignored with the notice."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        result = auth.authenticate(via(None, header(client_leaf)))
        assert not result.ok
        assert result.failure is Failure.NO_CREDENTIALS
        assert Notice.UNTRUSTED_FORWARDED_HEADER in result.notices

    def test_unreadable_tls_leaf_is_not_the_proxy(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """A TLS leaf that does not parse is not the proxy: header ignored, certificate
        reported malformed, nothing raised."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        request = ClientRequest([header(client_leaf)], peer="10.0.0.5", tls_chain=[b"\x30\x00"])
        result = auth.authenticate(request)
        assert result.failure is Failure.MALFORMED_CERTIFICATE
        assert Notice.UNTRUSTED_FORWARDED_HEADER in result.notices


# -- servers that implement the ASGI TLS extension themselves (asgiref specs/tls.rst) -------


def tls_extension(chain: list[str]) -> dict[str, Any]:
    """``scope["extensions"]["tls"]`` exactly as the ASGI TLS extension (version 0.2)
    describes it: every key present, PEM strings leaf first."""
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": 0x0304,
        "cipher_suite": 0x1301,
    }


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    result = scope["clientauth"]
    body = json.dumps({"client_id": result.client_id, "source": result.source}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def call(app: Any, headers: list[tuple[str, str]], tls: dict[str, Any] | None,
         body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "POST", "scheme": "https", "path": "/token",
        "raw_path": b"/token", "root_path": "", "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        + [(b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("10.0.0.5", 50000), "server": ("10.0.0.1", 443),
    }
    if tls is not None:  # the spec: present only on TLS connections
        scope["extensions"] = {"tls": tls}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


class TestAsgiTlsExtension:
    @pytest.mark.parametrize("pinned", [False, True])
    def test_direct_client_via_spec_shaped_scope(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued, pinned: bool
    ) -> None:
        """A server filling the TLS extension itself (pyvoy does) needs nothing else: the
        middleware reads client_cert_chain and authenticates the client directly, with or
        without a proxy pinned beside it."""
        auth = Authenticator(registry, trust_anchors=[pki.root.cert], now=clock(),
                             forwarded=ForwardedCertificates(
                                 "nginx", proxy_certificates=[proxy.pem]) if pinned else None)
        app = ClientAuthMiddleware(_echo, authenticator=auth)
        chain = [client_leaf.pem, pki.intermediate.pem]
        status, body = call(app, [], tls_extension(chain), b"client_id=client-1")
        assert status == 200, body
        assert json.loads(body) == {"client_id": "client-1", "source": "tls"}

    def test_pinned_proxy_via_spec_shaped_scope(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """The proxy's certificate in client_cert_chain + its header -> the client; the
        proxy alone -> 401."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        app = ClientAuthMiddleware(_echo, authenticator=auth)
        status, body = call(app, [header(client_leaf)], tls_extension([proxy.pem]))
        assert status == 200, body
        assert json.loads(body) == {"client_id": "client-1", "source": "forwarded:nginx"}
        status, _ = call(app, [], tls_extension([proxy.pem]),
                         b"client_id=proxy-as-client")
        assert status == 401

    def test_no_extension_without_tls(
        self, pki: Pki, registry: Any, proxy: Issued, client_leaf: Issued
    ) -> None:
        """A plain-HTTP scope has no "tls" extension: the forwarded header is ignored."""
        auth = authenticator(pki, registry, ForwardedCertificates(
            "nginx", proxy_certificates=[proxy.pem]))
        app = ClientAuthMiddleware(_echo, authenticator=auth)
        status, _ = call(app, [header(client_leaf)], None)
        assert status == 401
