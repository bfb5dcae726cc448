"""Authenticator, black-box: what a user of the public API sees for every outcome."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography import x509

import clientauth
from certs import NOW, Pki, clock, self_signed
from clientauth import Authenticator, AuthMethod, ClientRequest, Failure

SECRET = clientauth.generate_secret()
OLD, NEW, EXPIRED = (clientauth.generate_secret() for _ in range(3))
ODD = "a:b%c+d e/" + clientauth.generate_secret()
EPOCH = int(NOW.timestamp())
PINNED = self_signed("pinned")


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


class _TwoArgVerifier:
    """A custom verifier written to the original protocol: verify(chain, client) only."""

    def __init__(self, inner: clientauth.CertificateVerifier) -> None:
        self.inner = inner
        self.calls = 0

    def verify(self, chain: Sequence[x509.Certificate],
               client: clientauth.Client) -> clientauth.CertificateCheck:
        self.calls += 1
        return self.inner.verify(chain, client)


class _ThumbprintVerifier:
    """A custom verifier that takes the authenticator's leaf thumbprint."""

    def __init__(self, inner: clientauth.CertificateVerifier) -> None:
        self.inner = inner
        self.seen: list[str | None] = []

    def verify(self, chain: Sequence[x509.Certificate], client: clientauth.Client, *,
               leaf_thumbprint: str | None = None) -> clientauth.CertificateCheck:
        self.seen.append(leaf_thumbprint)
        return self.inner.verify(chain, client)


_SETTINGS_REFUSED = [
    # (supplied verifier keyword, dropped setting, value, where it belongs)
    ("pki", "trust_anchors", "pem", "PKIVerifier(trust_anchors=...)"),
    ("pki", "intermediates", "pem", "PKIVerifier(intermediates=...)"),
    ("pki", "max_chain_depth", 3, "PKIVerifier(max_chain_depth=...)"),
    ("pki", "revocation", "revocation", "PKIVerifier(revocation=...)"),
    ("pki", "require_san", True, "PKIVerifier(require_san=...)"),
    ("pinned", "jwks", "jwks", "PinnedVerifier(jwks=...)"),
    ("pinned", "check_pinned_validity", False, "PinnedVerifier(check_validity=...)"),
    ("assertions", "audience", "https://as.example", "AssertionVerifier(audience=...)"),
    ("assertions", "replay", "replay", "AssertionVerifier(replay=...)"),
    ("assertions", "jwks_keys", "jwks_keys", "AssertionVerifier(keys=...)"),
    ("assertions", "assertion_leeway", timedelta(seconds=5), "AssertionVerifier(leeway=...)"),
    ("assertions", "assertion_max_lifetime", timedelta(minutes=1),
     "AssertionVerifier(max_lifetime=...)"),
]


def _setting_value(value: object, pki: Pki) -> object:
    made: dict[object, object] = {
        "pem": [pki.root.cert],
        "revocation": clientauth.RevocationChecker(),
        "jwks": clientauth.JwksFetcher(),
        "replay": clientauth.MemoryReplayStore(),
        "jwks_keys": clientauth.JwksKeys(),
    }
    return made.get(value, value) if isinstance(value, str) else value


def _own_verifier(keyword: str) -> object:
    return {
        "pki": clientauth.PKIVerifier(now=clock(NOW)),
        "pinned": clientauth.PinnedVerifier(now=clock(NOW)),
        "assertions": clientauth.AssertionVerifier(audience="https://as.example"),
    }[keyword]


class TestSettingsNotDropped:
    """A setting that only configures a default verifier is refused when that verifier is
    supplied (issue 17 item 3): silently ignoring max_chain_depth=3 would validate longer
    paths than the operator asked for."""

    @pytest.mark.parametrize(("keyword", "setting", "value", "belongs"), _SETTINGS_REFUSED)
    def test_refused_with_own_verifier(
        self, pki: Pki, keyword: str, setting: str, value: object, belongs: str
    ) -> None:
        """Each combination raises ConfigurationError naming the dropped setting and the
        verifier keyword it belongs to."""
        kwargs = {keyword: _own_verifier(keyword), setting: _setting_value(value, pki)}
        with pytest.raises(clientauth.ConfigurationError) as raised:
            Authenticator(clientauth.MemoryRegistry([]), **kwargs)  # type: ignore[arg-type]
        message = str(raised.value)
        assert setting in message
        assert belongs in message

    def test_all_dropped_settings_named(self) -> None:
        """Several dropped settings are all named in one error."""
        with pytest.raises(clientauth.ConfigurationError, match="jwks, check_pinned_validity"):
            Authenticator(clientauth.MemoryRegistry([]), pinned=_TwoArgVerifier(
                clientauth.PinnedVerifier()), jwks=clientauth.JwksFetcher(),
                check_pinned_validity=False)

    @pytest.mark.parametrize("setting", ["replay", "jwks_keys", "assertion_leeway",
                                         "assertion_max_lifetime"])
    def test_assertion_settings_without_audience(self, pki: Pki, setting: str) -> None:
        """Without an audience no assertion verifier is built, so its settings would
        configure nothing: refused, and the error says audience= is what is missing."""
        value = {s: v for _, s, v, _ in _SETTINGS_REFUSED}[setting]
        with pytest.raises(clientauth.ConfigurationError, match="audience"):
            Authenticator(clientauth.MemoryRegistry([]),
                          **{setting: _setting_value(value, pki)})  # type: ignore[arg-type]

    def test_defaults_accepted_with_own_verifiers(self) -> None:
        """Default values are not settings: pki=, pinned=, assertions= alone (and an explicit
        check_pinned_validity=True, the default) are accepted."""
        Authenticator(clientauth.MemoryRegistry([]), pki=_own_verifier("pki"),  # type: ignore[arg-type]
                      pinned=_own_verifier("pinned"),  # type: ignore[arg-type]
                      assertions=_own_verifier("assertions"),  # type: ignore[arg-type]
                      check_pinned_validity=True)

    @pytest.mark.parametrize("keyword", ["pki", "pinned"])
    def test_not_a_verifier(self, keyword: str) -> None:
        """A pki/pinned object without a verify method is refused when the Authenticator is
        built, not with an AttributeError on the first certificate."""
        with pytest.raises(clientauth.ConfigurationError, match="verify"):
            Authenticator(clientauth.MemoryRegistry([]), **{keyword: object()})  # type: ignore[arg-type]


class TestCustomVerifiers:
    """The CertificateVerifier protocol: verify(chain, client), plus the leaf's thumbprint
    for a verifier that takes the keyword leaf_thumbprint -- by its signature, not its
    class."""

    @pytest.fixture
    def registry(self, pki: Pki) -> clientauth.MemoryRegistry:
        return clientauth.load_clients([
            {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=mtls"},
            {"client_id": "pinned", "token_endpoint_auth_method":
                "self_signed_tls_client_auth", "tls_client_certificates": [PINNED.pem]},
        ])

    def test_two_argument_verifiers_still_work(
        self, pki: Pki, registry: clientauth.MemoryRegistry
    ) -> None:
        """Verifiers written to verify(chain, client) are called exactly so and decide."""
        own_pki = _TwoArgVerifier(clientauth.PKIVerifier([pki.root.cert], now=clock(NOW)))
        own_pinned = _TwoArgVerifier(clientauth.PinnedVerifier(now=clock(NOW)))
        auth = Authenticator(registry, pki=own_pki, pinned=own_pinned, now=clock(NOW))
        leaf = pki.leaf("mtls")
        ok(auth.authenticate(ClientRequest(form={"client_id": "mtls"},
                                           tls_chain=pki.chain_for(leaf))),
           "mtls", AuthMethod.TLS_CLIENT_AUTH)
        ok(auth.authenticate(ClientRequest(form={"client_id": "pinned"},
                                           tls_chain=[PINNED.cert])),
           "pinned", AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH)
        assert (own_pki.calls, own_pinned.calls) == (1, 1)

    def test_thumbprint_given_to_any_verifier_that_takes_it(
        self, pki: Pki, registry: clientauth.MemoryRegistry
    ) -> None:
        """A custom pki or pinned verifier with a leaf_thumbprint keyword receives the
        x5t#S256 of the presented leaf -- the same value the result reports."""
        own_pki = _ThumbprintVerifier(clientauth.PKIVerifier([pki.root.cert], now=clock(NOW)))
        own_pinned = _ThumbprintVerifier(clientauth.PinnedVerifier(now=clock(NOW)))
        auth = Authenticator(registry, pki=own_pki, pinned=own_pinned, now=clock(NOW))
        leaf = pki.leaf("mtls")
        mtls = auth.authenticate(ClientRequest(form={"client_id": "mtls"},
                                               tls_chain=pki.chain_for(leaf)))
        pinned = auth.authenticate(ClientRequest(form={"client_id": "pinned"},
                                                 tls_chain=[PINNED.cert]))
        assert mtls.ok and pinned.ok
        assert own_pki.seen == [clientauth.certificate_thumbprint(leaf.cert)]
        assert own_pinned.seen == [clientauth.certificate_thumbprint(PINNED.cert)]

    def test_pinned_verifier_does_not_hash_again(
        self, registry: clientauth.MemoryRegistry, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The default PinnedVerifier still gets the thumbprint and never recomputes it."""
        def no_second_hash(cert: object) -> str:
            raise AssertionError("the pinned verifier hashed the leaf again")

        auth = Authenticator(registry, now=clock(NOW))
        monkeypatch.setattr("clientauth.pinned.certificate_thumbprint", no_second_hash)
        ok(auth.authenticate(ClientRequest(form={"client_id": "pinned"},
                                           tls_chain=[PINNED.cert])),
           "pinned", AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH)
