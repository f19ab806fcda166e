r"""Numerical integration of kernel gradient flow :math:`\dot f = -\eta K \nabla_f\mathcal{L}(f)`.

The simulation side of the function-space view of seed 001: a frozen (possibly rank-deficient)
Gram matrix ``K`` drives the training outputs ``f`` from ``f0``. Integrated with the classical
fourth-order Runge-Kutta scheme at a fixed step, in float64, until the flow's speed
:math:`\|K\nabla\mathcal{L}\|_\infty` falls below a tolerance. The right-hand side is
continuous and piecewise linear (the quadratic hinge has a continuous gradient), so RK4 keeps
its accuracy away from the finitely many kinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jamming.simulate.data import gaussian_features, random_labels
from jamming.simulate.sweep import SweepSpec, derive_seed

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
        Integrated time :math:`\\eta t`.
    steps : int
    speed : float
        Final :math:`\\|K\\nabla\\mathcal{L}(f)\\|_\\infty`.
    converged : bool
        Whether ``speed <= tol`` was reached.
    """

    f: np.ndarray
    time: float
    steps: int
    speed: float
    converged: bool


def integrate_kernel_flow(kernel, y, f0, loss: str = "square", *, eta: float = 1.0,
                          dt: float | None = None, tol: float = 1e-11,
                          max_steps: int = 2_000_000) -> FlowResult:
    """Integrate :math:`\\dot f = -\\eta K\\nabla_f\\mathcal{L}(f)` with RK4 until it stops.

    Parameters
    ----------
    kernel : numpy.ndarray, shape (n_data, n_data)
    y : numpy.ndarray, shape (n_data,)
        Targets (square loss) or labels +-1 (quadratic hinge).
    f0 : numpy.ndarray, shape (n_data,)
    loss : {"square", "quadratic-hinge"}
        ``0.5 ||f - y||^2`` or ``sum 0.5 (1 - y f)_+^2``.
    eta : float
        Learning rate (time unit).
    dt : float, optional
        Step; default ``0.5 / (eta * lambda_max(K))`` (RK4 is stable up to ~2.78).
    tol : float
        Stop when ``max |K grad L| <= tol``.
    max_steps : int

    Returns
    -------
    FlowResult
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    kernel = np.asarray(kernel, dtype=np.float64)
    y, f = np.asarray(y, dtype=np.float64), np.array(f0, dtype=np.float64)
    if eta <= 0:
        raise ValueError(f"eta must be > 0; got {eta}")
    if dt is None:
        dt = 0.5 / (eta * np.linalg.eigvalsh(kernel)[-1])

    def velocity(state):
        return -eta * (kernel @ _gradient(state, y, loss))

    speed = np.inf
    for step in range(1, max_steps + 1):
        k1 = velocity(f)
        speed = float(np.max(np.abs(k1))) / eta
        if speed <= tol:
            return FlowResult(f, (step - 1) * dt * eta, step - 1, speed, True)
        k2 = velocity(f + 0.5 * dt * k1)
        k3 = velocity(f + 0.5 * dt * k2)
        k4 = velocity(f + dt * k3)
        f = f + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return FlowResult(f, max_steps * dt * eta, max_steps, speed, False)


def kernel_flow_trial(params: dict) -> dict:
    """One kernel-flow run on random features: ``K = Phi Phi^T / n_eff`` (sweep function).

    Parameters
    ----------
    params : dict
        ``n_data``, ``n_eff``, ``loss``, ``seed``. Features Gaussian; for the square loss the
        targets are Gaussian, for the quadratic hinge random labels; ``f0`` Gaussian of
        variance 1/4.

    Returns
    -------
    dict
        ``kernel`` (n_data, n_data), ``y``, ``f0``, ``f`` (final outputs), ``time``, ``steps``,
        ``speed``, ``converged``.
    """
    rng = np.random.default_rng(params["seed"])
    n_data, n_eff = params["n_data"], params["n_eff"]
    features = gaussian_features(n_data, n_eff, rng)
    kernel = features @ features.T / n_eff
    if params["loss"] == "square":
        y = rng.standard_normal(n_data)
    else:
        y = random_labels(n_data, rng)
    f0 = 0.5 * rng.standard_normal(n_data)
    result = integrate_kernel_flow(kernel, y, f0, params["loss"])
    return {"kernel": kernel, "y": y, "f0": f0, "f": result.f, "time": result.time,
            "steps": result.steps, "speed": result.speed, "converged": result.converged}


#: (n_data, n_eff) pairs of the kernel-flow sweep: K singular (phi > 1: SAT for the hinge at
#: phi = 1.5 with probability 0.97, UNSAT at phi >= 2.5) and regular (phi = 0.5).
KERNEL_FLOW_GRIDS = {
    "quick": {"sizes": ((50, 20), (45, 30), (30, 60)), "seeds": 2},
    "paper": {"sizes": ((50, 20), (90, 30), (120, 40), (45, 30), (30, 60)), "seeds": 5},
    "full": {"sizes": ((50, 20), (90, 30), (120, 40), (200, 80), (45, 30), (30, 60)),
             "seeds": 10},
}


def kernel_flow_grid(scale: str) -> list[dict]:
    """Points of the kernel-flow sweep: sizes x losses x seeds."""
    grid = KERNEL_FLOW_GRIDS[scale]
    return [
        {"n_data": n, "n_eff": p, "loss": loss,
         "seed": derive_seed(31_415, n, p, index, repeat)}
        for n, p in grid["sizes"]
        for index, loss in enumerate(LOSSES)
        for repeat in range(grid["seeds"])
    ]


KERNEL_FLOW_SWEEP = SweepSpec(
    name="kernel-flow",
    function=kernel_flow_trial,
    version="1",
    grid=kernel_flow_grid,
    description="RK4 kernel gradient flow with a frozen random-feature Gram matrix (S1)",
)
