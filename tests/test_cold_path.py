"""The cold ``tls_client_auth`` path (issue 18): what its shortcuts rely on.

``PKIVerifier`` no longer runs the leaf pre-checks (``_precheck_leaf``: cA=TRUE, validity
period, extendedKeyUsage) before cryptography's verifier on every request: each is a rule
cryptography's *client* verifier enforces on the leaf too, so the pre-checks run only after a
refusal, to name its reason. These tests hold cryptography to each of those rules (they fail
if a release stops enforcing one), and hold the shortcuts to the answers the long way gives:
``RegisteredName.matches`` deciding one field, and ``check_usable`` deciding readability by
building each part once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import VerificationError

import clientauth
from certs import NOW, Clock, Issued, Pki, clock, issue, name
from clientauth import _x509
from clientauth import pki as pki_module
from clientauth._cache import LRU
from clientauth._x509 import CERTIFICATE_ERRORS, check_usable
from clientauth.exceptions import CertificateParseError
from clientauth.names import NAME_FIELDS, RegisteredName, certificate_name_keys
from clientauth.result import Failure

_HOSTILE = Path(__file__).parent / "vectors" / "hostile"
_SECOND = int(NOW.timestamp())


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
def verifier(pki: Pki) -> clientauth.PKIVerifier:
    return clientauth.PKIVerifier([pki.root.cert], now=clock(NOW), cache_size=0)


def _client(cn: str) -> clientauth.Client:
    return clientauth.Client.from_metadata({
        "client_id": cn, "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": f"CN={cn}",
    })


def _rust_verifier(verifier: clientauth.PKIVerifier) -> x509.verification.ClientVerifier:
    """The very verifier PKIVerifier calls: same store, policies, depth and time."""
    anchors = verifier._global
    assert anchors is not None
    return anchors.verifier(_SECOND)


# Leaves breaking exactly one rule of _precheck_leaf, as (label, factory).
_PRECHECK_BREAKERS: list[tuple[str, Callable[[Pki], Issued]]] = [
    ("ca-leaf", lambda p: p.leaf("ca-leaf", ca=True)),
    ("expired", lambda p: p.leaf(
        "expired", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(seconds=1))),
    ("not-yet-valid", lambda p: p.leaf(
        "not-yet-valid", not_before=NOW + timedelta(seconds=1))),
    ("server-auth-only", lambda p: p.leaf(
        "server-auth-only", eku=[ExtendedKeyUsageOID.SERVER_AUTH])),
    ("any-eku-only", lambda p: p.leaf(
        "any-eku-only", eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])),
]


class TestCryptographyEnforcesThePrechecks:
    """Every rule PKIVerifier no longer checks before cryptography is one cryptography's
    client verifier refuses by itself; and the failure a client sees is still the one
    ``_precheck_leaf`` names, not cryptography's wording."""

    @pytest.mark.parametrize(("label", "make"), _PRECHECK_BREAKERS, ids=[b[0] for b in
                                                                          _PRECHECK_BREAKERS])
    def test_cryptography_refuses(
        self, pki: Pki, verifier: clientauth.PKIVerifier, label: str,
        make: Callable[[Pki], Issued],
    ) -> None:
        """cryptography's client verifier refuses a leaf breaking the rule (if a release
        stopped enforcing it, PKIVerifier would have to check it again before verifying)."""
        leaf = make(pki)
        assert pki_module._precheck_leaf(leaf.cert, NOW) is not None, label
        with pytest.raises(VerificationError):
            _rust_verifier(verifier).verify(leaf.cert, [pki.intermediate.cert])

    @pytest.mark.parametrize(("label", "make"), _PRECHECK_BREAKERS, ids=[b[0] for b in
                                                                          _PRECHECK_BREAKERS])
    def test_same_failure_as_the_precheck(
        self, pki: Pki, verifier: clientauth.PKIVerifier, label: str,
        make: Callable[[Pki], Issued],
    ) -> None:
        """The refusal carries the Failure and detail _precheck_leaf gives the leaf."""
        leaf = make(pki)
        expected = pki_module._precheck_leaf(leaf.cert, NOW)
        check = verifier.verify([leaf.cert, pki.intermediate.cert], _client(label))
        assert expected is not None
        assert (check.ok, check.failure, check.detail) == (
            False, expected.failure, expected.detail)

    def test_anchor_presented_as_leaf(self, pki: Pki, verifier: clientauth.PKIVerifier) -> None:
        """A trust anchor itself presented as the client certificate (cA=TRUE) is refused by
        cryptography and reported as a CA certificate."""
        with pytest.raises(VerificationError):
            _rust_verifier(verifier).verify(pki.root.cert, [])
        check = verifier.verify_chain([pki.root.cert])
        assert check.failure is Failure.CA_CERTIFICATE, check

    def test_precheck_order_kept(self, pki: Pki, verifier: clientauth.PKIVerifier) -> None:
        """A leaf both expired and RSA-1024 is reported expired, as when the pre-checks ran
        first: the key check follows them on the refusal path."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        leaf = pki.leaf("both", key=key, not_before=NOW - timedelta(days=9),
                        not_after=NOW - timedelta(days=1))
        check = verifier.verify([leaf.cert, pki.intermediate.cert], _client("both"))
        assert check.failure is Failure.CERTIFICATE_EXPIRED, check

    @pytest.mark.parametrize(("label", "make_key", "named"), [
        ("p224", lambda: ec.generate_private_key(ec.SECP224R1()), "secp224r1"),
        ("p192", lambda: ec.generate_private_key(ec.SECP192R1()), "secp192r1"),
        ("k256", lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
        ("rsa1024", lambda: rsa.generate_private_key(65537, 1024), "1024 bits"),
        ("dsa", lambda: dsa.generate_private_key(2048), "DSAPublicKey"),
    ])
    def test_weak_key_named_weak(
        self, pki: Pki, verifier: clientauth.PKIVerifier, label: str,
        make_key: Callable[[], Any], named: str,
    ) -> None:
        """Leaf keys cryptography's client verifier accepts (it checks the keys that sign,
        not the leaf's own -- docs/design.md names these): the key check after it refuses,
        naming the curve, size or type."""
        leaf = pki.leaf(label, key=make_key())
        _rust_verifier(verifier).verify(leaf.cert, [pki.intermediate.cert])
        check = verifier.verify([leaf.cert, pki.intermediate.cert], _client(label))
        assert check.failure is Failure.WEAK_KEY, check
        assert named in check.detail

    def test_accepting_path_skips_the_prechecks(
        self, pki: Pki, verifier: clientauth.PKIVerifier, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An accepted chain does not run _precheck_leaf (the cost issue 18 removes); the
        key-strength check, which is ours alone, still runs."""
        called: list[str] = []

        def precheck(leaf: x509.Certificate, at: datetime) -> None:
            called.append("precheck")

        real_weak_key = pki_module._weak_key

        def weak_key(leaf: x509.Certificate) -> str | None:
            called.append("weak_key")
            return real_weak_key(leaf)

        monkeypatch.setattr(pki_module, "_precheck_leaf", precheck)
        monkeypatch.setattr(pki_module, "_weak_key", weak_key)
        leaf = pki.leaf("fine")
        assert verifier.verify([leaf.cert, pki.intermediate.cert], _client("fine")).ok
        assert called == ["weak_key"]


class TestEmptySubjectRule:
    """RFC 5280 4.2.1.6 stays ours: the relaxed end-entity policy does not enforce it."""

    @pytest.mark.parametrize("san_dns", [[], ["a.example"]], ids=["no SAN", "non-critical SAN"])
    def test_empty_subject_without_critical_san_refused(
        self, pki: Pki, verifier: clientauth.PKIVerifier, san_dns: list[str]
    ) -> None:
        """An empty subject and no SAN, or a non-critical one: malformed_certificate, before
        cryptography."""
        leaf = issue(x509.Name([]), issuer=pki.intermediate, san_dns=san_dns)
        check = verifier.verify_chain([leaf.cert, pki.intermediate.cert])
        assert (check.failure, check.detail) == (
            Failure.MALFORMED_CERTIFICATE, pki_module._SAN_RULE)

    def test_empty_subject_critical_san_accepted(
        self, pki: Pki, verifier: clientauth.PKIVerifier
    ) -> None:
        """An empty subject with a critical SAN validates."""
        leaf = issue(x509.Name([]), issuer=pki.intermediate, san_dns=["a.example"],
                     san_critical=True)
        assert verifier.verify_chain([leaf.cert, pki.intermediate.cert]).ok


def _corpus() -> list[tuple[str, x509.Certificate]]:
    """Every hostile vector cryptography loads, plus ordinary certificates."""
    out: list[tuple[str, x509.Certificate]] = []
    for path in sorted(_HOSTILE.glob("*.der")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a serial that is not positive warns on load
            try:
                out.append((path.stem, x509.load_der_x509_certificate(path.read_bytes())))
            except (ValueError, x509.InvalidVersion):
                continue
    pki = Pki.create()
    out.append(("leaf", pki.leaf("client", org="Acme", san_dns=["a.example"],
                                 san_uri=["https://a.example/x"], san_ip=["192.0.2.1"],
                                 san_email=["a@a.example"]).cert))
    out.append(("intermediate", pki.intermediate.cert))
    return out


_CORPUS = _corpus()


class TestShortcutsGiveTheLongAnswer:
    def test_corpus_is_hostile(self) -> None:
        """The corpus holds the hostile vectors (not an empty directory)."""
        assert len(_CORPUS) > 100

    @pytest.mark.parametrize("mode", ["default", "error"])
    def test_usable_means_every_value_reads(
        self, mode: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """check_usable builds subject, issuer and extensions without walking them; a
        certificate it accepts still reads every attribute value, extension value, the
        validity period and the serial without raising (warnings as errors too)."""
        # Verdicts are remembered per encoding; each warning mode decides afresh here.
        monkeypatch.setattr(_x509, "_USABLE", LRU(4096))
        accepted = 0
        for label, cert in _corpus():  # fresh objects: nothing read before check_usable
            with warnings.catch_warnings():
                warnings.simplefilter(mode)
                try:
                    check_usable(cert)
                except CertificateParseError:
                    continue
                accepted += 1
                try:
                    for name_ in (cert.subject, cert.issuer):
                        name_.rfc4514_string()
                        for rdn in name_.rdns:
                            for attribute in rdn:
                                _ = attribute.oid.dotted_string, attribute.value
                    for extension in cert.extensions:
                        _ = extension.oid, extension.critical, extension.value
                    _ = cert.not_valid_before_utc, cert.not_valid_after_utc
                    _ = cert.serial_number
                except CERTIFICATE_ERRORS as exc:  # pragma: no cover - the failure itself
                    pytest.fail(f"{label}: accepted by check_usable but raised {exc!r}")
        assert accepted > 10

    def test_matches_agrees_with_name_keys(self) -> None:
        """RegisteredName.matches (deciding one field) says yes exactly when the full key
        set of the certificate holds the name, for every field and every corpus
        certificate, with names it carries and names it does not."""
        samples = {
            "tls_client_auth_subject_dn": ["CN=client,O=Acme", "CN=client,O=Hostile",
                                           "CN=x"],
            "tls_client_auth_san_dns": ["a.example", "client.hostile.example", "b.example"],
            "tls_client_auth_san_uri": ["https://a.example/x", "https://b.example/"],
            "tls_client_auth_san_ip": ["192.0.2.1", "192.0.2.2"],
            "tls_client_auth_san_email": ["a@a.example", "b@a.example"],
        }
        assert set(samples) == set(NAME_FIELDS)
        hits = 0
        for mode in ("default", "error"):
            for label, cert in _corpus():
                with warnings.catch_warnings():
                    warnings.simplefilter(mode)
                    keys = certificate_name_keys(cert)
                    for field, values in samples.items():
                        for value in values:
                            registered = RegisteredName.parse(field, value)
                            expected = (field, registered.key) in keys
                            assert registered.matches(cert) is expected, (label, field, value)
                            hits += expected
        assert hits > 10


class TestCacheWindow:
    def test_entry_bounded_by_ttl_and_validity(self, pki: Pki) -> None:
        """A cached validation is reused inside the TTL (whole seconds) and the path's
        validity, and validated afresh after: the leaf's expiry is reported precisely."""
        now = Clock(NOW)
        leaf = pki.leaf("short", not_after=NOW + timedelta(seconds=30))
        verifier = clientauth.PKIVerifier([pki.root.cert], now=now,
                                          cache_ttl=timedelta(seconds=10.5))
        chain = [leaf.cert, pki.intermediate.cert]
        first = verifier.verify_chain(chain)
        assert first.ok
        now.advance(seconds=10)
        assert verifier.verify_chain(chain) is first
        now.advance(seconds=1)
        again = verifier.verify_chain(chain)
        assert again.ok and again is not first
        now.advance(seconds=30)
        expired = verifier.verify_chain(chain)
        assert expired.failure is Failure.CERTIFICATE_EXPIRED, expired
        assert expired.detail.endswith(
            (NOW + timedelta(seconds=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_name_helper() -> None:
    """certs.name builds the subject the tests above register (guards the fixture)."""
    assert name("client", O="Acme").rfc4514_string() == "CN=client,O=Acme"


class TestWarmNameMatch:
    def test_field_keys_computed_once_per_certificate(
        self, pki: Pki, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A client's certificate comes back with its every request (the same object from
        the parse cache): its registered name's keys are worked out once, and a second name
        of another field on the same certificate gets its own answer."""
        from clientauth import names

        leaf = pki.leaf("warm-client", org="Acme", san_dns=["warm.example"]).cert
        calls: list[str] = []
        real = names._compute_field_keys

        def counting(certificate: x509.Certificate, field: str) -> frozenset[object]:
            calls.append(field)
            return real(certificate, field)

        monkeypatch.setattr(names, "_compute_field_keys", counting)
        dn = RegisteredName.parse("tls_client_auth_subject_dn", "CN=warm-client,O=Acme")
        dns = RegisteredName.parse("tls_client_auth_san_dns", "warm.example")
        other = RegisteredName.parse("tls_client_auth_san_dns", "other.example")
        for _ in range(3):
            assert dn.matches(leaf) and dns.matches(leaf) and not other.matches(leaf)
        assert sorted(calls) == sorted([dn.field, dns.field])
