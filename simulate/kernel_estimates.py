r"""Monte Carlo estimates of the kernels of finite networks, and their errors (S3).

The NNGP of a finite network is estimated as the output covariance over independent
networks, its NTK as the mean of their empirical NTKs
(:func:`jamming.simulate.networks.empirical_ntk`), with elementwise standard errors
(:func:`monte_carlo_kernels`); :func:`relative_frobenius_error` measures the distance of such
a mean from a reference kernel with a jackknife standard error.

torch is imported inside the functions, so that importing this module stays light.

References
----------
A. Jacot, F. Gabriel, C. Hongler, NeurIPS (2018). R. Novak *et al.*, "Neural Tangents: fast
and easy infinite neural networks in Python", ICLR (2020). T. F. Chan, G. H. Golub,
R. J. LeVeque, "Updating formulae and a pairwise algorithm for computing sample variances",
COMPSTAT (1982).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from jamming.simulate.devices import torch_device
from jamming.simulate.networks import (
    CHUNK_ENTRIES,
    DenseNetwork,
    as_inputs,
    check_network,
    empirical_ntk,
    forward,
    init_networks,
)
from jamming.validation import check_count


@dataclass(frozen=True)
class KernelEstimate:
    r"""Monte Carlo estimates of the NNGP and NTK over independent networks.

    Attributes
    ----------
    nngp, nngp_se : numpy.ndarray, shape (n_data, n_data)
        Mean of :math:`f_s(x_\mu)f_s(x_\nu)` over the networks and its elementwise standard
        error (sample standard deviation, ``ddof=1``, over :math:`\sqrt{S}`).
    ntk, ntk_se : numpy.ndarray, shape (n_data, n_data)
        The same for the empirical NTK :math:`\Theta_s(x_\mu, x_\nu)`.
    outputs : numpy.ndarray, shape (n_networks, n_data)
        :math:`f_s(x_\mu)`.
    nngp_samples, ntk_samples : numpy.ndarray, shape (n_networks, n_data, n_data), or None
        Per-network replicates (``keep_samples=True``), for
        :func:`relative_frobenius_error`.
    """

    nngp: np.ndarray
    nngp_se: np.ndarray
    ntk: np.ndarray
    ntk_se: np.ndarray
    outputs: np.ndarray
    nngp_samples: np.ndarray | None = None
    ntk_samples: np.ndarray | None = None

    @property
    def n_networks(self) -> int:
        """:math:`S`, the number of networks."""
        return self.outputs.shape[0]


class _Moments:
    """Running mean and sum of squared deviations over batches (Chan et al.'s update)."""

    def __init__(self):
        self.count, self.mean, self.m2 = 0, None, None

    def add(self, batch: np.ndarray) -> None:
        size = batch.shape[0]
        mean = batch.mean(axis=0)
        m2 = ((batch - mean) ** 2).sum(axis=0)
        if self.count == 0:
            self.count, self.mean, self.m2 = size, mean, m2
            return
        total = self.count + size
        delta = mean - self.mean
        self.mean = self.mean + delta * (size / total)
        self.m2 = self.m2 + m2 + delta ** 2 * (self.count * size / total)
        self.count = total

    def standard_error(self) -> np.ndarray:
        return np.sqrt(self.m2 / (self.count - 1) / self.count)


def monte_carlo_kernels(network: DenseNetwork, inputs, n_networks: int, seed: int, *,
                        device="cpu", network_chunk: int | None = None,
                        keep_samples: bool = True) -> KernelEstimate:
    r"""NNGP (output covariance) and NTK (mean empirical NTK) over ``n_networks`` networks.

    Networks ``0, ..., n_networks - 1`` of :func:`.init_networks` with ``seed`` are drawn
    ``network_chunk`` at a time; for each, :math:`f_s(x)f_s(x')` and the structured
    :func:`.empirical_ntk`. As :math:`h\to\infty` the means tend to the NNGP and NTK of
    ``stax``'s ``kernel_fn`` (and for any :math:`h` the NNGP estimate is unbiased for
    :math:`\mathbb{E}f(x)f(x')`, the output covariance of the finite network, since
    :math:`\mathbb{E}f = 0`).

    Parameters
    ----------
    network : DenseNetwork
    inputs : array_like or torch.Tensor, shape (n_data, d)
    n_networks : int
        :math:`S \ge 2`.
    seed : int
    device : {"cpu", "cuda", "auto"} or torch.device
    network_chunk : int or None
        Networks per call; ``None``: bounded by ``CHUNK_ENTRIES`` as in :func:`.empirical_ntk`
        and by :math:`8\times 10^6/P` (the parameters of a chunk).
    keep_samples : bool
        Keep the per-network matrices (:math:`2Sn^2` floats) in the result.

    Returns
    -------
    KernelEstimate
    """
    import torch

    network = check_network(network)
    n_networks = check_count("n_networks", n_networks, minimum=2)
    seed = check_count("seed", seed, minimum=0)
    if network_chunk is not None:
        network_chunk = check_count("network_chunk", network_chunk)
    target = torch_device(device)
    inputs = as_inputs(network, inputs, target)
    n_data = inputs.shape[0]
    if network_chunk is None:
        per_network = 3 * (network.depth + 1) * 2 * n_data * network.max_width + 3 * n_data ** 2
        network_chunk = max(1, min(CHUNK_ENTRIES // per_network,
                                   8_000_000 // network.n_parameters))
    nngp_moments, ntk_moments = _Moments(), _Moments()
    outputs, nngp_samples, ntk_samples = [], [], []
    for start in range(0, n_networks, network_chunk):
        count = min(network_chunk, n_networks - start)
        params = init_networks(network, seed, count, first=start, device=target)
        with torch.no_grad():
            values = forward(network, params, inputs).cpu().numpy()
        nngp = values[:, :, None] * values[:, None, :]
        ntk = empirical_ntk(network, params, inputs, network_chunk=count)
        nngp_moments.add(nngp)
        ntk_moments.add(ntk)
        outputs.append(values)
        if keep_samples:
            nngp_samples.append(nngp)
            ntk_samples.append(ntk)
    return KernelEstimate(
        nngp=nngp_moments.mean, nngp_se=nngp_moments.standard_error(),
        ntk=ntk_moments.mean, ntk_se=ntk_moments.standard_error(),
        outputs=np.concatenate(outputs),
        nngp_samples=np.concatenate(nngp_samples) if keep_samples else None,
        ntk_samples=np.concatenate(ntk_samples) if keep_samples else None)


class RelativeError(NamedTuple):
    r"""Relative Frobenius error of a Monte Carlo mean (:func:`relative_frobenius_error`).

    Attributes
    ----------
    value : float
        :math:`\|\bar K - K_\mathrm{ref}\|_F/\|K_\mathrm{ref}\|_F`.
    se : float
        Jackknife standard error of ``value``.
    noise_floor : float
        :math:`\sqrt{\sum_{\mu\nu}\mathrm{SE}_{\mu\nu}^2}/\|K_\mathrm{ref}\|_F`: the value
        expected from Monte Carlo noise alone when :math:`\mathbb{E}K = K_\mathrm{ref}`
        (root mean square of ``value`` in that case).
    """

    value: float
    se: float
    noise_floor: float


def relative_frobenius_error(samples, reference) -> RelativeError:
    r"""Relative Frobenius distance of the mean of replicates from a reference, with its SE.

    The estimate is :math:`e = \|\bar K - K_\mathrm{ref}\|_F/\|K_\mathrm{ref}\|_F` with
    :math:`\bar K = S^{-1}\sum_s K_s`. Its standard error is the jackknife one: with the
    leave-one-out means :math:`\bar K_{(s)} = (S\bar K - K_s)/(S-1)` and
    :math:`e_{(s)}` the same distance for them,
    :math:`\mathrm{SE}^2 = \frac{S-1}{S}\sum_s (e_{(s)} - \bar e_{(\cdot)})^2` (computed in
    :math:`O(Sn^2)` from the replicates). To first order it equals the delta-method error
    :math:`\mathrm{sd}_s\langle K_s, \bar K - K_\mathrm{ref}\rangle_F /
    (\sqrt S\,\|\bar K - K_\mathrm{ref}\|_F\|K_\mathrm{ref}\|_F)`.

    Both linearise the norm and so are reliable only when the systematic difference
    :math:`\mathbb{E}K - K_\mathrm{ref}` dominates the noise, i.e. when ``value`` is well
    above ``noise_floor``. :math:`e` is biased upwards by the noise:
    :math:`\mathbb{E}e^2 = \|\mathbb{E}K - K_\mathrm{ref}\|_F^2/\|K_\mathrm{ref}\|_F^2 +`
    ``noise_floor**2``; :math:`\sqrt{\max(e^2 - \text{noise\_floor}^2, 0)}` removes that bias
    to leading order.

    Parameters
    ----------
    samples : array_like, shape (n_networks, n1, n2)
        Replicates :math:`K_s` (e.g. ``KernelEstimate.ntk_samples``), :math:`S \ge 2`.
    reference : array_like, shape (n1, n2)
        :math:`K_\mathrm{ref}`, not all zero.

    Returns
    -------
    RelativeError
    """
    samples = np.asarray(samples, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if samples.ndim != 3 or samples.shape[0] < 2:
        raise ValueError(f"samples must have shape (n_networks, n1, n2) with n_networks >= 2; "
                         f"got {samples.shape}")
    if reference.shape != samples.shape[1:]:
        raise ValueError(f"reference must have shape {samples.shape[1:]}; got "
                         f"{reference.shape}")
    if not (np.all(np.isfinite(samples)) and np.all(np.isfinite(reference))):
        raise ValueError("samples and reference must be finite")
    norm = float(np.linalg.norm(reference))
    if norm == 0.0:
        raise ValueError("reference must not be all zero")
    count = samples.shape[0]
    mean = samples.mean(axis=0)
    difference = mean - reference
    value = float(np.linalg.norm(difference)) / norm
    # ||(S mean - K_s)/(S-1) - R||^2 = ||D - (K_s - mean)/(S-1)||^2, with D = mean - R.
    deviations = (samples - mean).reshape(count, -1)
    flat = difference.reshape(-1)
    squared = (flat @ flat - 2.0 * (deviations @ flat) / (count - 1)
               + np.einsum("ij,ij->i", deviations, deviations) / (count - 1) ** 2)
    leave_one_out = np.sqrt(np.maximum(squared, 0.0)) / norm
    se = math.sqrt((count - 1) / count * float(((leave_one_out - leave_one_out.mean()) ** 2)
                                                .sum()))
    variance = (deviations ** 2).sum(axis=0) / (count - 1)
    noise_floor = math.sqrt(float(variance.sum()) / count) / norm
    return RelativeError(value, se, noise_floor)
