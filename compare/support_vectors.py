"""S2 claims on the SAT side of the transition: support vectors of the hard-margin SVM.

The vanishing-ridge minimiser of the (quadratic) hinge loss in the SAT phase is the
hard-margin SVM, and the points that a research e-mail counted "on or beyond the margin" at
every load below the transition are its support vectors. Gardner's theory of the perceptron
of optimal stability predicts their number, :func:`.support_vector_fraction`, and
:math:`\\|w\\|^2 = 1/\\kappa(\\alpha)^2` (:func:`.hard_margin_sat`).

``S2.support-vectors``
    Gaussian features, random labels: n_SV/N_eff and ``|w|^2``, extrapolated in 1/N_eff, agree
    with the theory, and no instance has more than N_eff support vectors. Registered as
    established before its confirmatory data were drawn: the theory is Gardner's
    replica-symmetric computation in a convex (kappa > 0) problem, where it is exact, and
    an exploratory check (other seeds, N_eff = 50-400, 8 instances each) agreed.
``S2.support-vectors-rf`` (open)
    The same support-vector fraction on random ReLU features (psi = N_eff/d = 2): Gardner's
    computation assumes i.i.d. pattern entries, and whether the fraction depends on the
    covariance of the features (with random labels) is the hypothesis under test.

Both read the ``support-vectors`` sweep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold
from jamming.compare.unsat import extrapolate
from jamming.sweeps.runner import SweepRunner
from jamming.theory.capacity import hard_margin_sat, support_vector_fraction

#: The recorded arrays of the sweep, one entry per instance.
FIELDS = ("separable", "n_sv", "w_norm_sq", "sv_margin_max", "off_margin_min")


def support_instances(runner: SweepRunner, scale: str) -> pd.DataFrame:
    """One row per separable instance of the ``support-vectors`` sweep.

    Columns: ``features, n_eff, alpha, n_data, n_sv, w_norm_sq, sv_margin_max,
    off_margin_min, sv_over_n_eff``; ``attrs``: ``failed_points`` and ``non_separable``
    (instances left out).
    """
    frame = runner.run("support-vectors", scale, arrays=True)
    parts = []
    for _, record in frame[frame["status"] == "ok"].iterrows():
        part = pd.DataFrame({name: record[name] for name in FIELDS})
        part["features"] = record["features"]
        part["n_eff"], part["alpha"] = int(record["n_eff"]), float(record["alpha"])
        part["n_data"] = int(record["n_data"])
        parts.append(part)
    data = pd.concat(parts, ignore_index=True)
    separable = data["separable"].astype(bool)
    data = data[separable].assign(sv_over_n_eff=lambda d: d["n_sv"] / d["n_eff"])
    data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
    data.attrs["non_separable"] = int((~separable).sum())
    return data


def _z_table(data: pd.DataFrame, quantity: str, theory) -> pd.DataFrame:
    """Per load, the 1/N_eff-extrapolated mean of ``quantity`` against ``theory(alpha)``."""
    table = extrapolate(data, quantity)
    table["predicted"] = [float(theory(a)) for a in table["alpha"]]
    table["quantity"] = quantity
    return table.assign(z=(table["value"] - table["predicted"]) / table["se"])


class _SupportVectorClaim(Claim):
    """A claim on one feature model of the ``support-vectors`` sweep."""

    sweeps = ("support-vectors",)
    features: str
    discrepancy_unit = r"$|z|$"

    def theory(self) -> Prediction:
        return Prediction(
            "n_SV/N_eff = alpha Phi(kappa(alpha)) and |w|^2 = 1/kappa(alpha)^2, with "
            "alpha I_2(kappa) = 1 (Gardner's optimal stability)",
            {"support_vector_fraction": support_vector_fraction,
             "w_norm_sq": lambda alpha: hard_margin_sat(alpha).w_norm_sq})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Separable instances of this claim's feature model."""
        data = support_instances(runner, scale)
        model = data[data["features"] == self.features]
        model.attrs.update(data.attrs)
        return model

    def _tables(self, data: pd.DataFrame) -> list[pd.DataFrame]:
        return [_z_table(data, "sv_over_n_eff", self.theory()["support_vector_fraction"])]

    def verdict(self, data) -> Verdict:
        """Bonferroni over every load and quantity; n_SV <= N_eff on every instance."""
        table = pd.concat(self._tables(data), ignore_index=True)
        threshold = bonferroni_threshold(len(table))
        worst = float(table["z"].abs().max()) if len(table) else float("inf")
        above = int((data["n_sv"] > data["n_eff"]).sum())
        failed = data.attrs.get("failed_points", 0)
        # the SV count does not depend on the tolerance when the two margins bracketing it
        # are far apart: the largest margin counted on the hyperplane and the smallest off it
        return Verdict(
            quantity="largest |z| of the 1/N_eff-extrapolated mean n_SV/N_eff"
                     + (" and |w|^2" if len(table["quantity"].unique()) > 1 else "")
                     + " against Gardner's optimal-stability theory",
            predicted=0.0, measured=worst, discrepancy=worst, tolerance=threshold,
            passed=bool(worst <= threshold and above == 0 and failed == 0),
            justification=(
                "per load and size, mean and standard error over independent instances "
                "(separable ones; the non-separable are counted, below 0.3 % by Cover's law "
                "at these loads); weighted fit mean(N) = value + a/N_eff that measures the "
                f"finite-size term; Bonferroni over {len(table)} tests at family-wise "
                f"{FAMILY_LEVEL}; every instance must have n_SV <= N_eff (general position); "
                "no failed sweep point"),
            details={"tests": table.round(6).to_dict(orient="records"),
                     "instances": len(data), "non_separable": data.attrs.get("non_separable", 0),
                     "n_sv_above_n_eff": above, "failed_points": failed,
                     "largest_sv_excess": float((data["sv_margin_max"] - 1).max()),
                     "smallest_off_excess": float((data["off_margin_min"] - 1).min())},
        )

    def figure(self, data):
        """n_SV/N_eff (and ``|w|^2``) against alpha: theory lines, sizes, extrapolation."""
        tables = self._tables(data)
        with styled() as plt:
            fig, axes = plt.subplots(1, len(tables), constrained_layout=True, squeeze=False,
                                     figsize=(3.4 * len(tables), 2.8))
            alphas = np.linspace(0.05, 1.95, 200)
            labels = {"sv_over_n_eff": r"$n_\mathrm{SV}/N_\mathrm{eff}$",
                      "w_norm_sq": r"$\|w\|^2$"}
            for ax, table in zip(axes[0], tables, strict=True):
                quantity = table["quantity"].iloc[0]
                theory = (support_vector_fraction(alphas) if quantity == "sv_over_n_eff"
                          else hard_margin_sat(alphas).w_norm_sq)
                ax.plot(alphas, theory, color="k", lw=0.8, label="Gardner")
                for i, (n_eff, group) in enumerate(data.groupby("n_eff")):
                    stats = group.groupby("alpha")[quantity].agg(["mean", "sem"])
                    ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"], fmt="o", ms=3,
                                mfc="white", color=f"C{i}", label=rf"$N_\mathrm{{eff}}={n_eff}$")
                ax.errorbar(table["alpha"], table["value"], yerr=table["se"], fmt="s", ms=2.5,
                            color="k", label=r"$N_\mathrm{eff}\to\infty$")
                ax.set_xlabel(r"$\alpha = N_\mathrm{data}/N_\mathrm{eff}$")
                ax.set_ylabel(labels[quantity])
                if quantity == "w_norm_sq":
                    ax.set_yscale("log")
            axes[0][0].legend(fontsize=6)
        return fig


class SupportVectors(_SupportVectorClaim):
    """Gaussian features: the support-vector fraction and ``|w|^2`` of Gardner's theory."""

    id = "S2.support-vectors"
    table_quantity = r"largest $|z|$ of $n_\mathrm{SV}/N_\mathrm{eff}$ and $\|w\|^2$ vs Gardner"
    statement = (
        "For Gaussian features and random labels at alpha = N_data/N_eff < 2 (tested at "
        "alpha <= 1.5), the hard-margin "
        "SVM has n_SV/N_eff = alpha Phi(kappa) support vectors and |w|^2 = 1/kappa^2, with "
        "alpha I_2(kappa) = 1; no instance has more than N_eff support vectors."
    )
    features = "gaussian"

    def _tables(self, data: pd.DataFrame) -> list[pd.DataFrame]:
        return [*super()._tables(data),
                _z_table(data, "w_norm_sq", self.theory()["w_norm_sq"])]


class SupportVectorsRandomFeatures(_SupportVectorClaim):
    """Random ReLU features: does the support-vector fraction keep Gardner's value?"""

    id = "S2.support-vectors-rf"
    table_quantity = r"largest $|z|$ of $n_\mathrm{SV}/N_\mathrm{eff}$ vs Gardner"
    statement = (
        "For random ReLU features (psi = N_eff/d = 2) of Gaussian inputs and random labels, "
        "the hard-margin SVM has the support-vector fraction alpha Phi(kappa(alpha)) of "
        "Gaussian features (hypothesis)."
    )
    features = "relu"
    gating = False


CLAIMS = (SupportVectors(), SupportVectorsRandomFeatures())
