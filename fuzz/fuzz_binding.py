"""Fuzz the certificate-bound token helpers (RFC 8705 section 3).

The input is read as a JWT (``decode_bound_token``), as JSON claims (``check_binding``,
``check_introspection_binding``, ``bind_claims``) and as a presented certificate/thumbprint.
Invariants: only ClientAuthError escapes; a binding check passes only when the claims'
``cnf.x5t#S256`` really is the presented certificate's thumbprint; a JWT is accepted only if
its claims are the ones the harness signed.

    python fuzz/fuzz_binding.py -max_total_time=60
    python fuzz/fuzz_binding.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import json
import sys

import jwt
from _fuzzlib import PKI, ContractViolation, guarded, main

from clientauth import (
    bind_claims,
    certificate_thumbprint,
    check_binding,
    check_introspection_binding,
    decode_bound_token,
)

LEAF = PKI.leaf("fuzz-bound")
THUMB = certificate_thumbprint(LEAF.cert)
KEY = "fuzz-hmac-key-0123456789abcdef0123456789abcdef0123456789"
CLAIMS = {"sub": "s", "cnf": {"x5t#S256": THUMB}}
TOKEN = jwt.encode(CLAIMS, KEY, algorithm="HS256")


def _claims_of(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("latin-1")


def target(data: bytes) -> None:
    claims = _claims_of(data)
    for presented in (LEAF.cert, THUMB, data, data.decode("latin-1")):
        if guarded(lambda presented=presented: check_binding(claims, presented) or True):
            bound = claims.get("cnf", {}).get("x5t#S256") if isinstance(claims, dict) else None
            if bound != THUMB or presented not in (LEAF.cert, THUMB):
                raise ContractViolation(f"check_binding passed for {claims!r} / {presented!r}")
        guarded(lambda presented=presented: check_introspection_binding(claims, presented))
        guarded(lambda presented=presented: bind_claims(claims, presented))
    for token in (data, data.decode("latin-1")):
        decoded = guarded(
            lambda token=token: decode_bound_token(
                token, KEY, algorithms=["HS256"], certificate=LEAF.cert
            )
        )
        if decoded is not None and decoded != CLAIMS:
            raise ContractViolation(f"decode_bound_token accepted foreign claims {decoded!r}")


SEEDS = [
    TOKEN.encode(),
    json.dumps(CLAIMS).encode(),
    json.dumps({"active": True, **CLAIMS}).encode(),
    json.dumps({"cnf": {"jkt": "x"}}).encode(),
    json.dumps({"cnf": []}).encode(),
    THUMB.encode(),
    jwt.encode({"cnf": {"x5t#S256": THUMB}}, KEY, algorithm="HS384").encode(),
    b"eyJhbGciOiJub25lIn0.eyJjbmYiOnt9fQ.",
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_binding")
    sys.exit(0)
