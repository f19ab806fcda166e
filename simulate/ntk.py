r"""Empirical NTK and NNGP of finite networks in the conventions of ``neural_tangents.stax``.

The network
-----------
:class:`DenseNetwork` is, layer for layer,
``stax.serial(*[stax.Dense(h, W_std, b_std), act] * depth, stax.Dense(1, W_std, b_std))``
in the NTK parametrisation (``parameterization='ntk'``, the default of ``stax.Dense``): with
:math:`h^0 = x\in\mathbb{R}^d` (not normalised), fan-ins :math:`n_0 = d`,
:math:`n_1 = \dots = n_L = h`, and :math:`L` = ``depth`` hidden layers,

.. math::

    z^{l} = \frac{\sigma_w}{\sqrt{n_{l-1}}}\, h^{l-1} W^{l} + \sigma_b\, b^{l},\qquad
    h^{l} = \phi(z^{l})\quad (l = 1,\dots,L),\qquad f(x) = z^{L+1} \in \mathbb{R},

where :math:`W^l` has shape ``(n_{l-1}, n_l)`` (``n_{L+1} = 1``; the orientation of stax,
``x @ W``) and :math:`b^l` shape ``(n_l,)``, every entry i.i.d. :math:`N(0, 1)`. Every layer,
the readout included, carries the bias (``b_std=None``: no bias parameters at all, as
``stax.Dense(b_std=None)``; ``b_std=0``: bias parameters that do not act). As
:math:`h\to\infty` the output covariance :math:`\mathbb{E} f(x)f(x')` tends to the NNGP
kernel and :math:`J(x)J(x')^\top` (:math:`J` the gradient of :math:`f` with respect to *all*
parameters, :math:`W^l` and :math:`b^l` of every layer) to the NTK of
``stax``'s ``kernel_fn``, whose input-layer covariance is :math:`x\cdot x'/d`.

:mod:`jamming.simulate.features` has a network of its own (:class:`~jamming.simulate.features.
NetworkSpec`) for the Jacobian-rank sweeps of S1: its readout has no bias, its hidden biases
are optional with :math:`\sigma_b > 0`, and its weights are stored transposed. Those
sweeps depend on its parameter count and column order, so this module defines the stax model
separately instead of changing it; the inputs and random features of
:mod:`~jamming.simulate.features` are reused (:func:`kernel_gram_spectrum`,
:func:`random_feature_gram_spectrum`).

Activations (``ACTIVATIONS``): ``relu`` (``stax.Relu``), ``erf`` (``stax.Erf()``,
:math:`\operatorname{erf}(z)`), ``tanh``, ``identity``, ``abs`` (``stax.Abs``), ``sin``
(``stax.Sin()``, :math:`\sin z`) and ``gelu`` (``stax.Gelu(approximate=False)``,
:math:`z\Phi(z)`).

Parameters
----------
A *parameter set* is a ``dict`` of float64 torch tensors with keys ``W1, b1, ..., W{L+1},
b{L+1}`` (no ``b*`` when ``b_std is None``) in this order, each with a leading axis over
``n_networks`` independent networks: ``W1`` has shape ``(n_networks, d, h)``
(:meth:`DenseNetwork.parameter_shapes` lists the per-network shapes). Columns of a Jacobian
follow this order, each tensor flattened row-major, as ``jax.flatten_util.ravel_pytree``
flattens stax's ``[(W1, b1), (), ...]``. :func:`init_networks` draws network ``s`` of seed
``seed`` from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(s,)))``, so a network
is the same whatever ``n_networks`` and whatever the device.

Kernels of finite networks
--------------------------
:func:`empirical_ntk` computes :math:`\Theta(x, x') = J(x)J(x')^\top` for every network of a
parameter set, by one of two exact methods:

- ``"jacobian"``: the per-sample gradients :math:`J` by ``vmap`` over the networks of
  ``vmap`` over the inputs of ``torch.func.grad`` (chunked over both), then
  :math:`JJ'^\top`. :math:`O(nP)` memory and :math:`O(n n' P)` time for :math:`P`
  parameters.
- ``"structured"`` (default): since every layer is dense,
  :math:`\partial f/\partial W^l_{jk} = (\sigma_w/\sqrt{n_{l-1}})\, h^{l-1}_j\,\delta^l_k` and
  :math:`\partial f/\partial b^l_k = \sigma_b\,\delta^l_k` with
  :math:`\delta^l = \partial f/\partial z^l` (:math:`\delta^{L+1} = 1`), so

  .. math::

      \Theta(x, x') = \sum_{l=1}^{L+1}\Big(\frac{\sigma_w^2}{n_{l-1}}\, h^{l-1}(x)\cdot
      h^{l-1}(x') + \sigma_b^2\Big)\, \delta^{l}(x)\cdot\delta^{l}(x').

  The :math:`\delta^l` of all inputs and networks come from one ``torch.func.vjp`` of the
  batched forward pass with respect to zero offsets added to every :math:`z^l` (cotangent
  ones: each output depends on its own input only, so the vector-Jacobian product returns
  the per-sample gradients). Cost: one forward and one backward pass and :math:`2(L+1)`
  Gram matrices of width-:math:`h` vectors, :math:`O(n n' L h)` instead of
  :math:`O(n n' L h^2)`; on the CPU the symmetric Grams (``inputs2=None``) use BLAS
  ``dsyrk`` (half the products of a general matrix product).

Both agree with a per-sample ``torch.autograd`` loop (:func:`empirical_ntk_loop`) to
rounding. The NNGP of a finite network is estimated as the output covariance over networks
(:func:`monte_carlo_kernels`), with elementwise standard errors and the relative Frobenius
error :func:`relative_frobenius_error` (jackknife standard error).

Training, kernel drift and laziness
-----------------------------------
:func:`train_kernel_drift` trains the networks by full-batch gradient descent on the square
loss and records :math:`\|\Theta_t - \Theta_0\|_F/\|\Theta_0\|_F` and the outputs.
:func:`lazy_training_ratio` computes the lazy-training criterion of Chizat, Oyallon & Bach
(seed 002), :math:`\kappa = \|y(w_0) - \tilde y\|\,\|\nabla^2 y\|/\|\nabla y\|^2`, with the
Hessian norm from power iteration on Hessian-vector products (:func:`output_hessian_norm`).

torch is imported inside the functions, so that importing this module stays light.

References
----------
A. Jacot, F. Gabriel, C. Hongler, NeurIPS (2018). R. Novak *et al.*, "Neural Tangents: fast
and easy infinite neural networks in Python", ICLR (2020). R. Novak, J. Sohl-Dickstein,
S. Schoenholz, "Fast finite width neural tangent kernel", ICML (2022) (the structured
method). L. Chizat, E. Oyallon, F. Bach, "On lazy training in differentiable programming",
NeurIPS (2019). J. Lee *et al.*, "Wide neural networks of any depth evolve as linear models
under gradient descent", NeurIPS (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import NamedTuple

import numpy as np

from jamming.simulate.features import (
    _activation_torch,
    _check_inputs,
    _torch_device,
    random_features,
    sphere_inputs,
)
from jamming.validation import check_count as _check_count

#: Activations of :class:`DenseNetwork` (stax layer in the module docstring).
ACTIVATIONS = ("relu", "erf", "tanh", "identity", "abs", "sin", "gelu")

#: Methods of :func:`empirical_ntk`.
NTK_METHODS = ("structured", "jacobian")

#: Default bound on the float64 entries of the temporaries of one vectorised call
#: (2**24: 128 MB), used to choose chunk sizes.
CHUNK_ENTRIES = 2**24


def _torch():
    import torch

    return torch


def _check_real(name: str, value, *, minimum: float = 0.0, strict: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or (
            value <= minimum if strict else value < minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {relation} {minimum:g}; got "
                         f"{value!r}")
    return float(value)


def _check_seed(seed) -> int:
    return _check_count("seed", seed, minimum=0)


@dataclass(frozen=True)
class DenseNetwork:
    r"""``stax.serial(*[Dense(h, W_std, b_std), act] * depth, Dense(1, W_std, b_std))``.

    See the module docstring for the forward pass.

    Attributes
    ----------
    input_dim : int
        :math:`d \ge 1`.
    width : int
        :math:`h \ge 1`, the width of every hidden layer.
    depth : int
        :math:`L \ge 0`, the number of hidden layers (``0``: the linear model
        :math:`\sigma_w x\cdot W/\sqrt d + \sigma_b b`).
    activation : {"relu", "erf", "tanh", "identity", "abs", "sin", "gelu"}
    w_std : float
        :math:`\sigma_w > 0` (``W_std`` of every ``Dense``).
    b_std : float or None
        :math:`\sigma_b \ge 0` (``b_std`` of every ``Dense``), or ``None`` for no biases.
    """

    input_dim: int
    width: int
    depth: int = 1
    activation: str = "relu"
    w_std: float = 1.0
    b_std: float | None = None

    def __post_init__(self):
        _check_count("input_dim", self.input_dim)
        _check_count("width", self.width)
        _check_count("depth", self.depth, minimum=0)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got "
                             f"{self.activation!r}")
        _check_real("w_std", self.w_std)
        if self.b_std is not None:
            _check_real("b_std", self.b_std, strict=False)

    @property
    def bias(self) -> bool:
        """Whether the layers have bias parameters (``b_std is not None``)."""
        return self.b_std is not None

    def fan_ins(self) -> list[int]:
        """:math:`[n_0, \\dots, n_L]`: the fan-in of each of the :math:`L+1` dense layers."""
        return [self.input_dim] + [self.width] * self.depth

    def parameter_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``[(name, shape), ...]`` of one network, in the order of the Jacobian's columns.

        ``W1`` (d, h), ``b1`` (h,), ..., ``W{L+1}`` (h, 1), ``b{L+1}`` (1,).
        """
        shapes = []
        fan_outs = [self.width] * self.depth + [1]
        for layer, (fan_in, fan_out) in enumerate(zip(self.fan_ins(), fan_outs, strict=True),
                                                  start=1):
            shapes.append((f"W{layer}", (fan_in, fan_out)))
            if self.bias:
                shapes.append((f"b{layer}", (fan_out,)))
        return shapes

    @property
    def n_parameters(self) -> int:
        r""":math:`P = (d + 1 + (L - 1)h)h + 1 + [\text{bias}](Lh + 1)` for :math:`L \ge 1`."""
        return sum(math.prod(shape) for _, shape in self.parameter_shapes())


def _check_network(network) -> DenseNetwork:
    if not isinstance(network, DenseNetwork):
        raise TypeError(f"network must be a DenseNetwork; got {type(network).__name__}")
    return network


def init_networks(network: DenseNetwork, seed: int, n_networks: int = 1, *, first: int = 0,
                  device="cpu") -> dict:
    r"""Independent initial parameter sets, every entry i.i.d. :math:`N(0, 1)`, float64.

    Network ``s`` (for ``s`` in ``first, ..., first + n_networks - 1``) draws its tensors in
    the order of :meth:`DenseNetwork.parameter_shapes` from
    ``numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(s,)))`` (the
    ``s``-th child of ``SeedSequence(seed).spawn``): the same network whatever
    ``n_networks``, chunking or device.

    Parameters
    ----------
    network : DenseNetwork
    seed : int
        :math:`\ge 0`.
    n_networks : int
        :math:`\ge 1`.
    first : int
        Index :math:`\ge 0` of the first network.
    device : {"cpu", "cuda", "auto"} or torch.device

    Returns
    -------
    dict of str to torch.Tensor
        Each of shape ``(n_networks, *shape)``, keys in Jacobian-column order.
    """
    network = _check_network(network)
    seed = _check_seed(seed)
    n_networks = _check_count("n_networks", n_networks)
    first = _check_count("first", first, minimum=0)
    torch = _torch()
    target = _torch_device(device)
    shapes = network.parameter_shapes()
    arrays = {name: np.empty((n_networks, *shape)) for name, shape in shapes}
    for index in range(n_networks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(first + index,)))
        for name, shape in shapes:
            arrays[name][index] = rng.standard_normal(shape)
    return {name: torch.as_tensor(array, dtype=torch.float64, device=target)
            for name, array in arrays.items()}


def _forward(network: DenseNetwork, params: dict, inputs, offsets=None, hidden_out=None):
    """Outputs for stacked ``(S, ...)`` or single-network parameters (broadcasting matmul).

    ``offsets``: tensors added to each pre-activation :math:`z^l` (for the structured NTK);
    ``hidden_out``: a list that receives :math:`h^0, \\dots, h^L`.
    """
    hidden = inputs
    for layer, fan_in in enumerate(network.fan_ins(), start=1):
        if hidden_out is not None:
            hidden_out.append(hidden)
        z = (network.w_std / math.sqrt(fan_in)) * (hidden @ params[f"W{layer}"])
        if network.bias:
            b = params[f"b{layer}"]
            z = z + network.b_std * b.reshape(b.shape[:-1] + (1,) * (z.ndim - b.ndim)
                                               + b.shape[-1:])
        if offsets is not None and layer <= len(offsets):
            z = z + offsets[layer - 1]
        hidden = _activation_torch(z, network.activation) if layer <= network.depth else z
    return hidden[..., 0]


def _prepare_params(network: DenseNetwork, params, device):
    torch = _torch()
    network = _check_network(network)
    names = [name for name, _ in network.parameter_shapes()]
    if not isinstance(params, dict) or list(params) != names:
        got = list(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {names} in this order; got {got}")
    n_networks = None
    for name, shape in network.parameter_shapes():
        value = params[name]
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"params[{name!r}] must be a torch.Tensor; got "
                            f"{type(value).__name__}")
        if value.ndim != len(shape) + 1 or tuple(value.shape[1:]) != shape or (
                n_networks is not None and value.shape[0] != n_networks) or value.shape[0] < 1:
            raise ValueError(f"params[{name!r}] must have shape (n_networks, "
                             f"{', '.join(map(str, shape))}) with the same n_networks >= 1 "
                             f"for every tensor; got {tuple(value.shape)}")
        n_networks = value.shape[0]
    target = _torch_device(device) if device is not None else params[names[0]].device
    return {name: value.detach().to(device=target, dtype=torch.float64)
            for name, value in params.items()}, target


def _prepare_inputs(network: DenseNetwork, inputs, target, name: str = "inputs"):
    torch = _torch()
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim != 2 or inputs.shape[1] != network.input_dim or inputs.shape[0] < 1:
            raise ValueError(f"{name} must have shape (n_data, {network.input_dim}) with "
                             f"n_data >= 1; got {tuple(inputs.shape)}")
        inputs = inputs.detach().to(device=target, dtype=torch.float64)
        if not bool(torch.isfinite(inputs).all()):
            raise ValueError(f"{name} must be finite")
        return inputs
    try:
        array = _check_inputs(inputs, network.input_dim)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return torch.as_tensor(array, device=target)


def _output(tensor, to_numpy: bool):
    return tensor.cpu().numpy() if to_numpy else tensor


def forward(network: DenseNetwork, params: dict, inputs):
    r"""The outputs as a differentiable torch function of the parameters and inputs.

    No checks and no copies (for autograd and ``torch.func``; :func:`network_outputs` is the
    checked, detached version).

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Stacked ``(n_networks, *shape)`` tensors, or one network's ``shape`` tensors.
    inputs : torch.Tensor, shape (n_data, d) or (d,)
        Float64, on the parameters' device.

    Returns
    -------
    torch.Tensor, shape (n_networks, n_data) (stacked) or (n_data,) (one network), or
    fewer axes for one input of shape (d,)
    """
    return _forward(network, params, inputs)


def network_outputs(network: DenseNetwork, params: dict, inputs, *, device=None,
                    to_numpy: bool = True):
    r"""Outputs :math:`f_s(x_\mu)` of every network on every input.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        A parameter set with ``n_networks`` networks (:func:`init_networks`).
    inputs : array_like or torch.Tensor, shape (n_data, d)
    device : None, {"cpu", "cuda", "auto"} or torch.device
        Where to compute; ``None``: the device of ``params``.
    to_numpy : bool
        A numpy array on the CPU (default) or a torch tensor on ``device``.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data), float64
    """
    torch = _torch()
    params, target = _prepare_params(network, params, device)
    inputs = _prepare_inputs(network, inputs, target)
    with torch.no_grad():
        return _output(_forward(network, params, inputs), to_numpy)


# --------------------------------------------------------------------------------------
# Empirical NTK
# --------------------------------------------------------------------------------------


def _syrk_upper(matrix):
    """Upper triangle of ``matrix @ matrix.T`` for a float64 CPU tensor (S, n, k), lower 0.

    BLAS ``dsyrk`` on each network's (n, k) block (half the multiplications of ``mm``).
    """
    torch = _torch()
    from scipy.linalg.blas import dsyrk

    blocks = []
    for block in matrix:
        array = block.contiguous().numpy()
        # array.T is Fortran-contiguous (k, n): no copy; trans=1 gives array @ array.T.
        blocks.append(torch.from_numpy(dsyrk(1.0, array.T, trans=1)))
    return torch.stack(blocks)


def _structured_pieces(network: DenseNetwork, params: dict, inputs):
    """Hidden activations h^0..h^L (h^0 shared) and backward signals delta^1..delta^L."""
    torch = _torch()
    from torch.func import vjp

    n_networks, n_data = params["W1"].shape[0], inputs.shape[0]
    hidden: list = []
    if network.depth == 0:
        _forward(network, params, inputs, hidden_out=hidden)
        return hidden, []
    offsets = tuple(torch.zeros((n_networks, n_data, network.width), dtype=torch.float64,
                                device=inputs.device) for _ in range(network.depth))

    def forward(*offset):
        hidden = []
        outputs = _forward(network, params, inputs, offsets=offset, hidden_out=hidden)
        return outputs, hidden

    outputs, pullback, hidden = vjp(forward, *offsets, has_aux=True)
    deltas = list(pullback(torch.ones_like(outputs)))
    return hidden, deltas


def _structured_ntk(network: DenseNetwork, params: dict, inputs, inputs2):
    torch = _torch()
    b2 = network.b_std ** 2 if network.bias else 0.0
    symmetric = inputs2 is None
    hidden1, deltas1 = _structured_pieces(network, params, inputs)
    if symmetric:
        hidden2, deltas2 = hidden1, deltas1
    else:
        hidden2, deltas2 = _structured_pieces(network, params, inputs2)
    upper = symmetric and inputs.device.type == "cpu"

    def gram(a, b):
        # With ``upper``, only the upper triangle (lower part zero) until the end.
        return _syrk_upper(a) if upper else a @ b.transpose(-1, -2)

    fan_ins = network.fan_ins()
    # Layer 1: h^0 = x shared by all networks.
    kernel_inputs = (network.w_std ** 2 / fan_ins[0]) * (hidden1[0] @ hidden2[0].T) + b2
    if network.depth == 0:
        return kernel_inputs.expand(params["W1"].shape[0], -1, -1).clone()
    total = gram(deltas1[0], deltas2[0])
    total.mul_(kernel_inputs)
    for layer in range(2, network.depth + 1):
        term = gram(hidden1[layer - 1], hidden2[layer - 1])
        term.mul_(network.w_std ** 2 / fan_ins[layer - 1]).add_(b2)
        term.mul_(gram(deltas1[layer - 1], deltas2[layer - 1]))  # zero lower part if upper
        total.add_(term)
    # Readout: delta^{L+1} = 1.
    total.add_(gram(hidden1[-1], hidden2[-1]), alpha=network.w_std ** 2 / fan_ins[-1])
    if upper:
        total.add_(torch.tril(total.transpose(-1, -2), -1))
    if b2:
        total.add_(b2)
    return total


def _jacobian_rows(network: DenseNetwork, params: dict, inputs, input_chunk: int):
    """Per-sample gradients (S, n, P): vmap over networks of vmap over inputs of grad."""
    torch = _torch()
    from torch.func import grad, vmap

    names = list(params)
    values = tuple(params.values())

    def single(*args):
        return _forward(network, dict(zip(names, args[:-1], strict=True)), args[-1])

    count = len(values)
    per_sample = vmap(grad(single, argnums=tuple(range(count))),
                      in_dims=(None,) * count + (0,))
    per_network = vmap(per_sample, in_dims=(0,) * count + (None,))
    n_networks, n_data = values[0].shape[0], inputs.shape[0]
    rows = torch.empty((n_networks, n_data, network.n_parameters), dtype=torch.float64,
                       device=inputs.device)
    for start in range(0, n_data, input_chunk):
        stop = min(n_data, start + input_chunk)
        parts = per_network(*values, inputs[start:stop])
        torch.cat([part.reshape(n_networks, stop - start, -1) for part in parts], dim=2,
                  out=rows[:, start:stop])
    return rows


def empirical_ntk(network: DenseNetwork, params: dict, inputs, inputs2=None, *,
                  method: str = "structured", device=None, network_chunk: int | None = None,
                  input_chunk: int | None = None, to_numpy: bool = True):
    r"""Empirical NTK :math:`\Theta_s(x_\mu, x'_\nu) = J_s(x_\mu)\cdot J_s(x'_\nu)` of networks.

    :math:`J_s(x)` is the gradient of network ``s``'s output with respect to all its
    parameters. Both methods (module docstring) are exact and agree to rounding.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        A parameter set with ``n_networks`` networks (:func:`init_networks`); not modified.
    inputs : array_like or torch.Tensor, shape (n_data, d)
    inputs2 : array_like or torch.Tensor, shape (n_data2, d), or None
        Second argument :math:`x'`; ``None``: ``inputs`` (the symmetric Gram matrix).
    method : {"structured", "jacobian"}
    device : None, {"cpu", "cuda", "auto"} or torch.device
        Where to compute; ``None``: the device of ``params``.
    network_chunk : int or None
        Networks per vectorised call. ``None``: as many as keep the temporaries below
        ``CHUNK_ENTRIES`` float64 entries (``"structured"``: about :math:`3(L+1)nh` per
        network; ``"jacobian"``: :math:`(n+n')P`), at least one.
    input_chunk : int or None
        ``"jacobian"`` only: inputs per ``vmap`` call. ``None``: ``CHUNK_ENTRIES //
        (network_chunk * P)``, at least one.
    to_numpy : bool
        A numpy array on the CPU (default) or a torch tensor on ``device``.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data, n_data2), float64
    """
    torch = _torch()
    if method not in NTK_METHODS:
        raise ValueError(f"method must be one of {', '.join(NTK_METHODS)}; got {method!r}")
    if network_chunk is not None:
        network_chunk = _check_count("network_chunk", network_chunk)
    if input_chunk is not None:
        input_chunk = _check_count("input_chunk", input_chunk)
    params, target = _prepare_params(network, params, device)
    inputs = _prepare_inputs(network, inputs, target)
    if inputs2 is not None:
        inputs2 = _prepare_inputs(network, inputs2, target, "inputs2")
    n_networks = params["W1"].shape[0]
    n1 = inputs.shape[0]
    n2 = n1 if inputs2 is None else inputs2.shape[0]
    if method == "structured":
        per_network = 3 * (network.depth + 1) * (n1 + n2) * network.width + n1 * n2
    else:
        per_network = (n1 + n2) * network.n_parameters + n1 * n2
    network_chunk = network_chunk or max(1, CHUNK_ENTRIES // per_network)
    kernel = torch.empty((n_networks, n1, n2), dtype=torch.float64, device=target)
    for start in range(0, n_networks, network_chunk):
        stop = min(n_networks, start + network_chunk)
        chunk = {name: value[start:stop] for name, value in params.items()}
        if method == "structured":
            kernel[start:stop] = _structured_ntk(network, chunk, inputs, inputs2)
            continue
        size = input_chunk or max(1, CHUNK_ENTRIES // ((stop - start) * network.n_parameters))
        rows1 = _jacobian_rows(network, chunk, inputs, size)
        if inputs2 is None:
            kernel[start:stop] = (_syrk_upper(rows1) if target.type == "cpu"
                                  else rows1 @ rows1.transpose(1, 2))
            if target.type == "cpu":
                block = kernel[start:stop]
                block.add_(torch.tril(block.transpose(1, 2), -1))
        else:
            rows2 = _jacobian_rows(network, chunk, inputs2, size)
            kernel[start:stop] = rows1 @ rows2.transpose(1, 2)
    return _output(kernel, to_numpy)


def empirical_ntk_loop(network: DenseNetwork, params: dict, inputs, inputs2=None, *,
                       device=None, to_numpy: bool = True):
    r"""The same kernel as :func:`empirical_ntk`, by a loop of per-sample autograd Jacobians.

    For each network and each input, one forward pass and one ``torch.autograd.grad`` call
    give a row of :math:`J`; then :math:`\Theta = J J'^\top` (``torch.mm``). The slow textbook
    reference: an independent implementation for the tests and the benchmark's anchor.
    Arguments and return value as in :func:`empirical_ntk`.
    """
    torch = _torch()
    params, target = _prepare_params(network, params, device)
    inputs = _prepare_inputs(network, inputs, target)
    if inputs2 is not None:
        inputs2 = _prepare_inputs(network, inputs2, target, "inputs2")
    kernels = []
    for index in range(params["W1"].shape[0]):
        leaves = [value[index].clone().requires_grad_(True) for value in params.values()]
        single = dict(zip(params, leaves, strict=True))

        def jacobian(points, single=single, leaves=leaves):
            rows = []
            for x in points:
                output = _forward(network, single, x[None, :])[0]
                rows.append(torch.cat([g.reshape(-1)
                                       for g in torch.autograd.grad(output, leaves)]))
            return torch.stack(rows)

        rows1 = jacobian(inputs)
        rows2 = rows1 if inputs2 is None else jacobian(inputs2)
        kernels.append(rows1 @ rows2.T)
    return _output(torch.stack(kernels), to_numpy)


# --------------------------------------------------------------------------------------
# Monte Carlo kernels
# --------------------------------------------------------------------------------------


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

    Networks ``0, ..., n_networks - 1`` of :func:`init_networks` with ``seed`` are drawn
    ``network_chunk`` at a time; for each, :math:`f_s(x)f_s(x')` and the structured
    :func:`empirical_ntk`. As :math:`h\to\infty` the means tend to the NNGP and NTK of
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
        Networks per call; ``None``: bounded by ``CHUNK_ENTRIES`` as in :func:`empirical_ntk`
        and by :math:`8\times 10^6/P` (the parameters of a chunk).
    keep_samples : bool
        Keep the per-network matrices (:math:`2Sn^2` floats) in the result.

    Returns
    -------
    KernelEstimate
    """
    torch = _torch()
    network = _check_network(network)
    n_networks = _check_count("n_networks", n_networks, minimum=2)
    seed = _check_seed(seed)
    if network_chunk is not None:
        network_chunk = _check_count("network_chunk", network_chunk)
    target = _torch_device(device)
    inputs = _prepare_inputs(network, inputs, target)
    n_data = inputs.shape[0]
    if network_chunk is None:
        per_network = 3 * (network.depth + 1) * 2 * n_data * network.width + 3 * n_data ** 2
        network_chunk = max(1, min(CHUNK_ENTRIES // per_network,
                                   8_000_000 // network.n_parameters))
    nngp_moments, ntk_moments = _Moments(), _Moments()
    outputs, nngp_samples, ntk_samples = [], [], []
    for start in range(0, n_networks, network_chunk):
        count = min(network_chunk, n_networks - start)
        params = init_networks(network, seed, count, first=start, device=target)
        with torch.no_grad():
            values = _forward(network, params, inputs).cpu().numpy()
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


# --------------------------------------------------------------------------------------
# Training and kernel drift
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftRun:
    r"""Gradient-descent training of networks, recorded at given steps.

    Attributes
    ----------
    steps : numpy.ndarray of int, shape (n_times,)
        The recorded steps :math:`t` (``record_at``).
    drift : numpy.ndarray, shape (n_networks, n_times)
        :math:`\|\Theta_t - \Theta_0\|_F/\|\Theta_0\|_F` on the kernel inputs.
    train_outputs : numpy.ndarray, shape (n_networks, n_times, n_train)
    test_outputs : numpy.ndarray, shape (n_networks, n_times, n_test), or None
    loss : numpy.ndarray, shape (n_networks, n_times)
        :math:`\frac12\sum_\mu (f_t(x_\mu) - y_\mu)^2`.
    parameter_distance : numpy.ndarray, shape (n_networks, n_times)
        :math:`\|\theta_t - \theta_0\|_2` over all parameters.
    kernel0 : numpy.ndarray, shape (n_networks, n_kernel, n_kernel)
        :math:`\Theta_0` (for the linearised flow).
    kernels : numpy.ndarray, shape (n_networks, n_times, n_kernel, n_kernel), or None
        :math:`\Theta_t` (``keep_kernels=True``).
    """

    steps: np.ndarray
    drift: np.ndarray
    train_outputs: np.ndarray
    test_outputs: np.ndarray | None
    loss: np.ndarray
    parameter_distance: np.ndarray
    kernel0: np.ndarray
    kernels: np.ndarray | None = None


def _check_record_at(record_at) -> np.ndarray:
    values = np.asarray(record_at)
    if values.ndim != 1 or values.size < 1 or not np.issubdtype(values.dtype, np.integer) or (
            values.min() < 0) or np.any(np.diff(values) <= 0):
        raise ValueError(f"record_at must be a non-empty increasing sequence of integers >= 0; "
                         f"got {record_at!r}")
    return values.astype(np.int64)


def train_kernel_drift(network: DenseNetwork, params: dict, train_inputs, train_targets, *,
                       learning_rate: float, record_at, test_inputs=None,
                       kernel_inputs=None, device=None,
                       keep_kernels: bool = False) -> DriftRun:
    r"""Train by full-batch gradient descent on the square loss and record the kernel drift.

    Every network of the parameter set is trained independently (one batched computation)
    on :math:`\mathcal{L}(\theta) = \frac12\sum_{\mu=1}^{n}(f(x_\mu;\theta) - y_\mu)^2` by
    :math:`\theta_{t+1} = \theta_t - \eta\nabla\mathcal{L}(\theta_t)` (plain steps on the
    NTK-parametrised :math:`W^l, b^l`, whose entries are :math:`O(1)`). To first order in
    :math:`\eta`, :math:`f_{t+1} - f_t = J_t(\theta_{t+1} - \theta_t) =
    -\eta\,\Theta_t(f_t - y)`: the steps are Euler steps of unit time of
    :math:`\dot f = -\eta\,\Theta(f - y)`, so with a frozen kernel (the linearised model)
    :math:`f_t = y + (1 - \eta\Theta_0)^t(f_0 - y) \approx y + e^{-\eta\Theta_0 t}(f_0 - y)`
    with :math:`t` the step count, and on test points
    :math:`f_t(x) = f_0(x) - \Theta_0(x, X)\Theta_0^{-1}(1 - e^{-\eta\Theta_0 t})(f_0 - y)`.
    Since :math:`\Theta(x_\mu, x_\nu) = O(1)`, :math:`\lambda_\max(\Theta_0) = O(n)` and the
    steps are stable only for :math:`\eta < 2/\lambda_\max(\Theta_0)`; take
    :math:`\eta\lambda_\max \ll 1` to compare with the exponential.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Initial parameter set (:func:`init_networks`); not modified.
    train_inputs : array_like or torch.Tensor, shape (n_train, d)
    train_targets : array_like, shape (n_train,) or (n_networks, n_train)
        :math:`y`, shared by the networks or one row each.
    learning_rate : float
        :math:`\eta > 0`.
    record_at : sequence of int
        Increasing steps :math:`\ge 0` at which to record; training stops at the last one.
    test_inputs : array_like or torch.Tensor, shape (n_test, d), or None
    kernel_inputs : array_like or torch.Tensor, shape (n_kernel, d), or None
        Inputs of the kernel whose drift is measured; ``None``: ``train_inputs``.
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.
    keep_kernels : bool
        Keep :math:`\Theta_t` at every recorded step.

    Returns
    -------
    DriftRun
    """
    torch = _torch()
    params, target = _prepare_params(network, params, device)
    train_inputs = _prepare_inputs(network, train_inputs, target, "train_inputs")
    if test_inputs is not None:
        test_inputs = _prepare_inputs(network, test_inputs, target, "test_inputs")
    kernel_inputs = (train_inputs if kernel_inputs is None
                     else _prepare_inputs(network, kernel_inputs, target, "kernel_inputs"))
    learning_rate = _check_real("learning_rate", learning_rate)
    steps = _check_record_at(record_at)
    n_networks, n_train = params["W1"].shape[0], train_inputs.shape[0]
    targets = np.asarray(train_targets, dtype=np.float64)
    if targets.shape not in ((n_train,), (n_networks, n_train)) or not np.all(
            np.isfinite(targets)):
        raise ValueError(f"train_targets must be finite with shape ({n_train},) or "
                         f"({n_networks}, {n_train}); got shape {targets.shape}")
    targets = torch.as_tensor(np.broadcast_to(targets, (n_networks, n_train)).copy(),
                              device=target)

    initial = {name: value.clone() for name, value in params.items()}
    leaves = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    kernel0 = empirical_ntk(network, params, kernel_inputs, to_numpy=False)
    kernel0_norm = torch.linalg.matrix_norm(kernel0)
    records = {key: [] for key in ("drift", "train", "test", "loss", "distance", "kernels")}

    def record():
        with torch.no_grad():
            current = {name: value.detach() for name, value in leaves.items()}
            kernel = empirical_ntk(network, current, kernel_inputs, to_numpy=False)
            records["drift"].append(torch.linalg.matrix_norm(kernel - kernel0) / kernel0_norm)
            outputs = _forward(network, current, train_inputs)
            records["train"].append(outputs)
            records["loss"].append(0.5 * ((outputs - targets) ** 2).sum(dim=1))
            if test_inputs is not None:
                records["test"].append(_forward(network, current, test_inputs))
            records["distance"].append(torch.sqrt(sum(
                ((current[name] - initial[name]) ** 2).reshape(n_networks, -1).sum(dim=1)
                for name in current)))
            if keep_kernels:
                records["kernels"].append(kernel)

    step, position = 0, 0
    values = list(leaves.values())
    while True:
        if step == steps[position]:
            record()
            position += 1
            if position == len(steps):
                break
        outputs = _forward(network, leaves, train_inputs)
        loss = 0.5 * ((outputs - targets) ** 2).sum()
        gradients = torch.autograd.grad(loss, values)
        with torch.no_grad():
            for value, gradient in zip(values, gradients, strict=True):
                value.sub_(gradient, alpha=learning_rate)
        step += 1

    def stack(key, axis=1):
        return torch.stack(records[key], dim=axis).cpu().numpy()

    return DriftRun(steps=steps, drift=stack("drift"), train_outputs=stack("train"),
                    test_outputs=stack("test") if test_inputs is not None else None,
                    loss=stack("loss"), parameter_distance=stack("distance"),
                    kernel0=kernel0.cpu().numpy(),
                    kernels=stack("kernels") if keep_kernels else None)


# --------------------------------------------------------------------------------------
# Hessian of the outputs and the lazy-training ratio
# --------------------------------------------------------------------------------------


class HessianNorm(NamedTuple):
    r"""Result of :func:`output_hessian_norm` (arrays over the networks).

    Attributes
    ----------
    norm : numpy.ndarray, shape (n_networks,)
        :math:`\|T[u,v]\|_2` at the final unit vectors :math:`u, v`: a lower bound on
        :math:`\|\nabla^2 y\|`, equal to it at the global maximum (largest over the
        starts).
    iterations : int
        Iterations run (the last start).
    converged : numpy.ndarray of bool, shape (n_networks,)
        Relative change of ``norm`` below ``tol`` at the end.
    output_direction : numpy.ndarray, shape (n_networks, n_data)
        The unit vector :math:`c` attaining it.
    """

    norm: np.ndarray
    iterations: int
    converged: np.ndarray
    output_direction: np.ndarray


def _per_network_norm(vector: dict):
    torch = _torch()
    return torch.sqrt(sum((value.reshape(value.shape[0], -1) ** 2).sum(dim=1)
                          for value in vector.values()))


def _scale(vector: dict, factor):
    return {name: value * factor.reshape((-1,) + (1,) * (value.ndim - 1))
            for name, value in vector.items()}


def output_hessian_norm(network: DenseNetwork, params: dict, inputs, *, seed: int = 0,
                        max_iterations: int = 500, tol: float = 1e-10, n_starts: int = 3,
                        device=None) -> HessianNorm:
    r"""Operator norm of the Hessian of the output vector, by power iteration on HVPs.

    The Hessian is that of the *outputs on the training set*, :math:`y(w) = (f(x_\mu; w))_
    {\mu=1}^n`, as a symmetric bilinear map :math:`T = \nabla^2 y(w_0):
    \mathbb{R}^P\times\mathbb{R}^P\to\mathbb{R}^n`, :math:`T[u,v] = \sum_{ab}u_a v_b\,
    \partial_a\partial_b y`, with the operator norm

    .. math::

        \|\nabla^2 y\| = \sup_{\|u\|=\|v\|=1}\|T[u,v]\|_2
        = \max_{\|c\|=1}\Big\|\sum_\mu c_\mu \nabla^2 f(x_\mu)\Big\|_2
        = \max_{\|c\|=\|u\|=1} c\cdot T[u,u].

    This is the quantity of Chizat, Oyallon & Bach's criterion (and seed 002): it is the
    Lipschitz constant of the Jacobian near :math:`w_0`,
    :math:`\|\nabla y(w) - \nabla y(w_0)\|_\mathrm{op} \lesssim \|\nabla^2 y\|\,\|w - w_0\|`,
    i.e. how fast the tangent kernel moves. The Hessian of the *loss*,
    :math:`J^\top J + \sum_\mu (f_\mu - y_\mu)\nabla^2 f_\mu`, is not used: its Gauss–Newton
    part :math:`J^\top J` has norm :math:`\|\nabla y\|^2` whatever the curvature of the model,
    and its second part is this Hessian contracted with the particular residual.

    Algorithm: block-coordinate ascent of :math:`c\cdot T[u,v] = u^\top H(c)\,v` over unit
    :math:`u, v, c` (a higher-order power method), with
    :math:`H(c) = \sum_\mu c_\mu\nabla^2 f(x_\mu)`: :math:`v \leftarrow H(c)u/\|H(c)u\|`,
    :math:`u \leftarrow H(c)v/\|H(c)v\|`, :math:`c \leftarrow T[u,v]/\|T[u,v]\|`. Each step
    is the exact maximiser over its block, so the value :math:`\|T[u,v]\|` never decreases
    and never exceeds :math:`\|\nabla^2 y\|`; a fixed point is a stationary point of the
    problem. The two-sided updates (singular vectors, not eigenvectors) converge also when
    :math:`H(c)` has eigenvalues :math:`\pm\lambda` of equal modulus, as for ReLU networks
    (whose Hessians only couple different layers). Hessian-vector products are
    reverse-over-reverse, ``torch.func.vjp(torch.func.grad(c·y))``, and
    :math:`T[u,v] = \nabla_c\,(u\cdot H(c)v)` is one more ``torch.func.grad`` through the
    second one (:math:`H(c)` is linear in :math:`c`). Forward-over-reverse (``jvp`` of
    ``grad``) gives the same numbers but was 1.5 to 5 times slower here (torch 2.13, CPU: its
    decompositions run in Python). Maximising the convex function :math:`c\mapsto\|H(c)\|`
    over the sphere is non-convex: the ascent can stop at a local maximum, so several random
    starts (``n_starts``) keep the largest value, which is a certified lower bound (the
    norm of :math:`T` at explicit unit vectors). All networks of the parameter set are
    iterated together (their Hessians are independent blocks). An iteration costs about
    five passes through the network.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        A parameter set (:func:`init_networks`).
    inputs : array_like or torch.Tensor, shape (n_data, d)
    seed : int
        Seed of the random starting vectors (``numpy.random.default_rng``).
    max_iterations : int
        :math:`\ge 1` per start.
    tol : float
        Relative change of the value between iterations that stops the iteration (every
        network), :math:`> 0`.
    n_starts : int
        :math:`\ge 1`.
    device : None, {"cpu", "cuda", "auto"} or torch.device

    Returns
    -------
    HessianNorm
    """
    torch = _torch()
    from torch.func import grad, vjp

    params, target = _prepare_params(network, params, device)
    inputs = _prepare_inputs(network, inputs, target)
    seed = _check_seed(seed)
    max_iterations = _check_count("max_iterations", max_iterations)
    n_starts = _check_count("n_starts", n_starts)
    tol = _check_real("tol", tol)
    n_networks, n_data = params["W1"].shape[0], inputs.shape[0]
    rng = np.random.default_rng(seed)

    def outputs(p):
        return _forward(network, p, inputs)

    def hessian_pullback(c):
        return vjp(grad(lambda p: (outputs(p) * c).sum()), params)[1]

    def unit(vector):
        size = _per_network_norm(vector)
        return _scale(vector, 1.0 / torch.where(size > 0, size, 1.0))

    def u_step(c, v):
        """H(c)v and T[u, v] with u = H(c)v/||H(c)v|| (one reverse pass more)."""
        def objective(c):
            product = hessian_pullback(c)(v)[0]
            direction = unit({name: value.detach() for name, value in product.items()})
            return sum((product[name] * direction[name]).sum() for name in product), product

        return grad(objective, has_aux=True)(c)

    def random_unit():
        return unit({name: torch.as_tensor(rng.standard_normal(tuple(value.shape)),
                                           device=target) for name, value in params.items()})

    best_norm = torch.full((n_networks,), -1.0, dtype=torch.float64, device=target)
    best_c = torch.zeros((n_networks, n_data), dtype=torch.float64, device=target)
    best_converged = torch.zeros(n_networks, dtype=torch.bool, device=target)
    for _ in range(n_starts):
        u = random_unit()
        c = torch.as_tensor(rng.standard_normal((n_networks, n_data)), device=target)
        c = c / torch.linalg.vector_norm(c, dim=1, keepdim=True)
        value = torch.zeros(n_networks, dtype=torch.float64, device=target)
        converged = torch.zeros(n_networks, dtype=torch.bool, device=target)
        for iterations in range(1, max_iterations + 1):  # noqa: B007 (returned)
            v = unit(hessian_pullback(c)(u)[0])
            direction, product = u_step(c, v)
            u = unit(product)
            new_value = torch.linalg.vector_norm(direction, dim=1)
            c = torch.where(new_value[:, None] > 0, direction / torch.where(
                new_value > 0, new_value, 1.0)[:, None], c)
            converged = (new_value - value).abs() <= tol * new_value
            value = new_value
            if bool(converged.all()):
                break
        better = value > best_norm
        best_norm = torch.where(better, value, best_norm)
        best_c = torch.where(better[:, None], c, best_c)
        best_converged = torch.where(better, converged, best_converged)
    return HessianNorm(best_norm.cpu().numpy(), iterations, best_converged.cpu().numpy(),
                       best_c.cpu().numpy())


def jacobian_operator_norm(network: DenseNetwork, params: dict, inputs, *,
                           device=None) -> np.ndarray:
    r""":math:`\|\nabla y\|`: the largest singular value of the Jacobian :math:`J` (n x P).

    :math:`\|J\|_\mathrm{op} = \sqrt{\lambda_\max(JJ^\top)}` with :math:`JJ^\top` the
    empirical NTK on the inputs (:func:`empirical_ntk`). Returns shape ``(n_networks,)``.
    """
    kernel = empirical_ntk(network, params, inputs, device=device)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(kernel)[:, -1], 0.0))


class LazyRatio(NamedTuple):
    r"""The lazy-training ratio and its factors (arrays of shape ``(n_networks,)``).

    ``kappa`` :math:`= \|y(w_0) - \tilde y\|_2\,\|\nabla^2 y\|/\|\nabla y\|^2` from
    ``residual_norm``, ``hessian_norm`` (:func:`output_hessian_norm`) and ``jacobian_norm``
    (:func:`jacobian_operator_norm`).
    """

    kappa: np.ndarray
    residual_norm: np.ndarray
    hessian_norm: np.ndarray
    jacobian_norm: np.ndarray


def lazy_training_ratio(network: DenseNetwork, params: dict, inputs, targets, *,
                        device=None, **hessian_options) -> LazyRatio:
    r"""Chizat–Oyallon–Bach's :math:`\kappa = \|y(w_0)-\tilde y\|\,\|\nabla^2y\|/\|\nabla y\|^2`.

    :math:`y(w_0)` are the networks' outputs on ``inputs``, :math:`\tilde y` the ``targets``
    (shape ``(n_data,)`` or ``(n_networks, n_data)``), :math:`\|\nabla^2 y\|` as in
    :func:`output_hessian_norm` (``hessian_options`` are passed on) and :math:`\|\nabla y\|`
    as in :func:`jacobian_operator_norm`. :math:`\kappa \ll 1` is the lazy regime: the
    relative change of the Jacobian while the outputs travel to the targets is about
    :math:`\kappa`.

    Returns
    -------
    LazyRatio
    """
    outputs = network_outputs(network, params, inputs, device=device)
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape not in (outputs.shape[1:], outputs.shape) or not np.all(
            np.isfinite(targets)):
        raise ValueError(f"targets must be finite with shape {outputs.shape[1:]} or "
                         f"{outputs.shape}; got shape {targets.shape}")
    residual = np.linalg.norm(outputs - targets, axis=-1)
    hessian = output_hessian_norm(network, params, inputs, device=device,
                                  **hessian_options).norm
    jacobian = jacobian_operator_norm(network, params, inputs, device=device)
    return LazyRatio(residual * hessian / jacobian ** 2, residual, hessian, jacobian)


# --------------------------------------------------------------------------------------
# Gram spectra
# --------------------------------------------------------------------------------------


def kernel_gram_spectrum(kernel, n_data: int, input_dim: int, seed: int) -> np.ndarray:
    r"""Eigenvalues of the Gram matrix :math:`K(x_\mu, x_\nu)` of points on the sphere.

    The points are :func:`~jamming.simulate.features.sphere_inputs` (radius
    :math:`\sqrt d`) with ``rng = seed``. For a dot-product kernel with Mercer eigenvalues
    :math:`\mu_k` (multiplicity :math:`N(d,k)`) with respect to the uniform measure,
    :math:`\lambda_i(K)/n` converge to the :math:`\mu_k` as :math:`n\to\infty`.

    Parameters
    ----------
    kernel : callable
        ``kernel(x1, x2)`` with arrays of shapes ``(n1, d)`` and ``(n2, d)`` returning an
        array of shape ``(n1, n2)`` (e.g. a closed form, or the mean of
        :func:`monte_carlo_kernels` wrapped in a lambda).
    n_data : int
        :math:`n \ge 1`.
    input_dim : int
        :math:`d \ge 1`.
    seed : int
        Seed of the points.

    Returns
    -------
    numpy.ndarray, shape (n_data,)
        The eigenvalues of the (symmetrised) Gram matrix, in decreasing order.
    """
    if not callable(kernel):
        raise TypeError(f"kernel must be callable; got {type(kernel).__name__}")
    seed = _check_seed(seed)
    inputs = sphere_inputs(n_data, input_dim, seed)
    gram = np.asarray(kernel(inputs, inputs), dtype=np.float64)
    if gram.shape != (inputs.shape[0],) * 2 or not np.all(np.isfinite(gram)):
        raise ValueError(f"kernel(x, x) must return a finite array of shape "
                         f"{(inputs.shape[0],) * 2}; got shape {gram.shape}")
    return np.linalg.eigvalsh(0.5 * (gram + gram.T))[::-1].copy()


def random_feature_gram_spectrum(n_data: int, input_dim: int, n_features: int, seed: int, *,
                                 activation: str = "relu") -> np.ndarray:
    r"""Eigenvalues of the random-feature Gram matrix :math:`\Phi\Phi^\top/N_f`.

    ``rng = numpy.random.default_rng(seed)`` draws the points
    (:func:`~jamming.simulate.features.sphere_inputs`) and then the weights of
    :func:`~jamming.simulate.features.random_features`:
    :math:`\Phi_{\mu i} = \sigma(w_i\cdot x_\mu/\sqrt d)`, :math:`w_i\sim N(0, I_d)`. As
    :math:`N_f\to\infty`, :math:`\Phi\Phi^\top/N_f` tends to the kernel
    :math:`\mathbb{E}_w\sigma(w\cdot x/\sqrt d)\sigma(w\cdot x'/\sqrt d)`; in the proportional
    limit (:math:`n, N_f, d\to\infty`) its spectrum is that of Pennington–Worah /
    Louart–Liao–Couillet (Marchenko–Pastur for ``identity``). For :math:`N_f < n` the last
    :math:`n - N_f` eigenvalues are zero to rounding; the non-zero eigenvalues of
    :math:`\Phi^\top\Phi/n` are these times :math:`N_f/n`.

    Parameters
    ----------
    n_data, input_dim, n_features : int
        :math:`n, d, N_f \ge 1`.
    seed : int
    activation : {"relu", "tanh", "erf", "identity"}
        As in :func:`~jamming.simulate.features.random_features`.

    Returns
    -------
    numpy.ndarray, shape (n_data,)
        In decreasing order.
    """
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    inputs = sphere_inputs(n_data, input_dim, rng)
    features = random_features(inputs, n_features, rng, activation=activation)
    return np.linalg.eigvalsh(features @ features.T / features.shape[1])[::-1].copy()
