"""Client-ID enforcement with secrets: register, rotate, authenticate, explain failures.

    python examples/client_secrets.py
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from urllib.parse import quote

import clientauth


def basic(client_id: str, secret: str) -> tuple[str, str]:
    # RFC 6749 2.3.1: form-urlencode id and secret, join with ':', then base64.
    token = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return ("Authorization", "Basic " + base64.b64encode(token.encode()).decode())


def main() -> None:
    old, new = clientauth.generate_secret(), clientauth.generate_secret()
    clients = [
        {   # mid-rotation: the old secret stays live until its expiry, the new one never expires
            "client_id": "reports",
            "client_secrets": [
                {"hash": clientauth.hash_secret(old), "expires_at": 4102444800},
                {"hash": clientauth.hash_secret(new)},
            ],
        },
        {
            "client_id": "gateway",
            "token_endpoint_auth_method": "client_secret_header",
            "client_secret_hash": clientauth.hash_secret(new),
        },
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clients.json"
        path.write_text(json.dumps(clients, indent=2))
        registry = clientauth.load_clients(path)

    auth = clientauth.Authenticator(registry, id_header="x-client-id", secret_header="x-api-key")
    attempts = [  # (what, request, expected to authenticate)
        ("Basic, old secret", clientauth.ClientRequest([basic("reports", old)]), True),
        ("Basic, new secret", clientauth.ClientRequest([basic("reports", new)]), True),
        ("Basic, wrong secret", clientauth.ClientRequest([basic("reports", "x" * 43)]), False),
        ("headers", clientauth.ClientRequest([("X-Client-Id", "gateway"), ("X-Api-Key", new)]),
         True),
        ("headers, client registered for Basic",
         clientauth.ClientRequest([("X-Client-Id", "reports"), ("X-Api-Key", new)]), False),
        ("two methods at once", clientauth.ClientRequest(
            [basic("reports", new), ("X-Client-Id", "reports"), ("X-Api-Key", new)]), False),
    ]
    for label, request, expected in attempts:
        result = auth.authenticate(request)
        status = "ok" if result.ok else f"{result.error} ({result.failure})"
        print(f"{label:<40} {status}")
        assert result.ok is expected, label

if __name__ == "__main__":
    main()
