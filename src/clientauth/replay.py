"""Replay stores for client assertions: each ``jti`` is used once per client until it expires.

RFC 7523 3, item 7: "The authorization server MAY ensure that JWTs are not replayed by
maintaining the set of used "jti" values for the length of time for which the JWT would be
considered valid"; OpenID Connect Core 9 makes the ``jti`` a "unique identifier" that "MUST
only be used once"; draft-ietf-oauth-rfc7523bis keeps the rule. clientauth always enforces it.

A store answers one question, atomically: is this the first use of ``(client_id, jti)``
before ``expires_at``? (:meth:`ReplayStore.use`). Two stores ship:

* :class:`MemoryReplayStore`, the default: one process. Bounded: when ``max_entries``
  unexpired entries are held it refuses to record more (raises
  :class:`~clientauth.RegistryError`, which the authenticator turns into "unavailable", 503),
  because forgetting an unexpired ``jti`` to make room would let it be replayed.
* :class:`~clientauth.replay_sql.SQLReplayStore` (``pip install clientauth[sql]``):
  PostgreSQL (several hosts) or SQLite (several processes on one host). One statement per
  assertion -- ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <expired>`` -- so two hosts
  racing with the same ``jti`` cannot both win. Same schema story as
  :class:`~clientauth.registry_sql.SQLRegistry`: ``create_schema()`` once per database,
  idempotent. Rows hold a SHA-256 digest of ``client_id`` and ``jti``
  (fixed size, nothing the client chose verbatim) and the expiry; expired rows are deleted
  at most once per ``purge_interval`` per process.

Behind a load balancer every host must share one store, or an assertion refused on host A
is accepted on host B.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from ._clock import clock_setting
from .exceptions import ConfigurationError, RegistryError

__all__ = [
    "DEFAULT_REPLAY_ENTRIES",
    "MAX_REPLAY_ENTRIES",
    "MemoryReplayStore",
    "ReplayStore",
    "replay_key",
]

DEFAULT_REPLAY_ENTRIES = 100_000
"""Unexpired ``jti`` values a :class:`MemoryReplayStore` holds by default: with the default
5-minute assertion lifetime, ~330 assertions a second sustained (~15 MB)."""

MAX_REPLAY_ENTRIES = 10_000_000
"""Upper bound for ``max_entries``."""


@runtime_checkable
class ReplayStore(Protocol):
    """Where used assertion ids are remembered. Implementations must be thread-safe."""

    def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record ``jti`` as used by ``client_id`` until ``expires_at``. ``True`` when this is
        its first use (or the earlier use has expired), ``False`` for a replay. Atomic: of
        two concurrent calls with the same pair, at most one returns ``True``. Raises when
        the store cannot answer (the authenticator then answers "unavailable", never
        "accepted")."""
        ...


def replay_key(client_id: str, jti: str) -> str:
    """The stored key of ``(client_id, jti)``: SHA-256 hex of both, length-prefixed so that
    no two pairs share a key. Per client (RFC 7523 3: the jti is unique per issuer)."""
    raw_id = client_id.encode("utf-8", "surrogatepass")
    raw_jti = jti.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(len(raw_id).to_bytes(4, "big") + raw_id + raw_jti)
    return digest.hexdigest()


class MemoryReplayStore:
    """A bounded in-process :class:`ReplayStore`: entries leave when they expire.

    ``max_entries`` bounds the unexpired entries held; ``now`` is a callable returning an
    aware datetime (default: the system clock). Thread-safe."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_REPLAY_ENTRIES,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if (
            isinstance(max_entries, bool)
            or not isinstance(max_entries, int)
            or not 0 < max_entries <= MAX_REPLAY_ENTRIES
        ):
            raise ConfigurationError(
                f"max_entries must be an integer between 1 and {MAX_REPLAY_ENTRIES}"
            )
        self._max = max_entries
        self._now = clock_setting(now)
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def __repr__(self) -> str:
        return f"MemoryReplayStore({len(self)} of {self._max} entries)"

    def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        now = self._now().timestamp()
        until = expires_at.timestamp()
        key = (client_id, jti)
        with self._lock:
            self._purge(now)
            seen = self._expiry.get(key)
            if seen is not None and seen > now:
                return False
            if seen is None and len(self._expiry) >= self._max:
                # Evicting an unexpired jti would reopen it to replay: refuse instead.
                raise RegistryError(
                    f"replay store full: {self._max} unexpired assertion ids (max_entries)"
                )
            self._expiry[key] = until
            heapq.heappush(self._heap, (until, key))
            return True

    def _purge(self, now: float) -> None:
        heap, expiry = self._heap, self._expiry
        while heap and heap[0][0] <= now:
            until, key = heapq.heappop(heap)
            if expiry.get(key) == until:
                del expiry[key]
