"""The grids and point functions of the diagonal-network sweeps (S4)."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.sweeps.diagonal_networks import label_noise_point, woodworth_point
from jamming.theory.implicit_bias import q_alpha_interpolator


def test_points_return_documented_shapes():
    wood = woodworth_point({"n": 10, "d": 20, "r": 2, "alpha": 1.0, "seed": 1,
                            "eta_factor": 0.25, "max_steps": 20_000,
                            "stop_loss": 1e-14, "check_every": 500})
    assert wood["beta"].shape == wood["beta_half"].shape == (20,) and wood["converged"]
    assert wood["X"].shape == (10, 20) and wood["steps"].shape == (2,)
    q = q_alpha_interpolator(wood["X"], wood["y"], 1.0)
    assert np.linalg.norm(wood["beta_extrapolated"] - q) < 1e-4 * np.linalg.norm(q)

    noise = label_noise_point({"n": 10, "d": 20, "r": 2, "data_seed": 1, "alpha": 0.1,
                               "eta": 0.02, "sigma": 3.0, "n_steps": 2000,
                               "n_runs": 2, "seed": 4})
    assert noise["beta_avg"].shape == noise["beta_final"].shape == (2, 20)
    assert noise["lam"] == pytest.approx(0.02 * 9 / 10) and noise["lam_j"].shape == (20,)
    assert noise["diverged"].shape == (2,) and not noise["diverged"].any()
