"""The command line, run as a user would (subprocesses): happy paths and bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest


def jamming(*args, store=None, paper=None, cwd=None, env=None, timeout=300):
    environment = {**os.environ, **(env or {})}
    environment.pop("JAMMING_DEBUG", None)
    if store is not None:
        environment["JAMMING_STORE"] = str(store)
    if paper is not None:
        environment["JAMMING_PAPER_DIR"] = str(paper)
    return subprocess.run([sys.executable, "-m", "jamming", *map(str, args)], cwd=cwd,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def assert_usage_error(result, fragment: str):
    """Exit code 2 and exactly one line on stderr, naming the problem; no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jamming: error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_version():
    result = jamming("--version")
    assert result.returncode == 0 and result.stdout.startswith("jamming ")


def test_list_shows_claims_and_cache(store_copy):
    result = jamming("list", store=store_copy)
    assert result.returncode == 0, result.stderr
    assert "S1.cover-finite-size" in result.stdout
    assert "cover-separability" in result.stdout and "quick 24/24" in result.stdout


def test_validate_prints_a_passing_table_and_writes_reports(store_copy, paper_copy):
    result = jamming("validate", "--scale", "quick", store=store_copy, paper=paper_copy)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("S")}
    assert rows["S1.cover-finite-size"].endswith("PASS")
    assert "S1.soft-modes" in rows and "(open)" in rows["S1.soft-modes"]
    for path in (store_copy.parent / "report.md", store_copy.parent / "report.json"):
        assert path.is_file()
    assert not (paper_copy / "generated").exists()  # validation never writes into the paper


def test_validate_leaves_the_paper_alone(store_copy, paper_copy):
    """A validation at another scale (or of a selection) cannot leave the paper with a
    claims table from one run and numbers from another: it writes no paper file."""
    generated = paper_copy / "generated"
    generated.mkdir()
    for name in ("claims.tex", "numbers.tex", "scale.tex"):
        (generated / name).write_text(f"{name} of a paper-scale build")
    for extra in ((), ("--only", "S1.cover-finite-size")):
        result = jamming("validate", *extra, store=store_copy, paper=paper_copy)
        assert result.returncode == 0, result.stderr
        for name in ("claims.tex", "numbers.tex", "scale.tex"):
            assert (generated / name).read_text() == f"{name} of a paper-scale build"
    assert (store_copy.parent / "report.json").is_file()


def test_validate_json_and_only(store_copy, paper_copy):
    for pattern in ("S1.cover*", "S1.cover-finite-size"):
        result = jamming("--store", store_copy, "validate", "--only", pattern, "--json",
                         paper=paper_copy)
        assert result.returncode == 0, result.stderr
        entries = {e["id"]: e for e in json.loads(result.stdout)}
        entry = entries["S1.cover-finite-size"]
        assert entry["passed"] is True and entry["gating"] is True
        assert {"predicted", "measured", "tolerance"} <= entry.keys()


def test_validate_fails_with_exit_1_on_data_that_contradict_the_theory(store_copy, paper_copy):
    with sqlite3.connect(store_copy) as conn:  # every instance reported separable
        conn.execute("UPDATE records SET scalars = json_set(scalars, '$.n_separable', "
                     "json_extract(scalars, '$.trials')) WHERE sweep = 'cover-separability'")
    result = jamming("validate", "--only", "S1.cover-finite-size", store=store_copy,
                     paper=paper_copy)
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "claims: 0 passed, 1 failed" in result.stdout


def test_sweep_runs_resumes_and_uses_dask(tmp_path):
    store = tmp_path / "s.sqlite"
    first = jamming("sweep", "cover-separability", "--scale", "quick", "--workers", "2",
                    store=store)
    assert first.returncode == 0, first.stderr
    assert "24 points (0 cached, 24 computed, 0 failed)" in first.stdout
    again = jamming("sweep", "cover-separability", "--scale", "quick", store=store)
    assert "24 points (24 cached, 0 computed, 0 failed)" in again.stdout


def test_figures_write_pdfs_and_generated_tex(store_copy, paper_copy):
    result = jamming("figures", "--scale", "quick", store=store_copy, paper=paper_copy)
    assert result.returncode == 0, result.stderr
    assert (paper_copy / "figures" / "S1-cover-finite-size.pdf").stat().st_size > 1000
    for name in ("claims.tex", "eq-cover.tex", "scale.tex", "numbers.tex"):
        assert (paper_copy / "generated" / name).is_file()
    assert "quick" in (paper_copy / "generated" / "scale.tex").read_text()
    # the prose's numbers come from the store: the measured value of every claim is defined
    numbers = (paper_copy / "generated" / "numbers.tex").read_text()
    assert r"\jmset{S1.cover-finite-size}{measured}{" in numbers


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")
def test_paper_builds_the_pdf(store_copy, paper_copy):
    result = jamming("paper", "--scale", "quick", store=store_copy, paper=paper_copy)
    assert result.returncode == 0, result.stderr + result.stdout
    assert (paper_copy / "main.pdf").stat().st_size > 10_000
    # a clean build: no undefined reference, citation or generated number, no float too large
    assert "Warning" not in (paper_copy / "main.log").read_text()
    # the sentences of the other verdicts compile too: every claim's verdict flipped
    from jamming.compare.paper import build_pdf

    numbers = paper_copy / "generated" / "numbers.tex"
    flipped = re.sub(r"\{passed\}\{([01])\}", lambda m: f"{{passed}}{{{1 - int(m[1])}}}",
                     numbers.read_text())
    assert flipped != numbers.read_text()
    numbers.write_text(flipped)
    build_pdf(paper_copy)  # raises on any LaTeX warning, an undefined number included


def test_paper_without_latexmk_says_how_to_install_it(store_copy, paper_copy, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = jamming("paper", "--scale", "quick", store=store_copy, paper=paper_copy,
                     env={"PATH": str(empty)})
    assert_usage_error(result, "latexmk is not installed")
    assert "apt-get install -y latexmk" in result.stderr
    assert not (paper_copy / "figures").exists()  # checked before any figure is drawn


@pytest.mark.parametrize("args, fragment", [
    (["validate", "--only", "S9.nothing"], "no claim matches 'S9.nothing'"),
    (["validate", "--scale", "huge"], "invalid choice: 'huge'"),
    (["validate", "--workers", "-1"], "must be a positive integer; got -1"),
    (["validate", "--workers", "0"], "must be a positive integer; got 0"),
    (["validate", "--workers", "two"], "must be a positive integer; got 'two'"),
    (["validate", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "not allowed with"),
    (["validate", "--scheduler", "tcp://127.0.0.1:9"], "no Dask scheduler at tcp://127.0.0.1:9: "),
    (["validate", "--device", "tpu"], "invalid choice: 'tpu'"),
    (["sweep", "no-such-sweep", "--scale", "quick"], "unknown sweep 'no-such-sweep'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "required"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment, store_copy, paper_copy):
    assert_usage_error(jamming(*args, store=store_copy, paper=paper_copy), fragment)


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_text("hello")
    assert_usage_error(jamming("--store", bogus, "list"), "not a jamming store")
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE other (x)")
    assert_usage_error(jamming("validate", store=foreign), "not a jamming store")


def test_cuda_without_a_gpu_is_refused(store_copy, paper_copy):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_usage_error(jamming("validate", "--device", "cuda", store=store_copy,
                               paper=paper_copy), "no CUDA device")


def test_phic_human_and_json():
    human = jamming("phic", "--model", "random-features", "--labels", "teacher",
                    "--features-per-dim", "1", "--input-dim", "100")
    assert human.returncode == 0 and human.stdout.startswith("phi_c = 2.83")
    data = json.loads(jamming("phic", "--model", "ntk", "--loss", "quadratic-hinge",
                              "--input-dim", "20", "--width", "100", "--json").stdout)
    assert data["phi_c"] == 2.0 and data["n_eff"] == 2000 and data["n_data"] == 4000.0
    square = json.loads(jamming("phic", "--loss", "square", "--width", "30", "--json").stdout)
    assert square["phi_c"] == 1.0 and square["n_eff"] == 30
    realisable = json.loads(jamming("phic", "--labels", "teacher", "--json").stdout)
    assert realisable["phi_c"] is None and realisable["always_sat"] is True


@pytest.mark.parametrize("args, fragment", [
    (["phic", "--model", "ntk"], "--model ntk needs --input-dim and --width"),
    (["phic", "--model", "ntk", "--labels", "teacher", "--input-dim", "3", "--width", "3"],
     "open question"),
    (["phic", "--model", "random-features", "--labels", "teacher"],
     "needs --features-per-dim"),
    (["phic", "--width", "0"], "must be a positive integer"),
    (["phic", "--loss", "cross-entropy"], "invalid choice"),
])
def test_phic_bad_input(args, fragment):
    assert_usage_error(jamming(*args), fragment)
