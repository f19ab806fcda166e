"""Where the points of a sweep are computed: in process, or on Dask distributed.

An executor maps a function over parameter points and yields ``(item, result)`` pairs as they
complete; only the client that iterates writes to the store. :class:`SerialExecutor` runs in
this process (tests, quick scale); :class:`DaskExecutor` runs on a new ``LocalCluster`` of
single-threaded worker processes or on an existing scheduler (a cluster; see the README).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
        Seconds allowed to each step of reaching the scheduler (TCP connection, handshake,
        client); see :func:`check_scheduler`.

    Raises
    ------
    ValueError
        If neither or both of ``workers`` and ``scheduler`` are given, ``workers < 1``, or
        no Dask scheduler answers at ``scheduler`` (``"no Dask scheduler at ADDRESS: ..."``).
    """

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 connect_timeout: float = 10.0):
        from dask.distributed import Client, LocalCluster

        if (workers is None) == (scheduler is None):
            raise ValueError("DaskExecutor needs exactly one of workers and scheduler")
        self._cluster = None
        if scheduler is not None:
            address = check_scheduler(scheduler, connect_timeout)
            try:
                self.client = Client(address, timeout=f"{connect_timeout}s")
            except Exception as error:  # noqa: BLE001 - whatever Dask raises, one clear line
                raise _no_scheduler(address, error) from None
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


def check_scheduler(address: str, connect_timeout: float = 10.0) -> str:
    """Check that a Dask scheduler answers at ``address``, within ``connect_timeout`` seconds.

    A TCP connection is opened first (a closed port fails at once), then Dask's own
    handshake and an ``identity`` request run under one deadline, so that a port held by
    something else (an HTTP server, a silent socket, a Dask worker) is reported instead of
    hanging or ending in Dask's errors (misread frame lengths give "Unable to allocate
    2.82 EiB").

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` or ``HOST:PORT``; other protocols (``tls://``, ``ucx://``) skip
        the TCP probe.
    connect_timeout : float
        Seconds allowed for the TCP probe and, separately, for the handshake; positive.

    Returns
    -------
    str
        The address with its protocol (``tcp://`` added when missing).

    Raises
    ------
    ValueError
        ``"no Dask scheduler at ADDRESS: REASON"`` if nothing answers, something that is not
        a Dask scheduler answers, or the address is malformed.
    """
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be positive (seconds); got {connect_timeout!r}")
    given, address = address, address if "://" in address else f"tcp://{address}"
    if address.startswith("tcp://"):
        host, _, port = address.removeprefix("tcp://").rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"scheduler address must look like tcp://HOST:PORT; got {given!r}")
        try:
            socket.create_connection((host.strip("[]"), int(port)), connect_timeout).close()
        except OSError as error:
            raise _no_scheduler(address, error) from None
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # its own event loop
        try:
            identity = thread.submit(asyncio.run, _identity(address, connect_timeout)).result()
        except Exception as error:  # noqa: BLE001 - junk answers raise anything (MemoryError)
            raise _no_scheduler(address, error) from None
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":
        reason = f"a Dask {kind} answers there" if kind else "the answer is not a Dask identity"
        raise _no_scheduler(address, reason)
    return address


async def _identity(address: str, timeout: float):
    """Dask's handshake and ``identity`` request at ``address``, under one deadline."""
    from distributed.comm import connect

    async def ask():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        return await asyncio.wait_for(ask(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"no Dask handshake within {timeout:g} s") from None


def _no_scheduler(address: str, reason: BaseException | str) -> ValueError:
    """The one-line error for an address where no usable Dask scheduler answers."""
    if isinstance(reason, MemoryError):  # a frame length read from bytes that are not Dask's
        reason = "the answer is not a Dask message"
    elif isinstance(reason, BaseException):
        text = str(reason).strip()
        reason = text.splitlines()[0] if text else type(reason).__name__
    return ValueError(f"no Dask scheduler at {address}: {reason}")


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
