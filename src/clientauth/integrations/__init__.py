"""Thin integrations with web frameworks: FastAPI, Flask, Django.

Each submodule imports its framework and nothing here does, so ``import clientauth`` never
pulls in a framework (STYLE.md 7)::

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

def _content_length(value: object) -> int | None:
    """A ``Content-Length`` value as an int, ``None`` when absent or not a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
