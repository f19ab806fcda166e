"""Timing helpers shared by the benchmark scripts, which import it as a sibling module
(``from timing import best_time``); not a benchmark itself, so ``make bench`` skips it."""

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


def numba_against_numpy(workloads, threads: int, repeats: int,
                        numba_times: dict | None = None) -> dict:
    """Time numba kernels on ``threads`` threads and on one against their numpy anchors.

    ``workloads``: iterable of ``(name, size, ours, anchor, check, extra)`` with ``size`` a
    text (printed), ``ours`` and ``anchor`` callables, ``check(ours_result,
    anchor_result) -> bool`` (printed as ``bitwise_equal``) and ``extra(anchor_result) ->
    str`` (appended to the line). Prints two lines per workload and the thread note; returns
    ``{name: numpy time / numba time at threads}``. ``numba_times``, if given, receives
    ``{name: numba time at threads}``.
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
        if numba_times is not None:
            numba_times[name] = many
    print(f"numba threads: {threads} (of {numba.config.NUMBA_NUM_THREADS} available); "
          "numpy single-threaded; compile time excluded (warm-up call)")
    return ratios


TORCH_DEVICES = ("cpu", "cuda")


def agreement(ours, theirs, fields) -> str:
    """`` bitwise_equal=True`` when the result dataclasses agree bitwise on ``fields``, else
    `` bitwise_equal=False`` with the largest relative difference of the first field."""
    import numpy as np

    if all(np.array_equal(getattr(ours, f), getattr(theirs, f), equal_nan=True)
           for f in fields):
        return " bitwise_equal=True"
    a, b = getattr(ours, fields[0]), getattr(theirs, fields[0])
    ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
    worst = np.max(np.abs(a[ok] / b[ok] - 1.0), initial=0.0)
    return f" bitwise_equal=False max_rel_diff={worst:.1e}"


def add_torch_device_argument(parser) -> None:
    """``--torch-device {cpu,cuda}``: also time the torch twins (simulate.torch_ensembles)."""
    parser.add_argument("--torch-device", choices=TORCH_DEVICES, default=None,
                        help="also time the torch versions on this device (default: cuda when "
                             "torch sees one, else skipped)")


def torch_device(requested: str | None) -> str | None:
    """The device to time torch on, or ``None`` (one line printed) when there is none."""
    if requested is not None:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    print("torch: skipped (no CUDA device; pass --torch-device cpu to time torch on the CPU)")
    return None


def torch_against_numba(workloads, device: str, repeats: int, numba_times: dict) -> None:
    """Time torch ensembles on ``device`` against the numba times ``numba_times[name]``.

    ``workloads``: iterable of ``(name, traj_steps, ours, check)`` with ``traj_steps`` the
    number of trajectory-steps of one call, ``ours`` the torch callable (after an untimed
    warm-up call by the caller) and ``check(torch_result) -> str`` (appended to the line).
    Prints one line per workload with both throughputs (trajectory-steps per second) and
    their ratio torch / numba.
    """
    import torch

    threads = f" torch threads: {torch.get_num_threads()}" if device == "cpu" else ""
    for name, traj_steps, ours, check in workloads:
        result, seconds = timed(ours)
        if repeats > 1:
            seconds = min(seconds, best_time(ours, repeats - 1))
        numba_seconds = numba_times[name]
        print(f"{name}: torch[{device}]={seconds:.3f}s "
              f"throughput torch={traj_steps / seconds:.3g} numba={traj_steps / numba_seconds:.3g} "
              f"traj-steps/s torch/numba={numba_seconds / seconds:.3g}{check(result)}{threads}")
