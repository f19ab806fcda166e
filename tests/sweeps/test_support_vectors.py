"""The support-vector sweep: exact hard-margin SVMs recorded per instance."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.sweeps.support_vectors import SUPPORT_VECTOR_SWEEP, SV_TOLERANCE, support_vector_trials


def _point(**overrides):
    return {"features": "gaussian", "n_eff": 30, "alpha": 1.0, "psi": 2.0, "batch": 4,
            "seed": 7, **overrides}


@pytest.mark.parametrize("features", ["gaussian", "relu"])
def test_each_instance_is_an_exact_svm_with_its_support_vectors(features):
    out = support_vector_trials(_point(features=features))
    assert out["n_data"] == 30 and out["separable"].all()
    # general position: at most N_eff points on the hyperplane, at least one
    assert np.all((1 <= out["n_sv"]) & (out["n_sv"] <= 30))
    # the count does not depend on the tolerance: the margins bracketing it are far apart
    assert np.all(out["sv_margin_max"] - 1 < 1e-10)
    assert np.all(out["off_margin_min"] - 1 > 1e3 * SV_TOLERANCE)
    assert np.all(out["w_norm_sq"] > 0)
    again = support_vector_trials(_point(features=features))
    assert np.array_equal(out["n_sv"], again["n_sv"])  # explicit seed


def test_a_non_separable_instance_is_recorded_as_such():
    out = support_vector_trials(_point(alpha=3.0, batch=2))  # far above Cover's 2
    assert not out["separable"].any() and np.all(out["n_sv"] == -1)
    assert np.isnan(out["w_norm_sq"]).all()


def test_scales_draw_different_instances():
    quick, paper = ({(p["features"], p["n_eff"], p["alpha"]): p["seed"]
                     for p in SUPPORT_VECTOR_SWEEP.points(scale)} for scale in ("quick", "paper"))
    shared = quick.keys() & paper.keys()
    assert shared and all(quick[k] != paper[k] for k in shared)
