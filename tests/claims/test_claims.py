"""Every registered claim passes at quick scale (from a store filled once per session)."""

from __future__ import annotations

import math

import pytest

from jamming.compare.claims import Prediction, Verdict, registry, select
from jamming.sweeps.runner import SweepRunner
from jamming.sweeps.store import Store

CLAIM_IDS = list(registry())


def test_registry_ids_are_well_formed():
    assert CLAIM_IDS, "no claim is registered"
    for claim_id, claim in registry().items():
        assert claim.study in {f"S{i}" for i in range(1, 7)}, claim_id
        assert claim.statement  # theory-only claims (theory against theory) have no sweep
        # the paper's claims table says what each number is and what the discrepancy is in
        assert claim.table_quantity.strip() and claim.discrepancy_unit.strip(), claim_id


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_checks_at_quick_scale(claim_id, quick_store):
    """Established claims pass; open ones (hypotheses) give a finite verdict either way."""
    (claim,) = select(claim_id)
    with Store(quick_store) as store, SweepRunner(store, device="cpu", progress=False) as runner:
        data = claim.simulate("quick", runner)
    # the sweeps a claim declares are the sweeps it reads, all served from the store
    assert {summary.name for summary in runner.summaries} == set(claim.sweeps)
    assert all(summary.computed == 0 for summary in runner.summaries)
    prediction = claim.theory()
    assert isinstance(prediction, Prediction) and prediction.summary and len(prediction)
    verdict = claim.verdict(data)
    assert isinstance(verdict, Verdict)
    assert all(math.isfinite(v) for v in (verdict.predicted, verdict.measured,
                                          verdict.discrepancy, verdict.tolerance))
    if claim.gating:
        assert verdict.passed, verdict
    figure = claim.figure(data)
    assert figure.axes
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_select_takes_comma_lists_in_any_case():
    chosen = [c.id for c in select("s1.cover*, S4.TWO-CYCLE,s3")]
    assert chosen[0] == "S1.cover-finite-size" and "S4.two-cycle" in chosen
    assert {c.id for c in select("S3")} <= set(chosen) and len(chosen) == len(set(chosen))
    assert [c.id for c in select("S4.two-cycle,s4.two-cycle")] == ["S4.two-cycle"]
    with pytest.raises(ValueError, match="no claim matches 'S9'; known claims"):
        select("S1,S9")


def test_a_prediction_is_a_named_read_only_mapping():
    prediction = Prediction("phi_c of Cover", {"phi_c": 2.0})
    assert prediction["phi_c"] == 2.0 and list(prediction) == ["phi_c"]
    with pytest.raises(ValueError, match="at least one named value"):
        Prediction("nothing", {})


def test_recorded_result_of_the_cover_claims(quick_store):
    """Pinned finding: random ReLU features follow Cover at N_eff = rank, while the
    empirical-NTK features of a narrow bias-free ReLU network are separable far less often
    than Cover's law at their rank predicts (points in the dead region have zero features;
    points sharing an activation pattern are not in general position): registration 1 of
    S1.ntk-cover, refuted."""
    from scipy.stats import chi2

    (random,) = select("S1.random-features-cover")
    (ntk,) = select("S1.ntk-cover")
    with Store(quick_store) as store, SweepRunner(store, device="cpu", progress=False) as runner:
        assert random.verdict(random.simulate("quick", runner)).passed
        data = ntk.simulate("quick", runner)
    contrast = ntk.verdict(data).details["cover_at_rank_chi2"]
    assert contrast["ntk d=5 h=4"] > 10 * chi2.isf(0.01, 5)
