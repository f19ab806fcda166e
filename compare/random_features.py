"""S3 claim on the spectra of random-feature Gram matrices.

``S3.random-features-spectrum``
    The eigenvalues of :math:`M = YY^\\top/m`, :math:`Y = f(WX/\\sqrt{n_0})` with a centred
    activation (here ``tanh``), follow the Pennington–Worah law: the Kolmogorov–Smirnov
    distance between the empirical spectral distribution and the limiting one shrinks with
    size at the rate :math:`1/n` of rigid eigenvalues, and the smallest non-zero eigenvalue
    tends to the predicted lower edge across :math:`\\phi = n_0/m`, which closes at the
    interpolation threshold :math:`\\phi = \\psi`.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL, bonferroni_threshold, weighted_line_fit
from jamming.sweeps.runner import SweepRunner
from jamming.theory.random_matrix import (
    gaussian_activation_constants,
    pennington_worah_atom,
    pennington_worah_density,
    pennington_worah_edges,
)

#: The activations of the sweep with their derivatives (for eta and zeta).
ACTIVATIONS = {"tanh": (np.tanh, lambda z: 1.0 / np.cosh(z) ** 2)}

#: Bootstrap replicas (over the independent matrices of a point) for the KS standard error.
BOOTSTRAP_REPLICAS = 200

#: Exponent of the KS distance expected from eigenvalue rigidity: KS ~ n^(-1).
EXPECTED_KS_EXPONENT = 1.0


@cache
def activation_constants(activation: str) -> tuple[float, float]:
    """``(eta, zeta)`` of a centred activation (Gauss–Hermite; its mean is checked)."""
    mean, eta, zeta = gaussian_activation_constants(*ACTIVATIONS[activation])
    if abs(mean) > 1e-12:
        raise ValueError(f"activation {activation!r} is not centred: E f(z) = {mean}")
    return eta, zeta


@cache
def pennington_worah_cdf(dim_per_sample: float, dim_per_feature: float, activation: str,
                         nodes: int = 1501):
    """Tabulated limiting CDF of the eigenvalues of :math:`M` (atom at 0 included).

    ``dim_per_sample`` and ``dim_per_feature`` are Pennington & Worah's :math:`\\phi = n_0/m`
    and :math:`\\psi = n_0/n_1` (:func:`jamming.theory.random_matrix.pennington_worah_stieltjes`;
    the sweep's ``phi`` and ``psi``).

    The density is integrated by the trapezoidal rule in :math:`\\theta` with
    :math:`\\lambda = a + (b-a)(1-\\cos\\theta)/2` between the lower and upper edges
    :math:`a, b` (square-root edges become smooth); gaps inside the support, if any, have
    zero density and are integrated over harmlessly.

    Returns
    -------
    (x, cdf, atom, edges)
        ``x`` increasing in ``[a, b]``, ``cdf`` the continuous part's integral from 0 to
        ``x`` (add ``atom`` for the CDF at ``x >= 0``), the atom at 0 and the edges.
    """
    eta, zeta = activation_constants(activation)
    phi, psi = dim_per_sample, dim_per_feature
    edges = pennington_worah_edges(phi, psi, eta, zeta)
    low, high = edges[0], edges[-1]
    theta = np.linspace(0.0, math.pi, nodes)
    x = low + (high - low) * (1.0 - np.cos(theta)) / 2.0
    integrand = pennington_worah_density(x, phi, psi, eta, zeta) * (high - low) * np.sin(theta) / 2
    cdf = np.concatenate([[0.0], np.cumsum((integrand[1:] + integrand[:-1]) / 2
                                            * np.diff(theta))])
    return x, cdf, pennington_worah_atom(phi, psi, eta, zeta), tuple(edges)


def ks_distance(eigenvalues: np.ndarray, table) -> float:
    """Kolmogorov–Smirnov distance between the pooled eigenvalues and the tabulated CDF.

    The CDF jumps by the atom at 0: exact zeros (the eigenvalues that vanish by rank) are
    compared with its left limit 0 from below and with the atom from above.
    """
    x, cdf, atom, _ = table
    values = np.sort(np.asarray(eigenvalues, dtype=np.float64).ravel())
    n = values.size
    upper = atom + np.interp(values, x, cdf, left=0.0, right=cdf[-1])
    lower = np.where(values <= 0.0, 0.0, upper)
    ranks = np.arange(1, n + 1)
    return float(max(np.max(ranks / n - upper), np.max(lower - (ranks - 1) / n)))


def _bootstrap_se(eigenvalues: np.ndarray, table, seed: int) -> float:
    rng = np.random.default_rng(seed)
    repeats = eigenvalues.shape[0]
    replicas = [ks_distance(eigenvalues[rng.integers(0, repeats, repeats)], table)
                for _ in range(BOOTSTRAP_REPLICAS)]
    return float(np.std(replicas, ddof=1))


def _power_law_fit(sizes, values, errors) -> tuple[float, float]:
    """Exponent ``a`` of ``values ~ sizes^(-a)`` and its standard error (weighted, log-log)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float))
    weights = (np.asarray(values, float) / np.asarray(errors, float)) ** 2
    design = np.column_stack([np.ones_like(x), x])
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    _, slope = covariance @ design.T @ (weights * y)
    return float(-slope), float(math.sqrt(covariance[1, 1]))


class RandomFeaturesSpectrum(Claim):
    """Random-feature Gram spectra against Pennington–Worah: KS rate and lower edge."""

    id = "S3.random-features-spectrum"
    table_quantity = r"largest $|z|$ of the KS exponent and the lower edge"
    discrepancy_unit = r"$|z|$"
    statement = (
        "The empirical spectral distribution of the random-feature Gram matrix "
        "M = Y Y^T/m, Y = tanh(W X/sqrt(n0)), tends to the Pennington-Worah law: its "
        "Kolmogorov-Smirnov distance to it shrinks like 1/n0, and its smallest non-zero "
        "eigenvalue, extrapolated in n0^(-2/3), equals the predicted lower edge across "
        "phi = n0/m, on both sides of the interpolation threshold phi = psi."
    )
    sweeps = ("rf-spectrum",)

    def theory(self) -> Prediction:
        def lower_edge(phi, psi, activation):
            return pennington_worah_cdf(phi, psi, activation)[3][0]
        return Prediction(
            "The tabulated CDF and the lower edge as functions of (phi, psi, activation).",
            {"cdf": pennington_worah_cdf, "lower_edge": lower_edge,
             "constants": activation_constants})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Per point: KS distance (bootstrap SE), mean and SE of the smallest non-zero
        eigenvalue, and, for the figure, the eigenvalues of the largest size."""
        frame = runner.run("rf-spectrum", scale, arrays=True)
        rows = []
        for _, record in frame.iterrows():
            row = {"activation": record["activation"], "n0": int(record["n0"]),
                   "phi": float(record["phi"]), "psi": float(record["psi"]),
                   "ok": record["status"] == "ok"}
            if row["ok"]:
                eigenvalues = np.asarray(record["eigenvalues"], dtype=np.float64)
                repeats, n1 = eigenvalues.shape
                table = pennington_worah_cdf(row["phi"], row["psi"], row["activation"])
                rank = min(n1, round(row["n0"] / row["phi"]))
                smallest = eigenvalues[:, n1 - rank]
                row.update({
                    "repeats": repeats, "n1": n1,
                    "ks": ks_distance(eigenvalues, table),
                    "ks_se": _bootstrap_se(eigenvalues, table, int(record["seed"]) % 2**32),
                    "lambda_min": float(smallest.mean()),
                    "lambda_min_se": float(smallest.std(ddof=1) / math.sqrt(repeats)),
                    "eigenvalues": eigenvalues.ravel(),
                    "predicted_edge": table[3][0]})
            rows.append(row)
        return pd.DataFrame(rows)

    @staticmethod
    def _fits(data: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for (activation, psi, phi), group in data[data["ok"]].groupby(
                ["activation", "psi", "phi"]):
            group = group.sort_values("n0")
            exponent, exponent_se = _power_law_fit(group["n0"], group["ks"], group["ks_se"])
            edge, edge_se, slope, *_ = weighted_line_fit(group["n0"] ** (-2.0 / 3.0),
                                                     group["lambda_min"],
                                                     group["lambda_min_se"])
            predicted = float(group["predicted_edge"].iloc[0])
            rows.append({"activation": activation, "psi": psi, "phi": phi,
                         "sizes": len(group),
                         "ks_largest": float(group["ks"].iloc[-1]),
                         "ks_exponent": exponent, "ks_exponent_se": exponent_se,
                         "z_shrinks": exponent / exponent_se,
                         "z_rate": (exponent - EXPECTED_KS_EXPONENT) / exponent_se,
                         "edge_limit": edge, "edge_se": edge_se, "edge_slope": slope,
                         "edge_predicted": predicted,
                         "z_edge": (edge - predicted) / edge_se})
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """Largest :math:`|z|` of the KS exponent against 1 and of the extrapolated edges against
        theory; every KS exponent must also exceed 0 at the same threshold."""
        fits = self._fits(data)
        tests = 3 * len(fits)
        threshold = bonferroni_threshold(tests)
        max_z = float(np.max(np.abs(np.concatenate([fits["z_rate"], fits["z_edge"]]))))
        min_shrink = float(fits["z_shrinks"].min())
        failed = int((~data["ok"]).sum())
        enough_sizes = bool((fits["sizes"] >= 3).all())
        return Verdict(
            quantity="largest |z| of (KS exponent - 1) and of (extrapolated lambda_min - "
                     "Pennington-Worah lower edge) over phi",
            predicted=0.0,
            measured=max_z,
            discrepancy=max_z,
            tolerance=threshold,
            passed=bool(max_z <= threshold and min_shrink >= threshold and failed == 0
                        and enough_sizes and len(fits) > 0),
            justification=(
                "per phi (psi fixed, tanh, eta and zeta by Gauss-Hermite): (1) the KS distance "
                "of the eigenvalues pooled over the independent matrices to the limiting CDF "
                "(density integrated on its support, plus the atom at 0), its standard error "
                "by bootstrap over the matrices; KS ~ n0^(-a) fitted by weighted least squares "
                "in log-log; eigenvalue rigidity makes both the finite-size bias and the "
                "fluctuations of the empirical CDF O(1/n) (up to logarithms), so a = 1 is "
                "tested two-sided, and a > 0 (the law is the limit) one-sided, a wrong limit "
                "giving a -> 0 and independent sampling a = 1/2; (2) the mean smallest "
                "non-zero eigenvalue fitted as edge + c n0^(-2/3) (Tracy-Widom scale of a "
                "soft edge) against the predicted lower edge; all at one Bonferroni threshold "
                f"over {tests} tests at family-wise {FAMILY_LEVEL} (two-sided, conservative "
                "for the one-sided test)"
            ),
            details={"fits": fits.round(8).to_dict(orient="records"),
                     "smallest_z_ks_shrinks": min_shrink, "failed_points": failed},
        )

    def figure(self, data):
        """(a) eigenvalue histogram against the density; (b) KS against n0; (c) lambda_min
        against phi with the predicted lower edge."""
        with styled() as plt:
            fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(9.0, 2.8),
                                                   constrained_layout=True)
            ok = data[data["ok"]]
            activation, psi = ok["activation"].iloc[0], float(ok["psi"].iloc[0])
            eta, zeta = activation_constants(activation)
            phis = np.sort(ok["phi"].unique())
            phi = float(phis[np.argmin(np.abs(np.log(phis / (0.5 * psi))))])
            case = ok[(ok["phi"] == phi) & (ok["psi"] == psi)]
            largest = case.loc[case["n0"].idxmax()]
            values = np.asarray(largest["eigenvalues"])
            high = pennington_worah_cdf(phi, psi, activation)[3][-1]
            ax_a.hist(values[values > 0], bins=60, range=(0.0, 1.05 * high), density=True,
                      color="0.75", label=rf"$n_0 = {largest['n0']}$")
            grid = np.linspace(1e-4 * high, 1.05 * high, 600)
            atom = pennington_worah_atom(phi, psi, eta, zeta)
            ax_a.plot(grid, pennington_worah_density(grid, phi, psi, eta, zeta) / (1 - atom),
                      color="k", label="Pennington-Worah")
            ax_a.set_xlabel(r"$\lambda$")
            ax_a.set_ylabel("density")
            ax_a.set_title(rf"$\phi = {phi:g}$, $\psi = {psi:g}$", fontsize=8)
            ax_a.legend(fontsize=6)
            for i, (phi_i, group) in enumerate(ok.groupby("phi")):
                group = group.sort_values("n0")
                ax_b.errorbar(group["n0"], group["ks"], yerr=group["ks_se"], fmt="o-",
                              ms=3, lw=0.6, color=f"C{i}", mfc="white",
                              label=rf"$\phi = {phi_i:g}$")
            sizes = np.array([ok["n0"].min(), ok["n0"].max()], dtype=float)
            ax_b.plot(sizes, ok["ks"].max() * sizes[0] / sizes, "k--", lw=0.8,
                      label=r"$\propto 1/n_0$")
            ax_b.set_xscale("log")
            ax_b.set_yscale("log")
            ax_b.set_xlabel(r"$n_0$")
            ax_b.set_ylabel("KS distance")
            ax_b.legend(fontsize=5, ncol=2)
            curve = np.geomspace(phis.min() / 1.2, phis.max() * 1.2, 120)
            curve = curve[np.abs(np.log(curve / psi)) > 0.02]
            edges = [pennington_worah_edges(p, psi, eta, zeta)[0] for p in curve]
            ax_c.plot(curve, edges, color="k", label="lower edge")
            for i, (n0, group) in enumerate(ok.groupby("n0")):
                ax_c.errorbar(group["phi"] * (1 + 0.02 * (i - 1)), group["lambda_min"],
                              yerr=group["lambda_min_se"], fmt="o", ms=3, color=f"C{i}",
                              mfc="white", label=rf"$n_0 = {n0}$")
            ax_c.axvline(psi, color="0.6", lw=0.6, ls=":")
            ax_c.set_xscale("log")
            ax_c.set_yscale("log")
            ax_c.set_xlabel(r"$\phi = n_0/m$")
            ax_c.set_xticks(phis, [f"{p:g}" for p in phis])
            ax_c.minorticks_off()
            ax_c.set_ylabel(r"$\lambda_\mathrm{min}^{+}(M)$")
            ax_c.legend(fontsize=6, loc="lower left")
            for ax, tag in ((ax_a, "(a)"), (ax_b, "(b)"), (ax_c, "(c)")):
                ax.text(0.97, 0.97, tag, transform=ax.transAxes, va="top", ha="right")
        return fig


CLAIMS = [RandomFeaturesSpectrum()]
