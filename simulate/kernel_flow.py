r"""Event-driven exact integration of kernel gradient flow, :math:`\dot f = -\eta K\nabla L`.

The simulation side of the function-space view of seed 001: a frozen (possibly rank-deficient)
Gram matrix ``K`` drives the training outputs ``f`` from ``f0``. For the square loss and the
quadratic hinge the flow is *piecewise linear*: with the unsatisfied set
:math:`A = \{\mu: \Delta_\mu > 0\}` (every point for the square loss), and
:math:`r_A = y_A - f_A`,

.. math::

    \dot f_A = \eta K_{AA} r_A, \qquad \dot f_{\bar A} = \eta K_{\bar A A} r_A,

so within one active set :math:`r_A(t) = V e^{-\eta\Lambda t} V^\top r_A(0)`
(:math:`K_{AA} = V\Lambda V^\top`) and :math:`f_{\bar A}` is its exact integral. The
integrator moves along this closed form and stops at the first time the active set changes
(an unsatisfied point reaches its margin or a satisfied one leaves it), found by a geometric
scan followed by bisection to 1e-13 relative, then recomputes the active set. When the limit
:math:`t\to\infty` keeps the active set, it jumps there exactly. This handles the stiffness
of near-isostatic configurations (eigenvalues of :math:`K_{AA}` spread over many decades),
where an explicit scheme would need millions of steps. Null directions of :math:`K_{AA}` do not
move :math:`f` (for a PSD ``K``, :math:`K_{AA}v = 0` implies :math:`K_{:A}v = 0`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jamming.validation import check_choice

#: The losses of the kernel flow (names of :data:`jamming.validation.LOSSES`).
LOSSES = ("square", "quadratic-hinge")


def _gradient(f: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    if loss == "square":
        return f - y
    return -y * np.maximum(1.0 - y * f, 0.0)


@dataclass(frozen=True)
class FlowResult:
    """End of a kernel-flow integration.

    Attributes
    ----------
    f : numpy.ndarray, shape (n_data,)
        Outputs at the end.
    time : float
        :math:`\\eta t` of the last change of the active set (the end itself is the
        :math:`t\\to\\infty` limit when ``converged``, or ``until``).
    events : int
        Changes of the active set.
    speed : float
        Final :math:`\\|K\\nabla\\mathcal{L}(f)\\|_\\infty`.
    converged : bool
        Whether the :math:`t\\to\\infty` limit was reached.
    """

    f: np.ndarray
    time: float
    events: int
    speed: float
    converged: bool


class _LinearPiece:
    """Closed-form flow from state ``f`` while the active set stays ``active``."""

    def __init__(self, kernel, y, f, active, eta):
        self.f, self.y, self.active, self.eta = f, y, active, eta
        values, vectors = np.linalg.eigh(kernel[np.ix_(active, active)])
        keep = values > 1e-13 * max(values[-1], 0.0) if values.size else values > 0
        self.values, self.vectors = values[keep], vectors[:, keep]
        self.coefficients = self.vectors.T @ (y[active] - f[active])
        self.cross = kernel[np.ix_(~active, active)] @ self.vectors

    def state(self, time: float) -> np.ndarray:
        """Outputs after ``time`` (``np.inf``: the limit)."""
        decay = np.exp(-self.eta * self.values * time)
        out = self.f.copy()
        out[self.active] = self.f[self.active] + self.vectors @ ((1.0 - decay) * self.coefficients)
        out[~self.active] = self.f[~self.active] + self.cross @ (
            (1.0 - decay) / self.values * self.coefficients)
        return out


#: Gaps ``|1 - y f|`` below this count as on the margin, compatible with either side: the flow
#: reaches the margin only as t -> infinity, where rounding would otherwise flip the set.
MARGIN_TOLERANCE = 1e-12


def _active_set(f, y, loss):
    return np.ones(f.size, bool) if loss == "square" else (1.0 - y * f > 0)


def _keeps(f, y, loss, active) -> bool:
    """Whether ``active`` is still the unsatisfied set at ``f`` (up to the margin tolerance)."""
    if loss == "square":
        return True
    gaps = 1.0 - y * f
    return bool(np.all(gaps[active] > -MARGIN_TOLERANCE)
                and np.all(gaps[~active] <= MARGIN_TOLERANCE))


def integrate_kernel_flow(kernel, y, f0, loss: str = "square", *, eta: float = 1.0,
                          until: float = np.inf, max_events: int = 10_000) -> FlowResult:
    """Integrate :math:`\\dot f = -\\eta K\\nabla_f\\mathcal{L}(f)` exactly, piece by piece.

    Parameters
    ----------
    kernel : numpy.ndarray, shape (n_data, n_data)
        Symmetric positive semi-definite.
    y : numpy.ndarray, shape (n_data,)
        Targets (square loss) or labels +-1 (quadratic hinge).
    f0 : numpy.ndarray, shape (n_data,)
    loss : {"square", "quadratic-hinge"}
        ``0.5 ||f - y||^2`` or ``sum 0.5 (1 - y f)_+^2``.
    eta : float
        Learning rate (time unit).
    until : float
        Stop at this time :math:`t` (default: the limit :math:`t\\to\\infty`).
    max_events : int
        Largest number of active-set changes.

    Returns
    -------
    FlowResult
    """
    check_choice("loss", loss, LOSSES)
    if eta <= 0:
        raise ValueError(f"eta must be > 0; got {eta}")
    kernel = np.asarray(kernel, dtype=np.float64)
    y, f = np.asarray(y, dtype=np.float64), np.array(f0, dtype=np.float64)
    now = 0.0
    for events in range(max_events + 1):
        active = _active_set(f, y, loss)
        piece = _LinearPiece(kernel, y, f, active, eta)
        horizon = until - now
        end = piece.state(horizon)
        if _keeps(end, y, loss, active):
            speed = float(np.max(np.abs(kernel @ _gradient(end, y, loss)), initial=0.0))
            return FlowResult(end, now, events, speed, bool(np.isinf(until)))
        step = _first_change(piece, active, y, loss, horizon)
        f, now = piece.state(step), now + step
    speed = float(np.max(np.abs(kernel @ _gradient(f, y, loss))))
    return FlowResult(f, now, max_events, speed, False)


def _first_change(piece: _LinearPiece, active, y, loss, horizon: float) -> float:
    """Smallest time (to 1e-13 relative) after which the active set differs from ``active``."""
    def changed(time):
        return not _keeps(piece.state(time), y, loss, active)

    scale = 1.0 / (piece.eta * piece.values.max()) if piece.values.size else 1.0
    low, high = 0.0, scale * 1e-6
    while not changed(high):
        low, high = high, high * 2.0
        if high >= horizon:
            high = horizon
            break
    while high - low > 1e-13 * high:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if changed(middle) else (middle, high)
    return high
