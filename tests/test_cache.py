"""clientauth._cache.LRU: the one bounded cache of the package (issue 17 item 2)."""

from __future__ import annotations

import threading
from pathlib import Path

import clientauth
from clientauth._cache import LRU

SRC = Path(clientauth.__file__).parent


def test_count_bound_evicts_least_recently_used() -> None:
    """At most ``size`` entries; a read makes an entry recent."""
    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)
    assert len(lru) == 2


def test_weighted_bound() -> None:
    """With ``weigh``, the weights add up to at most ``size``; replacing an entry replaces its
    weight; an entry heavier than the whole budget is not kept."""
    lru: LRU[str, bytes] = LRU(10, weigh=len)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    lru.put("a", b"12")  # a is now the most recent, weighing 2: 6 in all
    lru.put("c", b"1234")  # 10 in all: nothing goes
    assert len(lru) == 3
    lru.put("d", b"1")  # 11: the least recently used (b) goes
    assert lru.get("b") is None and lru.get("a") == b"12"
    lru.put("huge", b"x" * 11)
    assert len(lru) == 0


def test_pop_and_setdefault() -> None:
    """pop forgets a key (absent keys are fine); setdefault keeps the first value stored."""
    lru: LRU[str, int] = LRU(4, weigh=lambda v: v)
    assert lru.setdefault("a", 1) == 1
    assert lru.setdefault("a", 2) == 1
    lru.pop("a")
    lru.pop("missing")
    assert lru.get("a") is None
    lru.put("b", 4)  # the weights of popped entries were released
    assert lru.get("b") == 4


def test_threads_keep_the_bound() -> None:
    """Concurrent writers never leave more than ``size`` entries."""
    lru: LRU[int, int] = LRU(50)

    def write(base: int) -> None:
        for i in range(2000):
            lru.put(base + i % 200, i)
            lru.get(base + (i * 7) % 200)

    threads = [threading.Thread(target=write, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(lru) == 50


def test_no_hand_written_lru_elsewhere() -> None:
    """No module but _cache.py keeps its own OrderedDict LRU (move_to_end / popitem)."""
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "_cache.py"
        and ("move_to_end" in path.read_text() or "popitem(last=False)" in path.read_text())
    )
    assert offenders == []
