"""A FastAPI token endpoint guarded by clientauth (client secrets: Basic, form post, headers).

    python examples/fastapi_app.py            # self-check with FastAPI's TestClient, exit 0
    python examples/fastapi_app.py --serve    # serve on http://127.0.0.1:8000

``--serve`` prints a freshly generated secret and a curl command to try. Needs
``pip install fastapi uvicorn``.
"""

from __future__ import annotations

import base64
import sys
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

import clientauth
from clientauth import AuthResult
from clientauth.integrations.fastapi import ClientAuth

SECRET = clientauth.generate_secret()  # in real life: stored as a hash, shown once

registry = clientauth.load_clients([
    {"client_id": "reports", "client_secret_hash": clientauth.hash_secret(SECRET)},
    {"client_id": "billing", "token_endpoint_auth_method": "client_secret_post",
     "client_secret_hash": clientauth.hash_secret(SECRET)},
])
client_auth = ClientAuth(clientauth.Authenticator(registry), realm="example")
# Module level, so that FastAPI can resolve the annotation (this file uses
# `from __future__ import annotations`).
Client = Annotated[AuthResult, Depends(client_auth)]

app = FastAPI(title="clientauth example")
client_auth.init_app(app)  # RFC 6749 5.2 error bodies instead of {"detail": ...}


@app.post("/token")
async def token(client: Client, request: Request) -> dict[str, Any]:
    form = await request.body()  # the form is still readable after authentication
    return {"client_id": client.client_id, "method": client.method, "body_bytes": len(form)}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def self_test() -> None:
    http = TestClient(app)
    basic = base64.b64encode(f"reports:{SECRET}".encode()).decode()
    r = http.post("/token", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == "reports", r.text
    r = http.post("/token", data={"client_id": "billing", "client_secret": SECRET})
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "client_secret_post", r.text
    r = http.post("/token", headers={"Authorization": "Basic " + base64.b64encode(
        b"reports:wrong").decode()})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == 'Basic realm="example"'
    assert r.json()["error"] == "invalid_client"
    assert http.get("/health").status_code == 200
    print("fastapi example: Basic 200, form post 200, wrong secret 401 invalid_client -- ok")


def serve() -> None:
    print(f"client 'reports' secret: {SECRET}")
    print(f"try: curl -u 'reports:{SECRET}' -X POST http://127.0.0.1:8000/token")
    uvicorn.run(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        self_test()
