"""The RFC 7515 JWS examples (tests/vectors/rfc7515_jws.json) through clientauth's parser
and signature check.

What must hold: the RFC's compact JWS parse (header with CRLF whitespace, claims of
"joe") and verify with the RFC's keys; one flipped signature bit, or the other example's
key, does not verify; as client assertions they are refused for their claims (no sub, aud,
jti), never for their signatures.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from clientauth._jwk import AssertionKey, key_from_jwk
from clientauth.assertion import _verify_with, parse_assertion

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc7515_jws.json").read_text())[
    "vectors"]


def key_of(vector: dict[str, Any]) -> AssertionKey:
    jwk = vector["jwk"]
    if jwk["kty"] == "oct":
        return AssertionKey("oct", base64.urlsafe_b64decode(jwk["k"] + "=="))
    key = key_from_jwk(jwk)
    assert key is not None
    return key


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_rfc_example_verifies(vector: dict[str, Any]) -> None:
    """The RFC example parses and its signature verifies with the RFC key."""
    parsed = parse_assertion(vector["jws"])
    assert parsed.header["alg"] == vector["alg"]
    assert parsed.claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    assert _verify_with([key_of(vector)], parsed, vector["alg"], None) is None


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_tampered_or_wrong_key_fails(vector: dict[str, Any]) -> None:
    """A flipped bit in the signature, or the other example's key, fails (signature/kid)."""
    parsed = parse_assertion(vector["jws"])
    flipped = parsed._replace(signature=bytes([parsed.signature[0] ^ 1]) + parsed.signature[1:])
    assert _verify_with([key_of(vector)], flipped, vector["alg"], None) == (
        "signature: does not verify with the client's key")
    other = next(v for v in VECTORS if v is not vector)
    assert _verify_with([key_of(other)], parsed, vector["alg"], None) is not None
