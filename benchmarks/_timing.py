"""Shared timing helper: median per-call time over repeated batches (noisy machines)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], *, batch: int = 1000, rounds: int = 15) -> float:
    """Median seconds per call of ``fn`` over ``rounds`` batches of ``batch`` calls."""
    fn()  # warm up caches, imports, lazy state
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:9.2f} ms"
    return f"{seconds * 1e6:9.2f} us"
