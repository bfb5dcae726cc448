"""PinnedVerifier: RFC 8705 2.2 self_signed_tls_client_auth -- the presented certificate must
be one the client registered (by certificate, jwks x5c, thumbprint or jwks_uri)."""

from __future__ import annotations

import base64
import hmac
import io
import json
import urllib.request
import urllib.response
from collections.abc import Sequence
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

import clientauth
from certs import NOW, Issued, clock, issue, name, new_key, self_signed
from clientauth import CertificateCheck, Client, ConfigurationError, Failure, FetchError
from clientauth.jwks import JwksFetcher
from clientauth.pinned import PinnedVerifier

METHOD = "self_signed_tls_client_auth"


def client(
    *,
    certs: Sequence[Issued] = (),
    thumbs: Sequence[str] = (),
    jwks: Sequence[Issued] = (),
    jwks_uri: str | None = None,
    client_id: str = "c1",
) -> Client:
    """A self-signed client pinning the given certificates / thumbprints / jwks x5c."""
    metadata: dict[str, Any] = {"client_id": client_id, "token_endpoint_auth_method": METHOD}
    if certs:
        metadata["tls_client_certificates"] = [c.pem for c in certs]
    if thumbs:
        metadata["tls_client_certificate_thumbprints"] = list(thumbs)
    if jwks:
        metadata["jwks"] = {
            "keys": [{"kty": "EC", "x5c": [base64.b64encode(c.der).decode()]} for c in jwks]
        }
    if jwks_uri:
        metadata["jwks_uri"] = jwks_uri
    return Client.from_metadata(metadata)


def thumb(issued: Issued) -> str:
    return clientauth.certificate_thumbprint(issued.cert)


@pytest.fixture(scope="module")
def alice() -> Issued:
    return self_signed("alice")


@pytest.fixture(scope="module")
def bob() -> Issued:
    return self_signed("bob")


@pytest.fixture
def verifier() -> PinnedVerifier:
    return PinnedVerifier(now=clock(NOW))


def assert_failed(check: CertificateCheck, failure: Failure) -> None:
    assert not check.ok
    assert check.failure is failure
    assert check.chain == ()


class TestPinnedCertificate:
    def test_registered_certificate_passes(self, verifier, alice) -> None:
        """The certificate pinned in tls_client_certificates authenticates its client."""
        check = verifier.verify([alice.cert], client(certs=[alice]))
        assert check.ok
        assert check.failure is None
        assert check.chain == (alice.cert,)
        assert check.expires_at == alice.cert.not_valid_after_utc

    def test_thumbprint_pin_passes(self, verifier, alice) -> None:
        """A pin given only as x5t#S256 (tls_client_certificate_thumbprints) passes."""
        assert verifier.verify([alice.cert], client(thumbs=[thumb(alice)])).ok

    def test_jwks_x5c_pin_passes(self, verifier, alice) -> None:
        """A certificate registered as x5c[0] of a key in jwks passes."""
        assert verifier.verify([alice.cert], client(jwks=[alice])).ok

    def test_only_the_leaf_counts(self, verifier, alice, bob) -> None:
        """chain[0] is the client's certificate; the rest of a presented chain is ignored
        (a pinned certificate later in the chain does not help an unpinned leaf)."""
        check = verifier.verify([alice.cert, bob.cert], client(certs=[alice]))
        assert check.ok
        assert check.chain == (alice.cert,)
        assert_failed(
            verifier.verify([bob.cert, alice.cert], client(certs=[alice])),
            Failure.CERTIFICATE_NOT_PINNED,
        )

    def test_rsa_certificate(self, verifier) -> None:
        """Key type does not matter: an RSA self-signed certificate pins the same way."""
        rsa_cert = self_signed("rsa", key=new_key("rsa"))
        assert verifier.verify([rsa_cert.cert], client(certs=[rsa_cert])).ok

    def test_leaf_thumbprint_shortcut(self, verifier, alice, bob) -> None:
        """A caller-computed leaf thumbprint is used instead of recomputing it."""
        pinned = client(certs=[alice])
        assert verifier.verify([alice.cert], pinned, leaf_thumbprint=thumb(alice)).ok
        assert_failed(
            verifier.verify([alice.cert], pinned, leaf_thumbprint=thumb(bob)),
            Failure.CERTIFICATE_NOT_PINNED,
        )
        assert_failed(
            verifier.verify([alice.cert], pinned, leaf_thumbprint="é" * 43),
            Failure.CERTIFICATE_NOT_PINNED,
        )


class TestRotation:
    def test_both_pinned_certificates_accepted(self, verifier, alice, bob) -> None:
        """During rotation the client pins old and new; either authenticates."""
        rotating = client(certs=[alice, bob])
        assert verifier.verify([alice.cert], rotating).ok
        assert verifier.verify([bob.cert], rotating).ok

    def test_mixed_pin_kinds(self, verifier, alice, bob) -> None:
        """A certificate pin and a thumbprint pin coexist."""
        rotating = client(certs=[alice], thumbs=[thumb(bob)])
        assert verifier.verify([alice.cert], rotating).ok
        assert verifier.verify([bob.cert], rotating).ok

    def test_removing_a_pin_revokes_it(self, verifier, alice, bob) -> None:
        """Once the old certificate is removed from the registration it stops working."""
        after = client(certs=[bob])
        assert verifier.verify([bob.cert], after).ok
        assert_failed(verifier.verify([alice.cert], after), Failure.CERTIFICATE_NOT_PINNED)

    def test_every_pin_is_compared(self, verifier, alice, bob, monkeypatch) -> None:
        """Matching does not stop at the first hit: every pin is compared in constant time,
        so timing does not reveal which pin matched."""
        third = self_signed("carol")
        calls: list[tuple[str, str]] = []
        real = hmac.compare_digest

        def counting(a: Any, b: Any) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", counting)
        rotating = client(certs=[alice, bob, third])
        assert verifier.verify([alice.cert], rotating).ok
        assert len(calls) == 3
        calls.clear()
        assert not verifier.verify([self_signed("eve").cert], rotating).ok
        assert len(calls) == 3


class TestNotPinned:
    def test_other_certificate_fails(self, verifier, alice, bob) -> None:
        """A certificate the client did not register fails with certificate_not_pinned."""
        check = verifier.verify([bob.cert], client(certs=[alice]))
        assert_failed(check, Failure.CERTIFICATE_NOT_PINNED)
        assert "c1" in check.detail
        assert check.failure is not None and check.failure.error == "invalid_client"

    def test_same_subject_other_key_fails(self, verifier, alice) -> None:
        """An attacker's certificate copying the subject (and dates, serial, extensions)
        but holding another key is refused: pins are certificates, not names."""
        forged = issue(
            alice.cert.subject,
            serial=alice.cert.serial_number,
            not_before=alice.cert.not_valid_before_utc,
            not_after=alice.cert.not_valid_after_utc,
        )
        assert forged.cert.subject == alice.cert.subject
        check = verifier.verify([forged.cert], client(certs=[alice]))
        assert_failed(check, Failure.CERTIFICATE_NOT_PINNED)

    def test_same_key_other_certificate_fails(self, verifier, alice) -> None:
        """Re-issuing a certificate for the same key is a new certificate: it must be
        registered too (the pin is the certificate, RFC 8705 2.2)."""
        reissued = issue(name("alice"), key=alice.key)
        assert reissued.cert.public_key() == alice.cert.public_key()
        assert_failed(
            verifier.verify([reissued.cert], client(certs=[alice])),
            Failure.CERTIFICATE_NOT_PINNED,
        )

    def test_client_without_pins_fails(self, verifier, alice, pki) -> None:
        """A client with no pinned certificates (another method) never passes here."""
        tls_client = Client.from_metadata(
            {
                "client_id": "pki",
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": "CN=alice",
            }
        )
        assert_failed(verifier.verify([alice.cert], tls_client), Failure.CERTIFICATE_NOT_PINNED)

    def test_pki_issued_leaf_not_pinned(self, verifier, alice, pki) -> None:
        """A CA-issued certificate is just another unregistered certificate."""
        leaf = pki.leaf("alice")
        assert_failed(
            verifier.verify(pki.chain_for(leaf), client(certs=[alice])),
            Failure.CERTIFICATE_NOT_PINNED,
        )

    def test_hand_built_client_with_bad_pins(self, verifier, alice) -> None:
        """Pins that bypassed metadata validation (non-ASCII, wrong type) never match and
        never raise. (Client validates every pin it is built with, so the odd pins are forced
        into a built client, as a buggy custom registry might.)"""

        def forced(pins: frozenset[object]) -> Client:
            built = client(thumbs=["A" * 43])
            object.__setattr__(built, "pinned_thumbprints", pins)
            return built

        odd = forced(frozenset({"ü" * 43, b"bytes", thumb(alice)}))
        assert verifier.verify([alice.cert], odd).ok
        odd_only = forced(frozenset({"ü" * 43}))
        assert_failed(verifier.verify([alice.cert], odd_only), Failure.CERTIFICATE_NOT_PINNED)


class TestValidity:
    @pytest.fixture(scope="class")
    def expired(self) -> Issued:
        return self_signed(
            "old", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)
        )

    @pytest.fixture(scope="class")
    def future(self) -> Issued:
        return self_signed(
            "new", not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(days=30)
        )

    def test_expired_refused_by_default(self, verifier, expired) -> None:
        """With the validity check on (default), an expired pinned certificate fails."""
        check = verifier.verify([expired.cert], client(certs=[expired]))
        assert_failed(check, Failure.CERTIFICATE_EXPIRED)
        assert "expired" in check.detail

    def test_expired_accepted_with_check_off(self, expired) -> None:
        """check_validity=False: the registration is the trust; expires_at still reports
        notAfter."""
        verifier = PinnedVerifier(now=clock(NOW), check_validity=False)
        check = verifier.verify([expired.cert], client(certs=[expired]))
        assert check.ok
        assert check.expires_at == expired.cert.not_valid_after_utc

    def test_not_yet_valid(self, verifier, future) -> None:
        """A certificate before its notBefore fails with certificate_not_yet_valid."""
        assert_failed(
            verifier.verify([future.cert], client(certs=[future])),
            Failure.CERTIFICATE_NOT_YET_VALID,
        )
        unchecked = PinnedVerifier(now=clock(NOW), check_validity=False)
        assert unchecked.verify([future.cert], client(certs=[future])).ok

    def test_bounds_are_inclusive(self, alice) -> None:
        """RFC 5280 4.1.2.5: valid at exactly notBefore and exactly notAfter."""
        pinned = client(certs=[alice])
        before, after = alice.cert.not_valid_before_utc, alice.cert.not_valid_after_utc
        assert PinnedVerifier(now=clock(before)).verify([alice.cert], pinned).ok
        assert PinnedVerifier(now=clock(after)).verify([alice.cert], pinned).ok
        assert_failed(
            PinnedVerifier(now=clock(after + timedelta(seconds=1))).verify([alice.cert], pinned),
            Failure.CERTIFICATE_EXPIRED,
        )
        assert_failed(
            PinnedVerifier(now=clock(before - timedelta(seconds=1))).verify([alice.cert], pinned),
            Failure.CERTIFICATE_NOT_YET_VALID,
        )

    def test_unpinned_reported_before_dates(self, verifier, expired, alice) -> None:
        """An unregistered certificate is reported as not pinned, whatever its dates."""
        assert_failed(
            verifier.verify([expired.cert], client(certs=[alice])),
            Failure.CERTIFICATE_NOT_PINNED,
        )

    def test_default_clock_is_system_time(self, alice) -> None:
        """Without now=, the system clock is used (a cert valid today passes)."""
        today = self_signed(
            "today", not_before=NOW.replace(year=2000), not_after=NOW.replace(year=2999)
        )
        assert PinnedVerifier().verify([today.cert], client(certs=[today])).ok

    def test_naive_clock_is_a_configuration_error(self, alice) -> None:
        """A clock returning a naive datetime is misconfiguration, reported loudly."""
        verifier = PinnedVerifier(now=lambda: NOW.replace(tzinfo=None))
        with pytest.raises(ConfigurationError):
            verifier.verify([alice.cert], client(certs=[alice]))


class TestMalformed:
    @pytest.mark.parametrize(
        "chain", [[], (), None, [None], [b"\x30\x00"], ["PEM"], [42], 42, "x"], ids=repr
    )
    def test_garbage_chain(self, verifier, alice, chain: Any) -> None:
        """No leaf, or a leaf that is not an x509.Certificate: malformed_certificate, never
        an exception."""
        check = verifier.verify(chain, client(certs=[alice]))
        assert_failed(check, Failure.MALFORMED_CERTIFICATE)
        assert check.failure is not None and check.failure.error == "invalid_client"

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.one_of(st.binary(), st.text(), st.none(), st.integers()), max_size=3))
    def test_random_chains_never_raise(self, alice, chain: list[Any]) -> None:
        """Random input gives a failed check, never an exception."""
        check = PinnedVerifier(now=clock(NOW)).verify(chain, client(certs=[alice]))
        assert not check.ok


    @pytest.mark.parametrize("corpus", [
        "validity-generalized-year-0", "subject-cn-utf8-invalid", "selfsigned-cn-utf8-invalid",
    ])
    def test_pinned_but_unreadable(self, verifier, corpus: str) -> None:
        """A certificate pinned by thumbprint whose dates or subject cannot be read
        (cryptography parses lazily: a GeneralizedTime of year 0 raises on
        not_valid_after_utc) is malformed_certificate, never an exception."""
        der = (Path(__file__).parent / "vectors" / "hostile" / f"{corpus}.der").read_bytes()
        leaf = x509.load_der_x509_certificate(der)
        pinned = client(thumbs=[clientauth.certificate_thumbprint(der)])
        for check_validity in (True, False):
            check = PinnedVerifier(now=clock(NOW), check_validity=check_validity).verify(
                [leaf], pinned)
            assert_failed(check, Failure.MALFORMED_CERTIFICATE)


# -- jwks_uri --------------------------------------------------------------------------------

URI = "https://client.example/jwks.json"


class FakeFetcher(JwksFetcher):
    """Serves scripted thumbprint sets and counts calls (no network)."""

    def __init__(
        self, cached: set[str], refreshed: set[str] | None = None, error: bool = False
    ) -> None:
        super().__init__()
        self.cached = frozenset(cached)
        self.refreshed = frozenset(refreshed if refreshed is not None else cached)
        self.error = error
        self.calls: list[tuple[str, str]] = []

    def thumbprints(self, uri: str) -> frozenset[str]:
        self.calls.append(("thumbprints", uri))
        if self.error:
            raise FetchError("down")
        return self.cached

    def refresh(self, uri: str) -> frozenset[str]:
        self.calls.append(("refresh", uri))
        if self.error:
            raise FetchError("down")
        return self.refreshed


class TestJwksUri:
    def test_known_certificate_no_refresh(self, alice) -> None:
        """A certificate in the cached key set passes without a refresh."""
        fetcher = FakeFetcher({thumb(alice)})
        verifier = PinnedVerifier(now=clock(NOW), jwks=fetcher)
        assert verifier.verify([alice.cert], client(jwks_uri=URI)).ok
        assert fetcher.calls == [("thumbprints", URI)]

    def test_unknown_certificate_refreshes_once(self, alice, bob) -> None:
        """An unknown certificate causes exactly one refresh, then fails."""
        fetcher = FakeFetcher({thumb(alice)})
        verifier = PinnedVerifier(now=clock(NOW), jwks=fetcher)
        check = verifier.verify([bob.cert], client(jwks_uri=URI))
        assert_failed(check, Failure.CERTIFICATE_NOT_PINNED)
        assert fetcher.calls == [("thumbprints", URI), ("refresh", URI)]

    def test_rotated_key_set_found_on_refresh(self, alice, bob) -> None:
        """A client that just published a new certificate is accepted after the refresh."""
        fetcher = FakeFetcher({thumb(alice)}, refreshed={thumb(alice), thumb(bob)})
        verifier = PinnedVerifier(now=clock(NOW), jwks=fetcher)
        assert verifier.verify([bob.cert], client(jwks_uri=URI)).ok

    def test_static_pins_skip_the_fetcher(self, alice) -> None:
        """A certificate pinned statically never touches the network."""
        fetcher = FakeFetcher(set())
        verifier = PinnedVerifier(now=clock(NOW), jwks=fetcher)
        assert verifier.verify([alice.cert], client(certs=[alice], jwks_uri=URI)).ok
        assert fetcher.calls == []

    def test_fetch_failure_is_a_failed_check(self, alice) -> None:
        """An unavailable jwks_uri gives certificate_not_pinned 'jwks_uri unavailable'."""
        verifier = PinnedVerifier(now=clock(NOW), jwks=FakeFetcher(set(), error=True))
        check = verifier.verify([alice.cert], client(jwks_uri=URI))
        assert_failed(check, Failure.CERTIFICATE_NOT_PINNED)
        assert check.detail == "jwks_uri unavailable"

    def test_no_fetcher_configured(self, verifier, alice) -> None:
        """A jwks_uri client with no fetcher configured fails (and says why)."""
        check = verifier.verify([alice.cert], client(jwks_uri=URI))
        assert_failed(check, Failure.CERTIFICATE_NOT_PINNED)
        assert "JwksFetcher" in check.detail

    def test_validity_applies_to_jwks_pins(self, alice) -> None:
        """A jwks_uri-pinned certificate is still subject to the validity check."""
        later = clock(NOW + timedelta(days=400))
        verifier = PinnedVerifier(now=later, jwks=FakeFetcher({thumb(alice)}))
        assert_failed(
            verifier.verify([alice.cert], client(jwks_uri=URI)), Failure.CERTIFICATE_EXPIRED
        )

    def test_end_to_end_with_real_fetcher(self, alice, bob) -> None:
        """Real JwksFetcher (in-memory opener): rotation is picked up on refresh, and the
        refresh budget stops a stream of unknown certificates from fetching each time."""
        served: list[Issued] = [alice]
        hits: list[str] = []

        class Memory(urllib.request.BaseHandler):
            def https_open(self, req: urllib.request.Request) -> Any:
                hits.append(req.full_url)
                body = json.dumps(
                    {"keys": [{"x5c": [base64.b64encode(c.der).decode()]} for c in served]}
                ).encode()
                headers = Message()
                headers["Content-Type"] = "application/json"
                return urllib.response.addinfourl(io.BytesIO(body), headers, req.full_url, 200)

        opener = urllib.request.OpenerDirector()
        opener.add_handler(Memory())
        now = [NOW]
        fetcher = JwksFetcher(now=lambda: now[0], opener=opener)
        verifier = PinnedVerifier(now=lambda: now[0], jwks=fetcher)
        registered = client(jwks_uri=URI)

        assert verifier.verify([alice.cert], registered).ok
        assert len(hits) == 1
        served.append(bob)  # the client publishes a new certificate
        now[0] += timedelta(minutes=2)
        assert verifier.verify([bob.cert], registered).ok  # unknown -> refresh -> found
        assert len(hits) == 2
        strangers = [self_signed(f"eve{i}").cert for i in range(10)]
        for stranger in strangers:  # the refresh for bob just spent this minute's budget
            assert not verifier.verify([stranger], registered).ok
        assert len(hits) == 2
        now[0] += timedelta(minutes=1)
        for stranger in strangers:  # one refresh for the first stranger, then none
            assert not verifier.verify([stranger], registered).ok
        assert len(hits) == 3


class TestSettings:
    @pytest.mark.parametrize(
        "kwargs",
        [{"now": "now"}, {"check_validity": 1}, {"check_validity": None}, {"jwks": object()}],
        ids=repr,
    )
    def test_invalid_settings(self, kwargs: dict[str, Any]) -> None:
        """Bad settings raise ConfigurationError at construction."""
        with pytest.raises(ConfigurationError):
            PinnedVerifier(**kwargs)

    def test_immutable(self, verifier) -> None:
        """A verifier cannot be reconfigured after construction."""
        with pytest.raises(AttributeError):
            verifier._check_validity = False  # type: ignore[misc]
        with pytest.raises(AttributeError):
            del verifier._now
        assert verifier.check_validity is True

    def test_repr(self) -> None:
        """The repr shows the settings."""
        assert repr(PinnedVerifier(check_validity=False)) == (
            "PinnedVerifier(check_validity=False, jwks=None)"
        )
