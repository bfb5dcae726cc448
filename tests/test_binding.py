"""RFC 8705 section 3: certificate-bound tokens -- x5t#S256, bind/check, JWT and introspection
helpers. The error contract: only InvalidToken (or its subclass BindingMismatch) escapes for
anything a token or its claims contain."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

import clientauth
from certs import NOW, Issued, new_key, self_signed
from clientauth import (
    BindingMismatch,
    CertificateParseError,
    ClientAuthError,
    ConfigurationError,
    InvalidToken,
    _x509,
    binding,
)
from clientauth.binding import (
    MAX_TOKEN_SIZE,
    bind_claims,
    certificate_thumbprint,
    check_binding,
    check_introspection_binding,
    decode_bound_token,
)


@pytest.fixture(scope="module")
def alice() -> Issued:
    return self_signed("alice")


@pytest.fixture(scope="module")
def bob() -> Issued:
    return self_signed("bob")


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def openssl_thumbprint(pem: str) -> str:
    """x5t#S256 by the openssl CLI: x509 -outform DER | dgst -sha256 -binary | base64url."""
    der = subprocess.run(
        ["openssl", "x509", "-outform", "DER"], input=pem.encode(), capture_output=True, check=True
    ).stdout
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True, check=True
    ).stdout
    assert len(digest) == 32
    return b64url(digest)


class TestThumbprint:
    @pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
    @pytest.mark.parametrize("kind", ["ec", "rsa"])
    def test_agrees_with_openssl_cli(self, kind: str) -> None:
        """Acceptance: our x5t#S256 equals openssl's SHA-256 of the DER, base64url without
        padding, for generated certificates of both key types."""
        issued = self_signed(f"openssl-{kind}", key=new_key(kind))
        expected = openssl_thumbprint(issued.pem)
        assert certificate_thumbprint(issued.cert) == expected
        assert certificate_thumbprint(issued.der) == expected
        assert len(expected) == 43 and "=" not in expected

    @pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
    def test_bound_claims_carry_openssl_thumbprint(self, alice) -> None:
        """What bind_claims writes into cnf is exactly what openssl computes."""
        claims = bind_claims({"sub": "c1"}, alice.cert)
        assert claims["cnf"]["x5t#S256"] == openssl_thumbprint(alice.pem)

    def test_reexported_not_rewritten(self) -> None:
        """binding.certificate_thumbprint is the one function from _x509 (and the package's)."""
        assert binding.certificate_thumbprint is _x509.certificate_thumbprint
        assert clientauth.certificate_thumbprint is _x509.certificate_thumbprint


class TestBindClaims:
    def test_adds_cnf(self, alice) -> None:
        """A claims set without cnf gets cnf = {x5t#S256: thumbprint}."""
        claims = {"sub": "c1", "aud": "api"}
        bound = bind_claims(claims, alice.cert)
        assert bound == {"sub": "c1", "aud": "api", "cnf": {"x5t#S256": alice_thumb(alice)}}

    def test_input_not_modified(self, alice) -> None:
        """bind_claims returns a copy; the caller's claims and cnf are untouched."""
        cnf = {"jkt": "abc"}
        claims = {"sub": "c1", "cnf": cnf}
        bind_claims(claims, alice.cert)
        assert claims == {"sub": "c1", "cnf": {"jkt": "abc"}}
        assert cnf == {"jkt": "abc"}

    def test_keeps_other_cnf_members(self, alice) -> None:
        """Existing cnf members (e.g. a DPoP jkt, RFC 9449) are kept."""
        bound = bind_claims({"cnf": {"jkt": "abc"}}, alice.cert)
        assert bound["cnf"] == {"jkt": "abc", "x5t#S256": alice_thumb(alice)}

    def test_replaces_existing_thumbprint(self, alice, bob) -> None:
        """Binding again replaces the previous certificate's thumbprint."""
        bound = bind_claims(bind_claims({}, alice.cert), bob.cert)
        assert bound["cnf"] == {"x5t#S256": alice_thumb(bob)}

    @pytest.mark.parametrize("form", ["cert", "der", "pem", "pem_bytes", "thumbprint"])
    def test_certificate_forms(self, alice, form: str) -> None:
        """Certificate, DER, PEM (str or bytes) and a thumbprint str all bind the same."""
        value = {
            "cert": alice.cert,
            "der": alice.der,
            "pem": alice.pem,
            "pem_bytes": alice.pem.encode(),
            "thumbprint": alice_thumb(alice),
        }[form]
        assert bind_claims({}, value)["cnf"]["x5t#S256"] == alice_thumb(alice)

    @pytest.mark.parametrize("value", [None, 42, "", "not a cert", b"", ["x"]], ids=repr)
    def test_unusable_certificate(self, value: Any) -> None:
        """Something that is no certificate raises CertificateParseError (a ValueError)."""
        with pytest.raises(CertificateParseError):
            bind_claims({}, value)

    @pytest.mark.parametrize("claims", [None, "x", [], 1])
    def test_claims_not_a_mapping(self, alice, claims: Any) -> None:
        """Claims must be a mapping."""
        with pytest.raises(InvalidToken):
            bind_claims(claims, alice.cert)

    @pytest.mark.parametrize("cnf", ["x", [], 1, True])
    def test_existing_cnf_not_an_object(self, alice, cnf: Any) -> None:
        """An existing cnf that is not an object is refused, not overwritten."""
        with pytest.raises(InvalidToken, match="cnf"):
            bind_claims({"cnf": cnf}, alice.cert)


def alice_thumb(issued: Issued) -> str:
    return certificate_thumbprint(issued.cert)


class TestCheckBinding:
    @pytest.mark.parametrize("form", ["cert", "der", "pem", "pem_bytes", "thumbprint"])
    def test_matching_certificate(self, alice, form: str) -> None:
        """The presented certificate, in any accepted form, matches its binding."""
        value = {
            "cert": alice.cert,
            "der": alice.der,
            "pem": alice.pem,
            "pem_bytes": alice.pem.encode(),
            "thumbprint": alice_thumb(alice),
        }[form]
        check_binding(bind_claims({"sub": "c1"}, alice.cert), value)

    def test_other_certificate(self, alice, bob) -> None:
        """A token bound to alice's certificate, presented with bob's: BindingMismatch,
        which is an InvalidToken with error invalid_token."""
        with pytest.raises(BindingMismatch, match="another certificate") as info:
            check_binding(bind_claims({}, alice.cert), bob.cert)
        assert isinstance(info.value, InvalidToken)
        assert isinstance(info.value, ClientAuthError)
        assert info.value.error == "invalid_token"

    def test_same_subject_other_key(self, alice) -> None:
        """A certificate with the same subject but another key does not match."""
        twin = self_signed("alice")
        with pytest.raises(BindingMismatch):
            check_binding(bind_claims({}, alice.cert), twin.cert)

    def test_no_certificate_presented(self, alice) -> None:
        """certificate=None: the caller presented none -- mismatch."""
        with pytest.raises(BindingMismatch, match="no client certificate presented"):
            check_binding(bind_claims({}, alice.cert), None)

    def test_missing_cnf(self, alice) -> None:
        """A token without cnf is not certificate-bound."""
        with pytest.raises(BindingMismatch, match="no cnf"):
            check_binding({"sub": "c1"}, alice.cert)

    @pytest.mark.parametrize("cnf", ["x5t", [], ["x5t#S256"], 1, True, 1.5])
    def test_cnf_not_an_object(self, alice, cnf: Any) -> None:
        """cnf must be a JSON object (RFC 7800 3.1)."""
        with pytest.raises(BindingMismatch, match="not a JSON object"):
            check_binding({"cnf": cnf}, alice.cert)

    def test_dpop_bound_token(self, alice) -> None:
        """A DPoP-bound token (cnf.jkt only, RFC 9449) fails with a message saying so."""
        with pytest.raises(BindingMismatch, match="DPoP"):
            check_binding(
                {"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}, alice.cert
            )

    @pytest.mark.parametrize("cnf", [{}, {"x5t": "abc"}, {"jwk": {"kty": "EC"}}, {"X5T#S256": "a"}])
    def test_cnf_other_members(self, alice, cnf: dict[str, Any]) -> None:
        """cnf without x5t#S256 (another confirmation method) is not certificate-bound."""
        with pytest.raises(BindingMismatch, match="x5t#S256"):
            check_binding({"cnf": cnf}, alice.cert)

    @pytest.mark.parametrize("value", [None, 1, [], {}, True, b"bytes"], ids=repr)
    def test_thumbprint_not_a_string(self, alice, value: Any) -> None:
        """cnf.x5t#S256 must be a string."""
        with pytest.raises(BindingMismatch):
            check_binding({"cnf": {"x5t#S256": value}}, alice.cert)

    @pytest.mark.parametrize(
        "value", ["", "é" * 43, "\ud800", "a" * 10_000, "=" * 43], ids=lambda v: repr(v[:8])
    )
    def test_odd_thumbprint_strings(self, alice, value: str) -> None:
        """Non-ASCII, surrogates, empty or huge values simply do not match."""
        with pytest.raises(BindingMismatch):
            check_binding({"cnf": {"x5t#S256": value}}, alice.cert)

    def test_padded_thumbprint_does_not_match(self, alice) -> None:
        """RFC 8705 3.1: base64url without padding; a padded value is a different string."""
        with pytest.raises(BindingMismatch):
            check_binding({"cnf": {"x5t#S256": alice_thumb(alice) + "="}}, alice.cert)

    @pytest.mark.parametrize("claims", [None, "x", [], 1, b"{}"], ids=repr)
    def test_claims_not_a_mapping(self, alice, claims: Any) -> None:
        """Claims that are not an object: InvalidToken."""
        with pytest.raises(InvalidToken):
            check_binding(claims, alice.cert)

    @pytest.mark.parametrize("certificate", [42, "garbage", b"", ["x"], "-----BEGIN x"], ids=repr)
    def test_unusable_presented_certificate(self, alice, certificate: Any) -> None:
        """An unusable presented certificate is a mismatch, not another exception."""
        with pytest.raises(BindingMismatch):
            check_binding(bind_claims({}, alice.cert), certificate)

    @settings(max_examples=300, deadline=None)
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["cnf", "x5t#S256", "jkt", "sub"]) | st.text(),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=10,
        )
    )
    def test_random_claims_only_invalid_token(self, alice, claims: Any) -> None:
        """Arbitrary JSON-like claims never raise anything but InvalidToken."""
        try:
            check_binding(claims, alice.cert)
        except InvalidToken:
            pass
        else:  # pragma: no cover - a random value matching the thumbprint
            pytest.fail("random claims were accepted")


class TestDecodeBoundToken:
    @pytest.fixture(scope="class")
    def public_key(self, signing_key) -> Any:
        return signing_key.public_key()

    def token(self, signing_key, claims: dict[str, Any], **kwargs: Any) -> str:
        base = {"sub": "c1", "iat": int(NOW.timestamp()), "exp": 2**40}
        return jwt.encode({**base, **claims}, signing_key, algorithm="ES256", **kwargs)

    def test_bound_token_accepted(self, signing_key, public_key, alice) -> None:
        """A valid ES256 token bound to the presented certificate returns its claims."""
        token = self.token(signing_key, bind_claims({"aud": "api"}, alice.cert))
        claims = decode_bound_token(
            token, public_key, algorithms=["ES256"], certificate=alice.cert, audience="api"
        )
        assert claims["sub"] == "c1"
        assert claims["cnf"] == {"x5t#S256": alice_thumb(alice)}

    def test_pem_key_and_thumbprint_certificate(self, signing_key, alice) -> None:
        """PEM public key and a precomputed thumbprint work as well."""
        pem = signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        token = self.token(signing_key, bind_claims({}, alice.cert))
        decode_bound_token(token, pem, algorithms=["ES256"], certificate=alice_thumb(alice))

    def test_other_certificate(self, signing_key, public_key, alice, bob) -> None:
        """A valid token presented with another certificate: BindingMismatch."""
        token = self.token(signing_key, bind_claims({}, alice.cert))
        with pytest.raises(BindingMismatch):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=bob.cert)

    def test_no_certificate(self, signing_key, public_key, alice) -> None:
        """A valid bound token presented without a certificate: BindingMismatch."""
        token = self.token(signing_key, bind_claims({}, alice.cert))
        with pytest.raises(BindingMismatch, match="no client certificate presented"):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=None)

    def test_unbound_token(self, signing_key, public_key, alice) -> None:
        """A valid token without cnf is refused: it is not certificate-bound."""
        token = self.token(signing_key, {})
        with pytest.raises(BindingMismatch, match="no cnf"):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)

    def test_dpop_token(self, signing_key, public_key, alice) -> None:
        """A DPoP-bound token is refused with a clear message."""
        token = self.token(signing_key, {"cnf": {"jkt": "x" * 43}})
        with pytest.raises(BindingMismatch, match="DPoP"):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)

    def test_expired_token(self, signing_key, public_key, alice) -> None:
        """PyJWT's verdicts become InvalidToken with PyJWT's message (not BindingMismatch)."""
        token = self.token(signing_key, bind_claims({"exp": 1000}, alice.cert))
        with pytest.raises(InvalidToken, match="expired") as info:
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)
        assert not isinstance(info.value, BindingMismatch)
        assert isinstance(info.value.__cause__, jwt.ExpiredSignatureError)

    def test_leeway(self, signing_key, public_key, alice) -> None:
        """leeway is passed to PyJWT."""
        token = self.token(signing_key, bind_claims({"exp": int(time.time()) - 5}, alice.cert))
        with pytest.raises(InvalidToken):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)
        decode_bound_token(
            token, public_key, algorithms=["ES256"], certificate=alice.cert, leeway=60
        )
        decode_bound_token(
            token,
            public_key,
            algorithms=["ES256"],
            certificate=alice.cert,
            leeway=timedelta(minutes=1),
        )

    def test_wrong_key(self, signing_key, alice) -> None:
        """A token signed by another key: InvalidToken (signature verification failed)."""
        other = ec.generate_private_key(ec.SECP256R1()).public_key()
        token = self.token(signing_key, bind_claims({}, alice.cert))
        with pytest.raises(InvalidToken, match="Signature verification failed"):
            decode_bound_token(token, other, algorithms=["ES256"], certificate=alice.cert)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"audience": "other"}, "(?i)audience"),
            ({"issuer": "https://as.example"}, "iss"),
            ({"subject": "c2"}, "sub"),
            ({"options": {"require": ["jti"]}}, "jti"),
        ],
    )
    def test_registered_claims(self, signing_key, public_key, alice, kwargs, message) -> None:
        """aud / iss / sub / required claims are checked by PyJWT -> InvalidToken."""
        token = self.token(signing_key, bind_claims({"aud": "api"}, alice.cert))
        kwargs = {"audience": "api", **kwargs}
        with pytest.raises(InvalidToken, match=message):
            decode_bound_token(
                token, public_key, algorithms=["ES256"], certificate=alice.cert, **kwargs
            )

    def test_algorithm_not_allowed(self, signing_key, public_key, alice) -> None:
        """A token whose alg is not in algorithms: InvalidToken."""
        token = self.token(signing_key, bind_claims({}, alice.cert))
        with pytest.raises(InvalidToken, match="alg value is not allowed"):
            decode_bound_token(token, public_key, algorithms=["RS256"], certificate=alice.cert)

    def test_unsecured_token_refused(self, public_key, alice) -> None:
        """alg=none tokens are refused (RFC 8725 3.2) -- by PyJWT, as InvalidToken."""
        token = jwt.encode(bind_claims({"sub": "c1"}, alice.cert), None, algorithm="none")
        with pytest.raises(InvalidToken):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)

    def test_hmac_confusion_refused(self, signing_key, alice) -> None:
        """An HS256 token "signed" with the public key's PEM as HMAC secret is refused even
        when HS256 is allowed (algorithm confusion, RFC 8725 2.1)."""
        pem = signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = b64url(b'{"alg":"HS256","typ":"JWT"}')
        payload = b64url(json.dumps(bind_claims({"sub": "c1"}, alice.cert)).encode())
        signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{b64url(signature)}"
        with pytest.raises(InvalidToken):
            decode_bound_token(token, pem, algorithms=["ES256", "HS256"], certificate=alice.cert)

    def test_algorithms_required(self, signing_key, public_key, alice) -> None:
        """algorithms has no default: omitting it is a TypeError at the call."""
        token = self.token(signing_key, bind_claims({}, alice.cert))
        with pytest.raises(TypeError):
            decode_bound_token(token, public_key, certificate=alice.cert)  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        "algorithms",
        [[], (), "ES256", b"ES256", None, ["none"], ["ES256", "NONE"], [1]],
        ids=repr,
    )
    def test_bad_algorithms(self, public_key, alice, algorithms: Any) -> None:
        """Empty, a bare string, or including "none": ConfigurationError, for any token."""
        with pytest.raises(ConfigurationError):
            decode_bound_token("x", public_key, algorithms=algorithms, certificate=alice.cert)

    @pytest.mark.parametrize("options", [{"verify_signature": False}, {"verify_signature": 0}, "x"])
    def test_signature_check_cannot_be_disabled(self, public_key, alice, options: Any) -> None:
        """verify_signature=False would make the binding meaningless: refused."""
        with pytest.raises(ConfigurationError):
            decode_bound_token(
                "x", public_key, algorithms=["ES256"], certificate=alice.cert, options=options
            )

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "a",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            "....",
            "eyJ.eyJ.sig",
            "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln",
            "eyJhbGciOiJFUzI1NiJ9..c2ln",
            None,
            123,
            ["a"],
            b"\xff\xfe.\x00\x01.\x02",
            "x" * (MAX_TOKEN_SIZE + 1),
        ],
        ids=lambda t: repr(t)[:20],
    )
    def test_garbage_tokens(self, public_key, alice, token: Any) -> None:
        """Garbage, truncated and wrongly typed tokens raise InvalidToken only."""
        with pytest.raises(InvalidToken):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)

    def test_truncated_tokens(self, signing_key, public_key, alice) -> None:
        """Every prefix of a valid token is refused with InvalidToken."""
        token = self.token(signing_key, bind_claims({}, alice.cert))
        for end in range(len(token)):
            with pytest.raises(InvalidToken):
                decode_bound_token(
                    token[:end], public_key, algorithms=["ES256"], certificate=alice.cert
                )

    def test_claims_wrong_types(self, signing_key, public_key, alice) -> None:
        """Wrongly typed registered claims (exp as a string, ...) give InvalidToken."""
        for claims in ({"exp": "soon"}, {"nbf": []}, {"iat": "x"}, {"aud": 5}, {"iss": 1}):
            # Signed as raw JWS: jwt.encode itself refuses some of these claim types.
            payload = json.dumps(bind_claims({"sub": "c1", **claims}, alice.cert)).encode()
            token = jwt.api_jws.encode(payload, signing_key, algorithm="ES256")
            with pytest.raises(InvalidToken):
                decode_bound_token(
                    token,
                    public_key,
                    algorithms=["ES256"],
                    certificate=alice.cert,
                    audience="api",
                    issuer="https://as.example",
                )

    @settings(max_examples=500, deadline=None)
    @given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
    def test_random_tokens_only_invalid_token(self, public_key, alice, token: Any) -> None:
        """Hypothesis: random strings and bytes as tokens raise InvalidToken, nothing else."""
        with pytest.raises(InvalidToken):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.binary(max_size=60).map(b64url),
                st.sampled_from(["eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJub25lIn0", "e30", ""]),
            ),
            min_size=1,
            max_size=5,
        ).map(".".join)
    )
    def test_random_segments_only_invalid_token(self, public_key, alice, token: str) -> None:
        """Hypothesis: dot-joined base64url segments (JWT-shaped garbage) -> InvalidToken."""
        with pytest.raises(InvalidToken):
            decode_bound_token(token, public_key, algorithms=["ES256"], certificate=alice.cert)


class TestIntrospection:
    def test_active_bound(self, alice) -> None:
        """active=true and a matching cnf passes (RFC 8705 3.2)."""
        check_introspection_binding(bind_claims({"active": True}, alice.cert), alice.cert)

    @pytest.mark.parametrize("active", [False, None, "true", 1, "yes"], ids=repr)
    def test_not_active(self, alice, active: Any) -> None:
        """Anything but the JSON boolean true is an inactive token: InvalidToken, and not a
        binding mismatch (the binding is irrelevant)."""
        response = bind_claims({"active": active}, alice.cert)
        with pytest.raises(InvalidToken, match="not active") as info:
            check_introspection_binding(response, alice.cert)
        assert not isinstance(info.value, BindingMismatch)

    def test_missing_active(self, alice) -> None:
        """A response without active is not an active token."""
        with pytest.raises(InvalidToken, match="not active"):
            check_introspection_binding(bind_claims({}, alice.cert), alice.cert)

    def test_active_other_certificate(self, alice, bob) -> None:
        """Active but bound to another certificate: BindingMismatch."""
        with pytest.raises(BindingMismatch):
            check_introspection_binding(bind_claims({"active": True}, alice.cert), bob.cert)

    def test_active_unbound(self, alice) -> None:
        """Active but without cnf: BindingMismatch."""
        with pytest.raises(BindingMismatch, match="no cnf"):
            check_introspection_binding({"active": True}, alice.cert)

    def test_active_no_certificate(self, alice) -> None:
        """Active and bound, but no certificate presented: BindingMismatch."""
        with pytest.raises(BindingMismatch, match="no client certificate presented"):
            check_introspection_binding(bind_claims({"active": True}, alice.cert), None)

    @pytest.mark.parametrize("response", [None, "x", [], 1], ids=repr)
    def test_not_an_object(self, alice, response: Any) -> None:
        """A response that is not an object: InvalidToken."""
        with pytest.raises(InvalidToken):
            check_introspection_binding(response, alice.cert)
