r"""S4 open claim: large steps followed by a decay learn sparser features (seed 003).

``S4.sparse-features``
    Andriushchenko et al. (2023) report that SGD with a large step (in the loss-stabilisation
    regime) decayed later ends with a lower Jacobian rank, a lower feature-sparsity
    coefficient and a lower test error than SGD with a small step. This is an empirical
    finding, not a theorem, so the claim is *open*: it is tested, paired seed by seed, on
    diagonal linear networks (sparse regression, :mod:`jamming.simulate.diagonal`) and on
    two-layer ReLU networks in one dimension (:mod:`jamming.simulate.relu1d`), and its
    verdict is a result either way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.compare.stats import FAMILY_LEVEL
from jamming.sweeps.runner import SweepRunner

#: Final metrics compared per model: (column, label); lower is predicted for large steps.
METRICS = {
    "diagonal": (("final_test_error", "test error"), ("final_jacobian_rank", "Jacobian rank"),
                 ("final_feature_sparsity", "feature sparsity")),
    "relu1d": (("final_test_loss", "test loss"), ("final_jacobian_rank", "Jacobian rank"),
               ("final_feature_sparsity", "feature sparsity"), ("final_kinks", "kinks")),
}
#: The sweep of each model and the columns that identify a large-step configuration.
SWEEPS = {"diagonal": "diagonal-sparse-features", "relu1d": "relu1d-sparse-features"}
CURVES = ("train_loss", "feature_sparsity")
#: Short metric names for the figure.
_SHORT = {"test error": "test", "test loss": "test", "Jacobian rank": "rank",
          "feature sparsity": "sparsity", "kinks": "kinks"}


def _short_configuration(configuration: str) -> str:
    """'large 0.022, decay at 10 %' -> '0.022 @ 10 %'."""
    step, decay = configuration.removeprefix("large ").split(", decay at ")
    return f"{step} @ {decay}"


def _configuration(record) -> str:
    """Label of a schedule: 'small' or 'large eta=..., decay at ...'."""
    schedule = str(record["schedule"])
    if schedule == "small":
        return "small"
    decay = (f"{schedule.split('-')[1]} %" if "-" in schedule
             else f"{round(100 * float(record['decay_fraction']))} %")
    return f"large {float(record['eta_large']):g}, decay at {decay}"


def paired_differences(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """Per large-step configuration and metric: paired differences (large - small) over the
    seeds where neither run diverged; mean, standard error, t and the divergences."""
    small = frame[frame["configuration"] == "small"].set_index("seed")
    rows = []
    for configuration, group in frame[frame["configuration"] != "small"].groupby(
            "configuration"):
        group = group.set_index("seed")
        seeds = group.index.intersection(small.index)
        ok = [s for s in seeds if not (group.loc[s, "diverged"] or small.loc[s, "diverged"])]
        for column, label in METRICS[model]:
            diff = (group.loc[ok, column].astype(float)
                    - small.loc[ok, column].astype(float)).to_numpy()
            n = diff.size
            mean = float(diff.mean()) if n else float("nan")
            se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
            if n > 1 and se == 0.0:
                t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
            else:
                t = mean / se if n > 1 else float("nan")
            rows.append({"model": model, "configuration": configuration, "metric": label,
                         "pairs": n, "diverged": int(len(seeds) - n),
                         "small_mean": float(small.loc[ok, column].astype(float).mean()),
                         "large_mean": float(group.loc[ok, column].astype(float).mean()),
                         "difference": mean, "se": se, "t": t})
    return pd.DataFrame(rows)


class SparseFeatures(Claim):
    """Large steps then decay: lower rank, sparser features, better test error (open)."""

    id = "S4.sparse-features"
    table_quantity = r"paired comparisons that do not confirm the hypothesis"
    discrepancy_unit = r"comparisons"
    statement = (
        "SGD with a large step in the loss-stabilisation regime, decayed to the small step "
        "after 10, 30 or 50 % of the iterations, ends with a lower Jacobian rank, a lower "
        "feature-sparsity coefficient (and fewer ReLU kinks) and a lower test error than SGD "
        "with the small step throughout, on diagonal linear networks (n = 80, d = 200, "
        "20-sparse) and on two-layer ReLU networks in 1-D (open: an empirical finding)."
    )
    sweeps = tuple(SWEEPS.values())
    gating = False

    def theory(self) -> Prediction:
        return Prediction(
            "The predicted sign of every paired difference (large - small): negative.",
            {model: {label: -1 for _, label in metrics} for model, metrics in METRICS.items()})

    def simulate(self, scale: str, runner: SweepRunner) -> dict:
        """The two sweeps' final metrics and curves, one frame per model."""
        data = {}
        for model, sweep in SWEEPS.items():
            frame = runner.run(sweep, scale, arrays=True)
            frame = frame[frame["status"] == "ok"].copy()
            frame["configuration"] = [_configuration(r) for _, r in frame.iterrows()]
            data[model] = frame
        return data

    def verdict(self, data) -> Verdict:
        """Counts the comparisons that do not confirm the prediction at the one-sided
        Bonferroni level."""
        table = pd.concat([paired_differences(frame, model) for model, frame in data.items()],
                          ignore_index=True)
        tests = len(table)
        dof = max(int(table["pairs"].min()) - 1, 1)
        threshold = float(stats.t.isf(FAMILY_LEVEL / tests, dof))
        confirmed = table["t"] <= -threshold
        failures = int((~confirmed).sum())
        opposite = table[table["t"] >= threshold]
        return Verdict(
            quantity="paired comparisons (large - small, over seeds) that do not confirm a "
                     "lower value for large steps",
            predicted=0.0,
            measured=float(failures),
            discrepancy=float(failures),
            tolerance=0.0,
            passed=failures == 0,
            justification=(
                "per model, large-step configuration and metric, the paired differences over "
                "seeds (same data set, initialisation and samples for both schedules) are "
                "tested one-sided with Student t, Bonferroni over the "
                f"{tests} comparisons at family-wise {FAMILY_LEVEL} (t <= -{threshold:.2f} "
                f"with the fewest pairs, {dof} degrees of freedom); diverged runs are "
                "excluded from the pairs and counted"
            ),
            details={"comparisons": table.round(6).to_dict(orient="records"),
                     "significantly_opposite": opposite[["model", "configuration", "metric"]]
                     .to_dict(orient="records"),
                     "diverged_runs": {m: int(f["diverged"].sum()) for m, f in data.items()}},
        )

    def figure(self, data):
        """Per model: train loss and feature sparsity along training (mean over seeds, one
        line per schedule), and the final paired differences with their standard errors."""
        with styled() as plt:
            fig, axes = plt.subplots(2, 3, figsize=(9.0, 5.0), constrained_layout=True)
            for row, (model, frame) in zip(axes, data.items(), strict=True):
                for i, (configuration, group) in enumerate(frame.groupby("configuration")):
                    alive = group[~group["diverged"].astype(bool)]
                    if alive.empty:
                        continue
                    steps = np.asarray(alive["steps"].iloc[0])
                    for ax, curve in zip(row[:2], CURVES, strict=True):
                        values = np.stack([np.asarray(v, float) for v in alive[curve]])
                        mean = np.nanmean(values, axis=0)
                        ax.plot(steps, mean, color="k" if configuration == "small" else f"C{i}",
                                lw=1.0 if configuration == "small" else 0.7,
                                label=configuration)
                row[0].set_yscale("log")
                row[0].set_ylabel(f"{model}: train loss")
                row[1].set_ylabel("feature sparsity")
                for ax in row[:2]:
                    ax.set_xlabel("step")
                row[0].legend(fontsize=5)
                table = paired_differences(frame, model)
                labels = [f"{_SHORT[r.metric]}, {_short_configuration(r.configuration)}"
                          for r in table.itertuples()]
                scale = np.abs(table["small_mean"]).replace(0.0, 1.0)
                row[2].errorbar(table["difference"] / scale, np.arange(len(table)),
                                xerr=table["se"] / scale, fmt="o", ms=3, color="C3")
                row[2].axvline(0.0, color="k", lw=0.6)
                row[2].set_yticks(np.arange(len(table)), labels, fontsize=5)
                row[2].set_xlabel("(large - small) / |small|, paired")
        return fig


CLAIMS = [SparseFeatures()]
