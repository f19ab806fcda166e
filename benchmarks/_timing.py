"""Timing helper shared by the benchmark scripts (imported as a sibling module)."""

from __future__ import annotations

import time


def best_time(function, repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
