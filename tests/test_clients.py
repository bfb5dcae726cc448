"""Client registry: RFC 7591 / RFC 8705 metadata loading and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import clientauth
from certs import Pki, self_signed
from clientauth import AuthMethod, ClientMetadataError

HASH = clientauth.hash_secret(clientauth.generate_secret())


def secret_client(**extra: Any) -> dict[str, Any]:
    return {"client_id": "c1", "client_secret_hash": HASH, **extra}


class TestLoad:
    def test_from_list_and_file(self, tmp_path: Path) -> None:
        """A list of dicts, a JSON file and {"clients": [...]} load the same registry."""
        doc = [secret_client(), secret_client(client_id="c2")]
        path = tmp_path / "clients.json"
        path.write_text(json.dumps({"clients": doc}))
        for source in (doc, str(path), path):
            registry = clientauth.load_clients(source)
            assert len(registry) == 2
            assert registry.get("c1") is not None
            assert registry.get("nope") is None

    def test_default_method_is_basic(self) -> None:
        """RFC 7591 2: token_endpoint_auth_method defaults to client_secret_basic."""
        client = clientauth.load_clients([secret_client()]).get("c1")
        assert client is not None
        assert client.method is AuthMethod.CLIENT_SECRET_BASIC

    def test_registry_satisfies_protocol(self) -> None:
        """MemoryRegistry is a ClientRegistry."""
        assert isinstance(clientauth.load_clients([]), clientauth.ClientRegistry)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a ConfigurationError naming the file."""
        with pytest.raises(clientauth.ConfigurationError, match="cannot read"):
            clientauth.load_clients(tmp_path / "nope.json")

    def test_bad_json(self, tmp_path: Path) -> None:
        """Invalid JSON is a ConfigurationError."""
        path = tmp_path / "c.json"
        path.write_text("[{")
        with pytest.raises(clientauth.ConfigurationError, match="not valid JSON"):
            clientauth.load_clients(path)

    def test_wrong_document_shape(self) -> None:
        """Documents that are not a list of objects are refused."""
        for doc in ({"client": []}, [1], 7):
            with pytest.raises(ClientMetadataError):
                clientauth.load_clients(doc)  # type: ignore[arg-type]


class TestValidation:
    def expect(self, doc: list[dict[str, Any]], field: str, client_id: str | None = "c1") -> str:
        with pytest.raises(ClientMetadataError) as info:
            clientauth.load_clients(doc)
        assert info.value.field == field
        assert info.value.client_id == client_id
        return str(info.value)

    def test_unknown_method(self) -> None:
        """An unknown auth method names the client and field and lists valid ones."""
        msg = self.expect([secret_client(token_endpoint_auth_method="magic")],
                          "token_endpoint_auth_method")
        assert "'c1'" in msg and "client_secret_basic" in msg

    @pytest.mark.parametrize("method", ["none", "private_key_jwt", "client_secret_jwt"])
    def test_unsupported_rfc_methods(self, method: str) -> None:
        """RFC methods clientauth does not implement are refused with a reason."""
        self.expect([secret_client(token_endpoint_auth_method=method)],
                    "token_endpoint_auth_method")

    def test_secret_method_without_hash(self) -> None:
        """A secret method with no client_secret_hash is refused."""
        self.expect([{"client_id": "c1", "token_endpoint_auth_method": "client_secret_post"}],
                    "client_secret_hash")

    def test_clear_text_secret_refused(self) -> None:
        """A clear-text client_secret is refused and not echoed."""
        msg = self.expect([secret_client(client_secret="hunter2hunter2")], "client_secret")
        assert "hunter2" not in msg

    def test_two_names(self) -> None:
        """RFC 8705 2.1.2: two tls_client_auth_* names on one client are refused."""
        self.expect(
            [{"client_id": "c1", "token_endpoint_auth_method": "tls_client_auth",
              "tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.example"}],
            "tls_client_auth_san_dns",
        )

    def test_tls_client_auth_without_name(self) -> None:
        """tls_client_auth without any registered name is refused."""
        self.expect([{"client_id": "c1", "token_endpoint_auth_method": "tls_client_auth"}],
                    "tls_client_auth_subject_dn")

    def test_self_signed_without_pin(self) -> None:
        """self_signed_tls_client_auth without any pinned certificate is refused."""
        self.expect(
            [{"client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth"}],
            "tls_client_certificates",
        )

    def test_duplicate_ids(self) -> None:
        """Duplicate client ids are refused, naming the id."""
        self.expect([secret_client(), secret_client()], "client_id")

    @pytest.mark.parametrize("cid", ["", "a\x00b", "a\nb", None, 5, "x" * 2000])
    def test_bad_client_id(self, cid: object) -> None:
        """Empty, non-string, control-character or oversized client ids are refused."""
        self.expect([secret_client(client_id=cid)], "client_id", client_id=None)

    def test_name_with_control_character(self) -> None:
        """Registered names containing NUL or control characters are refused at load."""
        for value in ("CN=a\x00.evil", "a.example\x00", "x\x07"):
            self.expect(
                [{"client_id": "c1", "token_endpoint_auth_method": "tls_client_auth",
                  "tls_client_auth_san_dns": value}],
                "tls_client_auth_san_dns",
            )

    def test_bad_hash(self) -> None:
        """A malformed secret hash is refused without echoing it."""
        msg = self.expect([secret_client(client_secret_hash="$sha256$nope")],
                          "client_secret_hash")
        assert "nope" not in msg

    @pytest.mark.parametrize("value", [-1, "soon", 1.5, True])
    def test_bad_expiry(self, value: object) -> None:
        """client_secret_expires_at must be non-negative integer seconds."""
        self.expect([secret_client(client_secret_expires_at=value)], "client_secret_expires_at")

    def test_jwks_and_jwks_uri(self) -> None:
        """RFC 7591 2: jwks and jwks_uri together are refused."""
        self.expect(
            [{"client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
              "jwks": {"keys": []}, "jwks_uri": "https://x.example/jwks"}],
            "jwks_uri",
        )

    def test_bad_thumbprint(self) -> None:
        """A pinned thumbprint must be 43 base64url characters."""
        self.expect(
            [{"client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
              "tls_client_certificate_thumbprints": ["abc"]}],
            "tls_client_certificate_thumbprints",
        )

    def test_trust_anchor_must_be_ca(self, pki: Pki) -> None:
        """A per-client trust anchor that is not a CA certificate is refused."""
        leaf = pki.leaf("x")
        self.expect(
            [{"client_id": "c1", "token_endpoint_auth_method": "tls_client_auth",
              "tls_client_auth_subject_dn": "CN=x", "tls_client_auth_trust_anchors": [leaf.pem]}],
            "tls_client_auth_trust_anchors",
        )

    def test_entry_index_when_no_id(self) -> None:
        """Without a usable id, the error names the entry number."""
        with pytest.raises(ClientMetadataError, match="entry #1"):
            clientauth.load_clients([secret_client(), {"client_secret_hash": HASH}])


class TestSecrets:
    def test_several_with_expiry(self) -> None:
        """client_secret_hash and client_secrets combine; expiries follow RFC 7591 (0 = never)."""
        client = clientauth.load_clients([secret_client(
            client_secret_expires_at=0,
            client_secrets=[{"hash": HASH, "expires_at": 2_000_000_000}],
        )]).get("c1")
        assert client is not None
        assert [s.expires_at is None for s in client.secrets] == [True, False]

    def test_repr_never_shows_hash(self) -> None:
        """No repr of a client or its secrets contains the stored hash."""
        client = clientauth.load_clients([secret_client()]).get("c1")
        digest = HASH.split("$")[-1]
        assert digest not in repr(client)
        assert digest not in repr(client.secrets)  # type: ignore[union-attr]


class TestPinned:
    def test_pins_from_every_source(self) -> None:
        """PEM certificates, jwks x5c and thumbprints all become pinned thumbprints."""
        import base64

        a, b = self_signed("a"), self_signed("b")
        thumb = clientauth.certificate_thumbprint(self_signed("c").cert)
        client = clientauth.load_clients([{
            "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificates": [a.pem],
            "jwks": {"keys": [{"kty": "EC", "x5c": [base64.b64encode(b.der).decode()]}]},
            "tls_client_certificate_thumbprints": [thumb],
        }]).get("dev")
        assert client is not None
        assert client.pinned_thumbprints == {
            clientauth.certificate_thumbprint(a.cert), clientauth.certificate_thumbprint(b.cert),
            thumb,
        }

    def test_bad_x5c(self) -> None:
        """x5c that is not base64 DER is refused."""
        with pytest.raises(ClientMetadataError, match="x5c"):
            clientauth.load_clients([{
                "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
                "jwks": {"keys": [{"x5c": ["not base64!"]}]},
            }])


class TestMemoryRegistry:
    def test_replace_and_remove(self) -> None:
        """replace() swaps a client (revocation by removing a secret); remove() drops it."""
        registry = clientauth.load_clients([secret_client()])
        new_hash = clientauth.hash_secret(clientauth.generate_secret())
        registry.replace(clientauth.Client.from_metadata(secret_client(client_secret_hash=new_hash)))
        assert len(registry) == 1
        registry.remove("c1")
        assert "c1" not in registry

    def test_add_duplicate(self) -> None:
        """add() refuses a duplicate id."""
        registry = clientauth.load_clients([secret_client()])
        with pytest.raises(ClientMetadataError):
            registry.add(clientauth.Client.from_metadata(secret_client()))

    def test_only_clients(self) -> None:
        """MemoryRegistry refuses things that are not Client objects."""
        with pytest.raises(clientauth.ConfigurationError):
            clientauth.MemoryRegistry([{"client_id": "x"}])  # type: ignore[list-item]
