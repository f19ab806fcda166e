r"""Kernel gradient flow in function space: fixed points, minima and their stability.

For a model linearised around its initialisation with empirical NTK Gram matrix
:math:`K = J J^\top` on the training inputs (shape ``(n_data, n_data)``, positive
semi-definite), gradient flow on the parameters moves the training outputs as (seed 001)

.. math::

    \dot f = -\eta\, K\, \nabla_f \mathcal{L}(f),

so :math:`f(t) \in f_0 + \operatorname{range} K` for all :math:`t`. The fixed points are the
:math:`f` with :math:`\nabla_f\mathcal{L}(f) \in \ker K`. For a convex loss they are exactly
the minima of :math:`\mathcal{L}` on the affine subspace :math:`f_0 + \operatorname{range}K`:
a point of that subspace is a constrained minimum iff the gradient is orthogonal to
:math:`\operatorname{range}K`, i.e. lies in :math:`\ker K` (``K`` is symmetric). Hence fixed
points that are not minima of :math:`\mathcal{L}` itself exist iff :math:`K` is singular
(:math:`\phi = N_\mathrm{data}/N_\mathrm{eff} > 1`).

Losses (per training point, labels or targets ``y``):

``"square"``
    :math:`\mathcal{L} = \frac12\|f - y\|^2`, :math:`\nabla^2_f\mathcal{L} = I`. The flow is
    solved in closed form, :math:`f(t) = y + e^{-\eta K t}(f_0 - y)`, and converges to
    :math:`f^* = y + P_{\ker K}(f_0 - y)`.
``"quadratic-hinge"``
    :math:`\mathcal{L} = \sum_\mu \frac12 (1 - y_\mu f_\mu)_+^2` with :math:`y_\mu = \pm1`;
    :math:`\nabla^2_f\mathcal{L} = D = \operatorname{diag}(\mathbb{1}[\Delta_\mu > 0])` away from
    the kinks. The minimum on the subspace is found exactly by a finite active-set method.

Stability: the linearisation at a fixed point is :math:`-\eta K D`. Its eigenvalues are those of
:math:`-\eta D^{1/2} K D^{1/2}` (``KD`` and ``D^{1/2} K D^{1/2}`` share their non-zero spectrum
and both have ``n_data`` eigenvalues), hence real and non-positive: every fixed point is
(marginally) stable, with :math:`N_\mathrm{data} - \operatorname{rank}(D^{1/2}KD^{1/2})`
zero modes, :math:`N_\mathrm{data} - \operatorname{rank} K` for the square loss.

References
----------
A. Jacot, F. Gabriel, C. Hongler, "Neural tangent kernel", NeurIPS (2018).
J. Lee et al., "Wide neural networks of any depth evolve as linear models under gradient
descent", NeurIPS (2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jamming.validation import check_choice as _check_choice

#: The losses of the kernel flow (names of :data:`jamming.validation.LOSSES`).
LOSSES = ("square", "quadratic-hinge")


@dataclass(frozen=True)
class FixedPoint:
    """The limit of kernel gradient flow predicted from the loss and the kernel.

    Attributes
    ----------
    f : numpy.ndarray, shape (n_data,)
        A minimiser of the loss on ``f0 + range(K)`` (the one the flow reaches for the square
        loss; for the quadratic hinge the minimiser is unique on the unsatisfied points and in
        its loss value, see :func:`kernel_flow_fixed_point`).
    loss : float
        The minimum of the loss on ``f0 + range(K)`` (exactly 0 in the SAT case of the
        quadratic hinge: gaps within ``MARGIN_TOLERANCE`` of the margin count as satisfied).
    rank : int
        Numerical rank of ``K``.
    hessian_diagonal : numpy.ndarray, shape (n_data,)
        :math:`\\nabla^2_f\\mathcal{L}` at ``f`` (1 on the unsatisfied points for the hinge).
    zero_modes : int
        Number of zero eigenvalues of the linearised flow :math:`-\\eta K D`.
    """

    f: np.ndarray
    loss: float
    rank: int
    hessian_diagonal: np.ndarray
    zero_modes: int


def loss_value(f: np.ndarray, y: np.ndarray, loss: str) -> float:
    """The loss of outputs ``f`` (shape ``(n_data,)``) for labels or targets ``y``."""
    _check_loss(loss)
    if loss == "square":
        return float(0.5 * np.sum((f - y) ** 2))
    return float(0.5 * np.sum(np.maximum(1.0 - y * f, 0.0) ** 2))


def loss_gradient(f: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """:math:`\\nabla_f\\mathcal{L}`, shape ``(n_data,)``."""
    _check_loss(loss)
    if loss == "square":
        return f - y
    return -y * np.maximum(1.0 - y * f, 0.0)


def range_basis(kernel: np.ndarray, rtol: float | None = None) -> np.ndarray:
    """Orthonormal basis of ``range(K)``, shape ``(n_data, rank)``.

    Eigenvectors of the symmetric ``K`` whose eigenvalues exceed ``rtol * max eigenvalue``
    (default: ``n_data * eps``, the threshold of :func:`numpy.linalg.matrix_rank`).
    """
    kernel = _check_kernel(kernel)
    values, vectors = np.linalg.eigh(kernel)
    rtol = kernel.shape[0] * np.finfo(float).eps if rtol is None else rtol
    keep = values > rtol * max(values[-1], 0.0)
    return vectors[:, keep]


def linearised_spectrum(kernel: np.ndarray, hessian_diagonal: np.ndarray,
                        eta: float = 1.0) -> np.ndarray:
    """Eigenvalues of the linearised flow :math:`-\\eta K D`, sorted, shape ``(n_data,)``.

    Computed as :math:`-\\eta\\,\\mathrm{eig}(D^{1/2} K D^{1/2})` (symmetric, so real).
    """
    kernel = _check_kernel(kernel)
    root = np.sqrt(np.asarray(hessian_diagonal, dtype=np.float64))
    return np.sort(-eta * np.linalg.eigvalsh(root[:, None] * kernel * root[None, :]))


def count_zero_modes(spectrum: np.ndarray, rtol: float | None = None) -> int:
    """Eigenvalues within ``rtol`` (default ``n * eps``) of 0, relative to the largest."""
    spectrum = np.asarray(spectrum)
    rtol = spectrum.size * np.finfo(float).eps if rtol is None else rtol
    scale = np.max(np.abs(spectrum), initial=0.0)
    return int(np.sum(np.abs(spectrum) <= rtol * scale))


def kernel_flow_fixed_point(kernel: np.ndarray, y: np.ndarray, f0: np.ndarray,
                            loss: str = "square") -> FixedPoint:
    """The minimum of the loss on ``f0 + range(K)``: where kernel gradient flow must end.

    Parameters
    ----------
    kernel : numpy.ndarray, shape (n_data, n_data)
        Symmetric positive semi-definite Gram matrix.
    y : numpy.ndarray, shape (n_data,)
        Targets (square loss) or labels in {-1, +1} (quadratic hinge).
    f0 : numpy.ndarray, shape (n_data,)
        Initial outputs.
    loss : {"square", "quadratic-hinge"}

    Returns
    -------
    FixedPoint

    Notes
    -----
    Square loss: :math:`f^* = f_0 + U U^\\top (y - f_0)` with ``U`` from :func:`range_basis`.
    Quadratic hinge: with :math:`f = f_0 + U c`, minimise
    :math:`\\sum_\\mu \\frac12 (b_\\mu - z_\\mu\\cdot c)_+^2`, :math:`b = 1 - y f_0`,
    :math:`z_\\mu = y_\\mu U_\\mu`, by a finite active-set method: on the active set
    :math:`A = \\{\\Delta_\\mu > 0\\}` take the minimum-norm least-squares step, then an exact
    line search on the piecewise quadratic; stop when the active set repeats. In the SAT case
    (loss 0) the minimiser is not unique; the flow ends at one of them and only the loss
    value (0) is predicted.
    """
    _check_loss(loss)
    kernel = _check_kernel(kernel)
    y = _check_vector("y", y, kernel.shape[0])
    f0 = _check_vector("f0", f0, kernel.shape[0])
    basis = range_basis(kernel)
    if loss == "square":
        f = f0 + basis @ (basis.T @ (y - f0))
        hessian = np.ones_like(f)
    else:
        if not np.all(np.abs(y) == 1.0):
            raise ValueError("y must hold labels -1 or +1 for the quadratic hinge")
        c = _active_set_quadratic_hinge(y[:, None] * basis, 1.0 - y * f0)
        f = f0 + basis @ c
        hessian = (_hinge_gaps(f, y) > 0).astype(np.float64)
    spectrum = linearised_spectrum(kernel, hessian)
    if loss == "square":
        value = loss_value(f, y, loss)
    else:
        value = float(0.5 * np.sum(np.maximum(_hinge_gaps(f, y), 0.0) ** 2))
    return FixedPoint(f=f, loss=value, rank=basis.shape[1],
                      hessian_diagonal=hessian, zero_modes=count_zero_modes(spectrum))


#: Gaps ``|1 - y f|`` below this are points on the margin (rounding of the least-squares steps).
MARGIN_TOLERANCE = 1e-12


def _hinge_gaps(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    r""":math:`\Delta = 1 - y f`, with values within ``MARGIN_TOLERANCE`` of 0 set to 0."""
    gaps = 1.0 - y * f
    gaps[np.abs(gaps) <= MARGIN_TOLERANCE] = 0.0
    return gaps


def _active_set_quadratic_hinge(z: np.ndarray, b: np.ndarray, max_iter: int = 500):
    """Minimise ``sum 1/2 (b - z c)_+^2`` over ``c`` exactly (see kernel_flow_fixed_point)."""
    c = np.zeros(z.shape[1])
    previous = None
    for _ in range(max_iter):
        active = b - z @ c > 0
        key = active.tobytes()
        if not active.any() or key == previous:
            return c
        previous = key
        target = np.linalg.lstsq(z[active], b[active], rcond=None)[0]
        c = c + _exact_line_search(z, b, c, target - c)
    raise RuntimeError(f"active-set iteration did not settle in {max_iter} steps")


def _exact_line_search(z, b, c, direction) -> np.ndarray:
    """Minimiser of the piecewise quadratic ``t -> sum 1/2 (b - z(c + t d))_+^2`` on [0, 1]."""
    residual, slope = b - z @ c, z @ direction  # Delta(t) = residual - t slope
    with np.errstate(divide="ignore", invalid="ignore"):
        kinks = np.where(slope != 0, residual / slope, np.inf)
    candidates = np.unique(np.concatenate([[0.0, 1.0], kinks[(kinks > 0) & (kinks < 1)]]))

    def derivative(t):
        delta = residual - t * slope
        return -np.sum(slope * np.maximum(delta, 0.0))

    # the derivative is non-decreasing; find the first interval where it changes sign
    for low, high in zip(candidates[:-1], candidates[1:], strict=True):
        if derivative(high) >= 0:
            mid = 0.5 * (low + high)
            on = residual - mid * slope > 0
            curvature = np.sum(slope[on] ** 2)
            step = low if curvature == 0 else low - derivative(low) / curvature
            return float(np.clip(step, low, high)) * direction
    return direction


def _check_loss(loss: str) -> None:
    _check_choice("loss", loss, LOSSES)


def square_loss_flow(kernel, y, f0, times, eta: float = 1.0, *, kernel_test_train=None,
                     f0_test=None) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Closed-form kernel gradient flow of the square loss, on training and test points.

    With :math:`K = \sum_i \lambda_i v_iv_i^\top` (``eigh``; negative rounding clipped to 0),

    .. math::

        f(t) = y + e^{-\eta Kt}(f_0 - y),\qquad
        f_\mathrm{test}(t) = f_{0,\mathrm{test}}
            + K_{\mathrm{test},\mathrm{train}}\,\frac{1 - e^{-\eta Kt}}{K}\,(y - f_0),

    the second being the linearised network's prediction on test inputs (Lee et al. 2019,
    eq. 9), where :math:`(1 - e^{-\eta\lambda t})/\lambda` is taken as ``-expm1(-eta lambda
    t) / lambda`` and as its limit :math:`\eta t` at :math:`\lambda = 0` (exact on
    :math:`\ker K`, which :math:`K_{\mathrm{test},\mathrm{train}}` annihilates when both
    come from the same features).

    Parameters
    ----------
    kernel : array_like, shape (n, n)
        Symmetric positive semi-definite :math:`K` on the training inputs.
    y, f0 : array_like, shape (n,)
        Targets and initial outputs.
    times : array_like, shape (n_times,)
        :math:`t \ge 0`.
    eta : float
        Learning rate :math:`\eta > 0`.
    kernel_test_train : array_like, shape (n_test, n), optional
        :math:`K(x_\mathrm{test}, x_\mathrm{train})`; with ``f0_test`` (shape (n_test,)).

    Returns
    -------
    f : numpy.ndarray, shape (n_times, n)
    f_test : numpy.ndarray, shape (n_times, n_test), or None
    """
    kernel = _check_kernel(kernel)
    n = kernel.shape[0]
    y, f0 = _check_vector("y", y, n), _check_vector("f0", f0, n)
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or not np.all(times >= 0):
        raise ValueError("times must be a 1-D array of values >= 0")
    if not eta > 0:
        raise ValueError(f"eta must be > 0; got {eta!r}")
    values, vectors = np.linalg.eigh(kernel)
    values = np.clip(values, 0.0, None)
    decay = np.exp(-eta * np.outer(times, values))                   # (n_times, n)
    residual = vectors.T @ (f0 - y)
    f = y + (decay * residual) @ vectors.T
    if kernel_test_train is None:
        return f, None
    cross = np.asarray(kernel_test_train, dtype=np.float64)
    if cross.ndim != 2 or cross.shape[1] != n:
        raise ValueError(f"kernel_test_train must have shape (n_test, {n}); got {cross.shape}")
    f0_test = _check_vector("f0_test", f0_test, cross.shape[0])
    exponent = eta * np.outer(times, values)
    positive = values > 0
    gain = np.where(positive, -np.expm1(-exponent) / np.where(positive, values, 1.0),
                    eta * times[:, None])
    f_test = f0_test + (gain * (vectors.T @ (y - f0))) @ (cross @ vectors).T
    return f, f_test


def _check_kernel(kernel) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be a square matrix; got shape {kernel.shape}")
    if not np.allclose(kernel, kernel.T, rtol=1e-12, atol=1e-12 * np.abs(kernel).max()):
        raise ValueError("kernel must be symmetric")
    return kernel


def _check_vector(name: str, value, n: int) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got {value.shape}")
    return value
