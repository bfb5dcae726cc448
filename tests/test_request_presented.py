"""Presented, the credentials extraction found: still a value (issue 18).

:class:`~clientauth.request.Presented` is built per request without the frozen ``__init__``
(a frozen dataclass's ``__init__`` cost more than the Basic header parse). What must hold: it
stays frozen, compares and hashes by content as before, its repr names no secret and no
assertion, and the lone-Basic fast path of
:func:`~clientauth.request.extract_credentials` (:func:`~clientauth.request.basic_only`, which
the Authenticator also calls first) concludes exactly what the general path does.
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clientauth
from clientauth import AuthMethod, ClientRequest
from clientauth.exceptions import CredentialsError
from clientauth.request import (
    MAX_CLIENT_ID_LENGTH,
    CredentialOptions,
    Presented,
    basic_only,
    extract_credentials,
)
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

    def test_frozen_however_built(self) -> None:
        """Built by the constructor or per request (``_of``): equal, and never changed."""
        for value in (Presented("a", SECRET, BASIC, "authorization"),
                      Presented._of("a", SECRET, BASIC, "authorization")):
            assert value == Presented("a", SECRET, BASIC, "authorization")
            with pytest.raises(dataclasses.FrozenInstanceError):
                value.client_id = "b"  # type: ignore[misc]

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


def general(header: tuple[str, str]) -> object:
    """What the general path concludes from ``header`` (an unrelated form field beside it
    keeps the shortcut out)."""
    try:
        return extract_credentials(ClientRequest([header], form={"unrelated": "x"}))
    except CredentialsError as exc:
        return (exc.kind, exc.reason)


# Characters that matter to Basic: the separator, form-encoding, blanks, controls, non-ASCII.
_TEXT = st.text(alphabet=st.sampled_from("ab:%+ \t\x00\x7fé€/=AZ09"), max_size=12)


@st.composite
def basic_headers(draw: st.DrawFn) -> str:
    credentials = draw(_TEXT) + draw(st.sampled_from(["", ":"])) + draw(_TEXT)
    token = base64.b64encode(credentials.encode()).decode()
    token = draw(st.sampled_from([token, token.rstrip("="), token + " ", " " + token,
                                  token.replace("=", "")[:-1] or token]))
    scheme = draw(st.sampled_from(["Basic", "basic", "BASIC", "Basic\t", " Basic", "Bearer"]))
    sep = "" if scheme.endswith("\t") else " "
    return f"{scheme}{sep}{token}"


class TestShortcutAgreesWithGeneralPath:
    @settings(max_examples=400, deadline=None)
    @given(value=basic_headers())
    def test_generated_headers(self, value: str) -> None:
        """Wherever basic_only answers, the general path reaches the equal Presented; where
        it declines, extract_credentials still reads the request in full."""
        header = ("authorization", value)
        lone = ClientRequest([header])
        short = basic_only(lone, CredentialOptions())
        if short is not None:
            assert short == general(header)
        full: object
        try:
            full = extract_credentials(lone)
        except CredentialsError as exc:
            full = (exc.kind, exc.reason)
        assert full == general(header)

    @pytest.mark.parametrize("request_", [
        ClientRequest([("authorization", basic(f"c:{SECRET}"))] * 2),
        ClientRequest([("authorization", basic(f"c:{SECRET}")), ("client_id", "c")]),
        ClientRequest([("authorization", basic(f"c:{SECRET}")), ("client_secret", "s")]),
        ClientRequest([("authorization", basic(f"c:{SECRET}"))], form={"client_id": "c"}),
        ClientRequest([("authorization", basic(f"c:{SECRET}"))], query={"client_id": "c"}),
    ], ids=["two-authorization", "id-header", "secret-header", "form", "query-allowed"])
    def test_declines_when_anything_else_can_carry_credentials(
        self, request_: ClientRequest
    ) -> None:
        """A second Authorization header, an id or secret header, a form, a query that is
        read: the shortcut leaves the request to the general path."""
        assert basic_only(request_, CredentialOptions(allow_query=True)) is None


class TestLongestBasic:
    def test_no_part_over_its_limit_fits(self) -> None:
        """What basic_value reads (_LONGEST_BASIC) decodes to at most the smaller limit, so
        neither the id nor the secret it returns can be over its own."""
        from clientauth.request import _LONGEST_BASIC, basic_value

        most = (_LONGEST_BASIC - len("Basic ")) // 4 * 3
        assert most <= min(MAX_CLIENT_ID_LENGTH, MAX_SECRET_LENGTH)
        secret = "s" * (most - 2)
        assert basic_value(basic(f"c:{secret}")) == ("c", secret)  # the longest read
        longer = basic(f"c:{secret}sss")
        assert len(longer) > _LONGEST_BASIC and basic_value(longer) is None


class TestAuthenticatorSameOutcome:
    """The Authenticator reads a Basic-only request through the shortcut; the same request
    with an unrelated form field beside it takes the general path. Every outcome -- success,
    wrong secret, unknown id, wrong method, expired secret, malformed -- must be equal."""

    @pytest.mark.parametrize("credentials", [
        f"basic:{SECRET}", f"basic:{SECRET}x", f"nobody:{SECRET}", f"post:{SECRET}",
        f"mtls:{SECRET}", f"expired:{SECRET}", "basic:", f":{SECRET}", "a%3Ab:c",
    ], ids=["right", "wrong", "unknown", "wrong-method", "certificate-client", "expired",
            "empty-secret", "empty-id", "form-encoded"])
    @pytest.mark.parametrize("forwarded", [False, True], ids=["direct", "behind-proxy"])
    def test_same_result(self, credentials: str, forwarded: bool) -> None:
        registry = clientauth.load_clients([
            {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
            {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
             "client_secret_hash": clientauth.hash_secret(SECRET)},
            {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=mtls"},
            {"client_id": "expired", "client_secrets": [{
                "hash": clientauth.hash_secret(SECRET), "expires_at": 1}]},
        ])
        header = ("authorization", basic(credentials))
        policy = (
            clientauth.ForwardedCertificates("nginx", trusted_proxies=["10.0.0.0/8"])
            if forwarded else None
        )
        auth = clientauth.Authenticator(registry, forwarded=policy)
        for peer in ("10.0.0.1", "203.0.113.9"):
            shortcut = auth.authenticate(ClientRequest([header], peer=peer))
            general = clientauth.Authenticator(registry, forwarded=policy).authenticate(
                ClientRequest([header], form={"unrelated": "x"}, peer=peer)
            )
            assert shortcut == general
            # A forwarded header (or another spelling of one) takes the full path: its
            # notice or refusal is never skipped.
            for name in ("x-ssl-client-cert", "x_ssl_client_cert"):
                spoofed = ClientRequest([header, (name, "-----BEGIN")], peer=peer)
                with_form = ClientRequest([header, (name, "-----BEGIN")], peer=peer,
                                          form={"unrelated": "x"})
                assert auth.authenticate(spoofed) == auth.authenticate(with_form)
                if forwarded and peer == "203.0.113.9" and name == "x-ssl-client-cert" and (
                    credentials == f"basic:{SECRET}"
                ):
                    assert auth.authenticate(spoofed).notices == (
                        clientauth.Notice.UNTRUSTED_FORWARDED_HEADER,
                    )
