"""Real proxies in front of a real app: nginx, HAProxy, Apache httpd and Caddy terminate mutual
TLS with the configurations in ``examples/proxies/`` and forward the client certificate to
``app.py`` (uvicorn), which authenticates the client with :class:`clientauth.Authenticator`.

What must hold, for every proxy: a registered client with a valid certificate is accepted;
an unknown CA or no certificate never reaches the app; a certificate header sent by the
client -- straight to the app, or through the proxy -- is never believed.

``CLIENTAUTH_UPDATE_VECTORS=1`` also writes the forwarded values seen on the wire to
``tests/vectors/forwarded/<proxy>.txt`` (real-world vectors for the parser tests).
"""

from __future__ import annotations

import base64
import os
import re
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from harness import (
    APP_MARKER,
    EXAMPLES,
    PROXIES,
    SECRET_HEADER,
    VECTORS,
    App,
    Identity,
    ItPki,
    RunningProxy,
    render,
    unavailable,
)

import clientauth

pytestmark = pytest.mark.integration

MakeClient = Callable[[Identity | None], httpx.Client]


# -- helpers ----------------------------------------------------------------------------------


def forwarded_value(fmt: str, identity: Identity) -> str:
    """``identity``'s leaf encoded the way proxy format ``fmt`` forwards it (for spoofing)."""
    pem = identity.issued.pem
    if fmt == "nginx":
        return quote(pem, safe="")
    if fmt == "apache":
        return pem.replace("\n", " ").strip()
    return base64.b64encode(identity.der).decode("ascii")


def pem_body_der(text: str) -> bytes:
    """The DER inside one PEM CERTIFICATE block, whatever whitespace replaced its newlines."""
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    assert text.count(begin) == 1, text
    body = text.split(begin, 1)[1].split(end, 1)[0]
    return base64.b64decode("".join(body.split()), validate=True)


def normalized(header: str) -> str:
    """How a WSGI environ (and many frameworks) see a header name: case and _/- folded."""
    return header.lower().replace("_", "-")


def received(echo: dict[str, Any], header: str) -> list[str]:
    """Every value the app received under any spelling of ``header``."""
    return [value for name, value in echo["headers"] if normalized(name) == normalized(header)]


def echo(client: httpx.Client, proxy: RunningProxy, **kwargs: Any) -> dict[str, Any]:
    response = client.get(f"{proxy.url}/echo", **kwargs)
    assert response.status_code == 200, response.text
    assert APP_MARKER in response.headers, "the answer did not come from the app"
    payload: dict[str, Any] = response.json()
    return payload


OTHER_LOOPBACK = "127.0.0.2"
"""A client address other than the proxy's (all of 127.0.0.0/8 is local on Linux)."""


@pytest.fixture(scope="session")
def it_ca_context(it_pki: ItPki) -> Callable[..., Any]:
    """``it_ca_context(identity)``: an SSL context trusting the test server CA, presenting
    ``identity``."""
    def factory(identity: Identity) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=it_pki.server_ca_path)
        context.load_cert_chain(identity.cert_path, identity.key_path)
        return context
    return factory


def authenticate(client: httpx.Client, url: str, fmt: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(f"{url}/auth/{fmt}", **kwargs)
    assert APP_MARKER in response.headers, f"not an answer from the app: {response.text}"
    assert response.status_code in (200, 401), response.text
    payload: dict[str, Any] = response.json()
    assert (response.status_code == 200) == payload["ok"], payload
    return payload


def mixed(header: str) -> str:
    """``header`` with only its last ``-`` turned into ``_``: WSGI folds it into the same key."""
    head, _, tail = header.rpartition("-")
    return f"{head}_{tail}"


def spoofed_headers(spec_header: str, value: str) -> list[tuple[str, str]]:
    """A client-sent certificate header, twice, in several spellings (all-dash, all-underscore,
    mixed; test_header_spellings.py tries every one), plus a forged secret."""
    return [
        (spec_header, value),
        (spec_header.lower(), value),
        (spec_header.replace("-", "_"), value),
        (mixed(spec_header), value),
        (SECRET_HEADER, "forged-secret"),
        (SECRET_HEADER.replace("-", "_"), "forged-secret"),
        (mixed(SECRET_HEADER), "forged-secret"),
    ]


def assert_refused(send: Callable[[], httpx.Response], proxy: RunningProxy) -> None:
    """The proxy refuses as it is known to (see harness.PROXIES): the app is never reached."""
    if proxy.spec.refusal == "handshake":
        with pytest.raises(httpx.TransportError, match=r"(?i)alert"):
            send()
        return
    response = send()
    assert APP_MARKER not in response.headers, (
        f"{proxy.spec.name} forwarded the request to the app: {response.status_code} "
        f"{response.text}"
    )
    assert response.status_code == 400, response.text


def write_vector(proxy: RunningProxy, identity: Identity, chain: list[bytes],
                 echoed: dict[str, Any]) -> None:
    spec = proxy.spec
    headers = [spec.header] + ([spec.chain_header] if spec.chain_header else [])
    lines = [
        f"# A real value forwarded by {proxy.version}",
        f"# configured with examples/proxies/{spec.template}, captured by",
        "# tests/integration/test_proxies.py (CLIENTAUTH_UPDATE_VECTORS=1).",
        "# Lines are 'name: value'; '#' starts a comment. The header lines are verbatim (the",
        "# value is everything after the first ': '). expected-* describe what a parser must",
        "# return: the leaf (base64 DER), then each expected-chain-der when the chain header",
        "# is passed too.",
        f"format: {spec.fmt}",
        f"expected-subject: {identity.issued.cert.subject.rfc4514_string()}",
        f"expected-leaf-der: {base64.b64encode(identity.der).decode()}",
    ]
    if spec.chain_header:
        lines += [f"expected-chain-der: {base64.b64encode(der).decode()}" for der in chain]
    for header in headers:
        (value,) = received(echoed, header)
        lines.append(f"{header}: {value}")
    VECTORS.mkdir(parents=True, exist_ok=True)
    (VECTORS / f"{spec.name}.txt").write_text("\n".join(lines) + "\n")


# -- tests ------------------------------------------------------------------------------------


class TestForwardedFormat:
    """What each proxy puts on the wire is exactly the format docs/design.md documents."""

    def test_leaf_certificate_in_documented_encoding(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """The certificate header carries the presented leaf, encoded as the format says."""
        echoed = echo(make_client(it_pki.client1), proxy)
        (value,) = received(echoed, proxy.spec.header)
        fmt = proxy.spec.fmt
        if fmt == "nginx":
            # percent-encoded PEM, uppercase hex; '+' must arrive as %2B (never a space)
            assert "+" not in value
            assert " " not in value
            escapes = re.findall(r"%([0-9A-Fa-f]{2})", value)
            assert escapes
            assert all(e == e.upper() for e in escapes), value
            der = pem_body_der(unquote(value))
        elif fmt == "apache":
            # PEM whose line breaks mod_headers turned into spaces
            assert "\n" not in value
            assert "\r" not in value
            der = pem_body_der(value)
        else:
            # haproxy, caddy: one line of base64 DER
            der = base64.b64decode(value, validate=True)
        assert der == it_pki.client1.der
        if os.environ.get("CLIENTAUTH_UPDATE_VECTORS"):
            write_vector(proxy, it_pki.client1, [it_pki.intermediate.der], echoed)

    def test_parse_forwarded_reads_real_value(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """clientauth's parser for this format returns the leaf from the real header value."""
        parse = getattr(clientauth, "parse_forwarded", None)
        if parse is None:
            from clientauth.forwarded import parse_forwarded as parse
        echoed = echo(make_client(it_pki.client1), proxy)
        (value,) = received(echoed, proxy.spec.header)
        certs = parse(proxy.spec.fmt, value)
        assert [c.public_bytes(Encoding.DER) for c in certs] == [it_pki.client1.der]
        if proxy.spec.chain_header:
            (chain,) = received(echoed, proxy.spec.chain_header)
            certs = parse(proxy.spec.fmt, value, chain=chain)
            assert [c.public_bytes(Encoding.DER) for c in certs] == [
                it_pki.client1.der, it_pki.intermediate.der]

    def test_proxy_adds_shared_secret(
        self, proxy: RunningProxy, app_server: App, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """Every forwarded request carries the proxy's secret header, exactly once."""
        echoed = echo(make_client(it_pki.client1), proxy)
        assert received(echoed, SECRET_HEADER) == [app_server.secret]


class TestValidCertificate:
    """A registered client with a certificate from the trusted CA is authenticated."""

    def test_client_found_by_subject_dn(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """No client_id sent: the certificate's subject DN finds client-1."""
        result = authenticate(make_client(it_pki.client1), proxy.url, proxy.spec.fmt)
        assert result["ok"], result
        assert result["client_id"] == "client-1"
        assert result["method"] == "tls_client_auth"
        assert result["source"] == f"forwarded:{proxy.spec.fmt}"
        assert result["thumbprint"] == clientauth.certificate_thumbprint(it_pki.client1.der)

    def test_client_id_in_form(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """client_id=client-1 in the form body, certificate of client-1: accepted."""
        result = authenticate(make_client(it_pki.client1), proxy.url, proxy.spec.fmt,
                              data={"client_id": "client-1"})
        assert result["ok"], result
        assert result["client_id"] == "client-1"
        assert result["method"] == "tls_client_auth"
        assert result["source"] == f"forwarded:{proxy.spec.fmt}"

    def test_client_on_another_loopback_address(
        self, proxy: RunningProxy, it_pki: ItPki, it_ca_context: Callable[..., Any]
    ) -> None:
        """A client connecting from 127.0.0.2 (not the proxy's own 127.0.0.1) is accepted
        with the app server started as docs/proxies.md says (issue 16.1: uvicorn's default
        proxy-header rewriting made its X-Forwarded-For address the peer, and refused it)."""
        transport = httpx.HTTPTransport(verify=it_ca_context(it_pki.client1),
                                        local_address=OTHER_LOOPBACK)
        with httpx.Client(transport=transport, timeout=10.0) as client:
            echo = client.get(f"{proxy.url}/echo").json()
            result = authenticate(client, proxy.url, proxy.spec.fmt)
        forwarded_for = {k.lower(): v for k, v in echo["headers"]}.get("x-forwarded-for")
        assert forwarded_for in (None, OTHER_LOOPBACK), echo
        assert result["ok"], result
        assert result["client_id"] == "client-1"

    def test_certificate_of_another_client(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """client_id=client-2 with client-1's (valid) certificate: refused, name mismatch."""
        result = authenticate(make_client(it_pki.client1), proxy.url, proxy.spec.fmt,
                              data={"client_id": "client-2"})
        assert not result["ok"], result
        assert result["failure"] == "name_mismatch"
        assert result["error"] == "invalid_client"


CHAIN_PROXIES = [name for name, spec in PROXIES.items() if spec.chain_header]


@pytest.mark.parametrize("proxy", CHAIN_PROXIES, indirect=True)
class TestChainHeader:
    """Proxies that forward the client's chain too (HAProxy): the chain header is usable."""

    def test_chain_without_leaf_as_der(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """HAProxy's ssl_c_chain_der is the client-sent chain without the leaf, as DER."""
        echoed = echo(make_client(it_pki.client1), proxy)
        assert proxy.spec.chain_header is not None
        (value,) = received(echoed, proxy.spec.chain_header)
        assert base64.b64decode(value, validate=True) == it_pki.intermediate.der

    def test_issuing_ca_from_chain_header(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """With no intermediates configured, the proxy's chain header completes the path."""
        client = make_client(it_pki.client1)
        result = authenticate(client, proxy.url, f"{proxy.spec.fmt}-chain")
        assert result["ok"], result
        assert result["client_id"] == "client-1"

    def test_without_chain_header_path_incomplete(
        self, proxy: RunningProxy, app_server: App, it_pki: ItPki
    ) -> None:
        """Control: the leaf alone (sent with the proxy's secret) cannot reach the root on the
        same route -- so it is the forwarded chain that completed the path above."""
        with httpx.Client(timeout=10.0) as client:
            result = authenticate(
                client, app_server.url, f"{proxy.spec.fmt}-chain",
                headers={proxy.spec.header: forwarded_value(proxy.spec.fmt, it_pki.client1),
                         SECRET_HEADER: app_server.secret},
            )
        assert not result["ok"], result
        assert result["failure"] == "untrusted_chain", result


class TestRefusedByProxy:
    """The proxy's own mTLS check stops what it must: the app never sees these requests."""

    def test_unknown_ca(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """A certificate with client-1's subject DN from an untrusted CA is refused."""
        client = make_client(it_pki.stranger)
        assert_refused(lambda: client.post(f"{proxy.url}/auth/{proxy.spec.fmt}"), proxy)

    def test_no_certificate(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """A client without a certificate is refused."""
        client = make_client(None)
        assert_refused(lambda: client.post(f"{proxy.url}/auth/{proxy.spec.fmt}",
                                           data={"client_id": "client-1"}), proxy)


class TestSpoofThroughProxy:
    """A certificate header sent by the client is replaced by the proxy's own."""

    def test_only_proxy_header_arrives(
        self, proxy: RunningProxy, app_server: App, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """Client-sent copies (duplicated, underscore spelling) of the certificate and secret
        headers never reach the app; exactly one of each arrives, the proxy's."""
        forged = forwarded_value(proxy.spec.fmt, it_pki.client2)
        headers = spoofed_headers(proxy.spec.header, forged)
        if proxy.spec.chain_header:
            headers.append((proxy.spec.chain_header, "Zm9yZ2Vk"))
        echoed = echo(make_client(it_pki.client1), proxy, headers=headers)
        assert len(received(echoed, proxy.spec.header)) == 1, echoed
        assert forged not in received(echoed, proxy.spec.header)
        assert received(echoed, SECRET_HEADER) == [app_server.secret]
        if proxy.spec.chain_header:
            (chain,) = received(echoed, proxy.spec.chain_header)
            assert base64.b64decode(chain) == it_pki.intermediate.der

    def test_app_sees_presented_certificate(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """Certificate of client-1 presented, client-2's forged in the header: client-1."""
        headers = spoofed_headers(proxy.spec.header,
                                  forwarded_value(proxy.spec.fmt, it_pki.client2))
        result = authenticate(make_client(it_pki.client1), proxy.url, proxy.spec.fmt,
                              headers=headers)
        assert result["ok"], result
        assert result["client_id"] == "client-1"
        assert result["thumbprint"] == clientauth.certificate_thumbprint(it_pki.client1.der)

    def test_forged_header_does_not_make_client_2(
        self, proxy: RunningProxy, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """client_id=client-2 plus client-2's certificate forged in the header: refused."""
        headers = spoofed_headers(proxy.spec.header,
                                  forwarded_value(proxy.spec.fmt, it_pki.client2))
        result = authenticate(make_client(it_pki.client1), proxy.url, proxy.spec.fmt,
                              headers=headers, data={"client_id": "client-2"})
        assert not result["ok"], result
        assert result["failure"] == "name_mismatch"


FORMATS = sorted({spec.fmt: spec.header for spec in PROXIES.values()}.items())


@pytest.mark.parametrize(("fmt", "header"), FORMATS, ids=[f for f, _ in FORMATS])
class TestSpoofStraightToApp:
    """The app's port is reachable without the proxy (same host, also 127.0.0.1): a
    certificate header is believed only with the proxy's shared secret."""

    def test_header_without_secret_ignored(
        self, fmt: str, header: str, app_server: App, it_pki: ItPki
    ) -> None:
        """A well-formed header with a registered client's certificate, no secret: ignored,
        and reported as an untrusted forwarded header."""
        with httpx.Client(timeout=10.0) as client:
            result = authenticate(client, app_server.url, fmt,
                                  headers={header: forwarded_value(fmt, it_pki.client1)})
        assert not result["ok"], result
        assert result["failure"] in ("no_credentials", "missing_certificate"), result
        assert "untrusted_forwarded_header" in result["notices"], result

    def test_header_with_client_id_and_wrong_secret_ignored(
        self, fmt: str, header: str, app_server: App, it_pki: ItPki
    ) -> None:
        """client_id=client-1, its certificate in the header, a wrong secret: no certificate."""
        with httpx.Client(timeout=10.0) as client:
            result = authenticate(
                client, app_server.url, fmt, data={"client_id": "client-1"},
                headers={header: forwarded_value(fmt, it_pki.client1),
                         SECRET_HEADER: app_server.secret[:-1] + "x"},
            )
        assert not result["ok"], result
        assert result["failure"] == "missing_certificate", result
        assert "untrusted_forwarded_header" in result["notices"], result

    def test_secret_is_what_makes_it_trusted(
        self, fmt: str, header: str, app_server: App, it_pki: ItPki
    ) -> None:
        """Control: the same request with the proxy's secret is accepted -- so the refusals
        above come from the missing secret, and leaking the secret defeats the protection."""
        with httpx.Client(timeout=10.0) as client:
            result = authenticate(
                client, app_server.url, fmt,
                headers={header: forwarded_value(fmt, it_pki.client1),
                         SECRET_HEADER: app_server.secret},
            )
        assert result["ok"], result
        assert result["client_id"] == "client-1"
        assert result["source"] == f"forwarded:{fmt}"


class TestHarness:
    """The rules the harness itself promises."""

    def test_missing_proxy_skips_outside_ci(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without CI, a missing proxy binary skips its tests."""
        monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.skip.Exception):
            unavailable("nothing installed")

    @pytest.mark.parametrize("value", ["true", "1", "yes"])
    def test_missing_proxy_fails_in_ci(self, monkeypatch: pytest.MonkeyPatch,
                                       value: str) -> None:
        """With CI set, a missing proxy binary fails: in CI these tests never skip."""
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="never skip"):
            unavailable("nothing installed")

    @pytest.mark.parametrize("spec", list(PROXIES.values()), ids=list(PROXIES))
    def test_example_placeholders_all_known(self, spec: Any) -> None:
        """Every placeholder in an example configuration is one the harness fills."""
        values = dict.fromkeys(["LISTEN_PORT", "UPSTREAM_PORT", "CERT_DIR", "RUN_DIR",
                                "PROXY_SECRET", "MODULES_DIR"], "x")
        assert "{{" not in render(EXAMPLES / spec.template, values)
