r"""S4 claims on diagonal linear networks :math:`\beta = u\odot u - v\odot v`.

``S4.woodworth``
    Gradient descent from :math:`u = v = \alpha\mathbf 1` on a sparse regression problem
    ends at the :math:`Q_\alpha` interpolator of Woodworth et al. (2020) for :math:`\alpha`
    from :math:`10^{-3}` to :math:`10^2`, which moves from the minimum-:math:`\ell_1` to the
    minimum-:math:`\ell_2` interpolator.
``S4.label-noise-lasso``
    The time-averaged :math:`\beta` of label-noise gradient descent solves the weighted Lasso
    of :mod:`jamming.theory.label_noise_lasso` with :math:`\lambda_j = \eta\delta\lVert
    X_j\rVert^2/n`: its KKT residual on the Lasso support vanishes as :math:`\eta\to0` at
    fixed :math:`\lambda`, and its support is the Lasso's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, weighted_line_fit
from jamming.sweeps.runner import SweepRunner
from jamming.theory.implicit_bias import (
    min_l1_interpolator,
    min_l2_interpolator,
    q_alpha_interpolator,
)
from jamming.theory.label_noise_lasso import label_noise_lasso, label_noise_lasso_weights

#: Largest relative distance between extrapolated GD and the Q_alpha interpolator.
WOODWORTH_TOLERANCE = 1e-4

#: Lasso-support coordinates tested by the KKT statistic: ``|beta_L,j| >= this * max |beta_L|``.
KKT_COORDINATE_FLOOR = 0.1
#: Support recovery: the time average must exceed this fraction of ``max |beta_L|`` on the
#: tested support coordinates (with the Lasso's sign) and stay below it off the support.
SUPPORT_THRESHOLD = 0.05


def _relative(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


class Woodworth(Claim):
    """Gradient descent on diagonal networks reaches the Q_alpha interpolator."""

    id = "S4.woodworth"
    table_quantity = r"largest relative distance of GD to the $Q_\alpha$ interpolator"
    discrepancy_unit = r"relative"
    statement = (
        "Gradient descent on beta = u*u - v*v from u = v = alpha (small steps, extrapolated "
        "to zero step) converges to the minimiser of Q_alpha among interpolators for alpha "
        "from 1e-3 to 1e2, which moves from the minimum-l1 to the minimum-l2 interpolator."
    )
    sweeps = ("diagonal-woodworth",)

    def theory(self) -> Prediction:
        return Prediction(
            "The Q_alpha interpolator and its two limits.",
            {"q_alpha": q_alpha_interpolator, "l1": min_l1_interpolator,
             "l2": min_l2_interpolator})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per (data set, alpha): distances of GD to Q_alpha and of Q_alpha to the limits."""
        frame = runner.run("diagonal-woodworth", scale, arrays=True)
        theory = self.theory()
        rows, limits = [], {}
        for _, record in frame.iterrows():
            X, y = np.asarray(record["X"]), np.asarray(record["y"])
            key = int(record["seed"])
            if key not in limits:
                limits[key] = (theory["l1"](X, y), theory["l2"](X, y))
            l1, l2 = limits[key]
            target = theory["q_alpha"](X, y, float(record["alpha"]))
            extrapolated = np.asarray(record["beta_extrapolated"])
            rows.append({
                "seed": key, "alpha": float(record["alpha"]),
                "error_extrapolated": _relative(extrapolated, target),
                "error_plain": _relative(record["beta_half"], target),
                "step_effect": _relative(record["beta_half"], np.asarray(record["beta"])),
                "gd_to_l1": _relative(extrapolated, l1), "gd_to_l2": _relative(extrapolated, l2),
                "q_to_l1": _relative(target, l1), "q_to_l2": _relative(target, l2),
                "converged": bool(record["converged"]), "diverged": bool(record["diverged"]),
                "train_loss": float(np.max(record["train_loss"])), "q": target})
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """Largest relative distance of extrapolated GD to Q_alpha over data sets and alphas."""
        worst = float(data["error_extrapolated"].max())
        unconverged = int((~data["converged"] | data["diverged"]).sum())
        by_alpha = data.groupby("alpha")[["q_to_l1", "q_to_l2"]].median().sort_index()
        # resolution: how far Q_alpha moves between neighbouring alphas of the grid
        moves = np.array([
            _relative(a, b) for _, group in data.sort_values(["seed", "alpha"]).groupby("seed")
            for a, b in zip(group["q"].iloc[1:], group["q"].iloc[:-1], strict=True)])
        ordered = bool(by_alpha["q_to_l2"].iloc[-1] < by_alpha["q_to_l2"].iloc[0]
                       and by_alpha["q_to_l1"].iloc[0] < by_alpha["q_to_l1"].iloc[-1])
        return Verdict(
            quantity="largest ||beta_GD - beta_Q_alpha|| / ||beta_Q_alpha|| (GD extrapolated "
                     "to zero step)",
            predicted=0.0,
            measured=worst,
            discrepancy=worst,
            tolerance=WOODWORTH_TOLERANCE,
            passed=bool(worst <= WOODWORTH_TOLERANCE and unconverged == 0 and ordered),
            justification=(
                "GD with step eta ends O(eta) from the gradient-flow limit (measured: the "
                "relative step effect ||beta(eta/2) - beta(eta)||/||beta|| is ~1e-3 at a "
                "quarter of the stability bound and halves with eta), so the Richardson "
                "extrapolation 2 beta(eta/2) - beta(eta) leaves O(eta^2) ~ 1e-6; runs stop "
                "at train loss 1e-14 and u*u - v*v loses ~1e-8 to rounding at large alpha; "
                f"the tolerance {WOODWORTH_TOLERANCE:g} is two orders above these and, for "
                "alpha <= 1, two or more below the distance between Q_alpha at neighbouring "
                "alphas of the grid (details: neighbour_moves; for alpha >= 3 Q_alpha equals "
                "the l2 interpolator to 4e-5 and less, so there the test is of the l2 limit); "
                "every run must have converged without divergence, "
                "and Q_alpha must move from the l1 end (smallest alpha) to the l2 end"
            ),
            details={"unconverged_or_diverged": unconverged,
                     "neighbour_moves": np.round(moves, 8).tolist(),
                     "largest_plain_error": float(data["error_plain"].max()),
                     "largest_step_effect": float(data["step_effect"].max()),
                     "q_to_l1_by_alpha": by_alpha["q_to_l1"].round(6).to_dict(),
                     "q_to_l2_by_alpha": by_alpha["q_to_l2"].round(6).to_dict()},
        )

    def figure(self, data):
        """(a) distance of GD to Q_alpha against alpha; (b) distance of Q_alpha (lines) and of
        GD (markers) to the min-l1 and min-l2 interpolators."""
        with styled() as plt:
            fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(6.6, 2.7), constrained_layout=True)
            for i, (_, group) in enumerate(data.groupby("seed")):
                group = group.sort_values("alpha")
                ax_a.plot(group["alpha"], group["error_plain"], "s", ms=3, color=f"C{i}",
                          mfc="white", label="GD, step $\\eta/2$" if i == 0 else None)
                ax_a.plot(group["alpha"], group["error_extrapolated"], "o", ms=3,
                          color=f"C{i}", label="extrapolated to $\\eta\\to0$" if i == 0 else None)
                for column, style in (("q_to_l1", "-"), ("q_to_l2", "--")):
                    ax_b.plot(group["alpha"], group[column], style, color=f"C{i}", lw=0.8)
                ax_b.plot(group["alpha"], group["gd_to_l1"], "o", ms=3, color=f"C{i}",
                          mfc="white")
                ax_b.plot(group["alpha"], group["gd_to_l2"], "^", ms=3, color=f"C{i}",
                          mfc="white")
            ax_a.axhline(WOODWORTH_TOLERANCE, color="k", ls=":", lw=0.8, label="tolerance")
            ax_a.set_xscale("log")
            ax_a.set_yscale("log")
            ax_a.set_xlabel(r"$\alpha$")
            ax_a.set_ylabel(r"$\|\beta_\mathrm{GD}-\beta_{Q_\alpha}\|/\|\beta_{Q_\alpha}\|$")
            ax_a.legend(fontsize=6)
            ax_b.plot([], [], "k-", lw=0.8, label=r"$Q_\alpha$ to min-$\ell_1$")
            ax_b.plot([], [], "k--", lw=0.8, label=r"$Q_\alpha$ to min-$\ell_2$")
            ax_b.plot([], [], "ko", ms=3, mfc="white", label=r"GD to min-$\ell_1$")
            ax_b.plot([], [], "k^", ms=3, mfc="white", label=r"GD to min-$\ell_2$")
            ax_b.set_xscale("log")
            ax_b.set_yscale("log")
            ax_b.set_xlabel(r"$\alpha$")
            ax_b.set_ylabel("relative distance")
            ax_b.legend(fontsize=6)
            for ax, tag in ((ax_a, "(a)"), (ax_b, "(b)")):
                ax.text(0.03, 0.97, tag, transform=ax.transAxes, va="top")
        return fig


def _kkt_statistic(X, y, beta_avg, lasso, weights) -> np.ndarray:
    r"""Per run: mean over the tested Lasso-support coordinates of
    :math:`-\operatorname{sign}(\beta_{L,j})\,g_j(\bar\beta)/\lambda_j - 1` (zero when the
    time average satisfies the Lasso's KKT equations; linear in :math:`\bar\beta`)."""
    beta_l = lasso.beta
    tested = np.abs(beta_l) >= KKT_COORDINATE_FLOOR * np.max(np.abs(beta_l))
    g = (beta_avg @ X.T - y) @ X / X.shape[0]  # (runs, d)
    kappa = -np.sign(beta_l[tested]) * g[:, tested] / weights[tested] - 1.0
    return kappa.mean(axis=1)


def _support_mismatches(beta_avg, beta_l) -> int:
    """Coordinates, summed over runs, where the time average misses the Lasso support."""
    scale = SUPPORT_THRESHOLD * np.max(np.abs(beta_l))
    tested = np.abs(beta_l) >= KKT_COORDINATE_FLOOR * np.max(np.abs(beta_l))
    off = beta_l == 0
    wrong_on = (np.sign(beta_avg[:, tested]) != np.sign(beta_l[tested])) | (
        np.abs(beta_avg[:, tested]) < scale)
    wrong_off = np.abs(beta_avg[:, off]) > scale
    return int(wrong_on.sum() + wrong_off.sum())


class LabelNoiseLasso(Claim):
    """The time average of label-noise GD solves the weighted Lasso."""

    id = "S4.label-noise-lasso"
    table_quantity = r"largest $|t|$ of the KKT residual extrapolated to $\eta\to0$"
    discrepancy_unit = r"$|t|$"
    statement = (
        "The time-averaged beta of label-noise gradient descent on beta = u*u - v*v solves "
        "the weighted Lasso min (1/2n)|X beta - y|^2 + sum_j lambda_j |beta_j| with "
        "lambda_j = eta delta |X_j|^2/n (delta = sigma^2/n for full-batch label noise of "
        "standard deviation sigma) in the limit eta -> 0 at fixed eta delta: its relative "
        "KKT residual extrapolates to zero, and it has the Lasso's support."
    )
    sweeps = ("diagonal-label-noise",)

    def theory(self) -> Prediction:
        return Prediction(
            "The weighted Lasso of a data set, step and label-noise variance.",
            {"lasso": label_noise_lasso})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per (lambda, eta): KKT statistic per run, support mismatches, distances."""
        frame = runner.run("diagonal-label-noise", scale, arrays=True)
        rows = []
        for _, record in frame.iterrows():
            X, y = np.asarray(record["X"]), np.asarray(record["y"])
            n = X.shape[0]
            eta, sigma = float(record["eta"]), float(record["sigma"])
            lasso = self.theory()["lasso"](X, y, eta, sigma**2 / n)
            weights = label_noise_lasso_weights(X, eta, sigma**2 / n)
            beta_avg = np.asarray(record["beta_avg"])
            alive = ~np.asarray(record["diverged"], dtype=bool)
            kappa = _kkt_statistic(X, y, beta_avg[alive], lasso, weights)
            rows.append({
                "lam": round(float(record["lam"]), 12), "eta": eta, "runs": int(alive.sum()),
                "diverged": int((~alive).sum()), "kappa": kappa,
                "kappa_mean": float(kappa.mean()),
                "kappa_se": float(kappa.std(ddof=1) / math.sqrt(kappa.size)),
                "support_mismatches": _support_mismatches(beta_avg[alive], lasso.beta),
                "lasso_support": int(lasso.support.size),
                "relative_distance": float(np.mean([_relative(b, lasso.beta)
                                                    for b in beta_avg[alive]])),
                "lasso_kkt": lasso.kkt_violation,
                "beta_avg_mean": beta_avg[alive].mean(axis=0), "beta_lasso": lasso.beta,
                "beta_star": np.asarray(record["beta_star"])})
        return pd.DataFrame(rows)

    @staticmethod
    def _extrapolations(data: pd.DataFrame) -> pd.DataFrame:
        """Per lambda: kappa(eta) = kappa_0 + c eta by weighted least squares over the step
        sizes, with the variance pooled over the cells (runs - 1 degrees of freedom each)."""
        rows = []
        for lam, group in data.groupby("lam"):
            group = group.sort_values("eta")
            eta = group["eta"].to_numpy()
            runs = group["runs"].to_numpy()
            variance = np.array([np.var(k, ddof=1) for k in group["kappa"]])
            dof = int(np.sum(runs - 1))
            pooled = float(np.sum((runs - 1) * variance) / dof)
            intercept, se, slope, *_ = weighted_line_fit(eta, group["kappa_mean"],
                                                     np.sqrt(pooled / runs))
            rows.append({"lam": lam, "steps": len(group), "dof": dof, "kappa0": intercept,
                         "kappa0_se": se, "slope": slope, "t": intercept / se,
                         "kappa_largest_eta": float(group["kappa_mean"].iloc[-1])})
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """Largest :math:`|t|` of the extrapolated KKT statistic against the Student threshold
        (Bonferroni over lambdas), no support mismatch, no divergence."""
        fits = self._extrapolations(data)
        tests = len(fits)
        dof = int(fits["dof"].min())
        threshold = float(stats.t.isf(FAMILY_LEVEL / (2 * tests), dof))
        worst = float(np.max(np.abs(fits["t"])))
        mismatches = int(data["support_mismatches"].sum())
        diverged = int(data["diverged"].sum())
        return Verdict(
            quantity="largest |t| of the relative KKT residual of the time average, "
                     "extrapolated to eta -> 0 at fixed lambda",
            predicted=0.0,
            measured=worst,
            discrepancy=worst,
            tolerance=threshold,
            passed=bool(worst <= threshold and mismatches == 0 and diverged == 0
                        and (fits["steps"] >= 3).all()),
            justification=(
                "per run, kappa = mean over the Lasso-support coordinates with |beta_L,j| >= "
                f"{KKT_COORDINATE_FLOOR} max|beta_L| of -sign(beta_L,j) g_j(beta_avg)/lambda_j "
                "- 1, linear in the time average (so its mean over independent noise seeds is "
                "unbiased); the Ito argument gives kappa = 0 for the SDE, and the discrete "
                "steps add O(eta) (E log(1 - 2 eta g)^2 and the fluctuations of g), so kappa "
                "is extrapolated linearly in eta at fixed lambda = eta sigma^2/n; Student t "
                f"with the pooled variance ({dof} degrees of freedom), Bonferroni over {tests} "
                f"lambdas at family-wise {FAMILY_LEVEL}; support: every tested coordinate "
                f"above {SUPPORT_THRESHOLD} max|beta_L| with the Lasso's sign and every "
                "off-support coordinate below it, in every run"
            ),
            details={"fits": fits.round(8).to_dict(orient="records"),
                     "support_mismatches": mismatches, "diverged_runs": diverged,
                     "largest_lasso_kkt_violation": float(data["lasso_kkt"].max()),
                     "relative_distance": data[["lam", "eta", "relative_distance"]].round(6)
                     .to_dict(orient="records")},
        )

    def figure(self, data):
        """(a) time average against the Lasso, coordinate by coordinate; (b) the KKT
        statistic against eta with the extrapolation to eta = 0."""
        with styled() as plt:
            fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(6.6, 2.8), constrained_layout=True)
            row = data.sort_values(["lam", "eta"]).iloc[0]
            lasso, average, star = row["beta_lasso"], row["beta_avg_mean"], row["beta_star"]
            index = np.arange(lasso.size)
            ax_a.plot(index, star, "s", ms=2.5, color="0.6", mfc="none", label=r"$\beta^*$")
            ax_a.plot(index, lasso, "o", ms=3, color="k", mfc="none", label="weighted Lasso")
            ax_a.plot(index, average, ".", ms=3, color="C3", label="time average")
            ax_a.set_xlabel("coordinate $j$")
            ax_a.set_ylabel(r"$\beta_j$")
            ax_a.set_title(rf"$\lambda = {row['lam']:g}$, $\eta = {row['eta']:g}$", fontsize=8)
            ax_a.legend(fontsize=6)
            fits = self._extrapolations(data).set_index("lam")
            for i, (lam, group) in enumerate(data.groupby("lam")):
                ax_b.errorbar(group["eta"], group["kappa_mean"], yerr=group["kappa_se"],
                              fmt="o", ms=3, color=f"C{i}", mfc="white",
                              label=rf"$\lambda = {lam:g}$")
                grid = np.linspace(0.0, group["eta"].max(), 20)
                fit = fits.loc[lam]
                ax_b.plot(grid, fit["kappa0"] + fit["slope"] * grid, color=f"C{i}", lw=0.7)
                ax_b.errorbar([0.0], [fit["kappa0"]], yerr=[fit["kappa0_se"]], fmt="s", ms=3,
                              color=f"C{i}")
            ax_b.axhline(0.0, color="k", lw=0.6)
            ax_b.set_xlabel(r"step size $\eta$ ($\lambda$ fixed)")
            ax_b.set_ylabel(r"KKT residual $\kappa$")
            ax_b.legend(fontsize=6)
            for ax, tag in ((ax_a, "(a)"), (ax_b, "(b)")):
                ax.text(0.03, 0.97, tag, transform=ax.transAxes, va="top")
        return fig


CLAIMS = [Woodworth(), LabelNoiseLasso()]
