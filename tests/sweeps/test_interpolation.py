"""The interpolation sweeps: Gram spectra and kernel flow."""

from __future__ import annotations

from numpy.testing import assert_allclose

from jamming.sweeps.interpolation import (
    GRAM_SWEEP,
    KERNEL_FLOW_SWEEP,
    gram_spectrum_trials,
    kernel_flow_trial,
)


def test_sweep_functions_are_deterministic():
    point = KERNEL_FLOW_SWEEP.points("quick")[0]
    first, second = kernel_flow_trial(point), kernel_flow_trial(dict(point))
    assert_allclose(first["f"], second["f"], rtol=0, atol=0)
    gram_point = GRAM_SWEEP.points("quick")[0]
    assert_allclose(gram_spectrum_trials(gram_point)["lambda_min"],
                    gram_spectrum_trials(dict(gram_point))["lambda_min"], rtol=0, atol=0)
