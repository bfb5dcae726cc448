"""Fuzz the Basic header parser and credential extraction (RFC 6749 2.3.1).

Target: ``parse_basic_authorization`` on the input as an Authorization value (raw, and behind
``Basic ``), and ``extract_credentials`` on a request carrying it as a header and as form
fields. Invariants: only ClientAuthError escapes; a decoded pair survives the RFC 6749
2.3.1 encoding round trip (form-urlencode each part, join with ':', base64).

    python fuzz/fuzz_basic.py -max_total_time=60          # atheris
    python fuzz/fuzz_basic.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import base64
import sys
from urllib.parse import quote_plus

from _fuzzlib import ContractViolation, guarded, main

from clientauth import ClientAuthError, ClientRequest
from clientauth.request import extract_credentials, parse_basic_authorization


def encode_basic(client_id: str, secret: str) -> str:
    """RFC 6749 2.3.1: each part application/x-www-form-urlencoded, then Basic."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _roundtrip(value: str) -> None:
    try:
        decoded = parse_basic_authorization(value)
    except ClientAuthError:
        return
    client_id, secret = decoded
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise ContractViolation("parse_basic_authorization returned non-str parts")
    try:
        again = parse_basic_authorization(encode_basic(client_id, secret))
    except UnicodeEncodeError:
        return  # lone surrogates cannot be re-encoded as UTF-8: nothing to compare
    if again != decoded:
        raise ContractViolation(f"Basic round trip changed the credentials: {decoded!r}")


def target(data: bytes) -> None:
    text = data.decode("latin-1")
    _roundtrip(text)
    _roundtrip("Basic " + base64.b64encode(data).decode("ascii"))
    guarded(lambda: extract_credentials(ClientRequest([("authorization", data)])))
    cid, _, secret = text.partition("\x00")
    guarded(
        lambda: extract_credentials(
            ClientRequest(form={"client_id": cid, "client_secret": secret})
        )
    )
    guarded(
        lambda: extract_credentials(
            ClientRequest([("client_id", cid.encode("latin-1")), ("client_secret", secret)])
        )
    )


SEEDS = [
    b"Basic YWxpY2U6czNjcjN0",
    b"Basic " + base64.b64encode(b"a%3Ab:p%25w+d"),
    b"basic\tYTpi",
    b"Basic YTpi==",
    b"Basic Og",
    b"Bearer abc",
    b"Basic " + base64.b64encode("\u00e9t\u00e9:\u2603".encode()),
    b"client\x00secret",
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_basic")
    sys.exit(0)
