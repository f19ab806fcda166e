"""Every registered claim passes at quick scale (from a store filled once per session)."""

from __future__ import annotations

import math

import pytest

from jamming.compare.claims import SweepRunner, Verdict, registry, select
from jamming.simulate.store import Store

CLAIM_IDS = list(registry())


def test_registry_ids_are_well_formed():
    assert CLAIM_IDS, "no claim is registered"
    for claim_id, claim in registry().items():
        assert claim.study in {f"S{i}" for i in range(1, 7)}, claim_id
        assert claim.statement and claim.sweeps


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_passes_at_quick_scale(claim_id, quick_store):
    (claim,) = select(claim_id)
    with Store(quick_store) as store, SweepRunner(store, device="cpu", progress=False) as runner:
        data = claim.simulate("quick", runner)
        assert runner.summaries[-1].computed == 0  # served from the store
    verdict = claim.verdict(data)
    assert isinstance(verdict, Verdict)
    assert all(math.isfinite(v) for v in (verdict.predicted, verdict.measured,
                                          verdict.discrepancy, verdict.tolerance))
    assert verdict.passed, verdict
    figure = claim.figure(data)
    assert figure.axes
    import matplotlib.pyplot as plt

    plt.close(figure)
