"""A FastAPI token endpoint guarded by clientauth (client secrets: Basic, form post, headers).

    python examples/fastapi_app.py            # self-check against a real uvicorn, exit 0
    python examples/fastapi_app.py --serve    # serve on http://127.0.0.1:8000

``--serve`` prints a freshly generated secret and a curl command to try. Needs
``pip install 'clientauth[fastapi,uvicorn]'`` and nothing else: the self-check talks HTTP with
the standard library (Starlette's TestClient would need another HTTP client package).
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Request

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


def call(base: str, path: str, *, headers: dict[str, str] | None = None,
         form: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One request with the standard library: (status, headers, JSON body)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    method = "GET" if path == "/health" else "POST"
    request = urllib.request.Request(base + path, data=data, headers=headers or {},
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def self_test() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    try:
        basic = base64.b64encode(f"reports:{SECRET}".encode()).decode()
        status, _, body = call(base, "/token", headers={"Authorization": f"Basic {basic}"})
        assert status == 200, body
        assert body["client_id"] == "reports", body
        status, _, body = call(base, "/token", form={"client_id": "billing",
                                                     "client_secret": SECRET})
        assert status == 200, body
        assert body["method"] == "client_secret_post", body
        wrong = base64.b64encode(b"reports:wrong").decode()
        status, headers, body = call(base, "/token", headers={"Authorization": f"Basic {wrong}"})
        assert status == 401, body
        assert headers["www-authenticate"] == 'Basic realm="example"'
        assert body["error"] == "invalid_client"
        assert call(base, "/health")[0] == 200
    finally:
        server.should_exit = True
        thread.join(10)
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
