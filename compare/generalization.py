"""S1 claim on generalisation across the jamming transition.

``S1.test-cusp`` (registration 2)
    With sign-teacher labels on random ReLU features, the test loss of the vanishing-ridge
    linear model, followed along nested training sets, peaks at the SAT -> UNSAT step of
    each instance up to a finite-size effect: (A) the rate of instances where another size
    beats the transition significantly, fitted at the two smallest N_eff, is not exceeded
    at the larger ones; (B) the maximum of the median test-loss curve extrapolates
    (in 1/N_eff) to phi_c(psi).

Registration 1 claimed that *every* instance peaks at its transition, judged with one
Bonferroni threshold over all sizes of all instances. On fresh seeds a referee found about
2 % exceptions at N_eff = 20 and none of 400 at N_eff = 40, so the paper-scale verdict was a
coin flip; most exceptions are SAT sizes, where the hard-margin norm never decreases but the
test loss also depends on the direction of w. Registration 2 judges each instance on its own
(one-sided, Bonferroni over its sizes) and states the finite-size effect as above, with
fresh root seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom, norm

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import (
    FAMILY_LEVEL,
    bonferroni_threshold,
    weighted_line_fit,
    wilson_errorbars,
)
from jamming.sweeps.runner import SweepRunner
from jamming.theory.teacher import random_features_sign_teacher_phi_c

#: False-alarm level of one instance's exception test (one-sided, Bonferroni over the
#: instance's sizes off the transition): the floor of the exception rate when no size beats
#: the transition.
INSTANCE_LEVEL = 0.01
#: The psi of the exception-rate scan (N_eff = d).
SCAN_PSI = 1.0
#: Spacing of the phi grid on which the median curves are taken, and bootstrap resamples
#: (seeded) of the instances for the standard error of their maximum.
PEAK_GRID_STEP, PEAK_RESAMPLES, PEAK_SEED = 0.005, 200, 0
#: Fewest instances at every size of a psi for its peak extrapolation to be tested: the
#: bootstrap error of a median of a handful of curves is itself unreliable (two instances
#: gave ``|z| = 8`` at the quick scale); smaller groups are reported.
MIN_PEAK_INSTANCES = 20


def exception_forecast(counts: pd.DataFrame) -> pd.DataFrame:
    r"""The exception rate fitted at the two smallest N_eff, extrapolated to the others.

    A power law through the two measured rates, :math:`p(N) = p_b (N/N_b)^{s}` with
    :math:`s = \log(p_b/p_a)/\log(N_b/N_a)`; a zero rate at :math:`N_b` forecasts 0 beyond,
    a zero rate at :math:`N_a` alone gives no slope and forecasts :math:`p_b`. The forecast
    is floored at :data:`INSTANCE_LEVEL`, the rate that chance alone may reach.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``n_eff``, ``exceptions`` and ``instances``, sorted by ``n_eff``.

    Returns
    -------
    pandas.DataFrame
        The rows beyond the two fitted sizes, with ``forecast`` (the floored rate) and
        ``allowed`` (the largest count within the one-sided binomial quantile
        :math:`1 - \alpha/m` of the forecast, Bonferroni over the :math:`m` tested sizes at
        family-wise :data:`~jamming.compare.stats.FAMILY_LEVEL`).
    """
    (n_a, p_a), (n_b, p_b) = [(row.n_eff, row.exceptions / row.instances)
                              for row in counts.iloc[:2].itertuples()]
    tested = counts.iloc[2:].copy()
    if p_b == 0:
        rate = np.zeros(len(tested))
    elif p_a == 0:
        rate = np.full(len(tested), p_b)
    else:
        slope = np.log(p_b / p_a) / np.log(n_b / n_a)
        rate = np.minimum(p_b * (tested["n_eff"].to_numpy() / n_b) ** slope, 1.0)
    tested["forecast"] = np.maximum(rate, INSTANCE_LEVEL)
    tested["allowed"] = binom.ppf(1 - FAMILY_LEVEL / max(len(tested), 1),
                                  tested["instances"], tested["forecast"]).astype(int)
    return tested


def median_curve_peak(group: pd.DataFrame, resamples: int = PEAK_RESAMPLES,
                      seed: int = PEAK_SEED) -> tuple[float, float]:
    r"""Where the median test-loss curve of a group of instances is highest, and its error.

    Each instance's log test loss is interpolated linearly in
    :math:`\phi = N_\mathrm{data}/N_\mathrm{eff}` onto a common grid (spacing
    :data:`PEAK_GRID_STEP`, over the range every instance covers); the median over
    instances is taken at each :math:`\phi` and its argmax is the peak. The standard error
    is the spread of the peak over bootstrap resamples of the instances, floored at the
    grid's resolution (spacing / sqrt 12).

    Parameters
    ----------
    group : pandas.DataFrame
        Rows of one (psi, d): arrays ``sizes`` and ``test_loss``, and ``n_features``.

    Returns
    -------
    (peak, standard_error) : tuple of float
    """
    phis = [np.asarray(r["sizes"]) / r["n_features"] for _, r in group.iterrows()]
    logs = [np.log(np.asarray(r["test_loss"])) for _, r in group.iterrows()]
    grid = np.arange(max(p[0] for p in phis), min(p[-1] for p in phis), PEAK_GRID_STEP)
    curves = np.stack([np.interp(grid, p, v) for p, v in zip(phis, logs, strict=True)])
    peak = grid[np.argmax(np.median(curves, axis=0))]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(curves), size=(resamples, len(curves)))
    peaks = grid[np.argmax(np.median(curves[picks], axis=1), axis=1)]
    return float(peak), float(max(peaks.std(ddof=1), PEAK_GRID_STEP / np.sqrt(12)))


class LossCuspAtJamming(Claim):
    """The test loss peaks at each instance's SAT/UNSAT transition, up to finite size."""

    id = "S1.test-cusp"
    table_quantity = (r"largest $|z|$ of the extrapolated peak of the median test loss "
                      r"against $\phi_c(\psi)$ (and exception counts within their forecast)")
    discrepancy_unit = r"$|z|$"
    statement = (
        "For random ReLU features of Gaussian inputs with sign-teacher labels, the test "
        "quadratic-hinge loss of the vanishing-ridge linear model (hard-margin when SAT, the "
        "unique minimiser when UNSAT), followed along nested training sets, peaks at the "
        "SAT -> UNSAT step of each instance (N* or N* + 1) up to a finite-size effect: "
        "(A) the rate of instances where another size is significantly higher, fitted at "
        "N_eff = 20 and 40, is not exceeded at N_eff = 80 and 160; (B) the maximum of the "
        "median test-loss curve extrapolates in 1/N_eff to phi_c(psi)."
    )
    sweeps = ("teacher-test-cusp",)

    def theory(self) -> Prediction:
        return Prediction(
            "Where the cusp is: at N* of each instance, at phi_c(psi) N_eff as N_eff grows.",
            {"phi_c": lambda psi: random_features_sign_teacher_phi_c(psi, "relu"),
             "exception_floor": INSTANCE_LEVEL})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """One row per instance with its arrays over the training-set sizes."""
        frame = runner.run("teacher-test-cusp", scale, arrays=True)
        data = frame[frame["status"] == "ok"].reset_index(drop=True)
        data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
        return data

    @staticmethod
    def _instances(data: pd.DataFrame) -> pd.DataFrame:
        """Per instance: where the raw maximum is, the largest excess of a size off the
        transition over both sizes at it (the smaller of its two paired z-scores), and
        whether it is an exception (one-sided, Bonferroni over the instance's sizes)."""
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
            worst = int(np.flatnonzero(off)[np.argmax(excess[off])])
            rows.append({
                "psi": record["psi"], "input_dim": record["input_dim"],
                "n_features": record["n_features"], "n_star": record["n_star"],
                "phi_star": record["n_star"] / record["n_features"],
                "raw_max_side": ("N*" if loss[at_star] >= top else
                                 "N*+1" if loss[at_star + 1] >= top else "elsewhere"),
                "max_excess_z": float(excess[worst]),
                "exception": bool(excess[worst] > norm.isf(INSTANCE_LEVEL / off.sum())),
                "exception_sat_side": bool(sizes[worst] <= record["n_star"]),
                "jump": float(loss[at_star] / loss[at_star + 1]),
                "error_peak_at_star": bool(error[at_star] >= error.max())})
        return pd.DataFrame(rows)

    def exception_rates(self, instances: pd.DataFrame) -> pd.DataFrame:
        """Exceptions and instances per N_eff of the psi = 1 scan, sorted by N_eff."""
        scan = instances[instances["psi"] == SCAN_PSI]
        return (scan.groupby("n_features")
                .agg(exceptions=("exception", "sum"), instances=("exception", "size"),
                     sat_side=("exception_sat_side", lambda v: int(
                         (v & scan.loc[v.index, "exception"]).sum())))
                .rename_axis("n_eff").reset_index())

    def peak_extrapolation(self, data: pd.DataFrame) -> pd.DataFrame:
        """Per psi: the median-curve peaks per N_eff, their 1/N_eff fit and its z-score, and
        whether it is ``tested`` (at least :data:`MIN_PEAK_INSTANCES` instances at each of
        at least three sizes)."""
        rows = []
        for psi, by_psi in data.groupby("psi"):
            sizes = by_psi.groupby("input_dim")
            peaks = [(int(g["n_features"].iloc[0]), *median_curve_peak(g)) for _, g in sizes]
            n_eff, peak, se = (np.array(v) for v in zip(*peaks, strict=True))
            fit = weighted_line_fit(1.0 / n_eff, peak, se)
            phi_c = self.theory()["phi_c"](psi)
            rows.append({"psi": psi, "tested": bool(len(peaks) >= 3 and sizes.size().min()
                                                    >= MIN_PEAK_INSTANCES),
                         "n_eff": n_eff.tolist(), "peak": np.round(peak, 4).tolist(),
                         "peak_se": np.round(se, 4).tolist(), "extrapolated": fit.intercept,
                         "extrapolated_se": fit.intercept_se, "slope": fit.slope,
                         "phi_c": phi_c,
                         "z": (fit.intercept - phi_c) / fit.intercept_se,
                         "chi2": fit.chi2, "dof": fit.dof, "fit_p": fit.p_value})
        return pd.DataFrame(rows)

    def verdict(self, data) -> Verdict:
        """(B) the extrapolated peaks against phi_c(psi) and their fit, and (A) the exception
        counts at the larger N_eff against the forecast from the two smallest."""
        instances = self._instances(data)
        failed = data.attrs.get("failed_points", 0)
        rates = self.exception_rates(instances)
        forecast = exception_forecast(rates)
        rate_ok = bool(len(forecast) and (forecast["exceptions"] <= forecast["allowed"]).all())
        peaks = self.peak_extrapolation(data)
        tested = peaks[peaks["tested"]]
        threshold = bonferroni_threshold(len(tested))
        worst = float(tested["z"].abs().max()) if len(tested) else 0.0
        fits_ok = bool((tested["fit_p"] >= FAMILY_LEVEL / max(len(tested), 1)).all())
        return Verdict(
            quantity="largest |z| of the 1/N_eff-extrapolated maximum of the median test-loss "
                     "curve against phi_c(psi); exception counts within their forecast",
            predicted=0.0,
            measured=worst,
            discrepancy=worst,
            tolerance=threshold,
            passed=bool(worst <= threshold and fits_ok and rate_ok and failed == 0),
            justification=(
                "(B) per psi the maximum of the median curve (log test loss interpolated in "
                "phi, median over instances) at each N_eff, with a bootstrap standard error, "
                "fitted linearly in 1/N_eff with known errors: |z| of the intercept against "
                f"phi_c(psi) at most {threshold:.2f} (Bonferroni over the {len(tested)} psi "
                f"with >= {MIN_PEAK_INSTANCES} instances at each of >= 3 sizes, at "
                f"family-wise {FAMILY_LEVEL}, two-sided) and the residual chi^2 not significant "
                "at the same level; (A) an instance is an exception when a size off the "
                "transition beats both N* and N*+1 on the same test points (paired z, "
                f"intersection-union), one-sided, Bonferroni over its sizes at {INSTANCE_LEVEL}; "
                "the exception rate of the psi = 1 scan is fitted by a power law at its two "
                f"smallest N_eff and floored at {INSTANCE_LEVEL}; each larger N_eff may not "
                "exceed the forecast's binomial quantile (one-sided, Bonferroni over the "
                f"tested sizes at {FAMILY_LEVEL}); no failed point"),
            details={
                "instances": len(instances),
                "exceptions": int(instances["exception"].sum()),
                "sat_side_exceptions": int(
                    (instances["exception"] & instances["exception_sat_side"]).sum()),
                **self._scalars(rates, forecast, peaks),
                "rate_ok": rate_ok, "fits_ok": fits_ok, "peaks_tested": len(tested),
                "exception_scan": rates.to_dict(orient="records"),
                "exception_forecast": forecast.round(5).to_dict(orient="records"),
                "peaks": peaks.round(5).to_dict(orient="records"),
                "raw_maximum": instances["raw_max_side"].value_counts().to_dict(),
                "median_jump_at_transition": float(instances["jump"].median()),
                "zero_one_error_peaks_at_n_star": int(instances["error_peak_at_star"].sum()),
                "failed_points": failed},
        )

    @staticmethod
    def _scalars(rates: pd.DataFrame, forecast: pd.DataFrame, peaks: pd.DataFrame) -> dict:
        """The per-size and per-psi numbers of the verdict as flat keys (for the paper)."""
        scalars = {}
        for row in rates.itertuples():
            scalars[f"exceptions_neff_{int(row.n_eff)}"] = int(row.exceptions)
            scalars[f"instances_neff_{int(row.n_eff)}"] = int(row.instances)
        for row in forecast.itertuples():
            scalars[f"forecast_neff_{int(row.n_eff)}"] = float(row.forecast)
            scalars[f"allowed_neff_{int(row.n_eff)}"] = int(row.allowed)
        for row in peaks.itertuples():
            tag = f"{row.psi:g}"
            scalars.update({f"peak_extrapolated_psi_{tag}": float(row.extrapolated),
                            f"peak_se_psi_{tag}": float(row.extrapolated_se),
                            f"peak_z_psi_{tag}": float(row.z),
                            f"peak_fit_p_psi_{tag}": float(row.fit_p),
                            f"phi_c_psi_{tag}": float(row.phi_c)})
        return scalars

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
        """(a) median test loss against phi; (b) curves aligned at N*; (c) the exception rate
        of the psi = 1 scan with its forecast; (d) the median-curve peaks against 1/N_eff."""
        with styled() as plt:
            fig, axes = plt.subplots(2, 2, figsize=(6.4, 4.6), constrained_layout=True)
            (loss_ax, aligned_ax), (rate_ax, peak_ax) = axes
            for i, (psi, by_psi) in enumerate(data.groupby("psi")):
                group = by_psi[by_psi["input_dim"] == by_psi["input_dim"].max()]
                top = max(np.max(r["sizes"]) / r["n_features"] for _, r in group.iterrows())
                centres, medians = self._median_curve(group, "test_loss",
                                                      np.linspace(0.0, top, 61))
                label = rf"$\psi={psi:g}$, $N_\mathrm{{eff}}={int(group['n_features'].iloc[0])}$"
                loss_ax.plot(centres, medians, "o-", ms=2.5, color=f"C{i}", label=label)
                loss_ax.axvline(self.theory()["phi_c"](psi), color=f"C{i}", lw=0.8, ls="--")
                for _, record in group.head(8).iterrows():
                    sizes = np.asarray(record["sizes"])
                    loss = np.asarray(record["test_loss"])
                    at_star = loss[sizes == record["n_star"]][0]
                    aligned_ax.plot(sizes / record["n_star"], loss / at_star, "-", lw=0.6,
                                    color=f"C{i}", alpha=0.7)
            loss_ax.set(yscale="log", ylabel="median test loss",
                        xlabel=r"$\phi = N_\mathrm{data}/N_\mathrm{eff}$")
            loss_ax.legend(loc="upper right", fontsize=6)
            aligned_ax.set(yscale="log", xlabel=r"$N_\mathrm{data}/N^*$",
                           ylabel=r"test loss / value at $N^*$")
            aligned_ax.axvline(1.0, color="0.5", lw=0.8)
            self._rate_panel(rate_ax, self.exception_rates(self._instances(data)))
            self._peak_panel(peak_ax, self.peak_extrapolation(data))
        return fig

    @staticmethod
    def _rate_panel(ax, rates: pd.DataFrame) -> None:
        """Measured exception rates (Wilson bars) and the forecast with its allowed count."""
        fraction, bars = wilson_errorbars(rates["exceptions"], rates["instances"])
        ax.errorbar(rates["n_eff"], fraction, yerr=bars, fmt="o", color="C0",
                    label="measured")
        forecast = exception_forecast(rates)
        if len(forecast):
            ax.plot(forecast["n_eff"], forecast["forecast"], "s", mfc="none", color="C1",
                    label="forecast (floored)")
            ax.plot(forecast["n_eff"], forecast["allowed"] / forecast["instances"], "v",
                    color="C3", label="largest allowed")
        ax.axhline(INSTANCE_LEVEL, color="0.5", lw=0.8, ls=":")
        ax.set(xscale="log", xlabel=r"$N_\mathrm{eff}$ ($\psi = 1$)",
               ylabel="exception rate")
        ax.set_xticks(rates["n_eff"], [f"{int(n)}" for n in rates["n_eff"]])
        ax.minorticks_off()
        ax.legend(fontsize=6)

    def _peak_panel(self, ax, peaks: pd.DataFrame) -> None:
        """Median-curve peaks against 1/N_eff, their line fits and phi_c(psi) at 0."""
        for i, row in enumerate(peaks.itertuples()):
            inverse = 1.0 / np.asarray(row.n_eff, dtype=float)
            ax.errorbar(inverse, row.peak, yerr=row.peak_se, fmt="o", ms=3, color=f"C{i}",
                        label=rf"$\psi={row.psi:g}$")
            line = np.linspace(0.0, inverse.max(), 20)
            ax.plot(line, row.extrapolated + row.slope * line, "-", lw=0.8, color=f"C{i}")
            ax.plot(0.0, row.phi_c, "*", ms=7, color=f"C{i}")
        ax.set(xlabel=r"$1/N_\mathrm{eff}$", ylabel="peak of the median curve, $\\phi$")
        ax.legend(fontsize=6)


CLAIMS = (LossCuspAtJamming(),)
