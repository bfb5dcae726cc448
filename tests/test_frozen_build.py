"""Values built per request without the frozen ``__init__`` are the values (issue 18).

:mod:`clientauth._frozen` fills a plain class of the same slot layout and then gives the object
its real class. What must hold for every builder (``AuthResult._build`` / ``AuthResult.failed``,
``CertificateCheck.passed`` / ``failed``, ``PresentedChain.of``,
``ClientRequest._from_server``, ``Presented._of``): the object is an instance of the frozen
class, every field is set, it equals (and hashes like) what the constructor builds, stays
immutable, pickles and copies as one, and its repr is the dataclass's. A field added to a
dataclass and not to its builder fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from certs import Pki
from clientauth import AuthMethod, AuthResult, CertificateCheck, ClientRequest, Failure, Notice
from clientauth._frozen import as_class, layout_of
from clientauth._presented import PresentedChain
from clientauth._x509 import MAX_CHAIN_LENGTH
from clientauth.request import MAX_HEADERS, Presented

WHEN = datetime(2026, 12, 2, tzinfo=UTC)


def built_and_constructed(pki: Pki) -> list[tuple[Any, Any]]:
    leaf = pki.leaf("client").cert
    chain = (leaf, pki.intermediate.cert)
    return [
        (
            AuthResult._build(True, "c", AuthMethod.TLS_CLIENT_AUTH, None, None, "d", leaf,
                              chain, "tp", WHEN, "tls", (Notice.REVOCATION_UNKNOWN,)),
            AuthResult(ok=True, client_id="c", method=AuthMethod.TLS_CLIENT_AUTH, detail="d",
                       certificate=leaf, chain=chain, thumbprint="tp", expires_at=WHEN,
                       source="tls", notices=(Notice.REVOCATION_UNKNOWN,)),
        ),
        (
            AuthResult.failed(Failure.BAD_SECRET, "wrong", client_id="c",
                              method=AuthMethod.CLIENT_SECRET_BASIC, source="authorization"),
            AuthResult(ok=False, client_id="c", method=AuthMethod.CLIENT_SECRET_BASIC,
                       failure=Failure.BAD_SECRET, error=Failure.BAD_SECRET.error,
                       detail="wrong", source="authorization"),
        ),
        (
            CertificateCheck.passed([leaf], expires_at=WHEN, detail="x",
                                    notices=(Notice.REVOCATION_UNKNOWN,)),
            CertificateCheck(True, None, "x", (leaf,), WHEN, (Notice.REVOCATION_UNKNOWN,)),
        ),
        (
            CertificateCheck.failed(Failure.UNTRUSTED_CHAIN, "no path"),
            CertificateCheck(False, Failure.UNTRUSTED_CHAIN, "no path"),
        ),
        (
            PresentedChain.of(chain, "tls", "tp", (Notice.UNTRUSTED_FORWARDED_HEADER,), True),
            PresentedChain(chain, "tls", "tp", (Notice.UNTRUSTED_FORWARDED_HEADER,), True),
        ),
        *server_requests(leaf),
        (
            Presented._of("c", "s", AuthMethod.CLIENT_SECRET_BASIC, "authorization", "jwt"),
            Presented("c", "s", AuthMethod.CLIENT_SECRET_BASIC, "authorization", "jwt"),
        ),
    ]


def server_requests(leaf: object) -> list[tuple[ClientRequest, ClientRequest]]:
    """ClientRequest._from_server (the ASGI adapter's) against the constructor: plain, with
    form, query, peer and chain, over the header limit, over the chain limit, unreadable."""
    headers = [(b"Host", b"a"), (b"Authorization", b"Basic eA=="), (b"X-\xe9", b"\xff")]
    many = [(b"x-h", b"v")] * (MAX_HEADERS + 1)
    long_chain = (leaf,) * (MAX_CHAIN_LENGTH + 1)
    cases: list[tuple[Any, ...]] = [
        (headers, None, None, None, (), None),
        (headers, {"client_id": ["c"]}, {"q": ["1"]}, "10.0.0.1", (leaf,), None),
        (many, None, None, "10.0.0.1", (), None),
        (headers, None, None, None, long_chain, None),
        (headers, {"client_id": ["c"]}, None, None, (leaf,), "body too large"),
    ]
    return [
        (
            ClientRequest._from_server(h, dict(f) if f else f, dict(q) if q else q, p, c, u),
            ClientRequest(h, form=f, query=q, peer=p, tls_chain=c, unreadable=u),
        )
        for h, f, q, p, c, u in cases
    ]


class TestBuiltIsConstructed:
    def test_every_builder(self, pki: Pki) -> None:
        """Same class, every field set and equal, equal hash, same repr, immutable, and
        copy/replace (and pickle, where no certificate is held) round trips."""
        for built, constructed in built_and_constructed(pki):
            cls = type(constructed)
            assert type(built) is cls and isinstance(built, cls)
            for field in dataclasses.fields(cls):
                assert getattr(built, field.name) == getattr(constructed, field.name), field
            assert built == constructed
            try:
                expected: object = hash(constructed)
            except TypeError:  # (a ClientRequest holding a form: a mapping is not hashable)
                expected = TypeError
            try:
                got: object = hash(built)
            except TypeError:
                got = TypeError
            assert got == expected
            assert repr(built) == repr(constructed)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(built, dataclasses.fields(cls)[1].name, "changed")
            holds_certificates = (
                getattr(constructed, "chain", ()) or getattr(constructed, "certificate", None)
            )
            if not holds_certificates and not isinstance(constructed, ClientRequest):
                # (cryptography's certificates, and mapping proxies, do not pickle)
                assert pickle.loads(pickle.dumps(built)) == constructed
            assert copy.copy(built) == constructed
            if not isinstance(constructed, ClientRequest):  # (its __init__ takes other names)
                assert dataclasses.replace(built) == constructed

    def test_a_field_the_builder_forgets_is_caught(self) -> None:
        """The check above finds an unset slot: reading it raises."""

        @dataclasses.dataclass(frozen=True, slots=True)
        class Two:
            a: int
            b: int

        half = layout_of(Two)()
        half.a = 1
        value = as_class(half, Two)
        with pytest.raises(AttributeError):
            _ = value.b

    def test_only_plain_slotted_classes(self) -> None:
        """A class with a base or without slots is refused: its layout could differ."""

        class NoSlots:
            pass

        with pytest.raises(TypeError):
            layout_of(NoSlots)
