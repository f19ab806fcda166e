"""Input checks shared by theory and simulation (standard library only)."""

from __future__ import annotations

import math
from numbers import Integral


def check_count(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum`` (bools refused).

    Raises
    ------
    TypeError
        If ``value`` is not an integer; the message names ``name`` and the allowed range.
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_finite(name: str, value) -> float:
    """Return ``value`` as a ``float`` if it is finite.

    Raises
    ------
    ValueError
        If ``value`` is NaN or infinite; the message names ``name``.
    """
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def check_positive(name: str, value) -> float:
    """Return ``value`` as a ``float`` if it is finite and ``> 0``.

    Raises
    ------
    ValueError
        Otherwise; the message names ``name`` and the allowed range (0, inf).
    """
    value = check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be in (0, inf); got {value}")
    return value


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a ``float`` if it is finite and ``>= 0``.

    Raises
    ------
    ValueError
        Otherwise; the message names ``name`` and the allowed range [0, inf).
    """
    value = check_finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must be in [0, inf); got {value}")
    return value


def check_real(name: str, value, low: float = -math.inf, *, strict: bool = False,
               high: float = math.inf) -> float:
    """Return ``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` if ``strict``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number; the message names ``name``.
    ValueError
        If it is not finite or out of the range; the message names ``name`` and the range.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None
    above = number > low if strict else number >= low
    if not (math.isfinite(number) and above and number <= high):
        bound = ">" if strict else ">="
        upper = f" and <= {high}" if math.isfinite(high) else ""
        raise ValueError(f"{name} must be a finite number {bound} {low}{upper}; got {value!r}")
    return number
