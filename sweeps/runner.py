"""Resumable sweeps: compute the points the store lacks, store each as it ends.

:func:`run_sweep` computes only the points of a :class:`~jamming.sweeps.spec.SweepSpec` grid
that the store does not hold yet, on an executor (:mod:`jamming.sweeps.executors`), and writes
each result as soon as it arrives, from the client only, one transaction per point. A sweep
killed at any moment therefore resumes where it stopped, recomputing nothing that was stored.
A point whose function raises is stored as ``failed`` with its error and does not stop the
sweep; failed points are skipped on later runs unless ``retry_failed=True``.

:class:`SweepRunner` is what the claims use: named sweeps at a scale, through one store and
one executor, returning the stored records as a DataFrame.
"""

from __future__ import annotations

import datetime
import functools
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jamming import __version__
from jamming.simulate.devices import DEVICES, resolve_device
from jamming.sweeps.catalog import get_sweep
from jamming.sweeps.executors import SerialExecutor, make_executor
from jamming.sweeps.spec import SweepSpec
from jamming.sweeps.store import Record, Store


def _git(*args: str) -> subprocess.CompletedProcess | None:
    """``git ARGS`` in the checkout this package runs from; ``None`` where git cannot run."""
    try:
        return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=256)
def commit_descends_from(commit: str, ancestor: str) -> bool | None:
    """Whether ``commit`` is ``ancestor`` or a descendant of it in this checkout's history.

    ``None`` when it cannot be told (no git, or a commit this checkout does not know): the
    provenance of a record computed at ``commit`` is then unverified.
    """
    known = _git("cat-file", "-e", f"{commit}^{{commit}}")
    if known is None or known.returncode != 0:
        return None
    result = _git("merge-base", "--is-ancestor", ancestor, commit)
    return None if result is None or result.returncode not in (0, 1) else result.returncode == 0


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout this package runs from, or ``None`` outside git."""
    result = _git("rev-parse", "HEAD")
    if result is None or result.returncode != 0:
        return None
    return result.stdout.strip() or None


@dataclass(frozen=True)
class PointOutcome:
    """What a worker sends back for one point (see :func:`run_point`)."""

    params: dict
    status: str
    results: dict
    error: str | None
    wall_time_s: float
    host: str


def run_point(function: Callable[..., Mapping], params: dict, device: str | None) -> PointOutcome:
    """Run ``function`` on one point and capture its results or its error (worker side)."""
    start = time.perf_counter()
    try:
        results = dict(function(params) if device is None else function(params, device=device))
        status, error = "ok", None
    except Exception as exc:  # noqa: BLE001 - a failed point is recorded, never raised
        results, status = {}, "failed"
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    return PointOutcome(
        params, status, results, error, time.perf_counter() - start, platform.node()
    )


def _lost_point(params: dict, error: BaseException) -> PointOutcome:
    """The outcome of a point whose worker died before it could report."""
    return PointOutcome(params, "failed", {}, f"{type(error).__name__}: {error}", 0.0, "")


def _split_results(results: Mapping) -> tuple[dict, dict]:
    scalars, arrays = {}, {}
    for name, value in results.items():
        if isinstance(value, np.ndarray) and value.ndim > 0:
            arrays[name] = value
        elif isinstance(value, np.ndarray):
            scalars[name] = value.item()
        else:
            scalars[name] = value
    return scalars, arrays


def progress_style(progress: bool | None) -> str | None:
    """How long-running loops report progress: ``"bar"``, ``"lines"`` or ``None`` (silent).

    Parameters
    ----------
    progress : bool or None
        ``True``: tqdm bars; ``False``: nothing; ``None`` (the default everywhere): tqdm bars
        when stderr is a terminal, else one line on stderr per finished sweep and claim, so
        that a CI log shows how far a run got.
    """
    if progress is None:
        return "bar" if sys.stderr.isatty() else "lines"
    return "bar" if progress else None


def progress_line(text: str) -> None:
    """Print one progress line on stderr (flushed at once, for logs)."""
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SweepSummary:
    """How a :func:`run_sweep` call went.

    Attributes
    ----------
    name : str
    total : int
        Points in the grid.
    cached : int
        Points found in the store (not recomputed).
    computed : int
        Points computed by this call (``ok`` or ``failed``).
    failed : int
        Points of the grid whose stored record is ``failed`` after this call.
    keys : tuple of str
        The store keys of the grid, in grid order.
    seconds : float
        Wall time of the call.
    """

    name: str
    total: int
    cached: int
    computed: int
    failed: int
    keys: tuple[str, ...]
    seconds: float

    def describe(self, scale: str) -> str:
        """One line: ``sweep NAME quick: 40 points (40 cached, 0 computed, 0 failed) 0.3 s``."""
        return (f"sweep {self.name} {scale}: {self.total} points ({self.cached} cached, "
                f"{self.computed} computed, {self.failed} failed) {self.seconds:.1f} s")


def run_sweep(
    spec: SweepSpec,
    store: Store,
    points: Sequence[Mapping],
    *,
    executor=None,
    retry_failed: bool = False,
    device: str = "cpu",
    progress: bool | None = None,
) -> SweepSummary:
    """Compute the points of ``spec`` that ``store`` does not hold, storing each as it ends.

    Parameters
    ----------
    spec : SweepSpec
    store : Store
        Written by this (client) process only.
    points : sequence of dict
        The parameter points, usually ``spec.points(scale)``.
    executor : SerialExecutor or DaskExecutor, optional
        Where to compute (default: serial, in process).
    retry_failed : bool
        Recompute points stored as failed.
    device : str
        Passed to device-aware functions and recorded in the metadata.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal (see :func:`progress_style`;
        the one-line summary off a terminal is :class:`SweepRunner`'s, which knows the scale).

    Returns
    -------
    SweepSummary
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    points = [dict(p) for p in points]
    keys = [spec.key(p) for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError(f"sweep {spec.name!r}: the grid repeats a parameter point")
    stored = store.statuses(spec.name)
    redo = {"ok"} if retry_failed else {"ok", "failed"}
    pending = [p for p, k in zip(points, keys, strict=True) if stored.get(k) not in redo]
    executor = executor or SerialExecutor()
    worker = functools.partial(
        run_point, spec.function, device=device if spec.uses_device else None
    )
    show = progress_style(progress) == "bar"
    # leave=None: a bar nested under check_claims' bar of claims is cleared when done
    with tqdm(total=len(pending), desc=spec.name, disable=not show, unit="pt",
              leave=None) as bar:
        for params, outcome in executor.map_unordered(worker, pending, _lost_point):
            store.put(_record(spec, params, outcome, device if spec.uses_device else "cpu"))
            bar.update()
    statuses = store.statuses(spec.name)
    return SweepSummary(
        name=spec.name,
        total=len(points),
        cached=len(points) - len(pending),
        computed=len(pending),
        failed=sum(statuses.get(k) == "failed" for k in keys),
        keys=tuple(keys),
        seconds=time.perf_counter() - start,
    )


def _record(spec: SweepSpec, params: dict, outcome: PointOutcome, device: str) -> Record:
    scalars, arrays = _split_results(outcome.results)
    meta = {
        "package_version": __version__,
        "git_commit": git_commit(),
        "device": device,
        "wall_time_s": outcome.wall_time_s,
        "host": outcome.host,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return Record(
        sweep=spec.name,
        key=spec.key(params),
        version=spec.version,
        params=params,
        status=outcome.status,
        scalars=scalars,
        arrays=arrays,
        error=outcome.error,
        meta=meta,
    )


class SweepRunner:
    """Runs named sweeps through one store and one executor for the claims.

    Parameters
    ----------
    store : Store
    workers : int, optional
        Dask ``LocalCluster`` worker processes (started on first use).
    scheduler : str, optional
        Address of an existing Dask scheduler.
    device : {"auto", "cpu", "cuda"}
        For device-aware sweeps; resolved (importing torch) only when one runs.
    retry_failed : bool
        Recompute points stored as failed.
    progress : bool, optional
        tqdm bars on a terminal, one line per finished sweep on stderr otherwise (see
        :func:`progress_style`); ``False`` is silent.
    """

    def __init__(self, store: Store, *, workers=None, scheduler=None, device="auto",
                 retry_failed=False, progress=None):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
        self.store = store
        self._device = device
        self.retry_failed = retry_failed
        self.progress = progress
        self._executor_args = (workers, scheduler)
        self._executor = None
        self.summaries: list[SweepSummary] = []

    def run(self, sweep: str, scale: str, *, arrays: bool = False):
        """Run sweep ``sweep`` at ``scale`` (only missing points) and return its DataFrame.

        The frame has one row per grid point, in grid order; failed points keep their row
        with ``status == "failed"``. With ``arrays=True`` it also has one column per array
        result (see :meth:`.Store.frame`).
        """
        spec = get_sweep(sweep)
        if self._executor is None:
            self._executor = make_executor(*self._executor_args)
        summary = run_sweep(
            spec, self.store, spec.points(scale), executor=self._executor,
            retry_failed=self.retry_failed, progress=self.progress,
            device=resolve_device(self._device) if spec.uses_device else "cpu",
        )
        self.summaries.append(summary)
        if progress_style(self.progress) == "lines":
            progress_line(summary.describe(scale))
        return self.store.frame(spec.name, summary.keys, arrays=arrays)

    def close(self) -> None:
        """Release the executor (a Dask cluster, if one was started)."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def __enter__(self) -> SweepRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
