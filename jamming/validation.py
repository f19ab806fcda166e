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
