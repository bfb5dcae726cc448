"""Servers that terminate TLS themselves and hand the client certificate to the app.

:mod:`clientauth.servers.uvicorn` (needs uvicorn) makes uvicorn fill the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_chain"]``), which
:class:`clientauth.asgi.ClientAuthMiddleware` reads: RFC 8705 mutual TLS without a proxy.
Nothing here is imported by ``import clientauth``.
"""

from __future__ import annotations

__all__: list[str] = []
