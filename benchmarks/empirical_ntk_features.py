"""Empirical-NTK features: batched torch.func against a loop of per-sample autograd (anchor).

The anchor is the textbook computation of the Jacobian of a network's outputs with respect
to its parameters: a Python loop over the inputs, one forward pass and one
``torch.autograd.grad`` call per input (``empirical_ntk_features_loop``). Ours is
``empirical_ntk_features``: ``torch.func.vmap(torch.func.grad(f_single))``, all inputs in
one vectorised call. Both get the same network and sphere inputs, float64, CPU, in one
process, and every pair of matrices must agree to 1e-12.

Sizes: those the project computes. The script first replays the paper-scale grids of the
two sweeps that build NTK Jacobians (``jacobian-rank`` and ``feature-cover`` in
``jamming.sweeps.features``), calling the sweep functions themselves with
``empirical_ntk_features`` replaced by a recorder (and the LP and SVD that follow by
stubs), so every Jacobian shape, network and call count below is the sweeps' own. The
sweeps pass numpy inputs, get a numpy array back and pass no ``out`` buffer (a fresh result
per call); both methods are timed called that way. The paper-scale sweeps make 6118 NTK
Jacobian calls:

- ``jacobian-rank``: 88 calls, 22 networks (relu/tanh/erf, with and without biases,
  depth 1 and 2, d = 5 to 20, widths 6 to 16) x 4 seeds, each on ``n_data = 3 P`` inputs:
  from 144 x 48 to 1296 x 432.
- ``feature-cover``: 6030 calls on bias-free one-hidden-layer ReLU networks with P = 24, 44
  and 72 parameters, 15 to 216 inputs (200 trials per load, plus one rank check per point).

The headline (``ratio=``, last line) is the largest Jacobian the sweeps compute: the
``jacobian-rank`` network of depth 2, d = 10, width 16, ReLU, no bias (P = 432) on 1296
inputs (the shape is found from the recorded calls, not written here). It is the single
largest NTK computation of the paper and where vectorising over the inputs matters most
per call. It is not the typical call: most calls are the small ``feature-cover`` ones (a
few dozen to 200 inputs), where both methods are dominated by fixed per-call costs (ours
about 0.3 ms of functorch set-up, the anchor about 50 us per input), so the script also
prints, per sweep and over all calls, the call-weighted ratio (total anchor time over total
ours time, as if each sweep's calls were run back to back). For continuity with earlier
versions of this benchmark it also times d = 20, width 256 (P = 5376) on 512 inputs, a size
the sweeps do not use, and, at the headline size, ``vmap(jacrev)`` and ``jacrev`` of the
batched function (which backpropagates one one-hot cotangent per input through the whole
batch, O(N_data^2 P)).

torch runs on one thread (``torch.set_num_threads(1)``) for both: on a small shared machine
torch's OpenMP threads spin-wait against other processes and make elementwise kernels
erratic. Each time is the minimum over repeats, the two methods interleaved.

Measured on the 2-core development machine (one thread; two runs of this script):

- headline, 1296 x 432: anchor 97 to 99 ms, ours 2.6 ms, ratio 36 to 39;
- ``jacobian-rank``: ratio 20 (144 x 48) to 56 (576 x 192), call-weighted 40 to 41;
- ``feature-cover``: ours 0.32 to 0.41 ms whatever the size, ratio from 2.7 (15 inputs)
  to 29 (216 inputs), call-weighted 12;
- all 6118 paper-scale calls, call-weighted: 12.6 to 12.8 (anchor 28 s, ours 2.2 s; the
  ``feature-cover`` calls are 90% of the anchor's time);
- continuity, 512 x 5376: anchor 31 to 32 ms, ours 5.3 to 5.9 ms, ratio 5.3 to 6.0.

What limits ours. On small Jacobians, functorch's fixed cost: about 0.26 ms per
``vmap(grad)`` call (pytree handling, wrapping, the autograd engine), against about 50 us
per input for the anchor, so the ratio is n_data / 7 to n_data / 5 below a few hundred inputs. On
larger ones, the per-sample weight gradients: they are outer products, which ``vmap`` turns
into ``bmm`` with inner size 1, and torch's CPU ``bmm`` writes those at about 2 ns per
entry: 1.3 ms of the 2.6 ms at the headline (a broadcast multiply writing the same entries
takes 0.1 ms), 2.1 ms of the 5.5 ms at width 256, where the 22 MB fresh result adds the
rest.
"""

from __future__ import annotations

import math
from collections import Counter
from unittest import mock

import numpy as np
import torch
from timing import best_time
from torch.func import jacrev, vmap

from jamming.simulate.features import (
    NetworkSpec,
    empirical_ntk_features,
    empirical_ntk_features_loop,
    init_parameters,
    network_output,
    sphere_inputs,
)
from jamming.sweeps import features as feature_sweeps

SCALE, THREADS = "paper", 1
#: The size of earlier versions of this benchmark (not used by the sweeps).
CONTINUITY = (NetworkSpec(20, 256, depth=1, activation="relu"), 512)


def recorded_calls(scale: str) -> dict[str, Counter]:
    """``{sweep: Counter({(spec, n_data): calls})}``: the NTK Jacobians the sweeps compute.

    Runs each sweep function on every point of its grid with ``empirical_ntk_features``
    replaced by a recorder that returns zeros, and the LP separability test and the SVD by
    stubs. Asserts that the sweeps pass no ``out`` buffer and ask for numpy results (the
    way both methods are timed here).
    """
    calls: dict[str, Counter] = {}
    current = []

    def recorder(spec, params, inputs, **options):
        assert options.get("out") is None and options.get("to_numpy", True), options
        assert isinstance(inputs, np.ndarray), type(inputs)
        calls.setdefault(current[0], Counter())[(spec, len(inputs))] += 1
        return np.zeros((len(inputs), spec.n_parameters))

    sweeps = {"jacobian-rank": (feature_sweeps.jacobian_rank_trial,
                                feature_sweeps.jacobian_grid),
              "feature-cover": (feature_sweeps.feature_cover_trials,
                                feature_sweeps.feature_cover_grid)}
    with mock.patch.object(feature_sweeps, "empirical_ntk_features", recorder), \
            mock.patch.object(feature_sweeps, "numerical_rank", lambda m: (0, None)), \
            mock.patch.object(feature_sweeps, "is_linearly_separable", lambda f, y: False):
        for name, (function, grid) in sweeps.items():
            current[:] = [name]
            for point in grid(scale):
                function(point)
    return calls


def case(spec: NetworkSpec, n_data: int, seed: int = 0):
    """Parameters and numpy inputs as the sweeps draw them, and the two calls."""
    params = init_parameters(spec, seed)
    inputs = sphere_inputs(n_data, spec.input_dim, seed + 1)

    def ours():
        return empirical_ntk_features(spec, params, inputs)

    def anchor():
        return empirical_ntk_features_loop(spec, params, inputs)

    batched, looped = ours(), anchor()  # warm-up, and the matrices compared
    assert batched.shape == looped.shape == (n_data, spec.n_parameters)
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-14)
    worst = float(np.abs(batched - looped).max() / np.abs(looped).max())
    return params, inputs, ours, anchor, worst


def time_pair(ours, anchor, rounds: int, our_repeats: int, anchor_repeats: int):
    our_time, anchor_time = math.inf, math.inf
    for _ in range(rounds):  # interleaved, so that both see the same machine load
        our_time = min(our_time, best_time(ours, our_repeats))
        anchor_time = min(anchor_time, best_time(anchor, anchor_repeats))
    return our_time, anchor_time


def describe(spec: NetworkSpec) -> str:
    return (f"{spec.activation:<4} bias={'y' if spec.bias else 'n'} L={spec.depth} "
            f"d={spec.input_dim:<2} h={spec.width:<3}")


def main() -> None:
    torch.set_num_threads(THREADS)
    calls = recorded_calls(SCALE)
    shapes = {key for counter in calls.values() for key in counter}
    headline = max(shapes, key=lambda key: (key[1] * key[0].n_parameters, key[1]))

    timings, worst = {}, 0.0
    for spec, n_data in sorted(shapes, key=lambda key: (key[1] * key[0].n_parameters,
                                                         repr(key))):
        _, _, ours, anchor, diff = case(spec, n_data)
        worst = max(worst, diff)
        timings[spec, n_data] = time_pair(ours, anchor, rounds=3, our_repeats=5,
                                          anchor_repeats=1)

    total = Counter()
    print(f"NTK Jacobians of the {SCALE}-scale sweeps, float64 cpu threads={THREADS}; "
          f"times: best of repeats, interleaved")
    for sweep, counter in calls.items():
        ours_sum = sum(count * timings[key][0] for key, count in counter.items())
        anchor_sum = sum(count * timings[key][1] for key, count in counter.items())
        total["ours"] += ours_sum
        total["anchor"] += anchor_sum
        print(f"{sweep}: {sum(counter.values())} calls, {len(counter)} shapes")
        if sweep == "jacobian-rank":
            for (spec, n_data), count in sorted(counter.items(), key=lambda item: (
                    item[0][1] * item[0][0].n_parameters, repr(item[0]))):
                our_time, anchor_time = timings[spec, n_data]
                print(f"  {describe(spec)} {n_data:>4} x {spec.n_parameters:<3} x{count:<3} "
                      f"anchor {anchor_time * 1e3:6.2f} ms  ours {our_time * 1e3:5.2f} ms  "
                      f"ratio {anchor_time / our_time:5.1f}")
        else:
            for spec in sorted({key[0] for key in counter}, key=lambda s: s.n_parameters):
                keys = sorted((key for key in counter if key[0] == spec), key=lambda k: k[1])
                ratios = [timings[key][1] / timings[key][0] for key in keys]
                ours_times = [timings[key][0] * 1e3 for key in keys]
                weighted = (sum(counter[key] * timings[key][1] for key in keys)
                            / sum(counter[key] * timings[key][0] for key in keys))
                print(f"  {describe(spec)} {keys[0][1]:>3}..{keys[-1][1]:<3} x "
                      f"{spec.n_parameters:<3} x{sum(counter[key] for key in keys):<4} "
                      f"ours {min(ours_times):.2f}..{max(ours_times):.2f} ms  "
                      f"ratio {min(ratios):.1f}..{max(ratios):.1f}, "
                      f"call-weighted {weighted:.1f}")
        print(f"  call-weighted ratio ({sweep}): {anchor_sum / ours_sum:.1f} "
              f"(anchor {anchor_sum:.2f} s, ours {ours_sum:.2f} s)")
    print(f"call-weighted ratio, all {SCALE}-scale NTK Jacobians: "
          f"{total['anchor'] / total['ours']:.1f} (anchor {total['anchor']:.2f} s, "
          f"ours {total['ours']:.2f} s); max_rel_diff={worst:.1e}")

    spec, n_data = CONTINUITY
    _, _, ours, anchor, diff = case(spec, n_data)
    our_time, anchor_time = time_pair(ours, anchor, rounds=5, our_repeats=5, anchor_repeats=2)
    print(f"continuity (not a sweep size): {describe(spec)} {n_data} x {spec.n_parameters} "
          f"anchor {anchor_time * 1e3:.2f} ms ours {our_time * 1e3:.2f} ms "
          f"ratio {anchor_time / our_time:.1f} max_rel_diff={diff:.1e}")

    spec, n_data = headline
    params, inputs, ours, anchor, diff = case(spec, n_data)
    our_time, anchor_time = time_pair(ours, anchor, rounds=5, our_repeats=10,
                                      anchor_repeats=2)
    params = {name: value.detach() for name, value in params.items()}
    points = torch.as_tensor(inputs)

    def single(p, x):
        return network_output(spec, p, x)

    def flat(parts):
        return torch.cat([v.reshape(n_data, -1) for v in parts.values()], dim=1).numpy()

    vmap_jacrev = best_time(lambda: flat(vmap(jacrev(single), in_dims=(None, 0))(params,
                                                                                  points)), 10)
    whole = flat(jacrev(lambda p: network_output(spec, p, points))(params))
    np.testing.assert_allclose(whole, ours(), rtol=1e-12, atol=1e-14)
    whole_time = best_time(lambda: flat(jacrev(lambda p: network_output(spec, p, points))(
        params)), 2)
    print(f"headline (largest sweep Jacobian): {describe(spec)} n_data={n_data} "
          f"P={spec.n_parameters} max_rel_diff={diff:.1e}")
    print(f"loop of autograd.grad (anchor) {anchor_time * 1e3:.2f} ms; "
          f"vmap(grad) (ours) {our_time * 1e3:.2f} ms; vmap(jacrev) {vmap_jacrev * 1e3:.2f} ms; "
          f"jacrev of the batch {whole_time * 1e3:.1f} ms")
    print(f"ratio={anchor_time / our_time:.1f}")


if __name__ == "__main__":
    main()
