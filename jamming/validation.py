"""Input checks shared by theory and simulation, and the scalar-to-array rule.

Public functions validate their inputs with these checks, so that an error names the
parameter, its value and the allowed range (or the allowed names) in the same words
everywhere. A scalar parameter given an array is refused with a message naming it
(:func:`check_scalar` and the checks built on it), unless the function is declared
:func:`elementwise` in it: then an array is taken element by element, as a user plotting a
curve would pass it.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from numbers import Integral, Number

import numpy as np

#: The loss names, spelt as the CLI spells them: per point, ``"square"``
#: :math:`\frac12(f-y)^2`, ``"hinge"`` :math:`\max(0, 1-yf)`, ``"quadratic-hinge"``
#: :math:`\frac12\max(0, 1-yf)^2`. A function that supports only some takes them from here.
LOSSES = ("square", "hinge", "quadratic-hinge")


def check_count(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum`` (bools refused).

    Raises
    ------
    TypeError
        If ``value`` is not an integer (an array included); the message names ``name`` and
        the allowed range.
    ValueError
        If ``value < minimum``.
    """
    if np.ndim(value) != 0:
        check_scalar(name, value)  # raises the message for arrays
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_finite(name: str, value) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a bool, a string, an array); the message names
        ``name``.
    ValueError
        If ``value`` is NaN or infinite; the message names ``name``.
    """
    value = check_scalar(name, value)
    if not math.isfinite(value):
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
        If ``value`` is not a real number (a bool, a string, an array); the message names
        ``name``.
    ValueError
        If it is not finite or out of the range; the message names ``name`` and the range.
    """
    number = check_scalar(name, value)
    above = number > low if strict else number >= low
    if not (math.isfinite(number) and above and number <= high):
        bound = ">" if strict else ">="
        upper = f" and <= {high}" if math.isfinite(high) else ""
        raise ValueError(f"{name} must be a finite number {bound} {low}{upper}; got {value!r}")
    return number


def check_scalar(name: str, value) -> float:
    """Return ``value`` as a ``float`` if it is one real number (NaN and infinities pass).

    Raises
    ------
    TypeError
        If ``value`` is an array (the message names ``name`` and says how to apply the
        function to several values), a bool, a string or not a number.
    """
    if np.ndim(value) != 0:
        raise TypeError(f"{name} must be a scalar; got an array of shape {np.shape(value)} "
                        "(call the function once per value, e.g. with numpy.vectorize)")
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None


def check_finite_array(name: str, values) -> np.ndarray:
    """Return ``values`` as a float64 array if every entry is finite.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    values : array_like, any shape

    Returns
    -------
    numpy.ndarray, float64, the shape of ``values``

    Raises
    ------
    ValueError
        If an entry is NaN or infinite; the message names ``name``, how many entries and the
        index of the first.
    """
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; got {int(bad.sum())} NaN or infinite "
                         f"entries of {array.size} (the first at index {first})")
    return array


def check_choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of the names ``allowed``.

    The check of every name-valued parameter (losses, activations, parametrisations): one
    spelling per name, no aliases.

    Raises
    ------
    ValueError
        Otherwise; the message names ``name``, the allowed names and the value received.
    """
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def elementwise(*names: str) -> Callable:
    """Decorator: a function of scalar parameters ``names`` also takes arrays of them.

    When every parameter in ``names`` is a scalar the function is called as written (its
    result is unchanged to the bit). Otherwise those parameters are broadcast together
    (numpy rules) and the function is called once per element, with Python scalars; the
    results are gathered into arrays of the broadcast shape: a number becomes a float64
    array, a tuple of numbers a tuple of float64 arrays, and a dataclass of numbers the same
    dataclass with float64 arrays as fields. The other parameters are passed unchanged.

    Parameters
    ----------
    *names : str
        Parameters of the decorated function that may be arrays.

    Returns
    -------
    callable
        The decorator.
    """

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        unknown = [name for name in names if name not in signature.parameters]
        if unknown:
            raise TypeError(f"{function.__name__} has no parameters {unknown}")
        positions = [list(signature.parameters).index(name) for name in names]

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            # fast path, without binding: the named arguments as given (None: a default)
            given = [args[i] if i < len(args) else kwargs.get(name)
                     for i, name in zip(positions, names, strict=True)]
            if all(isinstance(value, Number | None) or np.ndim(value) == 0 for value in given):
                return function(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arrays = np.broadcast_arrays(*(np.asarray(bound.arguments[name]) for name in names))
            results = []
            for index in np.ndindex(arrays[0].shape):
                bound.arguments.update({name: array[index].item()
                                        for name, array in zip(names, arrays, strict=True)})
                results.append(function(*bound.args, **bound.kwargs))
            return _gather(results, arrays[0].shape)

        return wrapper

    return decorate


def _gather(results: list, shape: tuple[int, ...]):
    """The per-element ``results`` of :func:`elementwise` as arrays of ``shape``."""

    def stack(values):
        return np.array(values, dtype=np.float64).reshape(shape)

    first = results[0] if results else 0.0
    if isinstance(first, tuple):
        return tuple(stack(column) for column in zip(*results, strict=True))
    if is_dataclass(first):
        return type(first)(**{field.name: stack([getattr(r, field.name) for r in results])
                              for field in fields(first)})
    return stack(results)
