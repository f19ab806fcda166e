"""Sweeps: resume after SIGKILL, failed points, executors that agree, seed derivation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import sweep_helpers
from numpy.testing import assert_array_equal
from sweep_helpers import HELPERS, HTTP_ANSWER, not_a_scheduler

from jamming.sweeps import runner
from jamming.sweeps.executors import DaskExecutor, SerialExecutor, make_executor
from jamming.sweeps.jamming_linear import COVER_SWEEP
from jamming.sweeps.runner import SweepRunner, run_sweep
from jamming.sweeps.spec import derive_seed
from jamming.sweeps.store import Store

KILLED_SWEEP = """
import sys
sys.path.insert(0, {helpers!r})
import sweep_helpers
from jamming.sweeps.store import Store
from jamming.sweeps.runner import run_sweep
spec = sweep_helpers.LOGGED
with Store({store!r}) as store:
    run_sweep(spec, store, spec.points("quick"), progress=False)
"""


def _logged(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_sweep_killed_part_way_resumes_without_recomputing(tmp_path, monkeypatch):
    store_path, log = tmp_path / "s.sqlite", tmp_path / "computed.log"
    env = {**os.environ, "SWEEP_LOG": str(log), "SWEEP_DELAY": "0.05"}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SWEEP.format(helpers=str(HELPERS), store=str(store_path))],
        env=env,
    )
    deadline = time.monotonic() + 60
    while len(_logged(log)) < 12 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    spec = sweep_helpers.LOGGED
    points = spec.points("quick")
    with Store(store_path) as store:
        stored_before = {r.params["x"] for r in store.records(spec.name)}
    assert 10 <= len(stored_before) < len(points), "the kill must land part-way"

    resumed_log = tmp_path / "resumed.log"
    monkeypatch.setenv("SWEEP_LOG", str(resumed_log))
    monkeypatch.setenv("SWEEP_DELAY", "0")
    with Store(store_path) as store:
        summary = run_sweep(spec, store, points, progress=False)
        records = list(store.records(spec.name))
    recomputed = set(_logged(resumed_log))
    assert not recomputed & stored_before, "a stored point was computed again"
    assert recomputed | stored_before == set(range(len(points)))
    assert summary.cached == len(stored_before) and summary.computed == len(recomputed)
    assert sorted(r.params["x"] for r in records) == list(range(len(points)))
    assert all(r.scalars["square"] == r.params["x"] ** 2 for r in records)

    with Store(store_path) as store:  # a third run computes nothing at all
        again = run_sweep(spec, store, points, progress=False)
    assert again.computed == 0 and again.cached == len(points)
    assert set(_logged(resumed_log)) == recomputed


def test_failed_points_are_recorded_and_retried(tmp_path, monkeypatch):
    spec = sweep_helpers.FRAGILE
    points = spec.points("quick")
    with Store(tmp_path / "s.sqlite") as store:
        first = run_sweep(spec, store, points, progress=False)
        frame = store.frame(spec.name)
        assert first.failed == 2 and first.computed == 4
        failed = frame[frame["status"] == "failed"]
        assert sorted(failed["x"]) == [-2, -1]
        assert all("ArithmeticError: negative x" in e for e in failed["error"])

        second = run_sweep(spec, store, points, progress=False)
        assert second.computed == 0 and second.failed == 2  # failures are not retried...

        monkeypatch.setenv("FRAGILE_HEALED", "1")
        third = run_sweep(spec, store, points, retry_failed=True, progress=False)
        assert third.computed == 2 and third.failed == 0  # ...unless asked
        assert store.sweeps()[spec.name] == {"ok": 4, "failed": 0}
        frame = store.frame(spec.name, third.keys)
    assert list(frame["root"]) == pytest.approx([2**0.5, 1.0, 1.0, 2.0])


def test_metadata_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_LOG", str(tmp_path / "log"))
    spec = sweep_helpers.LOGGED
    with Store(tmp_path / "s.sqlite") as store:
        run_sweep(spec, store, spec.points("quick")[:2], progress=False)
        record = next(store.records(spec.name))
    assert set(record.meta) == {"package_version", "git_commit", "device", "wall_time_s",
                                "host", "created"}
    assert record.meta["device"] == "cpu" and record.meta["wall_time_s"] >= 0
    assert record.arrays["noise"].shape == (3,)


def test_grid_with_repeated_points_is_refused(tmp_path):
    spec = sweep_helpers.FRAGILE
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="repeats"):
        run_sweep(spec, store, [{"x": 1}, {"x": 1}], progress=False)


def test_dask_local_cluster_gives_the_same_records_as_serial(tmp_path):
    points = COVER_SWEEP.points("quick")[::3]
    with Store(tmp_path / "serial.sqlite") as store:
        run_sweep(COVER_SWEEP, store, points, executor=SerialExecutor(), progress=False)
        serial = {r.key: r for r in store.records(COVER_SWEEP.name)}
    executor = DaskExecutor(workers=2)
    try:
        workers = executor.client.scheduler_info()["workers"]
        assert len(workers) == 2
        threads = executor.client.run(os.environ.get, "OPENBLAS_NUM_THREADS")
        assert set(threads.values()) == {"1"}  # one BLAS thread per worker process
        with Store(tmp_path / "dask.sqlite") as store:
            summary = run_sweep(COVER_SWEEP, store, points, executor=executor, progress=False)
            parallel = {r.key: r for r in store.records(COVER_SWEEP.name)}
    finally:
        executor.close()
    assert summary.computed == len(points) and summary.failed == 0
    assert parallel.keys() == serial.keys()
    for key, record in serial.items():
        assert parallel[key].scalars == record.scalars
        assert parallel[key].params == record.params
    assert all(r.meta["host"] for r in parallel.values())  # provenance from the workers


def test_executor_arguments_are_validated():
    assert isinstance(make_executor(), SerialExecutor)
    with pytest.raises(ValueError, match="workers must be a positive integer; got 0"):
        make_executor(workers=0)
    with pytest.raises(ValueError, match="either workers or scheduler"):
        make_executor(workers=2, scheduler="tcp://127.0.0.1:1")


def test_unreachable_scheduler_is_reported_quickly():
    start = time.monotonic()
    with pytest.raises(ValueError, match="^no Dask scheduler at tcp://127.0.0.1:9: "):
        make_executor(scheduler="127.0.0.1:9")
    assert time.monotonic() - start < 5
    with pytest.raises(ValueError, match="must look like tcp://HOST:PORT; got 'nowhere'"):
        make_executor(scheduler="nowhere")
    with pytest.raises(ValueError, match="connect_timeout must be positive"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout=0)


def test_a_port_that_is_not_a_scheduler_is_refused_within_the_timeout():
    with not_a_scheduler(HTTP_ANSWER) as address:  # Dask alone: "Unable to allocate 2.82 EiB"
        start = time.monotonic()
        with pytest.raises(ValueError, match=f"^no Dask scheduler at {address}: the answer is "
                                             "not a Dask message$"):
            make_executor(scheduler=address)
        assert time.monotonic() - start < 5
    with not_a_scheduler(None) as address:  # Dask alone: hangs past its own timeout
        start = time.monotonic()
        with pytest.raises(ValueError, match=f"^no Dask scheduler at {address}: no Dask "
                                             "handshake within 1 s$"):
            DaskExecutor(scheduler=address, connect_timeout=1)
        assert time.monotonic() - start < 4


def test_a_dask_scheduler_is_accepted_and_a_dask_worker_is_not():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, protocol="tcp://",
                      dashboard_address=":0") as cluster:
        executor = DaskExecutor(scheduler=cluster.scheduler_address, connect_timeout=5)
        try:
            assert executor.client.submit(abs, -3).result(timeout=30) == 3
        finally:
            executor.close()
        (worker,) = cluster.scheduler_info["workers"]
        with pytest.raises(ValueError, match="no Dask scheduler at .*: a Dask Worker answers"):
            DaskExecutor(scheduler=worker, connect_timeout=5)


def test_progress_off_a_terminal_is_one_line_per_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "get_sweep", lambda name: sweep_helpers.FRAGILE)
    with Store(tmp_path / "s.sqlite") as store:
        with SweepRunner(store, device="cpu") as sweeps:  # stderr is captured: not a terminal
            sweeps.run("test-fragile", "quick")
            sweeps.run("test-fragile", "quick")
        (first, second) = capsys.readouterr().err.splitlines()
        assert first.startswith("sweep test-fragile quick: 4 points (0 cached, 4 computed, "
                                "2 failed) ") and first.endswith(" s")
        assert second.startswith("sweep test-fragile quick: 4 points (4 cached, 0 computed")
        with SweepRunner(store, device="cpu", progress=False) as sweeps:
            sweeps.run("test-fragile", "quick")
        assert capsys.readouterr().err == ""


def test_derived_seeds_are_deterministic_and_distinct():
    assert derive_seed(1, 5, 10, 0) == derive_seed(1, 5, 10, 0)
    seeds = {derive_seed(1, n, m, b) for n in range(20) for m in range(20) for b in range(5)}
    assert len(seeds) == 2000
    assert derive_seed(2, 5, 10, 0) != derive_seed(1, 5, 10, 0)
    assert all(0 <= s < 2**63 for s in seeds)
    a = np.random.default_rng(derive_seed(1, 0)).random(4)
    assert_array_equal(a, np.random.default_rng(derive_seed(1, 0)).random(4))
