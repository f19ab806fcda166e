"""Report writers: terminal, Markdown, JSON and LaTeX tables."""

from __future__ import annotations

import json
from types import SimpleNamespace

from jamming.compare.claims import ConfirmatorySeeds, Registration, Verdict
from jamming.compare.report import (
    ClaimResult,
    check_claims,
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
    written = write_reports(_results(), tmp_path / "results", selection="all 2 claims")
    assert {p.name for p in written} == {"report.md", "report.json"}
    data = json.loads((tmp_path / "results" / "report.json").read_text())["results"]
    assert [d["id"] for d in data] == ["S1.a_b", "S2.c"]
    for entry in data:
        assert {"id", "passed", "predicted", "measured", "tolerance"} <= entry.keys()
    assert data[0]["passed"] is True and data[1]["passed"] is False


def test_reports_say_which_claims_and_which_scale_they_cover(tmp_path):
    write_reports(_results(), tmp_path, selection="--only S1,S2")
    data = json.loads((tmp_path / "report.json").read_text())
    assert {k: data[k] for k in ("scale", "selection", "claims")} == {
        "scale": "quick", "selection": "--only S1,S2", "claims": ["S1.a_b", "S2.c"]}
    header = (tmp_path / "report.md").read_text().split("| claim |")[0]
    assert "- scale: `quick`" in header and "- selection: --only S1,S2" in header
    assert "- claims (2): `S1.a_b`, `S2.c`" in header
    assert not (tmp_path / "claims.tex").exists()


def test_latex_is_escaped():
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    table = latex_table(_results())
    assert r"\texttt{S1.a\_b}" in table and r"\textbf{FAIL}" in table
    # caption, the header on the first and on later pages, and two lines per claim
    assert table.count(r"\\") == 7
    assert table.count(r"\multicolumn{8}") == 2


def test_the_claims_table_says_what_each_number_is_and_its_unit():
    verdict = Verdict("gap exponent", -1.0, -1.448, 1.475, 3.1, True, "noise", {})
    result = ClaimResult("S3.x", "s", "paper", verdict, 0.1, True,
                         "width exponent of the gap", r"$|z|$")
    row, quantity = latex_table([result]).split(r"\endfoot")[1].splitlines()[1:3]
    assert row.split(" & ")[1:6] == [r"\ensuremath{-1}", r"\ensuremath{-1.448}", "1.475", "3.1",
                                      r"$|z|$"]
    assert r"\emph{width exponent of the gap}" in quantity


def test_markdown_lists_every_claim_with_its_justification():
    text = markdown_report(_results(), selection="all 2 claims")
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


def test_every_report_says_when_a_claim_was_registered_and_on_which_data(tmp_path):
    registration = Registration("0123abcd", "2026-12-02",
                                {"s": ConfirmatorySeeds("1", {"paper": 7})}, note="n")
    verdict = Verdict("q", 0.0, 0.0, 0.0, 1.0, True, "why", {})
    results = [ClaimResult("S1.c", "s", "paper", verdict, 0.1, registration=registration,
                           data="confirmatory"),
               ClaimResult("S1.e", "s", "paper", verdict, 0.1)]
    write_reports(results, tmp_path, selection="all")
    first, second = json.loads((tmp_path / "report.json").read_text())["results"]
    assert first["registered"]["commit"] == "0123abcd" and first["data"] == "confirmatory"
    assert first["registered"]["confirmatory"] == {"s": {"version": "1",
                                                         "root_seeds": {"paper": 7}}}
    assert second["registered"] is None and second["data"] == "exploratory"
    assert "- registered: commit `0123abcd` (2026-12-02); data: confirmatory" in (
        tmp_path / "report.md").read_text()
    rows = [line for line in latex_table(results).splitlines() if line.startswith(r"\texttt")]
    assert [row.split(" & ")[-1] for row in rows] == [r"C \\", r"E \\"]


def _fake_claim(claim_id: str, passed: bool):
    verdict = Verdict("q", 0.0, 0.0, 0.0, 1.0, passed, "why", {})
    return SimpleNamespace(id=claim_id, statement="s", gating=True, table_quantity="",
                           discrepancy_unit="", simulate=lambda scale, runner: None,
                           verdict=lambda data: verdict, registration=None,
                           data_kind=lambda scale, commits=None: "exploratory")


def test_check_claims_logs_one_line_per_claim_off_a_terminal(capsys):
    claims = [_fake_claim("S1.good", True), _fake_claim("S2.bad", False)]
    results = check_claims(claims, "quick", SimpleNamespace(progress=None))
    assert [r.verdict.passed for r in results] == [True, False]
    lines = capsys.readouterr().err.splitlines()  # stderr is captured: not a terminal
    assert [line.split(" (")[0] for line in lines] == ["claim S1.good: pass",
                                                       "claim S2.bad: fail"]
    assert all(line.endswith(" s)") for line in lines)
    check_claims(claims, "quick", SimpleNamespace(progress=False))
    assert capsys.readouterr().err == ""
