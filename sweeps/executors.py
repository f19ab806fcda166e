"""Where the points of a sweep are computed: in process, or on Dask distributed.

An executor maps a function over parameter points and yields ``(item, result)`` pairs as they
complete; only the client that iterates writes to the store. :class:`SerialExecutor` runs in
this process (tests, quick scale); :class:`DaskExecutor` runs on a new ``LocalCluster`` of
single-threaded worker processes or on an existing scheduler (a cluster; see the README).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator


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
