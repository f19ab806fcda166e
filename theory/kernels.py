r"""Infinite-width kernels (NNGP and NTK) of fully connected networks.

Conventions (those of ``neural_tangents.stax``, version 0.6.5)
---------------------------------------------------------------
Inputs are the rows of ``x1`` (shape ``(n1, d)``) and ``x2`` (shape ``(n2, d)``); they are not
normalized. The network of depth :math:`L` (``depth`` hidden layers) is

.. code-block:: python

    stax.serial(*[stax.Dense(width, W_std, b_std), activation] * depth,
                stax.Dense(1, W_std, b_std))

in the NTK parametrization: a dense layer maps :math:`x\in\mathbb{R}^{n}` to
:math:`z = \sigma_w W x/\sqrt{n} + \sigma_b b` with :math:`W_{ij}, b_i \sim N(0, 1)` the trained
parameters (:math:`\sigma_w` = ``W_std``, :math:`\sigma_b` = ``b_std``). ``b_std = 0`` means
*no bias*: a bias of scale 0 adds nothing to :math:`z`, to :math:`K` or to :math:`\Theta` (its
gradient carries the factor :math:`\sigma_b`), so the kernels are those of the bias-free
network, ``neural_tangents``' ``b_std=None`` and ``DenseNetwork(bias=False)`` of
:mod:`jamming.simulate.networks`; a bias of scale :math:`\sigma_b > 0` is ``bias=True,
b_std=sigma_b`` there (``docs/notes/conventions.md``). As all hidden widths tend to infinity,
the pre-activations are a Gaussian process with covariance (NNGP kernel) :math:`K` and the
neural tangent kernel is :math:`\Theta`. Starting from the input covariance and :math:`\Theta = 0`,

.. math::

    K^{(0)}(x, x') = x\cdot x'/d,\qquad
    \text{Dense:}\quad K \leftarrow \sigma_w^2 K + \sigma_b^2,\quad
    \Theta \leftarrow K_\text{new} + \sigma_w^2\,\Theta,

    \text{activation } \phi:\quad K \leftarrow \mathbb{E}[\phi(u)\phi(v)],\quad
    \Theta \leftarrow \Theta\;\mathbb{E}[\phi'(u)\phi'(v)],\qquad
    (u, v) \sim N\Big(0, \begin{pmatrix} q_1 & c\\ c & q_2\end{pmatrix}\Big),

with :math:`c = K(x, x')`, :math:`q_1 = K(x, x)`, :math:`q_2 = K(x', x')` the current kernels
(the diagonal recursion :math:`q \leftarrow \mathbb{E}\phi(u)^2` is run once per input; without
a closed form it is the 1-D Gauss–Hermite rule of
:func:`jamming.theory.activations.gaussian_expectation`). After
the last ``Dense`` layer, :func:`nngp` and :func:`ntk` return :math:`K` and :math:`\Theta`
(shape ``(n1, n2)``, float64). ``depth = 0`` is the linear model.

Activations (the ``stax`` layer and its parameters in brackets)
---------------------------------------------------------------
The names, parameters and functions are those of the registry of
:mod:`jamming.theory.activations`. Closed forms, with :math:`\theta = \arccos(c/\sqrt{q_1q_2})` and
:math:`s = \sqrt{q_1 q_2 - c^2}` (the ``arctan2`` form of ``stax`` is used in the code):

* ``"abrelu"`` :math:`\phi = a\min(x,0) + b\max(x,0)` (``ABRelu(a, b)``):
  :math:`K = \frac{(a-b)^2}{2\pi} s + \big(\frac{a^2+b^2}{2} - \frac{(a-b)^2}{2\pi}\theta\big) c`,
  :math:`\mathbb{E}\phi'\phi' = \frac{a^2+b^2}{2} - \frac{(a-b)^2}{2\pi}\theta`; ``"relu"``
  (``Relu()``, :math:`a=0, b=1`: the arc-cosine kernels of orders 1 and 0 of Cho & Saul,
  :math:`K = (s + (\pi-\theta)c)/2\pi`, :math:`\mathbb{E}\phi'\phi' = (\pi-\theta)/2\pi`),
  ``"leaky_relu"`` (``LeakyRelu(alpha)``, :math:`a = \alpha, b = 1`), ``"abs"``
  (``Abs()``, :math:`a=-1, b=1`), ``"identity"`` (:math:`a = b = 1`).
* ``"erf"`` :math:`\phi = a\,\mathrm{erf}(bx) + c_0` (``Erf(a, b, c)``): with
  :math:`\tilde q = b^2 q`, :math:`\tilde c = b^2 c`,
  :math:`K = a^2\frac{2}{\pi}\arcsin\frac{2\tilde c}{\sqrt{(1+2\tilde q_1)(1+2\tilde q_2)}}
  + c_0^2`, :math:`\mathbb{E}\phi'\phi' = a^2 b^2\frac{4}{\pi}
  \big((1+2\tilde q_1)(1+2\tilde q_2) - 4\tilde c^2\big)^{-1/2}` (Williams 1997).
  ``"sigmoid_like"`` is ``Sigmoid_like()`` = ``Erf(0.5, 1/2.4020563531719796, 0.5)``.
* ``"gelu"`` :math:`\phi = x\Phi(x)` (``Gelu()``, exact, not the tanh approximation; Tsuchida
  et al. 2020), ``"sin"`` :math:`\phi = a\sin(bx + c_0)` (``Sin(a, b, c)``) and ``"cos"``
  (``Cos(a, b, c)`` = ``Sin(a, b, c + pi/2)``).

Other activations — ``"tanh"``, ``"sigmoid"`` (logistic), ``"softplus"``, ``"silu"``, or a pair
``(phi, dphi)`` of vectorized callables — use a 2-D Gauss–Hermite rule of ``degree`` nodes per
axis, written as ``stax.ElementwiseNumerical(phi, degree, dphi)`` does it:
:math:`u = \sqrt{2q_1}\,x_i`, :math:`v = c\sqrt{2/q_1}\,x_i + \sqrt{2(q_2 - c^2/q_1)}\,y_j`,
:math:`\mathbb{E}f(u)f(v) \approx \pi^{-1}\sum_{ij} w_i w_j f(u_i)f(v_{ij})`. ``stax`` has no
``Tanh`` layer; ``ElementwiseNumerical`` is its tanh. Accuracy (absolute error of one layer's
:math:`\mathbb{E}\phi(u)\phi(v)` against ``mpmath`` 2-D integration (measured once), at
:math:`(q_1, q_2, c) = (q, 0.8q, 0.5q)`; checked in the tests):

===========  ======  =========  =========  =========  =========
activation   q       degree 32  64         100        200
===========  ======  =========  =========  =========  =========
tanh         1       2e-7       1e-10      2e-13      1e-15
tanh         4       2e-4       4e-6       2e-7       3e-10
tanh         25      2e-3       9e-4       3e-4       2e-5
sigmoid      4       4e-8       3e-11      5e-14      6e-17
softplus     4       2e-8       8e-12      1e-14      9e-15
silu         4       1e-8       8e-12      3e-13      3e-13
gelu         4       3e-7       3e-12      4e-16      9e-15
any of them  1       2e-7       1e-10      2e-13      2e-15
the others   25      ≤ 2e-2     ≤ 2e-3     ≤ 9e-5     ≤ 9e-8
===========  ======  =========  =========  =========  =========

so at the default ``degree = 100`` the error is below 1e-12 for variances :math:`q\le 1` and
all these activations (1e-11 for :math:`\mathbb{E}\phi'\phi'` of tanh), below 1e-12 for
:math:`q\le 4` except tanh (2e-7) (the tests check q <= 1 against scipy's adaptive
``dblquad`` and one tanh value against mpmath); the rule loses
accuracy as :math:`\phi(\sqrt q\,\cdot)` gets steeper (large :math:`q`): raise ``degree``
there. sin and erf are exact to rounding. Non-smooth activations (relu, abs) converge only
algebraically: use the closed forms. The cost is :math:`O(n_1 n_2\,\text{degree}^2)`
evaluations of :math:`\phi`, done in chunks of bounded memory. With ``x2 = None`` the upper
triangle is computed and mirrored (the rule is not symmetric in :math:`q_1, q_2`), so entries
below the diagonal differ from ``ElementwiseNumerical``'s by at most the quadrature error.

Backends
--------
``backend="numpy"`` (default) or ``"torch"`` (imported only then; ``device="cuda"`` for large
Gram matrices on a GPU). Both run the same code with float64 arithmetic; the torch result is
returned as a numpy array unless ``as_tensor=True``.

Symbolic form
-------------
:func:`symbolic_layer` gives one layer's update as ``sympy`` expressions, :func:`latex_recursion`
their LaTeX, so that the paper prints the equations the code evaluates.

References
----------
R. M. Neal, Bayesian Learning for Neural Networks (1996); C. K. I. Williams, "Computing with
infinite networks", NeurIPS (1997); Y. Cho, L. K. Saul, "Kernel methods for deep learning",
NeurIPS (2009); A. Jacot, F. Gabriel, C. Hongler, "Neural tangent kernel", NeurIPS (2018);
J. Lee et al., "Deep neural networks as Gaussian processes", ICLR (2018); R. Novak et al.,
"Neural Tangents: fast and easy infinite neural networks in Python", ICLR (2020); R. Tsuchida,
T. Pearce, C. van der Heide, F. Roosta, M. Gallagher, "Avoiding kernel fixed points: computing
with ELU and GELU infinite networks", AAAI (2021); I. Han et al., "Fast neural kernel embeddings
for general activations", NeurIPS (2022).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import roots_hermite

from jamming.theory.activations import (
    REGISTRY,
    Activation,
    ArrayFunctions,
    gaussian_expectation,
    resolve_activation,
)
from jamming.validation import check_count as _check_count
from jamming.validation import check_finite_array as _check_finite_array

#: Activation families with closed-form dual kernels (see the module docstring).
_CLOSED_FORM_FAMILIES = ("abrelu", "erf", "gelu", "sin")
#: Activations with closed-form dual kernels.
CLOSED_FORM_ACTIVATIONS = tuple(name for name, entry in REGISTRY.items()
                                if entry.family in _CLOSED_FORM_FAMILIES)
#: Activations evaluated by 2-D Gauss–Hermite quadrature (any callable pair also works).
QUADRATURE_ACTIVATIONS = tuple(name for name, entry in REGISTRY.items()
                               if entry.family not in _CLOSED_FORM_FAMILIES
                               and entry.differentiable)
#: All activation names accepted by :func:`nngp` / :func:`ntk`.
ACTIVATIONS = CLOSED_FORM_ACTIVATIONS + QUADRATURE_ACTIVATIONS

#: Default number of Gauss–Hermite nodes per axis (see the module docstring for accuracy).
DEFAULT_DEGREE = 100

#: Elements of the (n1, n2, chunk) arrays of one quadrature step.
_QUAD_CHUNK_ELEMENTS = 1 << 22


# --------------------------------------------------------------------------------------------
# array back ends


class _NumpyOps(ArrayFunctions):
    name = "numpy"

    def __init__(self):
        super().__init__()
        self.arctan2, self.where = np.arctan2, np.where

    def asarray(self, x):
        return np.asarray(x, dtype=np.float64)

    def nodes(self, x):
        return np.asarray(x, dtype=np.float64)

    def to_numpy(self, x):
        return np.asarray(x)

    def empty(self, shape):
        return np.empty(shape, dtype=np.float64)

    def triu(self, x, k):
        return np.triu(x, k)

    def set_diagonal(self, x, values):
        np.fill_diagonal(x, values)


class _TorchOps:
    name = "torch"

    def __init__(self, device):
        import torch  # lazy: theory modules do not import torch at import time

        self.torch = torch
        self.device = torch.device(device if device is not None else "cpu")
        # the primitives of activations.ArrayFunctions, in torch
        self.sqrt, self.exp, self.sin, self.cos = torch.sqrt, torch.exp, torch.sin, torch.cos
        self.tanh, self.erf, self.sigmoid, self.sign = (torch.tanh, torch.erf, torch.sigmoid,
                                                        torch.sign)
        self.softplus, self.relu = torch.nn.functional.softplus, torch.relu
        self.arctan2, self.where = torch.atan2, torch.where

    def asarray(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(device=self.device, dtype=self.torch.float64)
        return self.torch.as_tensor(np.asarray(x, dtype=np.float64), device=self.device)

    def step(self, x):
        return (x > 0).to(x.dtype)

    def nodes(self, x):
        return self.asarray(x)

    def to_numpy(self, x):
        return x.detach().cpu().numpy()

    def empty(self, shape):
        return self.torch.empty(shape, dtype=self.torch.float64, device=self.device)

    def triu(self, x, k):
        return self.torch.triu(x, k)

    def set_diagonal(self, x, values):
        x.diagonal().copy_(values)


def _ops(backend: str, device):
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device must be None or 'cpu' for backend='numpy'; got {device!r}")
        return _NumpyOps()
    if backend == "torch":
        return _TorchOps(device)
    raise ValueError(f"backend must be 'numpy' or 'torch'; got {backend!r}")



# --------------------------------------------------------------------------------------------
# dual activations: (q1, q2, c) -> (E phi(u) phi(v), E phi'(u) phi'(v))


def _closed_form_dual(ops, act: Activation, q1, q2, c, need_dot: bool):
    family = act.family
    if family == "abrelu":
        a, b = act.coefficients
        root = ops.sqrt(ops.relu(q1 * q2 - c * c))
        # arctan2(0, 0) = 0 for numpy and torch; stax fills pi/2 there, which multiplies c = 0.
        angle = ops.arctan2(root, c)
        factor = (a - b) ** 2 / (2.0 * math.pi)
        dot = (a * a + b * b) / 2.0 - factor * angle
        return factor * root + dot * c, (dot if need_dot else None)
    if family == "erf":
        a, b, c0 = act.coefficients
        b2 = b * b
        prod = (1.0 + 2.0 * b2 * q1) * (1.0 + 2.0 * b2 * q2)
        root = ops.sqrt(ops.relu(prod - 4.0 * (b2 * c) ** 2))
        k = a * a * (2.0 / math.pi) * ops.arctan2(2.0 * b2 * c, root) + c0 * c0
        dot = a * a * b2 * (4.0 / math.pi) / root if need_dot else None
        return k, dot
    if family == "gelu":
        prod = q1 * q2
        prod_plus_1 = (q1 + 1.0) * (q2 + 1.0)
        delta2 = prod_plus_1 - c * c
        delta = ops.sqrt(ops.relu(delta2))
        angle = ops.arctan2(c, delta)
        k = ((c * c + prod * delta2) / (prod_plus_1 * delta) + c * angle) / (2.0 * math.pi)
        k = k + 0.25 * c
        dot = None
        if need_dot:
            first = (1.0 / delta2 + (1.0 - prod) / prod_plus_1 + 1.0) * c / delta / (2 * math.pi)
            dot = first + 0.25 + angle / (2.0 * math.pi)
        return k, dot
    if family == "sin":
        a, b, c0 = act.coefficients
        half_a2 = a * a / 2.0
        s1 = ops.exp(b * b * (-0.5 * (q1 + q2) + c))
        s2 = ops.exp(b * b * (-0.5 * (q1 + q2) - c)) * math.cos(2.0 * c0)
        k = half_a2 * (s1 - s2)
        dot = half_a2 * b * b * (s1 + s2) if need_dot else None
        return k, dot
    raise AssertionError(act.name)  # pragma: no cover


def _quadrature_dual(ops, phi, dphi, q1, q2, c, degree: int, need_dot: bool):
    """2-D Gauss–Hermite rule for E f(u) f(v), f = phi and phi', as ``ElementwiseNumerical``."""
    xs, ws = roots_hermite(degree)
    c = c + 0.0 * q1 + 0.0 * q2  # broadcast to (n1, n2)
    q1b = q1 + 0.0 * c
    q2b = q2 + 0.0 * c
    positive = q1b > 0
    safe_q1 = ops.where(positive, q1b, 1.0 + 0.0 * q1b)
    slope = ops.where(positive, c * ops.sqrt(2.0 / safe_q1), 0.0 * c)
    spread = ops.sqrt(2.0 * ops.relu(q2b - c * c / safe_q1))
    root_2q1 = ops.sqrt(2.0 * ops.relu(q1))
    n_pairs = max(int(np.prod(tuple(c.shape))), 1)
    chunk = max(1, min(degree, _QUAD_CHUNK_ELEMENTS // n_pairs))
    y_all, w_all = ops.nodes(xs), ops.nodes(ws)
    k = 0.0 * c
    dot = 0.0 * c if need_dot else None
    for i in range(degree):
        base = slope * float(xs[i])
        inner_k = 0.0 * c
        inner_d = 0.0 * c if need_dot else None
        for start in range(0, degree, chunk):
            y = y_all[start:start + chunk]
            w = w_all[start:start + chunk]
            v = base[..., None] + spread[..., None] * y
            inner_k = inner_k + (phi(v) * w).sum(-1)
            if need_dot:
                inner_d = inner_d + (dphi(v) * w).sum(-1)
        u = root_2q1 * float(xs[i])
        k = k + float(ws[i]) * phi(u) * inner_k
        if need_dot:
            dot = dot + float(ws[i]) * dphi(u) * inner_d
    k = k / math.pi
    if need_dot:
        dot = dot / math.pi
    return k, dot


def _closed_form(act: Activation, method: str) -> bool:
    return method == "closed" or (method == "auto" and act.name in CLOSED_FORM_ACTIVATIONS)


def _dual(ops, act: Activation, q1, q2, c, need_dot: bool, method: str, degree: int):
    if _closed_form(act, method):
        return _closed_form_dual(ops, act, q1, q2, c, need_dot)
    phi, dphi = act.functions(ops)
    return _quadrature_dual(ops, phi, dphi, q1, q2, c, degree, need_dot)


def dual_activation(q1, q2, c, activation="relu", *, params=None, method: str = "auto",
                    degree: int = DEFAULT_DEGREE, derivative: bool = True):
    r"""One activation layer's kernel map: :math:`\mathbb{E}\phi(u)\phi(v)` and
    :math:`\mathbb{E}\phi'(u)\phi'(v)` for :math:`(u,v)\sim N(0, [[q_1, c], [c, q_2]])`.

    Parameters
    ----------
    q1, q2, c : array_like
        Variances and covariance, finite, broadcastable to a common shape;
        :math:`c^2\le q_1 q_2`.
    activation, params
        See :func:`jamming.theory.activations.resolve_activation`.
    method : {"auto", "closed", "quadrature"}
        ``"auto"`` uses the closed form where one exists.
    degree : int
        Gauss–Hermite nodes per axis for the quadrature.
    derivative : bool
        Whether to compute the second output (else ``None``).

    Returns
    -------
    k, kdot : ndarray (float64)
        The broadcast shape of the inputs.
    """
    act = resolve_activation(activation, params, names=ACTIVATIONS)
    _check_method(method)
    degree = _check_count("degree", degree)
    ops = _NumpyOps()
    q1, q2, c = (_check_finite_array(name, a) for name, a in (("q1", q1), ("q2", q2), ("c", c)))
    shape = np.broadcast_shapes(q1.shape, q2.shape, c.shape)
    q1, q2, c = (np.broadcast_to(a, shape) for a in (q1, q2, c))
    k, kdot = _dual(ops, act, q1, q2, c, derivative, method, degree)
    return np.asarray(k, dtype=np.float64), (None if kdot is None else np.asarray(kdot))


def _check_method(method):
    if method not in ("auto", "closed", "quadrature"):
        raise ValueError(f"method must be 'auto', 'closed' or 'quadrature'; got {method!r}")


# --------------------------------------------------------------------------------------------
# networks


def _layer_stds(name: str, value, depth: int) -> list[float]:
    if np.ndim(value) == 0:
        values = [float(value)] * (depth + 1)
    else:
        values = [float(v) for v in value]
        if len(values) != depth + 1:
            raise ValueError(f"{name} must be a number or a sequence of depth + 1 = {depth + 1} "
                             f"numbers; got {len(values)}")
    for v in values:
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0; got {v}")
    return values


def check_inputs(x1, x2):
    """``x1`` (shape ``(n1, d)``) and ``x2`` (``(n2, d)`` or ``None``) as float64 arrays.

    Torch tensors are passed through. The shapes are checked and the entries must be finite
    (``ValueError`` naming ``x1`` or ``x2``).
    """
    x1 = _finite_inputs("x1", x1)
    if x1.ndim != 2 or x1.shape[0] < 1 or x1.shape[1] < 1:
        raise ValueError(f"x1 must have shape (n1, d) with n1, d >= 1; got {tuple(x1.shape)}")
    if x2 is not None:
        x2 = _finite_inputs("x2", x2)
        if x2.ndim != 2 or x2.shape[0] < 1 or x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x2 must have shape (n2, d) with d = {x1.shape[1]}; "
                             f"got {tuple(x2.shape)}")
    return x1, x2


def _finite_inputs(name: str, x):
    """``x`` as a finite float64 array, or the torch tensor itself once checked finite."""
    if not _is_tensor(x):
        return _check_finite_array(name, x)
    if not bool(x.isfinite().all()):
        raise ValueError(f"{name} must be finite; got NaN or infinite entries")
    return x


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch")


def nngp_ntk(x1, x2=None, depth: int = 1, activation="relu", W_std=1.0, b_std=0.0, *,
             params: Mapping[str, float] | None = None, method: str = "auto",
             degree: int = DEFAULT_DEGREE, compute_ntk: bool = True, backend: str = "numpy",
             device=None, as_tensor: bool = False, block_elements: int | None = None):
    r"""NNGP and NTK Gram matrices of the fully connected network of ``depth`` hidden layers.

    Parameters
    ----------
    x1 : array_like, shape (n1, d)
        Inputs (rows), not normalized; the input covariance is ``x1 @ x2.T / d``.
    x2 : array_like, shape (n2, d), optional
        Second set of inputs; ``None`` means ``x1`` (the result is then exactly symmetric).
    depth : int
        Number of hidden layers (``Dense`` + activation), ``>= 0``.
    activation : str or (phi, dphi)
        See :func:`jamming.theory.activations.resolve_activation`; :data:`ACTIVATIONS`
        lists the names.
    W_std, b_std : float or sequence of ``depth + 1`` floats
        Weight and bias standard deviations (``stax.Dense(W_std, b_std)``), finite and
        ``>= 0``; ``b_std = 0`` is a layer without bias (module docstring).
    params : mapping, optional
        Activation parameters (``alpha``; ``a, b``; ``a, b, c``).
    method : {"auto", "closed", "quadrature"}
        ``"quadrature"`` forces Gauss–Hermite for the smooth closed-form activations too.
    degree : int
        Gauss–Hermite nodes per axis (see the module docstring for the accuracy).
    compute_ntk : bool
        If ``False`` only the NNGP is computed (the second output is ``None``).
    backend : {"numpy", "torch"}
        Array library; torch is imported only when chosen.
    device : str, optional
        Torch device, e.g. ``"cuda"`` (default ``"cpu"``).
    as_tensor : bool
        With ``backend="torch"``, return torch tensors instead of numpy arrays.
    block_elements : int, optional
        The Gram matrix is computed in blocks of rows of about this many entries (default
        2**18 for numpy, which keeps the temporaries in cache, 2**24 for torch). With
        ``x2 = None`` only the upper triangle is computed and then mirrored, so the result is
        exactly symmetric.

    Returns
    -------
    nngp, ntk : ndarray, shape (n1, n2), float64
        :math:`K` and :math:`\Theta` of the network output (``ntk`` is ``None`` when
        ``compute_ntk`` is false).
    """
    depth = _check_count("depth", depth, minimum=0)
    degree = _check_count("degree", degree)
    _check_method(method)
    act = resolve_activation(activation, params, names=ACTIVATIONS)
    w_stds = _layer_stds("W_std", W_std, depth)
    b_stds = _layer_stds("b_std", b_std, depth)
    x1, x2 = check_inputs(x1, x2)
    ops = _ops(backend, device)
    if block_elements is None:
        block_elements = 1 << (24 if ops.name == "torch" else 18)
    block_elements = _check_count("block_elements", block_elements)
    same = x2 is None
    a1 = ops.asarray(x1)
    a2 = a1 if same else ops.asarray(x2)
    d = a1.shape[1]
    # the diagonal recursions, once per input: pre-activation variances after each Dense
    q_in = (a1 * a1).sum(1) / d
    q1_layers = _diagonal_recursion(ops, act, q_in, w_stds, b_stds, method, degree)
    q2_layers = q1_layers if same else _diagonal_recursion(
        ops, act, (a2 * a2).sum(1) / d, w_stds, b_stds, method, degree)
    n1, n2 = a1.shape[0], a2.shape[0]
    out_k = ops.empty((n1, n2))
    out_t = ops.empty((n1, n2)) if compute_ntk else None
    rows = max(1, min(n1, block_elements // max(n2, 1)))
    for i0 in range(0, n1, rows):
        i1 = min(n1, i0 + rows)
        j0 = i0 if same else 0  # symmetric: the upper triangle, then mirrored
        c = (a1[i0:i1] @ a2[j0:].T) / d
        if same:
            ops.set_diagonal(c, q_in[i0:i1])
        k, t = _block_recursion(ops, act, c, [q[i0:i1, None] for q in q1_layers],
                                [q[None, j0:] for q in q2_layers], w_stds, b_stds,
                                compute_ntk, method, degree)
        for out, val in ((out_k, k), (out_t, t)):
            if out is None:
                continue
            if same:
                bs = i1 - i0
                square = val[:, :bs]
                square = ops.triu(square, 0) + ops.triu(square, 1).T
                out[i0:i1, i0:i1] = square
                out[i0:i1, i1:] = val[:, bs:]
                out[i1:, i0:i1] = val[:, bs:].T
            else:
                out[i0:i1] = val
    if ops.name == "torch" and as_tensor:
        return out_k, out_t
    return ops.to_numpy(out_k), (None if out_t is None else ops.to_numpy(out_t))


def _diagonal_recursion(ops, act, q, w_stds, b_stds, method, degree):
    """Variances q^(l) after the Dense layer l = 0..depth (a list of vectors)."""
    out = []
    for layer in range(len(w_stds)):
        q = w_stds[layer] ** 2 * q + b_stds[layer] ** 2
        out.append(q)
        if layer < len(w_stds) - 1:
            q = _dual_diagonal(ops, act, q, method, degree)
    return out


def _block_recursion(ops, act, c, q1_layers, q2_layers, w_stds, b_stds, compute_ntk, method,
                     degree):
    """The off-diagonal recursion on one block of input covariances ``c``."""
    depth = len(w_stds) - 1
    theta = None
    for layer in range(depth + 1):
        w2, b2 = w_stds[layer] ** 2, b_stds[layer] ** 2
        c = w2 * c + b2
        if compute_ntk:
            theta = c * 1.0 if layer == 0 else c + w2 * theta
        if layer == depth:
            break
        c, dot = _dual(ops, act, q1_layers[layer], q2_layers[layer], c, compute_ntk, method,
                       degree)
        if compute_ntk:
            theta *= dot
    return c, theta


def _dual_diagonal(ops, act: Activation, q, method: str, degree: int):
    """E phi(u)^2 for u ~ N(0, q): the 2-D map at c = q (exact for the closed forms)."""
    if _closed_form(act, method):
        return _closed_form_dual(ops, act, q, q, q, False)[0]
    phi = act.functions(ops)[0]
    return gaussian_expectation(lambda u: phi(u) ** 2, q, degree, ops)


def nngp(x1, x2=None, depth: int = 1, activation="relu", W_std=1.0, b_std=0.0, **kwargs):
    """NNGP kernel :math:`K(x_1, x_2)` of the network, shape ``(n1, n2)``.

    Same arguments as :func:`nngp_ntk` (the NTK is not computed).
    """
    return nngp_ntk(x1, x2, depth, activation, W_std, b_std, compute_ntk=False, **kwargs)[0]


def ntk(x1, x2=None, depth: int = 1, activation="relu", W_std=1.0, b_std=0.0, **kwargs):
    r"""Neural tangent kernel :math:`\Theta(x_1, x_2)` of the network, shape ``(n1, n2)``.

    Same arguments as :func:`nngp_ntk`.
    """
    return nngp_ntk(x1, x2, depth, activation, W_std, b_std, **kwargs)[1]


# --------------------------------------------------------------------------------------------
# symbolic form


def symbolic_layer(activation: str = "relu"):
    r"""One layer of the kernel recursion as ``sympy`` expressions.

    Symbols: ``q1, q2`` (positive, the variances), ``c`` (the covariance), ``K, Theta`` (the
    kernels entering a layer), ``sigma_w, sigma_b``.

    Parameters
    ----------
    activation : {"relu", "erf", "abs", "sin"}
        ``"erf"`` is :math:`\mathrm{erf}(x)`, ``"sin"`` is :math:`\sin x` (unit parameters).

    Returns
    -------
    dict
        ``symbols`` (dict name -> Symbol), ``dense_nngp``, ``dense_ntk`` (the Dense update of
        :math:`K` and :math:`\Theta`), ``nngp`` (:math:`\mathbb{E}\phi(u)\phi(v)`), ``dot``
        (:math:`\mathbb{E}\phi'(u)\phi'(v)`), ``ntk`` (:math:`\Theta\,\mathbb{E}\phi'\phi'`).
    """
    import sympy as sp

    q1, q2 = sp.symbols("q_1 q_2", positive=True)
    c = sp.Symbol("c", real=True)
    K, Theta = sp.symbols("K Theta", real=True)
    sw, sb = sp.symbols("sigma_w sigma_b", nonnegative=True)
    if activation in ("relu", "abs"):
        theta = sp.acos(c / sp.sqrt(q1 * q2))
        s = sp.sqrt(q1 * q2 - c**2)
        if activation == "relu":
            k = (s + (sp.pi - theta) * c) / (2 * sp.pi)
            dot = (sp.pi - theta) / (2 * sp.pi)
        else:
            k = 2 * s / sp.pi + (1 - 2 * theta / sp.pi) * c
            dot = 1 - 2 * theta / sp.pi
    elif activation == "erf":
        k = 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))
        dot = 4 / (sp.pi * sp.sqrt((1 + 2 * q1) * (1 + 2 * q2) - 4 * c**2))
    elif activation == "sin":
        k = sp.exp(-(q1 + q2) / 2) * sp.sinh(c)
        dot = sp.exp(-(q1 + q2) / 2) * sp.cosh(c)
    else:
        raise ValueError(f"activation must be 'relu', 'abs', 'erf' or 'sin'; got {activation!r}")
    dense_k = sw**2 * K + sb**2
    return {
        "symbols": {"q1": q1, "q2": q2, "c": c, "K": K, "Theta": Theta, "sigma_w": sw,
                    "sigma_b": sb},
        "dense_nngp": dense_k,
        "dense_ntk": dense_k + sw**2 * Theta,
        "nngp": k,
        "dot": dot,
        "ntk": Theta * dot,
    }


def latex_recursion(activation: str = "relu") -> dict[str, str]:
    """LaTeX strings of :func:`symbolic_layer`'s expressions (``K' = ...`` style equations)."""
    import sympy as sp

    layer = symbolic_layer(activation)
    return {
        "dense_nngp": r"K \leftarrow " + sp.latex(layer["dense_nngp"]),
        "dense_ntk": r"\Theta \leftarrow " + sp.latex(layer["dense_ntk"]),
        "nngp": r"\mathbb{E}\,\phi(u)\phi(v) = " + sp.latex(layer["nngp"]),
        "dot": r"\mathbb{E}\,\phi'(u)\phi'(v) = " + sp.latex(layer["dot"]),
    }


__all__ = [
    "ACTIVATIONS", "CLOSED_FORM_ACTIVATIONS", "QUADRATURE_ACTIVATIONS", "DEFAULT_DEGREE",
    "check_inputs", "dual_activation", "latex_recursion", "nngp", "nngp_ntk", "ntk",
    "symbolic_layer",
]
