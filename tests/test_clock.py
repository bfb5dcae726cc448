"""One clock check, one injectable clock, everywhere (issue 17 item 7).

Every component that reads ``now=`` refuses the same clocks with the same
:class:`~clientauth.ConfigurationError`: a reading that is not an aware ``datetime`` (naive, a
``tzinfo`` without an offset, or no datetime at all) -- never an ``AttributeError`` or a
``TypeError`` from a comparison, never a silent decision. ``decode_bound_token`` and the CLI
take the injected clock instead of the wall clock.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.response
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.message import Message
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import clientauth
from certs import NOW, issue, name, self_signed
from clientauth import (
    Authenticator,
    ConfigurationError,
    InvalidToken,
    PinnedVerifier,
    PKIVerifier,
    _cli_common,
    bind_claims,
    decode_bound_token,
)
from clientauth.jwks import JwksFetcher


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: Python calls such a datetime naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


BAD_READINGS: dict[str, object] = {
    "naive": NOW.replace(tzinfo=None),
    "no-offset": NOW.replace(tzinfo=_NoOffset()),
    "not-a-datetime": 1_780_000_000,
}
MESSAGE = "the now= clock must return an aware datetime"


def _pinned_client(cert: Any) -> clientauth.Client:
    return clientauth.Client.from_metadata({
        "client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "tls_client_certificates": [cert.pem],
    })


def _use_pki(now: Callable[[], object]) -> object:
    root = issue(name("root"), ca=True)
    return PKIVerifier([root.cert], now=now)  # type: ignore[arg-type]


def _use_pinned(now: Callable[[], object]) -> object:
    cert = self_signed("pinned")
    verifier = PinnedVerifier(now=now)  # type: ignore[arg-type]
    return verifier.verify([cert.cert], _pinned_client(cert))


def _use_jwks(now: Callable[[], object]) -> object:
    keys = {"keys": [{"kty": "EC", "x5c": [base64.b64encode(self_signed("k").der).decode()]}]}
    fetcher = JwksFetcher(now=now, opener=_Opener(keys))  # type: ignore[arg-type]
    return fetcher.thumbprints("https://client.example/jwks.json")


def _use_authenticator(now: Callable[[], object]) -> object:
    """A custom verifier pair, so that nothing but the Authenticator reads the clock: a
    client whose secret expires makes it read the clock for the secret check."""
    registry = clientauth.load_clients([{
        "client_id": "svc",
        "client_secrets": [{"hash": clientauth.hash_secret("s" * 43),
                            "expires_at": int(NOW.timestamp()) + 3600}],
    }])
    pki = PKIVerifier(now=lambda: NOW)
    auth = Authenticator(registry, pki=pki, pinned=PinnedVerifier(), now=now)  # type: ignore[arg-type]
    token = base64.b64encode(b"svc:" + b"s" * 43).decode()
    request = clientauth.ClientRequest([("authorization", f"Basic {token}")])
    return auth.authenticate(request)


def _use_bound_token(now: Callable[[], object]) -> object:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed("bound")
    token = jwt.encode(bind_claims({"exp": 2**40}, cert.cert), key, algorithm="ES256")
    return decode_bound_token(
        token, key.public_key(), algorithms=["ES256"], certificate=cert.cert, now=now,  # type: ignore[arg-type]
    )


def _use_cli(now: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(_cli_common, "clock", now)
    return _cli_common.now()


class _Opener:
    """A urllib opener stand-in serving one JWK set (no network)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = json.dumps(body).encode()

    def open(self, request: Any, timeout: float | None = None) -> Any:
        headers = Message()
        headers["Content-Type"] = "application/json"
        response = urllib.response.addinfourl(io.BytesIO(self._body), headers, request.full_url)
        response.code = 200  # type: ignore[attr-defined]
        return response


USES = {
    "PKIVerifier": _use_pki,
    "PinnedVerifier": _use_pinned,
    "JwksFetcher": _use_jwks,
    "Authenticator": _use_authenticator,
    "decode_bound_token": _use_bound_token,
}


class TestOneCheck:
    @pytest.mark.parametrize("reading", BAD_READINGS.values(), ids=BAD_READINGS.keys())
    @pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
    def test_bad_reading_refused_the_same_way(
        self, use: Callable[[Callable[[], object]], object], reading: object
    ) -> None:
        """Each component refuses a clock reading that is not an aware datetime with the one
        ConfigurationError, whatever the wrong reading is."""
        with pytest.raises(ConfigurationError, match=MESSAGE):
            use(lambda: reading)

    @pytest.mark.parametrize("reading", BAD_READINGS.values(), ids=BAD_READINGS.keys())
    def test_cli_clock_checked_too(self, reading: object, monkeypatch: pytest.MonkeyPatch) -> None:
        """The commands' clock goes through the same check."""
        with pytest.raises(ConfigurationError, match=MESSAGE):
            _use_cli(lambda: reading, monkeypatch)

    @pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
    def test_not_callable_refused(self, use: Callable[[object], object]) -> None:
        """now= that is not callable is refused at once, with the same message everywhere."""
        with pytest.raises(ConfigurationError, match="now must be a callable"):
            use(NOW)

    @pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
    def test_aware_clock_accepted(self, use: Callable[[Callable[[], object]], object]) -> None:
        """An aware clock in another zone than UTC is fine."""
        use(lambda: NOW.astimezone(timezone(timedelta(hours=-5))))


class TestBoundTokenClock:
    """decode_bound_token checks exp/nbf/iat against the injected clock, not PyJWT's."""

    @pytest.fixture(scope="class")
    def key(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def decode(self, key: ec.EllipticCurvePrivateKey, claims: dict[str, Any], at: datetime,
               **kwargs: Any) -> dict[str, Any]:
        cert = self_signed("bound")
        token = jwt.encode(bind_claims(claims, cert.cert), key, algorithm="ES256")
        return decode_bound_token(token, key.public_key(), algorithms=["ES256"],
                                  certificate=cert.cert, now=lambda: at, **kwargs)

    def test_expired_by_the_injected_clock(self, key: ec.EllipticCurvePrivateKey) -> None:
        """A token that the wall clock calls valid is expired at a later injected time, with
        PyJWT's error as the cause."""
        exp = int(datetime.now(UTC).timestamp()) + 3600
        with pytest.raises(InvalidToken, match="expired") as info:
            self.decode(key, {"exp": exp}, datetime.fromtimestamp(exp, UTC))
        assert isinstance(info.value.__cause__, jwt.ExpiredSignatureError)

    def test_valid_by_the_injected_clock(self, key: ec.EllipticCurvePrivateKey) -> None:
        """A token long expired by the wall clock is accepted at an injected earlier time."""
        claims = self.decode(key, {"exp": 1000, "iat": 100, "nbf": 100},
                             datetime.fromtimestamp(500, UTC))
        assert claims["exp"] == 1000

    def test_not_yet_valid_and_leeway(self, key: ec.EllipticCurvePrivateKey) -> None:
        """nbf and iat in the injected future are refused; leeway applies to the injected
        clock as PyJWT applies it to its own."""
        at = datetime.fromtimestamp(1000, UTC)
        for claim in ("nbf", "iat"):
            with pytest.raises(InvalidToken, match=f"not yet valid \\({claim}\\)"):
                self.decode(key, {claim: 1010, "exp": 2000}, at)
            self.decode(key, {claim: 1010, "exp": 2000}, at, leeway=10)
        with pytest.raises(InvalidToken, match="expired"):
            self.decode(key, {"exp": 995}, at, leeway=4)
        self.decode(key, {"exp": 995}, at, leeway=timedelta(seconds=6))

    def test_malformed_time_claims(self, key: ec.EllipticCurvePrivateKey) -> None:
        """Non-numeric time claims are refused with PyJWT's messages."""
        at = datetime.fromtimestamp(1000, UTC)
        for claim, text in (("exp", "Expiration Time"), ("nbf", "Not Before"),
                            ("iat", "Issued At")):
            with pytest.raises(InvalidToken, match=text):
                self.decode(key, {claim: "soon"}, at)

    def test_options_still_turn_checks_off(self, key: ec.EllipticCurvePrivateKey) -> None:
        """PyJWT's verify_exp option keeps its meaning."""
        claims = self.decode(key, {"exp": 10}, datetime.fromtimestamp(1000, UTC),
                             options={"verify_exp": False})
        assert claims["exp"] == 10
