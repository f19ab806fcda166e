"""LP separability against two independent deciders, and the Cover sweep's grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from jamming.simulate.separability import is_linearly_separable as lp_separable


def gordan_separable(features, labels) -> bool:
    """Gordan's alternative: not separable iff 0 is a convex combination of the y_mu x_mu.

    Decided by Lawson-Hanson NNLS: min ||Z^T lam||^2 + (sum lam - 1)^2 over lam >= 0 has
    value 0 iff the origin lies in the convex hull of the rows of Z.
    """
    z = labels[:, None] * features
    weight = 1e3
    a = np.vstack([z.T, weight * np.ones(len(z))])
    b = np.concatenate([np.zeros(z.shape[1]), [weight]])
    _, residual = nnls(a, b)
    return residual > 1e-8


def angular_gap_separable(features, labels) -> bool:
    """In 2-D: separable through 0 iff the directions of y_mu x_mu leave a gap > pi."""
    z = labels[:, None] * features
    angles = np.sort(np.arctan2(z[:, 1], z[:, 0]))
    gaps = np.diff(np.concatenate([angles, [angles[0] + 2 * np.pi]]))
    return bool(gaps.max() > np.pi)


@pytest.mark.parametrize("n_eff", [2, 3, 5, 8])
def test_lp_agrees_with_gordan_dual(n_eff):
    rng = np.random.default_rng(n_eff)
    outcomes = []
    for n_data in range(1, 4 * n_eff + 1):
        for _ in range(15):
            x = rng.standard_normal((n_data, n_eff))
            y = rng.choice([-1.0, 1.0], n_data)
            outcome = lp_separable(x, y)
            assert outcome == gordan_separable(x, y), (n_data, n_eff)
            outcomes.append(outcome)
    assert 0.2 < np.mean(outcomes) < 0.9  # both answers occur


def test_lp_agrees_with_angular_gap_in_two_dimensions():
    rng = np.random.default_rng(7)
    for n_data in range(1, 12):
        for _ in range(40):
            x = rng.standard_normal((n_data, 2))
            y = rng.choice([-1.0, 1.0], n_data)
            assert lp_separable(x, y) == angular_gap_separable(x, y)


def test_textbook_cases():
    xor = np.array([[1.0, 1.0], [-1.0, -1.0]])
    assert not lp_separable(xor, np.array([1.0, 1.0]))   # x and -x with one label
    assert lp_separable(xor, np.array([1.0, -1.0]))
    assert lp_separable(np.eye(4), np.array([1.0, -1.0, 1.0, -1.0]))


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        lp_separable(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        lp_separable(np.ones((3, 2)), np.array([1.0, 0.0, 1.0]))


def test_certificates_at_the_tolerance():
    """Margins below CERTIFICATE_TOLERANCE count as not separable, above as separable."""
    from jamming.simulate.separability import CERTIFICATE_TOLERANCE

    y = np.array([1.0, 1.0])
    assert not lp_separable(np.array([[1.0, 0.0], [-1.0, 0.0]]), y)          # margin 0
    tiny = CERTIFICATE_TOLERANCE / 10
    assert not lp_separable(np.array([[1.0, 0.0], [-1.0, 2 * tiny]]), y)     # margin tiny
    assert lp_separable(np.array([[1.0, 0.0], [-1.0, 1e-6]]), y)             # margin 5e-7


def test_instance_whose_lp_dual_needs_polishing():
    """Seen at paper scale: HiGHS's duals had entries of -1e-7; NNLS certifies it."""
    from jamming.simulate.data import gaussian_features, random_labels

    rng = np.random.default_rng(8896487887653853291)
    for _ in range(88):  # the 88th instance of that sweep point (N_eff = 40, N_data = 140)
        x, y = gaussian_features(140, 40, rng), random_labels(140, rng)
    assert not lp_separable(x, y)
    assert not gordan_separable(x, y)
