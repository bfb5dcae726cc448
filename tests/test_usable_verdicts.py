"""``_x509.check_usable`` remembers its verdicts per certificate object (issue 11's check, made
cheap for issue 18) -- and a verdict only ever applies to an equal encoding.

The case behind the identity refresh: a pinned certificate is parsed once from the registry
and then from each request's DER (one object, from the parse cache). Both carry the same
signature bytes, the key of the verdict; comparing two certificate objects costs about 1 us,
more than the rest of a pinned verify's checks, so after one comparison the entry names the
request's object and its next check is an identity test.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from cryptography import x509

from certs import self_signed
from clientauth import CertificateParseError, _x509
from clientauth._cache import LRU

HOSTILE = Path(__file__).parent / "vectors" / "hostile"


@pytest.fixture(autouse=True)
def fresh_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_x509, "_USABLE", LRU(4096))


def _entry(certificate: x509.Certificate) -> tuple[x509.Certificate, str | None] | None:
    return _x509._USABLE.peek(certificate.signature)


def test_equal_object_takes_over_the_verdict() -> None:
    issued = self_signed("pinned-client")
    registered = x509.load_pem_x509_certificate(issued.pem.encode())
    presented = x509.load_der_x509_certificate(issued.der)
    assert registered is not presented and registered == presented
    assert _x509.check_usable(registered) is registered
    entry = _entry(registered)
    assert entry is not None and entry[0] is registered
    assert _x509.check_usable(presented) is presented
    entry = _entry(presented)
    assert entry is not None and entry[0] is presented and entry[1] is None
    assert _x509.check_usable(presented) is presented  # now an identity hit
    assert _x509.check_usable(registered) is registered  # and the first object still passes


def test_unusable_verdict_follows_an_equal_object() -> None:
    """The refusal is remembered for an equal object too: same encoding, same verdict."""
    der = (HOSTILE / "subject-cn-utf8-invalid.der").read_bytes()
    first = x509.load_der_x509_certificate(der)
    second = x509.load_der_x509_certificate(der)
    with pytest.raises(CertificateParseError, match="subject"):
        _x509.check_usable(first)
    with pytest.raises(CertificateParseError, match="subject"):
        _x509.check_usable(second)
    entry = _entry(second)
    assert entry is not None and entry[0] is second and entry[1] == "subject"


def _pair_with_equal_signature_length() -> tuple[bytes, bytes]:
    """A usable corpus certificate and an unreadable one whose signatures have one length."""
    manifest = json.loads((HOSTILE / "MANIFEST.json").read_text())
    usable: dict[int, bytes] = {}
    unreadable: dict[int, bytes] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sorted(manifest):
            der = (HOSTILE / f"{name}.der").read_bytes()
            try:
                certificate = x509.load_der_x509_certificate(der)
            except (ValueError, x509.InvalidVersion):
                continue
            bucket = usable if _x509._unreadable_part(certificate) is None else unreadable
            bucket.setdefault(len(certificate.signature), der)
    length = min(set(usable) & set(unreadable))
    return usable[length], unreadable[length]


@pytest.mark.parametrize("order", ["genuine first", "look-alike first"])
def test_copied_signature_never_carries_a_verdict(order: str) -> None:
    """An unreadable certificate carrying a usable one's signature bytes (anyone can copy
    them) is decided on its own, whichever was checked first; the genuine one stays usable."""
    good_der, bad_der = _pair_with_equal_signature_length()
    genuine = x509.load_der_x509_certificate(good_der)
    bad = x509.load_der_x509_certificate(bad_der)
    grafted = bytearray(bad_der)
    at = grafted.rindex(bad.signature)
    grafted[at : at + len(bad.signature)] = genuine.signature
    lookalike = x509.load_der_x509_certificate(bytes(grafted))
    assert lookalike.signature == genuine.signature and lookalike != genuine
    if order == "genuine first":
        assert _x509.check_usable(genuine) is genuine
    with pytest.raises(CertificateParseError):
        _x509.check_usable(lookalike)
    assert _x509.check_usable(genuine) is genuine
    with pytest.raises(CertificateParseError):
        _x509.check_usable(lookalike)
