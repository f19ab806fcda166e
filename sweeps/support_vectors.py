"""Sweep of the hard-margin SVM in the SAT phase: support vectors and ``|w|`` (S2, H2).

``support-vectors``
    Per point ``(features, N_eff, alpha)``, ``batch`` independent instances of N_data =
    round(alpha N_eff) points with random +-1 labels, on Gaussian features (i.i.d. N(0, 1)
    entries) or on random ReLU features ``relu(W x / sqrt(d))`` of Gaussian inputs with
    ``d = N_eff / psi``. Each instance is solved exactly by
    :func:`jamming.simulate.generalization.hard_margin_weights` (least-distance programming
    with a KKT certificate), the vanishing-ridge limit of the quadratic-hinge minimiser in the
    SAT phase. Recorded per instance: whether it is separable, the number of support vectors
    (points whose margin is 1 to within :data:`SV_TOLERANCE`), ``|w|^2``, and the two margins
    that bracket the tolerance (the largest margin counted as on the hyperplane and the
    smallest one counted off it), which show that the count does not depend on it.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.features import random_features
from jamming.sweeps.spec import SweepSpec, derive_seed

#: A point is a support vector when its margin is below 1 + SV_TOLERANCE (the certified
#: margins of the solver are exact to about 1e-12 at these sizes).
SV_TOLERANCE = 1e-8

#: Feature models of the sweep.
FEATURE_MODELS = ("gaussian", "relu")


def _features(model: str, n_data: int, n_eff: int, psi: float, rng) -> np.ndarray:
    if model == "gaussian":
        return gaussian_features(n_data, n_eff, rng)
    input_dim = max(1, round(n_eff / psi))
    return random_features(rng.standard_normal((n_data, input_dim)), n_eff, rng)


def support_vector_trials(params: dict) -> dict:
    """Hard-margin SVMs of ``batch`` random-label instances at one point.

    Parameters
    ----------
    params : dict
        ``features`` ("gaussian" or "relu"), ``n_eff``, ``alpha`` (``n_data = round(alpha
        n_eff)``), ``psi`` (features per input dimension of the ReLU model), ``batch``,
        ``seed``.

    Returns
    -------
    dict
        Arrays of shape (batch,): ``separable`` (bool), ``n_sv`` (int, -1 where not
        separable), ``w_norm_sq``, ``sv_margin_max`` and ``off_margin_min`` (NaN where not
        separable or where no point is of that kind); and the scalar ``n_data``.
    """
    from jamming.simulate.generalization import hard_margin_weights

    rng = np.random.default_rng(params["seed"])
    n_eff, batch = params["n_eff"], params["batch"]
    n_data = round(params["alpha"] * n_eff)
    out = {"separable": np.zeros(batch, dtype=bool), "n_sv": np.full(batch, -1, np.int64),
           "w_norm_sq": np.full(batch, np.nan), "sv_margin_max": np.full(batch, np.nan),
           "off_margin_min": np.full(batch, np.nan)}
    for b in range(batch):
        features = _features(params["features"], n_data, n_eff, params["psi"], rng)
        labels = random_labels(n_data, rng)
        try:
            w = hard_margin_weights(features, labels)
        except ValueError:  # not separable (or no certificate): recorded as such
            continue
        margins = labels * (features @ w)
        on = margins < 1.0 + SV_TOLERANCE
        out["separable"][b] = True
        out["n_sv"][b] = int(on.sum())
        out["w_norm_sq"][b] = float(w @ w)
        out["sv_margin_max"][b] = float(margins[on].max()) if on.any() else np.nan
        out["off_margin_min"][b] = float(margins[~on].min()) if (~on).any() else np.nan
    return {"n_data": n_data, **out}


#: Sizes, loads and instances per point. Loads stay at or below 1.5, where an instance is
#: non-separable with probability below 0.3 % at N_eff = 50 (Cover), so that conditioning on
#: separability does not bias the means; psi = 2 for the ReLU features.
SUPPORT_GRIDS = {
    "quick": {"n_effs": (50, 100), "alphas": (0.25, 0.75, 1.25), "batch": 8},
    "paper": {"n_effs": (100, 200, 400), "alphas": (0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
              "batch": 40},
    "full": {"n_effs": (100, 200, 400, 800), "alphas": (0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
             "batch": 160},
}

#: Root seeds: quick for development (the root of registration 1, which all scales shared,
#: their instances told apart by the batch size); paper and full drawn fresh for the second
#: registration of ``S2.support-vectors`` and ``S2.support-vectors-rf``.
SUPPORT_ROOT_SEEDS = {"quick": 20_261_202, "paper": 532_919_427, "full": 1_478_855_464}
SUPPORT_PSI = 2.0


def support_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of the support-vector sweep: both feature models, every size and load.

    The seeds depend on the number of instances per point, so that no scale reuses the
    instances of another (the paper-scale data are fresh draws, not an extension of the
    quick ones).
    """
    grid = SUPPORT_GRIDS[scale]
    return [
        {"features": model, "n_eff": n_eff, "alpha": alpha, "psi": SUPPORT_PSI,
         "batch": grid["batch"],
         "seed": derive_seed(root_seed, FEATURE_MODELS.index(model), n_eff,
                             round(1000 * alpha), grid["batch"])}
        for model in FEATURE_MODELS for n_eff in grid["n_effs"] for alpha in grid["alphas"]
    ]


SUPPORT_VECTOR_SWEEP = SweepSpec(
    name="support-vectors",
    function=support_vector_trials,
    version="2",
    grid=support_grid,
    root_seeds=SUPPORT_ROOT_SEEDS,
    description="exact hard-margin SVMs, random labels: support vectors and |w| (S2, H2)",
)
