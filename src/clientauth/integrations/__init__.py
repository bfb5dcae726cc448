"""Thin integrations with web frameworks: FastAPI, Flask, Django.

Each submodule imports its framework and nothing here does, so ``import clientauth`` never
pulls in a framework (STYLE.md 7)::

    from clientauth.integrations.fastapi import ClientAuth   # needs fastapi
    from clientauth.integrations.flask import ClientAuth     # needs flask
    from clientauth.integrations.django import ClientAuthMiddleware  # needs django

Starlette and other pure-ASGI apps use :class:`clientauth.asgi.ClientAuthMiddleware`; other
WSGI apps :class:`clientauth.wsgi.ClientAuthMiddleware`.

This module also holds the one thing the WSGI-based integrations (Flask, Django) share:
turning a WSGI-style environ (Django's ``request.META``) into a
:class:`~clientauth.ClientRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from ..authenticator import Authenticator
from ..request import ClientRequest

__all__: list[str] = []

_MAX_CHAIN_VARIABLES = 10


def _environ_request(
    environ: Mapping[str, Any],
    authenticator: Authenticator,
    *,
    form: Mapping[str, list[str]] | None,
    tls_chain: list[str] | None = None,
) -> ClientRequest:
    """A :class:`ClientRequest` from a WSGI environ (or Django ``META``).

    Mirrors :class:`clientauth.wsgi.ClientAuthMiddleware`: ``HTTP_*`` keys back to header
    names -- the configured id/secret header names win, because WSGI folds ``client_id`` and
    ``client-id`` into the same key -- ``REMOTE_ADDR`` as the peer, Apache mod_wsgi's
    ``SSL_CLIENT_CERT`` (+ ``SSL_CLIENT_CERT_CHAIN_n``) as the TLS chain unless ``tls_chain``
    is given.
    """
    renames = {
        name.lower().replace("_", "-"): name.lower()
        for name in authenticator.credential_header_names
    }
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            name = key[5:].lower().replace("_", "-")
            headers.append((renames.get(name, name), value))
    content_type = environ.get("CONTENT_TYPE")
    if content_type and isinstance(content_type, str):
        headers.append(("content-type", content_type))
    query = None
    query_string = environ.get("QUERY_STRING")
    if authenticator.allow_query_credentials and query_string:
        query = parse_qs(str(query_string), max_num_fields=100)
    peer = environ.get("REMOTE_ADDR")
    return ClientRequest(
        headers,
        form=form,
        query=query,
        peer=peer if isinstance(peer, str) and peer else None,
        tls_chain=tls_chain if tls_chain is not None else _mod_wsgi_chain(environ),
    )


def _mod_wsgi_chain(environ: Mapping[str, Any]) -> list[str]:
    """The client chain Apache mod_wsgi exports (``SSLOptions +ExportCertData``), leaf first."""
    leaf = environ.get("SSL_CLIENT_CERT")
    if not leaf or not isinstance(leaf, str):
        return []
    chain = [leaf]
    for i in range(_MAX_CHAIN_VARIABLES):
        cert = environ.get(f"SSL_CLIENT_CERT_CHAIN_{i}")
        if not cert or not isinstance(cert, str):
            break
        chain.append(cert)
    return chain


def _content_length(value: object) -> int | None:
    """A ``Content-Length`` value as an int, ``None`` when absent or not a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
