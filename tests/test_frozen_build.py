"""Values built per request without the frozen ``__init__`` are the values (issue 18).

:mod:`clientauth._frozen` fills a plain class of the same slot layout and then gives the object
its real class. What must hold for every builder (``AuthResult._build`` / ``AuthResult.failed``,
``CertificateCheck.passed`` / ``failed``, ``PresentedChain.of``): the object is an instance of
the frozen class, every field is set, it equals (and hashes like) what the constructor builds,
stays immutable, pickles and copies as one, and its repr is the dataclass's. A field added to a
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
from clientauth import AuthMethod, AuthResult, CertificateCheck, Failure, Notice
from clientauth._frozen import as_class, layout_of
from clientauth._presented import PresentedChain

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
            assert built == constructed and hash(built) == hash(constructed)
            assert repr(built) == repr(constructed)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(built, dataclasses.fields(cls)[1].name, "changed")
            if not (getattr(constructed, "chain", ()) or getattr(constructed, "certificate", None)):
                # (cryptography's certificates do not pickle, whoever holds them)
                assert pickle.loads(pickle.dumps(built)) == constructed
            assert copy.copy(built) == constructed
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
