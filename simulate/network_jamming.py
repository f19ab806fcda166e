r"""Networks trained to exact convergence on the quadratic hinge, with certificates (S2).

:func:`train_to_certificate` minimises, for every network :math:`s` of a parameter set
(:mod:`jamming.simulate.networks`, leading network axis, float64), the quadratic hinge

.. math::

    L_s(w) = \frac{1}{2a^2}\sum_\mu \Delta_\mu(w)_+^2,\qquad
    \Delta_\mu = 1 - y_\mu F(x_\mu; w),

with :math:`F = f` (``alpha=None``, :math:`a = 1`) or Geiger et al.'s output scale
:math:`F = \alpha\,(f(w) - f(w_0))`, :math:`a = \alpha` (as
:func:`~jamming.simulate.networks.train`: large :math:`\alpha` is the lazy regime, where
the network is its linearisation). It ends each network with a certificate, or says that it
has none.

Algorithm
---------
Levenberg–Marquardt on the active residuals :math:`I = \{\mu: \Delta_\mu > 0\}`, all networks
of the set advancing together with their own damping :math:`\lambda_s`. With :math:`J` the
Jacobian of :math:`f` (:func:`~jamming.simulate.networks.jacobian`, ``vmap`` over networks of
per-sample gradients), the gradient is :math:`g = -a^{-1} J_I^\top (y\odot\Delta)_I` and the
step solves :math:`(M + \lambda\mathbb{1})\,s = -g` by Cholesky with

- :math:`M = J_I^\top J_I`, the Gauss–Newton matrix (the factor :math:`a` cancels), solved in
  the smaller of parameter and data space (:math:`s = J_I^\top (J_IJ_I^\top +
  \lambda)^{-1}(y\odot\Delta)_I/a` when :math:`P > N_\mathrm{data}`);
- :math:`M = \nabla^2 L`, the exact Hessian (``torch.func``, vmapped), once the
  gradient of a network is below ``newton_switch`` times its own scale
  :math:`\|a^{-1}|J_I|^\top|\Delta_I|\|_2` and Gauss–Newton is slow (the gradient norm fell
  by less than a factor ``SLOW_CONVERGENCE`` in the last iteration): Gauss–Newton converges
  only linearly to a minimum with :math:`\Delta \ne 0`, at the rate
  :math:`\sim\|\sum_\mu\Delta_\mu\nabla^2\Delta_\mu\|/\|J_I^\top J_I\|`, Newton
  quadratically, down to rounding; in the lazy regime that rate is :math:`O(1/\alpha)` and the
  costlier Hessian (:math:`P` Hessian-vector products per network) is rarely needed.

:math:`\lambda` is raised tenfold until the Cholesky factorisation succeeds (the damped matrix
is positive definite).

A step is accepted when it satisfies Armijo's condition on the true loss,
:math:`L(w + s) \le L(w) + 10^{-4}\,g\cdot s`, or, for an exact-Hessian step, when the loss
does not rise by more than its rounding, :math:`L(w + s) \le L(w) + c\epsilon\,a^{-2}
\sum_{\mu\in I}|\Delta_\mu|(1 + T_\mu)` (the model of the gradient bound below; near the
minimum the decrease :math:`\frac12 g^\top H^{-1} g` falls below the rounding of :math:`L`
before the gradient reaches its bound); :math:`\lambda` then follows Nielsen's rule
(:math:`\lambda \leftarrow \lambda\max(1/3, 1 - (2\rho - 1)^3)` with :math:`\rho` the ratio
of actual to predicted decrease :math:`\frac12 s^\top(\lambda s - g)`), otherwise
:math:`\lambda \leftarrow \nu\lambda`, :math:`\nu \leftarrow 2\nu`. An optional warm-up of
full-batch Adam (:func:`~jamming.simulate.networks.train`) precedes it.

The target margin. A zero-residual Gauss–Newton iteration leaves :math:`\Delta_\mu` at
:math:`\pm` rounding, so a loss of :math:`10^{-33}` rather than 0. The iteration therefore
first aims at margin :math:`\kappa = 1 +` ``sat_slack`` (:math:`\Delta^\kappa = \kappa - yF`):
its zero-residual solutions have every :math:`yF \ge 1` in float64, and the loss is exactly
0.0. A network whose :math:`\kappa`-problem reaches its gradient certificate with some
:math:`\Delta^\kappa_\mu >` ``unsat_residual`` (it is UNSAT) continues with
:math:`\kappa = 1`, the true problem, from there. (Near a zero-residual fit the gradient
:math:`\propto\Delta` can fall below its rounding bound before :math:`\Delta` vanishes, when
:math:`J_I` is ill-conditioned or :math:`\alpha` large (:math:`\Delta` is then only
:math:`\alpha\epsilon`-accurate): without that condition a SAT network was declared UNSAT in
exploratory runs at :math:`\alpha = 10^5`, with :math:`\Delta^\kappa \sim 4\cdot10^{-6}`.)

Certificates (float64)
----------------------
- SAT: every :math:`y_\mu F_\mu \ge 1` as computed, so every :math:`\Delta_\mu \le 0` and the
  loss is exactly 0.0 (checked at every iterate).
- UNSAT: :math:`\max_\mu\Delta_\mu >` ``unsat_residual`` (a loss that is not the residue
  of a zero-residual fit at the margin; UNSAT minima whose residuals are all smaller are
  left uncertified), :math:`\|g\|_2 \le \|b\|_2` and
  :math:`\lambda_\mathrm{min}(\nabla^2 L) \ge -\beta`. The gradient bound is the first-order
  rounding model of its computation (Higham's :math:`\gamma_k \approx k\epsilon` for sums of
  :math:`k` terms): per parameter,

  .. math::

      b_i = c\,\epsilon\,a^{-1}\sum_{\mu\in I}|J_{\mu i}|\,\big(|\Delta_\mu| + 1 + T_\mu\big),
      \qquad c = N_\mathrm{data} + \textstyle\sum_l n_{l-1},

  the sum over points of the gradient's terms with the error of each :math:`\Delta_\mu`
  (:math:`1 - yF`, with :math:`F` computed through sums of at most :math:`\max n_{l-1}`
  terms). :math:`T_\mu` bounds the forward error of :math:`f(x_\mu)` in units of
  :math:`\gamma`, by first-order running error analysis (Wilkinson; Higham §3.3): with
  :math:`z^l` the pre-activations and :math:`h^l = \phi(z^l)`, :math:`t^0 = |x|`,
  :math:`t^l = |\phi'(z^l)|\,(|c_w^l|\,t^{l-1}|W^l| + |c_b^l b^l|) + |h^l|` (the error of
  :math:`z^l` carried through the local slope, plus the rounding of :math:`\phi` itself),
  :math:`\phi' = 1` and no :math:`|h|` term at the readout, :math:`T_\mu = t^{L+1}`; with the
  output scale :math:`T_\mu = \alpha(T_\mu(w) + T_\mu(w_0))`, which makes :math:`\Delta` only
  :math:`\alpha\epsilon`-accurate. The local slope matters: a global Lipschitz constant in
  its place grows with the weights of saturated units, whose errors are in fact damped, and
  inflated the bound of a tanh network whose weights had grown 150-fold until a point where
  the loss was still falling passed as a minimum. It is a model of rounding, not an interval
  bound: a gradient this small is indistinguishable from zero in float64, provided the
  bound is *resolved*, :math:`\|b\|_2 \le` :data:`RESOLUTION` :math:`\|a^{-1}|J_I|^\top
  |\Delta_I|\|_2` (the gradient's terms are four orders of magnitude above their rounding,
  so a gradient within the bound is a cancellation, not noise; at :math:`\alpha = 10^{10}`
  the bound is not resolved, and a point that was not a minimum passed the bare test). The
  certificate is also refused when the weights have grown beyond ``max_weight_growth``
  times their initial norm: saturating units then approach step functions, the gradient
  along their growth decays like :math:`e^{-2|z|}` below any rounding model while the loss
  still falls to an infimum that no finite weights attain. The Hessian bound is
  :math:`\beta = c'\epsilon\,\|\nabla^2 L\|_F` with :math:`c' = P + N_\mathrm{data}`, the
  error of its entries and of ``eigh`` (backward stable): a smallest eigenvalue above
  :math:`-\beta` makes the point a minimum, not a
  saddle, to rounding (ReLU networks have exact zero modes, one rescaling per hidden neuron).

  The bound :math:`b` is pessimistic (a referee measured the actual rounding of the
  gradient at :math:`10^{-4}` of it at :math:`\alpha = 10^5`-:math:`10^8`: the errors of
  :math:`f(w)` and :math:`f(w_0)` largely cancel), so a gradient within it need not be
  noise: nearly SAT points (largest :math:`\Delta` just above ``unsat_residual``) with a
  true gradient of half the bound passed it, and continuing from them lowered the loss
  :math:`4\cdot10^4` times its rounding and :math:`N_\Delta` from 53 to 29. A candidate
  therefore also passes the *Newton test*: one step :math:`s = -(\nabla^2L + \beta)^{-1}g`
  lowers the loss by at most its rounding, keeps :math:`N_\Delta`, and leaves a gradient of
  at least :data:`NOISE_RATIO` times :math:`\|g\|` (at a minimum the gradient is at its
  noise floor and a Newton step cannot shrink it; a gradient above the floor is cut to it
  by the quadratic convergence of Newton's method). The iteration runs the same test before
  it stops a network and, when it fails, takes the test's Newton step if it lowers the loss
  and continues with exact-Hessian steps (it stops after :data:`MAX_NEWTON_CHECKS` failures
  without such a step). Finally, a minimum by every test whose Jacobian lost
  rank, :math:`\operatorname{rank}J(w) < \operatorname{rank}J(w_0)`, is refused: units
  saturated on every point leave flat directions, a plateau rather than a minimum (tanh
  networks with weights started 30 times too large were certified there).

A network that reaches neither certificate is reported, never dropped: ``status`` is
``"saddle"`` (gradient certified, Hessian not), ``"unresolved"`` (gradient within a bound
that is not resolved), ``"unverified"`` (gradient and Hessian certified, Newton test
failed), ``"plateau"`` (every test passed, Jacobian rank lost), ``"unbounded"`` (every test
passed, weights grown beyond ``max_weight_growth``), ``"stalled"`` (no step decreases the
loss: :math:`\lambda` above ``1e20`` times its scale) or ``"budget"`` (``max_iterations``
used up).

What the certificates cannot reach (seen in exploratory runs, reported as such): ReLU
networks end on kinks of the activation, where the loss is not differentiable and the
gradient does not vanish (``"stalled"`` or ``"budget"``); saturating activations (tanh,
gelu) in the feature regime's UNSAT phase approach their infimum only as the weights grow
without bound (``weight_growth`` of tens to hundreds, ``"budget"``), so there is no finite
minimum to certify. The lazy regime (large :math:`\alpha`), and SAT problems in any regime,
are certified.

The numerical rank of a Jacobian (``rank``, ``rank_initial``) counts its singular values
above :math:`\sigma_\mathrm{max}\max(N_\mathrm{data}, P)\,\epsilon` (the threshold of
:func:`numpy.linalg.matrix_rank` and :func:`jamming.simulate.features.numerical_rank`). That
of the active rows (``rank_active``) is this rank of :math:`(1 - uu^\top)J_I`,
:math:`u = (y\Delta)_I/\|\Delta_I\|`: at a stationary point :math:`J_I^\top(y\Delta)_I =
-a g`, so :math:`u` is a left null vector of :math:`J_I` in exact arithmetic, and its
rounding-level singular value (:math:`3\cdot10^{-13}` at a lazy minimum with
:math:`N_\Delta = 55`, against :math:`1.3\cdot10^{-3}` for the next, above the threshold
:math:`8\cdot10^{-14}`) is removed without touching the others.

References
----------
S. Spigler, M. Geiger, S. d'Ascoli, L. Sagun, G. Biroli, M. Wyart, "A jamming transition
from under- to over-parametrization affects generalization in deep learning", J. Phys. A 52,
474001 (2019). M. Geiger, S. Spigler, S. d'Ascoli, L. Sagun, M. Baity-Jesi, G. Biroli,
M. Wyart, "Jamming transition as a paradigm to understand the loss landscape of deep neural
networks", Phys. Rev. E 100, 012115 (2019). M. Geiger, S. Spigler, A. Jacot, M. Wyart,
"Disentangling feature and lazy training in deep neural networks", J. Stat. Mech. 113301
(2020). H. B. Nielsen, "Damping parameter in Marquardt's method", IMM-REP-1999-05, DTU
(1999). N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, SIAM (2002).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jamming.simulate.activations import torch_activation
from jamming.simulate.networks import (
    CHUNK_ENTRIES,
    Adam,
    DenseNetwork,
    as_inputs,
    as_parameters,
    as_targets,
    flatten_parameters,
    forward,
    jacobian,
    train,
    unflatten_parameters,
)
from jamming.validation import check_count, check_real

#: Default ``sat_slack``: the iteration first aims at margins :math:`1 + 10^{-6}`.
SAT_SLACK = 1e-6
#: Default ``unsat_residual``: the smallest largest residual of a certified UNSAT minimum.
UNSAT_RESIDUAL = 1e-3
#: Default ``newton_switch``: exact-Hessian steps once :math:`\|g\|` is below this fraction of
#: :math:`\|a^{-1}|J_I|^\top|\Delta_I|\|`.
NEWTON_SWITCH = 1e-3
#: Gauss–Newton counts as slow (and exact-Hessian steps begin) when the gradient norm falls by
#: less than this factor from one iteration to the next.
SLOW_CONVERGENCE = 0.25
#: Armijo constant of the step acceptance.
ARMIJO = 1e-4
#: Initial damping relative to the largest diagonal entry of the Gauss–Newton matrix.
INITIAL_DAMPING = 1e-3
#: A network whose damping exceeds this multiple of its scale has stalled.
STALL_DAMPING = 1e20
#: An UNSAT certificate needs the gradient bound below this fraction of the gradient's scale
#: :math:`\|a^{-1}|J_I|^\top|\Delta_I|\|_2` (module docstring).
RESOLUTION = 1e-4
#: Default ``max_weight_growth``: no UNSAT certificate beyond this :math:`\|w\|/\|w_0\|`.
MAX_WEIGHT_GROWTH = 10.0
#: The Newton test: after one Newton step the gradient must keep at least this fraction of
#: its norm (a gradient at its noise floor does not shrink; one that is not, does).
NOISE_RATIO = 0.1
#: Failed Newton tests whose step does not lower the loss after which the iteration stops a
#: network (status ``"unverified"``).
MAX_NEWTON_CHECKS = 3
#: Outcomes of :func:`train_to_certificate`, by name (stored as indices: append only).
STATUSES = ("sat", "unsat", "saddle", "stalled", "budget", "unresolved", "unbounded",
            "unverified", "plateau")


class CertifiedTraining(NamedTuple):
    r"""Result of :func:`train_to_certificate`; numpy arrays with a leading network axis.

    Attributes
    ----------
    params : dict of str to torch.Tensor
        The trained parameter set, on the device of the computation.
    status : numpy.ndarray of str, shape (n_networks,)
        One of :data:`STATUSES`.
    sat, certified : numpy.ndarray of bool, shape (n_networks,)
        SAT certificate; either certificate (SAT, or UNSAT minimum).
    loss : numpy.ndarray, shape (n_networks,)
        :math:`\frac{1}{2a^2}\sum_\mu\Delta_{\mu+}^2` (exactly 0.0 for SAT).
    n_delta : numpy.ndarray of int, shape (n_networks,)
        :math:`N_\Delta`, the number of :math:`\Delta_\mu > 0`.
    margin : numpy.ndarray, shape (n_networks,)
        :math:`\min_\mu y_\mu F_\mu`.
    outputs, delta : numpy.ndarray, shape (n_networks, n_data)
        :math:`F_\mu` and :math:`\Delta_\mu = 1 - y_\mu F_\mu` at the end.
    iterations : numpy.ndarray of int, shape (n_networks,)
        Levenberg–Marquardt iterations (accepted or rejected steps), warm-up not counted.
    gradient_norm, gradient_bound, gradient_scale : numpy.ndarray, shape (n_networks,)
        :math:`\|g\|_2`, :math:`\|b\|_2` and :math:`\|a^{-1}|J_I|^\top|\Delta_I|\|_2` at the
        end (module docstring; the bound is resolved below :data:`RESOLUTION` times the
        scale).
    hessian_eigenvalues : numpy.ndarray, shape (n_networks, P)
        Of the loss's Hessian at the end, ascending (all 0 for SAT networks: no active point).
    hessian_bound : numpy.ndarray, shape (n_networks,)
        :math:`\beta`.
    rank : numpy.ndarray of int, shape (n_networks,)
        Numerical rank of :math:`J(w)`, all points, at the end.
    rank_initial : numpy.ndarray of int, shape (n_networks,)
        Numerical rank of :math:`J(w_0)` (the lazy :math:`N_\mathrm{eff}`).
    rank_active : numpy.ndarray of int, shape (n_networks,)
        Numerical rank of the active rows :math:`J_I(w)` at the end (0 if none), without the
        direction :math:`(y\Delta)_I` that stationarity makes a left null vector (module
        docstring).
    weight_growth : numpy.ndarray, shape (n_networks,)
        :math:`\|w\|_2/\|w_0\|_2`: large values flag end points that run off to infinity
        (the loss converging to an infimum that no finite weights attain, as for saturating
        activations in the UNSAT phase), which no certificate can certify.
    """

    params: dict
    status: np.ndarray
    sat: np.ndarray
    certified: np.ndarray
    loss: np.ndarray
    n_delta: np.ndarray
    margin: np.ndarray
    outputs: np.ndarray
    delta: np.ndarray
    iterations: np.ndarray
    gradient_norm: np.ndarray
    gradient_bound: np.ndarray
    gradient_scale: np.ndarray
    hessian_eigenvalues: np.ndarray
    hessian_bound: np.ndarray
    rank: np.ndarray
    rank_initial: np.ndarray
    rank_active: np.ndarray
    weight_growth: np.ndarray


def numerical_ranks(matrices):
    r"""Numerical ranks of a batch of matrices (torch), shape ``(S, n, m)`` -> ``(S,)`` int64.

    Singular values above :math:`\sigma_\mathrm{max}\max(n, m)\,\epsilon` count (the
    threshold of :func:`numpy.linalg.matrix_rank`); an all-zero matrix has rank 0.
    """
    import torch

    values = torch.linalg.svdvals(matrices)
    eps = torch.finfo(matrices.dtype).eps
    threshold = values[:, :1] * max(matrices.shape[1:]) * eps
    return (values > threshold).sum(dim=1)


def _without_stationary_direction(jac, delta, active, labels):
    r""":math:`(1 - uu^\top)J_I` with :math:`u = (y\Delta)_I/\|\Delta_I\|`: the active rows
    of the Jacobian without the direction that stationarity makes a left null vector
    (:math:`J_I^\top(y\Delta)_I = -a g \approx 0`), shape (S, n, P)."""
    import torch

    residual = delta.clamp(min=0.0) * labels
    size = torch.linalg.vector_norm(residual, dim=1, keepdim=True)
    u = torch.where(size > 0, residual / size.clamp(min=torch.finfo(delta.dtype).tiny), 0.0)
    rows = jac * active[..., None]
    return rows - u[..., None] * (u[:, None, :] @ rows)


class _Problem:
    """The batched objective of :func:`train_to_certificate`: outputs, losses, bounds."""

    def __init__(self, network, inputs, labels, initial, alpha):
        import torch

        self.network, self.inputs, self.labels, self.alpha = network, inputs, labels, alpha
        self.scale = 1.0 if alpha is None else alpha
        self.rounding = (inputs.shape[0] + sum(network.fan_ins())) * np.finfo(np.float64).eps
        zeros = torch.zeros_like(labels)
        self.reference = zeros if alpha is None else self.outputs_f(initial)
        self.initial_terms = zeros if alpha is None else self.forward_error_terms(initial)

    def outputs_f(self, vector):
        """f at flat parameters ``vector`` (S', P), shape (S', n)."""
        return forward(self.network, unflatten_parameters(self.network, vector), self.inputs)

    def outputs(self, vector, rows):
        """F of the networks ``rows`` at ``vector``."""
        f = self.outputs_f(vector)
        return f if self.alpha is None else self.alpha * (f - self.reference[rows])

    def deltas(self, vector, kappa, rows):
        """kappa - y F, shape (S', n)."""
        return kappa[:, None] - self.labels[rows] * self.outputs(vector, rows)

    def loss(self, vector, kappa, rows):
        """Per-network objective (1/2a^2) sum relu(kappa - yF)^2."""
        import torch

        gap = torch.relu(self.deltas(vector, kappa, rows))
        return 0.5 * gap.square().sum(dim=1) / self.scale ** 2

    def forward_error_terms(self, vector):
        """T(w) of the module docstring: first-order running error bound, shape (S', n)."""
        import torch

        network = self.network
        params = unflatten_parameters(network, vector)
        hidden, terms = self.inputs, self.inputs.abs()
        functions = [torch_activation(name) for name in network.activations] + [None]
        for layer, (scales, function) in enumerate(zip(network.layer_scales(), functions,
                                                       strict=True), start=1):
            weight = params[f"W{layer}"]
            z = scales.weight * (hidden @ weight)
            terms = abs(scales.weight) * (terms @ weight.abs())
            if network.biases[layer - 1]:
                bias = params[f"b{layer}"][..., None, :]
                z = z + scales.bias * bias
                terms = terms + abs(scales.bias) * bias.abs()
            if function is not None:
                hidden, slope = torch.func.jvp(function, (z,), (torch.ones_like(z),))
                terms = slope.abs() * terms + hidden.abs()
        return terms[..., 0]

    def gradient(self, vector, kappa, rows):
        """Gradient, its rounding bound and scale, Jacobian of f, active mask, loss rounding."""
        jac = jacobian(self.network, unflatten_parameters(self.network, vector), self.inputs,
                       to_numpy=False)
        delta = self.deltas(vector, kappa, rows)
        active = delta > 0
        residual = delta.clamp(min=0.0)
        labels = self.labels[rows]
        gradient = -(jac.transpose(1, 2) @ (labels * residual)[..., None])[..., 0] / self.scale
        terms = self.forward_error_terms(vector)
        if self.alpha is not None:
            terms = self.alpha * (terms + self.initial_terms[rows])
        size = residual + active * (kappa[:, None] + terms)
        absolute = jac.abs().transpose(1, 2)
        bound = self.rounding * (absolute @ size[..., None])[..., 0] / self.scale
        own = (absolute @ residual[..., None])[..., 0] / self.scale
        # rounding of the loss itself: sum |Delta| dDelta / a^2, dDelta = c eps (kappa + T)
        slack = self.rounding * (residual * (size - residual)).sum(dim=1) / self.scale ** 2
        return gradient, bound, own, jac, active, slack

    def hessians(self, vector, kappa, rows):
        """Exact Hessians of the objective, shape (S', P, P): reverse over reverse mode
        (``torch.func.jacrev`` of ``grad``), in chunks of Hessian rows that keep the
        temporaries near :data:`~jamming.simulate.networks.CHUNK_ENTRIES` entries (forward over
        reverse, ``torch.func.hessian``, materialised all P directions at once: 5.6x slower
        at P = 1008, N_data = 2218, one thread)."""
        import torch
        from torch.func import grad, jacrev, vmap

        network, inputs, alpha, scale = self.network, self.inputs, self.alpha, self.scale

        def objective(theta, labels, reference, margin):
            f = forward(network, unflatten_parameters(network, theta), inputs)
            outputs = f if alpha is None else alpha * (f - reference)
            return 0.5 * torch.relu(margin - labels * outputs).square().sum() / scale ** 2

        network_size = self.inputs.shape[0] * network.max_width * (network.depth + 1)
        chunk = max(1, CHUNK_ENTRIES // (4 * network_size * vector.shape[0]))
        hessian = jacrev(grad(objective), chunk_size=min(chunk, vector.shape[1]))
        return vmap(hessian)(vector, self.labels[rows], self.reference[rows], kappa)


def _damped_solve(matrices, rhs, damping):
    """Solve ``(M + damping I) x = rhs`` per network by Cholesky, raising ``damping`` tenfold
    where the factorisation fails; returns the solution and the damping used."""
    import torch

    eye = torch.eye(matrices.shape[-1], dtype=matrices.dtype, device=matrices.device)
    for _ in range(700):  # 10**700 > float64 range: ends with a factor or inf damping
        factor, info = torch.linalg.cholesky_ex(matrices + damping[:, None, None] * eye)
        bad = info > 0
        if not bool(bad.any()):
            break
        damping = torch.where(bad, damping * 10.0, damping)
    return torch.cholesky_solve(rhs[..., None], factor)[..., 0], damping


def train_to_certificate(network: DenseNetwork, params: dict, inputs, labels, *,
                         alpha: float | None = None, max_iterations: int = 500,
                         warmup_steps: int = 0, warmup_learning_rate: float = 1e-2,
                         sat_slack: float = SAT_SLACK,
                         unsat_residual: float = UNSAT_RESIDUAL,
                         newton_switch: float = NEWTON_SWITCH,
                         max_weight_growth: float = MAX_WEIGHT_GROWTH,
                         device=None) -> CertifiedTraining:
    r"""Train every network of a set to a certified end point of the quadratic hinge.

    See the module docstring for the objective, the algorithm and the certificates.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        Initial parameter set :math:`w_0` (:func:`~jamming.simulate.networks.init_networks`),
        float64; not modified.
    inputs : array_like or torch.Tensor, shape (n_data, d)
        Shared by the networks.
    labels : array_like, shape (n_data,) or (n_networks, n_data)
        :math:`y_\mu = \pm1`, shared or one row per network.
    alpha : float or None
        Output scale :math:`\alpha > 0` (model :math:`\alpha(f(w) - f(w_0))`, loss divided
        by :math:`\alpha^2`); ``None``: :math:`f` itself.
    max_iterations : int
        :math:`\ge 1`: Levenberg–Marquardt iterations per network before it is reported as
        ``"budget"``.
    warmup_steps : int
        :math:`\ge 0` full-batch Adam steps first (learning rate ``warmup_learning_rate``).
    warmup_learning_rate : float
        :math:`> 0`.
    sat_slack : float
        In :math:`(0, 10^{-2}]`: the first phase aims at margins :math:`1 +` ``sat_slack``.
    unsat_residual : float
        In [``sat_slack``, 1): an UNSAT certificate needs some :math:`\Delta_\mu` above it.
    newton_switch : float
        In :math:`(0, 1]`: relative gradient below which exact-Hessian steps are taken.
    max_weight_growth : float
        :math:`\ge 1`: no UNSAT certificate for end points with :math:`\|w\|_2/\|w_0\|_2`
        above it (status ``"unbounded"``).
    device : None, {"cpu", "cuda", "auto"} or torch.device
        ``None``: the device of ``params``.

    Returns
    -------
    CertifiedTraining

    Raises
    ------
    TypeError
        If ``params`` are not float64 (rounding-level certificates need float64), or on the
        type errors of the checks.
    ValueError
        For labels other than :math:`\pm1`, and parameters out of range.
    """
    import torch

    max_iterations = check_count("max_iterations", max_iterations)
    warmup_steps = check_count("warmup_steps", warmup_steps, minimum=0)
    warmup_learning_rate = check_real("warmup_learning_rate", warmup_learning_rate, 0.0,
                                      strict=True)
    sat_slack = check_real("sat_slack", sat_slack, 0.0, strict=True, high=1e-2)
    unsat_residual = check_real("unsat_residual", unsat_residual, sat_slack, high=1.0)
    newton_switch = check_real("newton_switch", newton_switch, 0.0, strict=True, high=1.0)
    max_weight_growth = check_real("max_weight_growth", max_weight_growth, 1.0)
    if alpha is not None:
        alpha = check_real("alpha", alpha, 0.0, strict=True)
    params, target = as_parameters(network, params, device)
    if next(iter(params.values())).dtype != torch.float64:
        raise TypeError("params must be float64: the certificates are at float64 rounding")
    inputs = as_inputs(network, inputs, target)
    n_networks, n_data = params["W1"].shape[0], inputs.shape[0]
    labels = as_targets(labels, n_networks, n_data, target, name="labels")
    if not bool(((labels == 1.0) | (labels == -1.0)).all()):
        raise ValueError("labels must be -1 or +1")
    initial = flatten_parameters(network, params)
    with torch.no_grad():
        rank_initial = numerical_ranks(jacobian(network, params, inputs, to_numpy=False))
        problem = _Problem(network, inputs, labels, initial, alpha)
    if warmup_steps:
        params = train(network, params, inputs, labels, optimizer=Adam(warmup_learning_rate),
                       record_at=[0, warmup_steps], loss="quadratic-hinge", alpha=alpha).params
    with torch.no_grad():
        state = _iterate(problem, flatten_parameters(network, params).clone(), max_iterations,
                         sat_slack, unsat_residual, newton_switch)
    return _finish(problem, unsat_residual, max_weight_growth, initial, *state, rank_initial)


def _steps(problem, vector, kappa, rows, gradient, jac, active, damping, newton):
    """Damped Gauss-Newton or Newton steps of the networks ``rows``; and the damping used."""
    import torch

    steps = torch.empty_like(vector)
    used = damping.clone()
    if bool(newton.any()):
        hessians = problem.hessians(vector[newton], kappa[newton], rows[newton])
        steps[newton], used[newton] = _damped_solve(hessians, -gradient[newton],
                                                    damping[newton])
    plain = ~newton
    if bool(plain.any()):
        masked = jac[plain] * active[plain][..., None]
        if masked.shape[2] <= masked.shape[1]:  # parameter space
            steps[plain], used[plain] = _damped_solve(masked.transpose(1, 2) @ masked,
                                                      -gradient[plain], damping[plain])
        else:  # data space: s = J^T (J J^T + lambda)^-1 y Delta / a
            delta = problem.deltas(vector[plain], kappa[plain], rows[plain]).clamp(min=0.0)
            rhs = problem.labels[rows[plain]] * delta / problem.scale
            weights, used[plain] = _damped_solve(masked @ masked.transpose(1, 2), rhs,
                                                 damping[plain])
            steps[plain] = (masked.transpose(1, 2) @ weights[..., None])[..., 0]
    return steps, used


_LIVE, _DONE, _STALLED = 0, 1, 2


def _hessian_bound(problem, hessians):
    """beta of the module docstring, per network: c' eps ||H||_F."""
    import torch

    return ((hessians.shape[-1] + problem.inputs.shape[0]) * np.finfo(np.float64).eps
            * torch.linalg.matrix_norm(hessians))


def _newton_check(problem, vector, kappa, rows, gradient, norm, slack, hessians=None):
    r"""The Newton test of stationary candidates (module docstring), per network: one step
    :math:`s = -(H + \beta)^{-1}g` must not lower the loss by more than its rounding
    ``slack``, must keep :math:`N_\Delta`, and must leave a gradient at least
    :data:`NOISE_RATIO` times the present one (which is then at its noise floor).
    Returns the verdicts, the Hessians, the points :math:`w + s` and the loss decreases."""
    import torch

    if hessians is None:
        hessians = problem.hessians(vector, kappa, rows)
    step, _ = _damped_solve(hessians, -gradient, _hessian_bound(problem, hessians))
    trial = vector + step
    drop = problem.loss(vector, kappa, rows) - problem.loss(trial, kappa, rows)
    kept = ((problem.deltas(vector, kappa, rows) > 0)
            == (problem.deltas(trial, kappa, rows) > 0)).all(dim=1)
    after = torch.linalg.vector_norm(problem.gradient(trial, kappa, rows)[0], dim=1)
    return (drop <= slack) & kept & (after >= NOISE_RATIO * norm), hessians, trial, drop


def _iterate(problem, vector, max_iterations, sat_slack, unsat_residual, newton_switch):
    """Levenberg-Marquardt iterations; returns the parameters, the loop's codes, iterations."""
    import torch

    n_networks = vector.shape[0]
    options = {"dtype": vector.dtype, "device": vector.device}
    kappa = torch.full((n_networks,), 1.0 + sat_slack, **options)
    code = torch.full((n_networks,), _LIVE, dtype=torch.int64, device=vector.device)
    iterations = torch.zeros(n_networks, dtype=torch.int64, device=vector.device)
    damping = torch.full((n_networks,), -1.0, **options)  # < 0: not yet set
    damping_scale = torch.ones(n_networks, **options)
    nu = torch.full((n_networks,), 2.0, **options)
    previous = torch.full((n_networks,), torch.inf, **options)  # gradient norm, last visit
    newton = torch.zeros(n_networks, dtype=torch.bool, device=vector.device)
    checks = torch.zeros(n_networks, dtype=torch.int64, device=vector.device)
    for _ in range(max_iterations):
        rows = torch.nonzero(code == _LIVE)[:, 0]
        if rows.numel() == 0:
            break
        w, k = vector[rows], kappa[rows]
        gradient, bound, own, jac, active, slack = problem.gradient(w, k, rows)
        margins = problem.labels[rows] * problem.outputs(w, rows)
        sat = margins.min(dim=1).values >= 1.0
        norm = torch.linalg.vector_norm(gradient, dim=1)
        largest = problem.deltas(w, k, rows).max(dim=1).values
        stationary = (~sat & (norm <= torch.linalg.vector_norm(bound, dim=1))
                      & (largest > unsat_residual))
        stepped = torch.zeros_like(sat)
        if bool(stationary.any()):  # a candidate must pass the Newton test to stop
            candidates = torch.nonzero(stationary)[:, 0]
            passed, _, trial, drop = _newton_check(
                problem, w[candidates], k[candidates], rows[candidates],
                gradient[candidates], norm[candidates], slack[candidates])
            # a failed test whose Newton step lowers the loss takes that step
            progress = ~passed & (drop > 0)
            moved = candidates[progress]
            vector[rows[moved]] = trial[progress]
            stepped[moved] = True
            iterations[rows[moved]] += 1
            checks[rows[candidates[~passed & ~progress]]] += 1
            unpassed = candidates[~passed]
            retry = unpassed[checks[rows[unpassed]] < MAX_NEWTON_CHECKS]
            stationary[retry] = False
            newton[rows[retry]] = True
        kappa[rows[stationary]] = 1.0  # the kappa-problem is UNSAT: solve the true one
        code[rows[sat | (stationary & (k == 1.0))]] = _DONE
        move = ~sat & ~stationary & ~stepped
        if not bool(move.any()):
            continue
        rows, w, k = rows[move], w[move], k[move]
        gradient, jac, active, slack = gradient[move], jac[move], active[move], slack[move]
        slow = norm[move] > SLOW_CONVERGENCE * previous[rows]
        newton[rows] |= slow & (norm[move] <= newton_switch
                                * torch.linalg.vector_norm(own[move], dim=1))
        previous[rows] = norm[move]
        unset = damping[rows] < 0
        if bool(unset.any()):
            diagonal = (jac * active[..., None]).square().sum(dim=1).max(dim=1).values
            diagonal = diagonal.clamp(min=torch.finfo(vector.dtype).tiny)
            damping_scale[rows[unset]] = diagonal[unset]
            damping[rows[unset]] = INITIAL_DAMPING * diagonal[unset]
        steps, used = _steps(problem, w, k, rows, gradient, jac, active, damping[rows],
                             newton[rows])
        loss = problem.loss(w, k, rows)
        trial = problem.loss(w + steps, k, rows)
        slope = (gradient * steps).sum(dim=1)
        accept = (slope < 0) & (trial <= loss + ARMIJO * slope)
        # Newton steps at rounding level: a loss that does not rise beyond its own rounding
        accept |= newton[rows] & (slope < 0) & (trial <= loss + slack)
        predicted = 0.5 * (steps * (used[:, None] * steps - gradient)).sum(dim=1)
        gain = (loss - trial) / predicted
        vector[rows[accept]] = (w + steps)[accept]
        # Nielsen's rule; a step accepted within the loss's rounding (gain <= 0) keeps the
        # damping (the rule would raise it, up to 28-fold, until a minimum stalls)
        factor = torch.where(gain > 0, (1.0 - (2.0 * gain - 1.0) ** 3).clamp(min=1.0 / 3.0),
                             1.0)
        damping[rows] = torch.where(accept, used * factor, used * nu[rows])
        nu[rows] = torch.where(accept, 2.0, 2.0 * nu[rows])
        iterations[rows] += 1
        code[rows[damping[rows] > STALL_DAMPING * damping_scale[rows]]] = _STALLED
    return vector, code, iterations


def _finish(problem, unsat_residual, max_weight_growth, initial, vector, code, iterations,
            rank_initial) -> CertifiedTraining:
    """Certificates, spectra and ranks at the end point of every network."""
    import torch

    n_networks, n_parameters = vector.shape
    rows = torch.arange(n_networks, device=vector.device)
    kappa = torch.ones(n_networks, dtype=vector.dtype, device=vector.device)
    with torch.no_grad():
        gradient, bound, own, jac, active, slack = problem.gradient(vector, kappa, rows)
        outputs = problem.outputs(vector, rows)
        loss = problem.loss(vector, kappa, rows)
        delta = problem.deltas(vector, kappa, rows)
        norm = torch.linalg.vector_norm(gradient, dim=1)
        norm_bound = torch.linalg.vector_norm(bound, dim=1)
        rank = numerical_ranks(jac)
        rank_active = numerical_ranks(_without_stationary_direction(jac, delta, active,
                                                                    problem.labels))
        growth = (torch.linalg.vector_norm(vector, dim=1)
                  / torch.linalg.vector_norm(initial, dim=1))
    margin = (problem.labels * outputs).min(dim=1).values
    sat = margin >= 1.0
    scale = torch.linalg.vector_norm(own, dim=1)
    resolved = norm_bound <= RESOLUTION * scale
    stationary = ~sat & (delta.max(dim=1).values > unsat_residual) & (norm <= norm_bound)
    # A SAT network has no active point: its Hessian is exactly 0 (not computed).
    eigenvalues = torch.zeros_like(vector)
    hessian_bound = torch.zeros_like(loss)
    newton_passed = torch.zeros_like(sat)
    if not bool(sat.all()):
        hessians = problem.hessians(vector[~sat], kappa[~sat], rows[~sat])
        eigenvalues[~sat] = torch.linalg.eigvalsh(hessians)
        hessian_bound[~sat] = _hessian_bound(problem, hessians)
        newton_passed[~sat] = _newton_check(problem, vector[~sat], kappa[~sat], rows[~sat],
                                            gradient[~sat], norm[~sat], slack[~sat],
                                            hessians)[0]
    candidate = stationary & resolved & (eigenvalues[:, 0] >= -hessian_bound)
    minimum = candidate & newton_passed & (rank >= rank_initial)
    bounded = growth <= max_weight_growth
    status = np.where(code.cpu().numpy() == _STALLED, "stalled", "budget").astype("<U10")
    for name, mask in (("saddle", stationary & resolved), ("unresolved", stationary & ~resolved),
                       ("unverified", candidate & ~newton_passed),
                       ("plateau", candidate & newton_passed & (rank < rank_initial)),
                       ("unbounded", minimum & ~bounded), ("unsat", minimum & bounded),
                       ("sat", sat)):
        status[mask.cpu().numpy()] = name
    sat_np = sat.cpu().numpy()

    def host(tensor):
        return tensor.detach().cpu().numpy()

    return CertifiedTraining(
        params={name: value.clone() for name, value in
                unflatten_parameters(problem.network, vector).items()},
        status=status, sat=sat_np, certified=np.isin(status, ("sat", "unsat")),
        loss=host(loss), n_delta=host((delta > 0).sum(dim=1)), margin=host(margin),
        outputs=host(outputs), delta=host(delta), iterations=host(iterations),
        gradient_norm=host(norm), gradient_bound=host(norm_bound), gradient_scale=host(scale),
        hessian_eigenvalues=host(eigenvalues), hessian_bound=host(hessian_bound),
        rank=host(rank), rank_initial=host(rank_initial), rank_active=host(rank_active),
        weight_growth=host(growth))
