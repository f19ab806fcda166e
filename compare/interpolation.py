"""S1 claims on the square loss and the function-space view.

``S1.square-interpolation``
    The smallest non-zero Gram eigenvalue closes at phi = 1 as the Marchenko-Pastur edge
    :math:`(1-\\sqrt\\phi)^2` predicts, with Edelman's hard-edge law at phi = 1.
``S1.fixed-points``
    Kernel gradient flow with a frozen, possibly singular kernel ends at the minimum of the
    loss on ``f0 + range(K)``, with the predicted number of zero modes.
"""

from __future__ import annotations

import numpy as np

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold, weighted_line_fit
from jamming.sweeps.runner import SweepRunner
from jamming.theory.function_space import (
    count_zero_modes,
    kernel_flow_fixed_point,
    linearised_spectrum,
    loss_value,
)
from jamming.theory.random_matrix import edelman_hard_edge_mean, smallest_nonzero_eigenvalue


class SquareInterpolation(Claim):
    """The smallest non-zero eigenvalue of Gaussian-feature Gram matrices against MP/Edelman."""

    id = "S1.square-interpolation"
    table_quantity = r"largest $|z|$ of $\lambda_\mathrm{min}$ vs MP edge and Edelman"
    discrepancy_unit = r"$|z|$"
    statement = (
        "The smallest non-zero eigenvalue of K/N_eff for Gaussian features tends to "
        "(1 - sqrt(phi))^2, closing at the interpolation threshold phi = 1 of the square "
        "loss, where N^2 lambda_min follows Edelman's hard-edge law."
    )
    sweeps = ("gram-spectrum",)

    def theory(self) -> Prediction:
        return Prediction(
            "The soft-edge limit as a function of phi and the hard-edge mean at phi = 1.",
            {"edge": smallest_nonzero_eigenvalue, "hard_edge_mean": edelman_hard_edge_mean()})

    def simulate(self, scale: str, runner: SweepRunner):
        """Mean and standard error of lambda_min per (n_eff, phi); columns as named."""
        frame = runner.run("gram-spectrum", scale, arrays=True)
        rows = []
        for _, record in frame.iterrows():
            ok = record["status"] == "ok"
            values = np.asarray(record["lambda_min"]) if ok else np.array([])
            n_eff = int(record["n_eff"])
            rows.append({"n_eff": n_eff, "phi": record["n_data"] / n_eff, "ok": ok,
                         "mean": values.mean() if ok else np.nan,
                         "se": values.std(ddof=1) / np.sqrt(values.size) if ok else np.nan,
                         "scaled_mean": (n_eff**2 * values).mean() if ok else np.nan,
                         "scaled_se": (n_eff**2 * values).std(ddof=1) / np.sqrt(values.size)
                         if ok else np.nan})
        import pandas as pd

        return pd.DataFrame(rows)

    def _extrapolations(self, data):
        results = {}
        for phi, group in data[data["ok"]].groupby("phi"):
            if np.isclose(phi, 1.0):
                largest = group.loc[group["n_eff"].idxmax()]
                expected = edelman_hard_edge_mean()
                results[float(phi)] = {
                    "measured": float(largest["scaled_mean"]), "se": float(largest["scaled_se"]),
                    "predicted": expected, "kind": "N^2 lambda_min at the largest N"}
            else:
                intercept, se, slope, *_ = weighted_line_fit(
                    group["n_eff"] ** (-2.0 / 3.0), group["mean"], group["se"])
                results[float(phi)] = {
                    "measured": intercept, "se": se, "slope": slope,
                    "predicted": smallest_nonzero_eigenvalue(phi),
                    "kind": "lambda_min extrapolated in N^(-2/3)"}
        for entry in results.values():
            entry["z"] = (entry["measured"] - entry["predicted"]) / entry["se"]
        return results

    def verdict(self, data) -> Verdict:
        """Largest :math:`|z|` of the extrapolated edges (and the hard-edge mean) against theory."""
        fits = self._extrapolations(data)
        threshold = bonferroni_threshold(len(fits))
        max_z = max(abs(f["z"]) for f in fits.values())
        failed = int((~data["ok"]).sum())
        return Verdict(
            quantity="largest |z| of lambda_min(N->inf) vs (1-sqrt(phi))^2 and of N^2 lambda_min "
                     "at phi=1 vs Edelman",
            predicted=0.0,
            measured=max_z,
            discrepancy=max_z,
            tolerance=threshold,
            passed=bool(max_z <= threshold and failed == 0),
            justification=(
                "per phi != 1 a weighted fit lambda_min = lambda_inf + a N^(-2/3) (Tracy-Widom "
                "scale of the soft edge) over the sizes, its standard error from the seeds; at "
                "phi = 1 the mean of N^2 lambda_min at the largest N against Edelman's "
                f"{edelman_hard_edge_mean():.4f}; Bonferroni over {len(fits)} tests at "
                f"family-wise {FAMILY_LEVEL}"
            ),
            details={"fits": {str(k): v for k, v in fits.items()}, "failed_points": failed},
        )

    def figure(self, data):
        """(a) lambda_min against phi with the MP edge; (b) the hard edge at phi = 1."""
        with styled() as plt:
            fig, (ax_a, ax_b) = plt.subplots(1, 2, constrained_layout=True)
            phis = np.linspace(0.05, 4.5, 400)
            ax_a.plot(phis, [smallest_nonzero_eigenvalue(p) for p in phis], color="k",
                      label=r"$(1-\sqrt{\phi})^2$")
            ok = data[data["ok"]]
            for i, (n_eff, group) in enumerate(ok.groupby("n_eff")):
                ax_a.errorbar(group["phi"] * (1 + 0.01 * (i - 2)), group["mean"],
                              yerr=group["se"], fmt="o", color=f"C{i}", mfc="white",
                              label=rf"$N_\mathrm{{eff}}={n_eff}$")
            ax_a.set_xlabel(r"$\phi = N_\mathrm{data}/N_\mathrm{eff}$")
            ax_a.set_ylabel(r"$\lambda_\mathrm{min}^{+}(K/N_\mathrm{eff})$")
            ax_a.legend(loc="upper center")
            hard = ok[np.isclose(ok["phi"], 1.0)]
            ax_b.errorbar(hard["n_eff"], hard["scaled_mean"], yerr=hard["scaled_se"], fmt="o",
                          color="C3", mfc="white", label="simulation")
            ax_b.axhline(edelman_hard_edge_mean(), color="k", label="Edelman")
            ax_b.set_xscale("log")
            ax_b.set_xlabel(r"$N = N_\mathrm{data} = N_\mathrm{eff}$")
            ax_b.set_ylabel(r"$N^2 \lambda_\mathrm{min}$ at $\phi = 1$")
            ax_b.set_ylim(0, 1.5)
            ax_b.legend(loc="lower right")
            for ax, tag in ((ax_a, "(a)"), (ax_b, "(b)")):
                ax.text(0.97, 0.97, tag, transform=ax.transAxes, va="top", ha="right")
        return fig


class FixedPoints(Claim):
    """Kernel gradient flow ends at the predicted constrained minimum, with its zero modes."""

    id = "S1.fixed-points"
    table_quantity = r"largest distance of the end point from the constrained minimum"
    discrepancy_unit = r"rounding units"
    statement = (
        "Kernel gradient flow df/dt = -eta K grad L with a frozen Gram matrix converges to the "
        "minimum of L on f0 + range(K) (a fixed point that is not a minimum of L when K is "
        "singular), whose linearisation -eta K D has N_data - rank(D^1/2 K D^1/2) zero modes."
    )
    sweeps = ("kernel-flow",)

    def theory(self) -> Prediction:
        return Prediction(
            "The constrained minimum and its zero modes (functions of K, y, f0, loss).",
            {"fixed_point": kernel_flow_fixed_point})

    def simulate(self, scale: str, runner: SweepRunner):
        """Per run: the simulated end point compared with the theory's fixed point."""
        import pandas as pd

        frame = runner.run("kernel-flow", scale, arrays=True)
        rows = []
        for _, record in frame.iterrows():
            row = {"n_data": int(record["n_data"]), "n_eff": int(record["n_eff"]),
                   "loss": record["loss"], "ok": record["status"] == "ok"}
            if row["ok"]:
                row.update(_compare_end_point(record, record["loss"],
                                              float(record["speed"]), bool(record["converged"])))
            rows.append(row)
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """All runs: loss and (when unique) outputs at the predicted minimum, zero modes equal."""
        ok = data[data["ok"]]
        worst = float(ok["deviation_ratio"].max())
        modes_agree = bool((ok["zero_modes_measured"] == ok["zero_modes_predicted"]).all())
        converged = bool(ok["converged"].all())
        failed = int((~data["ok"]).sum())
        return Verdict(
            quantity="largest |f_sim - f*| (or L_sim when SAT) over runs, in units of the "
                     "integration tolerance",
            predicted=0.0,
            measured=worst,
            discrepancy=worst,
            tolerance=1.0,
            passed=bool(worst <= 1.0 and modes_agree and converged and failed == 0),
            justification=(
                "the flow is integrated exactly piece by piece to t -> infinity; what is left is "
                "rounding: the distance to the fixed point along the non-zero modes is at most "
                "the final speed |K grad L|_inf over the smallest non-zero eigenvalue of K D "
                "(x10 margin); outputs and zero modes are compared where the minimiser is "
                "unique (square loss; hinge with loss > 0), the loss (0) otherwise"
            ),
            details={"runs": int(len(ok)), "zero_modes_agree": modes_agree,
                     "all_converged": converged, "failed_points": failed,
                     "zero_modes": ok[["n_data", "n_eff", "loss", "zero_modes_predicted"]]
                     .astype(str).agg(" ".join, axis=1).tolist()},
        )

    def figure(self, data):
        """Deviation of the end point (units of tolerance) and zero modes per run."""
        with styled() as plt:
            fig, (ax_a, ax_b) = plt.subplots(1, 2, constrained_layout=True)
            ok = data[data["ok"]].reset_index(drop=True)
            for i, (loss, group) in enumerate(ok.groupby("loss")):
                phi = group["n_data"] / group["n_eff"]
                ax_a.semilogy(phi, np.maximum(group["deviation_ratio"], 1e-6), "o",
                              color=f"C{i}", mfc="white", label=loss)
                unique = group[group["zero_modes_predicted"] >= 0]
                ax_b.plot(unique["zero_modes_predicted"], unique["zero_modes_measured"], "o",
                          color=f"C{i}", mfc="white", label=loss)
            ax_a.axhline(1.0, color="k", ls="--", lw=0.8)
            ax_a.set_xlabel(r"$\phi = N_\mathrm{data}/N_\mathrm{eff}$")
            ax_a.set_ylabel(r"deviation / tolerance")
            ax_a.legend(loc="lower right")
            top = max(1, int(ok["zero_modes_predicted"].max()))
            ax_b.plot([0, top], [0, top], color="k", lw=0.8)
            ax_b.set_xlabel("zero modes, theory")
            ax_b.set_ylabel("zero modes, simulation")
            ax_b.legend(loc="upper left")
        return fig


def _compare_end_point(arrays, loss: str, speed: float, converged: bool) -> dict:
    """Distance of the simulated end point from the predicted one, in tolerance units.

    Unique minimiser (square loss, or quadratic hinge with positive minimum): the distance
    of the outputs, against ``10 speed / lambda_min^+(D^1/2 K D^1/2)``, and the zero modes.
    SAT quadratic hinge (minimum 0, minimisers not unique, kinks at the end point): only the
    loss, against ``10 * (sqrt(N) speed / sigma_min(K[:, A]))^2 / 2`` with ``A`` the points
    still unsatisfied at the end (``||K grad L||_2 >= sigma_min ||Delta_A||``); zero modes
    are not defined there (reported as -1).
    """
    kernel, y, f0, f = arrays["kernel"], arrays["y"], arrays["f0"], arrays["f"]
    point = kernel_flow_fixed_point(kernel, y, f0, loss)
    speed = max(speed, 1e-16)
    if loss == "quadratic-hinge" and point.loss == 0.0:
        active = 1.0 - y * f > 0
        ratio = 0.0
        if active.any():
            sigma = np.linalg.svd(kernel[:, active], compute_uv=False).min()
            ratio = loss_value(f, y, loss) / (10.0 * 0.5 * f.size * (speed / sigma) ** 2)
        return {"deviation_ratio": ratio,
                "zero_modes_predicted": -1, "zero_modes_measured": -1,
                "converged": converged, "loss_min": 0.0}
    spectrum = -linearised_spectrum(kernel, point.hessian_diagonal)
    smallest = spectrum[spectrum > 1e-10 * spectrum.max()].min()
    tolerance = 10.0 * speed / smallest
    hessian = np.ones_like(f) if loss == "square" else (1.0 - y * f > 0).astype(float)
    return {
        "deviation_ratio": float(np.max(np.abs(f - point.f))) / tolerance,
        "zero_modes_predicted": point.zero_modes,
        "zero_modes_measured": count_zero_modes(linearised_spectrum(kernel, hessian)),
        "converged": converged,
        "loss_min": point.loss,
    }


CLAIMS = (SquareInterpolation(), FixedPoints())
