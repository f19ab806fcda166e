"""The catalog: every named sweep has a distinct name and a grid without repeated points."""

from __future__ import annotations

import pytest

from jamming.config import SCALES
from jamming.sweeps.catalog import SWEEPS, get_sweep


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_sweep_grids_have_unique_points(name):
    spec = SWEEPS[name]
    assert spec.name == name
    for scale in SCALES:
        grid = spec.grid(scale)
        keys = {spec.key(p) for p in grid}
        assert len(keys) == len(grid) > 0, (name, scale)


def test_unknown_sweep_names_the_known_ones():
    with pytest.raises(ValueError, match="known sweeps: .*cover-separability"):
        get_sweep("nope")
