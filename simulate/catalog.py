"""The named sweeps that ``jamming sweep NAME`` and the claims run."""

from __future__ import annotations

from jamming.simulate.diagonal import LABEL_NOISE_SWEEP, SPARSE_FEATURES_SWEEP, WOODWORTH_SWEEP
from jamming.simulate.feature_sweeps import (
    FEATURE_COVER_SWEEP,
    JACOBIAN_RANK_SWEEP,
    RELU_RANK_SWEEP,
    TEACHER_SWEEP,
)
from jamming.simulate.finite_width import FINITE_WIDTH_SWEEP
from jamming.simulate.generalization import TEST_CUSP_SWEEP
from jamming.simulate.hinge_sweeps import HINGE_GAUSSIAN_SWEEP
from jamming.simulate.kernel_flow import KERNEL_FLOW_SWEEP
from jamming.simulate.kernel_sweeps import KERNEL_MC_SWEEP
from jamming.simulate.map_sweeps import MAP_SWEEP, SGD_BOUNCE_SWEEP
from jamming.simulate.relu1d import RELU_SPARSE_FEATURES_SWEEP
from jamming.simulate.rf_spectrum import RF_SPECTRUM_SWEEP
from jamming.simulate.sde_sweeps import LABEL_NOISE_STATIONARY_SWEEP, SME_WEAK_ERROR_SWEEP
from jamming.simulate.separability import COVER_SWEEP
from jamming.simulate.spectra import GRAM_SWEEP
from jamming.simulate.sweep import SweepSpec

SWEEPS: dict[str, SweepSpec] = {
    spec.name: spec
    for spec in (COVER_SWEEP, HINGE_GAUSSIAN_SWEEP, JACOBIAN_RANK_SWEEP, FEATURE_COVER_SWEEP,
                 TEACHER_SWEEP, TEST_CUSP_SWEEP, GRAM_SWEEP, KERNEL_FLOW_SWEEP,
                 RELU_RANK_SWEEP, KERNEL_MC_SWEEP, RF_SPECTRUM_SWEEP,
                 FINITE_WIDTH_SWEEP, MAP_SWEEP, SGD_BOUNCE_SWEEP,
                 WOODWORTH_SWEEP, LABEL_NOISE_SWEEP, SPARSE_FEATURES_SWEEP,
                 RELU_SPARSE_FEATURES_SWEEP, SME_WEAK_ERROR_SWEEP,
                 LABEL_NOISE_STATIONARY_SWEEP)
}


def get_sweep(name: str) -> SweepSpec:
    """The sweep called ``name``; ``ValueError`` naming the known sweeps otherwise."""
    try:
        return SWEEPS[name]
    except KeyError:
        raise ValueError(
            f"unknown sweep {name!r}; known sweeps: {', '.join(sorted(SWEEPS))}"
        ) from None
