"""A small bounded, thread-safe LRU map for per-request memoisation.

Requests repeat themselves: the same proxy header, the same PEM strings from a long-lived TLS
connection, the same certificate objects. Remembering what was derived from them (a parsed
certificate, a thumbprint, normalised names) turns per-request parsing into a dictionary
lookup. Every cache here is bounded, holds only values derived deterministically from its key,
and is safe to share between threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cryptography import x509

__all__ = ["LRU", "CertificateMemo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Least-recently-used map holding at most ``size`` entries."""

    __slots__ = ("_data", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        # Reads take no lock: OrderedDict operations are atomic under the GIL, and a key that a
        # concurrent put() evicted between the two calls is simply not moved (KeyError).
        value = self._data.get(key)
        if value is not None:
            with contextlib.suppress(KeyError):
                self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class CertificateMemo(Generic[V]):
    """Remember one derived value per certificate *object*.

    Keyed by the signature bytes (cheap to read; hashing a certificate re-encodes it) and
    confirmed by identity, so a different certificate that happens to carry the same signature
    bytes can never receive another certificate's value.
    """

    __slots__ = ("_lru",)

    def __init__(self, size: int = 4096) -> None:
        self._lru: LRU[bytes, tuple[x509.Certificate, V]] = LRU(size)

    def get(self, certificate: x509.Certificate, compute: Callable[[x509.Certificate], V]) -> V:
        key = certificate.signature
        hit = self._lru.get(key)
        if hit is not None and hit[0] is certificate:
            return hit[1]
        value = compute(certificate)
        self._lru.put(key, (certificate, value))
        return value
