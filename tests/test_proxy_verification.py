"""``trust_proxy_verification=True``: what the proxy's verify flag may and may not stand in for.

The opt-in lets the proxy's chain validation (to the CAs the *proxy* trusts) replace the local
path to the global anchors. It must never widen what a client registered: a client with its
own ``tls_client_auth_trust_anchors`` is verified locally, and every check that needs only the
leaf (EKU, CA flag, key strength, RFC 5280 4.2.1.6, validity, registered name) still runs.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

import clientauth
from certs import NOW, Issued, Pki, clock, issue, name
from clientauth import Authenticator, ClientRequest, Failure, Notice
from clientauth.revocation import RevocationChecker

PROXY = "10.0.0.5"
VERIFY = ("X-SSL-Client-Verify", "SUCCESS")


def forwarded() -> clientauth.ForwardedCertificates:
    return clientauth.ForwardedCertificates(
        "nginx", trusted_proxies=[PROXY], verify_header=VERIFY[0], trust_proxy_verification=True
    )


def from_proxy(cert: Issued, client_id: str) -> ClientRequest:
    return ClientRequest(
        [("X-SSL-Client-Cert", quote(cert.pem, safe="")), VERIFY],
        form={"client_id": client_id},
        peer=PROXY,
    )


@pytest.fixture(scope="module")
def own_ca() -> Pki:
    """The CA a partner registered as its own trust anchor."""
    return Pki.create("Partner")


@pytest.fixture(scope="module")
def other_ca() -> Pki:
    """Another CA the proxy also trusts (the deployment's general client CA)."""
    return Pki.create("Other")


@pytest.fixture(scope="module")
def auth(own_ca: Pki) -> Authenticator:
    registry = clientauth.load_clients([
        {"client_id": "partner", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=partner-app",
         "tls_client_auth_trust_anchors": [own_ca.root.pem]},
        {"client_id": "plain", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=plain-app"},
        {"client_id": "by-san", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_san_dns": "by-san.example"},
    ])
    # No global anchors: the deployment relies on the proxy for clients without their own.
    return Authenticator(registry, forwarded=forwarded(), intermediates=[own_ca.intermediate.cert],
                         now=clock(NOW))


class TestClientAnchorsAreNeverWidened:
    def test_other_ca_refused_for_client_with_own_anchors(
        self, auth: Authenticator, other_ca: Pki
    ) -> None:
        """A certificate from another CA, carrying the registered DN and verified by the proxy,
        does not authenticate a client that registered its own CA (issue 11, finding 9)."""
        impostor = other_ca.leaf("partner-app")
        result = auth.authenticate(from_proxy(impostor, "partner"))
        assert not result.ok
        assert result.failure is Failure.UNTRUSTED_CHAIN
        assert Notice.PROXY_VERIFIED_ONLY not in result.notices

    def test_own_ca_accepted_and_verified_locally(self, auth: Authenticator, own_ca: Pki) -> None:
        """The client's own CA still works: the path is validated here (intermediate from
        the pool), so the result does not say PROXY_VERIFIED_ONLY."""
        result = auth.authenticate(from_proxy(own_ca.leaf("partner-app"), "partner"))
        assert result.ok, result
        assert Notice.PROXY_VERIFIED_ONLY not in result.notices
        assert result.chain[-1] == own_ca.root.cert

    def test_client_without_anchors_uses_the_flag(
        self, auth: Authenticator, other_ca: Pki
    ) -> None:
        """A client without anchors of its own is accepted on the proxy's flag, and says so."""
        result = auth.authenticate(from_proxy(other_ca.leaf("plain-app"), "plain"))
        assert result.ok, result
        assert Notice.PROXY_VERIFIED_ONLY in result.notices


class TestLeafChecksStillRun:
    @pytest.mark.parametrize(
        ("kwargs", "failure"),
        [
            ({"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, Failure.WRONG_KEY_USAGE),
            ({"eku": [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}, Failure.WRONG_KEY_USAGE),
            ({"ca": True}, Failure.CA_CERTIFICATE),
            ({"key": rsa.generate_private_key(65537, 1024)}, Failure.WEAK_KEY),
            ({"not_after": NOW - timedelta(seconds=1)}, Failure.CERTIFICATE_EXPIRED),
            ({"not_before": NOW + timedelta(seconds=1)}, Failure.CERTIFICATE_NOT_YET_VALID),
        ],
        ids=["server-eku", "any-eku", "ca-flag", "rsa-1024", "expired", "not-yet-valid"],
    )
    def test_leaf_refused(
        self, auth: Authenticator, other_ca: Pki, kwargs: dict[str, object], failure: Failure
    ) -> None:
        """Whatever the proxy's flag says, a leaf that PKIVerifier would refuse on its own
        (EKU without clientAuth, cA=TRUE, a breakable key, outside its validity) is refused."""
        leaf = issue(name("plain-app"), issuer=other_ca.intermediate, **kwargs)  # type: ignore[arg-type]
        result = auth.authenticate(from_proxy(leaf, "plain"))
        assert not result.ok
        assert result.failure is failure, result

    def test_empty_subject_needs_critical_san(self, auth: Authenticator, other_ca: Pki) -> None:
        """RFC 5280 4.2.1.6: an empty subject with a non-critical SAN is malformed."""
        leaf = issue(name(), issuer=other_ca.intermediate, san_dns=["by-san.example"])
        result = auth.authenticate(from_proxy(leaf, "by-san"))
        assert result.failure is Failure.MALFORMED_CERTIFICATE, result
        good = issue(name(), issuer=other_ca.intermediate, san_dns=["by-san.example"],
                     san_critical=True)
        assert auth.authenticate(from_proxy(good, "by-san")).ok

    def test_registered_name_still_checked(self, auth: Authenticator, other_ca: Pki) -> None:
        """The proxy does not know which client is calling: the registered name is ours."""
        result = auth.authenticate(from_proxy(other_ca.leaf("someone-else"), "plain"))
        assert result.failure is Failure.NAME_MISMATCH


class TestConfiguration:
    def test_revocation_cannot_be_skipped(self) -> None:
        """Revocation is checked on the locally validated path; combining it with the opt-in
        would skip it silently, so the combination is refused at construction."""
        registry = clientauth.MemoryRegistry()
        with pytest.raises(clientauth.ConfigurationError, match="revocation"):
            Authenticator(registry, forwarded=forwarded(),
                          revocation=RevocationChecker("hard-fail", fetch=False))
        off = RevocationChecker("off")
        Authenticator(registry, forwarded=forwarded(), revocation=off)


class TestRequireSan:
    def test_require_san_not_lifted_by_the_flag(self, other_ca: Pki) -> None:
        """PKIVerifier(require_san=True) refuses clients named by subject DN and SAN-less
        leaves; on the proxy's flag the same rule applies (it needs no chain)."""
        from clientauth.pki import PKIVerifier

        registry = clientauth.load_clients([
            {"client_id": "plain", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=plain-app"},
            {"client_id": "by-san", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_san_dns": "by-san.example"},
        ])
        auth = Authenticator(registry, forwarded=forwarded(), now=clock(NOW),
                             pki=PKIVerifier(now=clock(NOW), require_san=True))
        by_dn = auth.authenticate(from_proxy(other_ca.leaf("plain-app"), "plain"))
        assert by_dn.failure is Failure.NAME_MISMATCH
        by_san = auth.authenticate(
            from_proxy(other_ca.leaf("x", san_dns=["by-san.example"]), "by-san"))
        assert by_san.ok, by_san
