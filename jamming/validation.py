"""Input checks shared by theory and simulation (standard library only)."""

from __future__ import annotations

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
