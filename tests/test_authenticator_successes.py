"""Secret successes built once (issue 18): a remembered result is the result.

The :class:`~clientauth.Authenticator` builds the success of a secret method once per client
id, method and source when nothing else varies (no certificate, no expiry, no notice), and
returns that frozen result again. What must hold: every success shape gives a result equal,
field by field, to one built on a fresh authenticator; a changed client (a rotation, a
re-registration, a content-equal copy) is decided on what it is now, never on what it was; and
a remembered result holds nothing its key does not determine (the guard below fails when
:class:`~clientauth.AuthResult` gains a field, so the cache is revisited).
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta

import pytest

import clientauth
from certs import NOW, Pki, clock
from clientauth import Authenticator, AuthMethod, AuthResult, ClientRequest, Failure, Notice
from clientauth.clients import StoredSecret

SECRET = clientauth.generate_secret()
EPOCH = int(NOW.timestamp())
SPOOFED = ("x-ssl-client-cert", "-----BEGIN%20CERTIFICATE-----")


def basic(cid: str, secret: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode())


def registry() -> clientauth.MemoryRegistry:
    return clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "header", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "expiring", "client_secret_hash": clientauth.hash_secret(SECRET),
         "client_secret_expires_at": EPOCH + 60},
    ])


def authenticator(registry: clientauth.MemoryRegistry) -> Authenticator:
    forwarded = clientauth.ForwardedCertificates("nginx", trusted_proxies=["127.0.0.1/32"])
    return Authenticator(
        registry, now=clock(NOW), forwarded=forwarded, allow_query_credentials=True
    )


def shapes(pki: Pki) -> dict[str, ClientRequest]:
    """Every way a secret client can succeed: each source, with and without a certificate,
    an expiring secret, a notice (a forwarded header from an untrusted peer)."""
    leaf = pki.leaf("basic").cert
    return {
        "basic": ClientRequest([basic("basic", SECRET)]),
        "post": ClientRequest(form={"client_id": "post", "client_secret": SECRET}),
        "post-query": ClientRequest(query={"client_id": "post", "client_secret": SECRET}),
        "header": ClientRequest([("client_id", "header"), ("client_secret", SECRET)]),
        "basic-with-peer": ClientRequest([basic("basic", SECRET)], peer="127.0.0.1"),
        "basic-expiring": ClientRequest([basic("expiring", SECRET)]),
        "basic-with-certificate": ClientRequest([basic("basic", SECRET)], tls_chain=[leaf]),
        "basic-with-notice": ClientRequest([basic("basic", SECRET), SPOOFED],
                                           peer="203.0.113.9"),
        "post-with-certificate": ClientRequest(
            form={"client_id": "post", "client_secret": SECRET}, tls_chain=[leaf]
        ),
    }


def fields(result: AuthResult) -> dict[str, object]:
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}


class TestRememberedEqualsBuilt:
    @pytest.mark.parametrize("shape", [
        "basic", "post", "post-query", "header", "basic-with-peer", "basic-expiring",
        "basic-with-certificate", "basic-with-notice", "post-with-certificate",
    ])
    def test_every_success_shape(self, pki: Pki, shape: str) -> None:
        """The third success of a request on one authenticator equals, field by field, the
        first success on a fresh one, for every source and with a certificate, an expiry or
        a notice -- and holds no secret."""
        request = shapes(pki)[shape]
        warm = authenticator(registry())
        results = [warm.authenticate(request) for _ in range(3)]
        fresh = authenticator(registry()).authenticate(request)
        assert fresh.ok, fresh
        for result in results:
            assert result == fresh
            assert fields(result) == fields(fresh)
            assert SECRET not in repr(result) and SECRET not in result.detail

    def test_shapes_that_vary_are_not_shared(self, pki: Pki) -> None:
        """What carries per-request data (a certificate, an expiry, a notice) is built each
        time; the plain shapes are built once and returned again."""
        auth = authenticator(registry())
        for shape, request in shapes(pki).items():
            first, second = auth.authenticate(request), auth.authenticate(request)
            shared = not (first.certificate or first.expires_at or first.notices)
            assert (first is second) is shared, shape

    def test_source_is_part_of_the_shape(self) -> None:
        """The same client succeeding from the form and from the query gets each source."""
        auth = authenticator(registry())
        for source in ("form", "query", "form", "query"):
            request = ClientRequest(**{source: {"client_id": "post", "client_secret": SECRET}})
            assert auth.authenticate(request).source == source


class TestChangedClientNeverReused:
    def test_rotation(self) -> None:
        """After a rotation (a new Client object), the old secret is refused and the new
        one's success is a new result, equal to one built fresh."""
        reg = registry()
        auth = authenticator(reg)
        before = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        assert before.ok
        new_secret, stored = StoredSecret.issue(now=NOW)
        reg.update("basic", lambda c: c.rotate_secret(stored, keep_old_for=timedelta(0), now=NOW))
        old = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        assert (old.ok, old.failure) == (False, Failure.BAD_SECRET)
        after = auth.authenticate(ClientRequest([basic("basic", new_secret)]))
        assert after.ok and after == before
        assert after == authenticator(reg).authenticate(
            ClientRequest([basic("basic", new_secret)])
        )

    def test_rotation_to_an_expiring_secret(self) -> None:
        """A client whose secret now expires reports the expiry, not a remembered ``None``."""
        reg = registry()
        auth = authenticator(reg)
        assert auth.authenticate(ClientRequest([basic("basic", SECRET)])).expires_at is None
        stored = StoredSecret.issue(now=NOW)[1]
        reg.update("basic", lambda c: c.rotate_secret(
            stored, keep_old_for=timedelta(hours=1), now=NOW
        ))
        result = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        assert result.ok and result.expires_at == NOW + timedelta(hours=1)

    def test_method_change(self) -> None:
        """A client re-registered for client_secret_post is refused on Basic at once."""
        reg = registry()
        auth = authenticator(reg)
        assert auth.authenticate(ClientRequest([basic("basic", SECRET)])).ok
        reg.replace(clientauth.Client.from_metadata({
            "client_id": "basic", "token_endpoint_auth_method": "client_secret_post",
            "client_secret_hash": clientauth.hash_secret(SECRET),
        }))
        result = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        assert (result.ok, result.failure) == (False, Failure.METHOD_NOT_ALLOWED)

    def test_equal_content_other_object(self) -> None:
        """A content-equal copy of the client (a re-loaded registry) succeeds with a result
        equal to the first one."""
        metadata = {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)}
        first_client = clientauth.Client.from_metadata(metadata)
        reg = clientauth.MemoryRegistry([first_client])
        auth = authenticator(reg)
        first = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        copy = clientauth.Client.from_metadata(metadata)
        assert copy == first_client and copy is not first_client
        reg.replace(copy)
        second = auth.authenticate(ClientRequest([basic("basic", SECRET)]))
        assert second == first
        assert (second.client_id, second.method) == ("basic", AuthMethod.CLIENT_SECRET_BASIC)

    def test_notice_never_dropped(self) -> None:
        """A request carrying a notice after plain ones still reports it."""
        auth = authenticator(registry())
        plain = auth.authenticate(ClientRequest([basic("basic", SECRET)], peer="203.0.113.9"))
        noted = auth.authenticate(
            ClientRequest([basic("basic", SECRET), SPOOFED], peer="203.0.113.9")
        )
        assert plain.ok and noted.ok
        assert plain.notices == () and noted.notices == (Notice.UNTRUSTED_FORWARDED_HEADER,)


class TestRememberedHoldsOnlyItsKey:
    def test_result_fields_are_known(self) -> None:
        """A remembered success is keyed by (client id, method, source): every other field
        of AuthResult must be one a plain secret success leaves at its default. A new field
        fails here until ``Authenticator._secret_success`` is reviewed for it."""
        assert [f.name for f in dataclasses.fields(AuthResult)] == [
            "ok", "client_id", "method", "failure", "error", "detail", "certificate", "chain",
            "thumbprint", "expires_at", "source", "notices",
        ]
        result = authenticator(registry()).authenticate(ClientRequest([basic("basic", SECRET)]))
        assert fields(result) == {
            "ok": True, "client_id": "basic", "method": AuthMethod.CLIENT_SECRET_BASIC,
            "failure": None, "error": None, "detail": "", "certificate": None, "chain": (),
            "thumbprint": None, "expires_at": None, "source": "authorization", "notices": (),
        }

    def test_other_clients_never_share(self) -> None:
        """Two clients, two methods, three sources: six distinct remembered results, each
        naming its own client, method and source."""
        auth = authenticator(registry())
        requests = {
            ("basic", "authorization"): ClientRequest([basic("basic", SECRET)]),
            ("post", "form"): ClientRequest(form={"client_id": "post", "client_secret": SECRET}),
            ("post", "query"): ClientRequest(query={"client_id": "post", "client_secret": SECRET}),
            ("header", "headers"): ClientRequest([("client_id", "header"),
                                                  ("client_secret", SECRET)]),
        }
        for _ in range(2):
            for (cid, source), request in requests.items():
                result = auth.authenticate(request)
                assert (result.ok, result.client_id, result.source) == (True, cid, source)
