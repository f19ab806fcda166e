"""Sweep of the pipeline of a research e-mail: linear models on a trained network's features (S2).

``trained-features``
    Per point ``(d, N, instance)``: inputs on the sphere of radius sqrt(d) labelled by a
    fresh two-layer ReLU teacher (:func:`jamming.simulate.trained_features.teacher_task`), a
    one-hidden-layer ReLU network of width N trained by full-batch Adam on the hinge loss,
    and at every recorded step its N hidden activations as features. On them, the exact
    vanishing-ridge quadratic-hinge minimiser of every nested training set of ``sizes``
    points (:func:`jamming.simulate.hinge.solve_quadratic_hinge_path`). Recorded per (step,
    size): SAT flag, N_Delta, loss, whether the solution is certified, and the numerical
    rank of the prefix's features.
"""

from __future__ import annotations

import numpy as np

from jamming.sweeps.spec import SweepSpec, derive_seed


def trained_feature_trials(params: dict) -> dict:
    """Train, snapshot and solve the nested linear problems of one point.

    Parameters
    ----------
    params : dict
        ``input_dim``, ``width``, ``n_train`` (the largest training set), ``record_at``
        (list of steps), ``learning_rate``, ``size_step`` (the nested sizes are
        ``size_step, 2 size_step, ..., n_train``) and ``seed``.

    Returns
    -------
    dict
        ``steps`` (n_times,), ``train_loss`` (n_times,), ``sizes`` (n_sizes,) and arrays of
        shape (n_times, n_sizes): ``sat``, ``n_delta``, ``loss``, ``certified``, ``rank``.
    """
    from jamming.simulate.features import numerical_rank
    from jamming.simulate.hinge import solve_quadratic_hinge_path
    from jamming.simulate.trained_features import hidden_feature_snapshots, teacher_task

    rng = np.random.default_rng(params["seed"])
    task = teacher_task(params["input_dim"], params["n_train"], 1, rng)
    snaps = hidden_feature_snapshots(task["train_inputs"], task["train_labels"],
                                     task["test_inputs"], params["width"], params["record_at"],
                                     seed=int(rng.integers(2**31)),
                                     learning_rate=params["learning_rate"])
    sizes = list(range(params["size_step"], params["n_train"] + 1, params["size_step"]))
    shape = (len(snaps["steps"]), len(sizes))
    out = {name: np.zeros(shape, dtype=dtype) for name, dtype in
           (("sat", bool), ("n_delta", np.int64), ("loss", float), ("certified", bool),
            ("rank", np.int64))}
    for t, features in enumerate(snaps["train_features"]):
        path = solve_quadratic_hinge_path(features, task["train_labels"], sizes)
        for k, (size, solution) in enumerate(zip(sizes, path, strict=True)):
            out["sat"][t, k], out["n_delta"][t, k] = solution.sat, solution.n_delta
            out["loss"][t, k], out["certified"][t, k] = solution.loss, solution.converged
            out["rank"][t, k] = numerical_rank(features[:size])[0]
    return {"steps": snaps["steps"], "train_loss": snaps["train_loss"],
            "sizes": np.array(sizes), **out}


#: Input dimensions, widths, instances, training steps and training-set sizes per scale.
TRAINED_GRIDS = {
    "quick": {"dims": (10,), "widths": (20,), "instances": 2, "record_at": [0, 100, 1000],
              "loads": 10, "size_step": 10},
    "paper": {"dims": (10, 20, 40), "widths": (20, 40), "instances": 4,
              "record_at": [0, 10, 100, 1000, 10000], "loads": 12, "size_step": 10},
    "full": {"dims": (10, 20, 40), "widths": (20, 40, 80), "instances": 8,
             "record_at": [0, 10, 100, 1000, 10000, 100000], "loads": 12, "size_step": 5},
}

TRAINED_ROOT_SEED = 20_261_203


def trained_grid(scale: str) -> list[dict]:
    """Points of the trained-features sweep: up to ``loads`` x N training points."""
    grid = TRAINED_GRIDS[scale]
    return [
        {"input_dim": d, "width": width, "n_train": grid["loads"] * width,
         "record_at": list(grid["record_at"]), "learning_rate": 1e-3,
         "size_step": grid["size_step"], "instance": instance,
         "seed": derive_seed(TRAINED_ROOT_SEED, d, width, instance, grid["instances"])}
        for d in grid["dims"] for width in grid["widths"] for instance in range(grid["instances"])
    ]


TRAINED_FEATURES_SWEEP = SweepSpec(
    name="trained-features",
    function=trained_feature_trials,
    version="1",
    grid=trained_grid,
    description="hinge-trained one-hidden-layer ReLU features, exact SVM paths (S2, e-mail)",
)
