"""Say it once (docs/design.md): no dead helpers, one definition per limit and rule
(issue 17 item 2). Structural checks; the behaviour behind each is tested in its module's
tests."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import clientauth
from clientauth import _x509, clients, pki, request
from clientauth.exceptions import ParseError
from clientauth.forwarded import _common
from clientauth.names import RegisteredName

SRC = Path(clientauth.__file__).parent


def test_dead_helpers_are_gone() -> None:
    """Helpers nothing called are removed, and names.py keeps no unreachable branch."""
    assert not hasattr(_x509, "chain_thumbprints")
    assert not hasattr(_common, "check_chain_length")
    assert "pragma: no cover" not in (SRC / "names.py").read_text()


def test_one_definition_each() -> None:
    """The client-id limit, the CA test, the x5c decoding and the ASGI scope key are each
    defined once and used from there."""
    assert clients.MAX_CLIENT_ID_LENGTH is request.MAX_CLIENT_ID_LENGTH
    assert "MAX_CLIENT_ID_LENGTH =" not in (SRC / "clients.py").read_text()
    assert not hasattr(clients, "_is_ca") and not hasattr(pki, "_is_ca")
    assert callable(_x509.is_ca) and callable(_x509.load_x5c)
    for module in ("clients.py", "jwks.py"):
        assert "b64decode(x5c[0]" not in (SRC / module).read_text(), module
    assert '_SCOPE_KEY = "clientauth"' not in (SRC / "integrations" / "fastapi.py").read_text()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["tls_client_auth_san_dns",
                                             "tls_client_auth_san_email"]))
def test_registered_san_always_has_a_key(value: str, field: str) -> None:
    """The branches removed from names.py were unreachable: whatever is registered as a DNS
    name or email address is refused with a ParseError or gets a comparison key."""
    try:
        name = RegisteredName.parse(field, value)
    except ParseError:
        return
    assert name.key is not None
