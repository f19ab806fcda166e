"""A sweep's description: its name, its pure point function, its grid and its seeds.

A sweep is a *pure* function ``function(params) -> results`` (same params, same results: the
seed is a parameter) over the parameter points that ``grid(scale)`` lists for each scale. The
record key of a point is the SHA-256 of the sweep name, the ``version`` tag and the canonical
JSON of its parameters (:func:`jamming.sweeps.store.record_key`), so a stored result is found
again whatever module the function lives in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from jamming.sweeps.store import record_key


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
        ``grid(scale) -> list[dict]``: the parameter points of a scale, seeds included.
    description : str
        One line for ``jamming list``.
    uses_device : bool
        Whether ``function`` takes a ``device`` keyword ("cpu", "cuda").
    """

    name: str
    function: Callable[..., Mapping]
    version: str
    grid: Callable[[str], list[dict]]
    description: str
    uses_device: bool = False

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
