r"""Counter-based random streams shared by the numba ensembles and their numpy references.

Every random number is a pure function of ``(seed, trajectory, counter)``: with the
SplitMix64 finaliser ``mix`` and ``G = 0x9E3779B97F4A7C15`` (all arithmetic mod 2^64),

* ``key(i) = mix(seed + (i + 1) G)`` for trajectory ``i`` (0-based);
* the uniform at ``counter`` (1-based) is ``u = (mix(key + counter G) >> 11) 2^-53`` in
  [0, 1);
* the **normal pair** ``p`` (0-based) is the Box–Muller transform of the uniforms at counters
  ``2p + 1`` and ``2p + 2``: with ``u1 = 1 - u_{2p+1}`` in (0, 1] and ``u2 = u_{2p+2}``,
  ``r = sqrt(-2 log u1)``, ``z0 = r cos(2 pi u2)``, ``z1 = r sin(2 pi u2)``, two independent
  standard normals (to the 53-bit resolution of the uniforms). ``log``, ``cos`` and ``sin``
  are evaluated by :func:`box_muller` with arithmetic only (exact binary range reduction and
  polynomial series, relative error ~1e-16), not by libm, so that numba vectorises it.

No state is shared between trajectories, so ensembles do not depend on the number of numba
threads nor on how trajectories are split into blocks. The numpy functions (suffix ``_np``:
:func:`mix_np`, :func:`keys_np`, :func:`uniform_np`, :func:`normal_pair_np`) and the numba
ones (:func:`numba_functions`) perform the same IEEE operations in the same order (the same
source for Box–Muller), so they agree bitwise; :mod:`jamming.simulate.torch_ensembles`
reproduces them on int64 tensors from the constants :data:`GOLDEN_GAMMA`, :data:`MIX_M1`,
:data:`MIX_M2`, :data:`TWO_M53` and the source of :func:`box_muller` with its table
:data:`BOX_MULLER_SCALINGS`.

numba is imported inside :func:`numba_functions`, never at import time.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

from jamming.validation import check_count

#: ``G``, the SplitMix64 increment ("golden gamma") between keys and between counters.
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
#: First multiplier of the SplitMix64 finaliser ``mix``.
MIX_M1 = 0xBF58476D1CE4E5B9
#: Second multiplier of the SplitMix64 finaliser ``mix``.
MIX_M2 = 0x94D049BB133111EB
#: 2^-53: the top 53 bits of a uint64 times this are a uniform in [0, 1).
TWO_M53 = 2.0**-53


def check_stream_seed(seed) -> int:
    """Return ``seed`` as an ``int`` if it is a valid stream seed, an integer in [0, 2**64).

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If it is outside [0, 2**64).
    """
    seed = check_count("seed", seed, 0)
    if seed >= 2**64:
        raise ValueError(f"seed must be < 2**64, got {seed}")
    return seed


def mix_np(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser ``mix`` of the module docstring, elementwise.

    Parameters
    ----------
    z : ndarray of uint64
        Any shape; arithmetic wraps mod 2^64.

    Returns
    -------
    ndarray of uint64
        Same shape as ``z``.
    """
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(MIX_M1)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(MIX_M2)
    return z ^ (z >> np.uint64(31))


def keys_np(seed: int, n_traj: int) -> np.ndarray:
    """Stream keys ``key(i) = mix(seed + (i + 1) G)`` of trajectories ``i = 0..n_traj-1``.

    Parameters
    ----------
    seed : int
        Stream seed in [0, 2**64) (not validated here; see :func:`check_stream_seed`).
    n_traj : int
        Number of trajectories.

    Returns
    -------
    ndarray of uint64, shape (n_traj,)
    """
    index = np.arange(1, n_traj + 1, dtype=np.uint64)
    return mix_np(np.uint64(seed) + index * np.uint64(GOLDEN_GAMMA))


def uniform_np(keys: np.ndarray, step: int) -> np.ndarray:
    """The uniforms in [0, 1) at counter ``step`` (1-based) of every key.

    ``u = (mix(key + step G) >> 11) 2^-53``, all arithmetic mod 2^64.

    Parameters
    ----------
    keys : ndarray of uint64
        Keys from :func:`keys_np`, any shape.
    step : int
        Counter in [0, 2**64).

    Returns
    -------
    ndarray of float64
        Same shape as ``keys``.
    """
    with np.errstate(over="ignore"):  # wrap-around mod 2^64 is intended
        offset = np.uint64(step) * np.uint64(GOLDEN_GAMMA)
    bits = mix_np(keys + offset)
    return (bits >> np.uint64(11)).astype(np.float64) * TWO_M53


# Box-Muller from arithmetic only (no libm calls), so that numba vectorises it and numpy
# reproduces it bitwise: -2 log u1 by exact binary scaling to [sqrt(1/2), sqrt(2)) and the
# atanh series, (cos, sin)(2 pi u2) by the quadrant and Taylor series on [-pi/4, pi/4].
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of log(2): e * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SQRT_HALF = math.sqrt(0.5)
_HALF_PI = 0.5 * math.pi
#: The exact binary range reduction of ``log u1`` in :func:`box_muller`: rows
#: ``(threshold, 2^k - 1, k)``, a value ``x < threshold`` is scaled by ``2^k``; the last row
#: maps [1/2, sqrt(1/2)) to [1, sqrt(2)). The torch twin rebinds it as float64 tensors.
BOX_MULLER_SCALINGS = tuple((2.0**-k, 2.0**k - 1.0, float(k)) for k in (32, 16, 8, 4, 2, 1)) + (
    (_SQRT_HALF, 1.0, 1.0),)
_ATANH = tuple(1.0 / (2 * k + 1) for k in range(11))  # 2 atanh(s) = 2 s sum s^2k / (2k+1)
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(9))
_COS = tuple((-1) ** k / math.factorial(2 * k) for k in range(11))


def box_muller(u1, u2):
    """Normal pair ``(r cos 2 pi u2, r sin 2 pi u2)``, ``r = sqrt(-2 log u1)``, without libm.

    ``log``, ``cos`` and ``sin`` are evaluated with arithmetic only (module docstring), so
    the same source runs in numpy, in numba (vectorised) and, with ``np`` and
    :data:`BOX_MULLER_SCALINGS` rebound, on torch tensors, bitwise alike.

    Parameters
    ----------
    u1 : float or ndarray of float64
        Uniforms in (0, 1].
    u2 : float or ndarray of float64
        Uniforms in [0, 1), same shape as ``u1``.

    Returns
    -------
    z0, z1 : float or ndarray of float64
        Two independent standard normals of the shape of ``u1``.
    """
    # log u1 = e log 2 + log x, x in [sqrt(1/2), sqrt(2)); every scaling below is exact
    x = u1
    e = 0.0 * u1
    for threshold, factor, k in BOX_MULLER_SCALINGS:
        low = x < threshold
        x = x * (1.0 + low * factor)
        e = e - low * k
    s = (x - 1.0) / (x + 1.0)
    z = s * s
    p = _ATANH[10]
    for k in range(9, -1, -1):
        p = p * z + _ATANH[k]
    log_u1 = e * _LN2_HI + (e * _LN2_LO + 2.0 * s * p)
    r = np.sqrt(-2.0 * log_u1)
    # 2 pi u2 = (pi/2) (q + t), q integer in 0..4, t in [-1/2, 1/2)
    v = 4.0 * u2
    q = np.floor(v + 0.5)
    a = (v - q) * _HALF_PI
    z = a * a
    sn = _SIN[8]
    for k in range(7, -1, -1):
        sn = sn * z + _SIN[k]
    sn = sn * a
    cs = _COS[10]
    for k in range(9, -1, -1):
        cs = cs * z + _COS[k]
    m0 = (q == 0.0) + (q == 4.0)
    m1 = q == 1.0
    m2 = q == 2.0
    m3 = q == 3.0
    cos_a = m0 * cs - m1 * sn - m2 * cs + m3 * sn
    sin_a = m0 * sn + m1 * cs - m2 * sn - m3 * cs
    return r * cos_a, r * sin_a


def normal_pair_np(keys: np.ndarray, pair: int) -> tuple[np.ndarray, np.ndarray]:
    """Normal pair ``pair`` (0-based) of every key: :func:`box_muller` of the uniforms at
    counters ``2 pair + 1`` (as ``1 - u``) and ``2 pair + 2``.

    Parameters
    ----------
    keys : ndarray of uint64
        Keys from :func:`keys_np`, any shape.
    pair : int
        Pair index, >= 0.

    Returns
    -------
    z0, z1 : ndarray of float64
        Two arrays of the shape of ``keys``.
    """
    return box_muller(1.0 - uniform_np(keys, 2 * pair + 1), uniform_np(keys, 2 * pair + 2))


@functools.cache
def numba_functions() -> SimpleNamespace:
    """The jitted stream functions (``inline="always"``), compiled once per process.

    ``mix(z)``, ``key(seed_u, i)`` (``seed_u`` a uint64, ``i`` the 0-based trajectory),
    ``uniform(key, counter)`` and ``normal_pair(key, pair) -> (z0, z1)`` as in the module
    docstring; ``block_keys(seed_u, lo, k)`` the (k,) keys of trajectories ``lo..lo+k-1``.
    """
    import numba as nb

    G = np.uint64(GOLDEN_GAMMA)
    M1 = np.uint64(MIX_M1)
    M2 = np.uint64(MIX_M2)
    S11 = np.uint64(11)
    S27 = np.uint64(27)
    S30 = np.uint64(30)
    S31 = np.uint64(31)
    ONE = np.uint64(1)
    TWO = np.uint64(2)
    box_muller_nb = nb.njit(inline="always")(box_muller)

    @nb.njit(inline="always")
    def mix(z):
        z = z ^ (z >> S30)
        z = z * M1
        z = z ^ (z >> S27)
        z = z * M2
        return z ^ (z >> S31)

    @nb.njit(inline="always")
    def key(seed_u, i):
        return mix(seed_u + (np.uint64(i) + ONE) * G)

    @nb.njit(inline="always")
    def uniform(k, counter):
        return np.float64(mix(k + np.uint64(counter) * G) >> S11) * TWO_M53

    @nb.njit(inline="always")
    def normal_pair(k, pair):
        c = np.uint64(pair) * TWO
        u1 = 1.0 - np.float64(mix(k + (c + ONE) * G) >> S11) * TWO_M53
        u2 = np.float64(mix(k + (c + TWO) * G) >> S11) * TWO_M53
        return box_muller_nb(u1, u2)

    @nb.njit(inline="always")
    def block_keys(seed_u, lo, k):
        keys = np.empty(k, dtype=np.uint64)
        for j in range(k):
            keys[j] = key(seed_u, lo + j)
        return keys

    return SimpleNamespace(mix=mix, key=key, uniform=uniform, normal_pair=normal_pair,
                           block_keys=block_keys)
