r"""Feature maps for the simulations: sphere inputs, random features, empirical-NTK features.

Conventions
-----------
Inputs are ``n_data`` points :math:`x_\mu` drawn uniformly on the sphere
:math:`S^{d-1}` of radius :math:`\sqrt d` (so :math:`\|x_\mu\|^2 = d` and the entries have
unit second moment), shape ``(n_data, input_dim)``. A feature map sends them to a matrix
:math:`\Phi` of shape ``(n_data, n_features)``; a linear model on the features has
:math:`N_\mathrm{eff} = \operatorname{rank}\Phi` effective parameters (see
:func:`numerical_rank`).

- *Random features*: :math:`\Phi_{\mu i} = \sigma(w_i\cdot x_\mu/\sqrt d)` with
  :math:`w_i` i.i.d. :math:`N(0, I_d)` (:func:`random_features`).
- *Empirical neural-tangent-kernel (NTK) features* of a finite network :math:`f(x;\theta)`
  with :math:`P` parameters: the Jacobian :math:`J_{\mu a} = \partial f(x_\mu;\theta)/
  \partial\theta_a` at the initialisation :math:`\theta_0`, shape ``(n_data, P)``. The model
  linearised at :math:`\theta_0`, :math:`f(x;\theta_0) + J(x)\,(\theta-\theta_0)`, is a
  linear model on these features, and :math:`JJ^\top` is the empirical NTK
  (:func:`empirical_ntk_features`).

The network (:class:`NetworkSpec`) is the fully connected
:class:`~jamming.simulate.networks.DenseNetwork` of :mod:`jamming.simulate.networks` in the
NTK parametrisation of ``neural_tangents.stax`` (``Dense(..., parameterization='ntk')``) with
a bias-free readout: with :math:`h^0 = x \in \mathbb{R}^d` and widths :math:`n_0 = d`,
:math:`n_1 = \dots = n_L = h`,

.. math::

    z^{l} = \frac{\sigma_w}{\sqrt{n_{l-1}}}\, W^{l} h^{l-1} + \sigma_b\, b^{l},\qquad
    h^{l} = \phi(z^{l})\quad (l = 1, \dots, L),\qquad
    f(x) = \frac{\sigma_w}{\sqrt{h}}\, a\cdot h^{L},

with every entry of :math:`W^l` (shape ``(h, n_{l-1})``), :math:`b^l` (shape ``(h,)``,
present only when ``bias=True``) and :math:`a` (shape ``(h,)``) i.i.d. :math:`N(0, 1)` at
initialisation. :math:`\phi` is one of :data:`FEATURE_ACTIVATIONS`.

What :class:`NetworkSpec` adds to the network is the layout of S1's parameters, on which the
Jacobian-rank sweeps' seeds and columns depend: a ``dict`` of float64 torch tensors in the
order ``W1, b1, W2, b2, ..., a`` (``b*`` only with biases), the weights stored as
``torch.nn.Linear`` stores them, ``(fan_out, fan_in)`` (the transpose of the stax
orientation of :mod:`~jamming.simulate.networks`), the readout as a vector; the Jacobian's
columns follow this order, each tensor flattened row-major
(:meth:`NetworkSpec.parameter_shapes`). The forward pass and the per-sample gradients are
those of :mod:`~jamming.simulate.networks`, applied to views of these tensors.

torch is imported inside the functions that need it, so that importing this module (for
:func:`sphere_inputs` or :func:`random_features`) stays light.

References
----------
A. Jacot, F. Gabriel, C. Hongler, "Neural tangent kernel: convergence and generalization in
neural networks", NeurIPS (2018). R. Novak *et al.*, "Neural Tangents: fast and easy infinite
neural networks in Python", ICLR (2020). A. Rahimi, B. Recht, "Random features for
large-scale kernel machines", NeurIPS (2007). S. Spigler, M. Geiger *et al.*, "A jamming
transition from under- to over-parametrization affects generalization in deep learning",
J. Phys. A 52, 474001 (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from jamming.simulate.activations import check_activation, numpy_activation
from jamming.simulate.devices import torch_device
from jamming.simulate.networks import (
    DenseNetwork,
    as_inputs,
    check_inputs,
    forward,
    per_sample_gradient_function,
    per_sample_gradients_loop,
)
from jamming.validation import check_count as _check_count

#: Activations of the feature maps and the network (a subset of
#: :data:`jamming.simulate.activations.ACTIVATIONS`: those of S1's kernels).
FEATURE_ACTIVATIONS = ("relu", "tanh", "erf", "identity")

#: Default number of Jacobian entries computed per vectorised call (2**21: 16 MB of float64).
CHUNK_ENTRIES = 2**21


def _check_rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator or an integer seed >= 0; got {rng!r}")


# --------------------------------------------------------------------------------------
# Inputs and random features (numpy)
# --------------------------------------------------------------------------------------


def sphere_inputs(n_data: int, input_dim: int, rng) -> np.ndarray:
    r"""Points drawn uniformly on the sphere :math:`S^{d-1}` of radius :math:`\sqrt d`.

    A standard normal vector divided by its norm is uniform on the unit sphere (rotation
    invariance); it is then scaled by :math:`\sqrt d`, so that :math:`\|x_\mu\| = \sqrt d`
    exactly (to rounding) and :math:`\mathbb{E}\,x_{\mu k}^2 = 1`.

    Parameters
    ----------
    n_data : int
        Number of points, :math:`\ge 1`.
    input_dim : int
        Dimension :math:`d \ge 1` of the ambient space (the sphere is :math:`S^{d-1}`; for
        :math:`d = 1` it is the two points :math:`\pm1`).
    rng : numpy.random.Generator or int
        Source of randomness, or a seed for :func:`numpy.random.default_rng`. Draws
        ``rng.standard_normal((n_data, input_dim))``.

    Returns
    -------
    numpy.ndarray, shape (n_data, input_dim), float64
    """
    n_data = _check_count("n_data", n_data)
    input_dim = _check_count("input_dim", input_dim)
    rng = _check_rng(rng)
    points = rng.standard_normal((n_data, input_dim))
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    while np.any(norms == 0.0):  # probability zero; redraw rather than divide by zero
        bad = norms[:, 0] == 0.0
        points[bad] = rng.standard_normal((int(bad.sum()), input_dim))
        norms = np.linalg.norm(points, axis=1, keepdims=True)
    return points * (math.sqrt(input_dim) / norms)


def random_feature_map(inputs, weights, *, activation: str = "relu") -> np.ndarray:
    r"""Random features :math:`\Phi_{\mu i} = \sigma(w_i\cdot x_\mu/\sqrt d)` for given weights.

    Parameters
    ----------
    inputs : array_like, shape (n_data, d)
    weights : array_like, shape (n_features, d)
        The rows :math:`w_i`.
    activation : {"relu", "tanh", "erf", "identity"}

    Returns
    -------
    numpy.ndarray, shape (n_data, n_features), float64
    """
    inputs = check_inputs(inputs)
    activation = check_activation(activation, FEATURE_ACTIVATIONS)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != inputs.shape[1] or weights.shape[0] < 1:
        raise ValueError(f"weights must have shape (n_features, {inputs.shape[1]}) with "
                         f"n_features >= 1; got {weights.shape}")
    return numpy_activation(activation)(inputs @ weights.T / math.sqrt(inputs.shape[1]))


def random_features(inputs, n_features: int, rng, *, activation: str = "relu") -> np.ndarray:
    r"""Random features with Gaussian weights: :math:`\sigma(W x/\sqrt d)` for every input.

    Draws ``W = rng.standard_normal((n_features, d))`` (i.i.d. :math:`N(0,1)` entries) and
    returns :func:`random_feature_map` of the inputs. The features of a ReLU map with
    :math:`n_\mathrm{features}` rows are generically linearly independent, so a linear model
    on them has :math:`N_\mathrm{eff} = \min(n_\mathrm{features}, N_\mathrm{data})` (for
    ``identity`` it is :math:`\min(d, n_\mathrm{features}, N_\mathrm{data})`). tanh and erf
    features are independent too, but their matrix is ill-conditioned when
    :math:`n_\mathrm{features}` exceeds the number of spherical harmonics resolvable in
    float64 (small :math:`d`), and :func:`numerical_rank` then reports less.

    Parameters
    ----------
    inputs : array_like, shape (n_data, d)
        E.g. :func:`sphere_inputs`.
    n_features : int
        Number of random features :math:`\ge 1`.
    rng : numpy.random.Generator or int
    activation : {"relu", "tanh", "erf", "identity"}

    Returns
    -------
    numpy.ndarray, shape (n_data, n_features), float64

    References
    ----------
    A. Rahimi, B. Recht, NeurIPS (2007); S. Mei, A. Montanari, "The generalization error of
    random features regression", Commun. Pure Appl. Math. 75, 667 (2022).
    """
    inputs = check_inputs(inputs)
    n_features = _check_count("n_features", n_features)
    check_activation(activation, FEATURE_ACTIVATIONS)
    rng = _check_rng(rng)
    weights = rng.standard_normal((n_features, inputs.shape[1]))
    return random_feature_map(inputs, weights, activation=activation)


# --------------------------------------------------------------------------------------
# Fully connected network in the NTK parametrisation (torch)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSpec:
    r"""A fully connected network with scalar output in the NTK parametrisation, S1's layout.

    See the module docstring for the forward pass and the layout; :attr:`network` is the
    same network as a :class:`~jamming.simulate.networks.DenseNetwork`. ``W_std``
    (:math:`\sigma_w`) multiplies every weight matrix, including the readout :math:`a`, and
    ``b_std`` (:math:`\sigma_b`) every bias; both as in ``neural_tangents.stax.Dense``, with
    the bias convention of :mod:`~jamming.simulate.networks` (``b_std`` > 0 with
    ``bias=True``, 0 without).

    Attributes
    ----------
    input_dim : int
        :math:`d \ge 1`.
    width : int
        :math:`h \ge 1`, the width of every hidden layer.
    depth : int
        :math:`L \ge 1`, the number of hidden layers.
    activation : {"relu", "tanh", "erf", "identity"}
    bias : bool
        Biases :math:`b^l` in the hidden layers (never at the output).
    W_std : float
        :math:`\sigma_w > 0`.
    b_std : float
        :math:`\sigma_b`: > 0 with ``bias=True``, 0 without.
    """

    input_dim: int
    width: int
    depth: int = 1
    activation: str = "relu"
    bias: bool = False
    W_std: float = 1.0
    b_std: float = 0.0

    def __post_init__(self):
        _check_count("input_dim", self.input_dim)
        _check_count("width", self.width)
        _check_count("depth", self.depth)
        check_activation(self.activation, FEATURE_ACTIVATIONS)
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be a bool; got {self.bias!r}")
        self.network  # noqa: B018 (DenseNetwork checks W_std, bias and b_std)

    @property
    def network(self) -> DenseNetwork:
        """The network as a :class:`~jamming.simulate.networks.DenseNetwork` (stax layout)."""
        return DenseNetwork(self.input_dim, self.width, depth=self.depth,
                            activation=self.activation, W_std=self.W_std,
                            bias=(self.bias,) * self.depth + (False,),
                            b_std=(self.b_std,) * self.depth + (0.0,))

    def parameter_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``[(name, shape), ...]`` in the order of the Jacobian's columns.

        ``W1`` (h, d), ``b1`` (h,), ``W2`` (h, h), ``b2`` (h,), ..., ``a`` (h,).
        """
        shapes = []
        fan_in = self.input_dim
        for layer in range(1, self.depth + 1):
            shapes.append((f"W{layer}", (self.width, fan_in)))
            if self.bias:
                shapes.append((f"b{layer}", (self.width,)))
            fan_in = self.width
        shapes.append(("a", (self.width,)))
        return shapes

    @property
    def n_parameters(self) -> int:
        r""":math:`P = dh + (L-1)h^2 + h + [\text{bias}]\,Lh`."""
        return sum(math.prod(shape) for _, shape in self.parameter_shapes())


def init_parameters(spec: NetworkSpec, rng, *, device="cpu") -> dict:
    r"""Initial parameters: every entry i.i.d. :math:`N(0, 1)`, float64.

    The numbers are drawn with numpy (``rng.standard_normal(shape)`` for each tensor in the
    order of :meth:`NetworkSpec.parameter_shapes`) and then moved to ``device``, so that one
    seed gives the same network on CPU and on CUDA (torch's CPU and CUDA generators would
    not).

    Parameters
    ----------
    spec : NetworkSpec
    rng : numpy.random.Generator or int
        Source of randomness, or a seed for :func:`numpy.random.default_rng`.
    device : {"cpu", "cuda", "auto"} or torch.device

    Returns
    -------
    dict of str to torch.Tensor
        Float64 leaf tensors (``requires_grad=False``), keys in Jacobian-column order.
    """
    import torch

    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec; got {type(spec).__name__}")
    rng = _check_rng(rng)
    target = torch_device(device)
    return {name: torch.as_tensor(rng.standard_normal(shape), dtype=torch.float64,
                                  device=target)
            for name, shape in spec.parameter_shapes()}


def _network_values(params: dict) -> tuple:
    """Views of S1-layout tensors in the layout of :attr:`NetworkSpec.network`, in order.

    ``W{l}`` (h, n) -> its transpose (n, h); ``b{l}`` as is; ``a`` (h,) -> (h, 1).
    """
    return tuple(value.T if name.startswith("W") else value[:, None] if name == "a" else value
                 for name, value in params.items())


def _feature_columns(names, gradients, n_data: int) -> list:
    """Per-sample gradients in the network's layout as S1-layout column blocks (n_data, -)."""
    return [(gradient.transpose(-1, -2) if name.startswith("W") else gradient)
            .reshape(n_data, -1) for name, gradient in zip(names, gradients, strict=True)]


def network_output(spec: NetworkSpec, params: dict, inputs):
    r"""The network's outputs :math:`f(x_\mu;\theta)` on a batch (torch, differentiable).

    :func:`jamming.simulate.networks.forward` of :attr:`NetworkSpec.network` on views of
    ``params``.

    Parameters
    ----------
    spec : NetworkSpec
    params : dict of str to torch.Tensor
        As from :func:`init_parameters`.
    inputs : torch.Tensor, shape (n_data, d) or (d,)
        On the parameters' device, float64.

    Returns
    -------
    torch.Tensor, shape (n_data,) (or a scalar for a single input of shape (d,))
    """
    network = spec.network
    names = [name for name, _ in network.parameter_shapes()]
    return forward(network, dict(zip(names, _network_values(params), strict=True)), inputs)


def _prepare(spec, params, inputs, device):
    import torch

    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec; got {type(spec).__name__}")
    names = [name for name, _ in spec.parameter_shapes()]
    if not isinstance(params, dict) or list(params) != names:
        got = list(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {names} in this order; got {got}")
    for name, shape in spec.parameter_shapes():
        if not isinstance(params[name], torch.Tensor):
            raise TypeError(f"params[{name!r}] must be a torch.Tensor; got "
                            f"{type(params[name]).__name__}")
        if tuple(params[name].shape) != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}; got "
                             f"{tuple(params[name].shape)}")
    target = torch_device(device, default=params["a"].device)
    params = {name: value.detach().to(device=target, dtype=torch.float64)
              for name, value in params.items()}
    return params, as_inputs(spec.network, inputs, target)


def empirical_ntk_features(spec: NetworkSpec, params: dict, inputs, *, device=None,
                           chunk_size: int | None = None, to_numpy: bool = True, out=None):
    r"""Jacobian of the outputs with respect to all parameters: empirical-NTK features.

    :math:`J_{\mu a} = \partial f(x_\mu;\theta)/\partial\theta_a`, computed by
    :func:`jamming.simulate.networks.per_sample_gradient_function` (per-sample reverse
    mode, ``vmap`` of ``grad`` over the inputs, :math:`O(N_\mathrm{data}P)`) on views of
    ``params``, with the columns put in S1's order. The empirical NTK is
    :math:`\Theta = JJ^\top`.

    Parameters
    ----------
    spec : NetworkSpec
    params : dict of str to torch.Tensor
        From :func:`init_parameters` (detached; not modified).
    inputs : array_like or torch.Tensor, shape (n_data, d)
    device : None, {"cpu", "cuda", "auto"} or torch.device
        Where to compute; ``None``: the device of ``params``.
    chunk_size : int or None
        Number of inputs per vectorised call; each chunk's rows are written into the
        preallocated result. ``None``: ``max(1, CHUNK_ENTRIES // P)`` inputs, which bounds
        the temporaries to about 16 MB of float64 per chunk (on a GPU, the memory of a
        large batch) at no cost in speed (``benchmarks/README.md``).
    to_numpy : bool
        Return a numpy array on the CPU (default) or a torch tensor on ``device``.
    out : torch.Tensor or None
        A contiguous float64 tensor of shape ``(n_data, P)`` on ``device`` to write into and
        return (for ``to_numpy``, a CPU ``out`` is returned as a numpy view of it). Reusing
        one saves the page faults of a fresh allocation, which dominate for large outputs.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n_data, P), float64
        Columns in the order of :meth:`NetworkSpec.parameter_shapes`, each parameter
        tensor flattened row-major; :math:`P` = ``spec.n_parameters``.
    """
    import torch

    if chunk_size is not None:
        chunk_size = _check_count("chunk_size", chunk_size)
    params, inputs = _prepare(spec, params, inputs, device)
    n_data = inputs.shape[0]
    chunk_size = chunk_size or max(1, CHUNK_ENTRIES // spec.n_parameters)
    gradients = per_sample_gradient_function(spec.network)
    values = _network_values(params)
    shape = (n_data, spec.n_parameters)
    if out is None:
        jacobian = torch.empty(shape, dtype=torch.float64, device=inputs.device)
    elif not (isinstance(out, torch.Tensor) and tuple(out.shape) == shape
              and out.dtype == torch.float64 and out.device == inputs.device
              and out.is_contiguous()):
        got = (f"{out.dtype} tensor of shape {tuple(out.shape)} on {out.device}"
               if isinstance(out, torch.Tensor) else type(out).__name__)
        raise ValueError(f"out must be a contiguous float64 torch.Tensor of shape {shape} on "
                         f"{inputs.device}; got a {got}")
    else:
        jacobian = out
    for start in range(0, n_data, chunk_size):
        stop = min(n_data, start + chunk_size)
        parts = gradients(*values, inputs[start:stop])
        torch.cat(_feature_columns(params, parts, stop - start), dim=1,
                  out=jacobian[start:stop])
    return jacobian.cpu().numpy() if to_numpy else jacobian


def empirical_ntk_features_loop(spec: NetworkSpec, params: dict, inputs, *, device=None,
                                to_numpy: bool = True):
    r"""The same Jacobian as :func:`empirical_ntk_features`, one sample at a time.

    :func:`jamming.simulate.networks.per_sample_gradients_loop` (a Python loop of
    ``torch.autograd.grad`` over the inputs): the slow textbook reference (an independent
    implementation for the tests and the anchor of the benchmark). Arguments and return
    value as in :func:`empirical_ntk_features`.
    """
    import torch

    params, inputs = _prepare(spec, params, inputs, device)
    leaves = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    parts = per_sample_gradients_loop(spec.network, _network_values(leaves), inputs)
    jacobian = torch.cat(_feature_columns(leaves, parts, inputs.shape[0]), dim=1)
    return jacobian.cpu().numpy() if to_numpy else jacobian


# --------------------------------------------------------------------------------------
# Numerical rank
# --------------------------------------------------------------------------------------


def numerical_rank(features, *, tol: float | None = None) -> tuple[int, np.ndarray]:
    r"""Numerical rank of a feature matrix, and its singular values.

    The rank is the number of singular values above ``tol``, by default
    :math:`\sigma_\mathrm{max}\cdot\max(n, m)\cdot\epsilon` with :math:`\epsilon` the float64
    machine epsilon, the tolerance of :func:`numpy.linalg.matrix_rank` (and of MATLAB's
    ``rank``): singular values below it are indistinguishable from rounding errors of an
    SVD of an exactly rank-deficient matrix.

    Parameters
    ----------
    features : array_like, shape (n, m)
    tol : float or None
        Absolute threshold :math:`\ge 0`; ``None`` for the default above.

    Returns
    -------
    rank : int
    singular_values : numpy.ndarray, shape (min(n, m),)
        In decreasing order.
    """
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or min(matrix.shape) < 1:
        raise ValueError(f"features must be a 2-d array with both sizes >= 1; got shape "
                         f"{matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("features must be finite")
    singular_values = np.linalg.svd(matrix, compute_uv=False)
    if tol is None:
        tol = singular_values[0] * max(matrix.shape) * np.finfo(np.float64).eps
    else:
        tol = float(tol)
        if not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"tol must be a finite number >= 0; got {tol}")
    return int(np.count_nonzero(singular_values > tol)), singular_values
