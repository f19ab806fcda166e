"""Run claims and write their verdicts: terminal table, Markdown, JSON and a LaTeX table."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from jamming.compare.claims import Claim, Registration, Verdict
from jamming.compare.figures import save
from jamming.sweeps.runner import SweepRunner, progress_line, progress_style

COLUMNS = ("claim", "predicted", "measured", "discrepancy", "tolerance", "verdict")


@dataclass(frozen=True)
class ClaimResult:
    """A claim checked at one scale: its verdict and how long simulation and check took."""

    claim_id: str
    statement: str
    scale: str
    verdict: Verdict
    seconds: float
    gating: bool = True
    #: The claim's :attr:`~jamming.compare.claims.Claim.table_quantity` and
    #: :attr:`~jamming.compare.claims.Claim.discrepancy_unit` (LaTeX).
    table_quantity: str = ""
    discrepancy_unit: str = ""
    #: The claim's pre-registration (``None`` for a claim outside the ledger) and the kind
    #: of data the verdict rests on at this scale
    #: (:meth:`~jamming.compare.claims.Claim.data_kind`).
    registration: Registration | None = None
    data: str = "exploratory"

    @property
    def blocking_failure(self) -> bool:
        """A failed established claim (what makes ``jamming validate`` exit 1)."""
        return self.gating and not self.verdict.passed

    def as_json(self) -> dict:
        """Flat JSON object: ``id``, ``passed``, ``predicted``, ``measured``, ``tolerance``...,
        ``registered`` (:meth:`~jamming.compare.claims.Registration.as_json`: at least
        ``commit`` and ``date``; ``None`` if unregistered) and ``data`` (``"confirmatory"`` or
        ``"exploratory"``)."""
        verdict = asdict(self.verdict)
        registered = self.registration.as_json() if self.registration else None
        return {"id": self.claim_id, "scale": self.scale, "statement": self.statement,
                "gating": self.gating, "seconds": round(self.seconds, 3),
                "registered": registered, "data": self.data, **verdict}


def check_claims(claims: Iterable[Claim], scale: str, runner: SweepRunner, *,
                 figure_folder: Path | None = None) -> list[ClaimResult]:
    """Simulate (through the store) and judge each claim; optionally save its figure.

    Progress follows ``runner.progress`` (see :func:`~jamming.sweeps.runner.progress_style`):
    a tqdm bar over the claims on a terminal, else one line per finished claim on stderr,
    such as ``claim S1.cover-finite-size: pass (1.2 s)``.

    Parameters
    ----------
    claims : iterable of Claim
    scale : {"quick", "paper", "full"}
    runner : SweepRunner
    figure_folder : pathlib.Path, optional
        Where to write each claim's PDF figure; no figures when ``None``.
    """
    from tqdm.auto import tqdm

    style = progress_style(runner.progress)
    results = []
    with tqdm(list(claims), desc="claims", unit="claim", disable=style != "bar") as bar:
        for claim in bar:
            bar.set_postfix_str(claim.id, refresh=False)
            start = time.perf_counter()
            first = len(getattr(runner, "summaries", []))
            data = claim.simulate(scale, runner)
            verdict = claim.verdict(data)
            if figure_folder is not None:
                save(claim.figure(data), figure_folder, claim.id)
            result = ClaimResult(claim.id, claim.statement, scale, verdict,
                                 time.perf_counter() - start, claim.gating,
                                 claim.table_quantity, claim.discrepancy_unit,
                                 claim.registration,
                                 claim.data_kind(scale, _record_commits(runner, first)))
            results.append(result)
            if style == "lines":
                progress_line(f"claim {result.claim_id}: {_verdict_word(result).lower()} "
                              f"({result.seconds:.1f} s)")
    return results


def _record_commits(runner, first: int) -> dict[str, set] | None:
    """The ``git_commit`` of the records each sweep returned since ``runner.summaries[first]``
    (``None`` for a runner that keeps no summaries or no store)."""
    summaries, store = getattr(runner, "summaries", None), getattr(runner, "store", None)
    if summaries is None or store is None:
        return None
    commits: dict[str, set] = {}
    for summary in summaries[first:]:
        commits.setdefault(summary.name, set()).update(
            record.meta.get("git_commit") for record in store.records(summary.name,
                                                                      summary.keys))
    return commits


def _number(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _verdict_word(result: ClaimResult) -> str:
    word = "PASS" if result.verdict.passed else "FAIL"
    return word if result.gating else f"{word} (open)"


def _rows(results: Sequence[ClaimResult]) -> list[tuple[str, ...]]:
    return [
        (r.claim_id, _number(r.verdict.predicted), _number(r.verdict.measured),
         _number(r.verdict.discrepancy), _number(r.verdict.tolerance), _verdict_word(r))
        for r in results
    ]


def text_table(results: Sequence[ClaimResult]) -> str:
    """Aligned plain-text table for the terminal, with a closing count line."""
    rows = [COLUMNS, *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    passed = sum(r.verdict.passed for r in results)
    open_failed = sum(not r.verdict.passed and not r.gating for r in results)
    lines.append(f"claims: {passed} passed, {len(results) - passed} failed"
                 + (f" ({open_failed} of them open, not gating)" if open_failed else ""))
    return "\n".join(lines)


def markdown_report(results: Sequence[ClaimResult], *, selection: str) -> str:
    """Markdown report: what it covers, the table of verdicts, each claim's justification.

    Parameters
    ----------
    results : sequence of ClaimResult
        Claims checked at one scale.
    selection : str
        How the claims were chosen, e.g. ``"--only S1"`` or ``"all 27 claims"``.
    """
    scale = results[0].scale if results else "-"
    ids = ", ".join(f"`{r.claim_id}`" for r in results) or "none"
    lines = [f"# Claims at scale `{scale}`", "",
             f"- scale: `{scale}`", f"- selection: {selection}",
             f"- claims ({len(results)}): {ids}", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    for r in results:
        registered = (f"commit `{r.registration.commit[:10]}` ({r.registration.date})"
                      if r.registration else "not registered")
        lines += ["", f"## {r.claim_id}", "", r.statement, "",
                  f"- registered: {registered}; data: {r.data}",
                  f"- quantity: {r.verdict.quantity}",
                  f"- tolerance: {r.verdict.justification}",
                  f"- details: `{json.dumps(r.verdict.details)}`",
                  f"- time: {r.seconds:.1f} s"]
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


def latex_number(value) -> str:
    """LaTeX of a number for running text or math.

    Integers (and integral floats of magnitude below :math:`10^{15}`) are printed exactly,
    with thin spaces between groups of three digits from 10 000 on; other floats to four
    significant digits, in scientific notation (:math:`a\\times10^{k}`) outside
    :math:`[10^{-3}, 10^{5})`; negative numbers with a minus sign in math mode; booleans as
    ``yes``/``no``; non-finite values as ``NaN`` or :math:`\\pm\\infty`.
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else rf"\ensuremath{{{'-' if value < 0 else ''}\infty}}"
    magnitude = abs(value)
    if isinstance(value, int) or (float(value).is_integer() and magnitude < 1e15):
        text = f"{int(magnitude):,}".replace(",", r"\," if magnitude >= 10_000 else "")
    elif magnitude != 0 and not 1e-3 <= magnitude < 1e5:
        mantissa, exponent = f"{magnitude:.3e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = ("" if mantissa == "1" else mantissa + r"\times") + f"10^{{{int(exponent)}}}"
    else:
        text = f"{magnitude:.4g}"
    return rf"\ensuremath{{{'-' if value < 0 else ''}{text}}}" if (
        value < 0 or "^" in text) else text


def latex_table(results: Sequence[ClaimResult]) -> str:
    """A ``longtable`` (booktabs) of the verdicts, for ``\\input`` in the paper.

    The caption is the macro ``\\claimscaption`` (defined by the paper) and the label
    ``tab:claims``; the table breaks across pages.

    Each claim takes two lines: its id, *predicted* and *measured*, the discrepancy and the
    tolerance, the unit these two are measured in, the verdict and the kind of data (``C``
    confirmatory, ``E`` exploratory); below them, indented, the quantity that *predicted* and
    *measured* are.
    """
    scale = results[0].scale if results else "-"
    header = (r"claim \emph{(quantity)} & predicted & measured & discrepancy & tolerance & in & "
              r"verdict & data \\")
    lines = [
        f"% generated by `jamming` at scale {scale}; do not edit",
        r"\begin{longtable}{@{}lrrrrllc@{}}",
        r"\caption{\claimscaption}\label{tab:claims} \\",
        r"\toprule", header, r"\midrule", r"\endfirsthead",
        r"\toprule", header, r"\midrule", r"\endhead",
        r"\bottomrule", r"\endfoot",
    ]
    for result, row in zip(results, _rows(results), strict=True):
        word = {"PASS": r"\textbf{pass}", "FAIL": r"\textbf{FAIL}"}.get(
            row[5], latex_escape(row[5].lower()))
        verdict = result.verdict
        numbers = [latex_number(value) for value in (verdict.predicted, verdict.measured,
                                                     verdict.discrepancy, verdict.tolerance)]
        cells = [rf"\texttt{{{latex_escape(row[0])}}}", *numbers, result.discrepancy_unit, word,
                 result.data[0].upper()]
        lines.append(" & ".join(cells) + r" \\")
        lines.append(rf"\multicolumn{{8}}{{@{{\quad}}l@{{}}}}{{\emph{{{result.table_quantity}}}}}"
                     r" \\[2pt]")
    lines += [r"\end{longtable}", ""]
    return "\n".join(lines)


def write_reports(results: Sequence[ClaimResult], report_folder: Path, *,
                  selection: str) -> list[Path]:
    """Write ``report.md`` and ``report.json`` into ``report_folder``.

    The paper's generated files (claims table, numbers) are written together, by
    :func:`jamming.compare.paper.write_generated`, never by a validation alone: a paper
    whose table and prose came from different runs or scales cannot arise.

    ``report.json`` is an object ``{"scale", "selection", "claims", "results"}``: the scale,
    how the claims were chosen, their ids, and one :meth:`ClaimResult.as_json` object each.

    Parameters
    ----------
    results : sequence of ClaimResult
        Claims checked at one scale.
    report_folder : pathlib.Path
        Where the Markdown and JSON reports go (the CLI's ``--report-dir``, by default the
        store's folder); created if missing.
    selection : str
        How the claims were chosen, e.g. ``"--only S1"`` or ``"all 27 claims"``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    report = {"scale": results[0].scale if results else None, "selection": selection,
              "claims": [r.claim_id for r in results],
              "results": [r.as_json() for r in results]}
    report_folder.mkdir(parents=True, exist_ok=True)
    files = {
        report_folder / "report.md": markdown_report(results, selection=selection),
        report_folder / "report.json": json.dumps(report, indent=2) + "\n",
    }
    for path, text in files.items():
        path.write_text(text)
    return list(files)
