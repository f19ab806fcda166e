r"""torch versions of the numba ensembles of :mod:`~jamming.simulate.maps` and
:mod:`~jamming.simulate.sde`, for a GPU (or the CPU).

Functions
---------
* :func:`iterate_map`, :func:`sgd_1d` -- as :func:`jamming.simulate.maps.iterate_map` /
  :func:`~jamming.simulate.maps.sgd_1d`;
* :func:`label_noise_sde_1d`, :func:`label_noise_sgd_1d`, :func:`sme_coupled_paths` -- as
  the functions of the same names in :mod:`jamming.simulate.sde`.

Each takes the arguments of its numba twin plus ``device`` (``"auto"``, ``"cpu"`` or
``"cuda"``, resolved by :func:`jamming.simulate.devices.resolve_device`: ``"cuda"`` without
CUDA raises ``ValueError``), validates them with the same validators
(:mod:`jamming.simulate.ensemble_inputs`, same error messages) and returns the same result
dataclass holding numpy arrays. The ensembles are vectorised over trajectories (float64
tensors on ``device``) with a Python loop over steps.

Random numbers and bitwise agreement
------------------------------------
The counter-based streams of :mod:`jamming.simulate.random_streams` are reproduced on int64
tensors: SplitMix64 arithmetic mod 2^64 is the wrap-around of int64 addition and
multiplication (the uint64 constants are stored as their two's-complement int64 values), the
logical right shift of uint64 is an arithmetic shift followed by a mask, and the top 53 bits
convert exactly to float64. The normals use the very source of
:func:`~jamming.simulate.random_streams.box_muller` (its code object, with ``np.sqrt`` /
``np.floor`` bound to their torch twins and the scaling table
:data:`~jamming.simulate.random_streams.BOX_MULLER_SCALINGS` held as float64 0-d tensors,
so that ``bool * factor`` stays float64 rather than torch's default float32).

Every update performs the floating-point operations of the numpy references in the same
order, and torch's CPU elementwise kernels round each operation separately, so on the CPU
the results agree **bitwise** with the numba and numpy versions (the tests check it). On
CUDA the compiler may contract ``a * b + c`` into fused multiply-adds, which changes the last
bits (agreement to ~1e-12 relative, checked by the GPU test); the random integers and uniforms
stay exact there.

Divergence is handled as in the numba versions: a trajectory whose update is not finite or
leaves the bound is frozen, flagged and its step recorded.

torch is imported inside the functions, never at import time.
"""

from __future__ import annotations

import functools
import types
from types import SimpleNamespace

import numpy as np

from jamming.simulate import random_streams as _streams
from jamming.simulate.devices import torch_device
from jamming.simulate.ensemble_inputs import (
    label_noise_sde_args,
    label_noise_sgd_args,
    validate_coupled,
    validate_map,
    validate_sgd,
)
from jamming.simulate.maps import MapEnsemble, SGDResult
from jamming.simulate.sde import X_COUNTER, CoupledSMEPaths, LabelNoiseEnsemble

_TWO_64 = 2**64


def _torch():
    import torch

    return torch


def _signed(value: int) -> int:
    """The int64 with the bits of the uint64 ``value mod 2**64``."""
    value %= _TWO_64
    return value - _TWO_64 if value >= 2**63 else value


# ------------------------------------------------------------------------- random numbers


def _srl(z, k: int):
    """Logical right shift of the uint64 bits of the int64 tensor ``z`` by ``k`` (0 < k < 64)."""
    return (z >> k) & ((1 << (64 - k)) - 1)


def _mix(z):
    z = z ^ _srl(z, 30)
    z = z * _signed(_streams.MIX_M1)
    z = z ^ _srl(z, 27)
    z = z * _signed(_streams.MIX_M2)
    return z ^ _srl(z, 31)


def _keys(seed: int, n_traj: int, device):
    """Stream keys of trajectories ``0..n_traj-1`` (int64 bits of the uint64 keys)."""
    torch = _torch()
    index = torch.arange(1, n_traj + 1, dtype=torch.int64, device=device)
    return _mix(index * _signed(_streams.GOLDEN_GAMMA) + _signed(seed))


def _uniform(keys, counter: int):
    """The uniforms in [0, 1) at ``counter`` (1-based) of every key, float64."""
    torch = _torch()
    bits = _srl(_mix(keys + _signed(counter * _streams.GOLDEN_GAMMA)), 11)
    return bits.to(torch.float64) * _streams.TWO_M53


def _sqrt(x):
    """Correctly rounded square root: torch's float64 CPU kernel is not (1 ulp off for ~1%
    of the uniforms, vectorised path), numpy's (the hardware instruction) is, and so is CUDA's."""
    torch = _torch()
    if x.device.type == "cpu":
        return torch.from_numpy(np.sqrt(x.numpy()))
    return torch.sqrt(x)


@functools.cache
def _box_muller():
    """:func:`random_streams.box_muller` (same code object) for float64 tensors."""
    torch = _torch()
    namespace = dict(_streams.box_muller.__globals__)
    namespace["np"] = SimpleNamespace(sqrt=_sqrt, floor=torch.floor)
    namespace["BOX_MULLER_SCALINGS"] = tuple(
        tuple(torch.tensor(v, dtype=torch.float64) for v in row)
        for row in _streams.BOX_MULLER_SCALINGS)
    return types.FunctionType(_streams.box_muller.__code__, namespace, "_box_muller_torch")


def _normal_pair(keys, pair: int):
    """Normal pair ``pair`` (0-based) of every key (as ``random_streams.normal_pair_np``)."""
    return _box_muller()(1.0 - _uniform(keys, 2 * pair + 1), _uniform(keys, 2 * pair + 2))


# ----------------------------------------------------------------------------- helpers


def _tensor(array: np.ndarray, device):
    return _torch().as_tensor(array, dtype=_torch().float64, device=device).clone()


def _numpy(tensor) -> np.ndarray:
    return tensor.cpu().numpy()


class _Recorder:
    """Copies of the state at the recorded steps, stacked as (n_traj, n_rec) numpy."""

    def __init__(self, steps):
        self.steps = steps
        self.wanted = set() if steps is None else {int(s) for s in steps}
        self.rows = []

    def __call__(self, t: int, state):
        if t in self.wanted:
            self.rows.append(state.clone())

    def result(self):
        if self.steps is None:
            return None
        return _numpy(_torch().stack(self.rows, dim=1))


class _Divergence:
    """Frozen-and-flagged bookkeeping: ``update`` returns the new state and active mask."""

    def __init__(self, like):
        torch = _torch()
        self.active = torch.ones(like.shape, dtype=torch.bool, device=like.device)
        self.at = torch.full(like.shape, -1, dtype=torch.int64, device=like.device)

    def update(self, t: int, state, new, bound: float):
        leaving = self.active & ~(new.abs() <= bound)
        self.at.masked_fill_(leaving, t)
        self.active &= ~leaving
        return _torch().where(self.active, new, state)


# ---------------------------------------------------------------------------- maps.py twins


def iterate_map(gamma, z0, n_steps: int, *, record_every: int | None = None,
                record_start: int = 0, device: str = "auto") -> MapEnsemble:
    """torch version of :func:`jamming.simulate.maps.iterate_map` on ``device``."""
    gamma, z0, n_steps, steps = validate_map(gamma, z0, n_steps, record_every, record_start)
    target = torch_device(device)
    g = _tensor(gamma, target)
    z = _tensor(z0, target)
    record = _Recorder(steps)
    record(0, z)
    for t in range(1, n_steps + 1):
        z = z + g * z * (1.0 - z * z)
        record(t, z)
    return MapEnsemble(_numpy(z), record.result(), steps)


def sgd_1d(theta_star: float, eta: float, x_min: float, x_max: float, theta0, n_steps: int,
           seed: int, n_traj: int, *, distribution: str = "uniform", burn_in: int | None = None,
           bound: float | None = None, record_every: int | None = None,
           record_start: int = 0, device: str = "auto") -> SGDResult:
    """torch version of :func:`jamming.simulate.maps.sgd_1d` on ``device``."""
    (theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, burn_in, bound, m2,
     steps) = validate_sgd(theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj,
                           distribution, burn_in, bound, record_every, record_start)
    torch = _torch()
    target = torch_device(device)
    ts2 = theta_star * theta_star
    width = x_max - x_min
    keys = _keys(seed, n_traj, target)
    th = _tensor(theta0, target)
    side = th > theta_star
    crossings = torch.zeros(n_traj, dtype=torch.int64, device=target)
    loss_sum = torch.zeros(n_traj, dtype=torch.float64, device=target)
    loss_count = torch.zeros(n_traj, dtype=torch.int64, device=target)
    loss_min = torch.full((n_traj,), np.inf, dtype=torch.float64, device=target)
    loss_max = torch.full((n_traj,), -np.inf, dtype=torch.float64, device=target)
    div = _Divergence(th)
    record = _Recorder(steps)
    record(0, th)
    for t in range(1, n_steps + 1):
        x = x_min + width * _uniform(keys, t)
        th = div.update(t, th, th + eta * x * x * th * (ts2 - th * th), bound)
        active = div.active
        new_side = th > theta_star
        if t > burn_in:
            crossings += active & (new_side != side)
            d = ts2 - th * th
            loss = 0.25 * m2 * (d * d)
            loss_sum = torch.where(active, loss_sum + loss, loss_sum)
            loss_count += active
            loss_min = torch.where(active & (loss < loss_min), loss, loss_min)
            loss_max = torch.where(active & (loss > loss_max), loss, loss_max)
        side = torch.where(active, new_side, side)
        record(t, th)
    d = ts2 - th * th
    loss_final = 0.25 * m2 * (d * d)
    return SGDResult.from_accumulators(*(_numpy(v) for v in (th, crossings, loss_final,
                                                             loss_sum, loss_count, loss_min,
                                                             loss_max, div.at)),
                                       record.result(), steps)


# ----------------------------------------------------------------------------- sde.py twins


def _label_noise(args, steps, device) -> LabelNoiseEnsemble:
    theta_star, drift_c, noise_c, x_lo, width, random_x, theta0, n_steps, seed, bound = args
    target = torch_device(device)
    ts2 = theta_star * theta_star
    keys = _keys(seed, theta0.shape[0], target)
    th = _tensor(theta0, target)
    div = _Divergence(th)
    record = _Recorder(steps)
    record(0, th)
    for t in range(1, n_steps + 1):
        if t % 2 == 1:  # one normal pair serves steps t and t + 1
            z, spare = _normal_pair(keys, (t - 1) // 2)
        else:
            z = spare
        x = x_lo + width * _uniform(keys, X_COUNTER + t) if random_x else x_lo
        new = th + drift_c * (x * x) * th * (ts2 - th * th) + noise_c * x * th * z
        th = div.update(t, th, new, bound)
        record(t, th)
    at = _numpy(div.at)
    return LabelNoiseEnsemble(_numpy(th), at >= 0, at, record.result(), steps)


def label_noise_sde_1d(theta_star: float, eta: float, delta: float, m2: float, theta0,
                       dt: float, n_steps: int, n_paths: int, seed: int, *,
                       bound: float | None = None, record_every: int | None = None,
                       record_start: int = 0, device: str = "auto") -> LabelNoiseEnsemble:
    """torch version of :func:`jamming.simulate.sde.label_noise_sde_1d` on ``device``."""
    args, steps = label_noise_sde_args(theta_star, eta, delta, m2, theta0, dt, n_steps, n_paths,
                                       seed, bound, record_every, record_start)
    return _label_noise(args, steps, device)


def label_noise_sgd_1d(theta_star: float, eta: float, delta: float, x_min: float,
                       x_max: float, theta0, n_steps: int, n_paths: int, seed: int, *,
                       bound: float | None = None, record_every: int | None = None,
                       record_start: int = 0, device: str = "auto") -> LabelNoiseEnsemble:
    """torch version of :func:`jamming.simulate.sde.label_noise_sgd_1d` on ``device``."""
    args, steps = label_noise_sgd_args(theta_star, eta, delta, x_min, x_max, theta0, n_steps,
                                       n_paths, seed, bound, record_every, record_start)
    return _label_noise(args, steps, device)


def sme_coupled_paths(eta: float, n_steps: int, a: float, sigma: float, theta0, n_paths: int,
                      seed: int, *, substeps: int = 4, device: str = "auto") -> CoupledSMEPaths:
    """torch version of :func:`jamming.simulate.sde.sme_coupled_paths` on ``device``."""
    theta0, n_steps, seed, substeps, coef = validate_coupled(eta, n_steps, a, sigma, theta0,
                                                             n_paths, seed, substeps)
    a_dt, a_fine, b_dt, b_fine, noise, eta_a, sigma, inv_sqrt = coef
    torch = _torch()
    target = torch_device(device)
    keys = _keys(seed, theta0.shape[0], target)
    sgd, c1, f1, c2, f2 = (_tensor(theta0, target) for _ in range(5))
    for step in range(n_steps):
        zsum = torch.zeros_like(sgd)
        for i in range(substeps):
            z0, z1 = _normal_pair(keys, step * substeps + i)
            f1 = f1 - a_fine * f1 + noise * z0
            f1 = f1 - a_fine * f1 + noise * z1
            f2 = f2 - b_fine * f2 + noise * z0
            f2 = f2 - b_fine * f2 + noise * z1
            zz = z0 + z1
            c1 = c1 - a_dt * c1 + noise * zz
            c2 = c2 - b_dt * c2 + noise * zz
            zsum = zsum + zz
        sgd = sgd - eta_a * (sgd - sigma * (zsum * inv_sqrt))
    return CoupledSMEPaths(*(_numpy(v) for v in (sgd, c1, f1, c2, f2)), substeps=substeps)
