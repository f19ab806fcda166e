"""Sweeps: simulation grids run through the results store.

The layer between :mod:`jamming.simulate` and :mod:`jamming.compare`. The machinery:
:mod:`~jamming.sweeps.spec` (a sweep's name, pure point function, version and grid; seeds),
:mod:`~jamming.sweeps.store` (the SQLite results store), :mod:`~jamming.sweeps.executors`
(in process or Dask), :mod:`~jamming.sweeps.runner` (resumable runs; the claims' runner) and
:mod:`~jamming.sweeps.catalog` (the named sweeps). Every other module holds the grids of the
claim module of :mod:`jamming.compare` with the same name. Sweeps import :mod:`jamming.simulate`,
and :mod:`jamming.theory` only for a predicted location a grid is centred on.
"""

#: The public modules (each imported on demand: ``from jamming.sweeps import <module>``).
__all__ = ["catalog", "diagonal_networks", "executors", "features", "finite_width",
           "generalization", "interpolation", "jamming_linear", "kernels", "large_steps",
           "network_jamming",
           "random_features", "runner", "sparse_features", "spec", "stochastic", "store",
           "support_vectors", "trained_features", "unsat"]
