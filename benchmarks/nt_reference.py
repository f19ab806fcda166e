"""Reference NNGP/NTK values from ``neural_tangents.stax`` for ``tests/theory/test_kernels.py``.

Run with the python of a separate environment that has neural-tangents 0.6.5 (not a
dependency of this project)::

    python3.11 -m venv /work/nt-venv
    /work/nt-venv/bin/pip install jax==0.4.30 jaxlib==0.4.30 frozendict
    /work/nt-venv/bin/pip install --no-deps neural-tangents==0.6.5
    /work/nt-venv/bin/python benchmarks/nt_reference.py [OUTPUT.json]

``--no-deps`` skips tensorflow and tf2jax, which neural-tangents needs only for its
``experimental`` (TF empirical-NTK) sub-package; that sub-package is replaced by an empty
module before the import. The default output is ``tests/theory/data/nt_reference.json``.
The network of each case is ``stax.serial(*[Dense(1, W_std, b_std), act] * depth,
Dense(1, W_std, b_std))``; inputs are seeded numpy normals.
"""

from __future__ import annotations

import json
import platform
import sys
import types
import warnings
from pathlib import Path

# neural_tangents/__init__ imports .experimental, which needs tensorflow: stub it out.
sys.modules.setdefault("neural_tangents.experimental",
                       types.ModuleType("neural_tangents.experimental"))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import neural_tangents  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

#: Degree of ElementwiseNumerical for the high-accuracy tanh reference, and the degree at
#: which ours must agree with stax's rule itself (same nodes, same formula).
TANH_DEGREES = (200, 64)


def activations():
    """(name, params, stax layer) of every tested activation."""
    def dtanh(x):
        return 1.0 - jnp.tanh(x) ** 2

    out = [
        ("relu", {}, stax.Relu()),
        ("leaky_relu", {"alpha": 0.1}, stax.LeakyRelu(0.1)),
        ("abs", {}, stax.Abs()),
        ("abrelu", {"a": -0.3, "b": 0.8}, stax.ABRelu(-0.3, 0.8)),
        ("erf", {}, stax.Erf()),
        ("erf", {"a": 0.7, "b": 1.3, "c": 0.2}, stax.Erf(0.7, 1.3, 0.2)),
        ("sigmoid_like", {}, stax.Sigmoid_like()),
        ("gelu", {}, stax.Gelu()),
        ("sin", {"a": 1.1, "b": 0.8, "c": 0.3}, stax.Sin(1.1, 0.8, 0.3)),
        ("cos", {}, stax.Cos()),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for deg in TANH_DEGREES:
            out.append((f"tanh@{deg}", {}, stax.ElementwiseNumerical(jnp.tanh, deg, dtanh)))
    return out


def main(path: Path) -> None:
    rng = np.random.RandomState(20240601)
    x1 = rng.randn(5, 7)
    x2 = 1.3 * rng.randn(3, 7)
    cases = []
    for name, params, act in activations():
        for depth in (1, 2, 3):
            for w_std, b_std in ((1.0, 0.0), (1.5, 0.1), (2.0 ** 0.5, 0.5)):
                layers = [stax.Dense(1, w_std, b_std if b_std else None), act] * depth
                _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, w_std,
                                                                  b_std if b_std else None))
                pairs = [False] + ([True] if depth == 2 else [])
                for with_x2 in pairs:
                    k = kernel_fn(x1, x2 if with_x2 else None, ("nngp", "ntk"))
                    cases.append({
                        "activation": name.split("@")[0],
                        "degree": int(name.split("@")[1]) if "@" in name else None,
                        "params": params, "depth": depth, "W_std": w_std, "b_std": b_std,
                        "x2": with_x2,
                        "nngp": np.asarray(k.nngp, dtype=np.float64).tolist(),
                        "ntk": np.asarray(k.ntk, dtype=np.float64).tolist(),
                    })
    data = {
        "generator": "benchmarks/nt_reference.py",
        "versions": {"neural_tangents": neural_tangents.__version__, "jax": jax.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "network": "stax.serial(*[Dense(1, W_std, b_std), act] * depth, Dense(1, W_std, b_std))"
                   "; b_std = 0 is b_std=None; float64 (jax_enable_x64)",
        "x1": x1.tolist(), "x2": x2.tolist(),
        "cases": cases,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "tests/theory/data/nt_reference.json"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
