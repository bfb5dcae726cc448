"""The accepted token is readable as ``request.state.clientauth_token`` (issue 16.8).

BoundTokenMiddleware stored the TokenCheck in ``scope["state"]`` only under
``"clientauth.token"``, which a Starlette/FastAPI route can reach only with
``getattr(request.state, "clientauth.token")``. What must hold: the plain attribute works,
and the old key and ``scope["clientauth.token"]`` still hold the same check.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import clientauth
from clientauth.asgi import BoundTokenMiddleware
from clientauth.testing import CertificateAuthority

SECRET = "a-long-random-value-set-in-the-proxy"


@pytest.fixture(scope="module")
def certificate() -> Any:
    return CertificateAuthority("Example Corp").issue("payments-service")


def test_state_attribute(certificate: Any) -> None:
    """A route reads request.state.clientauth_token; the dotted key is the same object."""
    seen: dict[str, Any] = {}

    async def route(request: Request) -> JSONResponse:
        seen["attribute"] = request.state.clientauth_token
        seen["dotted"] = getattr(request.state, "clientauth.token")
        seen["scope"] = request.scope["clientauth.token"]
        return JSONResponse({"sub": request.state.clientauth_token.claims["sub"]})

    thumbprint = clientauth.certificate_thumbprint(certificate.cert)
    app = BoundTokenMiddleware(
        Starlette(routes=[Route("/api", route)]),
        verify_token=lambda token: {"sub": token, "cnf": {"x5t#S256": thumbprint}},
        forwarded=clientauth.ForwardedCertificates("nginx", shared_secret=("X-Proxy-Secret",
                                                                           SECRET)),
    )
    response = TestClient(app).get("/api", headers={
        "Authorization": "Bearer payments",
        "X-SSL-Client-Cert": quote(certificate.pem, safe=""),
        "X-Proxy-Secret": SECRET,
    })
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "payments"}
    assert seen["attribute"] is seen["dotted"] is seen["scope"]
