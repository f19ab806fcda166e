"""A sweep's description: its name, its pure point function, its grid and its seeds.

A sweep is a *pure* function ``function(params) -> results`` (same params, same results: the
seed is a parameter) over the parameter points that ``grid(scale, root_seed)`` lists for each
scale. Every random number of a scale's points derives from that scale's root seed, declared in
``SweepSpec.root_seeds``: a claim's pre-registration
(:class:`jamming.compare.claims.Registration`) names the root seeds of its confirmatory data,
so which data were drawn when is readable from the code, not from memory. The record key of
a point is the SHA-256 of the sweep name, the ``version`` tag and the canonical JSON of its
parameters
(:func:`jamming.sweeps.store.record_key`), so a stored result is found again whatever module
the function lives in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from jamming.config import SCALES, check_scale
from jamming.sweeps.store import record_key


def shared_root_seed(root_seed: int) -> dict[str, int]:
    """``root_seeds`` of a sweep whose scales all derive from one root.

    Its quick points may be paper points, and its seeds were seen while the package was
    written: its data can only be exploratory (see
    :class:`jamming.compare.claims.Registration`). A sweep that feeds a confirmatory claim
    draws a fresh root per scale.
    """
    return {scale: root_seed for scale in SCALES}


@dataclass(frozen=True)
class SweepSpec:
    """A named simulation grid.

    Attributes
    ----------
    name : str
        The sweep's name in the store (``jamming sweep NAME``).
    function : callable
        ``function(params: dict) -> dict``, pure and importable (module level), so that Dask
        workers can run it. The result maps names to scalars (int, float, bool, str) or numpy
        arrays. With ``uses_device`` it is called as ``function(params, device=...)``.
    version : str
        Tag hashed into every record key: bump it when the function's results change.
    grid : callable
        ``grid(scale, root_seed) -> list[dict]``: the parameter points of a scale, with seeds
        derived from ``root_seed`` only (``derive_seed(root_seed, *labels)``; the catalog
        tests check that every seed of every point changes with it).
    root_seeds : Mapping[str, int]
        The root seed of each scale in :data:`jamming.config.SCALES`.
    description : str
        One line for ``jamming list``.
    uses_device : bool
        Whether ``function`` takes a ``device`` keyword ("cpu", "cuda").
    """

    name: str
    function: Callable[..., Mapping]
    version: str
    grid: Callable[[str, int], list[dict]]
    root_seeds: Mapping[str, int]
    description: str
    uses_device: bool = False

    def __post_init__(self):
        if set(self.root_seeds) != set(SCALES) or any(
                not isinstance(r, int) or r < 0 for r in self.root_seeds.values()):
            raise ValueError(f"root_seeds of sweep {self.name!r} must map each of "
                             f"{', '.join(SCALES)} to an integer >= 0; got {self.root_seeds!r}")

    def points(self, scale: str) -> list[dict]:
        """The parameter points of ``scale``, drawn from its root seed."""
        return self.grid(check_scale(scale), self.root_seeds[scale])

    def key(self, params: Mapping) -> str:
        """The store key of one point."""
        return record_key(self.name, self.version, params)


def derive_seed(root_seed: int, *spawn_key: int) -> int:
    """A 63-bit child seed of ``root_seed`` for the point labelled by ``spawn_key``.

    Uses :class:`numpy.random.SeedSequence`, whose children are statistically independent,
    so grid points (and blocks of trials within a point) never share random streams.

    Parameters
    ----------
    root_seed : int
        The sweep's root seed, >= 0.
    *spawn_key : int
        Non-negative integers that identify the point, e.g. ``(n_eff, n_data, block)``.
    """
    words = np.random.SeedSequence(root_seed, spawn_key=spawn_key).generate_state(2, np.uint32)
    return int((int(words[0]) << 32 | int(words[1])) & ((1 << 63) - 1))
