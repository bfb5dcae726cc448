"""Authenticator, black-box: what a user of the public API sees for every outcome."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from urllib.parse import quote

import pytest

import clientauth
from certs import NOW, Pki, clock, self_signed
from clientauth import Authenticator, AuthMethod, ClientRequest, Failure

SECRET = clientauth.generate_secret()
OLD, NEW, EXPIRED = (clientauth.generate_secret() for _ in range(3))
ODD = "a:b%c+d e/" + clientauth.generate_secret()
EPOCH = int(NOW.timestamp())


def basic(cid: str, secret: str) -> tuple[str, str]:
    token = f"{quote(cid, safe='')}:{quote(secret, safe='')}".encode()
    return ("Authorization", "Basic " + base64.b64encode(token).decode())


@pytest.fixture(scope="module")
def auth() -> Authenticator:
    registry = clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "header", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "odd:id%", "client_secret_hash": clientauth.hash_secret(ODD)},
        {"client_id": "rotating", "client_secrets": [
            {"hash": clientauth.hash_secret(OLD), "expires_at": EPOCH + 3600},
            {"hash": clientauth.hash_secret(NEW)},
            {"hash": clientauth.hash_secret(EXPIRED), "expires_at": EPOCH - 1}]},
        {"client_id": "expiring", "client_secret_hash": clientauth.hash_secret(SECRET),
         "client_secret_expires_at": EPOCH + 60},
        {"client_id": "legacy", "client_secret_hash":
            clientauth.hash_secret("correct horse", scheme="pbkdf2_sha256")},
        {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls"},
    ])
    return Authenticator(registry, now=clock(NOW))


def ok(result: clientauth.AuthResult, client_id: str, method: AuthMethod) -> None:
    assert result.ok, result
    assert bool(result)
    assert (result.client_id, result.method, result.failure, result.error) == (
        client_id, method, None, None)


def refused(result: clientauth.AuthResult, failure: Failure, error: str) -> None:
    assert not result.ok
    assert not bool(result)
    assert (result.failure, result.error) == (failure, error), result


class TestSecretMethods:
    def test_basic(self, auth: Authenticator) -> None:
        """client_secret_basic with the right secret authenticates."""
        result = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        ok(result, "basic", AuthMethod.CLIENT_SECRET_BASIC)
        assert result.source == "authorization"

    def test_basic_special_characters(self, auth: Authenticator) -> None:
        """RFC 6749 2.3.1: an id and secret containing ':' '%' '+' ' ' '/' work when encoded."""
        ok(auth.authenticate(ClientRequest([basic("odd:id%", ODD)])), "odd:id%",
           AuthMethod.CLIENT_SECRET_BASIC)

    def test_post(self, auth: Authenticator) -> None:
        """client_secret_post with the right secret authenticates."""
        result = auth.authenticate(ClientRequest(form={"client_id": "post",
                                                       "client_secret": SECRET}))
        ok(result, "post", AuthMethod.CLIENT_SECRET_POST)
        assert result.source == "form"

    def test_header(self, auth: Authenticator) -> None:
        """client_secret_header with the right secret authenticates."""
        ok(auth.authenticate(ClientRequest([("client_id", "header"), ("client_secret", SECRET)])),
           "header", AuthMethod.CLIENT_SECRET_HEADER)

    def test_legacy_hash(self, auth: Authenticator) -> None:
        """An imported PBKDF2 hash verifies a human-chosen secret."""
        ok(auth.authenticate(ClientRequest([basic("legacy", "correct horse")])), "legacy",
           AuthMethod.CLIENT_SECRET_BASIC)

    def test_query_refused_by_default(self) -> None:
        """Query credentials are ignored unless enabled, and then authenticate as post."""
        registry = clientauth.load_clients([{"client_id": "q", "token_endpoint_auth_method":
                                             "client_secret_post",
                                             "client_secret_hash": clientauth.hash_secret(SECRET)}])
        req = ClientRequest(query={"client_id": "q", "client_secret": SECRET})
        refused(Authenticator(registry).authenticate(req), Failure.NO_CREDENTIALS,
                "invalid_client")
        ok(Authenticator(registry, allow_query_credentials=True).authenticate(req), "q",
           AuthMethod.CLIENT_SECRET_POST)


class TestRotation:
    def test_two_live_secrets(self, auth: Authenticator) -> None:
        """During rotation both the old (not yet expired) and the new secret work."""
        old = auth.authenticate(ClientRequest([basic("rotating", OLD)]))
        ok(old, "rotating", AuthMethod.CLIENT_SECRET_BASIC)
        assert old.expires_at == NOW + timedelta(seconds=3600)
        new = auth.authenticate(ClientRequest([basic("rotating", NEW)]))
        ok(new, "rotating", AuthMethod.CLIENT_SECRET_BASIC)
        assert new.expires_at is None

    def test_expired_secret(self, auth: Authenticator) -> None:
        """A correct but expired secret fails with expired_secret."""
        refused(auth.authenticate(ClientRequest([basic("rotating", EXPIRED)])),
                Failure.EXPIRED_SECRET, "invalid_client")

    def test_expiry_follows_clock(self, auth: Authenticator) -> None:
        """The injected clock decides expiry: the same secret fails once the clock passes it."""
        registry = clientauth.load_clients([{"client_id": "e", "client_secret_hash":
                                             clientauth.hash_secret(SECRET),
                                             "client_secret_expires_at": EPOCH + 60}])
        req = ClientRequest([basic("e", SECRET)])
        assert Authenticator(registry, now=clock(NOW)).authenticate(req).ok
        refused(Authenticator(registry, now=clock(NOW + timedelta(seconds=61))).authenticate(req),
                Failure.EXPIRED_SECRET, "invalid_client")

    def test_revocation_by_removal(self) -> None:
        """Removing a secret from the metadata revokes it at once."""
        registry = clientauth.load_clients([{"client_id": "r", "client_secret_hash": [
            clientauth.hash_secret(OLD), clientauth.hash_secret(NEW)]}])
        auth = Authenticator(registry)
        assert auth.authenticate(ClientRequest([basic("r", OLD)])).ok
        registry.replace(clientauth.Client.from_metadata(
            {"client_id": "r", "client_secret_hash": clientauth.hash_secret(NEW)}))
        refused(auth.authenticate(ClientRequest([basic("r", OLD)])), Failure.BAD_SECRET,
                "invalid_client")
        assert auth.authenticate(ClientRequest([basic("r", NEW)])).ok


class TestFailures:
    @pytest.mark.parametrize(
        ("request_", "failure", "error"),
        [
            (ClientRequest(), Failure.NO_CREDENTIALS, "invalid_client"),
            (ClientRequest([basic("basic", SECRET + "x")]), Failure.BAD_SECRET, "invalid_client"),
            (ClientRequest([basic("nobody", SECRET)]), Failure.UNKNOWN_CLIENT, "invalid_client"),
            (ClientRequest(form={"client_id": "basic", "client_secret": SECRET}),
             Failure.METHOD_NOT_ALLOWED, "invalid_client"),
            (ClientRequest([basic("post", SECRET)]), Failure.METHOD_NOT_ALLOWED, "invalid_client"),
            (ClientRequest([basic("mtls", SECRET)]), Failure.METHOD_NOT_ALLOWED, "invalid_client"),
            (ClientRequest(form={"client_id": "basic"}), Failure.MISSING_SECRET, "invalid_client"),
            (ClientRequest([basic("basic", "")]), Failure.MISSING_SECRET, "invalid_client"),
            (ClientRequest(form={"client_id": "mtls"}), Failure.MISSING_CERTIFICATE,
             "invalid_client"),
            (ClientRequest([basic("post", SECRET)],
                           form={"client_id": "post", "client_secret": SECRET}),
             Failure.MULTIPLE_METHODS, "invalid_request"),
            (ClientRequest([basic("basic", SECRET)], form={"client_id": "post"}),
             Failure.CONFLICTING_CLIENT_ID, "invalid_request"),
            (ClientRequest(tls_chain=[b"garbage"]), Failure.MALFORMED_CERTIFICATE,
             "invalid_client"),
        ],
    )
    def test_reason_and_error(
        self, auth: Authenticator, request_: ClientRequest, failure: Failure, error: str
    ) -> None:
        """Every failure reason maps to the RFC 6749 5.2 error code the contract names."""
        refused(auth.authenticate(request_), failure, error)

    @pytest.mark.parametrize(
        "headers",
        [
            [("Authorization", "")],
            [("Authorization", "Basic")],
            [("Authorization", "Basic ====")],
            [("Authorization", "Basic " + "\u00ff" * 10)],
            [("Authorization", b"Basic \xff\xfe\xfd")],
            [("Authorization", "Basic " + base64.b64encode(b"\xff:\xfe").decode())],
            [("Authorization", "Basic " + base64.b64encode(b"nocolon").decode())],
            [("Authorization", "Basic " + "QUFB" * 10_000)],
            [basic("basic", SECRET), basic("basic", SECRET)],
            [("client_id", "header"), ("client_secret", SECRET), ("client_secret", SECRET)],
            [("client_id", "x" * 100_000), ("client_secret", SECRET)],
            [("client_id", b"\xc3\x28"), ("client_secret", SECRET)],
        ],
    )
    def test_malformed_never_raises_never_accepts(
        self, auth: Authenticator, headers: list[tuple[str, str | bytes]]
    ) -> None:
        """Garbage, non-UTF-8, oversized and duplicated credentials: a failure, never an accept,
        never an exception."""
        result = auth.authenticate(ClientRequest(headers))  # type: ignore[arg-type]
        assert not result.ok
        assert result.error in ("invalid_request", "invalid_client")

    def test_unknown_vs_wrong_secret_same_error(self, auth: Authenticator) -> None:
        """An unknown client and a wrong secret give the same OAuth error (no enumeration)."""
        unknown = auth.authenticate(ClientRequest([basic("nobody", SECRET)]))
        wrong = auth.authenticate(ClientRequest([basic("basic", "x" * 43)]))
        assert unknown.error == wrong.error == "invalid_client"

    def test_failed_result_never_contains_secret(self, auth: Authenticator) -> None:
        """Neither detail nor repr of any result contains the presented secret."""
        for req in (ClientRequest([basic("basic", SECRET + "x")]),
                    ClientRequest([basic("nobody", SECRET)]),
                    ClientRequest(form={"client_id": "basic", "client_secret": SECRET})):
            result = auth.authenticate(req)
            assert SECRET not in repr(result) and SECRET not in result.detail

    def test_debug_log_has_no_secret(
        self, auth: Authenticator, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The DEBUG log line of an authentication carries no secret."""
        with caplog.at_level(logging.DEBUG, logger="clientauth"):
            auth.authenticate(ClientRequest([basic("basic", SECRET)]))
            auth.authenticate(ClientRequest([basic("basic", SECRET + "y")]))
        assert caplog.records
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert SECRET not in repr(record.__dict__)


class TestCertificateAlongsideSecret:
    def test_secret_client_with_certificate(self, auth: Authenticator, pki: Pki) -> None:
        """A secret client that also presents a TLS certificate is authenticated by its secret;
        the certificate and its thumbprint are reported (RFC 8705 3: bound tokens)."""
        leaf = pki.leaf("basic")
        result = auth.authenticate(ClientRequest([basic("basic", SECRET)], tls_chain=[leaf.cert]))
        ok(result, "basic", AuthMethod.CLIENT_SECRET_BASIC)
        assert result.thumbprint == clientauth.certificate_thumbprint(leaf.cert)

    def test_certificate_for_secret_client_without_secret(
        self, auth: Authenticator
    ) -> None:
        """A certificate does not stand in for a registered secret."""
        cert = self_signed("basic").cert
        refused(auth.authenticate(ClientRequest(form={"client_id": "basic"}, tls_chain=[cert])),
                Failure.METHOD_NOT_ALLOWED, "invalid_client")


class TestConstruction:
    def test_bad_registry(self) -> None:
        """A registry without the protocol methods is refused eagerly."""
        with pytest.raises(clientauth.ConfigurationError):
            Authenticator({"a": 1})  # type: ignore[arg-type]

    def test_bad_clock(self) -> None:
        """now must be callable."""
        with pytest.raises(clientauth.ConfigurationError):
            Authenticator(clientauth.load_clients([]), now=NOW)  # type: ignore[arg-type]

    def test_not_a_request(self, auth: Authenticator) -> None:
        """authenticate() refuses things that are not a ClientRequest with our error."""
        with pytest.raises(clientauth.ConfigurationError):
            auth.authenticate({"headers": []})  # type: ignore[arg-type]
