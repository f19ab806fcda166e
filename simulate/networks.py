r"""Fully connected networks, batched over many networks: forward pass, Jacobians, NTK, Hessians.

The one definition of a fully connected network in :mod:`jamming.simulate`. Every simulator
that trains or linearises such a network (the empirical-NTK features of S1, the kernel
estimates and drift of S3, the trained networks of S2, S5 and S6) builds on it.

The network
-----------
:class:`DenseNetwork` is, layer for layer,
``stax.serial(*[stax.Dense(n_1, W_std, b_std), act] ..., stax.Dense(1, W_std, b_std))``:
with :math:`h^0 = x\in\mathbb{R}^d` (not normalised), fan-ins :math:`n_0 = d, n_1, \dots,
n_L` (the hidden ``width`` of each of the :math:`L` = ``depth`` hidden layers, e.g.
:math:`(1, m)` for the bottleneck of S5) and one output,

.. math::

    z^{l} = c_w^l\, h^{l-1} W^{l} + c_b^l\, b^{l},\qquad
    h^{l} = \phi_l(z^{l})\quad (l = 1,\dots,L),\qquad f(x) = z^{L+1} \in \mathbb{R},

where :math:`W^l` has shape ``(n_{l-1}, n_l)`` (``n_{L+1} = 1``; the orientation of stax,
``x @ W``) and :math:`b^l` shape ``(n_l,)``. Each layer has its own :math:`\sigma_w^l`
(``W_std``), bias flag (``bias``: whether the layer has bias parameters :math:`b^l`, which
count in :math:`P` and give Jacobian columns; ``False`` is ``stax.Dense(b_std=None)``),
:math:`\sigma_b^l` (``b_std``, the scale of those biases, 0 in a layer without them) and, for
hidden layers, activation :math:`\phi_l` (:mod:`jamming.simulate.activations`). A scalar
attribute applies to every layer. The parametrisation sets the multipliers :math:`c` and the
initial distribution (every entry independent):

================  ===============================  ==================  =====================
parameterization  :math:`c_w^l`                    :math:`c_b^l`       initial entries
================  ===============================  ==================  =====================
``"ntk"``         :math:`\sigma_w/\sqrt{n_{l-1}}`  :math:`\sigma_b`    :math:`N(0, 1)`
``"standard"``    1                                1                   :math:`W\sim N(0,
                                                                       \sigma_w^2/n_{l-1})`,
                                                                       :math:`b\sim N(0,
                                                                       \sigma_b^2)`
``"mean_field"``  as ``"ntk"``; readout            :math:`\sigma_b`    :math:`N(0, 1)`
                  :math:`\sigma_w/n_L`
================  ===============================  ==================  =====================

``"ntk"`` and ``"standard"`` are those of ``stax.Dense(parameterization=...)``: the same
function at initialisation (in distribution, and exactly for matched draws), different
training dynamics and tangent kernels. ``"mean_field"`` divides the readout by the width
instead of its square root, :math:`f = \frac{\sigma_w}{n_L}\sum_i a_i h^L_i` (Mei,
Montanari & Nguyen), so that the output vanishes as :math:`n_L\to\infty` and the hidden
layers must move to fit.

Biases. ``bias=False`` (default) means no bias parameters, as ``b_std = 0`` in
:mod:`jamming.theory.kernels`; ``bias=True`` with ``b_std`` :math:`= \sigma_b > 0` is the
theory's ``b_std``. ``b_std`` is only a scale: it must be 0 where ``bias`` is ``False``
(``ValueError`` otherwise, rather than a scale silently ignored). ``bias=True, b_std=0`` is
refused in the ``"ntk"`` and ``"mean_field"`` parametrisations, where :math:`c_b = \sigma_b`
makes those parameters never act (no output, zero gradient, zero Jacobian columns: the
bias-free function and kernel with a larger :math:`P`); in ``"standard"`` it is legitimate,
biases that start at 0 (:math:`c_b = 1`) and train. ``docs/notes/conventions.md`` gathers
these conventions.

Parameters
----------
A *parameter set* is a ``dict`` of torch tensors with keys ``W1, b1, ..., W{L+1}, b{L+1}``
(only the biases that exist) in this order, each with a leading axis over ``n_networks``
independent networks: ``W1`` has shape ``(n_networks, d, n_1)``
(:meth:`DenseNetwork.parameter_shapes` lists the per-network shapes). Columns of a Jacobian
follow this order, each tensor flattened row-major, as ``jax.flatten_util.ravel_pytree``
flattens stax's ``[(W1, b1), (), ...]``. :func:`init_networks` draws network ``s`` of seed
``seed`` from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(s,)))``, so a network
is the same whatever ``n_networks``, device or dtype (float64, or float32 rounded from the
same draws). The unchecked :func:`forward` also takes a single network's tensors (no network
axis); inputs are shared, shape ``(n_data, d)``, or per network, ``(n_networks, n_data, d)``.

Tangent kernel, Jacobians and Hessians
--------------------------------------
:func:`empirical_ntk` computes :math:`\Theta(x, x') = J(x)J(x')^\top` for every network, by
one of two exact methods:

- ``"jacobian"``: the per-sample gradients :math:`J` by ``vmap`` over the networks of
  ``vmap`` over the inputs of ``torch.func.grad`` (chunked over both, :func:`jacobian`),
  then :math:`JJ'^\top`. :math:`O(nP)` memory and :math:`O(n n' P)` time for :math:`P`
  parameters.
- ``"structured"`` (default): since every layer is dense,
  :math:`\partial f/\partial W^l_{jk} = c_w^l\, h^{l-1}_j\,\delta^l_k` and
  :math:`\partial f/\partial b^l_k = c_b^l\,\delta^l_k` with
  :math:`\delta^l = \partial f/\partial z^l` (:math:`\delta^{L+1} = 1`), so

  .. math::

      \Theta(x, x') = \sum_{l=1}^{L+1}\Big((c_w^l)^2\, h^{l-1}(x)\cdot
      h^{l-1}(x') + [b^l]\,(c_b^l)^2\Big)\, \delta^{l}(x)\cdot\delta^{l}(x').

  The :math:`\delta^l` of all inputs and networks come from one ``torch.func.vjp`` of the
  batched forward pass with respect to zero offsets added to every :math:`z^l` (cotangent
  ones: each output depends on its own input only, so the vector-Jacobian product returns
  the per-sample gradients). Cost: one forward and one backward pass and :math:`2(L+1)`
  Gram matrices of width-:math:`n_l` vectors, :math:`O(n n' L h)` instead of
  :math:`O(n n' L h^2)`; on the CPU the symmetric Grams (``inputs2=None``) use BLAS
  ``syrk`` (half the products of a general matrix product).

Both agree with a per-sample ``torch.autograd`` loop (:func:`empirical_ntk_loop`) to
rounding. :func:`output_hessians` and :func:`loss_hessians` are the exact dense Hessians
(``torch.func.hessian`` of the flat parameter vector, :func:`flatten_parameters`) of small
networks.

Training
--------
:func:`train` minimises :math:`\sum_s L_s` over the networks of a parameter set (each
network independently: its gradient is that of its own loss) with an optimiser
(:class:`GradientDescent`, :class:`Adam`), full batch or mini-batches, optionally with the
output scale :math:`\alpha` of Geiger et al.: the model is
:math:`F(x; w) = \alpha\,(f(x; w) - f(x; w_0))` (zero at initialisation) and the loss is
divided by :math:`\alpha^2`, so that :math:`\alpha\to\infty` is the lazy (linearised)
regime and small :math:`\alpha` the feature-learning one. Observables are recorded at given
steps; a second-order refinement (:func:`newton_refinement`) can end the run.

torch is imported inside the functions, so that importing this module stays light.

References
----------
A. Jacot, F. Gabriel, C. Hongler, NeurIPS (2018). R. Novak *et al.*, "Neural Tangents: fast
and easy infinite neural networks in Python", ICLR (2020). R. Novak, J. Sohl-Dickstein,
S. Schoenholz, "Fast finite width neural tangent kernel", ICML (2022) (the structured
method). S. Mei, A. Montanari, P.-M. Nguyen, "A mean field view of the landscape of
two-layer neural networks", PNAS 115, E7665 (2018). M. Geiger, S. Spigler, A. Jacot,
M. Wyart, "Disentangling feature and lazy training in deep neural networks", J. Stat. Mech.
113301 (2020). D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR
(2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from jamming.simulate.activations import ACTIVATIONS, check_activation, torch_activation
from jamming.simulate.devices import torch_device
from jamming.validation import (
    LOSSES,
    check_choice,
    check_count,
    check_finite_array,
    check_real,
)

#: Parametrisations of :class:`DenseNetwork` (module docstring).
PARAMETERIZATIONS = ("ntk", "standard", "mean_field")

#: Methods of :func:`empirical_ntk`.
NTK_METHODS = ("structured", "jacobian")

#: Default bound on the entries of the temporaries of one vectorised call (2**24: 128 MB of
#: float64), used to choose chunk sizes.
CHUNK_ENTRIES = 2**24

_DTYPES = ("float64", "float32")


def _torch():
    import torch

    return torch


def _per_layer(name: str, value, count: int) -> tuple:
    """``value`` repeated ``count`` times, or ``value`` itself if it is a tuple of that length."""
    if isinstance(value, tuple):
        if len(value) != count:
            raise ValueError(f"{name} must be one value or a tuple of {count} (one per layer); "
                             f"got {value!r}")
        return value
    return (value,) * count


class LayerScales(NamedTuple):
    r"""How one dense layer scales its parameters (module docstring).

    Attributes
    ----------
    weight, bias : float
        Multipliers :math:`c_w, c_b` in the forward pass (``bias`` 0 without biases).
    weight_kernel, bias_kernel : float
        :math:`c_w^2` and :math:`c_b^2` as the tangent kernel uses them (computed from
        :math:`\sigma` directly, e.g. :math:`\sigma_w^2/n`, not by squaring the rounded
        multiplier).
    weight_init, bias_init : float
        Standard deviations of the initial entries.
    """

    weight: float
    bias: float
    weight_kernel: float
    bias_kernel: float
    weight_init: float
    bias_init: float


@dataclass(frozen=True)
class DenseNetwork:
    r"""A fully connected network with one output (module docstring).

    Every per-layer attribute is one value for every layer or a tuple with one per layer.

    Attributes
    ----------
    input_dim : int
        :math:`d \ge 1`.
    width : int or tuple of int
        Width :math:`n_l \ge 1` of the hidden layers (a tuple of ``depth`` widths, e.g.
        ``(1, 1000)`` for a bottleneck of width 1).
    depth : int
        :math:`L \ge 0`, the number of hidden layers (``0``: the linear model
        :math:`c_w\, x\cdot W + c_b b`).
    activation : str or tuple of str
        Names from :data:`jamming.simulate.activations.ACTIVATIONS`, one per hidden layer.
    W_std : float or tuple of float
        :math:`\sigma_w > 0` (``W_std`` of each ``Dense``), one per dense layer
        (``depth + 1``).
    bias : bool or tuple of bool
        Whether each dense layer has bias parameters (``False``: ``stax.Dense(b_std=None)``).
    b_std : float or tuple of float
        :math:`\sigma_b \ge 0`, the scale of each dense layer's biases: 0 where ``bias`` is
        ``False``, and > 0 where it is ``True`` unless ``parameterization="standard"``
        (module docstring, "Biases").
    parameterization : {"ntk", "standard", "mean_field"}
    """

    input_dim: int
    width: int | tuple[int, ...]
    depth: int = 1
    activation: str | tuple[str, ...] = "relu"
    W_std: float | tuple[float, ...] = 1.0
    bias: bool | tuple[bool, ...] = False
    b_std: float | tuple[float, ...] = 0.0
    parameterization: str = "ntk"

    def __post_init__(self):
        check_count("input_dim", self.input_dim)
        check_count("depth", self.depth, minimum=0)
        for width in _per_layer("width", self.width, max(self.depth, 1)):
            check_count("width", width)
        for activation in _per_layer("activation", self.activation, self.depth):
            check_activation(activation, ACTIVATIONS)
        for W_std in self.W_stds:
            check_real("W_std", W_std, 0.0, strict=True)
        check_choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        for layer, (bias, b_std) in enumerate(zip(self.biases, self.b_stds, strict=True), 1):
            self._check_bias(layer, bias, b_std)

    def _check_bias(self, layer: int, bias, b_std) -> None:
        """The bias convention of one dense layer (module docstring, "Biases")."""
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool or a tuple of bools; got {self.bias!r}")
        b_std = check_real("b_std", b_std, 0.0)
        if not bias and b_std != 0.0:
            raise ValueError(f"b_std must be 0 in dense layer {layer}, which has no bias "
                             f"parameters (bias=False); got {b_std!r}: pass bias=True for "
                             "biases of that scale")
        if bias and b_std == 0.0 and self.parameterization != "standard":
            raise ValueError(
                f"b_std must be > 0 in dense layer {layer}, which has bias parameters: with "
                f"parameterization={self.parameterization!r} biases of scale 0 never act "
                "(zero output, gradient and Jacobian columns); pass bias=False for a layer "
                "without bias (the same function and kernel), or "
                "parameterization='standard' for biases that start at 0 and train")

    @property
    def widths(self) -> tuple[int, ...]:
        """:math:`(n_1, \\dots, n_L)`, the hidden widths."""
        return _per_layer("width", self.width, self.depth) if self.depth else ()

    @property
    def max_width(self) -> int:
        """The largest hidden width (``width`` itself when it is one number, even at depth 0);
        sizes temporaries."""
        return max(_per_layer("width", self.width, max(self.depth, 1)))

    @property
    def activations(self) -> tuple[str, ...]:
        """:math:`(\\phi_1, \\dots, \\phi_L)` by name."""
        return _per_layer("activation", self.activation, self.depth)

    @property
    def W_stds(self) -> tuple[float, ...]:
        """:math:`\\sigma_w` of each of the :math:`L + 1` dense layers."""
        return _per_layer("W_std", self.W_std, self.depth + 1)

    @property
    def b_stds(self) -> tuple[float, ...]:
        """:math:`\\sigma_b` of each of the :math:`L + 1` dense layers (0 without biases)."""
        return _per_layer("b_std", self.b_std, self.depth + 1)

    @property
    def biases(self) -> tuple[bool, ...]:
        """Whether each of the :math:`L + 1` dense layers has bias parameters."""
        return _per_layer("bias", self.bias, self.depth + 1)

    def fan_ins(self) -> list[int]:
        """:math:`[n_0, \\dots, n_L]`: the fan-in of each of the :math:`L+1` dense layers."""
        return [self.input_dim, *self.widths]

    def layer_scales(self) -> list[LayerScales]:
        """The :class:`LayerScales` of each dense layer (module docstring)."""
        scales = []
        last = self.depth
        for layer, (fan_in, W_std, b_std) in enumerate(zip(self.fan_ins(), self.W_stds,
                                                           self.b_stds, strict=True)):
            if self.parameterization == "standard":
                scales.append(LayerScales(1.0, 1.0, 1.0, 1.0, W_std / math.sqrt(fan_in),
                                          b_std))
            elif self.parameterization == "mean_field" and layer == last:
                scales.append(LayerScales(W_std / fan_in, b_std, W_std ** 2 / fan_in ** 2,
                                          b_std ** 2, 1.0, 1.0))
            else:
                scales.append(LayerScales(W_std / math.sqrt(fan_in), b_std, W_std ** 2 / fan_in,
                                          b_std ** 2, 1.0, 1.0))
        return scales

    def parameter_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``[(name, shape), ...]`` of one network, in the order of the Jacobian's columns.

        ``W1`` (d, n_1), ``b1`` (n_1,), ..., ``W{L+1}`` (n_L, 1), ``b{L+1}`` (1,).
        """
        shapes = []
        fan_outs = [*self.widths, 1]
        for layer, (fan_in, fan_out, bias) in enumerate(
                zip(self.fan_ins(), fan_outs, self.biases, strict=True), start=1):
            shapes.append((f"W{layer}", (fan_in, fan_out)))
            if bias:
                shapes.append((f"b{layer}", (fan_out,)))
        return shapes

    @property
    def n_parameters(self) -> int:
        r""":math:`P = \sum_l (n_{l-1} + [b^l])\, n_l` with :math:`n_{L+1} = 1`."""
        return sum(math.prod(shape) for _, shape in self.parameter_shapes())


def check_network(network) -> DenseNetwork:
    """Return ``network`` if it is a :class:`DenseNetwork`; ``TypeError`` otherwise."""
    if not isinstance(network, DenseNetwork):
        raise TypeError(f"network must be a DenseNetwork; got {type(network).__name__}")
    return network


def _torch_dtype(dtype):
    torch = _torch()
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}; got {dtype!r}")
    return getattr(torch, dtype)


def init_networks(network: DenseNetwork, seed: int, n_networks: int = 1, *, first: int = 0,
                  device="cpu", dtype: str = "float64") -> dict:
    r"""Independent initial parameter sets, drawn per network from its own seed.

    Network ``s`` (for ``s`` in ``first, ..., first + n_networks - 1``) draws its tensors in
    the order of :meth:`DenseNetwork.parameter_shapes`, each as
    ``rng.standard_normal(shape)`` from
    ``numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(s,)))`` (the
    ``s``-th child of ``SeedSequence(seed).spawn``), times the initial standard deviation of
    the parametrisation (1 for ``"ntk"`` and ``"mean_field"``): the same network whatever
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
    dtype : {"float64", "float32"}
        float32 tensors are the float64 draws rounded.

    Returns
    -------
    dict of str to torch.Tensor
        Each of shape ``(n_networks, *shape)``, keys in Jacobian-column order.
    """
    network = check_network(network)
    seed = check_count("seed", seed, minimum=0)
    n_networks = check_count("n_networks", n_networks)
    first = check_count("first", first, minimum=0)
    torch = _torch()
    target = torch_device(device)
    torch_dtype = _torch_dtype(dtype)
    shapes = network.parameter_shapes()
    stds = {}
    for layer, scales in enumerate(network.layer_scales(), start=1):
        stds[f"W{layer}"], stds[f"b{layer}"] = scales.weight_init, scales.bias_init
    arrays = {name: np.empty((n_networks, *shape)) for name, shape in shapes}
    for index in range(n_networks):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(first + index,)))
        for name, shape in shapes:
            arrays[name][index] = rng.standard_normal(shape)
    for name in arrays:
        if stds[name] != 1.0:
            arrays[name] *= stds[name]
    return {name: torch.as_tensor(array, dtype=torch_dtype, device=target)
            for name, array in arrays.items()}


# --------------------------------------------------------------------------------------
# Checked inputs and parameters
# --------------------------------------------------------------------------------------


def check_inputs(inputs, input_dim: int | None = None) -> np.ndarray:
    """``inputs`` as a finite float64 array of shape ``(n_data, input_dim)``, both ``>= 1``.

    The check of the numpy inputs of every feature map and network (no torch).

    Raises
    ------
    ValueError
        For another shape, a wrong number of columns, or non-finite entries.
    """
    array = np.asarray(inputs, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"inputs must have shape (n_data, input_dim) with both >= 1; got "
                         f"{array.shape}")
    if input_dim is not None and array.shape[1] != input_dim:
        raise ValueError(f"inputs must have {input_dim} columns (input_dim); got shape "
                         f"{array.shape}")
    return check_finite_array("inputs", array)


def as_parameters(network: DenseNetwork, params, device=None):
    """Check a parameter set and return it detached on ``device``, with that device.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Keys of :meth:`DenseNetwork.parameter_shapes` in order, each of shape
        ``(n_networks, *shape)`` with one ``n_networks >= 1``, all float64 or all float32.
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.

    Returns
    -------
    params : dict of str to torch.Tensor
        Detached (no copy when already there).
    device : torch.device
    """
    torch = _torch()
    network = check_network(network)
    names = [name for name, _ in network.parameter_shapes()]
    if not isinstance(params, dict) or list(params) != names:
        got = list(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {names} in this order; got {got}")
    n_networks, dtype = None, None
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
        if value.dtype not in (torch.float64, torch.float32) or (
                dtype is not None and value.dtype != dtype):
            raise TypeError(f"params must all be float64 or all float32; params[{name!r}] is "
                            f"{value.dtype}")
        n_networks, dtype = value.shape[0], value.dtype
    target = torch_device(device, default=params[names[0]].device)
    return {name: value.detach().to(device=target) for name, value in params.items()}, target


def as_inputs(network: DenseNetwork, inputs, device, dtype=None, name: str = "inputs"):
    """Checked inputs of shape ``(n_data, d)`` as a detached tensor on ``device``.

    ``inputs`` is a numpy-convertible array or a torch tensor, finite, with
    ``network.input_dim`` columns; ``dtype`` is a torch dtype (``None``: float64).
    """
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim != 2 or inputs.shape[1] != network.input_dim or inputs.shape[0] < 1:
            raise ValueError(f"{name} must have shape (n_data, {network.input_dim}) with "
                             f"n_data >= 1; got {tuple(inputs.shape)}")
        inputs = inputs.detach().to(device=device, dtype=dtype)
        if not bool(torch.isfinite(inputs).all()):
            raise ValueError(f"{name} must be finite")
        return inputs
    try:
        array = check_inputs(inputs, network.input_dim)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return torch.as_tensor(array, device=device).to(dtype)


def _dtype_of(params: dict):
    return next(iter(params.values())).dtype


# --------------------------------------------------------------------------------------
# Forward pass
# --------------------------------------------------------------------------------------


def _forward(network: DenseNetwork, params: dict, inputs, offsets=None, hidden_out=None):
    """Outputs for stacked ``(S, ...)`` or single-network parameters (broadcasting matmul).

    ``offsets``: tensors added to each hidden pre-activation :math:`z^l` (for the
    structured NTK); ``hidden_out``: a list that receives :math:`h^0, \\dots, h^L`.
    """
    hidden = inputs
    activations = [torch_activation(name) for name in network.activations]
    for layer, scales in enumerate(network.layer_scales(), start=1):
        if hidden_out is not None:
            hidden_out.append(hidden)
        z = scales.weight * (hidden @ params[f"W{layer}"])
        if network.biases[layer - 1]:
            b = params[f"b{layer}"]
            z = z + scales.bias * b.reshape(b.shape[:-1] + (1,) * (z.ndim - b.ndim)
                                            + b.shape[-1:])
        if offsets is not None and layer <= len(offsets):
            z = z + offsets[layer - 1]
        hidden = activations[layer - 1](z) if layer <= network.depth else z
    return hidden[..., 0]


def forward(network: DenseNetwork, params: dict, inputs):
    r"""The outputs as a differentiable torch function of the parameters and inputs.

    No checks and no copies (for autograd and ``torch.func``; :func:`network_outputs` is the
    checked, detached version).

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Stacked ``(n_networks, *shape)`` tensors, or one network's ``shape`` tensors.
    inputs : torch.Tensor, shape (n_data, d), (n_networks, n_data, d) or (d,)
        Of the parameters' dtype and device.

    Returns
    -------
    torch.Tensor, shape (n_networks, n_data) (stacked) or (n_data,) (one network), or
    fewer axes for one input of shape (d,)
    """
    return _forward(network, params, inputs)


def hidden_layers(network: DenseNetwork, params: dict, inputs) -> list:
    r"""The post-activations :math:`h^1, \dots, h^L` of the hidden layers (unchecked, as
    :func:`forward`); e.g. the learned features of a trained network.

    Returns
    -------
    list of torch.Tensor
        :math:`h^l` of shape ``(n_networks, n_data, n_l)`` (stacked parameters).
    """
    hidden: list = []
    _forward(network, params, inputs, hidden_out=hidden)
    return hidden[1:]


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
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data), of the parameters' dtype
    """
    torch = _torch()
    params, target = as_parameters(network, params, device)
    inputs = as_inputs(network, inputs, target, _dtype_of(params))
    with torch.no_grad():
        return _output(_forward(network, params, inputs), to_numpy)


def _output(tensor, to_numpy: bool):
    return tensor.cpu().numpy() if to_numpy else tensor


# --------------------------------------------------------------------------------------
# Flat parameter vectors
# --------------------------------------------------------------------------------------


def flatten_parameters(network: DenseNetwork, params: dict):
    """The parameter set as one matrix, shape ``(n_networks, P)``, in Jacobian-column order."""
    torch = _torch()
    n_networks = next(iter(params.values())).shape[0]
    return torch.cat([params[name].reshape(n_networks, -1)
                      for name, _ in network.parameter_shapes()], dim=1)


def unflatten_parameters(network: DenseNetwork, vector) -> dict:
    """The inverse of :func:`flatten_parameters`: views of ``vector`` of shape ``(..., P)``.

    With ``vector`` of shape ``(P,)`` (e.g. inside ``torch.func.vmap``) the tensors are one
    network's, shape ``shape``; with ``(n_networks, P)``, a parameter set.
    """
    pieces, offset = {}, 0
    lead = tuple(vector.shape[:-1])
    for name, shape in network.parameter_shapes():
        size = math.prod(shape)
        pieces[name] = vector[..., offset:offset + size].reshape(lead + shape)
        offset += size
    return pieces


# --------------------------------------------------------------------------------------
# Jacobians
# --------------------------------------------------------------------------------------


def per_sample_gradient_function(network: DenseNetwork):
    r"""The per-sample gradients of one network, as a batched ``torch.func`` function.

    ``gradients(*values, inputs)`` takes one network's tensors (``values`` in the order of
    :meth:`DenseNetwork.parameter_shapes`, without a network axis; views are fine) and
    inputs of shape ``(n_data, d)``, and returns a tuple of tensors of shapes
    ``(n_data, *shape)``: :math:`\partial f(x_\mu)/\partial\theta`. It is
    ``torch.func.vmap(torch.func.grad(f_single))`` over the inputs (``grad`` is ``jacrev``
    for a scalar function): per-sample reverse mode, the cost of ``n_data`` backward passes
    of one sample vectorised into batched matrix products, :math:`O(N_\mathrm{data}P)`
    (``jacrev`` of the batched function would backpropagate ``n_data`` one-hot cotangents
    through the whole batch, :math:`O(N_\mathrm{data}^2 P)`). The tensors go in as
    positional arguments rather than one dict: functorch then flattens fewer pytrees per
    call. Wrap it in another ``vmap`` over a leading network axis for a parameter set.
    """
    from torch.func import grad, vmap

    names = [name for name, _ in network.parameter_shapes()]
    count = len(names)

    def single(*args):
        return _forward(network, dict(zip(names, args[:-1], strict=True)), args[-1])

    return vmap(grad(single, argnums=tuple(range(count))), in_dims=(None,) * count + (0,))


def per_sample_gradients_loop(network: DenseNetwork, values, inputs) -> tuple:
    r"""The same gradients as :func:`per_sample_gradient_function`, one input at a time.

    A Python loop of ``torch.autograd.grad`` over the inputs, one forward pass each: the slow
    textbook reference (an independent implementation for the tests and the anchor of the
    benchmarks).

    Parameters
    ----------
    network : DenseNetwork
    values : sequence of torch.Tensor
        One network's tensors in the order of :meth:`DenseNetwork.parameter_shapes` that
        require gradients (leaves, or views of leaves).
    inputs : torch.Tensor, shape (n_data, d)

    Returns
    -------
    tuple of torch.Tensor
        Shapes ``(n_data, *shape)``.
    """
    torch = _torch()
    names = [name for name, _ in network.parameter_shapes()]
    params = dict(zip(names, values, strict=True))
    rows = [torch.autograd.grad(_forward(network, params, x[None, :])[0], list(values))
            for x in inputs]
    return tuple(torch.stack(parts) for parts in zip(*rows, strict=True))


def _jacobian_rows(network: DenseNetwork, params: dict, inputs, input_chunk: int):
    """Per-sample gradients (S, n, P): vmap over networks of vmap over inputs of grad."""
    torch = _torch()
    from torch.func import vmap

    values = tuple(params.values())
    count = len(values)
    per_network = vmap(per_sample_gradient_function(network), in_dims=(0,) * count + (None,))
    n_networks, n_data = values[0].shape[0], inputs.shape[0]
    rows = torch.empty((n_networks, n_data, network.n_parameters), dtype=values[0].dtype,
                       device=inputs.device)
    for start in range(0, n_data, input_chunk):
        stop = min(n_data, start + input_chunk)
        parts = per_network(*values, inputs[start:stop])
        torch.cat([part.reshape(n_networks, stop - start, -1) for part in parts], dim=2,
                  out=rows[:, start:stop])
    return rows


def jacobian(network: DenseNetwork, params: dict, inputs, *, device=None,
             input_chunk: int | None = None, to_numpy: bool = True):
    r"""Jacobians :math:`J_s(x_\mu) = \partial f_s(x_\mu)/\partial\theta` of every network.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        A parameter set (:func:`init_networks`); not modified.
    inputs : array_like or torch.Tensor, shape (n_data, d)
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.
    input_chunk : int or None
        Inputs per vectorised call; ``None``: ``CHUNK_ENTRIES // (n_networks * P)``, at
        least one.
    to_numpy : bool

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data, P)
        Columns in the order of :meth:`DenseNetwork.parameter_shapes`.
    """
    params, target = as_parameters(network, params, device)
    inputs = as_inputs(network, inputs, target, _dtype_of(params))
    n_networks = next(iter(params.values())).shape[0]
    if input_chunk is None:
        input_chunk = max(1, CHUNK_ENTRIES // (n_networks * network.n_parameters))
    else:
        input_chunk = check_count("input_chunk", input_chunk)
    return _output(_jacobian_rows(network, params, inputs, input_chunk), to_numpy)


# --------------------------------------------------------------------------------------
# Empirical NTK
# --------------------------------------------------------------------------------------


def _syrk_upper(matrix):
    """Upper triangle of ``matrix @ matrix.T`` for a CPU tensor (S, n, k), lower part 0.

    BLAS ``dsyrk``/``ssyrk`` on each network's (n, k) block (half the multiplications of
    ``mm``).
    """
    torch = _torch()
    from scipy.linalg.blas import dsyrk, ssyrk

    syrk = dsyrk if matrix.dtype == torch.float64 else ssyrk
    blocks = []
    for block in matrix:
        array = block.contiguous().numpy()
        # array.T is Fortran-contiguous (k, n): no copy; trans=1 gives array @ array.T.
        blocks.append(torch.from_numpy(syrk(1.0, array.T, trans=1)))
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
    offsets = tuple(torch.zeros((n_networks, n_data, width), dtype=inputs.dtype,
                                device=inputs.device) for width in network.widths)

    def forward_offsets(*offset):
        hidden = []
        outputs = _forward(network, params, inputs, offsets=offset, hidden_out=hidden)
        return outputs, hidden

    outputs, pullback, hidden = vjp(forward_offsets, *offsets, has_aux=True)
    deltas = list(pullback(torch.ones_like(outputs)))
    return hidden, deltas


def _structured_ntk(network: DenseNetwork, params: dict, inputs, inputs2):
    torch = _torch()
    scales = network.layer_scales()
    b2 = [scale.bias_kernel if bias else 0.0
          for scale, bias in zip(scales, network.biases, strict=True)]
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

    # Layer 1: h^0 = x shared by all networks.
    kernel_inputs = scales[0].weight_kernel * (hidden1[0] @ hidden2[0].T) + b2[0]
    if network.depth == 0:
        return kernel_inputs.expand(params["W1"].shape[0], -1, -1).clone()
    total = gram(deltas1[0], deltas2[0])
    total.mul_(kernel_inputs)
    for layer in range(2, network.depth + 1):
        term = gram(hidden1[layer - 1], hidden2[layer - 1])
        term.mul_(scales[layer - 1].weight_kernel).add_(b2[layer - 1])
        term.mul_(gram(deltas1[layer - 1], deltas2[layer - 1]))  # zero lower part if upper
        total.add_(term)
    # Readout: delta^{L+1} = 1.
    total.add_(gram(hidden1[-1], hidden2[-1]), alpha=scales[-1].weight_kernel)
    if upper:
        total.add_(torch.tril(total.transpose(-1, -2), -1))
    if b2[-1]:
        total.add_(b2[-1])
    return total


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
        ``CHUNK_ENTRIES`` entries (``"structured"``: about :math:`3(L+1)n\max_l n_l` per
        network; ``"jacobian"``: :math:`(n+n')P`), at least one.
    input_chunk : int or None
        ``"jacobian"`` only: inputs per ``vmap`` call. ``None``: ``CHUNK_ENTRIES //
        (network_chunk * P)``, at least one.
    to_numpy : bool
        A numpy array on the CPU (default) or a torch tensor on ``device``.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data, n_data2), of the parameters'
    dtype
    """
    torch = _torch()
    if method not in NTK_METHODS:
        raise ValueError(f"method must be one of {', '.join(NTK_METHODS)}; got {method!r}")
    if network_chunk is not None:
        network_chunk = check_count("network_chunk", network_chunk)
    if input_chunk is not None:
        input_chunk = check_count("input_chunk", input_chunk)
    params, target = as_parameters(network, params, device)
    dtype = _dtype_of(params)
    inputs = as_inputs(network, inputs, target, dtype)
    if inputs2 is not None:
        inputs2 = as_inputs(network, inputs2, target, dtype, "inputs2")
    n_networks = params["W1"].shape[0]
    n1 = inputs.shape[0]
    n2 = n1 if inputs2 is None else inputs2.shape[0]
    if method == "structured":
        per_network = 3 * (network.depth + 1) * (n1 + n2) * network.max_width + n1 * n2
    else:
        per_network = (n1 + n2) * network.n_parameters + n1 * n2
    network_chunk = network_chunk or max(1, CHUNK_ENTRIES // per_network)
    kernel = torch.empty((n_networks, n1, n2), dtype=dtype, device=target)
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

    For each network, :func:`per_sample_gradients_loop` gives the rows of :math:`J`; then
    :math:`\Theta = J J'^\top` (``torch.mm``). The slow textbook reference: an independent
    implementation for the tests and the benchmark's anchor. Arguments and return value as
    in :func:`empirical_ntk`.
    """
    torch = _torch()
    params, target = as_parameters(network, params, device)
    dtype = _dtype_of(params)
    inputs = as_inputs(network, inputs, target, dtype)
    if inputs2 is not None:
        inputs2 = as_inputs(network, inputs2, target, dtype, "inputs2")
    kernels = []
    for index in range(params["W1"].shape[0]):
        leaves = [value[index].clone().requires_grad_(True) for value in params.values()]

        def rows(points, leaves=leaves):
            parts = per_sample_gradients_loop(network, leaves, points)
            return torch.cat([part.reshape(points.shape[0], -1) for part in parts], dim=1)

        rows1 = rows(inputs)
        rows2 = rows1 if inputs2 is None else rows(inputs2)
        kernels.append(rows1 @ rows2.T)
    return _output(torch.stack(kernels), to_numpy)


# --------------------------------------------------------------------------------------
# Losses and exact Hessians
# --------------------------------------------------------------------------------------


def _check_loss(loss: str, reduction: str) -> None:
    check_choice("loss", loss, LOSSES)
    check_choice("reduction", reduction, ("sum", "mean"))


def losses(outputs, targets, loss: str = "square", reduction: str = "sum"):
    r"""Per-network loss :math:`L_s = \sum_\mu \ell(f_{s\mu}, y_{s\mu})` (or the mean).

    Per point: ``"square"`` :math:`\ell = \frac12 (f - y)^2`; ``"hinge"``
    :math:`\ell = \max(0, 1 - yf)`; ``"quadratic-hinge"`` :math:`\ell = \frac12\max(0,
    1 - yf)^2` (labels :math:`y = \pm1` for the hinges).

    Parameters
    ----------
    outputs, targets : torch.Tensor, shape (..., n_data)
        Broadcast together.
    loss : {"square", "hinge", "quadratic-hinge"}
        :data:`jamming.validation.LOSSES`.
    reduction : {"sum", "mean"}
        Over the last axis.

    Returns
    -------
    torch.Tensor, shape (...)
    """
    torch = _torch()
    _check_loss(loss, reduction)
    if loss == "square":
        pointwise = 0.5 * ((outputs - targets) ** 2)
    else:
        gap = torch.relu(1.0 - targets * outputs)
        pointwise = gap if loss == "hinge" else 0.5 * gap ** 2
    return pointwise.sum(dim=-1) if reduction == "sum" else pointwise.mean(dim=-1)


def as_targets(targets, n_networks: int, n_data: int, device, dtype=None,
               name: str = "targets"):
    """Checked targets as a ``(n_networks, n_data)`` tensor on ``device`` (``dtype``: float64).

    ``targets`` (array_like or torch.Tensor) has shape ``(n_data,)`` (shared by the networks)
    or ``(n_networks, n_data)`` and finite entries; ``ValueError`` naming ``name`` otherwise.
    """
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    tensor = torch.as_tensor(targets).detach().to(device=device, dtype=torch.float64)
    if tuple(tensor.shape) not in ((n_data,), (n_networks, n_data)) or not bool(
            torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite with shape ({n_data},) or "
                         f"({n_networks}, {n_data}); got shape {tuple(tensor.shape)}")
    return tensor.expand(n_networks, n_data).clone().to(dtype)


def output_hessians(network: DenseNetwork, params: dict, inputs, *, device=None,
                    to_numpy: bool = True):
    r"""Exact Hessians :math:`\nabla^2_\theta f_s(x_\mu)` of every output, dense.

    ``torch.func.hessian`` (forward over reverse) of the flat parameter vector
    (:func:`flatten_parameters`), vmapped over the networks: :math:`O(P)` passes, for small
    networks.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, n_data, P, P)
    """
    from torch.func import hessian, vmap

    params, target = as_parameters(network, params, device)
    inputs = as_inputs(network, inputs, target, _dtype_of(params))

    def outputs(vector):
        return _forward(network, unflatten_parameters(network, vector), inputs)

    return _output(vmap(hessian(outputs))(flatten_parameters(network, params)), to_numpy)


def loss_hessians(network: DenseNetwork, params: dict, inputs, targets, *,
                  loss: str = "square", reduction: str = "sum", device=None,
                  to_numpy: bool = True):
    r"""Exact Hessians :math:`\nabla^2_\theta L_s` of every network's loss (:func:`losses`).

    Parameters
    ----------
    targets : array_like, shape (n_data,) or (n_networks, n_data)

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_networks, P, P)
    """
    from torch.func import hessian, vmap

    _check_loss(loss, reduction)
    params, target = as_parameters(network, params, device)
    dtype = _dtype_of(params)
    inputs = as_inputs(network, inputs, target, dtype)
    n_networks = params["W1"].shape[0]
    targets = as_targets(targets, n_networks, inputs.shape[0], target, dtype)

    def objective(vector, labels):
        outputs = _forward(network, unflatten_parameters(network, vector), inputs)
        return losses(outputs, labels, loss, reduction)

    return _output(vmap(hessian(objective))(flatten_parameters(network, params), targets),
                   to_numpy)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientDescent:
    r"""Plain steps :math:`\theta \leftarrow \theta - \eta\nabla L` (full batch: GD; with
    ``batch_size`` in :func:`train`: SGD).

    Attributes
    ----------
    learning_rate : float
        :math:`\eta > 0`.
    """

    learning_rate: float

    def __post_init__(self):
        check_real("learning_rate", self.learning_rate, 0.0, strict=True)

    def init(self, values) -> None:
        """No state."""

    def step(self, values, gradients, state, step: int) -> None:
        """Update ``values`` in place (``value -= learning_rate * gradient``)."""
        for value, gradient in zip(values, gradients, strict=True):
            value.sub_(gradient, alpha=self.learning_rate)


@dataclass(frozen=True)
class Adam:
    r"""Adam (Kingma & Ba), elementwise, so every network of a set is updated on its own.

    With :math:`g_t` the gradient at step :math:`t = 1, 2, \dots`:
    :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1)g_t`,
    :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2)g_t^2`,
    :math:`\theta \leftarrow \theta - \eta\,\hat m_t/(\sqrt{\hat v_t} + \epsilon)` with
    :math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat v_t = v_t/(1-\beta_2^t)` (the update of
    ``torch.optim.Adam`` without weight decay).

    Attributes
    ----------
    learning_rate : float
        :math:`\eta > 0`.
    beta1, beta2 : float
        In :math:`[0, 1)`.
    eps : float
        :math:`\epsilon > 0`.
    """

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        check_real("learning_rate", self.learning_rate, 0.0, strict=True)
        check_real("eps", self.eps, 0.0, strict=True)
        for name in ("beta1", "beta2"):
            value = check_real(name, getattr(self, name), 0.0)
            if value >= 1:
                raise ValueError(f"{name} must be in [0, 1); got {value!r}")

    def init(self, values) -> dict:
        """First and second moments, zero."""
        torch = _torch()
        return {"m": [torch.zeros_like(value) for value in values],
                "v": [torch.zeros_like(value) for value in values]}

    def step(self, values, gradients, state, step: int) -> None:
        """One Adam update in place; ``step`` counts from 0."""
        t = step + 1
        correction1 = 1.0 - self.beta1 ** t
        correction2 = 1.0 - self.beta2 ** t
        for value, gradient, m, v in zip(values, gradients, state["m"], state["v"],
                                         strict=True):
            m.mul_(self.beta1).add_(gradient, alpha=1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(gradient, gradient, value=1.0 - self.beta2)
            denominator = (v / correction2).sqrt_().add_(self.eps)
            value.addcdiv_(m, denominator, value=-self.learning_rate / correction1)


def newton_refinement(max_iterations: int = 50, tol: float = 1e-14):
    r"""A second-order refinement for :func:`train`: Newton steps on the exact Hessian.

    Each iteration solves :math:`H_s\,\Delta_s = -\nabla L_s` for every network
    (``torch.func.hessian`` of the flat parameters, :func:`flatten_parameters`; least squares
    where :math:`H_s` is singular) and steps :math:`\theta_s \leftarrow \theta_s +
    \Delta_s`; a network stops moving once :math:`\|\nabla L_s\|_2 \le` ``tol``. Newton's
    method converges quadratically to the critical point near its start whatever its index
    (minimum or saddle), which is what a classification of end points by their Hessian
    spectrum needs; it is for small networks (:math:`O(P^3)` per step). It converges only
    from inside that critical point's quadratic basin: on a flat, indefinite plateau its
    steps wander, so the first-order phase must end close enough.

    Parameters
    ----------
    max_iterations : int
        :math:`\ge 1`.
    tol : float
        :math:`> 0`.

    Returns
    -------
    callable
        ``refine(objective, vector, *data) -> vector``: ``objective(theta, *row)`` is one
        network's loss at its flat parameters ``theta`` (shape ``(P,)``), with ``row`` that
        network's slices of ``data`` (tensors with a leading network axis); ``vector`` has
        shape ``(n_networks, P)``.
    """
    max_iterations = check_count("max_iterations", max_iterations)
    tol = check_real("tol", tol, 0.0, strict=True)

    def refine(objective, vector, *data):
        torch = _torch()
        from torch.func import grad, hessian, vmap

        for _ in range(max_iterations):
            gradients = vmap(grad(objective))(vector, *data)
            active = torch.linalg.vector_norm(gradients, dim=1) > tol
            if not bool(active.any()):
                break
            hessians = vmap(hessian(objective))(vector, *data)
            steps = torch.linalg.lstsq(hessians, -gradients[..., None]).solution[..., 0]
            vector = torch.where(active[:, None], vector + steps, vector)
        return vector

    return refine


class TrainRun(NamedTuple):
    r"""Result of :func:`train`.

    Attributes
    ----------
    steps : numpy.ndarray of int, shape (n_times,)
        The recorded steps.
    loss : numpy.ndarray, shape (n_networks, n_times)
        Each network's full-batch objective (its loss, divided by :math:`\alpha^2` with the
        output scale) at the recorded steps.
    records : dict of str to numpy.ndarray
        Each observable of ``observe``, shape ``(n_networks, n_times, ...)``.
    params : dict of str to torch.Tensor
        The parameters at the end (after the refinement, if any).
    """

    steps: np.ndarray
    loss: np.ndarray
    records: dict
    params: dict


def check_record_at(record_at) -> np.ndarray:
    """``record_at`` as an int64 array: a non-empty increasing sequence of integers >= 0."""
    values = np.asarray(record_at)
    if values.ndim != 1 or values.size < 1 or not np.issubdtype(values.dtype, np.integer) or (
            values.min() < 0) or np.any(np.diff(values) <= 0):
        raise ValueError(f"record_at must be a non-empty increasing sequence of integers >= 0; "
                         f"got {record_at!r}")
    return values.astype(np.int64)


def train(network: DenseNetwork, params: dict, inputs, targets, *, optimizer, record_at,
          loss: str = "square", reduction: str = "sum", batch_size: int | None = None,
          seed: int = 0, alpha: float | None = None, observe=None, refine=None,
          device=None) -> TrainRun:
    r"""Train every network of a parameter set on its loss, recording observables.

    The objective is :math:`\sum_s L_s(\theta_s)` with :math:`L_s` the :func:`losses` of
    network ``s`` on the (mini-)batch; its gradient with respect to :math:`\theta_s` is that
    of :math:`L_s` alone, so the networks train independently in one batched computation.
    Step :math:`t` (from 0) computes the gradient at :math:`\theta_t` and lets the optimiser
    update the parameters in place; observables are recorded at the steps of ``record_at``
    (before that step's update), and training stops at the last one.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Initial parameter set (:func:`init_networks`); not modified.
    inputs : array_like or torch.Tensor, shape (n_data, d)
    targets : array_like, shape (n_data,) or (n_networks, n_data)
        Shared by the networks or one row each.
    optimizer : GradientDescent or Adam
    record_at : sequence of int
        Increasing steps :math:`\ge 0`.
    loss : {"square", "hinge", "quadratic-hinge"}
        :data:`jamming.validation.LOSSES`.
    reduction : {"sum", "mean"}
        Over the points of the batch.
    batch_size : int or None
        ``None``: full batch. Otherwise every step draws, for each network independently,
        ``batch_size`` distinct points uniformly (``numpy.random.default_rng(seed)``:
        ``argsort`` of ``random((n_networks, n_data))``, first ``batch_size`` columns).
    seed : int
        Seed of the batches.
    alpha : float or None
        Output scale of Geiger et al.: the model is :math:`\alpha(f(x;\theta) -
        f(x;\theta_0))` and the loss is divided by :math:`\alpha^2`. ``None``: :math:`f`
        itself.
    observe : callable or None
        ``observe(params, step) -> dict`` of tensors with a leading network axis, called
        under ``torch.no_grad`` with the detached current parameter set at every recorded
        step (one callable, so that observables can share work, e.g. a kernel and its
        drift).
    refine : callable or None
        A second-order refinement (:func:`newton_refinement`), run once on the full-batch
        objective when the last recorded step is reached, before its record.
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.

    Returns
    -------
    TrainRun
    """
    torch = _torch()
    if not isinstance(optimizer, (GradientDescent, Adam)):
        raise TypeError(f"optimizer must be a GradientDescent or an Adam; got "
                        f"{type(optimizer).__name__}")
    _check_loss(loss, reduction)
    params, target = as_parameters(network, params, device)
    dtype = _dtype_of(params)
    inputs = as_inputs(network, inputs, target, dtype)
    steps = check_record_at(record_at)
    n_networks, n_data = params["W1"].shape[0], inputs.shape[0]
    targets = as_targets(targets, n_networks, n_data, target, dtype)
    if batch_size is not None:
        batch_size = check_count("batch_size", batch_size)
        if batch_size > n_data:
            raise ValueError(f"batch_size must be <= n_data = {n_data}; got {batch_size}")
        rng = np.random.default_rng(check_count("seed", seed, minimum=0))
    if alpha is not None:
        alpha = check_real("alpha", alpha, 0.0, strict=True)
    with torch.no_grad():
        reference = (torch.zeros_like(targets) if alpha is None
                     else _forward(network, params, inputs))
    def criterion(outputs, labels, reference):
        if alpha is None:
            return losses(outputs, labels, loss, reduction)
        return losses(alpha * (outputs - reference), labels, loss, reduction) / alpha ** 2

    def objective(current, batch):
        if batch is None:
            return criterion(_forward(network, current, inputs), targets, reference)
        return criterion(_forward(network, current, inputs[batch]),
                         torch.take_along_dim(targets, batch, dim=1),
                         torch.take_along_dim(reference, batch, dim=1))

    def single(vector, labels, reference_row):
        outputs = _forward(network, unflatten_parameters(network, vector), inputs)
        return criterion(outputs, labels, reference_row)

    leaves = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    values = list(leaves.values())
    state = optimizer.init(values)
    records: dict = {}
    recorded_loss = []
    step, position = 0, 0
    while True:
        if step == steps[position]:
            if refine is not None and position == len(steps) - 1:
                with torch.no_grad():
                    vector = refine(single, flatten_parameters(network, leaves).detach(),
                                    targets, reference)
                    for value, piece in zip(values, unflatten_parameters(
                            network, vector).values(), strict=True):
                        value.copy_(piece)
            with torch.no_grad():
                current = {name: value.detach() for name, value in leaves.items()}
                recorded_loss.append(objective(current, None))
                if observe is not None:
                    for name, value in observe(current, step).items():
                        records.setdefault(name, []).append(value)
            position += 1
            if position == len(steps):
                break
        batch = None
        if batch_size is not None:
            order = np.argsort(rng.random((n_networks, n_data)), axis=1)[:, :batch_size]
            batch = torch.as_tensor(order, device=target)
        gradients = torch.autograd.grad(objective(leaves, batch).sum(), values)
        with torch.no_grad():
            optimizer.step(values, gradients, state, step)
        step += 1
    return TrainRun(steps, torch.stack(recorded_loss, dim=1).cpu().numpy(),
                    {name: torch.stack(record, dim=1).cpu().numpy()
                     for name, record in records.items()},
                    {name: value.detach() for name, value in leaves.items()})
