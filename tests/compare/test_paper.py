"""The paper's sources, generated numbers and LaTeX build.

The sources are checked statically (references, citations, claim ids, the words a reader of
the article could not know); the build is checked on small documents, and in full by
``tests/test_cli.py::test_paper_builds_the_pdf`` at the quick scale.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from jamming.compare.claims import Verdict, registry
from jamming.compare.paper import (
    LatexError,
    build_pdf,
    grid_numbers,
    latex_warnings,
    numbers_tex,
    theory_numbers,
)
from jamming.compare.report import ClaimResult, latex_number, latex_table

PAPER = Path(__file__).resolve().parents[2] / "paper"
README = Path(__file__).resolve().parents[2] / "README.md"
SOURCES = sorted([PAPER / "main.tex", *(PAPER / "sections").glob("*.tex")])
#: The sources without their comments.
TEXT = "\n".join(re.sub(r"(?<!\\)%.*", "", path.read_text()) for path in SOURCES)
#: Keys that numbers_tex defines for every claim (details add more).
CLAIM_KEYS = {"predicted", "measured", "discrepancy", "tolerance", "verdict", "passed",
              "seconds"}
#: numbers_tex's group "claims".
SUMMARY_KEYS = {f"{group}{suffix}" for group in ("passed", "gating", "open", "established",
                                                 "failed-gating", "passed-open", "failed-open")
                for suffix in ("", "-list")} | {"total", "failed"}


def _arguments(command: str) -> list[str]:
    """Every key of ``\\command{a,b}`` (and ``\\command[..]{..}``) in the sources."""
    keys = []
    for group in re.findall(rf"\\{command}(?:\[[^\]]*\])?{{([^}}]*)}}", TEXT):
        keys += [key.strip() for key in group.split(",")]
    return keys


def test_every_reference_has_a_label_and_every_figure_is_referenced():
    generated = set(re.findall(r"\\label\{([^}]*)\}", latex_table([])))  # the claims table
    labels = set(_arguments("label")) | generated
    references = set(_arguments("ref")) | set(_arguments("eqref"))
    assert references - labels == set()
    figures = {label for label in labels if label.startswith("fig:")}
    assert figures - references == set(), "figures that the text never refers to"


def test_every_label_is_defined_once():
    labels = _arguments("label")
    assert sorted({label for label in labels if labels.count(label) > 1}) == []


def test_every_citation_is_in_the_bibliography():
    entries = set(re.findall(r"^@\w+\{([^,]+),", (PAPER / "refs.bib").read_text(), re.M))
    cited = set(_arguments("citep")) | set(_arguments("citet")) | set(_arguments("cite"))
    assert cited and cited - entries == set()


def test_the_original_works_are_cited():
    cited = set(_arguments("citep")) | set(_arguments("citet"))
    for key in ("spigler2019jamming", "geiger2019jamming", "cover1965", "gardner1988space",
                "candes2020phase", "pennington2017nonlinear", "bietti2019inductive",
                "lee2019wide", "jacot2018neural", "woodworth2020kernel",
                "andriushchenko2023sgd", "li2019stochastic", "simsek2021geometry",
                "safran2018spurious", "saxe2014exact", "edelman1988eigenvalues"):
        assert key in cited, key


def test_every_claim_is_discussed_and_every_generated_number_names_a_claim():
    ids = set(registry())
    mentioned = set(re.findall(r"\\(?:texttt|claim)\{(S\d\.[a-z0-9-]+)\}", TEXT))
    assert ids - mentioned == set(), "claims the paper never discusses"
    grids = {scale: grid_numbers(scale) for scale in ("quick", "paper")}
    for group, key in re.findall(r"\\jm\{([^}]*)\}\{([^}]*)\}", TEXT):
        if group.startswith("grid:"):  # a simulation setting, defined at every scale
            assert all((group, key) in grid for grid in grids.values()), (group, key)
            continue
        assert group in ids | {"claims", "theory"}, group
        if group == "claims":
            assert key in SUMMARY_KEYS, key
        if group == "theory":
            assert key in theory_numbers(), key
    for claim_id in re.findall(r"\\jmifpass\{([^}]*)\}", TEXT):
        assert claim_id in ids | {"claims-gating"}, claim_id


def test_settings_of_the_simulations_are_read_from_the_grids():
    quick = grid_numbers("quick")
    assert quick["grid:hinge-gaussian", "n-eff"] == r"40\text{ and }80"
    assert quick["grid:kernel-flow", "n-eff"] == r"20,\ 30\text{ and }60"
    assert quick["grid:hinge-gaussian", "n-eff-count"] == "2"
    assert quick["grid:sgd-bounce", "n-traj"] == r"10\,000"
    assert grid_numbers("paper")["grid:sgd-bounce", "n-traj"] == r"1\,000\,000"
    assert "none" in grid_numbers("paper")["grid:kernel-monte-carlo", "b-std"]


@pytest.mark.parametrize("path", [*SOURCES, README], ids=lambda p: p.name)
def test_no_internal_names_of_the_source_documents(path):
    """The article and the README name the source documents as what they are (a research
    e-mail, a thesis, slides), never by the project's internal file names."""
    text = path.read_text()
    assert not re.search(r"\bbrief\b", text, re.I)
    assert not re.search(r"\bseeds?\s*0\d\d\b|seeds/", text, re.I)
    if path.suffix == ".tex":
        assert not re.search(r"\bseed", text, re.I)


def _result(claim_id="S1.cover-finite-size", passed=True, gating=True, details=None):
    verdict = Verdict("q", 60.0, 44.88, -15.12, 9.493, passed, "noise",
                      details or {"p_value": 0.4895, "trials": 48000, "worst case": "d=10",
                                  "by_size": [1, 2]})
    return ClaimResult(claim_id, "statement", "quick", verdict, 1.25, gating, "q", "u")


def test_numbers_define_each_claims_values_details_and_the_summary():
    text = numbers_tex([_result(), _result("S1.ntk-cover", passed=False, gating=False),
                        _result("S1.test-cusp", passed=False)])
    defined = set(re.findall(r"\\jmset\{([^}]*)\}\{([^}]*)\}", text))
    for key in CLAIM_KEYS | {"p-value", "trials", "worst-case"}:
        assert ("S1.cover-finite-size", key) in defined, key
    assert ("S1.cover-finite-size", "by-size") not in defined  # lists are not numbers
    assert {("claims", key) for key in SUMMARY_KEYS} <= defined
    assert r"\jmset{S1.cover-finite-size}{trials}{48\,000}" in text
    assert r"\jmset{claims}{failed-gating-list}{\texttt{S1.test-cusp}}" in text
    assert r"\jmset{claims}{failed-open-list}{\texttt{S1.ntk-cover}}" in text
    assert r"\jmset{S1.test-cusp}{passed}{0}" in text
    # open claims are never "established", and the gating summary fails with one claim
    assert r"\jmset{claims}{established-list}{\texttt{S1.cover-finite-size}}" in text
    assert r"\jmset{claims-gating}{passed}{0}" in text


@pytest.mark.parametrize("value, text", [
    (60, "60"), (44.88, "44.88"), (-15.12, r"\ensuremath{-15.12}"), (5_000_000, r"5\,000\,000"),
    (3.299e-12, r"\ensuremath{3.299\times10^{-12}}"), (1e-8, r"\ensuremath{10^{-8}}"),
    (0.6886, "0.6886"), (True, "yes"), (float("inf"), r"\ensuremath{\infty}"),
])
def test_latex_numbers(value, text):
    assert latex_number(value) == text


def test_warnings_of_a_latex_log_are_found():
    log = ("(./main.aux)\nLaTeX Warning: Reference `fig:x' on page 1 undefined on input "
           "line 9.\n\nPackage natbib Warning: Citation `y' on page 1 undefined on input "
           "line 10.\n\nPackage jamming Warning: No generated number S1.x / measured\n"
           "(jamming)                on input line 12.\n\nOverfull \\hbox (1.0pt too wide)\n")
    warnings = latex_warnings(log)
    assert len(warnings) == 3
    assert "fig:x" in warnings[0] and "natbib" in warnings[1]
    assert "on input line 12" in warnings[2]


needs_latexmk = pytest.mark.skipif(shutil.which("latexmk") is None,
                                   reason="latexmk is not installed")


def _document(folder: Path, body: str) -> Path:
    folder.mkdir()
    macros = re.search(r"\\makeatletter.*?\\makeatother", (PAPER / "main.tex").read_text(),
                       re.S).group(0)
    (folder / "main.tex").write_text("\\documentclass{article}\n" + macros + "\n"
                                     "\\begin{document}\n" + body + "\n\\end{document}\n")
    return folder


@needs_latexmk
def test_a_missing_generated_number_fails_the_build(tmp_path):
    folder = _document(tmp_path / "paper", r"\jmset{S1.a}{measured}{3} \jm{S1.a}{measured} "
                                           r"and \jm{S1.a}{tolerance}")
    with pytest.raises(LatexError, match="No generated number S1.a / tolerance"):
        build_pdf(folder)


@needs_latexmk
def test_an_undefined_reference_fails_the_build(tmp_path):
    folder = _document(tmp_path / "paper", r"See Fig.~\ref{fig:nowhere}.")
    with pytest.raises(LatexError, match="warning"):
        build_pdf(folder)


@needs_latexmk
def test_verdict_switch_and_numbers_build_cleanly(tmp_path):
    folder = _document(tmp_path / "paper", r"\jmset{S1.a}{passed}{0}\jmset{S1.a}{n}{5\,000}"
                                           r"\jmifpass{S1.a}{held}{failed} on \jm{S1.a}{n}.")
    assert build_pdf(folder).is_file()
