"""The named sweeps that ``jamming sweep NAME`` and the claims run.

Each grid module of :mod:`jamming.sweeps` mirrors the claim module of :mod:`jamming.compare`
with the same name (``sweeps/kernels.py`` feeds ``compare/kernels.py``).
"""

from __future__ import annotations

from jamming.sweeps.diagonal_networks import LABEL_NOISE_SWEEP, WOODWORTH_SWEEP
from jamming.sweeps.features import (
    FEATURE_COVER_SWEEP,
    JACOBIAN_RANK_SWEEP,
    RELU_RANK_SWEEP,
    TEACHER_SWEEP,
)
from jamming.sweeps.finite_width import FINITE_WIDTH_SWEEP
from jamming.sweeps.generalization import TEST_CUSP_SWEEP
from jamming.sweeps.interpolation import GRAM_SWEEP, KERNEL_FLOW_SWEEP
from jamming.sweeps.jamming_linear import COVER_SWEEP
from jamming.sweeps.kernels import KERNEL_MC_SWEEP
from jamming.sweeps.large_steps import MAP_SWEEP, SGD_BOUNCE_SWEEP
from jamming.sweeps.network_jamming import LAZY_LIMIT_SWEEP, NETWORK_JUMP_SWEEP
from jamming.sweeps.random_features import RF_SPECTRUM_SWEEP
from jamming.sweeps.sparse_features import RELU_SPARSE_FEATURES_SWEEP, SPARSE_FEATURES_SWEEP
from jamming.sweeps.spec import SweepSpec
from jamming.sweeps.stochastic import LABEL_NOISE_STATIONARY_SWEEP, SME_WEAK_ERROR_SWEEP
from jamming.sweeps.support_vectors import SUPPORT_VECTOR_SWEEP
from jamming.sweeps.trained_features import DIGITS_FEATURES_SWEEP, TRAINED_FEATURES_SWEEP
from jamming.sweeps.unsat import HINGE_GAUSSIAN_SWEEP

SWEEPS: dict[str, SweepSpec] = {
    spec.name: spec
    for spec in (COVER_SWEEP, HINGE_GAUSSIAN_SWEEP, JACOBIAN_RANK_SWEEP, FEATURE_COVER_SWEEP,
                 TEACHER_SWEEP, TEST_CUSP_SWEEP, GRAM_SWEEP, KERNEL_FLOW_SWEEP,
                 RELU_RANK_SWEEP, SUPPORT_VECTOR_SWEEP, TRAINED_FEATURES_SWEEP,
                 DIGITS_FEATURES_SWEEP, KERNEL_MC_SWEEP, RF_SPECTRUM_SWEEP,
                 FINITE_WIDTH_SWEEP, MAP_SWEEP, SGD_BOUNCE_SWEEP,
                 WOODWORTH_SWEEP, LABEL_NOISE_SWEEP, SPARSE_FEATURES_SWEEP,
                 RELU_SPARSE_FEATURES_SWEEP, SME_WEAK_ERROR_SWEEP,
                 LABEL_NOISE_STATIONARY_SWEEP, NETWORK_JUMP_SWEEP, LAZY_LIMIT_SWEEP)
}


def get_sweep(name: str) -> SweepSpec:
    """The sweep called ``name``; ``ValueError`` naming the known sweeps otherwise."""
    try:
        return SWEEPS[name]
    except KeyError:
        raise ValueError(
            f"unknown sweep {name!r}; known sweeps: {', '.join(sorted(SWEEPS))}"
        ) from None
