"""Sweeps of the pipeline of a research e-mail: linear models on a trained network's features (S2).

Per point ``(task, d, depth, N, instance)``: three disjoint labelled sets of one task
(:func:`jamming.simulate.trained_features.labelled_task`): the network's training set
(``n_train`` points), the pool of the linear models' training sets (``n_pool``) and a test
set (``n_test``). A ReLU network of ``depth`` hidden layers of width N is trained by
full-batch Adam (learning rate ``learning_rate``, constant) on the hinge loss over its
training set, once; at every step of ``record_at`` the N activations of its last hidden
layer on the pool and the test set are the features of
:func:`jamming.simulate.readout_paths.vanishing_ridge_path`, over nested prefixes of the pool.

The linear models are trained on fresh points, not on the network's own training set: once
the network fits its training set (zero hinge loss, where its training stops), its own
read-out separates every prefix of that set, so the transition of such prefixes lies beyond
``n_train`` and measures which points were memorised rather than the features. On fresh
points the transition measures the capacity of the feature map for the task.

``trained-features``
    The two-layer ReLU teacher on the sphere, d = 10, 20, 40, depth 1-3.
``trained-features-digits``
    scikit-learn's ``load_digits`` (parity labels, PCA to d on the network's training part).
"""

from __future__ import annotations

import numpy as np

from jamming.sweeps.spec import SweepSpec, derive_seed

#: Per-snapshot scalars of a record (arrays over the recorded steps).
SNAPSHOT_FIELDS = ("train_loss", "n_star", "censored", "alignment", "alignment_network",
                   "explained_variance")


def prefix_sizes(width: int, n_pool: int, min_load: float, n_loads: int) -> np.ndarray:
    """About ``n_loads`` sizes, geometric in the load from ``min_load`` N to ``n_pool``."""
    loads = np.geomspace(min_load, n_pool / width, n_loads)
    return np.unique(np.clip(np.rint(width * loads).astype(np.int64), 1, n_pool))


def trained_feature_trials(params: dict) -> dict:
    """Train, snapshot and solve the nested linear problems of one point.

    Parameters
    ----------
    params : dict
        ``task``, ``input_dim``, ``depth``, ``width``, ``n_train``, ``n_pool``, ``n_test``,
        ``record_at`` (list of steps), ``learning_rate``, ``min_load`` and ``n_loads``
        (:func:`prefix_sizes`), ``seed``.

    Returns
    -------
    dict
        ``steps`` (n_times,) and, per step, :data:`SNAPSHOT_FIELDS`: the network's training
        loss, the last separable size ``n_star`` of the pool (``n_pool`` and ``censored``
        where the whole pool is separable), the centred kernel-target alignment of the pool's
        features (``alignment``) and of the network's training features
        (``alignment_network``), and the out-of-sample explained label variance (fit on the
        pool, scored on the test set). Per (step, prefix), flat arrays: ``path_step`` (the
        step), ``sizes`` and the fields of
        :data:`jamming.simulate.readout_paths.PATH_FIELDS`.
    """
    from jamming.simulate.readout_paths import (
        PATH_FIELDS,
        explained_label_variance,
        kernel_target_alignment,
        vanishing_ridge_path,
    )
    from jamming.simulate.trained_features import hidden_feature_snapshots, labelled_task

    rng = np.random.default_rng(params["seed"])
    width = params["width"]
    (train_x, train_y), (pool_x, pool_y), (test_x, test_y) = labelled_task(
        params["task"], params["input_dim"],
        [params["n_train"], params["n_pool"], params["n_test"]], rng)
    snaps = hidden_feature_snapshots(train_x, train_y, width, params["record_at"],
                                     seed=int(rng.integers(2**31)), depth=params["depth"],
                                     learning_rate=params["learning_rate"],
                                     evaluate=[pool_x, test_x])
    sizes = prefix_sizes(width, params["n_pool"], params["min_load"], params["n_loads"])
    snapshot = {name: [] for name in SNAPSHOT_FIELDS}
    rows: dict = {name: [] for name in ("path_step", "sizes", *PATH_FIELDS)}
    for t, step in enumerate(snaps["steps"]):
        pool, test = snaps["features"][0][t], snaps["features"][1][t]
        path = vanishing_ridge_path(pool, pool_y, sizes, test, test_y)
        for name in ("sizes", *PATH_FIELDS):
            rows[name].append(path[name])
        rows["path_step"].append(np.full(len(path["sizes"]), step))
        snapshot["train_loss"].append(snaps["train_loss"][t])
        snapshot["n_star"].append(path["n_star"])
        snapshot["censored"].append(path["censored"])
        snapshot["alignment"].append(kernel_target_alignment(pool, pool_y))
        snapshot["alignment_network"].append(
            kernel_target_alignment(snaps["train_features"][t], train_y))
        snapshot["explained_variance"].append(explained_label_variance(pool, pool_y, test,
                                                                       test_y))
    return {"steps": snaps["steps"], **{name: np.asarray(v) for name, v in snapshot.items()},
            **{name: np.concatenate(v) for name, v in rows.items()}}


#: Settings per scale; the loads are in units of N (``n_train = train_load N``, ...).
TRAINED_GRIDS = {
    "quick": {"dims": (10, 20), "depths": (1,), "widths": (10,), "instances": 2,
              "record_at": [0, 100, 1000], "train_load": 20, "pool_load": 20, "n_test": 400,
              "n_loads": 12},
    "paper": {"dims": (10, 20, 40), "depths": (1, 2, 3), "widths": (20,), "instances": 4,
              "record_at": [0, 10, 100, 1000, 3000, 10000], "train_load": 50,
              "pool_load": 40, "n_test": 1000, "n_loads": 30},
    "full": {"dims": (10, 20, 40), "depths": (1, 2, 3), "widths": (20, 40), "instances": 8,
             "record_at": [0, 10, 100, 1000, 3000, 10000, 30000], "train_load": 50,
             "pool_load": 40, "n_test": 2000, "n_loads": 40},
}

#: Digits: one input dimension and width; 1797 images split into the three sets.
DIGITS_GRIDS = {
    "quick": {"dims": (10,), "depths": (1,), "widths": (10,), "instances": 1,
              "record_at": [0, 100, 1000], "n_train": 300, "n_pool": 200, "n_test": 300,
              "n_loads": 12},
    "paper": {"dims": (20,), "depths": (1,), "widths": (20,), "instances": 4,
              "record_at": [0, 10, 100, 1000, 3000, 10000], "n_train": 700, "n_pool": 800,
              "n_test": 297, "n_loads": 30},
    "full": {"dims": (20,), "depths": (1, 2, 3), "widths": (20,), "instances": 8,
             "record_at": [0, 10, 100, 1000, 3000, 10000, 30000], "n_train": 700,
             "n_pool": 800, "n_test": 297, "n_loads": 40},
}

#: Root seeds per scale (the paper's networks and data are not the quick ones).
TRAINED_ROOT_SEEDS = {"quick": 20_261_204, "paper": 20_261_205, "full": 20_261_206}
DIGITS_ROOT_SEEDS = {"quick": 20_261_207, "paper": 20_261_208, "full": 20_261_209}


def _points(task: str, grid: dict, root: int, sets) -> list[dict]:
    """Grid points; ``sets(width) -> (n_train, n_pool, n_test)``."""
    points = []
    for d in grid["dims"]:
        for depth in grid["depths"]:
            for width in grid["widths"]:
                n_train, n_pool, n_test = sets(width)
                for instance in range(grid["instances"]):
                    points.append({
                        "task": task, "input_dim": d, "depth": depth, "width": width,
                        "n_train": n_train, "n_pool": n_pool, "n_test": n_test,
                        "record_at": list(grid["record_at"]), "learning_rate": 1e-3,
                        "min_load": 0.25, "n_loads": grid["n_loads"], "instance": instance,
                        "seed": derive_seed(root, d, depth, width, instance)})
    return points


def trained_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of ``trained-features``: the ReLU teacher, loads in units of N."""
    grid = TRAINED_GRIDS[scale]
    return _points("relu-teacher", grid, root_seed,
                   lambda width: (grid["train_load"] * width, grid["pool_load"] * width,
                                  grid["n_test"]))


def digits_grid(scale: str, root_seed: int) -> list[dict]:
    """Points of ``trained-features-digits``: fixed set sizes (1797 images in all)."""
    grid = DIGITS_GRIDS[scale]
    return _points("digits", grid, root_seed,
                   lambda width: (grid["n_train"], grid["n_pool"], grid["n_test"]))


TRAINED_FEATURES_SWEEP = SweepSpec(
    name="trained-features",
    function=trained_feature_trials,
    version="2",
    grid=trained_grid,
    root_seeds=TRAINED_ROOT_SEEDS,
    description="hinge-trained ReLU networks (depth 1-3), exact SVM paths on fresh points (S2)",
)

DIGITS_FEATURES_SWEEP = SweepSpec(
    name="trained-features-digits",
    function=trained_feature_trials,
    version="1",
    grid=digits_grid,
    root_seeds=DIGITS_ROOT_SEEDS,
    description="the trained-features pipeline on load_digits, parity labels (S2)",
)
