"""Fuzz the whole flow: ``Authenticator.authenticate`` on requests built from the input.

The input is split into header lines (``name: value``, Latin-1) of a request that also gets
a form (from the same lines as ``name=value``) and a TLS chain (the input as one DER blob).
The authenticator knows a secret client, a PKI client, a pinned client and accepts nginx
headers from 10.0.0.0/8. Invariants: ``authenticate`` never raises for client input, and
never accepts (the harness never puts a valid secret or key in the input).

    python fuzz/fuzz_authenticate.py -max_total_time=60
    python fuzz/fuzz_authenticate.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import base64
import sys

from _fuzzlib import PKI, ContractViolation, clock, main, self_signed

from clientauth import (
    Authenticator,
    AuthResult,
    ClientRequest,
    ForwardedCertificates,
    generate_secret,
    hash_secret,
    load_clients,
)

SECRET = generate_secret()
PINNED = self_signed("fuzz-auth-pinned")
REGISTRY = load_clients([
    {"client_id": "basic", "client_secret_hash": hash_secret(SECRET)},
    {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
     "client_secret_hash": hash_secret(SECRET)},
    {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
     "tls_client_auth_subject_dn": "CN=someone-else"},
    {"client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
     "tls_client_certificate_thumbprints": ["A" * 43]},
])
AUTH = Authenticator(
    REGISTRY,
    trust_anchors=[PKI.root.cert],
    intermediates=[PKI.intermediate.cert],
    forwarded=ForwardedCertificates("nginx", trusted_proxies=["10.0.0.0/8"]),
    now=clock(),
)
_LEAF = PKI.leaf("fuzz-auth-leaf")


def request_of(data: bytes) -> ClientRequest | None:
    lines = data.split(b"\n")[:50]
    headers = []
    form: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        if sep:
            headers.append((name.strip(), value.strip()))
        key, sep, val = line.decode("latin-1").partition("=")
        if sep:
            form[key] = val
    peer = "10.0.0.1" if data[:1] == b"\x01" else "192.0.2.9"
    try:
        return ClientRequest(headers, form=form or None, peer=peer, tls_chain=[data] if data
                             else ())
    except ValueError:
        return None  # more headers than allowed etc.: refused at construction (ConfigurationError)


def target(data: bytes) -> None:
    request = request_of(data)
    if request is None:
        return
    result = AUTH.authenticate(request)
    if not isinstance(result, AuthResult):
        raise ContractViolation("authenticate did not return an AuthResult")
    if result.ok:
        raise ContractViolation(f"garbage authenticated as {result.client_id!r}")


def _basic(cid: str, secret: str) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f"{cid}:{secret}".encode())


SEEDS = [
    _basic("basic", "x" * len(SECRET)),
    _basic("nobody", "x" * 10),
    b"client_id=post\nclient_secret=" + b"y" * 43,
    b"client_id=mtls",
    b"\x01\nX-SSL-Client-Cert: " + _LEAF.pem.replace("\n", "%0A").encode(),
    _LEAF.der,
    PINNED.der,
    b"client_id: basic\nclient_secret: zzz",
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_authenticate")
    sys.exit(0)
