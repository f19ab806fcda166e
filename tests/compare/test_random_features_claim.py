"""S3.random-features-spectrum: the sweep's shapes and seeds, the KS distance, the claim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jamming.compare.claims import select
from jamming.compare.random_features import ks_distance, pennington_worah_cdf
from jamming.sweeps.catalog import get_sweep
from jamming.sweeps.random_features import (
    RF_SPECTRUM_GRIDS,
    RF_SPECTRUM_SWEEP,
    random_feature_spectrum_trials,
)
from jamming.sweeps.runner import SweepRunner
from jamming.sweeps.store import Store


@pytest.mark.parametrize("phi", [0.5, 2.0])
def test_trials_shapes_determinism_and_rank(phi):
    params = {"activation": "tanh", "n0": 20, "phi": phi, "psi": 1.0, "repeats": 3,
              "seed": 7}
    first = random_feature_spectrum_trials(params)["eigenvalues"]
    assert first.shape == (3, 20) and first.dtype == np.float64
    assert np.array_equal(first, random_feature_spectrum_trials(params)["eigenvalues"])
    assert not np.array_equal(first, random_feature_spectrum_trials(
        {**params, "seed": 8})["eigenvalues"])
    assert np.all(np.diff(first, axis=1) >= 0)
    zeros = 20 - min(20, round(20 / phi))
    assert np.all(first[:, :zeros] == 0.0) and np.all(first[:, zeros:] > 0)


def test_trials_match_a_direct_computation():
    params = {"activation": "tanh", "n0": 12, "phi": 2.0, "psi": 0.5, "repeats": 1, "seed": 3}
    rng = np.random.default_rng(3)
    weights, inputs = rng.standard_normal((24, 12)), rng.standard_normal((12, 6))
    features = np.tanh(weights @ inputs / math.sqrt(12))
    expected = np.linalg.eigvalsh(features @ features.T / 6)
    measured = random_feature_spectrum_trials(params)["eigenvalues"][0]
    assert np.allclose(measured, np.maximum(expected, 0.0) * (expected > 1e-10), atol=1e-12)


def test_unrealisable_ratios_are_refused():
    with pytest.raises(ValueError, match="does not realise"):
        random_feature_spectrum_trials({"activation": "tanh", "n0": 10, "phi": 0.3,
                                        "psi": 1.0, "repeats": 1, "seed": 0})


def test_grid_seeds_and_registration():
    assert get_sweep("rf-spectrum").points("quick") == RF_SPECTRUM_SWEEP.points("quick")
    for scale in RF_SPECTRUM_GRIDS:
        points = RF_SPECTRUM_SWEEP.points(scale)
        assert len({p["seed"] for p in points}) == len(points)


def test_limiting_cdf_and_ks_distance():
    table = pennington_worah_cdf(2.0, 1.0, "tanh")
    x, cdf, atom, _ = table
    assert atom == pytest.approx(0.5) and atom + cdf[-1] == pytest.approx(1.0, abs=1e-8)
    # samples drawn from the tabulated law itself (inverse CDF) are at KS distance ~ 1/sqrt(n)
    rng = np.random.default_rng(0)
    u = rng.uniform(size=20_000)
    samples = np.where(u < atom, 0.0, np.interp(u - atom, cdf, x))
    assert ks_distance(samples, table) < 2.0 / math.sqrt(u.size)
    assert ks_distance(samples * 1.1, table) > 0.01


def test_claim_at_quick_scale(tmp_path):
    (claim,) = select("S3.random-features-spectrum")
    with Store(tmp_path / "rf.sqlite") as store, SweepRunner(store, progress=False) as runner:
        data = claim.simulate("quick", runner)
    verdict = claim.verdict(data)
    assert verdict.passed, verdict
    assert len(verdict.details["fits"]) == len(RF_SPECTRUM_GRIDS["quick"]["phis"])
    import matplotlib.pyplot as plt

    plt.close(claim.figure(data))
