"""S1 claim on generalisation across the jamming transition.

``S1.test-cusp``
    With sign-teacher labels on random ReLU features, the test loss of the vanishing-ridge
    linear model, followed along nested training sets, is highest at the exact SAT -> UNSAT
    step of each instance (its last SAT size N* or the first UNSAT size N* + 1): the cusp
    of seed 000 sits at the jamming transition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold
from jamming.sweeps.runner import SweepRunner
from jamming.theory.teacher import random_features_sign_teacher_phi_c


class LossCuspAtJamming(Claim):
    """The test-loss maximum of each instance sits at its own SAT/UNSAT transition."""

    id = "S1.test-cusp"
    table_quantity = r"instances with a test-loss peak off the transition"
    discrepancy_unit = r"instances"
    statement = (
        "For random ReLU features of Gaussian inputs with sign-teacher labels, the test "
        "quadratic-hinge loss of the vanishing-ridge linear model (hard-margin when SAT, the "
        "unique minimiser when UNSAT), followed along nested training sets, is highest at "
        "the SAT -> UNSAT step of each instance (its last separable size N* or N* + 1): its "
        "cusp is the jamming transition, which sits at N*/N_eff ~ phi_c(psi)."
    )
    sweeps = ("teacher-test-cusp",)

    def theory(self) -> Prediction:
        return Prediction(
            "Where the cusp is: at N* of each instance, near phi_c(psi) N_eff on average.",
            {"phi_c": lambda psi: random_features_sign_teacher_phi_c(psi, "relu")})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """One row per instance with its arrays over the training-set sizes."""
        frame = runner.run("teacher-test-cusp", scale, arrays=True)
        data = frame[frame["status"] == "ok"].reset_index(drop=True)
        data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
        return data

    @staticmethod
    def _instances(data: pd.DataFrame) -> pd.DataFrame:
        """Per instance: where the raw maximum is, and the largest excess of a size off the
        transition over both sizes at it (the smaller of its two paired z-scores)."""
        rows = []
        for _, record in data.iterrows():
            sizes, loss = np.asarray(record["sizes"]), np.asarray(record["test_loss"])
            at_star = int(np.flatnonzero(sizes == record["n_star"])[0])
            off = np.ones(sizes.size, dtype=bool)
            off[[at_star, at_star + 1]] = False
            excess = np.minimum(np.asarray(record["excess_z_last_sat"]),
                                np.asarray(record["excess_z_first_unsat"]))
            error = np.asarray(record["test_error"])
            # ties are the same w (the hard-margin solution is constant between support
            # vectors), equal up to the rounding of its computation
            top = loss.max() * (1 - 1e-9)
            rows.append({
                "psi": record["psi"], "input_dim": record["input_dim"],
                "n_features": record["n_features"], "n_star": record["n_star"],
                "phi_star": record["n_star"] / record["n_features"],
                "raw_max_side": ("N*" if loss[at_star] >= top else
                                 "N*+1" if loss[at_star + 1] >= top else "elsewhere"),
                "max_excess_z": float(excess[off].max()),
                "jump": float(loss[at_star] / loss[at_star + 1]),
                "error_peak_at_star": bool(error[at_star] >= error.max()),
                "n_sizes": int(sizes.size)})
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """Count instances where a size off the transition beats both N* and N*+1 (paired z)."""
        instances = self._instances(data)
        comparisons = int((instances["n_sizes"] - 2).sum())
        threshold = bonferroni_threshold(comparisons)
        instances["exception"] = instances["max_excess_z"] > threshold
        exceptions = int(instances["exception"].sum())
        failed = data.attrs.get("failed_points", 0)
        locations = []
        for (psi, d), group in instances.groupby(["psi", "input_dim"]):
            phi = group["phi_star"]
            locations.append({"psi": psi, "input_dim": d,
                              "n_eff": int(group["n_features"].iloc[0]),
                              "instances": len(group), "exceptions": int(group["exception"].sum()),
                              "mean_phi_star": phi.mean(),
                              "se": phi.std(ddof=1) / np.sqrt(phi.size),
                              "phi_c": self.theory()["phi_c"](psi)})
        return Verdict(
            quantity="instances whose test loss is significantly higher at a training-set size "
                     "off the transition than at both N* and N*+1",
            predicted=0.0,
            measured=float(exceptions),
            discrepancy=float(exceptions),
            tolerance=0.0,
            passed=bool(exceptions == 0 and failed == 0 and len(instances) > 0),
            justification=(
                "per instance, the test loss at every size on the grid (0.3 to 2 N*) is "
                "compared with the ones at N* and N*+1 on the same test points: paired "
                "z-scores of the mean excess, one-sided, an exception when both exceed the "
                f"threshold (intersection-union test), Bonferroni over all {comparisons} sizes "
                f"at family-wise {FAMILY_LEVEL} (z > {threshold:.2f}); a single significant "
                "exception fails the claim"
            ),
            details={
                "instances": len(instances),
                "raw_maximum": instances["raw_max_side"].value_counts().to_dict(),
                "median_jump_at_transition": float(instances["jump"].median()),
                "zero_one_error_peaks_at_n_star": int(instances["error_peak_at_star"].sum()),
                "by_size": pd.DataFrame(locations).round(4).to_dict(orient="records"),
                "failed_points": failed},
        )

    @staticmethod
    def _median_curve(group: pd.DataFrame, column: str, bins: np.ndarray):
        """Median of ``column`` over instances in bins of N_data/N_eff."""
        phi = np.concatenate([np.asarray(r["sizes"]) / r["n_features"]
                              for _, r in group.iterrows()])
        values = np.concatenate([np.asarray(r[column]) for _, r in group.iterrows()])
        which = np.digitize(phi, bins)
        centres, medians = [], []
        for k in np.unique(which):
            if 0 < k < len(bins):
                centres.append(0.5 * (bins[k - 1] + bins[k]))
                medians.append(np.median(values[which == k]))
        return np.array(centres), np.array(medians)

    def figure(self, data):
        """(a) median test loss and (b) 0-1 error against phi; (c) curves aligned at N*."""
        with styled() as plt:
            fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.5), constrained_layout=True)
            largest = data[data["input_dim"] == data["input_dim"].max()]
            top = max(np.max(r["sizes"]) / r["n_features"] for _, r in largest.iterrows())
            bins = np.linspace(0.0, top, 61)
            for i, (psi, group) in enumerate(largest.groupby("psi")):
                label = rf"$\psi={psi:g}$, $N_\mathrm{{eff}}={int(group['n_features'].iloc[0])}$"
                for ax, column in zip(axes[:2], ("test_loss", "test_error"), strict=True):
                    centres, medians = self._median_curve(group, column, bins)
                    ax.plot(centres, medians, "o-", ms=2.5, color=f"C{i}", label=label)
                    ax.axvline(self.theory()["phi_c"](psi), color=f"C{i}", lw=0.8, ls="--")
                for _, record in group.head(8).iterrows():
                    sizes = np.asarray(record["sizes"])
                    loss = np.asarray(record["test_loss"])
                    at_star = loss[sizes == record["n_star"]][0]
                    axes[2].plot(sizes / record["n_star"], loss / at_star, "-", lw=0.6,
                                 color=f"C{i}", alpha=0.7)
            axes[0].set_yscale("log")
            axes[0].set_ylabel("median test loss")
            axes[1].set_ylabel("median 0-1 test error")
            for ax in axes[:2]:
                ax.set_xlabel(r"$\phi = N_\mathrm{data}/N_\mathrm{eff}$")
            axes[0].legend(loc="upper right", fontsize=6)
            axes[2].set_yscale("log")
            axes[2].axvline(1.0, color="0.5", lw=0.8)
            axes[2].set_xlabel(r"$N_\mathrm{data}/N^*$")
            axes[2].set_ylabel(r"test loss / value at $N^*$")
        return fig


CLAIMS = (LossCuspAtJamming(),)
