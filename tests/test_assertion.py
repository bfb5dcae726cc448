"""Client assertions through Authenticator.authenticate (RFC 7523, RFC 7521 4.2, OIDC Core 9).

What must hold: a valid private_key_jwt / client_secret_jwt assertion authenticates its
client once; every rule of RFC 7523 3 refuses with ``invalid_assertion`` (or
``replayed_assertion``) and a detail naming the check, never the token; a second credential
is ``multiple_methods``; a credential of the other kind is ``method_not_allowed``; a
conflicting ``client_id`` or a malformed form is ``invalid_request``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import clientauth
from assertion_keys import (
    ALG_KEYS,
    AUDIENCE,
    SECRET,
    T0,
    TOKEN_ENDPOINT,
    assertion_request,
    claims,
    hs_client,
    pk_client,
    private_key,
    public_jwk,
    sign,
)
from certs import NOW, Clock, Pki, self_signed
from clientauth import (
    Authenticator,
    AuthMethod,
    AuthResult,
    Client,
    ClientRequest,
    ConfigurationError,
    Failure,
    MemoryReplayStore,
    hash_secret,
    load_clients,
)
from clientauth.assertion import MAX_ASSERTION_LENGTH, MAX_KEYS_TRIED
from clientauth.request import JWT_BEARER

ALL_ASYMMETRIC = sorted(ALG_KEYS)
BASIC_SECRET = "basic-secret-0123456789-0123456789"


def registry(*extra: dict[str, Any]) -> clientauth.MemoryRegistry:
    return load_clients([
        pk_client(), hs_client(),
        {"client_id": "basic", "client_secret_hash": hash_secret(BASIC_SECRET)},
        *extra,
    ])


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def auth(clock: Clock) -> Authenticator:
    return Authenticator(registry(), audience=[AUDIENCE, TOKEN_ENDPOINT], now=clock)


def refused(result: AuthResult, failure: Failure, check: str | None = None) -> None:
    assert not result.ok
    assert result.failure is failure, (result.failure, result.detail)
    if check is not None:
        assert result.detail.startswith(check), result.detail


class TestAccepted:
    @pytest.mark.parametrize("alg", ALL_ASYMMETRIC)
    def test_private_key_jwt_each_algorithm(self, auth: Authenticator, alg: str) -> None:
        """Every asymmetric algorithm of RFC 7518 3.3-3.5 / RFC 8037 authenticates."""
        result = auth.authenticate(assertion_request(sign(claims(), alg)))
        assert result.ok, result.detail
        assert result.client_id == "pk-client"
        assert result.method is AuthMethod.PRIVATE_KEY_JWT
        assert result.source == "form"
        assert result.expires_at is None

    @pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
    def test_client_secret_jwt_each_algorithm(self, auth: Authenticator, alg: str) -> None:
        """Every HMAC algorithm of RFC 7518 3.2 authenticates a client_secret_jwt client."""
        result = auth.authenticate(assertion_request(sign(claims("hs-client"), alg)))
        assert result.ok, result.detail
        assert result.method is AuthMethod.CLIENT_SECRET_JWT

    def test_audience_array_and_token_endpoint(self, auth: Authenticator) -> None:
        """aud may be an array holding one accepted value, or the token endpoint URL."""
        for aud in (["https://other.example", AUDIENCE], TOKEN_ENDPOINT, [TOKEN_ENDPOINT]):
            assert auth.authenticate(assertion_request(sign(claims(aud=aud)))).ok

    def test_matching_client_id(self, auth: Authenticator) -> None:
        """client_id is optional; when sent and equal to sub it is accepted (RFC 7521 4.2)."""
        result = auth.authenticate(assertion_request(sign(claims()), client_id="pk-client"))
        assert result.ok

    def test_without_iat_or_kid(self, auth: Authenticator) -> None:
        """iat is optional (lifetime then runs from now); without kid the keys of the
        algorithm's type are tried."""
        assert auth.authenticate(assertion_request(sign(claims(iat=None), kid=None))).ok

    def test_explicit_typ(self, auth: Authenticator) -> None:
        """rfc7523bis explicit typing and plain JWT are both accepted."""
        for typ in ("client-authentication+jwt", "JWT"):
            token = sign(claims(), headers={"typ": typ})
            assert auth.authenticate(assertion_request(token)).ok


class TestClaims:
    @pytest.mark.parametrize(
        ("changes", "check"),
        [
            ({"iss": "someone"}, "iss/sub"),
            ({"iss": None}, "iss/sub"),
            ({"aud": "https://evil.example"}, "aud"),
            ({"aud": None}, "aud"),
            ({"aud": []}, "aud"),
            ({"aud": ["x"] * 17 + [AUDIENCE]}, "aud"),
            ({"aud": 7}, "aud"),
            ({"exp": None}, "exp"),
            ({"exp": "soon"}, "exp"),
            ({"exp": True}, "exp"),
            ({"exp": T0 - 31}, "exp"),
            ({"nbf": T0 + 31}, "nbf"),
            ({"nbf": "x"}, "nbf"),
            ({"iat": T0 + 31}, "iat"),
            ({"iat": None, "exp": T0 + 301}, "lifetime"),
            ({"iat": T0 - 250, "exp": T0 + 60}, "lifetime"),
            ({"jti": None}, "jti"),
            ({"jti": ""}, "jti"),
            ({"jti": 5}, "jti"),
            ({"jti": "j" * 513}, "jti"),
        ],
    )
    def test_each_rule(self, auth: Authenticator, changes: dict[str, Any], check: str) -> None:
        """Each RFC 7523 3 rule refuses with invalid_client and names its check; the
        token never appears in the detail."""
        token = sign(claims(**changes))
        result = auth.authenticate(assertion_request(token))
        refused(result, Failure.INVALID_ASSERTION, check)
        assert result.error == "invalid_client"
        assert token not in result.detail and token.split(".")[2] not in result.detail

    def test_leeway_honoured(self, auth: Authenticator) -> None:
        """Within the 30 s default leeway, exp / nbf / iat skew is accepted."""
        for changes in ({"exp": T0 - 29, "iat": T0 - 60}, {"nbf": T0 + 29}, {"iat": T0 + 29}):
            assert auth.authenticate(assertion_request(sign(claims(**changes)))).ok

    def test_configurable_leeway_and_lifetime(self, clock: Clock) -> None:
        """assertion_leeway and assertion_max_lifetime are settings."""
        auth = Authenticator(registry(), audience=AUDIENCE, now=clock,
                             assertion_leeway=timedelta(0),
                             assertion_max_lifetime=timedelta(minutes=30))
        refused(auth.authenticate(assertion_request(sign(claims(exp=T0)))),
                Failure.INVALID_ASSERTION, "exp")
        assert auth.authenticate(assertion_request(sign(claims(exp=T0 + 1500)))).ok

    def test_sub_names_the_client(self, auth: Authenticator) -> None:
        """Without client_id the client is the sub; an assertion with no usable sub is
        refused (iss/sub), not looked up."""
        refused(auth.authenticate(assertion_request(sign(claims(sub=None)))),
                Failure.INVALID_ASSERTION, "iss/sub")
        refused(auth.authenticate(assertion_request(sign(claims(sub=7)))),
                Failure.INVALID_ASSERTION, "iss/sub")
        result = auth.authenticate(assertion_request(sign(claims("ghost"))))
        refused(result, Failure.UNKNOWN_CLIENT)
        assert result.client_id == "ghost"


class TestReplay:
    def test_second_use_refused(self, auth: Authenticator) -> None:
        """RFC 7523 3 item 7: the same jti is refused the second time."""
        token = sign(claims())
        assert auth.authenticate(assertion_request(token)).ok
        result = auth.authenticate(assertion_request(token))
        refused(result, Failure.REPLAYED_ASSERTION, "jti")
        assert result.error == "invalid_client"

    def test_jti_is_per_client(self, auth: Authenticator) -> None:
        """The same jti used by two different clients is two assertions."""
        assert auth.authenticate(assertion_request(sign(claims(jti="same")))).ok
        assert auth.authenticate(assertion_request(sign(claims("hs-client", jti="same"),
                                                        "HS256"))).ok

    def test_failed_assertion_does_not_burn_jti(self, auth: Authenticator) -> None:
        """A forged assertion (bad signature) does not consume the jti of a real one."""
        forged = sign(claims(jti="victim"), key=private_key("p384"), alg="ES384", kid="p384")
        forged_sig = forged.rsplit(".", 1)[0] + "." + sign(claims(), "ES384").rsplit(".", 1)[1]
        refused(auth.authenticate(assertion_request(forged_sig)), Failure.INVALID_ASSERTION,
                "signature")
        assert auth.authenticate(assertion_request(sign(claims(jti="victim")))).ok

    def test_store_forgets_after_expiry(self, clock: Clock) -> None:
        """Entries expire at exp + leeway: the store stays bounded by time."""
        store = MemoryReplayStore(now=clock)
        auth = Authenticator(registry(), audience=AUDIENCE, now=clock, replay=store)
        assert auth.authenticate(assertion_request(sign(claims()))).ok
        assert len(store) == 1
        clock.advance(seconds=91)
        assert auth.authenticate(assertion_request(sign(claims(iat=T0 + 91,
                                                              exp=T0 + 150)))).ok
        assert len(store) == 1

    def test_full_store_refuses_not_forgets(self, clock: Clock) -> None:
        """A full in-memory store never evicts an unexpired jti (that would reopen it to
        replay): the request is answered as an outage (RegistryUnavailable, 503)."""
        auth = Authenticator(registry(), audience=AUDIENCE, now=clock,
                             replay=MemoryReplayStore(max_entries=1, now=clock))
        assert auth.authenticate(assertion_request(sign(claims()))).ok
        with pytest.raises(clientauth.RegistryUnavailable, match="replay_store"):
            auth.authenticate(assertion_request(sign(claims())))


class TestAlgorithms:
    def test_none_refused(self, auth: Authenticator) -> None:
        """alg none is never accepted."""
        token = jwt.encode(claims(), None, algorithm="none")
        refused(auth.authenticate(assertion_request(token + "AAAA")), Failure.INVALID_ASSERTION,
                "alg")
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "format")

    def test_hmac_keyed_with_public_key_refused(self, auth: Authenticator) -> None:
        """RFC 8725 3.1 key confusion: HS256 MACed with the client's public key (which an
        attacker knows) is refused for a private_key_jwt client."""
        public_pem = private_key("rsa").public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        header = base64.urlsafe_b64encode(json.dumps(
            {"alg": "HS256", "kid": "rsa"}).encode()).rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
        import hashlib
        import hmac
        mac = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
        token = b".".join((header, body, base64.urlsafe_b64encode(mac).rstrip(b"="))).decode()
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "alg")

    def test_asymmetric_refused_for_client_secret_jwt(self, auth: Authenticator) -> None:
        """A client_secret_jwt client accepts HMAC only."""
        refused(auth.authenticate(assertion_request(sign(claims("hs-client"), "ES256"))),
                Failure.INVALID_ASSERTION, "alg")

    def test_key_type_must_match(self, auth: Authenticator) -> None:
        """A kid naming a key of another type (or curve) than alg is refused (alg)."""
        token = sign(claims(), "ES256", kid="p384", key=private_key("p256"))
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "alg")
        token = sign(claims(), "RS256", kid="p256")
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "alg")

    def test_registered_signing_alg_only(self, clock: Clock) -> None:
        """token_endpoint_auth_signing_alg restricts the client to that algorithm."""
        reg = load_clients([pk_client(token_endpoint_auth_signing_alg="PS256")])
        auth = Authenticator(reg, audience=AUDIENCE, now=clock)
        assert auth.authenticate(assertion_request(sign(claims(), "PS256"))).ok
        refused(auth.authenticate(assertion_request(sign(claims(), "RS256"))),
                Failure.INVALID_ASSERTION, "alg")

    def test_crit_and_foreign_typ_refused(self, auth: Authenticator) -> None:
        """An unknown critical extension, or a JWT typed as something else (an access
        token), is not a client assertion."""
        token = sign(claims(), headers={"crit": ["exp"]})
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "crit")
        token = sign(claims(), headers={"typ": "at+jwt"})
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "typ")

    def test_wrong_secret_is_signature(self, auth: Authenticator) -> None:
        """An HMAC with another secret fails the signature check."""
        token = sign(claims("hs-client"), "HS256", key=b"x" * 64)
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION,
                "signature")


class TestKeys:
    def test_unknown_kid(self, auth: Authenticator) -> None:
        """A kid the client did not register is refused (kid)."""
        token = sign(claims(), "ES256", kid="nope")
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION, "kid")

    def test_kid_selects_the_key(self, clock: Clock) -> None:
        """Two keys of one type: kid picks the right one."""
        other = public_jwk("p384", kid="other")
        other.update({k: v for k, v in public_jwk("p256").items() if k in ("crv", "x", "y")})
        doc = pk_client(kinds=("p256",))
        doc["jwks"]["keys"].insert(0, {**public_jwk("p256"), "kid": "decoy",
                                       **_fresh_p256_coordinates()})
        auth = Authenticator(load_clients([doc]), audience=AUDIENCE, now=clock)
        assert auth.authenticate(assertion_request(sign(claims(), "ES256", kid="p256"))).ok
        refused(auth.authenticate(assertion_request(sign(claims(), "ES256", kid="decoy"))),
                Failure.INVALID_ASSERTION, "signature")
        # Without kid, each key of the type is tried: the right one is found.
        assert auth.authenticate(assertion_request(sign(claims(), "ES256", kid=None))).ok

    def test_keys_tried_without_kid_are_bounded(self, clock: Clock) -> None:
        """Without kid at most MAX_KEYS_TRIED keys are tried: a client key set cannot make
        one request cost many signature checks."""
        decoys = [{**public_jwk("p256"), **_fresh_p256_coordinates(), "kid": f"d{i}"}
                  for i in range(MAX_KEYS_TRIED)]
        doc = pk_client(kinds=("p256",))
        doc["jwks"]["keys"] = [*decoys, *doc["jwks"]["keys"]]
        auth = Authenticator(load_clients([doc]), audience=AUDIENCE, now=clock)
        refused(auth.authenticate(assertion_request(sign(claims(), "ES256", kid=None))),
                Failure.INVALID_ASSERTION, "signature")
        assert auth.authenticate(assertion_request(sign(claims(), "ES256", kid="p256"))).ok

    def test_encryption_keys_ignored(self, clock: Clock) -> None:
        """A key with use=enc, or key_ops without verify, never checks a signature."""
        for extra in ({"use": "enc"}, {"key_ops": ["encrypt"]}):
            doc = pk_client(kinds=("rsa",))
            doc["jwks"]["keys"][0].update(extra)
            doc["jwks"]["keys"].append(public_jwk("p256", kid="p256"))
            auth = Authenticator(load_clients([doc]), audience=AUDIENCE, now=clock)
            refused(auth.authenticate(assertion_request(sign(claims(), "RS256"))),
                    Failure.INVALID_ASSERTION, "kid")


def _fresh_p256_coordinates() -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm
    jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    return {"x": jwk["x"], "y": jwk["y"]}


class TestRequestShape:
    def test_conflicting_client_id(self, auth: Authenticator) -> None:
        """client_id different from sub is invalid_request (RFC 7521 4.2)."""
        result = auth.authenticate(assertion_request(sign(claims()), client_id="hs-client"))
        refused(result, Failure.CONFLICTING_CLIENT_ID)
        assert result.error == "invalid_request"

    @pytest.mark.parametrize(
        "form",
        [
            {"client_assertion": "a.b.c"},
            {"client_assertion_type": JWT_BEARER},
            {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
             "client_assertion": "a.b.c"},
            {"client_assertion_type": JWT_BEARER, "client_assertion": ""},
            {"client_assertion_type": JWT_BEARER, "client_assertion": ["a.b.c", "a.b.c"]},
            {"client_assertion_type": [JWT_BEARER, JWT_BEARER], "client_assertion": "a.b.c"},
            {"client_assertion_type": JWT_BEARER, "client_assertion": "x" * 20000},
        ],
    )
    def test_malformed_form(self, auth: Authenticator, form: dict[str, Any]) -> None:
        """Half an assertion, another assertion type, repeated or oversized parameters:
        invalid_request."""
        result = auth.authenticate(ClientRequest(form=form))
        assert not result.ok
        assert result.error == "invalid_request", result
        assert result.failure in {Failure.MALFORMED_ASSERTION, Failure.MALFORMED_CREDENTIALS}

    def test_oversized_token_refused_unparsed(self, auth: Authenticator) -> None:
        """An assertion longer than MAX_ASSERTION_LENGTH is refused without decoding it."""
        token = "a" * (MAX_ASSERTION_LENGTH - 4) + ".b.c"
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION)

    @pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.AA",
                                       "W10.e30.AA", "e30.W10.AA", "bnVsbA.e30.AA"])
    def test_garbage_token(self, auth: Authenticator, token: str) -> None:
        """Not a compact JWS with object header and claims: invalid_assertion (format)."""
        refused(auth.authenticate(assertion_request(token)), Failure.INVALID_ASSERTION)

    def test_duplicate_claims_refused(self, auth: Authenticator) -> None:
        """A claims set with a member twice is refused, never "last one wins"."""
        head = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"p256"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(
            b'{"sub":"pk-client","sub":"hs-client"}').rstrip(b"=").decode()
        refused(auth.authenticate(assertion_request(f"{head}.{body}.AAAA")),
                Failure.INVALID_ASSERTION, "format")


class TestMethods:
    def _basic(self, cid: str, secret: str) -> tuple[str, str]:
        raw = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        return ("authorization", f"Basic {raw}")

    def test_assertion_plus_basic(self, auth: Authenticator) -> None:
        """RFC 6749 2.3: an assertion with a Basic header is two methods."""
        request = ClientRequest([self._basic("basic", BASIC_SECRET)], form={
            "client_assertion_type": JWT_BEARER, "client_assertion": sign(claims())})
        refused(auth.authenticate(request), Failure.MULTIPLE_METHODS)

    def test_assertion_plus_form_secret(self, auth: Authenticator) -> None:
        """... with a client_secret in the form too."""
        request = assertion_request(sign(claims()), client_secret="x" * 20)
        refused(auth.authenticate(request), Failure.MULTIPLE_METHODS)

    def test_assertion_plus_header_secret(self, auth: Authenticator) -> None:
        """... with the id/secret headers too."""
        request = ClientRequest([("client_id", "pk-client"), ("client_secret", "x" * 20)],
                                form={"client_assertion_type": JWT_BEARER,
                                      "client_assertion": sign(claims())})
        refused(auth.authenticate(request), Failure.MULTIPLE_METHODS)

    def test_assertion_plus_query_secret(self, clock: Clock) -> None:
        """... with a query secret, when query credentials are read."""
        auth = Authenticator(registry(), audience=AUDIENCE, now=clock,
                             allow_query_credentials=True)
        request = ClientRequest(
            form={"client_assertion_type": JWT_BEARER, "client_assertion": sign(claims())},
            query={"client_id": "basic", "client_secret": BASIC_SECRET})
        refused(auth.authenticate(request), Failure.MULTIPLE_METHODS)

    def test_private_key_client_sending_secret(self, auth: Authenticator) -> None:
        """A private_key_jwt client presenting a secret: method_not_allowed."""
        request = ClientRequest([self._basic("pk-client", "whatever-secret")])
        result = auth.authenticate(request)
        refused(result, Failure.METHOD_NOT_ALLOWED)
        assert result.method is AuthMethod.CLIENT_SECRET_BASIC

    def test_secret_client_sending_assertion(self, auth: Authenticator) -> None:
        """A client_secret_basic client presenting an assertion: method_not_allowed."""
        result = auth.authenticate(assertion_request(sign(claims("basic"))))
        refused(result, Failure.METHOD_NOT_ALLOWED)

    def test_private_key_client_without_assertion(self, auth: Authenticator) -> None:
        """A private_key_jwt client naming itself without an assertion: missing_assertion."""
        result = auth.authenticate(ClientRequest(form={"client_id": "pk-client"}))
        refused(result, Failure.MISSING_ASSERTION)
        assert result.method is AuthMethod.PRIVATE_KEY_JWT

    def test_secret_jwt_client_cannot_use_secret_directly(self, auth: Authenticator) -> None:
        """The client_secret of a client_secret_jwt client is a MAC key, not a password:
        sent as client_secret_post it is refused."""
        result = auth.authenticate(ClientRequest(form={"client_id": "hs-client",
                                                       "client_secret": SECRET}))
        refused(result, Failure.METHOD_NOT_ALLOWED)
        assert SECRET not in result.detail


class TestConfiguration:
    def test_audience_required_for_memory_registry(self) -> None:
        """A registry with assertion clients and no audience: ConfigurationError at once."""
        with pytest.raises(ConfigurationError, match="audience"):
            Authenticator(registry())
        Authenticator(load_clients([{"client_id": "b",
                                     "client_secret_hash": hash_secret(BASIC_SECRET)}]))

    def test_audience_required_for_lazy_registry(self, clock: Clock) -> None:
        """A registry not read at construction (SQL): the first assertion client raises a
        clear ConfigurationError; other clients are unaffected."""
        inner = registry()

        class Lazy:
            def get(self, client_id: str) -> Client | None:
                return inner.get(client_id)

            def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
                return ()

        auth = Authenticator(Lazy(), now=clock)
        with pytest.raises(ConfigurationError, match="audience"):
            auth.authenticate(assertion_request(sign(claims())))
        assert auth.authenticate(ClientRequest([TestMethods()._basic("basic",
                                                                     BASIC_SECRET)])).ok

    @pytest.mark.parametrize("audience", ["", [], [""], [7], b"x", None.__class__])
    def test_bad_audience(self, audience: Any) -> None:
        """audience must be a non-empty string or sequence of them."""
        with pytest.raises(ConfigurationError):
            Authenticator(registry(), audience=audience)

    def test_settings_validated(self) -> None:
        """Leeway and lifetime are bounded; the replay store must be one."""
        for kwargs in ({"assertion_leeway": timedelta(hours=1)},
                       {"assertion_max_lifetime": timedelta(0)},
                       {"assertion_max_lifetime": timedelta(days=2)},
                       {"replay": object()}):
            with pytest.raises(ConfigurationError):
                Authenticator(registry(), audience=AUDIENCE, **kwargs)


class TestCertificateBoundTokens:
    def test_certificate_with_assertion(self, clock: Clock) -> None:
        """FAPI 2.0: private_key_jwt authenticates, the TLS certificate is no second
        method; the result carries its chain and x5t#S256 for binding tokens."""
        cert = self_signed("pk-client-tls").cert
        reg = load_clients([pk_client(tls_client_certificate_bound_access_tokens=True)])
        auth = Authenticator(reg, audience=AUDIENCE, now=clock)
        request = ClientRequest(form={"client_assertion_type": JWT_BEARER,
                                      "client_assertion": sign(claims())}, tls_chain=[cert])
        result = auth.authenticate(request)
        assert result.ok, result.detail
        assert result.certificate == cert and result.chain == (cert,)
        assert result.thumbprint == clientauth.certificate_thumbprint(cert)
        assert result.source == "form"
        assert reg.get("pk-client").tls_client_certificate_bound_access_tokens is True  # type: ignore[union-attr]

    def test_bound_tokens_flag_for_every_method(self, pki: Pki) -> None:
        """RFC 8705 3.4 is read for every method; absent means false."""
        basic = Client.from_metadata({"client_id": "b", "client_secret_hash":
                                      hash_secret(BASIC_SECRET),
                                      "tls_client_certificate_bound_access_tokens": True})
        assert basic.tls_client_certificate_bound_access_tokens is True
        assert Client.from_metadata(hs_client()).tls_client_certificate_bound_access_tokens \
            is False


class TestSourceWithCertificate:
    def test_refused_assertion_source_is_form(self, clock: Clock) -> None:
        """A refused assertion presented with a TLS certificate reports where the assertion
        came from (the form), and still carries the certificate's thumbprint."""
        cert = self_signed("pk-client-tls").cert
        auth = Authenticator(registry(), audience=AUDIENCE, now=clock)
        request = ClientRequest(form={"client_assertion_type": JWT_BEARER,
                                      "client_assertion": sign(claims(aud="x"))},
                                tls_chain=[cert])
        result = auth.authenticate(request)
        refused(result, Failure.INVALID_ASSERTION, "aud")
        assert result.source == "form" and result.thumbprint is not None
