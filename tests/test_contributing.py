"""CONTRIBUTING.md's worked example runs: its grid, its claim and its test, end to end."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n# file: (?P<path>\S+)\n(?P<code>.*?)```", re.DOTALL)

#: The files of the example, and the import names they take in the package.
EXAMPLE = {"sweeps/cover_half.py": "jamming.sweeps.cover_half",
           "compare/cover_half.py": "jamming.compare.cover_half",
           "tests/compare/test_cover_half.py": "test_cover_half"}


def example_blocks() -> dict[str, str]:
    """The code of each ``# file:`` block of CONTRIBUTING.md, by path."""
    return {m["path"]: m["code"] for m in BLOCK.finditer((REPO / "CONTRIBUTING.md").read_text())}


@pytest.fixture()
def example(monkeypatch):
    """The example's modules, imported under their package names without touching the tree."""
    blocks = example_blocks()
    assert set(blocks) == set(EXAMPLE)
    modules = {}
    for path, name in EXAMPLE.items():
        module = types.ModuleType(name)
        module.__file__ = str(REPO / path)
        monkeypatch.setitem(sys.modules, name, module)
        exec(compile(blocks[path], path, "exec"), module.__dict__)
        modules[path] = module
    return modules


def test_the_worked_example_runs_end_to_end(example, monkeypatch, tmp_path):
    from jamming.compare import claims
    from jamming.sweeps import catalog
    from jamming.sweeps.runner import SweepRunner
    from jamming.sweeps.store import Store

    spec = example["sweeps/cover_half.py"].HALF_SWEEP
    monkeypatch.setitem(catalog.SWEEPS, spec.name, spec)
    monkeypatch.setattr(claims, "CLAIM_MODULES",
                        (*claims.CLAIM_MODULES, "jamming.compare.cover_half"))
    (claim,) = claims.select("S1.cover-half")
    with Store(tmp_path / "store.sqlite") as store, \
            SweepRunner(store, device="cpu", progress=False) as runner:
        data = claim.simulate("quick", runner)
        assert {s.name for s in runner.summaries} == set(claim.sweeps)
    assert claim.theory()["p"](8) == 0.5
    verdict = claim.verdict(data)
    assert verdict.passed, verdict
    assert claim.figure(data).axes
    example["tests/compare/test_cover_half.py"].test_the_verdict_fails_on_data_that_contradict_cover()


def test_the_guide_is_linked_from_the_readme():
    assert "CONTRIBUTING.md" in (REPO / "README.md").read_text()
