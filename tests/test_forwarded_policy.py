"""ForwardedCertificates: a forwarded certificate is believed only from a trusted proxy."""

from __future__ import annotations

import base64
import hmac
import urllib.parse

import pytest

import xfcc_builder
from certs import Issued, Pki
from clientauth import ClientRequest, ConfigurationError, Failure, Notice
from clientauth.forwarded import (
    DEFAULT_CHAIN_HEADERS,
    DEFAULT_HEADERS,
    FORMATS,
    ForwardedCertificates,
    ForwardedOutcome,
    _policy,
)

SECRET = "s3cr3t-proxy-token-0123456789"


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def nginx_header(issued: Issued) -> str:
    """$ssl_client_escaped_cert (see test_forwarded_parsers)."""
    return urllib.parse.quote(issued.pem, safe="")


@pytest.fixture(scope="module")
def leaf(pki: Pki) -> Issued:
    return pki.leaf("client-1", san_dns=["client.example"])


def req(*headers: tuple[str, str], peer: str | None = "10.0.0.5") -> ClientRequest:
    return ClientRequest(list(headers), peer=peer)


def nginx(**kwargs: object) -> ForwardedCertificates:
    kwargs.setdefault("trusted_proxies", ["10.0.0.0/8"])
    return ForwardedCertificates("nginx", **kwargs)  # type: ignore[arg-type]


class TestConfiguration:
    def test_some_trust_required(self) -> None:
        """Neither trusted_proxies nor shared_secret: refused (anyone could send the header)."""
        with pytest.raises(ConfigurationError):
            ForwardedCertificates("nginx")

    @pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0"])
    def test_trust_everyone_refused(self, everyone: str) -> None:
        """No permissive fallback: a /0 network is refused."""
        with pytest.raises(ConfigurationError):
            ForwardedCertificates("nginx", trusted_proxies=["127.0.0.1", everyone])

    @pytest.mark.parametrize("entry", ["10.0.0.1/8", "proxy.internal", "10.0.0.0/33", "", "1.2.3"])
    def test_bad_network(self, entry: str) -> None:
        """Unparseable entries, and networks with host bits set (likely typos), are refused."""
        with pytest.raises(ConfigurationError):
            ForwardedCertificates("nginx", trusted_proxies=[entry])

    def test_single_string_is_one_entry(self, leaf: Issued) -> None:
        """trusted_proxies="10.0.0.0/8" means that network, not its characters."""
        policy = ForwardedCertificates("nginx", trusted_proxies="10.0.0.0/8")
        assert policy.extract(req(("x-ssl-client-cert", nginx_header(leaf)))).chain == (leaf.cert,)

    def test_unknown_format(self) -> None:
        """Only the documented formats."""
        with pytest.raises(ConfigurationError):
            ForwardedCertificates("iis", trusted_proxies=["10.0.0.1"])

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"chain_header": "x-chain"},  # nginx has no chain header
            {"element": 0},  # envoy only
            {"element_by": "spiffe://mesh/edge"},  # envoy only
            {"trust_proxy_verification": True},  # needs verify_header
            {"header": "x bad"},  # not a field name
            {"header": ""},
            {"shared_secret": ("x-proxy-secret", "short")},  # too short
            {"shared_secret": ("x-proxy-secret", " " + SECRET)},  # surrounding space
            {"shared_secret": ("x-ssl-client-cert", SECRET)},  # same header as the cert
            {"shared_secret": "x-proxy-secret"},  # not a pair
            {"verify_header": "x-v", "verify_success": ""},
        ],
    )
    def test_bad_settings(self, kwargs: dict[str, object]) -> None:
        """Settings are validated eagerly with ConfigurationError."""
        with pytest.raises(ConfigurationError):
            nginx(**kwargs)

    def test_secret_not_in_configuration_errors(self) -> None:
        """A refused shared secret is not echoed in the error."""
        with pytest.raises(ConfigurationError) as info:
            nginx(shared_secret=("x-proxy-secret", "tiny-secret"))
        assert "tiny-secret" not in str(info.value)

    def test_immutable(self) -> None:
        """Configured once: attributes cannot be changed afterwards."""
        policy = nginx()
        with pytest.raises(AttributeError):
            policy._networks = ()  # type: ignore[misc]

    def test_default_headers(self) -> None:
        """Every format has a default header; RFC 9440 also a chain header."""
        assert set(DEFAULT_HEADERS) == FORMATS
        assert DEFAULT_HEADERS["rfc9440"] == "client-cert"
        assert DEFAULT_CHAIN_HEADERS == {"rfc9440": "client-cert-chain"}
        assert DEFAULT_HEADERS["envoy"] == "x-forwarded-client-cert"
        assert DEFAULT_HEADERS["traefik"] == "x-forwarded-tls-client-cert"
        assert DEFAULT_HEADERS["azure"] == "x-arr-clientcert"
        for fmt in FORMATS:
            policy = ForwardedCertificates(fmt, trusted_proxies=["127.0.0.1"])
            assert policy.header == DEFAULT_HEADERS[fmt]
            assert policy.source == f"forwarded:{fmt}"


class TestSecretNeverShown:
    def test_repr_hides_secret(self) -> None:
        """repr() shows the secret's header name, never its value."""
        policy = nginx(shared_secret=("X-Proxy-Secret", SECRET))
        text = repr(policy)
        assert SECRET not in text and "x-proxy-secret" in text and "***" in text

    def test_detail_hides_secret(self, leaf: Issued) -> None:
        """Neither a wrong nor a right secret appears in an outcome."""
        policy = nginx(shared_secret=("x-proxy-secret", SECRET))
        for presented in (SECRET, SECRET + "x"):
            out = policy.extract(req(("x-ssl-client-cert", "garbage%"),
                                     ("x-proxy-secret", presented)))
            assert SECRET not in repr(out)


class TestTrustedPeer:
    def test_trusted_peer_accepted(self, leaf: Issued) -> None:
        """A header from a peer inside trusted_proxies yields the certificate."""
        out = nginx().extract(req(("X-SSL-Client-Cert", nginx_header(leaf))))
        assert out == ForwardedOutcome((leaf.cert,), "forwarded:nginx")

    def test_untrusted_peer_ignored_with_notice(self, leaf: Issued) -> None:
        """The same header from elsewhere is ignored and reported."""
        out = nginx().extract(req(("x-ssl-client-cert", nginx_header(leaf)), peer="192.0.2.7"))
        assert out.chain == () and out.failure is None
        assert out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)

    def test_untrusted_peer_malformed_header_is_not_a_failure(self) -> None:
        """An untrusted header is not even parsed: no failure, just the notice."""
        out = nginx().extract(req(("x-ssl-client-cert", "%%%"), peer="192.0.2.7"))
        assert out.failure is None and out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)

    def test_no_header_no_notice(self) -> None:
        """Without the header there is nothing to report."""
        out = nginx().extract(req(("accept", "*/*"), peer="192.0.2.7"))
        assert out == ForwardedOutcome((), "forwarded:nginx")

    @pytest.mark.parametrize(
        ("networks", "peer", "trusted"),
        [
            (["10.0.0.0/8"], "10.255.0.1", True),
            (["10.0.0.0/8"], "11.0.0.1", False),
            (["10.1.2.3"], "10.1.2.3", True),
            (["10.1.2.3"], "10.1.2.4", False),
            (["::1"], "::1", True),
            (["::1"], "[::1]", True),
            (["2001:db8::/32"], "2001:db8:1::9", True),
            (["2001:db8::/32"], "2001:db9::1", False),
            (["10.0.0.0/8"], "::ffff:10.0.0.9", True),  # dual-stack socket
            (["fe80::/10"], "fe80::1%eth0", True),  # scoped link-local
            (["127.0.0.1"], "127.0.0.1:8080", False),  # a port is not an address
            (["127.0.0.1"], "[::1]:8080", False),
            (["127.0.0.1"], "localhost", False),
            (["127.0.0.1"], "", False),
            (["127.0.0.1"], None, False),  # unix socket / unknown
            (["127.0.0.1"], "unix:/run/app.sock", False),
        ],
    )
    def test_address_matching(
        self, leaf: Issued, networks: list[str], peer: str | None, trusted: bool
    ) -> None:
        """Peers are bare IP addresses; CIDR and IPv6 match; anything unparseable is untrusted."""
        policy = ForwardedCertificates("caddy", trusted_proxies=networks)
        out = policy.extract(req(("x-client-cert", b64(leaf.der)), peer=peer))
        assert (out.chain == (leaf.cert,)) is trusted
        assert (out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)) is not trusted


class TestSharedSecret:
    def policy(self, **kwargs: object) -> ForwardedCertificates:
        return ForwardedCertificates(
            "haproxy", shared_secret=("x-proxy-secret", SECRET), **kwargs  # type: ignore[arg-type]
        )

    def test_right_secret(self, leaf: Issued) -> None:
        """The right secret from any peer (e.g. a Unix socket) is trusted."""
        out = self.policy().extract(
            req(("x-ssl-client-cert", b64(leaf.der)), ("x-proxy-secret", SECRET), peer=None)
        )
        assert out.chain == (leaf.cert,) and not out.notices

    @pytest.mark.parametrize("presented", [SECRET[:-1], SECRET + "0", "", SECRET.upper(),
                                           "s3cr3t-proxy-token-012345678\u00e9"])
    def test_wrong_secret(self, leaf: Issued, presented: str) -> None:
        """A wrong secret makes the header untrusted."""
        out = self.policy().extract(
            req(("x-ssl-client-cert", b64(leaf.der)), ("x-proxy-secret", presented))
        )
        assert out.chain == () and out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)

    def test_missing_secret(self, leaf: Issued) -> None:
        """No secret header: untrusted."""
        out = self.policy().extract(req(("x-ssl-client-cert", b64(leaf.der))))
        assert out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)
        assert "missing" in out.detail

    def test_repeated_secret_header(self, leaf: Issued) -> None:
        """Two secret headers (client-sent plus proxy-appended): untrusted."""
        out = self.policy().extract(req(("x-ssl-client-cert", b64(leaf.der)),
                                        ("x-proxy-secret", "forged"), ("x-proxy-secret", SECRET)))
        assert out.chain == () and out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)

    def test_constant_time_compare(self, leaf: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
        """The secret is compared with hmac.compare_digest."""
        calls: list[tuple[bytes, bytes]] = []
        real = hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(_policy.hmac, "compare_digest", spy)
        self.policy().extract(req(("x-ssl-client-cert", b64(leaf.der)),
                                  ("x-proxy-secret", SECRET)))
        assert calls == [(SECRET.encode(), SECRET.encode())]

    def test_both_required_when_both_configured(self, leaf: Issued) -> None:
        """trusted_proxies and shared_secret together: both must hold."""
        policy = self.policy(trusted_proxies=["10.0.0.0/8"])
        header = ("x-ssl-client-cert", b64(leaf.der))
        assert policy.extract(req(header, ("x-proxy-secret", SECRET))).chain == (leaf.cert,)
        assert policy.extract(req(header, ("x-proxy-secret", SECRET), peer="192.0.2.1")).notices
        assert policy.extract(req(header, ("x-proxy-secret", "nope"))).notices
        assert policy.extract(req(header)).notices


class TestTrustedButInvalid:
    def test_duplicate_header(self, leaf: Issued) -> None:
        """Two certificate headers from a trusted proxy: FORWARDED_HEADER_INVALID."""
        out = nginx().extract(req(("x-ssl-client-cert", nginx_header(leaf)),
                                  ("x-ssl-client-cert", nginx_header(leaf))))
        assert out.failure is Failure.FORWARDED_HEADER_INVALID and out.chain == ()

    def test_malformed_header(self) -> None:
        """A trusted proxy's malformed header is a failure, and the detail does not echo it."""
        out = nginx().extract(req(("x-ssl-client-cert", "-----BEGIN CERTIFICATE-----QUJD%")))
        assert out.failure is Failure.FORWARDED_HEADER_INVALID
        assert "QUJD" not in out.detail and out.detail.startswith("nginx:")

    def test_no_certificate_is_not_a_failure(self) -> None:
        """Apache's (null) from a trusted proxy: no certificate, no failure."""
        policy = ForwardedCertificates("apache", trusted_proxies=["10.0.0.5"])
        out = policy.extract(req(("x-client-cert", "(null)")))
        assert out == ForwardedOutcome((), "forwarded:apache")


class TestChains:
    def test_rfc9440_chain_lines(self, pki: Pki, leaf: Issued) -> None:
        """Client-Cert-Chain may come as several field lines (a List)."""
        policy = ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.0/8"])
        out = policy.extract(req(("client-cert", f":{b64(leaf.der)}:"),
                                 ("client-cert-chain", f":{b64(pki.intermediate.der)}:"),
                                 ("client-cert-chain", f":{b64(pki.root.der)}:")))
        assert out.chain == (leaf.cert, pki.intermediate.cert, pki.root.cert)

    def test_rfc9440_duplicate_client_cert(self, leaf: Issued) -> None:
        """RFC 9440 2.2: Client-Cert MUST NOT occur multiple times."""
        policy = ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.0/8"])
        value = f":{b64(leaf.der)}:"
        out = policy.extract(req(("client-cert", value), ("client-cert", value)))
        assert out.failure is Failure.FORWARDED_HEADER_INVALID

    def test_haproxy_chain_header(self, pki: Pki, leaf: Issued) -> None:
        """A configured chain header is split and appended; twice is invalid."""
        policy = ForwardedCertificates("haproxy", trusted_proxies=["10.0.0.0/8"],
                                       chain_header="X-SSL-Client-Chain")
        chain = ("x-ssl-client-chain", b64(pki.intermediate.der))
        out = policy.extract(req(("x-ssl-client-cert", b64(leaf.der)), chain))
        assert out.chain == (leaf.cert, pki.intermediate.cert)
        out = policy.extract(req(("x-ssl-client-cert", b64(leaf.der)), chain, chain))
        assert out.failure is Failure.FORWARDED_HEADER_INVALID

    def test_apache_chain_prefix(self, pki: Pki, leaf: Issued) -> None:
        """Apache: chain_header is a prefix for CHAIN_0..n headers."""
        policy = ForwardedCertificates("apache", trusted_proxies=["10.0.0.0/8"],
                                       chain_header="x-client-cert-chain-")
        out = policy.extract(req(
            ("x-client-cert", leaf.pem.replace("\n", " ")),
            ("x-client-cert-chain-0", pki.intermediate.pem.replace("\n", " ")),
            ("x-client-cert-chain-1", "(null)"),
            ("x-client-cert-chain-2", "(null)"),
        ))
        assert out.chain == (leaf.cert, pki.intermediate.cert)

    def test_chain_header_from_untrusted_peer_reported(self, pki: Pki) -> None:
        """A chain header alone from an untrusted peer is reported as well."""
        policy = ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.0/8"])
        out = policy.extract(req(("client-cert-chain", f":{b64(pki.root.der)}:"),
                                 peer="192.0.2.1"))
        assert out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)


class TestEnvoyElement:
    def test_element_selects_hop(self, pki: Pki, leaf: Issued) -> None:
        """element=0 picks the original client among several XFCC hops."""
        value = (f"{xfcc_builder.element(leaf.cert)},"
                 f"{xfcc_builder.element(pki.leaf('proxy').cert, by=['spiffe://mesh/app'])}")
        strict = ForwardedCertificates("envoy", trusted_proxies=["10.0.0.0/8"])
        assert strict.extract(req(("x-forwarded-client-cert", value))).failure is (
            Failure.FORWARDED_HEADER_INVALID
        )
        first = ForwardedCertificates("envoy", trusted_proxies=["10.0.0.0/8"], element=0)
        assert first.extract(req(("x-forwarded-client-cert", value))).chain == (leaf.cert,)
        by = ForwardedCertificates("envoy", trusted_proxies=["10.0.0.0/8"],
                                   element_by="spiffe://mesh/edge")
        assert by.extract(req(("x-forwarded-client-cert", value))).chain == (leaf.cert,)
        assert "element_by='spiffe://mesh/edge'" in repr(by)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"element_by": ""},
            {"element_by": "spiffe://a,b"},
            {"element_by": "spiffe://a;b"},
            {"element_by": 'spiffe://"a"'},
            {"element_by": "spiffe://a b"},
            {"element_by": "spiffe://\u00e9"},
            {"element_by": "x" * 5000},
            {"element_by": 1},
            {"element_by": "spiffe://mesh/edge", "element": 0},
        ],
    )
    def test_bad_element_by(self, kwargs: dict[str, object]) -> None:
        """element_by is validated eagerly: a By value Envoy could write, and not with element."""
        with pytest.raises(ConfigurationError):
            ForwardedCertificates("envoy", trusted_proxies=["10.0.0.0/8"], **kwargs)  # type: ignore[arg-type]


class TestVerifyFlag:
    def header(self, leaf: Issued, verify: str | None) -> ClientRequest:
        headers = [("x-ssl-client-cert", nginx_header(leaf))]
        if verify is not None:
            headers.append(("x-ssl-client-verify", verify))
        return req(*headers)

    def test_not_opted_in(self, leaf: Issued) -> None:
        """Without opt-in, SUCCESS passes the certificate but proxy_verified stays False."""
        out = nginx(verify_header="x-ssl-client-verify").extract(self.header(leaf, "SUCCESS"))
        assert out.chain == (leaf.cert,) and out.proxy_verified is False

    def test_opted_in(self, leaf: Issued) -> None:
        """With opt-in, SUCCESS marks the outcome proxy_verified."""
        policy = nginx(verify_header="x-ssl-client-verify", trust_proxy_verification=True)
        out = policy.extract(self.header(leaf, "SUCCESS"))
        assert out.chain == (leaf.cert,) and out.proxy_verified is True

    @pytest.mark.parametrize("verify", ["NONE", "FAILED:certificate has expired", "success", ""])
    def test_failure_drops_certificate(self, leaf: Issued, verify: str) -> None:
        """A flag that does not say success: no certificate (not a failure)."""
        policy = nginx(verify_header="x-ssl-client-verify", trust_proxy_verification=True)
        out = policy.extract(self.header(leaf, verify))
        assert out.chain == () and out.failure is None and out.proxy_verified is False

    def test_flag_absent(self, leaf: Issued) -> None:
        """No flag header: the certificate is kept but not proxy-verified."""
        policy = nginx(verify_header="x-ssl-client-verify", trust_proxy_verification=True)
        out = policy.extract(self.header(leaf, None))
        assert out.chain == (leaf.cert,) and out.proxy_verified is False

    def test_haproxy_numeric_flag(self, leaf: Issued) -> None:
        """HAProxy's ssl_c_verify is 0 on success: verify_success="0"."""
        policy = ForwardedCertificates("haproxy", trusted_proxies=["10.0.0.0/8"],
                                       verify_header="x-ssl-client-verify", verify_success="0",
                                       trust_proxy_verification=True)
        ok = policy.extract(req(("x-ssl-client-cert", b64(leaf.der)),
                                ("x-ssl-client-verify", "0")))
        bad = policy.extract(req(("x-ssl-client-cert", b64(leaf.der)),
                                 ("x-ssl-client-verify", "20")))
        assert ok.proxy_verified and ok.chain == (leaf.cert,) and bad.chain == ()

    def test_duplicate_flag(self, leaf: Issued) -> None:
        """Two verify headers from a trusted proxy are invalid."""
        policy = nginx(verify_header="x-ssl-client-verify", trust_proxy_verification=True)
        request = req(("x-ssl-client-cert", nginx_header(leaf)),
                      ("x-ssl-client-verify", "SUCCESS"), ("x-ssl-client-verify", "SUCCESS"))
        assert policy.extract(request).failure is Failure.FORWARDED_HEADER_INVALID

    def test_untrusted_flag_ignored(self, leaf: Issued) -> None:
        """A SUCCESS flag from an untrusted peer verifies nothing."""
        policy = nginx(verify_header="x-ssl-client-verify", trust_proxy_verification=True)
        out = policy.extract(ClientRequest(
            [("x-ssl-client-cert", nginx_header(leaf)), ("x-ssl-client-verify", "SUCCESS")],
            peer="192.0.2.1"))
        assert out.chain == () and not out.proxy_verified
        assert out.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)
