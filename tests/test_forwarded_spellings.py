"""A forwarded header arriving folded, duplicated or differently spelled is never honoured.

WSGI keys headers by upper-casing and turning ``-`` into ``_`` (PEP 3333, after CGI), so
``X-SSL-Client-Cert`` and ``X-SSL_Client-Cert`` are one ``HTTP_X_SSL_CLIENT_CERT``, and a
server that keeps both joins them with ``,`` (RFC 9110 section 5.3; wsgiref, Werkzeug,
gunicorn before 22). ASGI keeps the names as sent. What must hold (the Keycloak
CVE-2024-10039 class):

* every single-value format refuses a value holding ``,`` -- whatever the order, whatever
  the proxy's "no certificate" marker beside it;
* :class:`ForwardedCertificates` refuses a request from a trusted proxy that carries one of
  its headers (certificate, chain, verify, shared secret) under another spelling.

tests/integration/test_header_spellings.py checks the same through real proxies and servers.
"""

from __future__ import annotations

import base64

import pytest

from certs import Issued, Pki
from clientauth import ClientRequest, Failure, ForwardedCertificates, Notice
from clientauth.forwarded import FORMATS, parse_forwarded
from clientauth.wsgi import request_from_environ
from test_forwarded_parsers import raises, valid_header

SINGLE_VALUE = sorted(FORMATS - {"envoy", "traefik"})
"""Formats whose certificate header holds one value: a ',' can only come from a fold."""
NO_CERTIFICATE = {"haproxy": ["", "-"], "apache": ["", "(null)"], "rfc9440": ["", "::"],
                  "caddy": ["", "{http.request.tls.client.certificate_der_base64}"]}
"""The values each format reads as "no certificate" (the proxy's side of a fold)."""
SECRET = "s3cret-value-long-enough"
HEADER = "x-ssl-client-cert"


@pytest.fixture(scope="module")
def victim(pki: Pki) -> Issued:
    return pki.leaf("victim")


@pytest.fixture(scope="module")
def attacker(pki: Pki) -> Issued:
    return pki.leaf("attacker")


def folds(theirs: str, ours: str, fmt: str) -> list[str]:
    """``theirs`` joined with the proxy's value or its "no certificate" marker, both ways,
    the way WSGI servers join (``,``) and the way RFC 9110 section 5.3 writes it (``, ``)."""
    joined: list[str] = []
    for proxy in [ours, *NO_CERTIFICATE.get(fmt, [""])]:
        joined += [f"{theirs},{proxy}", f"{proxy},{theirs}", f"{theirs}, {proxy}"]
    return joined


def spellings(name: str) -> list[str]:
    """Every other spelling WSGI folds into ``name`` (lowercase, as ClientRequest keeps them)."""
    parts = name.split("-")
    out = []
    for mask in range(1, 2 ** (len(parts) - 1)):
        seps = ["_" if mask >> i & 1 else "-" for i in range(len(parts) - 1)]
        out.append(parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True)))
    return out


class TestFoldedValues:
    """What a WSGI server makes of two spellings: one value with a ','."""

    @pytest.mark.parametrize("fmt", SINGLE_VALUE)
    def test_parser_refuses_every_fold(self, fmt: str, victim: Issued, attacker: Issued) -> None:
        """The victim's value beside the proxy's (or its marker), in either order: refused,
        at the comma, with a message that says what happened."""
        theirs, ours = valid_header(fmt, victim), valid_header(fmt, attacker)
        for value in folds(theirs, ours, fmt):
            error = raises(fmt, value)
            assert "joined with ','" in str(error), (value[:40], error)
            assert error.position == value.index(","), value[:40]

    @pytest.mark.parametrize("fmt", SINGLE_VALUE)
    def test_wsgi_environ_fold_refused(self, fmt: str, victim: Issued) -> None:
        """Through request_from_environ and a trusted proxy: a failure, no certificate."""
        forwarded = ForwardedCertificates(fmt, trusted_proxies=["127.0.0.1/32"])
        key = "HTTP_" + forwarded.header.upper().replace("-", "_")
        for marker in NO_CERTIFICATE.get(fmt, [""]):
            environ = {"REMOTE_ADDR": "127.0.0.1", key: f"{valid_header(fmt, victim)},{marker}"}
            outcome = forwarded.extract(request_from_environ(environ))
            assert outcome.failure is Failure.FORWARDED_HEADER_INVALID, outcome
            assert outcome.chain == ()

    def test_haproxy_chain_fold_refused(self, victim: Issued, pki: Pki) -> None:
        """HAProxy's chain header is one value too."""
        chain = base64.b64encode(pki.intermediate.der).decode()
        for value in (f"{chain},", f",{chain}", f"{chain},{chain}"):
            assert "joined" in str(raises("haproxy", valid_header("haproxy", victim),
                                          chain=value))

    def test_apache_chain_fold_refused(self, victim: Issued, pki: Pki) -> None:
        """Each Apache CHAIN_n header is one value too, "(null)" included."""
        pem = valid_header("apache", victim)
        inter = pki.intermediate.pem.replace("\n", " ")
        for item in (f"{inter},(null)", f"(null),{inter}", "(null),(null)"):
            assert "joined" in str(raises("apache", pem, chain=[item]))

    @pytest.mark.parametrize("fmt", sorted(NO_CERTIFICATE))
    def test_no_certificate_markers(self, fmt: str) -> None:
        """Control: each proxy's own "no certificate" value alone is no certificate, not an
        error (Caddy 2.6 leaves the placeholder it cannot fill as literal text)."""
        for marker in NO_CERTIFICATE[fmt]:
            assert parse_forwarded(fmt, marker) == []

    def test_rfc9440_chain_list_still_a_list(self, victim: Issued, pki: Pki) -> None:
        """Control: Client-Cert-Chain is a List (RFC 9440 section 2.3); its commas are data."""
        inter = f":{base64.b64encode(pki.intermediate.der).decode()}:"
        certs = parse_forwarded("rfc9440", valid_header("rfc9440", victim),
                                chain=f"{inter}, {inter}")
        assert len(certs) == 3

    def test_traefik_empty_member_refused(self, victim: Issued) -> None:
        """Traefik joins its own chain with ','; a fold with its absent header (no
        certificate) leaves an empty member, which is refused. Two non-empty members are a
        chain: a fold of two certificates cannot be told apart here (docs/security.md)."""
        value = valid_header("traefik", victim)
        for folded in (f"{value},", f",{value}", f"{value},,{value}"):
            raises("traefik", folded)


class TestForeignSpellings:
    """ASGI keeps names as sent: another spelling of a forwarded header is seen, and refused."""

    def forwarded(self, **kwargs: object) -> ForwardedCertificates:
        return ForwardedCertificates("haproxy", trusted_proxies=["10.0.0.0/8"],
                                     **kwargs)  # type: ignore[arg-type]

    def test_spellings_helper(self) -> None:
        """Seven other spellings of a name with three dashes, all folding into it."""
        names = spellings(HEADER)
        assert len(names) == 7
        assert {n.replace("_", "-") for n in names} == {HEADER}
        assert "x-ssl_client-cert" in names

    @pytest.mark.parametrize("spelling", spellings(HEADER))
    def test_beside_the_proxy_header(self, spelling: str, victim: Issued,
                                     attacker: Issued) -> None:
        """The proxy's header plus a client's copy under another spelling: refused, whatever
        order -- never the victim, never silently the proxy's."""
        ours, theirs = valid_header("haproxy", attacker), valid_header("haproxy", victim)
        for headers in ([(HEADER, ours), (spelling, theirs)], [(spelling, theirs), (HEADER, ours)]):
            outcome = self.forwarded().extract(ClientRequest(headers, peer="10.0.0.5"))
            assert outcome.failure is Failure.FORWARDED_HEADER_INVALID, outcome
            assert outcome.chain == ()
            assert spelling in outcome.detail

    @pytest.mark.parametrize("spelling", spellings(HEADER))
    def test_alone(self, spelling: str, victim: Issued) -> None:
        """Only the other spelling (a proxy that set nothing let it through): refused."""
        request = ClientRequest([(spelling.upper(), valid_header("haproxy", victim))],
                                peer="10.0.0.5")
        outcome = self.forwarded().extract(request)
        assert outcome.failure is Failure.FORWARDED_HEADER_INVALID, outcome

    def test_secret_and_verify_headers(self, victim: Issued) -> None:
        """The shared-secret and verify headers are watched the same way."""
        forwarded = self.forwarded(shared_secret=("x-proxy-secret", SECRET),
                                   verify_header="x-ssl-client-verify", verify_success="0")
        base = [(HEADER, valid_header("haproxy", victim)), ("x-proxy-secret", SECRET),
                ("x-ssl-client-verify", "0")]
        assert forwarded.extract(ClientRequest(base, peer="10.0.0.5")).chain
        for extra in (("x-proxy_secret", "guess"), ("x_ssl_client_verify", "0")):
            outcome = forwarded.extract(ClientRequest([*base, extra], peer="10.0.0.5"))
            assert outcome.failure is Failure.FORWARDED_HEADER_INVALID, extra

    def test_apache_chain_prefix(self, victim: Issued, pki: Pki) -> None:
        """Apache's numbered chain headers: ``x-client-cert-chain_0`` folds into ``-0``."""
        forwarded = ForwardedCertificates("apache", chain_header="x-client-cert-chain-",
                                          trusted_proxies=["10.0.0.0/8"])
        inter = pki.intermediate.pem.replace("\n", " ")
        base = [("x-client-cert", valid_header("apache", victim)),
                ("x-client-cert-chain-0", inter), ("x-client-cert-chain-1", "(null)")]
        assert len(forwarded.extract(ClientRequest(base, peer="10.0.0.5")).chain) == 2
        smuggled = ClientRequest([*base, ("x_client_cert_chain_1", inter)], peer="10.0.0.5")
        assert forwarded.extract(smuggled).failure is Failure.FORWARDED_HEADER_INVALID

    def test_untrusted_peer_ignored_with_notice(self, victim: Issued) -> None:
        """From anyone but the proxy the spelling is ignored and reported, like the header."""
        request = ClientRequest([("x-ssl_client-cert", valid_header("haproxy", victim))],
                                peer="192.0.2.1")
        outcome = self.forwarded().extract(request)
        assert outcome.failure is None
        assert outcome.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)
        assert outcome.chain == ()

    def test_letter_case_and_unrelated_names_untouched(self, victim: Issued) -> None:
        """The configured name in any case is the header itself; names that merely contain
        it (``x-ssl-client-cert-2``, ``x_ssl``) are someone else's."""
        headers = [("X-SSL-Client-CERT", valid_header("haproxy", victim)),
                   ("x-ssl-client-cert-2", "x"), ("x_ssl", "y"), ("client_id", "z")]
        assert self.forwarded().extract(ClientRequest(headers, peer="10.0.0.5")).chain

    def test_wsgi_environ_names_are_never_foreign(self, victim: Issued) -> None:
        """Under WSGI request_from_environ writes every name with dashes: a lone proxy header
        is read as before (the fold, if any, is in the value)."""
        environ = {"REMOTE_ADDR": "10.0.0.5",
                   "HTTP_X_SSL_CLIENT_CERT": valid_header("haproxy", victim)}
        assert self.forwarded().extract(request_from_environ(environ)).chain

    def test_foreign_spellings_function(self) -> None:
        """The helper on its own: exact names and indexed prefixes are ours, spellings not."""
        from clientauth.forwarded._common import foreign_spellings

        names = ["x-a-b", "x_a-b", "x-a_b", "x-c-0", "x_c_1", "x-c-x", "x-ab", "other"]
        assert foreign_spellings(names, ["x-a-b"], ["x-c-"]) == ["x_a-b", "x-a_b", "x_c_1"]
