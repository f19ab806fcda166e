"""Resumable sweeps: a pure function over a grid of parameter points, cached in the store.

A sweep is described by a :class:`SweepSpec`: a name, a *pure* function
``function(params) -> results`` (same params, same results: the seed is a parameter), a
version tag that changes whenever the function's results would, and a ``grid(scale)`` that
lists the points of each scale. :func:`run_sweep` computes only the points that the store
does not hold yet, on an executor (:class:`SerialExecutor` in-process, or
:class:`DaskExecutor` over a ``LocalCluster`` or an existing scheduler), and writes each
result as soon as it arrives, from the client only, one transaction per point. A sweep killed
at any moment therefore resumes where it stopped, recomputing nothing that was stored.

A point whose function raises is stored as ``failed`` with its error and does not stop the
sweep; failed points are skipped on later runs unless ``retry_failed=True``.
"""

from __future__ import annotations

import datetime
import functools
import platform
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jamming import __version__
from jamming.simulate.store import Record, Store, record_key


@dataclass(frozen=True)
class SweepSpec:
    """A named simulation grid.

    Attributes
    ----------
    name : str
        The sweep's name in the store (``jamming sweep NAME``).
    function : callable
        ``function(params: dict) -> dict``, pure and importable (module level), so that Dask
        workers can run it. The result maps names to scalars (int, float, bool, str) or numpy
        arrays. With ``uses_device`` it is called as ``function(params, device=...)``.
    version : str
        Tag hashed into every record key: bump it when the function's results change.
    grid : callable
        ``grid(scale) -> list[dict]``: the parameter points of a scale, seeds included.
    description : str
        One line for ``jamming list``.
    uses_device : bool
        Whether ``function`` takes a ``device`` keyword ("cpu", "cuda").
    """

    name: str
    function: Callable[..., Mapping]
    version: str
    grid: Callable[[str], list[dict]]
    description: str
    uses_device: bool = False

    def key(self, params: Mapping) -> str:
        """The store key of one point."""
        return record_key(self.name, self.version, params)


def derive_seed(root_seed: int, *spawn_key: int) -> int:
    """A 63-bit child seed of ``root_seed`` for the point labelled by ``spawn_key``.

    Uses :class:`numpy.random.SeedSequence`, whose children are statistically independent,
    so grid points (and blocks of trials within a point) never share random streams.

    Parameters
    ----------
    root_seed : int
        The sweep's root seed, >= 0.
    *spawn_key : int
        Non-negative integers that identify the point, e.g. ``(n_eff, n_data, block)``.
    """
    words = np.random.SeedSequence(root_seed, spawn_key=spawn_key).generate_state(2, np.uint32)
    return int((int(words[0]) << 32 | int(words[1])) & ((1 << 63) - 1))


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout this package runs from, or ``None`` outside git."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None


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


class SerialExecutor:
    """Run points one after the other in this process."""

    name = "serial"

    def map_unordered(self, fn, items: Iterable, on_error) -> Iterator[tuple[object, object]]:
        """Yield ``(item, fn(item))`` in order (``fn`` is expected to catch its own errors)."""
        for item in items:
            yield item, fn(item)

    def close(self) -> None:
        """Nothing to release."""


#: Environment of local worker processes: one BLAS/OpenMP thread each, since the parallelism
#: is across processes (two-thread BLAS in each of two workers on two cores was measured
#: up to 100x slower than one).
SINGLE_THREADED_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"}


class DaskExecutor:
    """Run points on Dask distributed: a new ``LocalCluster`` or an existing scheduler.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster`` with this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:PORT``); its workers must be able to
        import ``jamming``.
    connect_timeout : float
        Seconds to wait for the scheduler before giving up.

    Raises
    ------
    ValueError
        If neither or both of ``workers`` and ``scheduler`` are given, ``workers < 1``, or
        the scheduler cannot be reached.
    """

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 connect_timeout: float = 10.0):
        from dask.distributed import Client, LocalCluster

        if (workers is None) == (scheduler is None):
            raise ValueError("DaskExecutor needs exactly one of workers and scheduler")
        self._cluster = None
        if scheduler is not None:
            _probe_scheduler(scheduler, connect_timeout)
            try:
                self.client = Client(scheduler, timeout=f"{connect_timeout}s")
            except (OSError, TimeoutError, ValueError) as error:
                raise ValueError(
                    f"scheduler {scheduler!r} cannot be reached: {error}".splitlines()[0]
                ) from None
        else:
            check_workers(workers)
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, env=SINGLE_THREADED_ENV,
            )
            self.client = Client(self._cluster)

    def map_unordered(self, fn, items: Iterable, on_error) -> Iterator[tuple[object, object]]:
        """Submit every item and yield ``(item, fn(item))`` as they complete.

        A task that dies with its worker (``KilledWorker``, lost connection) yields
        ``(item, on_error(item, exception))`` instead of stopping the iteration.
        """
        from dask.distributed import as_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            item = items[index[future.key]]
            try:
                yield item, future.result()
            except Exception as error:  # noqa: BLE001 - the point is recorded as failed
                yield item, on_error(item, error)

    def close(self) -> None:
        """Close the client and the cluster it started."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _probe_scheduler(address: str, timeout: float) -> None:
    """Fail fast, with a clear message, when a ``tcp://HOST:PORT`` scheduler does not answer.

    (Dask's own client would retry silently until its timeout.)
    """
    location = address.removeprefix("tcp://")
    if "://" in location:  # another protocol (tls, ucx, inproc): leave it to Dask
        return
    host, _, port = location.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"scheduler address must look like tcp://HOST:PORT; got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ValueError(f"scheduler {address!r} cannot be reached: {error}") from None


def check_workers(workers) -> int:
    """Validate a worker count (a positive integer)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    return workers


def make_executor(workers: int | None = None, scheduler: str | None = None):
    """:class:`SerialExecutor` by default, a :class:`DaskExecutor` with workers or scheduler."""
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers or scheduler, not both")
    if workers is None and scheduler is None:
        return SerialExecutor()
    return DaskExecutor(workers=workers, scheduler=scheduler)


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
    """

    name: str
    total: int
    cached: int
    computed: int
    failed: int
    keys: tuple[str, ...]


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
        The parameter points, usually ``spec.grid(scale)``.
    executor : SerialExecutor or DaskExecutor, optional
        Where to compute (default: serial, in process).
    retry_failed : bool
        Recompute points stored as failed.
    device : str
        Passed to device-aware functions and recorded in the metadata.
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a terminal.

    Returns
    -------
    SweepSummary
    """
    from tqdm.auto import tqdm

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
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(pending), desc=spec.name, disable=not show, unit="pt") as bar:
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
