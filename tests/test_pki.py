"""PKIVerifier: RFC 8705 2.1 tls_client_auth chain validation, as a user would drive it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import clientauth
from certs import NOW, Pki, clock, issue, name, new_key, self_signed
from clientauth._x509 import MAX_CHAIN_LENGTH
from clientauth.exceptions import ConfigurationError
from clientauth.pki import PKIVerifier
from clientauth.result import Failure


def client(dn: str = "CN=client-1,O=Acme", client_id: str = "c1", **extra: Any
           ) -> clientauth.Client:
    return clientauth.Client.from_metadata(
        {"client_id": client_id, "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": dn, **extra}
    )


@pytest.fixture(scope="module")
def leaf(pki: Pki) -> Any:
    return pki.leaf("client-1", org="Acme")


@pytest.fixture
def verifier(pki: Pki) -> PKIVerifier:
    return PKIVerifier([pki.root.cert], now=clock(NOW))


class TestAccepts:
    """Chains that must authenticate."""

    def test_full_chain(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """Leaf + intermediate to a root anchor passes; the path ends at the anchor and
        expires_at is the earliest notAfter on it."""
        check = verifier.verify(pki.chain_for(leaf), client())
        assert check.ok, check.detail
        assert check.chain == (leaf.cert, pki.intermediate.cert, pki.root.cert)
        assert check.expires_at == leaf.cert.not_valid_after_utc

    def test_leaf_only_with_pool(self, pki: Pki, leaf: Any) -> None:
        """A client presenting only its leaf validates when the intermediate is pooled."""
        verifier = PKIVerifier([pki.root.cert], intermediates=[pki.intermediate.pem],
                               now=clock(NOW))
        assert verifier.verify([leaf.cert], client()).ok

    def test_leaf_only_without_pool_fails(self, leaf: Any, verifier: PKIVerifier) -> None:
        """Without the pool a lone leaf has no path: UNTRUSTED_CHAIN."""
        assert verifier.verify([leaf.cert], client()).failure is Failure.UNTRUSTED_CHAIN

    def test_no_eku_is_accepted(self, pki: Pki, verifier: PKIVerifier) -> None:
        """RFC 5280 4.2.1.12: no EKU extension means no restriction; cryptography's client
        verifier agrees, so such a leaf authenticates."""
        no_eku = pki.leaf("client-1", org="Acme", eku=None)
        assert verifier.verify(pki.chain_for(no_eku), client()).ok

    def test_dn_only_leaf_without_san(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """DN-identified client certificates carry no SAN; the relaxed policy accepts them."""
        assert leaf.cert.extensions.get_extension_for_oid  # has extensions, but no SAN
        with pytest.raises(x509.ExtensionNotFound):
            leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert verifier.verify(pki.chain_for(leaf), client()).ok

    def test_empty_subject_with_critical_san(self, pki: Pki) -> None:
        """RFC 5280 4.2.1.6: an empty subject with a critical SAN is well-formed."""
        cert = issue(x509.Name([]), issuer=pki.intermediate, san_dns=["a.example"],
                     san_critical=True)
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW))
        assert verifier.verify_chain([cert.cert, pki.intermediate.cert]).ok


class TestRejects:
    """Each way a chain is refused, with its precise reason."""

    def test_self_signed_leaf(self, verifier: PKIVerifier) -> None:
        """A self-signed client certificate is not issued by any anchor: UNTRUSTED_CHAIN."""
        check = verifier.verify([self_signed("client-1").cert], client("CN=client-1"))
        assert check.failure is Failure.UNTRUSTED_CHAIN

    def test_ca_certificate_as_client(self, pki: Pki, verifier: PKIVerifier) -> None:
        """The issuing CA presented as the client certificate: CA_CERTIFICATE."""
        check = verifier.verify([pki.intermediate.cert], client())
        assert check.failure is Failure.CA_CERTIFICATE

    def test_anchor_itself_as_client(self, pki: Pki, verifier: PKIVerifier) -> None:
        """Even the trust anchor, presented as a client, is refused: CA_CERTIFICATE."""
        assert verifier.verify([pki.root.cert], client()).failure is Failure.CA_CERTIFICATE

    def test_server_auth_only_eku(self, pki: Pki, verifier: PKIVerifier) -> None:
        """A serverAuth-only certificate cannot authenticate a client: WRONG_KEY_USAGE."""
        cert = pki.leaf("client-1", org="Acme", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        check = verifier.verify(pki.chain_for(cert), client())
        assert check.failure is Failure.WRONG_KEY_USAGE
        assert "clientAuth" in check.detail

    def test_any_eku_alone(self, pki: Pki, verifier: PKIVerifier) -> None:
        """anyExtendedKeyUsage without clientAuth is refused (cryptography requires the
        clientAuth OID itself): WRONG_KEY_USAGE."""
        cert = pki.leaf("client-1", org="Acme",
                        eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])
        assert verifier.verify(pki.chain_for(cert), client()).failure is Failure.WRONG_KEY_USAGE

    def test_expired(self, pki: Pki, verifier: PKIVerifier) -> None:
        """A leaf past its notAfter: CERTIFICATE_EXPIRED, with the date in the detail."""
        cert = pki.leaf("client-1", org="Acme", not_before=NOW - timedelta(days=10),
                        not_after=NOW - timedelta(seconds=1))
        check = verifier.verify(pki.chain_for(cert), client())
        assert check.failure is Failure.CERTIFICATE_EXPIRED
        assert "expired" in check.detail

    def test_not_yet_valid(self, pki: Pki, verifier: PKIVerifier) -> None:
        """A leaf before its notBefore: CERTIFICATE_NOT_YET_VALID."""
        cert = pki.leaf("client-1", org="Acme", not_before=NOW + timedelta(seconds=1))
        assert verifier.verify(pki.chain_for(cert), client()).failure is (
            Failure.CERTIFICATE_NOT_YET_VALID
        )

    def test_not_after_is_inclusive(self, pki: Pki) -> None:
        """RFC 5280 4.1.2.5: a certificate is valid through notAfter, inclusive."""
        cert = pki.leaf("client-1", org="Acme", not_after=NOW + timedelta(hours=1))
        at_end = PKIVerifier([pki.root.cert], now=clock(NOW + timedelta(hours=1)))
        assert at_end.verify(pki.chain_for(cert), client()).ok
        after = PKIVerifier([pki.root.cert], now=clock(NOW + timedelta(hours=1, seconds=1)))
        assert after.verify(pki.chain_for(cert), client()).failure is (
            Failure.CERTIFICATE_EXPIRED
        )

    def test_expired_intermediate(self, pki: Pki) -> None:
        """An expired issuing CA: CERTIFICATE_EXPIRED (not a vague untrusted chain)."""
        inter = issue(name("Old Issuing CA"), issuer=pki.root, ca=True, path_length=0,
                      not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
        cert = issue(name("client-1", O="Acme"), issuer=inter,
                     not_before=NOW - timedelta(days=2), not_after=NOW + timedelta(days=5))
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW))
        check = verifier.verify([cert.cert, inter.cert], client())
        assert check.failure is Failure.CERTIFICATE_EXPIRED
        assert "issuing CA" in check.detail

    def test_wrong_intermediate(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """A leaf presented with an unrelated intermediate has no path: UNTRUSTED_CHAIN."""
        other = Pki.create("Other Corp")
        check = verifier.verify([leaf.cert, other.intermediate.cert], client())
        assert check.failure is Failure.UNTRUSTED_CHAIN

    def test_empty_subject_without_san(self, pki: Pki, verifier: PKIVerifier) -> None:
        """RFC 5280 4.2.1.6: neither subject nor SAN names the holder -> refused even though
        the SAN requirement is otherwise relaxed."""
        cert = issue(x509.Name([]), issuer=pki.intermediate)
        check = verifier.verify_chain([cert.cert, pki.intermediate.cert])
        assert check.failure is Failure.MALFORMED_CERTIFICATE
        assert "4.2.1.6" in check.detail

    def test_empty_subject_with_non_critical_san(self, pki: Pki, verifier: PKIVerifier) -> None:
        """RFC 5280 4.2.1.6: with an empty subject the SAN MUST be critical."""
        cert = issue(x509.Name([]), issuer=pki.intermediate, san_dns=["a.example"])
        assert not verifier.verify_chain([cert.cert, pki.intermediate.cert]).ok

    def test_depth_limit(self, pki: Pki, leaf: Any) -> None:
        """max_chain_depth=0 means the leaf must be issued by an anchor directly."""
        shallow = PKIVerifier([pki.root.cert], max_chain_depth=0, now=clock(NOW))
        assert shallow.verify(pki.chain_for(leaf), client()).failure is Failure.UNTRUSTED_CHAIN
        direct = PKIVerifier([pki.intermediate.cert], max_chain_depth=0, now=clock(NOW))
        assert direct.verify([leaf.cert], client()).ok


class TestInput:
    """Garbage never raises out of verify()."""

    @pytest.mark.parametrize(
        ("chain", "failure"),
        [
            ([], Failure.MISSING_CERTIFICATE),
            ((), Failure.MISSING_CERTIFICATE),
            ([b"garbage"], Failure.MALFORMED_CERTIFICATE),
            (["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
             Failure.MALFORMED_CERTIFICATE),
            ([None], Failure.MALFORMED_CERTIFICATE),
            (b"\x30\x00", Failure.MALFORMED_CERTIFICATE),
            ("not a chain", Failure.MALFORMED_CERTIFICATE),
            (42, Failure.MALFORMED_CERTIFICATE),
        ],
    )
    def test_garbage(self, verifier: PKIVerifier, chain: Any, failure: Failure) -> None:
        """Empty, unparsable or wrongly typed chains fail with a reason; nothing raises."""
        check = verifier.verify(chain, client())
        assert not check.ok
        assert check.failure is failure

    def test_der_items_are_parsed(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """DER bytes in the chain are loaded like certificates (lenient on type, not trust)."""
        assert verifier.verify([leaf.der, pki.intermediate.der], client()).ok

    def test_chain_too_long(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """More than MAX_CHAIN_LENGTH presented certificates is refused before any work."""
        chain = [leaf.cert] + [pki.intermediate.cert] * MAX_CHAIN_LENGTH
        check = verifier.verify(chain, client())
        assert check.failure is Failure.MALFORMED_CERTIFICATE
        assert str(MAX_CHAIN_LENGTH) in check.detail


class TestNames:
    """The registered name (RFC 8705 2.1.2) is checked on the validated leaf."""

    def test_mismatch_detail(self, pki: Pki, leaf: Any, verifier: PKIVerifier) -> None:
        """A trusted chain for another name: NAME_MISMATCH, showing registered vs presented."""
        check = verifier.verify(pki.chain_for(leaf), client("CN=someone-else"))
        assert check.failure is Failure.NAME_MISMATCH
        assert "tls_client_auth_subject_dn" in check.detail
        assert "CN=someone-else" in check.detail
        assert "client-1" in check.detail.lower()

    def test_cache_hit_still_checks_name(self, pki: Pki, leaf: Any,
                                         verifier: PKIVerifier) -> None:
        """A chain cached for one client does not authenticate another client."""
        chain = pki.chain_for(leaf)
        assert verifier.verify(chain, client()).ok
        assert verifier.verify(chain, client("CN=other", client_id="c2")).failure is (
            Failure.NAME_MISMATCH
        )


class TestPerClientAnchors:
    """tls_client_auth_trust_anchors: only those anchors, pinned by key, for that client."""

    def test_only_client_anchors(self, pki: Pki, leaf: Any) -> None:
        """A client with its own anchors is not accepted through the global anchors."""
        other = Pki.create("Other Corp")
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW))
        pinned = client(tls_client_auth_trust_anchors=[other.root.pem])
        assert verifier.verify(pki.chain_for(leaf), pinned).failure is Failure.UNTRUSTED_CHAIN
        own = other.leaf("client-1", org="Acme")
        assert verifier.verify(other.chain_for(own), pinned).ok

    def test_rogue_ca_with_same_dn(self, pki: Pki) -> None:
        """A rogue CA with the anchor's exact DN but another key does not pass: anchors are
        pinned by certificate and key, never by name."""
        rogue_root = issue(pki.root.cert.subject, ca=True, key=new_key(),
                           not_before=NOW - timedelta(days=30), not_after=NOW + timedelta(days=99))
        rogue_inter = issue(pki.intermediate.cert.subject, issuer=rogue_root, ca=True,
                            path_length=0, not_before=NOW - timedelta(days=30))
        forged = issue(name("client-1", O="Acme"), issuer=rogue_inter)
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW))
        pinned = client(tls_client_auth_trust_anchors=[pki.root.pem])
        for c in (client(), pinned):
            assert verifier.verify([forged.cert, rogue_inter.cert], c).failure is (
                Failure.UNTRUSTED_CHAIN
            )
            # Presenting the rogue root as well changes nothing.
            assert not verifier.verify(
                [forged.cert, rogue_inter.cert, rogue_root.cert], c).ok

    def test_no_anchors_at_all(self, pki: Pki, leaf: Any) -> None:
        """No global anchors and none registered: UNTRUSTED_CHAIN, never an open door."""
        verifier = PKIVerifier(now=clock(NOW))
        check = verifier.verify(pki.chain_for(leaf), client())
        assert check.failure is Failure.UNTRUSTED_CHAIN


class TestCache:
    """The verified-chain cache never outlives the facts it was built on."""

    def test_clock_past_not_after(self, pki: Pki) -> None:
        """A cached chain whose leaf expires is refused as expired once the clock passes."""
        cert = pki.leaf("client-1", org="Acme", not_after=NOW + timedelta(hours=1))
        moment = [NOW]
        verifier = PKIVerifier([pki.root.cert], now=lambda: moment[0])
        chain = pki.chain_for(cert)
        assert verifier.verify(chain, client()).ok
        moment[0] = NOW + timedelta(hours=2)
        assert verifier.verify(chain, client()).failure is Failure.CERTIFICATE_EXPIRED

    def test_clock_before_not_before(self, pki: Pki, leaf: Any) -> None:
        """Moving the clock back before notBefore refuses the cached chain too."""
        moment = [NOW]
        verifier = PKIVerifier([pki.root.cert], now=lambda: moment[0])
        assert verifier.verify(pki.chain_for(leaf), client()).ok
        moment[0] = NOW - timedelta(days=2)
        assert verifier.verify(pki.chain_for(leaf), client()).failure is (
            Failure.CERTIFICATE_NOT_YET_VALID
        )

    def test_forged_certificate_with_cached_signature(self, pki: Pki, leaf: Any,
                                                      verifier: PKIVerifier) -> None:
        """A certificate that differs from a cached one but carries the same signature bytes
        must not hit the cache (the lookup is confirmed by exact equality)."""
        chain = pki.chain_for(leaf)
        assert verifier.verify(chain, client()).ok
        # Re-sign a different TBS, then graft the genuine signature onto it.
        genuine_sig = leaf.cert.signature
        for _ in range(50):  # ECDSA signatures vary in length; find one that fits exactly
            other = pki.leaf("client-1", org="Acme", key=new_key())
            if len(other.cert.signature) == len(genuine_sig):
                break
        other_sig = other.cert.signature
        assert len(other_sig) == len(genuine_sig)
        der = bytearray(other.der)
        at = der.rindex(other_sig)
        der[at:at + len(other_sig)] = genuine_sig
        forged = x509.load_der_x509_certificate(bytes(der))
        assert forged.signature == genuine_sig
        check = verifier.verify([forged, pki.intermediate.cert], client())
        assert check.failure is Failure.UNTRUSTED_CHAIN

    def test_ttl(self, pki: Pki, leaf: Any) -> None:
        """Entries expire after cache_ttl even while the certificates are valid (the clock
        and the result stay consistent across the expiry)."""
        moment = [NOW]
        verifier = PKIVerifier([pki.root.cert], now=lambda: moment[0],
                               cache_ttl=timedelta(seconds=10))
        chain = pki.chain_for(leaf)
        first = verifier.verify(chain, client())
        assert verifier.verify(chain, client()) is first  # hit: the same result object
        moment[0] = NOW + timedelta(seconds=11)
        second = verifier.verify(chain, client())
        assert second.ok
        assert second is not first

    def test_cache_disabled(self, pki: Pki, leaf: Any) -> None:
        """cache_size=0 validates every time."""
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW), cache_size=0)
        chain = pki.chain_for(leaf)
        assert verifier.verify(chain, client()) is not verifier.verify(chain, client())

    def test_bounded(self, pki: Pki) -> None:
        """The cache holds at most cache_size chains (LRU)."""
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW), cache_size=2)
        leaves = [pki.leaf(f"c{i}") for i in range(4)]
        for item in leaves:
            assert verifier.verify_chain(pki.chain_for(item)).ok
        assert len(verifier._cache) == 2


class TestConcurrency:
    """One verifier shared by threads gives every thread the same answers."""

    def test_eight_threads(self, pki: Pki, leaf: Any) -> None:
        """8 threads verifying good, mismatched and bad chains concurrently agree."""
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW), cache_size=3)
        others = [pki.leaf(f"c{i}") for i in range(3)]
        bad = self_signed("client-1")
        cases = [(pki.chain_for(leaf), client(), None),
                 (pki.chain_for(leaf), client("CN=x"), Failure.NAME_MISMATCH),
                 ([bad.cert], client(), Failure.UNTRUSTED_CHAIN)]
        cases += [(pki.chain_for(o), client(f"CN=c{i}"), None) for i, o in enumerate(others)]
        errors: list[str] = []
        barrier = threading.Barrier(8)

        def work(seed: int) -> None:
            barrier.wait()
            for i in range(60):
                chain, who, expected = cases[(i + seed) % len(cases)]
                got = verifier.verify(chain, who).failure
                if got is not expected:
                    errors.append(f"{got} != {expected}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


class TestConfiguration:
    """Settings are validated eagerly."""

    @pytest.mark.parametrize(
        "kwargs",
        [{"max_chain_depth": -1}, {"max_chain_depth": 99}, {"max_chain_depth": True},
         {"cache_size": -1}, {"cache_size": 1.5}, {"cache_ttl": timedelta(0)},
         {"cache_ttl": 300}, {"now": "now"}, {"now": lambda: datetime(2026, 1, 1)},
         {"intermediates": [b"junk"]}, {"intermediates": 5}],
    )
    def test_bad_settings(self, pki: Pki, kwargs: dict[str, Any]) -> None:
        """Each bad setting raises ConfigurationError from __init__."""
        with pytest.raises(ConfigurationError):
            PKIVerifier([pki.root.cert], **kwargs)

    def test_end_entity_anchor_refused(self, leaf: Any) -> None:
        """A non-CA certificate cannot be a trust anchor (pin it with the self-signed
        method instead)."""
        with pytest.raises(ConfigurationError, match="not a CA"):
            PKIVerifier([leaf.cert])

    def test_accepts_pem_bundle(self, pki: Pki, leaf: Any) -> None:
        """Anchors may be given as one PEM bundle string."""
        bundle = pki.root.pem + Pki.create("Other").root.pem
        verifier = PKIVerifier(bundle, now=clock(NOW))
        assert verifier.verify(pki.chain_for(leaf), client()).ok

    def test_default_clock_is_system_time(self, pki: Pki, leaf: Any) -> None:
        """Without now=, the system clock is used (the test leaf is valid today)."""
        verifier = PKIVerifier([pki.root.cert])
        today = datetime.now(UTC)
        expected = leaf.cert.not_valid_before_utc <= today <= leaf.cert.not_valid_after_utc
        assert verifier.verify(pki.chain_for(leaf), client()).ok is expected


class TestWeakKeys:
    """Keys that can be broken prove nothing, whoever signed the certificate."""

    def _client(self, cn: str) -> clientauth.Client:
        return clientauth.Client.from_metadata({
            "client_id": cn, "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": f"CN={cn}"})

    def test_rsa_1024_refused(self, pki: Pki, verifier: PKIVerifier) -> None:
        """An RSA-1024 leaf from a trusted CA fails with weak_key (CABF BR 6.1.5)."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        leaf = pki.leaf("weak-rsa", key=key)
        check = verifier.verify([leaf.cert, pki.intermediate.cert], self._client("weak-rsa"))
        assert check.failure is Failure.WEAK_KEY, check

    def test_p224_refused(self, pki: Pki, verifier: PKIVerifier) -> None:
        """A leaf on a curve other than P-256/384/521 fails with weak_key."""
        from cryptography.hazmat.primitives.asymmetric import ec

        leaf = pki.leaf("weak-ec", key=ec.generate_private_key(ec.SECP224R1()))
        check = verifier.verify([leaf.cert, pki.intermediate.cert], self._client("weak-ec"))
        assert check.failure is Failure.WEAK_KEY, check

    def test_strong_keys_pass(self, pki: Pki, verifier: PKIVerifier) -> None:
        """RSA-2048 and P-384 leaves are accepted."""
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        for cn, key in (("rsa-2048", rsa.generate_private_key(public_exponent=65537,
                                                              key_size=2048)),
                        ("p-384", ec.generate_private_key(ec.SECP384R1()))):
            leaf = pki.leaf(cn, key=key)
            check = verifier.verify([leaf.cert, pki.intermediate.cert], self._client(cn))
            assert check.ok, (cn, check)
