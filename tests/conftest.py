"""Shared fixtures: temporary stores, a store pre-filled with the quick sweeps, the paper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests when torch sees no CUDA device."""
    if not any("gpu" in item.keywords for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def single_threaded():
    """One BLAS and one torch thread for the module's tests.

    On a loaded 2-core machine, spinning OpenBLAS/OpenMP threads made a (1200, 400) SVD take
    seconds instead of 30 ms and L-BFGS-B on tiny problems up to 100 times slower.
    threadpoolctl comes with scikit-learn (test extra).
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def quick_store(tmp_path_factory) -> Path:
    """A store holding every claim's sweeps at quick scale (computed once per session)."""
    from jamming.compare.claims import registry
    from jamming.sweeps.runner import SweepRunner
    from jamming.sweeps.store import Store

    path = tmp_path_factory.mktemp("quick") / "store.sqlite"
    with Store(path) as store, SweepRunner(store, device="cpu", progress=False) as runner:
        for claim in registry().values():
            claim.simulate("quick", runner)
    return path


@pytest.fixture()
def store_copy(quick_store, tmp_path) -> Path:
    """A private copy of :func:`quick_store` that a test may modify."""
    target = tmp_path / "results" / "store.sqlite"
    target.parent.mkdir()
    shutil.copy(quick_store, target)
    return target


@pytest.fixture()
def paper_copy(tmp_path) -> Path:
    """A copy of the paper's sources (no build outputs) in a temporary folder."""
    target = tmp_path / "paper"
    shutil.copytree(REPO / "paper", target,
                    ignore=shutil.ignore_patterns("figures", "generated", "*.pdf", "*.aux", "*.log",
                                                   "*.fls", "*.fdb_latexmk", "*.out", "*.bbl",
                                                   "*.blg"))
    return target

