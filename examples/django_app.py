"""A single-file Django project whose token endpoint is guarded by clientauth's middleware.

    python examples/django_app.py            # self-check with django.test.Client, exit 0
    python examples/django_app.py --serve    # runserver on http://127.0.0.1:8000

In a real project the settings below go into ``settings.py`` and ``AUTHENTICATOR`` names a
module of yours, e.g. ``"myproject.auth.build_authenticator"``. Needs
``pip install 'clientauth[django]'``.
"""

from __future__ import annotations

import base64
import sys
from typing import Any

import django
from django.conf import settings
from django.core.management import execute_from_command_line
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

import clientauth

SECRET = clientauth.generate_secret()  # in real life: stored as a hash, shown once


def build_authenticator() -> clientauth.Authenticator:
    """Called once by the middleware at start-up (settings: AUTHENTICATOR)."""
    registry = clientauth.load_clients([
        {"client_id": "reports", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "billing", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
    ])
    return clientauth.Authenticator(registry)


settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["clientauth.integrations.django.ClientAuthMiddleware"],
    CLIENTAUTH={
        "AUTHENTICATOR": f"{__name__}.build_authenticator",
        "PATHS": ["/token"],  # everything else is not authenticated
        "REALM": "example",
    },
)
django.setup()


@csrf_exempt  # OAuth token requests carry client credentials, not a browser session
def token(request: HttpRequest) -> JsonResponse:
    result: Any = request.clientauth  # set by ClientAuthMiddleware
    # request.POST is still available after authentication.
    return JsonResponse({"client_id": result.client_id, "method": result.method,
                         "grant_type": request.POST.get("grant_type")})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("token", token), path("health", health)]


def self_test() -> None:
    http = Client()
    basic = base64.b64encode(f"reports:{SECRET}".encode()).decode()
    r = http.post("/token", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.content
    assert r.json()["client_id"] == "reports", r.content
    r = http.post("/token", f"grant_type=client_credentials&client_id=billing"
                            f"&client_secret={SECRET}",
                  content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    assert r.json()["grant_type"] == "client_credentials", r.content
    r = http.post("/token", headers={"Authorization": "Basic " + base64.b64encode(
        b"reports:wrong").decode()})
    assert r.status_code == 401, r.content
    assert r.headers["WWW-Authenticate"] == 'Basic realm="example"'
    assert r.json()["error"] == "invalid_client"
    assert http.get("/health").status_code == 200
    print("django example: Basic 200, form post 200, wrong secret 401 invalid_client -- ok")


def serve() -> None:
    print(f"client 'reports' secret: {SECRET}")
    print(f"try: curl -u 'reports:{SECRET}' -X POST http://127.0.0.1:8000/token")
    execute_from_command_line([sys.argv[0], "runserver", "127.0.0.1:8000", "--noreload"])


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        self_test()
