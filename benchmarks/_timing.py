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


def timed(function):
    """``(result, seconds)`` of one call of ``function()``."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def numba_against_numpy(workloads, threads: int, repeats: int) -> dict:
    """Time numba kernels on ``threads`` threads and on one against their numpy anchors.

    ``workloads``: iterable of ``(name, size, ours, anchor, check, extra)`` with ``size`` a
    text (printed), ``ours`` and ``anchor`` callables, ``check(ours_result,
    anchor_result) -> bool`` (printed as ``bitwise_equal``) and ``extra(anchor_result) ->
    str`` (appended to the line). Prints two lines per workload and the thread note; returns
    ``{name: numpy time / numba time at threads}``.
    """
    import numba

    ratios = {}
    for name, size, ours, anchor, check, extra in workloads:
        numba.set_num_threads(1)
        one = best_time(ours, repeats)
        numba.set_num_threads(threads)
        many = best_time(ours, repeats)
        reference, anchor_time = timed(anchor)
        equal = check(ours(), reference)
        print(f"{name}: {size} numba[{threads} threads]={many:.3f}s "
              f"numba[1 thread]={one:.3f}s numpy={anchor_time:.3f}s bitwise_equal={equal}"
              f"{extra(reference)}")
        print(f"{name}: ratio[{threads} threads]={anchor_time / many:.1f} "
              f"ratio[1 thread]={anchor_time / one:.1f}")
        ratios[name] = anchor_time / many
    print(f"numba threads: {threads} (of {numba.config.NUMBA_NUM_THREADS} available); "
          "numpy single-threaded; compile time excluded (warm-up call)")
    return ratios
