"""Fuzz client-metadata loading (``load_clients`` / ``Client.from_metadata``, RFC 7591/8705).

The input is parsed as JSON (when it is JSON) and handed to ``load_clients`` both as the
document and as a one-client list, and to ``Client.from_metadata``. Invariant: only
ClientAuthError escapes (a bad registry document is a ClientMetadataError, never a crash).

    python fuzz/fuzz_clients.py -max_total_time=60
    python fuzz/fuzz_clients.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import json
import sys

from _fuzzlib import PKI, guarded, main, self_signed

from clientauth import Client, hash_secret, load_clients


def target(data: bytes) -> None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = data.decode("latin-1")
    guarded(lambda: load_clients(document if not isinstance(document, str) else [document]))
    guarded(lambda: load_clients([document]))
    guarded(lambda: Client.from_metadata(document))  # type: ignore[arg-type]


_PINNED = self_signed("fuzz-clients")
SEEDS = [
    json.dumps([{"client_id": "a", "client_secret_hash": hash_secret("s" * 40)}]).encode(),
    json.dumps({"clients": [{"client_id": "b", "token_endpoint_auth_method": "tls_client_auth",
                             "tls_client_auth_subject_dn": "CN=b,O=Acme"}]}).encode(),
    json.dumps({"client_id": "c", "token_endpoint_auth_method": "self_signed_tls_client_auth",
                "tls_client_certificates": [_PINNED.pem]}).encode(),
    json.dumps({"client_id": "d", "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_san_ip": "::1",
                "tls_client_auth_trust_anchors": [PKI.root.pem]}).encode(),
    json.dumps({"client_id": "e", "client_secrets": [
        {"hash": hash_secret("t" * 40), "expires_at": 99999999999}]}).encode(),
    b'[{"client_id": "f", "client_secret_expires_at": 1e400}]',
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_clients")
    sys.exit(0)
