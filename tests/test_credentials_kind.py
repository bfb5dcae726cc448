"""CredentialsError.kind is a Failure, not a string turned back into one (issue 17 item 2)."""

from __future__ import annotations

import pytest

from clientauth import ClientRequest, CredentialsError, Failure
from clientauth.request import extract_credentials


def test_kind_is_a_failure_member() -> None:
    """The request parser raises with a Failure member; the default is MALFORMED_CREDENTIALS,
    and a value string given by a caller is stored as its member."""
    both = ClientRequest([("authorization", "Basic YTpi")], form={"client_secret": "s"})
    with pytest.raises(CredentialsError) as info:
        extract_credentials(both)
    assert info.value.kind is Failure.MULTIPLE_METHODS
    assert CredentialsError("bad").kind is Failure.MALFORMED_CREDENTIALS
    assert CredentialsError("x", kind="conflicting_client_id").kind is Failure.CONFLICTING_CLIENT_ID


def test_unknown_kind_is_a_programming_error() -> None:
    """A kind that names no Failure is refused where the error is built, not mapped silently
    to another reason later."""
    with pytest.raises(ValueError, match="not_a_failure"):
        CredentialsError("x", kind="not_a_failure")
