r"""S3 claims on finite-width corrections to the infinite-width kernel picture.

``S3.width-scaling``
    With width :math:`h` (NTK parametrisation, one hidden layer), the initial kernel
    fluctuates as :math:`\|K_h(0) - K_\infty\|_F \sim h^{-1/2}` and, for a smooth
    activation, the kernel moves during training by :math:`\|K_h(T) - K_h(0)\|_F \sim h^{-1}`
    (seed 001: :math:`P^{-1/4}` and :math:`P^{-1/2}` in the number of parameters
    :math:`P\sim h^2` of deep networks). The ReLU drift exponent is measured and reported.
``S3.linearized-training``
    Gradient descent on the square loss follows the linear function-space recursion
    :math:`f_{t+1} = f_t - \eta K_h(0)(f_t - y)` (the Euler discretisation of
    :math:`f(t) = y + e^{-\eta K t}(f_0 - y)`, so that the time step is not part of the gap),
    on train and test points, with a gap that decays as :math:`h^{-1}` for a smooth
    activation (Lee et al. 2019; seeds 001, 002).
``S3.lazy-ratio`` (open, registration 2)
    The lazy ratio :math:`\kappa = \|y(w_0) - \tilde y\|\,\|\nabla^2 y\|/\|\nabla y\|^2` and
    its factors, measured on the same networks in two parametrisations: standard (LeCun-type
    initialisation, seed 002's setting) :math:`\kappa\sim h^{-1}`,
    :math:`\|\nabla y\|^2\sim h`, :math:`\|\nabla^2y\|\sim h^0`; NTK
    :math:`\kappa\sim h^{-1/2}`, :math:`\|\nabla y\|^2\sim h^0`,
    :math:`\|\nabla^2y\|\sim h^{-1/2}`, times :math:`(\log h)^{1/2}` for erf.
    Registration 1 tested :math:`-1` in the NTK parametrisation, where the claim's own
    statement expected :math:`-1/2`.

Exponent fits
-------------
For each quantity :math:`q` the mean over independent networks at each width and its
standard error give :math:`\log\bar q` with error :math:`\mathrm{se}/\bar q`; these are fitted
by weighted least squares to :math:`\log\bar q = a + s\log h + c/h`: a power law times the
first finite-width correction :math:`1 + c/h` (the kernel is an average over :math:`h`
neurons, so the corrections to these moments are a series in :math:`1/h`), with a predicted
logarithmic factor divided out where there is one. The standard error of :math:`s` is the
fit's, from the seeds' errors. Registration 2 (issue 13) of the three claims: the Birge
inflation of that error on a poor fit is gone, and every tested fit must also describe its
means, residual :math:`\chi^2` p-value at least the family level over the number of tested
fits; fresh seeds. At depth 1, :math:`\mathbb{E}K_h(0) = K_\infty` exactly, so
:math:`\|K_h(0) - K_\infty\|_F` is a pure fluctuation (no :math:`O(1/h)` mean shift to
separate).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import chi2 as chi2_distribution

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold
from jamming.sweeps.finite_width import FW_DEPTH, N_TRAIN
from jamming.sweeps.runner import SweepRunner
from jamming.theory.kernels import ntk

SWEEP = "finite-width"
#: Steps at which the linearisation gap is tested (the recorded steps after 0).
GAP_STEPS = (50, 100, 200)


def power_law_fit(widths, means, ses, log_power: float = 0.0) -> dict:
    r"""Weighted fit of :math:`\log\bar q - \lambda\log\log h = a + s\log h + c/h`.

    Errors of :math:`\log\bar q` are ``ses / means`` (delta method); :math:`\lambda`
    (``log_power``) divides out a predicted logarithmic factor :math:`(\log h)^\lambda`.
    The standard error of the slope is the one of the points' errors, never inflated by a
    poor fit (registration 1 scaled it by the Birge ratio, which made a poor fit easier to
    pass); the residual :math:`\chi^2`, its ``dof`` (widths minus 3) and ``p_value`` (nan
    at dof 0) say whether the model describes the means at all.

    Returns
    -------
    dict
        ``intercept``, ``slope``, ``correction`` (c), ``se`` (of the slope), ``chi2``,
        ``dof``, ``p_value``, ``log_power``.
    """
    h = np.asarray(widths, dtype=float)
    y = np.log(np.asarray(means, dtype=float)) - log_power * np.log(np.log(h))
    sigma = np.asarray(ses, dtype=float) / np.asarray(means, dtype=float)
    design = np.column_stack([np.ones_like(h), np.log(h), 1.0 / h])
    weights = 1.0 / sigma ** 2
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    coefficients = covariance @ design.T @ (weights * y)
    residuals = (y - design @ coefficients) / sigma
    chi2, dof = float(residuals @ residuals), int(h.size - 3)
    return {"intercept": float(coefficients[0]), "slope": float(coefficients[1]),
            "correction": float(coefficients[2]), "se": float(np.sqrt(covariance[1, 1])),
            "chi2": chi2, "dof": dof,
            "p_value": float(chi2_distribution.sf(chi2, dof)) if dof > 0 else float("nan"),
            "log_power": float(log_power)}


def _linear_recursion(kernel, f0_train, f0_test, targets, eta, steps):
    """Outputs of f_{t+1} = f_t - eta K (f_t(train) - y) at ``steps``, per network.

    ``kernel`` (S, N, N) on train+test (train first); returns (S, n_times, n) arrays.
    """
    n = N_TRAIN
    k_train, k_test = kernel[:, :n, :n], kernel[:, n:, :n]
    train, test = f0_train.copy(), f0_test.copy()
    out_train, out_test = [], []
    for step in range(int(max(steps)) + 1):
        if step in steps:
            out_train.append(train.copy())
            out_test.append(test.copy())
        residual = train - targets
        train = train - eta * np.einsum("sij,sj->si", k_train, residual)
        test = test - eta * np.einsum("sij,sj->si", k_test, residual)
    return np.stack(out_train, axis=1), np.stack(out_test, axis=1)


#: Suffixes of the lazy-ratio columns per parametrisation (the sweep's field names).
PARAMETERIZATIONS = {"ntk": "", "standard": "_standard"}


def _lazy_factors(record) -> dict[str, np.ndarray]:
    """Per parametrisation: kappa, |Dy|^2, |D^2 y| and the residual, over the first networks.

    The Hessian norm is the neuron-by-neuron one (``hessian_block``), and kappa is computed
    with it; the power-iteration value (``hessian_power``) and, for ReLU, the closed form
    (``hessian_exact``, NaN for erf) are kept for the checks.
    """
    residual = np.asarray(record["residual_norm"], dtype=float)
    factors = {"residual": residual}
    for suffix in PARAMETERIZATIONS.values():
        block = np.asarray(record[f"hessian_block{suffix}"], dtype=float)
        exact = record.get(f"hessian_exact{suffix}")
        jacobian2 = np.asarray(record[f"jacobian_norm{suffix}"], dtype=float) ** 2
        factors |= {f"kappa{suffix}": residual * block / jacobian2,
                    f"hessian{suffix}": block, f"jacobian2{suffix}": jacobian2,
                    f"hessian_power{suffix}": np.asarray(record[f"hessian_norm{suffix}"],
                                                         dtype=float),
                    f"hessian_exact{suffix}": np.asarray(exact, dtype=float)
                    if isinstance(exact, np.ndarray) else np.full(residual.shape, np.nan)}
    return factors


def _per_network(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (activation, width, network): fluctuation, drift, gaps; kappa rows apart."""
    rows = []
    for _, record in frame.iterrows():
        if record["status"] != "ok":
            continue
        activation, width = record["activation"], int(record["width"])
        inputs = np.asarray(record["inputs"])
        targets = np.asarray(record["targets"])
        steps = [int(s) for s in np.asarray(record["steps"])]
        eta = float(record["learning_rate"])
        kernel0 = np.asarray(record["kernel0"])
        limit = ntk(inputs, None, int(record["depth"]), activation, float(record["w_std"]), 0.0)
        fluctuation = (np.linalg.norm(kernel0 - limit, axis=(1, 2))
                       / np.linalg.norm(limit))
        drift = np.asarray(record["drift"])[:, -1]
        train = np.asarray(record["train_outputs"])
        test = np.asarray(record["test_outputs"])
        scale = np.linalg.norm(train[:, 0] - targets, axis=1)
        gaps = {}
        for name, kernel in (("own", kernel0), ("inf", np.broadcast_to(limit, kernel0.shape))):
            lin_train, lin_test = _linear_recursion(kernel, train[:, 0], test[:, 0], targets,
                                                    eta, steps)
            gaps[name] = (np.linalg.norm(train - lin_train, axis=2) / scale[:, None],
                          np.linalg.norm(test - lin_test, axis=2) / scale[:, None])
        lazy = _lazy_factors(record)
        for s in range(kernel0.shape[0]):
            row = {"activation": activation, "width": width, "network": s,
                   "fluctuation": fluctuation[s], "drift": drift[s]}
            row |= {name: values[s] if s < values.size else np.nan
                    for name, values in lazy.items()}
            for step in GAP_STEPS:
                i = steps.index(step)
                for name in ("own", "inf"):
                    row[f"gap_{name}_train_{step}"] = gaps[name][0][s, i]
                    row[f"gap_{name}_test_{step}"] = gaps[name][1][s, i]
            rows.append(row)
    data = pd.DataFrame(rows)
    data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
    return data


def _fit(data: pd.DataFrame, activation: str, column: str, log_power: float = 0.0) -> dict:
    subset = data[data["activation"] == activation].dropna(subset=[column])
    stats = subset.groupby("width")[column].agg(["mean", "std", "count"])
    se = stats["std"] / np.sqrt(stats["count"])
    fit = power_law_fit(stats.index.to_numpy(), stats["mean"], se, log_power)
    return {"activation": activation, "quantity": column, **fit,
            "widths": [int(w) for w in stats.index], "means": [float(m) for m in stats["mean"]],
            "ses": [float(v) for v in se]}


class Tested(NamedTuple):
    """Exponent fits against their predictions (built by ``_tested``)."""

    table: pd.DataFrame
    max_z: float
    threshold: float
    #: Fits whose residual chi2 p-value is below ``gof_level`` (quantity names).
    poor_fits: list
    gof_level: float

    @property
    def passed(self) -> bool:
        return self.max_z <= self.threshold and not self.poor_fits

    @property
    def smallest_p_value(self) -> float:
        """Smallest residual chi2 p-value of the fits (nan if none has dof > 0)."""
        return float(self.table["p_value"].min())


def _tested(fits: list[dict], predictions: list[float]) -> Tested:
    """z of each slope against its prediction (Bonferroni) and each fit's goodness of fit."""
    table = pd.DataFrame([{k: v for k, v in fit.items() if k not in ("widths", "means", "ses")}
                          for fit in fits])
    table["predicted"] = predictions
    table["z"] = (table["slope"] - table["predicted"]) / table["se"]
    gof_level = FAMILY_LEVEL / len(table)
    poor = table[(table["dof"] > 0) & (table["p_value"] < gof_level)]
    return Tested(table, float(table["z"].abs().max()), bonferroni_threshold(len(table)),
                  [f"{a} {q}" for a, q in zip(poor["activation"], poor["quantity"],
                                              strict=True)], gof_level)


def _gof_text(tested: Tested) -> str:
    return (f"every fit's residual chi2 must have p >= {tested.gof_level:.2g} (no inflation "
            f"of the slope's error); poor fits: {', '.join(tested.poor_fits) or 'none'}")


def _simulate(scale: str, runner: SweepRunner) -> pd.DataFrame:
    return _per_network(runner.run(SWEEP, scale, arrays=True))


def _plot_fits(ax, data, column, predicted, label, log_powers=None):
    """Means against width per activation, the fitted curve and (dotted) the predicted slope
    through the widest point; ``log_powers`` maps an activation to its (log h)^lambda."""
    for i, activation in enumerate(sorted(data["activation"].unique())):
        log_power = (log_powers or {}).get(activation, 0.0)
        fit = _fit(data, activation, column, log_power)
        h = np.asarray(fit["widths"], dtype=float)
        ax.errorbar(h, fit["means"], yerr=fit["ses"], fmt="o", ms=3, mfc="white",
                    color=f"C{i}", label=f"{activation}: slope {fit['slope']:.2f}")
        grid = np.geomspace(h.min(), h.max(), 50)
        logs = log_power * np.log(np.log(grid))
        ax.plot(grid, np.exp(fit["intercept"] + fit["slope"] * np.log(grid)
                             + fit["correction"] / grid + logs), "-", lw=0.8, color=f"C{i}")
        if predicted is not None:
            anchor = (fit["means"][-1] * (grid / h[-1]) ** predicted
                      * np.exp(logs - log_power * np.log(np.log(h[-1]))))
            ax.plot(grid, anchor, ":", lw=0.8, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width $h$")
    ax.set_ylabel(label)
    ax.legend(fontsize=6)


class WidthScaling(Claim):
    """Exponents of the initial kernel fluctuation and of the kernel drift in the width."""

    id = "S3.width-scaling"
    table_quantity = r"largest $|z|$ of the fitted width exponents"
    discrepancy_unit = r"$|z|$"
    statement = (
        "For one-hidden-layer networks in the NTK parametrisation, ||K_h(0) - K_inf||_F "
        "decays as h^{-1/2} (erf and ReLU) and the kernel drift ||K_h(T) - K_h(0)||_F over "
        "a fixed training time eta*T decays as h^{-1} for the smooth activation erf; the "
        "ReLU drift exponent is measured (seed 001). Registration 2: each fit must also "
        "describe its means (no inflation of the slope's error), fresh seeds."
    )
    sweeps = (SWEEP,)

    def theory(self) -> Prediction:
        return Prediction(
            "Predicted exponents: fluctuation -1/2, smooth drift -1; K_inf from theory.",
            {"fluctuation": -0.5, "drift (smooth)": -1.0,
             "K_inf": lambda x, activation, W_std: ntk(x, None, FW_DEPTH, activation, W_std,
                                                       0.0)})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per network: relative fluctuation, relative drift at T, kappa, gaps."""
        return _simulate(scale, runner)

    def verdict(self, data) -> Verdict:
        """Largest :math:`|z|` of the three exponents against theory, Bonferroni over three."""
        fits = [_fit(data, "erf", "fluctuation"), _fit(data, "relu", "fluctuation"),
                _fit(data, "erf", "drift")]
        tested = _tested(fits, [-0.5, -0.5, -1.0])
        table, max_z, threshold = tested.table, tested.max_z, tested.threshold
        reported = [_fit(data, "relu", "drift")]
        failed = data.attrs.get("failed_points", 0)
        return Verdict(
            quantity="largest |z| of fitted width exponents (fluctuation erf/relu, drift erf)",
            predicted=0.0, measured=max_z, discrepancy=max_z, tolerance=threshold,
            passed=bool(tested.passed and failed == 0),
            justification=(
                "per width, mean and standard error over independent networks of "
                "|K_h(0)-K_inf|_F/|K_inf|_F (a pure fluctuation at depth 1: E K_h(0) = K_inf) "
                "and of |K_h(T)-K_h(0)|_F/|K_h(0)|_F at fixed eta*T; log-mean fitted by "
                "weighted least squares to a + s log h + c/h (power law with its first 1/h "
                "correction); "
                f"z = (s - predicted)/se(s), Bonferroni over {len(table)} tests "
                f"at family-wise {FAMILY_LEVEL}; {_gof_text(tested)}. The ReLU drift "
                "exponent is reported, not tested"),
            details={"tested": table.round(6).to_dict(orient="records"),
                     "reported": [{k: (round(v, 6) if isinstance(v, float) else v)
                                   for k, v in fit.items() if k not in ("means", "ses")}
                                  for fit in reported],
                     "smallest_fit_p_value": tested.smallest_p_value,
                     "failed_points": failed},
        )

    def figure(self, data):
        """Fluctuation and drift against width, log-log, fitted and predicted slopes."""
        with styled() as plt:
            fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
            _plot_fits(axes[0], data, "fluctuation", -0.5,
                       r"$\|K_h(0)-K_\infty\|_F/\|K_\infty\|_F$")
            _plot_fits(axes[1], data, "drift", -1.0, r"$\|K_h(T)-K_h(0)\|_F/\|K_h(0)\|_F$")
        return fig


class LinearizedTraining(Claim):
    """Gradient descent against the linear function-space recursion with the initial NTK."""

    id = "S3.linearized-training"
    table_quantity = r"width exponent of the gap to the linearised recursion"
    discrepancy_unit = r"$|z|$"
    statement = (
        "Gradient descent on the square loss of a wide one-hidden-layer erf network follows "
        "the linear function-space flow f_{t+1} = f_t - eta K_h(0)(f_t - y) on train and "
        "test points, with a relative gap |f_net(t) - f_lin(t)|/|f_0 - y| that decays as "
        "h^{-1} (Lee et al. 2019; seeds 001, 002). Registration 2: each fit must also "
        "describe its means (no inflation of the slope's error), fresh seeds."
    )
    sweeps = (SWEEP,)

    def theory(self) -> Prediction:
        return Prediction(
            "The linear recursion and the predicted gap exponent.",
            {"gap exponent (smooth)": -1.0, "recursion": _linear_recursion})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per network: gaps to the linearised flow with K_h(0) and with K_inf."""
        return _simulate(scale, runner)

    def verdict(self, data) -> Verdict:
        """Largest :math:`|z|` of the erf gap exponents (train/test, three times) against -1."""
        fits = [_fit(data, "erf", f"gap_own_{where}_{step}")
                for where in ("train", "test") for step in GAP_STEPS]
        tested = _tested(fits, [-1.0] * len(fits))
        table, max_z, threshold = tested.table, tested.max_z, tested.threshold
        reported = ([_fit(data, "relu", f"gap_own_{where}_{GAP_STEPS[-1]}")
                     for where in ("train", "test")]
                    + [_fit(data, a, f"gap_inf_{where}_{GAP_STEPS[-1]}")
                       for a in ("erf", "relu") for where in ("train", "test")])
        widest = data["width"].max()
        largest_gap = float(data[(data["width"] == widest) & (data["activation"] == "erf")][
            [f"gap_own_{w}_{s}" for w in ("train", "test") for s in GAP_STEPS]].mean().max())
        failed = data.attrs.get("failed_points", 0)
        return Verdict(
            quantity="largest |z| of the width exponent of the gap to the linearised flow "
                     "(erf; train and test; three times) against -1",
            predicted=-1.0, measured=float(table.loc[table["z"].abs().idxmax(), "slope"]),
            discrepancy=max_z, tolerance=threshold,
            passed=bool(tested.passed and failed == 0),
            justification=(
                "the linearised prediction is the exact discrete recursion with each "
                "network's own K_h(0) and f_0 (so the time step is not part of the gap); per "
                "width, mean and standard error over networks of the relative gap, log-mean "
                "fitted to a + s log h + c/h; "
                "predicted -1: the kernel drift is O(1/h) and "
                "the second-order Taylor term of f is odd in the readout weights, so both "
                f"enter at O(1/h); Bonferroni over {len(table)} tests at family-wise "
                f"{FAMILY_LEVEL}; {_gof_text(tested)}. Gaps with K_inf (initial-kernel "
                "fluctuation, expected h^{-1/2}) and the ReLU gaps are reported, not tested"),
            details={"tested": table.round(6).to_dict(orient="records"),
                     "reported": [{k: (round(v, 6) if isinstance(v, float) else v)
                                   for k, v in fit.items() if k not in ("means", "ses")}
                                  for fit in reported],
                     "largest_mean_gap_widest_erf": largest_gap,
                     "smallest_fit_p_value": tested.smallest_p_value, "failed_points": failed},
        )

    def figure(self, data):
        """Relative gap at the last step against width: own K_h(0) and K_inf."""
        step = GAP_STEPS[-1]
        with styled() as plt:
            fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
            _plot_fits(axes[0], data, f"gap_own_test_{step}", -1.0,
                       rf"test gap to $K_h(0)$ flow, $t={step}$")
            _plot_fits(axes[1], data, f"gap_inf_test_{step}", -0.5,
                       rf"test gap to $K_\infty$ flow, $t={step}$")
        return fig


#: Registered width exponents of the lazy ratio and its factors, per parametrisation:
#: (kappa, squared Jacobian norm, Hessian norm); the erf NTK Hessian, and so its kappa,
#: carry a factor :math:`(\log h)^{1/2}`.
LAZY_EXPONENTS = {"ntk": (-0.5, 0.0, -0.5), "standard": (-1.0, 1.0, 0.0)}
#: Power :math:`\lambda` of the :math:`(\log h)^\lambda` factor, per (activation,
#: parametrisation), for the Hessian norm and kappa: the largest of :math:`h` Gaussian
#: readout weights, :math:`\max_i |a_i| \sim \sqrt{2\log h}`, multiplies the erf
#: second-derivative block, which dominates at NTK scale.
LAZY_LOG_POWERS = {("erf", "ntk"): 0.5}


class LazyRatio(Claim):
    """The lazy ratio and its factors against width, in two parametrisations (open)."""

    id = "S3.lazy-ratio"
    table_quantity = r"largest $|z|$ of the width exponents of $\kappa$ and $\|\nabla y\|^2$"
    discrepancy_unit = r"$|z|$"
    statement = (
        "Hypothesis (registration 2): on the same one-hidden-layer networks (erf, ReLU; no "
        "biases), the lazy ratio kappa = |y(w0) - y~| |D^2 y| / |Dy|^2 and its factors "
        "scale with the width as h^-1, h^+1, h^0 for (kappa, |Dy|^2, |D^2 y|) in the "
        "standard parametrisation with LeCun-type initialisation (seed 002's 1/m) and as "
        "h^-1/2, h^0, h^-1/2 in the NTK parametrisation, where the erf Hessian and kappa "
        "carry a factor (log h)^(1/2). Tested: the exponents of kappa and |Dy|^2 (8 fits) "
        "within the Bonferroni |z|, each fit's residual chi2 p >= 0.01/8, no failed point; "
        "Hessian norms neuron by neuron (block-diagonal Hessian), equal to the closed form "
        "for ReLU and never below a 3-start power iteration. The Hessian exponents are "
        "reported, not tested: the norm is a maximum over the h neurons, whose approach to "
        "its limit is no power series in 1/h."
    )
    sweeps = (SWEEP,)
    gating = False

    def theory(self) -> Prediction:
        return Prediction("The exponents of (kappa, |Dy|^2, |D^2 y|) per parametrisation, "
                          "and the log factors.",
                          {"exponents": LAZY_EXPONENTS, "log powers": LAZY_LOG_POWERS})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per network (the first n_kappa of each width): kappa and its factors, both
        parametrisations."""
        return _simulate(scale, runner)

    def _fits(self, data, names) -> tuple[list[dict], list[float]]:
        """Fits of the named factors, and their predicted exponents (LAZY_EXPONENTS)."""
        fits, predictions = [], []
        for activation in ("erf", "relu"):
            for parameterization, suffix in PARAMETERIZATIONS.items():
                log_power = LAZY_LOG_POWERS.get((activation, parameterization), 0.0)
                for name, exponent in zip(("kappa", "jacobian2", "hessian"),
                                          LAZY_EXPONENTS[parameterization], strict=True):
                    if name in names:
                        power = 0.0 if name == "jacobian2" else log_power
                        fits.append(_fit(data, activation, name + suffix, power))
                        predictions.append(exponent)
        return fits, predictions

    def verdict(self, data) -> Verdict:
        """Largest :math:`|z|` of the 8 exponents of kappa and of the squared Jacobian norm,
        each fit's chi2, the Hessian checks, and no failed point; the Hessian exponents are
        reported."""
        tested = _tested(*self._fits(data, ("kappa", "jacobian2")))
        hessian = _tested(*self._fits(data, ("hessian",)))
        failed = data.attrs.get("failed_points", 0)
        lazy = data.dropna(subset=["hessian"])
        relu = lazy[lazy["activation"] == "relu"]
        # the neuron-by-neuron norm must reach the closed form (ReLU) and never fall below
        # the power iteration over all parameters (both are attained values), to 1e-6
        missed = {p: int((np.abs(relu["hessian" + s] - relu["hessian_exact" + s])
                          > 1e-6 * relu["hessian_exact" + s]).sum()
                         + (lazy["hessian_power" + s] > lazy["hessian" + s] * (1 + 1e-6)).sum())
                  for p, s in PARAMETERIZATIONS.items()}
        power_short = {p: int((lazy["hessian_power" + s] < lazy["hessian" + s] * (1 - 1e-6))
                              .sum()) for p, s in PARAMETERIZATIONS.items()}
        worst = tested.table.loc[tested.table["z"].abs().idxmax()]
        return Verdict(
            quantity="largest |z| of the width exponents of kappa and |Dy|^2 (erf, ReLU; "
                     "NTK and standard parametrisations)",
            predicted=float(worst["predicted"]), measured=float(worst["slope"]),
            discrepancy=tested.max_z, tolerance=tested.threshold,
            passed=bool(tested.passed and failed == 0 and not any(missed.values())),
            justification=(
                "per width, mean and standard error over networks, log-mean fitted to "
                "a + s log h + c/h after dividing out (log h)^(1/2) for the erf NTK Hessian "
                f"and kappa; Bonferroni over {len(tested.table)} tests at family-wise "
                f"{FAMILY_LEVEL}; {_gof_text(tested)}; Hessian norms neuron by neuron, "
                "which must equal the closed form for ReLU and never fall below the power "
                f"iteration (missed: {missed['ntk']} NTK, {missed['standard']} standard); "
                f"the power iteration with 3 starts fell short of them in "
                f"{power_short['ntk']} (NTK) and {power_short['standard']} (standard) of "
                f"{len(lazy)} networks"),
            details={"tested": tested.table.round(6).to_dict(orient="records"),
                     "poor_fits": tested.poor_fits,
                     "hessian_exponents_reported": hessian.table.round(6).to_dict(
                         orient="records"),
                     "residual": [{k: v for k, v in _fit(data, a, "residual").items()
                                   if k in ("activation", "slope", "se", "chi2", "dof")}
                                  for a in ("erf", "relu")],
                     "networks": int(len(lazy)),
                     "hessian_block_missed": missed,
                     "power_iteration_short": power_short,
                     "power_iteration_short_ntk": power_short["ntk"],
                     "power_iteration_short_standard": power_short["standard"],
                     "smallest_fit_p_value": tested.smallest_p_value,
                     "failed_points": failed},
        )

    def figure(self, data):
        """kappa and its factors against width, both parametrisations, with the fits."""
        with styled() as plt:
            fig, axes = plt.subplots(2, 3, figsize=(7.0, 4.6), constrained_layout=True)
            for row, (parameterization, suffix) in enumerate(PARAMETERIZATIONS.items()):
                for ax, name, label, exponent in zip(
                        axes[row], ("kappa", "jacobian2", "hessian"),
                        (r"$\kappa$", r"$\|\nabla y\|^2$", r"$\|\nabla^2 y\|$"),
                        LAZY_EXPONENTS[parameterization], strict=True):
                    logs = ({} if name == "jacobian2" else
                            {a: LAZY_LOG_POWERS.get((a, parameterization), 0.0)
                             for a in ("erf", "relu")})
                    _plot_fits(ax, data, name + suffix, exponent,
                               f"{label} ({parameterization})", logs)
        return fig


CLAIMS = (WidthScaling(), LinearizedTraining(), LazyRatio())
