"""S2 claims on the features of trained networks (the pipeline of a research e-mail).

``S2.isostatic-features`` (open)
    At every training time, every UNSAT minimum of the quadratic hinge on the N hidden
    features of the trained network has N_Delta >= rank + 1, so the SAT -> UNSAT step sits at
    N_Delta/N >= rank/N. For features in general position this is the theorem of
    ``S1.isostatic-jump``. Registered as open before its confirmatory data: hidden ReLU
    activations with d < N need not be in general position (the features of inputs that
    share an activation pattern span at most d dimensions, the reason ``S1.ntk-cover``
    fails), so the bound may fail.

It reads the ``trained-features`` sweep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.claims import Claim, Prediction, Verdict
from jamming.compare.figures import styled
from jamming.sweeps.runner import SweepRunner

#: The per-(step, size) arrays of the sweep.
FIELDS = ("sat", "n_delta", "loss", "certified", "rank")


def trained_prefixes(runner: SweepRunner, scale: str) -> pd.DataFrame:
    """One row per (point, training step, training-set size) of the ``trained-features`` sweep.

    Columns: ``input_dim, width, instance, step, size, load`` (size / width) and
    :data:`FIELDS`; ``attrs["failed_points"]``.
    """
    frame = runner.run("trained-features", scale, arrays=True)
    parts = []
    for _, record in frame[frame["status"] == "ok"].iterrows():
        steps, sizes = np.asarray(record["steps"]), np.asarray(record["sizes"])
        grid_steps, grid_sizes = np.meshgrid(steps, sizes, indexing="ij")
        part = pd.DataFrame({"step": grid_steps.ravel(), "size": grid_sizes.ravel(),
                             **{name: np.asarray(record[name]).ravel() for name in FIELDS}})
        for name in ("input_dim", "width", "instance"):
            part[name] = int(record[name])
        parts.append(part)
    data = pd.concat(parts, ignore_index=True)
    data["load"] = data["size"] / data["width"]
    data.attrs["failed_points"] = int((frame["status"] != "ok").sum())
    return data


class IsostaticFeatures(Claim):
    """N_Delta >= rank + 1 at every UNSAT minimum on trained features (open)."""

    id = "S2.isostatic-features"
    table_quantity = r"UNSAT minima on trained features with $N_\Delta < \mathrm{rank} + 1$"
    discrepancy_unit = r"minima"
    statement = (
        "At every training time and size, every UNSAT minimum of the quadratic hinge on the "
        "N hidden features of a hinge-trained one-hidden-layer ReLU network has "
        "N_Delta >= rank + 1 (hypothesis: the features are in general position)."
    )
    sweeps = ("trained-features",)
    gating = False

    def theory(self) -> Prediction:
        return Prediction("The isostatic bound N_Delta >= rank + 1 on every UNSAT minimum.",
                          {"minimum_excess": 1})

    def simulate(self, scale: str, runner: SweepRunner) -> pd.DataFrame:
        """Every nested training set at every recorded step."""
        return trained_prefixes(runner, scale)

    def verdict(self, data) -> Verdict:
        """Count the UNSAT minima below the bound; every solution must be certified."""
        unsat = data[~data["sat"].astype(bool)]
        excess = unsat["n_delta"] - unsat["rank"]
        violations = int((excess < 1).sum())
        uncertified = int((~data["certified"].astype(bool)).sum())
        failed = data.attrs.get("failed_points", 0)
        first = unsat.sort_values("size").groupby(["input_dim", "width", "instance", "step"])
        at_step = first.first().reset_index()
        return Verdict(
            quantity="UNSAT minima on trained features with N_Delta < rank + 1",
            predicted=0.0, measured=float(violations), discrepancy=float(violations),
            tolerance=0.0, passed=bool(violations == 0 and uncertified == 0 and failed == 0),
            justification=(
                "exact integers: N_Delta of certified minimisers (KKT residual or SAT "
                "certificate of the exact solver) and the numerical rank of each prefix's "
                "features (numpy's matrix_rank threshold); no tolerance; every solution "
                "certified; no failed sweep point"),
            details={"unsat_minima": len(unsat), "minima": len(data),
                     "smallest_excess": int(excess.min()) if len(excess) else -1,
                     "uncertified": uncertified, "failed_points": failed,
                     "transition": at_step[["input_dim", "width", "instance", "step", "load",
                                            "n_delta", "rank"]].to_dict(orient="records")},
        )

    def figure(self, data):
        """N_Delta/N against the load P/N, coloured by training step; dashed: rank/N."""
        with styled() as plt:
            fig, axes = plt.subplots(1, 2, constrained_layout=True, figsize=(7.0, 2.8))
            steps = sorted(data["step"].unique())
            for i, step in enumerate(steps):
                group = data[data["step"] == step]
                mean = group.groupby("load")[["n_delta", "width", "rank"]].mean()
                label = f"t = {step}"
                axes[0].plot(mean.index, mean["n_delta"] / mean["width"], "o-", ms=2.5,
                             color=f"C{i}", label=label)
                unsat = group[~group["sat"].astype(bool)]
                axes[1].plot(unsat["load"], unsat["n_delta"] - unsat["rank"], ".", ms=2,
                             color=f"C{i}", label=label)
            axes[0].axhline(1.0, color="k", ls="--", lw=0.6)
            axes[0].set_xlabel(r"$N_\mathrm{data}/N$")
            axes[0].set_ylabel(r"mean $N_\Delta/N$")
            axes[0].legend(fontsize=6)
            axes[1].axhline(1.0, color="k", ls="--", lw=0.6)
            axes[1].set_yscale("symlog", linthresh=1.0)  # violations (<= 0) stay visible
            axes[1].set_xlabel(r"$N_\mathrm{data}/N$")
            axes[1].set_ylabel(r"$N_\Delta - \mathrm{rank}$ (UNSAT)")
        return fig


CLAIMS = (IsostaticFeatures(),)
