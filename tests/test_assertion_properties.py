"""Error contract and properties of client assertions (hypothesis; bounded, runs in seconds).

What must hold for any assertion text and any claims set: ``authenticate`` returns an
AuthResult and never raises; it succeeds only for claims that satisfy every rule and a
signature made with the client's key; ``detail`` never contains the token or its signature;
:func:`parse_assertion` raises nothing but :class:`~clientauth.ParseError`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assertion_keys import AUDIENCE, T0, assertion_request, claims, hs_client, pk_client, sign
from certs import NOW, clock
from clientauth import Authenticator, AuthResult, ParseError, load_clients
from clientauth.assertion import parse_assertion

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AUTH = Authenticator(load_clients([pk_client(), hs_client()]), audience=AUDIENCE,
                     now=clock(NOW))

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False) | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
claim_names = st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"])
times = st.integers(T0 - 1000, T0 + 1000) | st.floats(allow_nan=True, allow_infinity=True)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@PROPS
@given(text=st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_-]{0,40}(\.[A-Za-z0-9_-]{0,40}){2}",
                                                   fullmatch=True))
def test_any_text_is_refused_without_raising(text: str) -> None:
    """Any text as client_assertion: a failed result, never an exception."""
    result = AUTH.authenticate(assertion_request(text))
    assert isinstance(result, AuthResult) and not result.ok
    with contextlib.suppress(ParseError):
        parse_assertion(text)


@PROPS
@given(header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "x"]), json_values),
       payload=json_values, signature=st.binary(max_size=80))
def test_any_header_and_payload(header: dict[str, Any], payload: Any, signature: bytes) -> None:
    """Arbitrary JSON in header and claims, any signature bytes: refused, never raised."""
    token = ".".join((b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()),
                      b64(signature)))
    result = AUTH.authenticate(assertion_request(token))
    assert not result.ok
    assert token not in result.detail


@PROPS
@given(changes=st.dictionaries(claim_names, json_values | times, max_size=4),
       alg=st.sampled_from(["ES256", "RS256", "EdDSA", "HS256"]))
def test_signed_claims_accepted_only_when_valid(changes: dict[str, Any], alg: str) -> None:
    """Correctly signed assertions with mutated claims: accepted exactly when the claims
    still satisfy every rule (checked independently here), else refused without raising."""
    cid = "hs-client" if alg == "HS256" else "pk-client"
    body = claims(cid)
    body.update(changes)
    try:
        token = sign(body, alg)
    except (TypeError, ValueError, OverflowError):
        return  # PyJWT cannot encode it (e.g. a NaN the JSON encoder refuses)
    result = AUTH.authenticate(assertion_request(token))
    assert isinstance(result, AuthResult)
    assert token.rsplit(".", 1)[1] not in result.detail
    if result.ok:
        assert _valid(body, cid), body


def _num(value: object) -> float | None:
    # The oracle's own reading of RFC 7519 2 NumericDate, written apart from
    # assertion._number on purpose: a test that called the code under test would agree with it.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _valid(body: dict[str, Any], cid: str) -> bool:
    aud = body.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    exp, nbf, iat = _num(body.get("exp")), _num(body.get("nbf")), _num(body.get("iat"))
    jti = body.get("jti")
    return (
        body.get("iss") == cid == body.get("sub")
        and AUDIENCE in auds and len(auds) <= 16
        and exp is not None and exp > T0 - 30
        and ("nbf" not in body or (nbf is not None and nbf <= T0 + 30))
        and ("iat" not in body or (iat is not None and iat <= T0 + 30))
        and exp - (iat if "iat" in body and iat is not None else T0) <= 300
        and isinstance(jti, str) and 0 < len(jti) <= 512
    )
