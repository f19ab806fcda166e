"""Sweep functions for the tests (importable by subprocesses through ``sys.path``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from jamming.sweeps.spec import SweepSpec

#: This folder, for subprocesses that must import this module.
HELPERS = Path(__file__).resolve().parent


def logged_square(params: dict) -> dict:
    """Square ``x`` slowly, appending the point to the log file named in ``$SWEEP_LOG``."""
    time.sleep(float(os.environ.get("SWEEP_DELAY", "0")))
    with open(os.environ["SWEEP_LOG"], "a") as log:
        log.write(f"{params['x']}\n")
        log.flush()
        os.fsync(log.fileno())
    return {"square": params["x"] ** 2, "noise": np.random.default_rng(params["seed"]).random(3)}


def fragile(params: dict) -> dict:
    """Fail for negative ``x`` unless ``$FRAGILE_HEALED`` is set."""
    if params["x"] < 0 and not os.environ.get("FRAGILE_HEALED"):
        raise ArithmeticError(f"negative x = {params['x']}")
    return {"root": abs(params["x"]) ** 0.5}


def grid(n: int) -> list[dict]:
    """``n`` points with distinct seeds."""
    return [{"x": i, "seed": 1000 + i} for i in range(n)]


LOGGED = SweepSpec("test-logged", logged_square, "1", lambda scale: grid(40), "test sweep")
FRAGILE = SweepSpec("test-fragile", fragile, "1",
                    lambda scale: [{"x": x} for x in (-2, -1, 1, 4)], "test sweep")
