"""Does the PKI verified-chain cache stay bounded under many distinct client chains?

    python benchmarks/cache_memory.py                        # 20,000 real + 1,000,000 synthetic
    python benchmarks/cache_memory.py --real 5000 --synthetic 200000 --cache-size 4096

Two measurements, reported separately and honestly:

1. **Real certificates.** ``--real`` distinct leaves (one P-256 key, distinct subjects and
   serials -- signing dominates: roughly 10k certificates per 10 s here) are verified by a
   ``PKIVerifier`` with the default cache. Every one is a genuine path validation and a
   genuine cache insertion. Generating a million signed certificates in Python would take
   hours, so this is the largest distinct set that fits in a bounded run.
2. **Synthetic 1,000,000 distinct entries.** The verifier's own ``_check_path`` -- the lock,
   the lookup, the insertion, the LRU eviction -- runs for ``--synthetic`` distinct chains,
   with the two parts that need real certificates stubbed: ``_presented`` passes synthetic
   certificate stand-ins through, ``_validate`` returns a passed check. The key material is
   real-sized (72-byte ECDSA signatures), so the memory per entry is representative.

For both: the cache length after every 1,000 insertions (max must be <= cap) and the
``tracemalloc`` current / peak of the run, next to the memory at the moment the cache first
filled: a bounded cache stops growing there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cryptography import x509

import clientauth.pki as pki_module
from certs import NOW, Pki, clock, new_key
from clientauth import CertificateCheck, PKIVerifier
from clientauth.pki import DEFAULT_CACHE_SIZE


def _mib(n: int) -> str:
    return f"{n / 2**20:8.1f} MiB"


def real(count: int, cache_size: int) -> None:
    pki = Pki.create("Cache Memory Corp")
    key = new_key()
    start = time.monotonic()
    # Kept as DER and parsed one at a time while traced: the only certificates alive are the
    # ones the cache holds (an entry keeps its presented certificates).
    leaves = [pki.leaf(f"leaf-{i}", key=key).der for i in range(count)]
    made = time.monotonic() - start
    verifier = PKIVerifier([pki.root.cert], intermediates=[pki.intermediate.cert], now=clock(),
                           cache_size=cache_size)
    tracemalloc.start()
    full_at: int | None = None
    longest = 0
    start = time.monotonic()
    for i, der in enumerate(leaves):
        check = verifier.verify_chain([x509.load_der_x509_certificate(der)])
        if not check.ok:
            raise SystemExit(f"leaf {i} did not verify: {check.detail}")
        size = len(verifier._cache)
        longest = max(longest, size)
        if full_at is None and size == cache_size:
            full_at = tracemalloc.get_traced_memory()[0]
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"real: {count} distinct certificates (generated in {made:.1f} s, verified in "
          f"{time.monotonic() - start:.1f} s)")
    print(f"  cache cap {cache_size}, max length seen {longest}, final {len(verifier._cache)}")
    print(f"  traced memory when the cache filled {_mib(full_at or 0)}, at the end "
          f"{_mib(current)}, peak {_mib(peak)}")
    if longest > cache_size:
        raise SystemExit("cache cap exceeded")


class _FakeCert:
    """What ``_check_path`` reads of a certificate: signature, and validity for the entry."""

    __slots__ = ("not_valid_after_utc", "not_valid_before_utc", "signature")

    def __init__(self, signature: bytes) -> None:
        self.signature = signature
        self.not_valid_before_utc = NOW - timedelta(days=1)
        self.not_valid_after_utc = NOW + timedelta(days=365)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _FakeCert) and other.signature == self.signature

    __hash__ = None  # type: ignore[assignment]


_UNTIL = NOW + timedelta(days=365)


class _StubbedVerifier(PKIVerifier):
    """The real cache bookkeeping; path validation stubbed to "passed"."""

    def _validate(self, presented: Any, anchors: Any, second: int, at: datetime,
                  now: datetime) -> tuple[CertificateCheck, datetime]:
        return CertificateCheck.passed(presented, expires_at=_UNTIL), _UNTIL


def synthetic(count: int, cache_size: int) -> None:
    pki = Pki.create("Synthetic Corp")
    verifier = _StubbedVerifier([pki.root.cert], now=clock(), cache_size=cache_size)
    real_presented = pki_module._presented
    pki_module._presented = tuple  # type: ignore[assignment]
    anchors = verifier._global
    salt = os.urandom(40)
    tracemalloc.start()
    full_at: int | None = None
    longest = 0
    start = time.monotonic()
    try:
        for i in range(count):
            sig = salt + i.to_bytes(32, "big")  # 72 bytes, like a P-256 ECDSA signature
            check = verifier._check_path([_FakeCert(sig)], anchors)
            if not check.ok:
                raise SystemExit("synthetic check failed")
            if i % 1000 == 0 or i == count - 1:
                size = len(verifier._cache)
                longest = max(longest, size)
                if full_at is None and size == cache_size:
                    full_at = tracemalloc.get_traced_memory()[0]
    finally:
        pki_module._presented = real_presented
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"synthetic: {count} distinct chains through PKIVerifier._check_path in "
          f"{time.monotonic() - start:.1f} s")
    print(f"  cache cap {cache_size}, max length seen {longest}, final {len(verifier._cache)}")
    print(f"  traced memory when the cache filled {_mib(full_at or 0)}, at the end "
          f"{_mib(current)}, peak {_mib(peak)}")
    if longest > cache_size:
        raise SystemExit("cache cap exceeded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=int, default=20_000)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    parser.add_argument("--cache-size", type=int, default=DEFAULT_CACHE_SIZE)
    args = parser.parse_args()
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if args.real:
        real(args.real, args.cache_size)
    if args.synthetic:
        synthetic(args.synthetic, args.cache_size)


if __name__ == "__main__":
    main()
