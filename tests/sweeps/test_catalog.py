"""The catalog: every named sweep has a distinct name and a grid without repeated points."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jamming.config import SCALES
from jamming.sweeps.catalog import SWEEPS, get_sweep


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_sweep_grids_have_unique_points(name):
    spec = SWEEPS[name]
    assert spec.name == name
    for scale in SCALES:
        grid = spec.points(scale)
        keys = {spec.key(p) for p in grid}
        assert len(keys) == len(grid) > 0, (name, scale)


def test_unknown_sweep_names_the_known_ones():
    with pytest.raises(ValueError, match="known sweeps: .*cover-separability"):
        get_sweep("nope")


#: The record keys of every grid point, per sweep and scale, as written by the code before
#: the sweeps moved out of simulate/ (commit fed9eee): a store written then must be read now
#: without recomputing anything. A deliberate change (a new grid point, a bumped version)
#: updates this file in the same commit.
RECORD_KEYS = json.loads((Path(__file__).parent / "data" / "record_keys.json").read_text())


def test_record_keys_are_those_of_the_stored_results():
    assert set(RECORD_KEYS) == set(SWEEPS)  # a new sweep pins its keys here too
    for name, scales in RECORD_KEYS.items():
        spec = SWEEPS[name]
        for scale, expected in scales.items():
            keys = [spec.key(p) for p in spec.points(scale)]
            digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
            assert (len(keys), digest) == (expected["points"], expected["sha256"]), (name, scale)
