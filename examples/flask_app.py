"""A Flask token endpoint guarded by clientauth (client secrets: Basic, form post, headers).

    python examples/flask_app.py            # self-check with Flask's test client, exit 0
    python examples/flask_app.py --serve    # serve on http://127.0.0.1:5000

``--serve`` prints a freshly generated secret and a curl command to try. Needs
``pip install 'clientauth[flask]'``.
"""

from __future__ import annotations

import base64
import sys
from typing import Any

from flask import Flask, g, request

import clientauth
from clientauth.integrations.flask import ClientAuth

SECRET = clientauth.generate_secret()  # in real life: stored as a hash, shown once

registry = clientauth.load_clients([
    {"client_id": "reports", "client_secret_hash": clientauth.hash_secret(SECRET)},
    {"client_id": "billing", "token_endpoint_auth_method": "client_secret_post",
     "client_secret_hash": clientauth.hash_secret(SECRET)},
])

app = Flask(__name__)
client_auth = ClientAuth(app, authenticator=clientauth.Authenticator(registry), realm="example")


@app.post("/token")
@client_auth.required
def token() -> dict[str, Any]:
    result = g.clientauth
    # request.form is still available after authentication.
    return {"client_id": result.client_id, "method": result.method,
            "grant_type": request.form.get("grant_type")}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def self_test() -> None:
    http = app.test_client()
    basic = base64.b64encode(f"reports:{SECRET}".encode()).decode()
    r = http.post("/token", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.data
    assert r.json["client_id"] == "reports", r.data
    r = http.post("/token", data={"grant_type": "client_credentials", "client_id": "billing",
                                  "client_secret": SECRET})
    assert r.status_code == 200, r.data
    assert r.json["grant_type"] == "client_credentials", r.data
    r = http.post("/token", headers={"Authorization": "Basic " + base64.b64encode(
        b"reports:wrong").decode()})
    assert r.status_code == 401, r.data
    assert r.headers["WWW-Authenticate"] == 'Basic realm="example"'
    assert r.json["error"] == "invalid_client"
    assert http.get("/health").status_code == 200
    print("flask example: Basic 200, form post 200, wrong secret 401 invalid_client -- ok")


def serve() -> None:
    print(f"client 'reports' secret: {SECRET}")
    print(f"try: curl -u 'reports:{SECRET}' -X POST http://127.0.0.1:5000/token")
    app.run(host="127.0.0.1", port=5000)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        self_test()
