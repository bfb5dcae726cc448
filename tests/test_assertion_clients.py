"""Client metadata of the assertion methods (RFC 7591 2, RFC 7523, RFC 8705 3.4).

What must hold: ``client_secret`` is accepted for client_secret_jwt only, as its MAC key, and
never appears in a repr, an error, ``client show`` / ``client list`` output or an audit event;
private_key_jwt needs public signing keys (jwks or jwks_uri) and no secret;
``token_endpoint_auth_signing_alg`` is checked against the method;
``tls_client_certificate_bound_access_tokens`` is a boolean read for every method.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from assertion_keys import AUDIENCE, SECRET, assertion_request, claims, hs_client, pk_client, sign
from certs import NOW, clock
from clientauth import (
    Authenticator,
    AuthMethod,
    Client,
    ClientMetadataError,
    generate_secret,
    hash_secret,
    load_clients,
)
from clientauth._jwk import hmac_key, key_fits


def refused(doc: dict[str, Any], field: str) -> str:
    with pytest.raises(ClientMetadataError) as info:
        Client.from_metadata(doc)
    assert info.value.field == field, str(info.value)
    message = str(info.value)
    assert SECRET not in message
    return message


class TestClientSecretJwt:
    def test_accepted_with_secret(self) -> None:
        """client_secret_jwt keeps client_secret as its one MAC key; the repr hides it."""
        client = Client.from_metadata(hs_client())
        assert client.method is AuthMethod.CLIENT_SECRET_JWT
        assert len(client.assertion_keys) == 1
        assert SECRET not in repr(client) and SECRET not in repr(client.assertion_keys)
        assert SECRET not in str(client.assertion_keys)

    @pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post",
                                        "client_secret_header", "private_key_jwt",
                                        "tls_client_auth", "self_signed_tls_client_auth"])
    def test_clear_secret_refused_for_other_methods(self, method: str) -> None:
        """Every other method keeps refusing a clear-text client_secret, without echoing it."""
        doc = {**pk_client(), "token_endpoint_auth_method": method, "client_secret": SECRET,
               "client_secret_hash": hash_secret(generate_secret()),
               "tls_client_auth_subject_dn": "CN=x"}
        refused(doc, "client_secret")

    def test_secret_required(self) -> None:
        """client_secret_jwt without client_secret is refused (and says why)."""
        doc = hs_client()
        del doc["client_secret"]
        assert "private_key_jwt" in refused(doc, "client_secret")

    def test_hash_instead_of_secret(self) -> None:
        """A hash cannot key a MAC: client_secret_hash is refused for client_secret_jwt."""
        doc = {**hs_client(), "client_secret_hash": hash_secret(generate_secret())}
        refused(doc, "client_secret_hash")

    @pytest.mark.parametrize("secret", ["short", "x" * 31, 12345, "tab\there" * 8])
    def test_weak_or_odd_secret(self, secret: object) -> None:
        """An HS256 key shorter than the hash (RFC 7518 3.2), or not printable text, is
        refused; the value is never quoted."""
        message = refused({**hs_client(), "client_secret": secret}, "client_secret")
        assert str(secret) not in message

    def test_signing_alg_needs_long_enough_secret(self) -> None:
        """HS512 registered with a 32-byte secret is refused at registration."""
        refused({**hs_client(), "client_secret": "s" * 32,
                 "token_endpoint_auth_signing_alg": "HS512"}, "token_endpoint_auth_signing_alg")
        assert key_fits(hmac_key("s" * 32), "HS512") is not None

    def test_secret_absent_from_cli_show_and_audit(self, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
        """`client show` / `client list` never print the client_secret; audit events of a
        success and a failure never carry it."""
        from clientauth.cli import main

        path = tmp_path / "clients.json"
        path.write_text(json.dumps([hs_client()]))
        for argv in (["client", "show", "hs-client"], ["client", "show", "hs-client", "--json"],
                     ["client", "list"], ["client", "list", "--json"]):
            out = io.StringIO()
            import contextlib
            with contextlib.redirect_stdout(out):
                main([*argv, "--registry", str(path)])
            assert SECRET not in out.getvalue()
        events: list[Any] = []
        auth = Authenticator(load_clients([hs_client()]), audience=AUDIENCE, now=clock(NOW),
                             audit=events.append)
        with caplog.at_level(logging.DEBUG, logger="clientauth"):
            auth.authenticate(assertion_request(sign(claims("hs-client"), "HS256")))
            auth.authenticate(assertion_request(sign(claims("hs-client"), "HS256",
                                                     key=b"w" * 64)))
        assert len(events) == 2
        assert all(SECRET not in repr(e) for e in events)
        assert SECRET not in caplog.text


class TestPrivateKeyJwt:
    def test_needs_keys(self) -> None:
        """private_key_jwt without jwks or jwks_uri is refused."""
        doc = pk_client()
        del doc["jwks"]
        refused(doc, "jwks")
        doc["jwks"] = {"keys": [{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}]}
        refused(doc, "jwks")

    def test_jwks_uri_is_enough(self) -> None:
        """A jwks_uri alone registers the keys (fetched when needed)."""
        doc = pk_client()
        del doc["jwks"]
        client = Client.from_metadata({**doc, "jwks_uri": "https://client.example/jwks"})
        assert client.assertion_keys == () and client.jwks_uri is not None

    def test_private_material_refused(self) -> None:
        """A jwks holding a private key (d) or a symmetric one (k) is refused (RFC 7591 2)."""
        doc = pk_client(kinds=("p256",))
        doc["jwks"]["keys"][0]["d"] = "AAAA"
        refused(doc, "jwks")

    def test_short_rsa_refused(self) -> None:
        """RSA keys under 2048 bits are refused at registration (RFC 7518 3.3)."""
        refused(pk_client(kinds=("rsa1024",)), "jwks")

    def test_secret_hash_refused(self) -> None:
        """private_key_jwt keeps no secret."""
        refused({**pk_client(), "client_secret_hash": hash_secret(generate_secret())},
                "client_secret_hash")

    @pytest.mark.parametrize("alg", ["none", "HS256", "ES256K", 7, "es256"])
    def test_signing_alg_checked(self, alg: object) -> None:
        """token_endpoint_auth_signing_alg must be an asymmetric JWS algorithm."""
        refused({**pk_client(), "token_endpoint_auth_signing_alg": alg},
                "token_endpoint_auth_signing_alg")

    def test_signing_alg_only_for_assertion_methods(self) -> None:
        """The field means nothing to another method: refused rather than ignored."""
        refused({"client_id": "b", "client_secret_hash": hash_secret(generate_secret()),
                 "token_endpoint_auth_signing_alg": "RS256"}, "token_endpoint_auth_signing_alg")

    def test_metadata_round_trip(self) -> None:
        """The document is the one source of truth: rebuilt from to_metadata() it is equal."""
        client = Client.from_metadata({**pk_client(), "token_endpoint_auth_signing_alg": "ES256"})
        again = Client.from_metadata(client.to_metadata())
        assert again == client and again.signing_alg == "ES256"
        assert len(again.assertion_keys) == len(client.assertion_keys)


class TestBoundTokens:
    @pytest.mark.parametrize("value", ["yes", 1, None.__class__.__name__])
    def test_boolean_only(self, value: object) -> None:
        """tls_client_certificate_bound_access_tokens is true or false (RFC 8705 3.4)."""
        refused({**hs_client(), "tls_client_certificate_bound_access_tokens": value},
                "tls_client_certificate_bound_access_tokens")
