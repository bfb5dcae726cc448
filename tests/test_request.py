"""ClientRequest and credential extraction (RFC 6749 2.3.1, 2.3)."""

from __future__ import annotations

import base64
import contextlib
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clientauth
from clientauth import AuthMethod
from clientauth.request import (
    MAX_HEADER_VALUE_LENGTH,
    ClientRequest,
    CredentialOptions,
    extract_credentials,
    parse_basic_authorization,
)


def basic(cid: str, secret: str, *, encode: bool = True) -> str:
    if encode:  # RFC 6749 2.3.1: form-urlencode each part before joining and base64
        cid, secret = quote_plus(cid), quote_plus(secret)
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


class TestBasic:
    @pytest.mark.parametrize(
        ("cid", "secret"),
        [("client", "s3cret"), ("a:b", "c:d:e"), ("100%", "50% off"), ("ünï", "påss wörd+/=")],
    )
    def test_rfc6749_encoding_roundtrip(self, cid: str, secret: str) -> None:
        """':' '%' '+' space and non-ASCII survive when the client form-encodes as required."""
        assert parse_basic_authorization(basic(cid, secret)) == (cid, secret)

    def test_scheme_case_and_missing_padding(self) -> None:
        """The scheme is case-insensitive; missing base64 padding is tolerated."""
        token = base64.b64encode(b"ab:cd").decode().rstrip("=")
        assert parse_basic_authorization("bAsIc " + token) == ("ab", "cd")

    @pytest.mark.parametrize(
        "value",
        [
            "Basic",
            "Basic ",
            "Basic !!!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:\x80").decode(),
            "Basic " + base64.b64encode(b"id:%FF%FE").decode(),
            "Basic a",
            "Basic " + "A" * (MAX_HEADER_VALUE_LENGTH + 1),
            "Bearer abc",
        ],
    )
    def test_malformed(self, value: str) -> None:
        """Malformed Basic values raise CredentialsError (a ValueError), never echoing input."""
        with pytest.raises(clientauth.CredentialsError) as info:
            parse_basic_authorization(value)
        assert isinstance(info.value, ValueError)
        if len(value) > 12:
            assert value[6:] not in str(info.value)

    @given(st.text(max_size=300))
    @settings(max_examples=300, deadline=None)
    def test_fuzz_only_credentials_error(self, value: str) -> None:
        """Any text either parses or raises CredentialsError -- nothing else."""
        with contextlib.suppress(clientauth.CredentialsError):
            parse_basic_authorization(value)


class TestExtract:
    def test_basic(self) -> None:
        """A Basic header yields id, secret, method client_secret_basic, source authorization."""
        p = extract_credentials(ClientRequest([("Authorization", basic("c", "s"))]))
        assert (p.client_id, p.secret, p.method, p.source) == (
            "c", "s", AuthMethod.CLIENT_SECRET_BASIC, "authorization")

    def test_post(self) -> None:
        """Form client_id + client_secret yield client_secret_post."""
        p = extract_credentials(ClientRequest(form={"client_id": "c", "client_secret": ["s"]}))
        assert (p.client_id, p.method, p.source) == ("c", AuthMethod.CLIENT_SECRET_POST, "form")

    def test_headers_configurable(self) -> None:
        """Custom id/secret headers, names configurable and case-insensitive."""
        req = ClientRequest([(b"X-Api-Id", b"c"), (b"X-Api-Key", b"s")])
        p = extract_credentials(req, CredentialOptions(id_header="x-api-id",
                                                       secret_header="X-API-KEY"))
        assert (p.client_id, p.secret, p.method) == ("c", "s", AuthMethod.CLIENT_SECRET_HEADER)
        assert extract_credentials(req).method is None  # default names do not match

    def test_query_only_when_enabled(self) -> None:
        """Query credentials are ignored unless explicitly enabled."""
        req = ClientRequest(query={"client_id": "c", "client_secret": "s"})
        assert extract_credentials(req).client_id is None
        p = extract_credentials(req, CredentialOptions(allow_query=True))
        assert (p.client_id, p.source) == ("c", "query")

    def test_id_only(self) -> None:
        """A client_id without a secret is an identifier (for certificate methods)."""
        p = extract_credentials(ClientRequest(form={"client_id": "c"}))
        assert (p.client_id, p.secret, p.method) == ("c", None, None)

    def test_bearer_ignored(self) -> None:
        """A Bearer token is not client authentication."""
        assert extract_credentials(ClientRequest([("Authorization", "Bearer x")])).client_id is None

    def test_basic_with_matching_form_id(self) -> None:
        """Basic plus the same client_id in the body is one method, not two."""
        p = extract_credentials(
            ClientRequest([("authorization", basic("c", "s"))], form={"client_id": "c"}))
        assert p.method is AuthMethod.CLIENT_SECRET_BASIC

    @pytest.mark.parametrize(
        ("request_", "kind"),
        [
            (ClientRequest([("authorization", basic("c", "s"))],
                           form={"client_id": "c", "client_secret": "s"}), "multiple_methods"),
            (ClientRequest([("client_id", "c"), ("client_secret", "s")],
                           form={"client_id": "c", "client_secret": "s"}), "multiple_methods"),
            (ClientRequest([("authorization", basic("c", "s"))], form={"client_id": "d"}),
             "conflicting_client_id"),
            (ClientRequest([("authorization", basic("c", "s")),
                            ("authorization", basic("c", "s"))]), "malformed_credentials"),
            (ClientRequest([("client_id", "c"), ("client_id", "c"), ("client_secret", "s")]),
             "malformed_credentials"),
            (ClientRequest(form={"client_id": ["c", "c"], "client_secret": "s"}),
             "malformed_credentials"),
            (ClientRequest(form={"client_secret": "s"}), "malformed_credentials"),
            (ClientRequest(form={"client_id": "", "client_secret": "s"}), "malformed_credentials"),
            (ClientRequest(form={"client_id": "a\x00b", "client_secret": "s"}),
             "malformed_credentials"),
            (ClientRequest([("client_id", b"\xff\xfe"), ("client_secret", "s")]),
             "malformed_credentials"),
            (ClientRequest(form={"client_id": "c", "client_secret": "s" * 20000}),
             "malformed_credentials"),
            (ClientRequest([("authorization", basic("c" * 2000, "s"))]), "malformed_credentials"),
            (ClientRequest(form={"client_id": 5, "client_secret": "s"}),  # type: ignore[dict-item]
             "malformed_credentials"),
        ],
    )
    def test_refusals(self, request_: ClientRequest, kind: str) -> None:
        """Each malformed or ambiguous request raises CredentialsError with the right kind."""
        with pytest.raises(clientauth.CredentialsError) as info:
            extract_credentials(request_)
        assert info.value.kind == kind


class TestClientRequest:
    def test_bytes_headers_and_repr_hides_values(self) -> None:
        """Bytes headers are accepted; repr shows header names only, never values."""
        req = ClientRequest([(b"Authorization", b"Basic c2VjcmV0")],
                            form={"client_secret": "top-secret"})
        assert req.header_values("AUTHORIZATION") == ["Basic c2VjcmV0"]
        assert "c2VjcmV0" not in repr(req) and "top-secret" not in repr(req)

    @pytest.mark.parametrize(
        "kwargs",
        [{"headers": 5}, {"headers": [("a",)]}, {"headers": [(1, 2)]}, {"form": ["x"]},
         {"peer": 5}, {"unreadable": ""}, {"unreadable": 5}],
    )
    def test_wrong_types(self, kwargs: dict[str, object]) -> None:
        """Programming errors raise ConfigurationError (a ClientAuthError), not TypeError."""
        with pytest.raises(clientauth.ConfigurationError):
            ClientRequest(**kwargs)  # type: ignore[arg-type]

    def test_options_validated(self) -> None:
        """CredentialOptions refuses nonsense eagerly."""
        for kwargs in ({"id_header": "x", "secret_header": "x"}, {"id_header": None},
                       {"secret_header": "authorization"}, {"id_header": ""}):
            with pytest.raises(clientauth.ConfigurationError):
                CredentialOptions(**kwargs)  # type: ignore[arg-type]


class TestWireLimits:
    """Issue 11 (findings 3, 5): a limit a client can cross is a refused request, never a
    ConfigurationError (which the adapters turned into a 500)."""

    @staticmethod
    def _auth() -> clientauth.Authenticator:
        return clientauth.Authenticator(clientauth.load_clients([
            {"client_id": "c", "client_secret_hash": clientauth.hash_secret("s" * 32)}]))

    def test_too_many_headers_is_refused_not_raised(self) -> None:
        """MAX_HEADERS + 1 fields (with valid Basic credentials among them) build a request
        that keeps nothing and is refused invalid_request."""
        headers = [("Authorization", basic("c", "s" * 32))]
        headers += [(f"x-{i}", "v") for i in range(clientauth.request.MAX_HEADERS)]
        request = ClientRequest(headers)
        assert request.unreadable and request.headers == ()
        with pytest.raises(clientauth.CredentialsError):
            extract_credentials(request)
        result = self._auth().authenticate(request)
        assert not result.ok and result.error == "invalid_request"

    def test_max_headers_exactly_is_read(self) -> None:
        """MAX_HEADERS fields is within the limit: the credentials are read."""
        headers = [("Authorization", basic("c", "s" * 32))]
        headers += [(f"x-{i}", "v") for i in range(clientauth.request.MAX_HEADERS - 1)]
        request = ClientRequest(headers)
        assert request.unreadable is None
        assert self._auth().authenticate(request).ok

    def test_long_tls_chain_is_refused_not_raised(self) -> None:
        """A TLS chain over MAX_CHAIN_LENGTH (what a server relays from the client) is a
        refused request, with no certificate kept."""
        from clientauth._x509 import MAX_CHAIN_LENGTH

        request = ClientRequest([("Authorization", basic("c", "s" * 32))],
                                tls_chain=[b"x"] * (MAX_CHAIN_LENGTH + 1))
        assert request.unreadable and request.tls_chain == ()
        result = self._auth().authenticate(request)
        assert not result.ok and result.error == "invalid_request"

    def test_unreadable_refuses_whatever_else_is_there(self) -> None:
        """An adapter's `unreadable` reason refuses a request even with valid credentials, and
        the reason shows in repr (it holds no secret)."""
        request = ClientRequest([("Authorization", basic("c", "s" * 32))],
                                form={"client_id": "c"}, unreadable="form body is not UTF-8")
        assert request.form is None
        assert "form body is not UTF-8" in repr(request)
        assert not self._auth().authenticate(request).ok

    def test_bound_token_guard_refuses_unreadable(self) -> None:
        """The resource-server guard refuses an unreadable request with 400 before it calls
        the token verifier."""
        from clientauth.resource import BoundTokenGuard

        def verify(token: str) -> dict[str, object]:
            raise AssertionError("must not be called")

        check = BoundTokenGuard(verify).check(ClientRequest(
            [("Authorization", "Bearer t")] + [(f"x-{i}", "v") for i in range(1000)]))
        assert (check.ok, check.status, check.error) == (False, 400, "invalid_request")
