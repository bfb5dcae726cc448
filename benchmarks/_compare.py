"""Shared helper for the peer comparisons: interleaved rounds, CPU time, ratios per round.

On a shared 2-core machine wall-clock figures swing 20-50% between runs; a ratio taken within
one round (both sides measured back to back) is far steadier. Each side is timed with the
thread's own CPU clock (``time.thread_time_ns``), which does not count the time other
processes hold the CPU, and the order of the sides alternates from round to round so that a
slow spell hits every side alike.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping

Samples = dict[str, list[float]]
"""Per side, one per-call figure (microseconds of CPU time) per round."""


def interleaved(
    sides: Mapping[str, Callable[[], object]], *, number: int, rounds: int
) -> Samples:
    """Per-call CPU microseconds of each side, ``number`` calls per round, ``rounds`` rounds."""
    for fn in sides.values():
        fn()  # warm-up: imports, lazy state, caches a steady-state request would have filled
    out: Samples = {name: [] for name in sides}
    items = list(sides.items())
    for round_ in range(rounds):
        for name, fn in items if round_ % 2 == 0 else items[::-1]:
            start = time.thread_time_ns()
            for _ in range(number):
                fn()
            out[name].append((time.thread_time_ns() - start) / number / 1000)
    return out


def median(samples: Samples, side: str) -> float:
    return statistics.median(samples[side])


def ratio(samples: Samples, side: str, base: str) -> float:
    """The median over rounds of ``side / base``, each ratio taken within one round."""
    return statistics.median(a / b for a, b in zip(samples[side], samples[base], strict=True))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def verdict(value: float, goal: float) -> str:
    return "met" if value <= goal else "NOT met"
