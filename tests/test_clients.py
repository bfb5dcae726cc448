"""Client registry: RFC 7591 / RFC 8705 metadata loading and validation."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

    @pytest.mark.parametrize("method", ["none"])
    def test_unsupported_rfc_methods(self, method: str) -> None:
        """RFC methods clientauth does not implement are refused with a reason (the JWT
        methods are supported since issue 14: tests/test_assertion_clients.py)."""
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


# -- issue 12 finding 9: a client is a value ------------------------------------------------

NOW_ = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
SELF_SIGNED = AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH


def other_hash() -> str:
    return clientauth.hash_secret(clientauth.generate_secret())


def pinned_client(**extra: Any) -> clientauth.Client:
    return clientauth.Client.from_metadata(
        {"client_id": "dev", "token_endpoint_auth_method": SELF_SIGNED.value, **extra}
    )


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_entries = st.lists(
    st.fixed_dictionaries(
        {"hash": st.just(HASH), "expires_at": st.sampled_from([0, 1_700_000_000, 2_000_000_000])},
        optional={"label": _text, "created_at": st.integers(0, 2**31) | _text},
    ),
    min_size=1,
    max_size=4,
)
_documents = st.builds(
    lambda entries, extra, name: {
        **{k: v for k, v in extra.items() if not k.startswith(("client_", "tls_", "jwks"))
           and k != "token_endpoint_auth_method"},
        "client_id": "c1", "client_name": name, "client_secrets": entries,
    },
    _entries,
    st.dictionaries(_text, _json, max_size=3),
    _text,
)


class TestValue:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_documents)
    def test_round_trips_are_identity(self, document: dict[str, Any]) -> None:
        """from_metadata(to_metadata()), dataclasses.replace() and the constructor fed the
        client's own fields all give an equal client (same hash, same document)."""
        client = clientauth.Client.from_metadata(document)
        assert client.to_metadata() == document
        again = clientauth.Client.from_metadata(client.to_metadata())
        replaced = dataclasses.replace(client)
        rebuilt = clientauth.Client(
            client.client_id, client.method, secrets=client.secrets,
            registered_name=client.registered_name,
            pinned_certificates=client.pinned_certificates,
            pinned_thumbprints=client.pinned_thumbprints, jwks_uri=client.jwks_uri,
            trust_anchors=client.trust_anchors, metadata=client.metadata,
        )
        for other in (again, replaced, rebuilt):
            assert other == client and hash(other) == hash(client)
            assert other.to_metadata() == document

    def test_replace_secrets_changes_the_stored_form(self) -> None:
        """Issue 12 finding 9: dataclasses.replace(client, secrets=...) yields a client whose
        stored form holds the new secrets (it used to keep the old ones)."""
        client = clientauth.Client.from_metadata(secret_client(client_name="keep me"))
        fresh = clientauth.Client.from_metadata(secret_client(client_secret_hash=other_hash()))
        changed = dataclasses.replace(client, secrets=fresh.secrets)
        stored = clientauth.Client.from_metadata(changed.to_metadata())
        assert stored == changed != client
        assert [s.text for s in stored.secrets] == [s.text for s in fresh.secrets]
        assert stored.to_metadata()["client_name"] == "keep me"

    def test_plain_constructor_has_a_stored_form(self) -> None:
        """A client built with the plain constructor carries its full metadata document
        (it used to be {} -- FileRegistry then wrote an unloadable entry)."""
        thumb = clientauth.certificate_thumbprint(self_signed("p").cert)
        client = clientauth.Client(
            "dev", SELF_SIGNED, pinned_thumbprints=frozenset({thumb})
        )
        document = client.to_metadata()
        assert document == {
            "client_id": "dev", "token_endpoint_auth_method": SELF_SIGNED.value,
            "tls_client_certificate_thumbprints": [thumb],
        }
        assert clientauth.Client.from_metadata(document) == client

    def test_equal_by_content(self) -> None:
        """Two clients from the same document are equal and hash alike; a different
        document gives a different client."""
        a = clientauth.Client.from_metadata(secret_client())
        b = clientauth.Client.from_metadata(secret_client())
        assert a == b and hash(a) == hash(b) and len({a, b}) == 1
        assert a != clientauth.Client.from_metadata(secret_client(client_name="x"))

    def test_document_is_private_and_read_only(self) -> None:
        """Neither the caller's dict nor the copy to_metadata() returns can change a client;
        its metadata view is read-only all the way down."""
        document = secret_client(client_secrets=[{"hash": HASH, "label": "a"}])
        client = clientauth.Client.from_metadata(document)
        before = client.to_metadata()
        document["client_secrets"].append({"hash": other_hash()})
        client.to_metadata()["client_secrets"].clear()
        assert client.to_metadata() == before and len(client.secrets) == 2
        with pytest.raises(TypeError):
            client.metadata["client_secrets"][0]["label"] = "b"  # type: ignore[index]
        with pytest.raises((AttributeError, TypeError)):
            client.metadata["client_secrets"].append({})  # type: ignore[attr-defined]

    def test_derived_values_computed_once(self) -> None:
        """What a request reads (method, secrets, index keys) is computed when the client is
        built: every access returns the very same object."""
        client = clientauth.Client.from_metadata(secret_client())
        assert client.secrets is client.secrets
        assert client.index_keys is client.index_keys
        assert client.method is client.token_endpoint_auth_method

    def test_constructor_validates_what_it_writes(self) -> None:
        """Typed fields go through metadata validation: a malformed pin, a secret method
        without a secret, or a secret object without its stored text are refused."""
        with pytest.raises(ClientMetadataError):
            clientauth.Client("dev", SELF_SIGNED, pinned_thumbprints=frozenset({"ü" * 43}))
        with pytest.raises(ClientMetadataError):
            clientauth.Client("c1", AuthMethod.CLIENT_SECRET_BASIC)
        parsed = clientauth.load_clients([secret_client()]).get("c1")
        assert parsed is not None
        bare = clientauth.StoredSecret(parsed.secrets[0].hash)
        with pytest.raises(clientauth.ConfigurationError, match=r"StoredSecret\.parse"):
            clientauth.Client("c1", AuthMethod.CLIENT_SECRET_BASIC, secrets=(bare,))

    def test_replace_pins(self) -> None:
        """Replacing pinned certificates rewrites where they are stored (a jwks x5c key that
        is no longer pinned goes); replacing thumbprints drops certificates not kept."""
        a, b, c = self_signed("a"), self_signed("b"), self_signed("c")
        x5c = {"kty": "EC", "x5c": [base64.b64encode(b.der).decode()]}
        client = pinned_client(tls_client_certificates=[a.pem], jwks={"keys": [x5c]})
        moved = dataclasses.replace(client, pinned_certificates=(b.cert, c.cert))
        doc = moved.to_metadata()
        assert doc["jwks"] == {"keys": [x5c]}
        assert doc["tls_client_certificates"] == [c.pem]
        assert moved.pinned_thumbprints == {thumb(b), thumb(c)}
        only_b = dataclasses.replace(client, pinned_thumbprints=frozenset({thumb(b)}))
        assert "tls_client_certificates" not in only_b.to_metadata()
        assert only_b.pinned_thumbprints == {thumb(b)}


def thumb(issued: Any) -> str:
    return clientauth.certificate_thumbprint(issued.cert)


class TestSecretLifecycle:
    def test_rotate_with_overlap_never_extends(self) -> None:
        """rotate_secret: the new secret comes last; old ones live at most keep_old_for more
        (one that expires sooner keeps its expiry), expired ones are dropped."""
        soon = int((NOW_ + timedelta(minutes=5)).timestamp())
        gone = int((NOW_ - timedelta(minutes=5)).timestamp())
        client = clientauth.Client.from_metadata(secret_client(client_secrets=[
            {"hash": other_hash(), "expires_at": soon, "label": "soon"},
            {"hash": other_hash(), "expires_at": gone, "label": "gone"},
        ]))
        secret, new = clientauth.StoredSecret.issue(now=NOW_, generate=lambda: "s" * 43)
        assert secret == "s" * 43 and new.created_at == int(NOW_.timestamp())
        rotated = client.rotate_secret(new, keep_old_for=timedelta(hours=1), now=NOW_)
        assert rotated.secret_labels() == ("#1", "soon", new.label)
        assert rotated.secrets[0].expires_at == NOW_ + timedelta(hours=1)
        assert rotated.secrets[1].expires_at == NOW_ + timedelta(minutes=5)
        assert rotated.secrets[2] == new
        now_only = client.rotate_secret(new, keep_old_for=timedelta(0), now=NOW_)
        assert now_only.secrets == (new,)

    def test_rotate_limits(self) -> None:
        """At most MAX_SECRETS_PER_CLIENT secrets; a certificate client has none to rotate."""
        limit = clientauth.clients.MAX_SECRETS_PER_CLIENT
        full = clientauth.Client.from_metadata(secret_client(
            client_secret_hash=None, client_secrets=[{"hash": HASH}] * limit
        ))
        _, new = clientauth.StoredSecret.issue(now=NOW_)
        with pytest.raises(clientauth.ConfigurationError, match="more than"):
            full.rotate_secret(new, keep_old_for=timedelta(days=1), now=NOW_)
        thumbprint = thumb(self_signed("z"))
        with pytest.raises(clientauth.ConfigurationError, match="no secret"):
            pinned_client(tls_client_certificate_thumbprints=[thumbprint]).rotate_secret(
                new, keep_old_for=timedelta(0), now=NOW_
            )

    def test_revoke(self) -> None:
        """revoke_secrets by label, by clear text, expired, all but newest; nothing matched
        leaves the client equal; the last secret is never revoked."""
        old_secret = clientauth.generate_secret()
        expired_at = int((NOW_ - timedelta(seconds=1)).timestamp())
        client = clientauth.Client.from_metadata({"client_id": "c1", "client_secrets": [
            {"hash": clientauth.hash_secret(old_secret), "created_at": 100, "label": "old"},
            {"hash": other_hash(), "expires_at": expired_at, "label": "exp"},
            {"hash": other_hash(), "created_at": "2026-01-01", "label": "new"},
        ]})

        def labels(c: clientauth.Client) -> tuple[str, ...]:
            return c.secret_labels()

        assert labels(client.revoke_secrets(label="exp")) == ("old", "new")
        assert labels(client.revoke_secrets(label="#1")) == ("exp", "new")
        assert labels(client.revoke_secrets(secret=old_secret)) == ("exp", "new")
        assert labels(client.revoke_secrets(expired=True, now=NOW_)) == ("old", "new")
        assert labels(client.revoke_secrets(all_but_newest=True)) == ("new",)
        assert client.revoke_secrets(label="nope") == client
        single = client.revoke_secrets(all_but_newest=True)
        with pytest.raises(clientauth.ConfigurationError, match="without a secret"):
            single.revoke_secrets(label="new")
        with pytest.raises(clientauth.ConfigurationError, match="exactly one"):
            client.revoke_secrets(label="old", expired=True)


class TestPinLifecycle:
    def test_pin_and_unpin(self) -> None:
        """pin_certificate adds a PEM or a thumbprint (unchanged if already pinned);
        replace=True drops every other pin, jwks x5c keys included; unpin removes a pin
        wherever it is and never the last one."""
        a, b, c = self_signed("a"), self_signed("b"), self_signed("c")
        x5c = {"kty": "EC", "x5c": [base64.b64encode(b.der).decode()]}
        client = pinned_client(tls_client_certificates=[a.pem], jwks={"keys": [x5c]})
        assert client.pin_certificate(a.cert) == client
        with_c = client.pin_certificate(c.cert)
        assert with_c.pinned_thumbprints == {thumb(a), thumb(b), thumb(c)}
        by_thumb = client.pin_certificate(thumb(c))
        assert by_thumb.to_metadata()["tls_client_certificate_thumbprints"] == [thumb(c)]
        only_c = client.pin_certificate(c.cert, replace=True)
        assert only_c.pinned_thumbprints == {thumb(c)} and "jwks" not in only_c.to_metadata()
        without_b = with_c.unpin_certificate(b.cert)
        assert without_b.pinned_thumbprints == {thumb(a), thumb(c)}
        assert "jwks" not in without_b.to_metadata()
        assert client.unpin_certificate(c.cert) == client
        with pytest.raises(clientauth.ConfigurationError, match="without a pinned"):
            only_c.unpin_certificate(thumb(c))

    def test_pin_refused_for_other_methods(self) -> None:
        """Pinning applies to self_signed_tls_client_auth only."""
        client = clientauth.Client.from_metadata(secret_client())
        with pytest.raises(clientauth.ConfigurationError, match="pinning applies"):
            client.pin_certificate(self_signed("a").cert)


class TestIndexKeys:
    def test_one_definition(self, pki: Pki) -> None:
        """A tls_client_auth client is indexed by its registered name, a self-signed client
        by its pins, a secret client by nothing; a certificate's keys meet a client's keys
        exactly when MemoryRegistry finds the client by that certificate."""
        leaf = pki.leaf("svc")
        pinned = self_signed("pinned")
        pki_client = clientauth.Client.from_metadata({
            "client_id": "svc", "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_subject_dn": "CN=svc",
        })
        pin_client = pinned_client(tls_client_certificates=[pinned.pem])
        secret = clientauth.Client.from_metadata(secret_client())
        assert len(pki_client.index_keys) == 1
        assert pin_client.index_keys == {(clientauth.clients.THUMBPRINT_INDEX, thumb(pinned))}
        assert secret.index_keys == frozenset()
        registry = clientauth.MemoryRegistry([pki_client, pin_client, secret])
        for cert, expected in ((leaf.cert, [pki_client]), (pinned.cert, [pin_client])):
            keys = clientauth.clients.certificate_index_keys(cert)
            assert list(registry.find_by_certificate(cert)) == expected
            assert [c for c in registry if not c.index_keys.isdisjoint(keys)] == expected


# -- issue 13 findings 8 and 9 (registration half) ---------------------------------------------


class TestJwksRegistration:
    @pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
    def test_private_or_symmetric_key_refused(self, member: str) -> None:
        """Issue 13 finding 8: a jwks key carrying private or symmetric material is refused
        at load, naming the client and the key (kid, else its position), never the value."""
        key = {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", member: "SECRETVALUE"}
        for kid, named in (("key-1", "'key-1'"), (None, "#2")):
            keys = [{"kty": "EC", "x": "a", "y": "b"}, {**key, **({"kid": kid} if kid else {})}]
            with pytest.raises(ClientMetadataError) as info:
                clientauth.load_clients([{
                    "client_id": "c1", "client_secret_hash": HASH, "jwks": {"keys": keys},
                }])
            assert info.value.field == "jwks" and info.value.client_id == "c1"
            message = str(info.value)
            assert named in message and member in message
            assert "SECRETVALUE" not in message

    def test_public_keys_accepted(self) -> None:
        """A public JWK Set loads."""
        public = {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "kid": "k"}
        assert clientauth.load_clients([{
            "client_id": "c1", "client_secret_hash": HASH, "jwks": {"keys": [public]},
        }]).get("c1") is not None

    @pytest.mark.parametrize("uri", [
        "http://client.example/jwks", "file:///etc/passwd", "ftp://client.example/jwks",
        "//client.example/jwks", "jwks.json", "https:///jwks", "https://u:p@client.example/j",
        "https://client.example:port/jwks", "HTTP://client.example/jwks",
    ])
    def test_jwks_uri_must_be_https(self, uri: str) -> None:
        """Issue 13 finding 9: a jwks_uri that is not an https URL with a host (and no
        credentials) is refused at registration with a clear message."""
        with pytest.raises(ClientMetadataError) as info:
            clientauth.load_clients([{
                "client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
                "jwks_uri": uri,
            }])
        assert info.value.field == "jwks_uri" and info.value.client_id == "c1"
        assert "p@" not in str(info.value) or "u:p" not in str(info.value)

    def test_https_jwks_uri_accepted(self) -> None:
        """https URLs load, whatever the case of the scheme."""
        for uri in ("https://client.example/jwks.json", "HTTPS://client.example:8443/k"):
            client = clientauth.Client.from_metadata({
                "client_id": "c1", "token_endpoint_auth_method": "self_signed_tls_client_auth",
                "jwks_uri": uri,
            })
            assert client.jwks_uri == uri
