"""NTK Gram matrix of a depth-3 ReLU network: jamming.theory.kernels against neural-tangents.

N = 4096 inputs in d = 100 (seeded normals), float64, ``W_std = 1.5``, ``b_std = 0.1``. Ours
runs with numpy on one BLAS thread (set ``OPENBLAS_NUM_THREADS=1`` before starting python to
make that certain); ``neural_tangents.stax`` ``kernel_fn`` (jit, float64, CPU) runs in its own
environment, ``$JAMMING_NT_PYTHON`` (default ``/work/nt-venv/bin/python``; see
``benchmarks/nt_reference.py`` for how to build it), as a subprocess, twice: with XLA's default
CPU threading (all cores) and restricted to one thread. Both results are compared entry by
entry: off the diagonal the max relative difference must be <= 1e-10; on the diagonal
stax has rounding errors ~1e-8 (see the output), so ours is checked against the exact scalar
recursion instead. Timings are the best of ``REPEATS`` runs
after a warm-up (jit compilation excluded). The last line is ``ratio=<nt_time/our_time>``
(single-threaded XLA). Without the environment it prints why and exits 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from jamming.theory.kernels import ntk  # noqa: E402

N, D, DEPTH, W_STD, B_STD, REPEATS = 4096, 100, 3, 1.5, 0.1, 3

NT_SCRIPT = r"""
import json, os, sys, time, types
sys.modules.setdefault("neural_tangents.experimental",
                       types.ModuleType("neural_tangents.experimental"))
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from neural_tangents import stax
x_path, out_path, depth, w_std, b_std, repeats = sys.argv[1:7]
depth, w_std, b_std, repeats = int(depth), float(w_std), float(b_std), int(repeats)
x = np.load(x_path)
layers = [stax.Dense(1, w_std, b_std), stax.Relu()] * depth + [stax.Dense(1, w_std, b_std)]
kernel_fn = jax.jit(stax.serial(*layers)[2], static_argnames="get")
kernel_fn(x, None, get="ntk").block_until_ready()
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    k = kernel_fn(x, None, get="ntk").block_until_ready()
    times.append(time.perf_counter() - t0)
np.save(out_path, np.asarray(k))
print(json.dumps({"time": min(times), "devices": str(jax.devices()),
                  "cpu_count": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", ""),
                  "version": __import__("neural_tangents").__version__}))
"""


def run_nt(python: str, x_path: str, out_path: str, single_thread: bool) -> dict:
    env = dict(os.environ)
    if single_thread:
        env["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1")
        env["OMP_NUM_THREADS"] = "1"
    else:
        env.pop("XLA_FLAGS", None)
    proc = subprocess.run([python, "-c", NT_SCRIPT, x_path, out_path, str(DEPTH), str(W_STD),
                           str(B_STD), str(REPEATS)], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"neural-tangents run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def exact_diagonal(x: np.ndarray) -> np.ndarray:
    """Theta(x, x) of the ReLU network: theta = 0 at x = x', so E phi'^2 = 1/2, E phi^2 = q/2."""
    q = np.einsum("ij,ij->i", x, x) / x.shape[1]
    theta = np.zeros_like(q)
    for layer in range(DEPTH + 1):
        q = W_STD**2 * q + B_STD**2
        theta = q + W_STD**2 * theta
        if layer < DEPTH:
            q, theta = q / 2, theta / 2
    return theta


def main() -> int:
    python = os.environ.get("JAMMING_NT_PYTHON", "/work/nt-venv/bin/python")
    x = np.random.default_rng(0).standard_normal((N, D))
    ntk(x[:8], None, DEPTH, "relu", W_STD, B_STD)  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        ours = ntk(x, None, DEPTH, "relu", W_STD, B_STD)
        times.append(time.perf_counter() - t0)
    ours_time = min(times)
    print(f"ours (numpy, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}): "
          f"NTK Gram {N}x{N}, d={D}, depth={DEPTH} relu: {ours_time:.3f} s")
    if not Path(python).exists():
        print(f"neural-tangents environment not found at {python} (set JAMMING_NT_PYTHON); "
              "skipping the comparison")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        x_path, out_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "nt.npy")
        np.save(x_path, x)
        multi = run_nt(python, x_path, out_path, single_thread=False)
        single = run_nt(python, x_path, out_path, single_thread=True)
        ref = np.load(out_path)
    off = ~np.eye(N, dtype=bool)
    diff_off = np.max(np.abs(ours - ref)[off] / np.abs(ref)[off])
    exact = exact_diagonal(x)
    diag_ours = np.max(np.abs(np.diag(ours) - exact) / exact)
    diag_nt = np.max(np.abs(np.diag(ref) - exact) / exact)
    print(f"neural-tangents {single['version']} kernel_fn (jit, float64, {single['devices']}): "
          f"{multi['time']:.3f} s with XLA's default threading ({multi['cpu_count']} cores), "
          f"{single['time']:.3f} s with one thread ({single['xla_flags']})")
    print(f"off-diagonal entries: max relative difference ours vs neural-tangents {diff_off:.2e}")
    print(f"diagonal vs the exact scalar recursion: ours {diag_ours:.2e}, neural-tangents "
          f"{diag_nt:.2e} (stax evaluates the off-diagonal formula on the diagonal, where "
          "sqrt(q*q - c*c) of two roundings of the same number is ~1e-8 q)")
    if not (diff_off <= 1e-10 and diag_ours <= 1e-13):
        print("FAIL: off-diagonal entries differ by more than 1e-10 or our diagonal is off")
        return 1
    print(f"ratio_multithread={multi['time'] / ours_time:.2f}")
    print(f"ratio={single['time'] / ours_time:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
