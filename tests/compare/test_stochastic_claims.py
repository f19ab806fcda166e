"""S4 SDE claims: the weak-order estimator on exact power laws and on the closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.compare.stochastic import fitted_order
from jamming.theory.sde import weak_errors


@pytest.mark.parametrize("order", [1.0, 1.5, 2.0])
def test_fitted_order_is_exact_on_a_corrected_power_law(order):
    eta = 0.2 / 2.0 ** np.arange(6)
    error = 0.3 * eta**order * np.exp(0.7 * eta - 2.0 * eta**2)
    p, se = fitted_order(eta, error, 1e-3 * error)
    assert p == pytest.approx(order, abs=1e-10) and se > 0


def test_fitted_orders_of_the_closed_form_weak_errors_are_one_and_two():
    exact = weak_errors(1.0, np.array([5, 10, 20, 40, 80, 160]), 1.0, 1.0, 1.0)
    for name, order in (("mean_1", 1), ("second_moment_1", 1), ("mean_2", 2),
                        ("second_moment_2", 2)):
        assert fitted_order(exact["eta"], exact[name])[0] == pytest.approx(order, abs=0.01)


def test_fitted_order_detects_a_wrong_order():
    eta = 0.2 / 2.0 ** np.arange(6)
    p, se = fitted_order(eta, eta**1.5, 1e-3 * eta**1.5)
    assert abs(p - 2.0) / se > 100


def test_sme_verdict_is_zero_on_the_closed_form_whatever_the_weights():
    """Exact errors with uneven standard errors: every z vanishes (the closed form is fitted
    with the same weights as the data, so the fit's truncation error cancels)."""
    import pandas as pd

    from jamming.compare.claims import select

    (claim,) = select("S4.sme-order")
    n = np.array([5, 10, 20, 40, 80, 160])
    exact = weak_errors(1.0, n, 1.0, 1.0, 1.0)
    rows = [{"eta": eta, "moment": q, "order": order, "error": exact[f"{q}_{order}"][i],
             "closed_form": exact[f"{q}_{order}"][i],
             "se": 1e-4 * abs(exact[f"{q}_{order}"][i]) / eta**0.7}
            for i, eta in enumerate(exact["eta"]) for q in ("mean", "second_moment")
            for order in (1, 2)]
    data = pd.DataFrame(rows).assign(z=0.0)
    verdict = claim.verdict(data)
    assert verdict.passed and verdict.measured < 1e-6
