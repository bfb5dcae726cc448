"""Thin integrations with web frameworks: FastAPI, Flask, Django.

Each submodule imports its framework and nothing here does, so ``import clientauth`` never
pulls in a framework (docs/design.md, "Thin adapters")::

    from clientauth.integrations.fastapi import ClientAuth   # needs fastapi
    from clientauth.integrations.flask import ClientAuth     # needs flask
    from clientauth.integrations.django import ClientAuthMiddleware  # needs django

Starlette and other pure-ASGI apps use :class:`clientauth.asgi.ClientAuthMiddleware`; other
WSGI apps :class:`clientauth.wsgi.ClientAuthMiddleware`.

The WSGI-based integrations (Flask, Django) build their requests with
:func:`clientauth.wsgi.request_from_environ`.
"""

from __future__ import annotations

__all__: list[str] = []
