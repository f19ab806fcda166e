"""Report writers: terminal, Markdown, JSON and LaTeX tables."""

from __future__ import annotations

import json

from jamming.compare.claims import Verdict
from jamming.compare.report import (
    ClaimResult,
    latex_escape,
    latex_table,
    markdown_report,
    text_table,
    write_reports,
)


def _results():
    good = Verdict("chi2", 18.0, 17.5, -0.5, 13.4, True, "sampling noise", {"p_value": 0.4})
    bad = Verdict("gap", 0.0, 0.25, 0.25, 0.01, False, "finite size", {})
    return [ClaimResult("S1.a_b", "first & best", "quick", good, 1.5),
            ClaimResult("S2.c", "second", "quick", bad, 0.1)]


def test_text_table_counts_and_marks_verdicts():
    text = text_table(_results())
    assert "PASS" in text and "FAIL" in text
    assert text.splitlines()[-1] == "claims: 1 passed, 1 failed"


def test_json_has_the_fields_outside_checks_rely_on(tmp_path):
    written = write_reports(_results(), tmp_path / "results", tmp_path / "generated")
    assert {p.name for p in written} == {"report.md", "report.json", "claims.tex"}
    data = json.loads((tmp_path / "results" / "report.json").read_text())
    assert [d["id"] for d in data] == ["S1.a_b", "S2.c"]
    for entry in data:
        assert {"id", "passed", "predicted", "measured", "tolerance"} <= entry.keys()
    assert data[0]["passed"] is True and data[1]["passed"] is False


def test_latex_is_escaped():
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    table = latex_table(_results())
    assert r"\texttt{S1.a\_b}" in table and r"\textbf{FAIL}" in table
    assert table.count(r"\\") == 3  # header and two rows


def test_markdown_lists_every_claim_with_its_justification():
    text = markdown_report(_results())
    assert "| S1.a_b |" in text and "## S2.c" in text and "finite size" in text


def test_open_claims_are_reported_but_do_not_block():
    verdict = Verdict("q", 0.0, 5.0, 5.0, 3.0, False, "why", {})
    open_result = ClaimResult("S1.open", "hypothesis", "quick", verdict, 0.1, gating=False)
    closed = ClaimResult("S1.closed", "claim", "quick", verdict, 0.1, gating=True)
    assert not open_result.blocking_failure and closed.blocking_failure
    text = text_table([open_result])
    assert "FAIL (open)" in text and "(1 of them open, not gating)" in text
    assert "fail (open)" in latex_table([open_result])
    assert open_result.as_json()["gating"] is False
