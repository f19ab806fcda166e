"""S1 claims from exact quadratic-hinge minima on Gaussian features with random labels.

``S1.unsat-branch``
    N_Delta/N_eff and loss/N_eff follow the CGMT branch :func:`.quadratic_hinge_unsat`.
``S1.isostatic-jump``
    Every UNSAT minimum has N_Delta >= N_eff + 1; near alpha = 2+ the branch starts at
    N_Delta/N_eff = 1 with the loss jumping to N_eff/pi.
``S1.soft-modes`` (hypothesis)
    The lowest eigenvalue of the Hessian of the unsatisfied points vanishes at jamming.

All three read the ``hinge-gaussian`` sweep. Finite-size effects are measured, not assumed:
at each load the mean over problems is extrapolated linearly in ``1/N_eff`` (self-averaging
quantities) or ``N_eff^(-2/3)`` (a spectral edge) over the sizes of the sweep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold, weighted_line_fit
from jamming.sweeps.runner import SweepRunner
from jamming.theory.capacity import ALPHA_C_RANDOM_LABELS, quadratic_hinge_unsat

#: Loads of the UNSAT branch test: far enough above 2 that SAT instances are negligible
#: (P_SAT < 3e-4 at N_eff = 125, alpha = 2.5) and the unconditional mean is the branch.
BRANCH_MIN_ALPHA = 2.5
#: Loads of the transition tests (UNSAT instances only).
TRANSITION_ALPHAS = (2.05, 2.1, 2.2, 2.3)
QUANTITIES = ("n_delta_over_n_eff", "loss_over_n_eff")


def hinge_instances(runner: SweepRunner, scale: str) -> pd.DataFrame:
    """One row per solved problem of the ``hinge-gaussian`` sweep (failed points excluded).

    Columns: ``n_eff, alpha, n_data, loss, n_delta, w_norm_sq, sat, kkt_residual,
    hessian_min, n_delta_over_n_eff, loss_over_n_eff`` and ``failed_points`` (constant).
    """
    frame = runner.run("hinge-gaussian", scale, arrays=True)
    parts = []
    for _, record in frame[frame["status"] == "ok"].iterrows():
        part = pd.DataFrame({name: record[name] for name in
                             ("loss", "n_delta", "w_norm_sq", "sat", "kkt_residual",
                              "hessian_min")})
        part["n_eff"], part["alpha"] = int(record["n_eff"]), float(record["alpha"])
        part["n_data"] = int(record["n_data"])
        parts.append(part)
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["n_eff", "alpha", "n_data", "loss", "n_delta", "sat", "hessian_min"])
    data["n_delta_over_n_eff"] = data["n_delta"] / data["n_eff"]
    data["loss_over_n_eff"] = data["loss"] / data["n_eff"]
    data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
    return data


def extrapolate(data: pd.DataFrame, quantity: str, exponent: float = 1.0) -> pd.DataFrame:
    """Per load, the mean of ``quantity`` extrapolated to ``N_eff -> infinity``.

    Fits ``mean(N) = value + a N^-exponent`` (weighted by the standard errors over problems)
    over the sizes with at least two problems. Returns columns ``alpha, value, se, sizes``.
    """
    rows = []
    for alpha, group in data.groupby("alpha"):
        stats = group.groupby("n_eff")[quantity].agg(["mean", "std", "count"])
        stats = stats[stats["count"] >= 2]
        if len(stats) < 2:
            continue
        se = np.maximum(stats["std"] / np.sqrt(stats["count"]), 1e-12)
        value, error, _, *_ = weighted_line_fit(stats.index.to_numpy(float) ** -exponent,
                                            stats["mean"], se)
        rows.append({"alpha": float(alpha), "value": value, "se": error, "sizes": len(stats)})
    return pd.DataFrame(rows, columns=["alpha", "value", "se", "sizes"])


def _branch_z_scores(extrapolated: pd.DataFrame, quantity: str) -> pd.DataFrame:
    theory = [getattr(quadratic_hinge_unsat(a), quantity) for a in extrapolated["alpha"]]
    result = extrapolated.assign(theory=theory, quantity=quantity)
    return result.assign(z=(result["value"] - result["theory"]) / result["se"])


def _branch_table(data: pd.DataFrame) -> pd.DataFrame:
    """z-scores of every quantity of :data:`QUANTITIES`, extrapolated in 1/N_eff per load."""
    return pd.concat([_branch_z_scores(extrapolate(data, q), q) for q in QUANTITIES],
                     ignore_index=True)


def _z_verdict(table: pd.DataFrame, quantity: str, justification: str, failed: int,
               extra_pass: bool = True, details: dict | None = None) -> Verdict:
    threshold = bonferroni_threshold(len(table))
    max_z = float(table["z"].abs().max()) if len(table) else float("inf")
    return Verdict(
        quantity=quantity,
        predicted=0.0,
        measured=max_z,
        discrepancy=max_z,
        tolerance=threshold,
        passed=bool(max_z <= threshold and failed == 0 and extra_pass),
        justification=justification + f"; Bonferroni over {len(table)} tests at family-wise "
                                      f"{FAMILY_LEVEL}; no failed sweep point",
        details={"tests": table.round(6).to_dict(orient="records"), "failed_points": failed,
                 **(details or {})},
    )


class _HingeClaim(Claim):
    """A claim on the ``hinge-gaussian`` sweep, compared with the CGMT branch."""

    sweeps = ("hinge-gaussian",)

    def theory(self) -> Prediction:
        return Prediction(
            "The parametric branch (a function of alpha; its alpha -> 2+ limits are 1, 1/pi).",
            {"branch": quadratic_hinge_unsat})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per-problem minima of the hinge sweep."""
        return hinge_instances(runner, scale)


class UnsatBranch(_HingeClaim):
    """The CGMT UNSAT branch against exact minima extrapolated in N_eff."""

    id = "S1.unsat-branch"
    table_quantity = r"largest $|z|$ of $N_\Delta$ and $\mathcal{L}$ per $N_\mathrm{eff}$ vs CGMT"
    discrepancy_unit = r"$|z|$"
    statement = (
        "For Gaussian features and random labels at alpha = N_data/N_eff > 2, the exact "
        "minimum of sum 1/2 (1 - y w.x)_+^2 has N_Delta/N_eff = I2(s)/Phi(s) and "
        "loss/N_eff = (s + phi(s)/Phi(s))^2/2 with alpha = I2(s)/Phi(s)^2."
    )

    def verdict(self, data) -> Verdict:
        """z-scores of the 1/N_eff-extrapolated means against the branch, alpha >= 2.5."""
        branch = data[data["alpha"] >= BRANCH_MIN_ALPHA]
        table = _branch_table(branch)
        return _z_verdict(
            table, "largest |z| of N_Delta/N_eff and loss/N_eff (extrapolated in 1/N_eff) vs "
                   "the CGMT branch",
            "seed-to-seed standard errors at each N_eff, propagated through a weighted "
            "extrapolation mean(N) = value + a/N_eff that measures the finite-size term",
            data.attrs.get("failed_points", 0),
        )

    def figure(self, data):
        """(a) N_Delta/N_eff and (b) loss/N_eff against alpha: branch and simulations."""
        with styled() as plt:
            fig, axes = plt.subplots(1, 2, constrained_layout=True)
            alphas = np.linspace(2.0005, data["alpha"].max() * 1.02, 300)
            branch = [quadratic_hinge_unsat(a) for a in alphas]
            labels = (r"$N_\Delta/N_\mathrm{eff}$", r"$\mathcal{L}_\mathrm{min}/N_\mathrm{eff}$")
            unsat = data[~data["sat"].astype(bool)]
            for ax, quantity, label in zip(axes, QUANTITIES, labels, strict=True):
                ax.plot(alphas, [getattr(b, quantity) for b in branch], color="k",
                        label="CGMT branch")
                for i, (n_eff, group) in enumerate(unsat.groupby("n_eff")):
                    stats = group.groupby("alpha")[quantity].agg(["mean", "sem"])
                    ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"], fmt="o",
                                color=f"C{i}", mfc="white", label=rf"$N_\mathrm{{eff}}={n_eff}$")
                extrapolated = extrapolate(unsat[unsat["alpha"] > ALPHA_C_RANDOM_LABELS],
                                           quantity)
                ax.errorbar(extrapolated["alpha"], extrapolated["value"], yerr=extrapolated["se"],
                            fmt="s", color="k", ms=2.5, label=r"$N_\mathrm{eff}\to\infty$")
                ax.set_xlabel(r"$\alpha = N_\mathrm{data}/N_\mathrm{eff}$")
                ax.set_ylabel(label)
            axes[0].legend(loc="upper left")
        return fig


class IsostaticJump(_HingeClaim):
    """N_Delta >= N_eff + 1 in every UNSAT minimum, and the jump at alpha = 2+."""

    id = "S1.isostatic-jump"
    table_quantity = r"largest $|z|$ of the UNSAT means next to $\alpha=2$ (and bound violations)"
    discrepancy_unit = r"$|z|$"
    statement = (
        "Every UNSAT minimum of the quadratic hinge has N_Delta >= N_eff + 1 (checked "
        "exactly); as alpha -> 2+ N_Delta/N_eff -> 1+ (as 1 + sqrt((alpha-2)/(pi-2))) while "
        "the minimum loss jumps from 0 to N_eff/pi."
    )

    def verdict(self, data) -> Verdict:
        """Exact count of violations; z-scores of the UNSAT means next to alpha = 2."""
        unsat = data[~data["sat"].astype(bool)]
        violations = int((unsat["n_delta"] < unsat["n_eff"] + 1).sum())
        sat_with_loss = int((data["sat"].astype(bool) & (data["loss"] != 0)).sum())
        near = unsat[np.isin(unsat["alpha"], TRANSITION_ALPHAS)]
        table = _branch_table(near)
        return _z_verdict(
            table, "largest |z| of UNSAT N_Delta/N_eff and loss/N_eff next to alpha = 2 vs the "
                   "branch (violations of N_Delta >= N_eff + 1 must be 0)",
            "exact integer check of N_Delta >= N_eff + 1 on every UNSAT instance and loss = 0 "
            "exactly on every SAT one; near the transition the UNSAT means, extrapolated in "
            "1/N_eff, against the branch, whose alpha -> 2+ limits are 1 and 1/pi",
            data.attrs.get("failed_points", 0),
            extra_pass=violations == 0 and sat_with_loss == 0,
            details={"violations": violations, "sat_with_nonzero_loss": sat_with_loss,
                     "unsat_instances": int(len(unsat)),
                     "min_excess": int((unsat["n_delta"] - unsat["n_eff"]).min())
                     if len(unsat) else None},
        )

    def figure(self, data):
        """(a) mean N_Delta/N_eff over all instances across alpha = 2; (b) N_Delta - N_eff >= 1."""
        with styled() as plt:
            fig, (ax_a, ax_b) = plt.subplots(1, 2, constrained_layout=True)
            alphas = np.linspace(2.0005, min(3.0, data["alpha"].max()), 300)
            ax_a.plot(alphas, [quadratic_hinge_unsat(a).n_delta_over_n_eff for a in alphas],
                      color="k", label=r"branch ($N_\mathrm{eff}\to\infty$)")
            ax_a.plot([data["alpha"].min(), 2.0], [0, 0], color="k")
            ax_a.plot([2.0, 2.0], [0, 1], color="k", ls=":")
            window = data[data["alpha"] <= 3.0]
            for i, (n_eff, group) in enumerate(window.groupby("n_eff")):
                stats = group.groupby("alpha")["n_delta_over_n_eff"].agg(["mean", "sem"])
                ax_a.errorbar(stats.index, stats["mean"], yerr=stats["sem"], fmt="o",
                              color=f"C{i}", mfc="white", label=rf"$N_\mathrm{{eff}}={n_eff}$")
            ax_a.set_xlabel(r"$\alpha$")
            ax_a.set_ylabel(r"$\langle N_\Delta\rangle/N_\mathrm{eff}$ (SAT counts 0)")
            ax_a.legend(loc="upper left")
            unsat = data[~data["sat"].astype(bool)]
            for i, (_, group) in enumerate(unsat.groupby("n_eff")):
                ax_b.semilogy(group["alpha"], group["n_delta"] - group["n_eff"], ".",
                              color=f"C{i}", ms=2, alpha=0.6)
            ax_b.axhline(1.0, color="k", ls="--", lw=0.8, label=r"$N_\Delta = N_\mathrm{eff}+1$")
            ax_b.set_xlabel(r"$\alpha$ (UNSAT instances)")
            ax_b.set_ylabel(r"$N_\Delta - N_\mathrm{eff}$")
            ax_b.legend(loc="lower right")
        return fig


class SoftModes(_HingeClaim):
    """Hypothesis: the Hessian of the unsatisfied points loses its gap at jamming."""

    id = "S1.soft-modes"
    table_quantity = r"$|z|$ of $\lambda_\mathrm{min}$ extrapolated to $\alpha\to2^+$, against 0"
    discrepancy_unit = r"$|z|$"
    gating = False
    statement = (
        "Hypothesis (kept whatever it shows): the lowest eigenvalue of Phi_Delta^T "
        "Phi_Delta / N_eff, the non-zero spectrum of the Gram matrix of the unsatisfied "
        "points, extrapolated to N_eff -> infinity, tends to 0 as alpha -> 2+."
    )

    def theory(self) -> Prediction:
        return Prediction(
            "The hypothesis, and a naive Marchenko-Pastur guess (sqrt(N_Delta/N_eff) - 1)^2.",
            {"naive_edge": lambda alpha: (
                np.sqrt(quadratic_hinge_unsat(alpha).n_delta_over_n_eff) - 1) ** 2})

    def _edge(self, data):
        unsat = data[~data["sat"].astype(bool) & (data["alpha"] > ALPHA_C_RANDOM_LABELS)]
        return extrapolate(unsat, "hessian_min", exponent=2.0 / 3.0)

    def verdict(self, data) -> Verdict:
        """Linear extrapolation of lambda_inf(alpha) over the three smallest loads to 2."""
        edge = self._edge(data).sort_values("alpha").head(3)
        if len(edge) < 2:
            return _z_verdict(pd.DataFrame(columns=["z"]), "lambda_min at alpha = 2", "too few "
                              "loads", data.attrs.get("failed_points", 0))
        intercept, error, slope, *_ = weighted_line_fit(edge["alpha"] - ALPHA_C_RANDOM_LABELS,
                                                    edge["value"], edge["se"])
        table = pd.DataFrame([{"alpha": ALPHA_C_RANDOM_LABELS, "value": intercept, "se": error,
                               "theory": 0.0, "z": intercept / error, "slope": slope}])
        naive = self.theory()["naive_edge"]
        return _z_verdict(
            table, "|z| of lambda_min(Hessian of unsatisfied points), extrapolated to "
                   "N_eff -> inf and then to alpha -> 2+, against 0",
            "per load, extrapolation in N_eff^(-2/3) (spectral edge); then a weighted linear "
            "fit in alpha - 2 over the three smallest loads above 2",
            data.attrs.get("failed_points", 0),
            details={"edge": self._edge(data).round(6).to_dict(orient="records"),
                     "naive_mp": {str(a): naive(a) for a in self._edge(data)["alpha"]}},
        )

    def figure(self, data):
        """lambda_min against alpha per N_eff, extrapolated values and the naive MP guess."""
        with styled() as plt:
            fig, ax = plt.subplots(figsize=(3.2, 2.6), constrained_layout=True)
            unsat = data[~data["sat"].astype(bool) & (data["alpha"] > ALPHA_C_RANDOM_LABELS)]
            for i, (n_eff, group) in enumerate(unsat.groupby("n_eff")):
                stats = group.groupby("alpha")["hessian_min"].agg(["mean", "sem"])
                ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"], fmt="o",
                            color=f"C{i}", mfc="white", label=rf"$N_\mathrm{{eff}}={n_eff}$")
            edge = self._edge(data)
            ax.errorbar(edge["alpha"], edge["value"], yerr=edge["se"], fmt="s", color="k",
                        ms=2.5, label=r"$N_\mathrm{eff}\to\infty$")
            alphas = np.linspace(2.0005, unsat["alpha"].max(), 200)
            ax.plot(alphas, [self.theory()["naive_edge"](a) for a in alphas], color="0.5", ls="--",
                    label="naive MP")
            ax.set_xlabel(r"$\alpha$")
            ax.set_ylabel(r"$\lambda_\mathrm{min}(\Phi_\Delta^\top\Phi_\Delta/N_\mathrm{eff})$")
            ax.legend(loc="upper left")
        return fig


CLAIMS = (UnsatBranch(), IsostaticJump(), SoftModes())
