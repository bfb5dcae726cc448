"""PKIVerifier: RFC 8705 2.1 tls_client_auth chain validation, as a user would drive it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


# -- certificates cryptography loads but cannot read (issue 11, finding 2) ----------------------

_HOSTILE = Path(__file__).parent / "vectors" / "hostile"


def _hostile(name: str) -> x509.Certificate:
    """A corpus certificate (tests/vectors/hostile) as cryptography loads it: lazily."""
    return x509.load_der_x509_certificate((_HOSTILE / f"{name}.der").read_bytes())


def _hostile_anchor() -> x509.Certificate:
    return x509.load_der_x509_certificate((_HOSTILE / "ca.der").read_bytes())


class TestUnreadableCertificates:
    """A certificate whose subject, issuer, extensions or dates raise when read is a failed
    check (MALFORMED_CERTIFICATE), whatever form it comes in; verify() never raises."""

    @pytest.mark.parametrize("corpus", [
        "subject-cn-utf8-invalid", "subject-cn-bitstring", "issuer-cn-utf8-invalid",
        "validity-generalized-year-0", "duplicate-san", "selfsigned-cn-utf8-invalid",
    ])
    def test_object_der_and_pem(self, corpus: str) -> None:
        """The leaf as an x509 object (what a caller or a proxy parser hands over), as DER
        and as PEM: each is MALFORMED_CERTIFICATE, for a DN client and a SAN client."""
        verifier = PKIVerifier([_hostile_anchor()], now=clock(NOW))
        cert = _hostile(corpus)
        der = (_HOSTILE / f"{corpus}.der").read_bytes()
        pem = cert.public_bytes(Encoding.PEM).decode("ascii")
        dns_client = clientauth.Client.from_metadata(
            {"client_id": "d", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_san_dns": "client.hostile.example"})
        for presented in (cert, der, pem):
            for registered in (client("CN=client,O=Hostile"), dns_client):
                check = verifier.verify([presented], registered)
                assert check.failure is Failure.MALFORMED_CERTIFICATE, check.detail
            assert verifier.verify_chain([presented]).failure is Failure.MALFORMED_CERTIFICATE

    def test_unreadable_intermediate(self) -> None:
        """An unreadable certificate after a good leaf refuses the chain instead of raising."""
        verifier = PKIVerifier([_hostile_anchor()], now=clock(NOW))
        chain = [_hostile("baseline"), _hostile("issuer-cn-bitstring")]
        assert verifier.verify(chain, client("CN=client,O=Hostile")).failure is (
            Failure.MALFORMED_CERTIFICATE
        )
        assert verifier.verify([_hostile("baseline")], client("CN=client,O=Hostile")).ok

    def test_unreadable_anchor_is_configuration(self) -> None:
        """An unreadable trust anchor is a ConfigurationError at construction."""
        with pytest.raises(ConfigurationError):
            PKIVerifier([_hostile("subject-cn-utf8-invalid")], now=clock(NOW))

    def test_authenticator_tls_chain(self) -> None:
        """Through Authenticator.authenticate (direct TLS), with and without client_id: a
        failed result, never an exception (the 500 of the finding)."""
        registry = clientauth.MemoryRegistry([client("CN=client,O=Hostile")])
        auth = clientauth.Authenticator(registry, trust_anchors=[_hostile_anchor()],
                                        now=clock(NOW))
        for corpus in ("subject-cn-utf8-invalid", "subject-cn-bitstring"):
            der = (_HOSTILE / f"{corpus}.der").read_bytes()
            for form in ({"client_id": "c1"}, None):
                result = auth.authenticate(clientauth.ClientRequest(form=form, tls_chain=[der]))
                assert result.failure is Failure.MALFORMED_CERTIFICATE, result.detail


# -- name constraints on subject emailAddress (issue 11, finding 8) -----------------------------


def _email_name(email: str, cn: str = "alice") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.EMAIL_ADDRESS, email)])


def _constrained_pki(
    permitted: list[x509.GeneralName] | None = None,
    excluded: list[x509.GeneralName] | None = None,
    *,
    on_root: bool = False,
) -> tuple[Any, Any]:
    """(root, sub-CA); the name constraints sit on the sub-CA, or on the root."""
    constraints = x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded)
    root = issue(name("Constrained Root"), ca=True,
                 extra=[(constraints, True)] if on_root else [])
    sub = issue(name("Partner CA"), issuer=root, ca=True,
                extra=[] if on_root else [(constraints, True)])
    return root, sub


def _email_client(dn: str = "E=alice@example.com,CN=alice") -> clientauth.Client:
    return client(dn, client_id="alice")


class TestSubjectEmailConstraints:
    """RFC 5280 4.2.1.10: an rfc822Name constraint applies to emailAddress in the subject.
    cryptography applies constraints to the SAN only; a SAN-less leaf (accepted here for
    DN-identified clients) must not slip past the constraint its SAN would have met."""

    def test_outside_permitted_refused(self) -> None:
        """The finding: a sub-CA constrained to partner.example issues a SAN-less leaf with
        emailAddress=alice@example.com; it is refused (UNTRUSTED_CHAIN)."""
        root, sub = _constrained_pki([x509.RFC822Name("partner.example")])
        leaf = issue(_email_name("alice@example.com"), issuer=sub)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        check = verifier.verify([leaf.cert, sub.cert], _email_client())
        assert check.failure is Failure.UNTRUSTED_CHAIN
        assert "4.2.1.10" in check.detail

    def test_same_address_in_san_also_refused(self) -> None:
        """The rule the subject now meets is the one the SAN meets (cryptography's)."""
        root, sub = _constrained_pki([x509.RFC822Name("partner.example")])
        leaf = issue(name("alice"), issuer=sub, san_email=["alice@example.com"])
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        assert verifier.verify_chain([leaf.cert, sub.cert]).failure is (
            Failure.UNTRUSTED_CHAIN
        )

    @pytest.mark.parametrize(("constraint", "email", "ok"), [
        ("partner.example", "alice@partner.example", True),
        ("partner.example", "alice@PARTNER.Example", True),  # domains are case-insensitive
        ("partner.example", "alice@sub.partner.example", False),  # a host, not a domain
        (".partner.example", "alice@sub.partner.example", True),
        (".partner.example", "alice@partner.example", False),  # strictly under the domain
        ("alice@partner.example", "alice@partner.example", True),
        ("alice@partner.example", "Alice@partner.example", False),  # local part exact
        ("alice@partner.example", "bob@partner.example", False),
        ("partner.example", "not-a-mailbox", False),  # cannot be shown inside: refused
    ])
    def test_permitted_forms(self, constraint: str, email: str, ok: bool) -> None:
        """The three RFC 5280 4.2.1.10 forms: mailbox, host, and .domain."""
        root, sub = _constrained_pki([x509.RFC822Name(constraint)])
        leaf = issue(_email_name(email), issuer=sub)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        check = verifier.verify_chain([leaf.cert, sub.cert])
        assert check.ok is ok, check.detail

    @pytest.mark.parametrize(("email", "ok"), [
        ("bob@x.example.com", False), ("bob@example.org", True), ("broken", False),
    ])
    def test_excluded(self, email: str, ok: bool) -> None:
        """An address inside an excluded subtree is refused; one that is not a mailbox cannot
        be shown outside it and is refused too (fail closed)."""
        root, sub = _constrained_pki(excluded=[x509.RFC822Name(".example.com")])
        leaf = issue(_email_name(email), issuer=sub)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        check = verifier.verify_chain([leaf.cert, sub.cert])
        assert check.ok is ok, check.detail

    def test_constraints_of_the_anchor_count(self) -> None:
        """Constraints on the trust anchor apply, as cryptography applies them to the SAN."""
        root, sub = _constrained_pki([x509.RFC822Name("partner.example")], on_root=True)
        leaf = issue(_email_name("alice@example.com"), issuer=sub)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        assert verifier.verify([leaf.cert, sub.cert], _email_client()).failure is (
            Failure.UNTRUSTED_CHAIN
        )

    def test_applied_with_a_san_too(self) -> None:
        """Stricter than the RFC (which asks only without a SAN), as OpenSSL: a leaf whose
        SAN is inside the constraints but whose subject address is outside is refused."""
        root, sub = _constrained_pki([x509.RFC822Name("partner.example")])
        leaf = issue(_email_name("alice@example.com"), issuer=sub,
                     san_email=["alice@partner.example"])
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        assert verifier.verify([leaf.cert, sub.cert], _email_client()).failure is (
            Failure.UNTRUSTED_CHAIN
        )

    def test_no_rfc822_constraints_no_change(self) -> None:
        """Without rfc822Name constraints on the path any subject address passes, and a
        dNSName constraint says nothing about email addresses (RFC 5280 4.2.1.10)."""
        for permitted in (None, [x509.DNSName("partner.example")]):
            root, sub = _constrained_pki(permitted) if permitted else (None, None)
            if root is None:
                pki = Pki.create()
                root, sub = pki.root, pki.intermediate
            leaf = issue(_email_name("alice@example.com"), issuer=sub)
            verifier = PKIVerifier([root.cert], now=clock(NOW))
            assert verifier.verify([leaf.cert, sub.cert], _email_client()).ok

    def test_not_cached_when_refused(self) -> None:
        """A refused path is not cached: asking again gives the same refusal."""
        root, sub = _constrained_pki([x509.RFC822Name("partner.example")])
        leaf = issue(_email_name("alice@example.com"), issuer=sub)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        for _ in range(2):
            assert not verifier.verify([leaf.cert, sub.cert], _email_client()).ok


class TestRequireSan:
    """require_san=True: a client is accepted only by a name carried in the leaf's SAN,
    where the CAs' name constraints govern it. Closes what a dNSName-constrained sub-CA can
    otherwise do to a client registered by subject DN (docs/security.md)."""

    def test_constrained_sub_ca_can_mint_any_dn(self) -> None:
        """The gap, documented: a sub-CA constrained to dNSName partner.example mints a
        SAN-less leaf with the DN another client registered; RFC 5280 allows it, so the
        default policy accepts it. require_san refuses it (NAME_MISMATCH)."""
        root, sub = _constrained_pki([x509.DNSName("partner.example")])
        victim = client("CN=payments,O=Acme", client_id="payments")
        forged = issue(name("payments", O="Acme"), issuer=sub)
        assert PKIVerifier([root.cert], now=clock(NOW)).verify(
            [forged.cert, sub.cert], victim).ok
        check = PKIVerifier([root.cert], now=clock(NOW), require_san=True).verify(
            [forged.cert, sub.cert], victim)
        assert check.failure is Failure.NAME_MISMATCH
        assert "require_san" in check.detail
        # With a SAN inside its constraints it still cannot reach the DN client.
        forged_san = issue(name("payments", O="Acme"), issuer=sub, san_dns=["x.partner.example"])
        assert not PKIVerifier([root.cert], now=clock(NOW), require_san=True).verify(
            [forged_san.cert, sub.cert], victim).ok

    def test_san_clients_still_pass(self) -> None:
        """A client registered by a SAN name authenticates with require_san, and the sub-CA
        cannot mint that name outside its constraints."""
        root, sub = _constrained_pki([x509.DNSName("partner.example")])
        verifier = PKIVerifier([root.cert], now=clock(NOW), require_san=True)
        inside = clientauth.Client.from_metadata(
            {"client_id": "p", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_san_dns": "api.partner.example"})
        outside = clientauth.Client.from_metadata(
            {"client_id": "v", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_san_dns": "payments.example"})
        good = issue(name("api"), issuer=sub, san_dns=["api.partner.example"])
        assert verifier.verify([good.cert, sub.cert], inside).ok
        forged = issue(name("payments"), issuer=sub, san_dns=["payments.example"])
        assert verifier.verify([forged.cert, sub.cert], outside).failure is (
            Failure.UNTRUSTED_CHAIN
        )

    def test_san_less_leaf_refused(self, pki: Pki) -> None:
        """Any leaf without a SAN extension is refused with require_san."""
        verifier = PKIVerifier([pki.root.cert], now=clock(NOW), require_san=True)
        leaf = pki.leaf("client-1", org="Acme")
        check = verifier.verify(pki.chain_for(leaf), client())
        assert check.failure is Failure.NAME_MISMATCH

    def test_per_client_anchors_close_it_too(self) -> None:
        """The other way to close the gap: the client registers its own issuing CA as
        tls_client_auth_trust_anchors; a leaf from the partner sub-CA does not chain to it."""
        root, sub = _constrained_pki([x509.DNSName("partner.example")])
        own_ca = issue(name("Acme Issuing CA"), issuer=root, ca=True)
        victim = client("CN=payments,O=Acme", client_id="payments",
                        tls_client_auth_trust_anchors=[own_ca.pem])
        forged = issue(name("payments", O="Acme"), issuer=sub)
        genuine = issue(name("payments", O="Acme"), issuer=own_ca)
        verifier = PKIVerifier([root.cert], now=clock(NOW))
        assert verifier.verify([forged.cert, sub.cert], victim).failure is (
            Failure.UNTRUSTED_CHAIN
        )
        assert verifier.verify([genuine.cert], victim).ok

    def test_authenticator_setting(self) -> None:
        """Authenticator(require_san=True) configures its PKI verifier so; with pki= it is
        refused, as the other PKI settings are (one place to say it)."""
        root, sub = _constrained_pki([x509.DNSName("partner.example")])
        registry = clientauth.MemoryRegistry([client("CN=payments,O=Acme", client_id="p")])
        forged = issue(name("payments", O="Acme"), issuer=sub)
        request = clientauth.ClientRequest(form={"client_id": "p"},
                                           tls_chain=[forged.cert, sub.cert])
        loose = clientauth.Authenticator(registry, trust_anchors=[root.cert], now=clock(NOW))
        assert loose.authenticate(request).ok
        strict = clientauth.Authenticator(registry, trust_anchors=[root.cert], now=clock(NOW),
                                          require_san=True)
        assert strict.authenticate(request).failure is Failure.NAME_MISMATCH
        with pytest.raises(ConfigurationError):
            clientauth.Authenticator(registry, pki=PKIVerifier(), require_san=True)

    def test_setting_is_validated(self) -> None:
        """require_san takes a bool only; repr shows it."""
        with pytest.raises(ConfigurationError):
            PKIVerifier(require_san="yes")  # type: ignore[arg-type]
        assert "require_san=True" in repr(PKIVerifier(require_san=True))
