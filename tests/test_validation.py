"""Tests of jamming.validation: scalar checks, finite arrays, names, and ``elementwise``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from jamming.validation import (
    check_choice,
    check_count,
    check_finite,
    check_finite_array,
    check_real,
    check_scalar,
    elementwise,
)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: check_scalar("x", np.ones(3)), TypeError,
     r"^x must be a scalar; got an array of shape \(3,\) \(call the function once per value"),
    (lambda: check_scalar("x", True), TypeError, "x must be a real number; got True"),
    (lambda: check_scalar("x", "1.5"), TypeError, "x must be a real number; got '1.5'"),
    (lambda: check_finite("x", [1.0]), TypeError, "x must be a scalar"),
    (lambda: check_real("x", np.ones((2, 2)), 0.0), TypeError, r"x must be a scalar.*\(2, 2\)"),
    (lambda: check_count("n", np.array([1, 2])), TypeError, "n must be a scalar"),
    (lambda: check_finite_array("x1", [[1.0, np.nan], [np.inf, 0.0]]), ValueError,
     r"x1 must be finite; got 2 NaN or infinite entries of 4 \(the first at index \(0, 1\)\)"),
    (lambda: check_choice("loss", "quadratic_hinge", ("square", "quadratic-hinge")), ValueError,
     "loss must be one of square, quadratic-hinge; got 'quadratic_hinge'"),
    (lambda: check_choice("loss", ["square"], ("square",)), ValueError, "loss must be one of"),
])
def test_checks_name_the_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_scalars_pass_through():
    assert check_scalar("x", np.float32(0.5)) == 0.5
    assert check_scalar("x", np.array(2.0)) == 2.0
    assert np.isnan(check_scalar("x", float("nan")))
    assert check_count("n", np.int64(3)) == 3
    assert check_finite_array("x", [[1, 2]]).dtype == np.float64


@dataclass(frozen=True)
class _Pair:
    total: float
    product: float


@elementwise("a", "b")
def _combine(a: float, b: float = 1.0, *, scale: float = 1.0):
    return scale * (a + b), a * b


@elementwise("a")
def _pair(a: float, b: float = 2.0) -> _Pair:
    return _Pair(a + b, a * b)


def test_elementwise_keeps_scalars_and_broadcasts_arrays():
    assert _combine(1.0, 2.0) == (3.0, 2.0)
    total, product = _combine(np.array([[1.0], [2.0]]), [10.0, 20.0, 30.0], scale=2.0)
    assert total.shape == product.shape == (2, 3) and total.dtype == np.float64
    np.testing.assert_array_equal(total, 2.0 * (np.array([[1.0], [2.0]]) + [10, 20, 30]))
    np.testing.assert_array_equal(_combine(a=[1.0, 2.0])[1], [1.0, 2.0])
    pairs = _pair([1.0, 3.0], b=4.0)
    assert isinstance(pairs, _Pair)
    np.testing.assert_array_equal(pairs.total, [5.0, 7.0])
    np.testing.assert_array_equal(pairs.product, [4.0, 12.0])
    assert _combine.__wrapped__(1.0, 2.0) == (3.0, 2.0)


def test_elementwise_refuses_unknown_parameters():
    with pytest.raises(TypeError, match="has no parameters"):
        elementwise("c")(lambda a: a)
