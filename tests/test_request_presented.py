"""Presented, the credentials extraction found: still a value (issue 18).

:class:`~clientauth.request.Presented` became a plain slotted class (a frozen dataclass's
``__init__`` cost more than the Basic header parse). What must hold: it compares and hashes by
content as before, its repr names no secret and no assertion, and the lone-Basic fast path of
:func:`~clientauth.request.extract_credentials` concludes exactly what the general path does.
"""

from __future__ import annotations

import base64

import pytest

import clientauth
from clientauth import AuthMethod, ClientRequest
from clientauth.exceptions import CredentialsError
from clientauth.request import MAX_CLIENT_ID_LENGTH, Presented, extract_credentials
from clientauth.secret import MAX_SECRET_LENGTH

SECRET = clientauth.generate_secret()
BASIC = AuthMethod.CLIENT_SECRET_BASIC


def basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


class TestValue:
    def test_equality_and_hash_by_content(self) -> None:
        """Equal fields, equal values (and hashes); any field differing, unequal."""
        one = Presented("a", SECRET, BASIC, "authorization")
        assert one == Presented("a", SECRET, BASIC, "authorization")
        assert hash(one) == hash(Presented("a", SECRET, BASIC, "authorization"))
        assert one != Presented("a", SECRET + "x", BASIC, "authorization")
        assert one != Presented("a", SECRET, BASIC, "authorization", "jwt")
        assert one != ("a", SECRET, BASIC, "authorization", None)

    def test_repr_holds_no_secret_nor_assertion(self) -> None:
        """repr names the id, method and source only."""
        text = repr(Presented("a", SECRET, BASIC, "form", "eyJ.assertion.sig"))
        assert SECRET not in text and "eyJ" not in text
        assert "'a'" in text and "form" in text

    def test_defaults(self) -> None:
        """Nothing given, nothing presented."""
        empty = Presented()
        assert (empty.client_id, empty.secret, empty.method, empty.source,
                empty.assertion) == (None, None, None, None, None)


class TestLoneBasicSameAsGeneralPath:
    """A Basic header alone takes a shortcut; with an unrelated form beside it, the general
    path. Both must conclude the same, refusals included (same kind, same reason)."""

    @pytest.mark.parametrize("credentials", [
        f"client:{SECRET}", "client:", "a%3Ab:c%25d+e", f"c:{'s' * (MAX_SECRET_LENGTH + 1)}",
        f"{'c' * (MAX_CLIENT_ID_LENGTH + 1)}:{SECRET}", f":{SECRET}", "c\x01:x", "c:%ff",
    ], ids=["plain", "empty-secret", "form-encoded", "secret-too-long", "id-too-long",
            "empty-id", "control-character", "bad-percent"])
    def test_same_conclusion(self, credentials: str) -> None:
        header = ("authorization", basic(credentials))
        lone = ClientRequest([header])
        general = ClientRequest([header], form={"unrelated": "x"})
        outcomes = []
        for request in (lone, general):
            try:
                outcomes.append(extract_credentials(request))
            except CredentialsError as exc:
                outcomes.append((exc.kind, exc.reason))
        assert outcomes[0] == outcomes[1]
