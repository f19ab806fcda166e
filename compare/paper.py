"""The paper's generated inputs (equations, numbers, scale) and the LaTeX build.

Every number that the paper's prose quotes is defined in ``generated/numbers.tex`` by
:func:`numbers_tex` (results of the claims, read from the store) and :func:`theory_numbers`
(values of the theory), and used through the macros of ``main.tex``:
``\\jm{S1.cover-finite-size}{measured}`` prints a number, ``\\jmifpass{id}{...}{...}``
chooses the sentence that matches a verdict. An undefined number prints ``??`` and makes
LaTeX warn, and :func:`build_pdf` turns every LaTeX warning into an error, so text and
results cannot drift apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from jamming.compare.report import latex_escape, latex_number, latex_table
from jamming.config import TEX_PACKAGES
from jamming.sweeps.network_jamming import INPUT_DIM, LAZY_GRIDS
from jamming.theory.capacity import (
    cover_probability_expr,
    support_vector_fraction,
    unsat_branch_series,
)
from jamming.theory.kernels import latex_recursion
from jamming.theory.phi_c import phi_c
from jamming.theory.random_matrix import edelman_hard_edge_mean
from jamming.theory.stabilization import verify_stabilization
from jamming.theory.teacher import random_features_sign_teacher_phi_c


class LatexError(RuntimeError):
    """latexmk is missing or the build failed."""


def equations() -> dict[str, str]:
    """LaTeX of the equations the code evaluates, from the same sympy expressions.

    Returns
    -------
    dict
        File stem -> LaTeX (math mode body), e.g. ``"eq-cover"``.
    """
    import sympy as sp

    expr, (n_data, n_eff, _) = cover_probability_expr()
    names = {n_data: r"N_\mathrm{data}", n_eff: r"N_\mathrm{eff}"}
    body = sp.latex(expr, symbol_names=names)
    epsilon = sp.Symbol("epsilon", positive=True)
    series = unsat_branch_series(2)

    def truncated(name):
        terms = sum(c * epsilon ** sp.Rational(k, 2) for k, c in enumerate(series[name]))
        return sp.latex(terms, order="none") + r" + O(\epsilon^{3/2})"

    relu, erf = latex_recursion("relu"), latex_recursion("erf")
    return {
        "eq-kernel-dense": relu["dense_nngp"] + r", \qquad " + relu["dense_ntk"],
        "eq-kernel-relu": relu["nngp"] + r", \\ " + relu["dot"],
        "eq-kernel-erf": erf["nngp"] + r", \\ " + erf["dot"],
        "eq-cover": rf"p(N_\mathrm{{data}}, N_\mathrm{{eff}}) = {body}",
        "eq-unsat-series": (
            r"\frac{N_\Delta}{N_\mathrm{eff}} &= " + truncated("n_delta_over_n_eff")
            + r", \\ \frac{\mathcal{L}_\mathrm{min}}{N_\mathrm{eff}} &= "
            + truncated("loss_over_n_eff")
        ),
    }


#: The properties of :func:`jamming.theory.stabilization.verify_stabilization` in LaTeX.
_PROPERTY_LATEX = {
    "P1": r"1 + \gamma(1 - z^2) > 0", "P2": r"h_\gamma(z) < b", "P3": r"\gamma z(1+z) > 1",
    "P4": r"h_\gamma(z) > a", "P5": r"h_\gamma(z) > 1 + \varepsilon",
    "P6": r"h_\gamma(z) < 1 - \varepsilon", "P7": r"\gamma z(1+z) > 2",
}


def certificate_table(stated=(1.01, 1.25), wider=(1.01, 1.26)) -> str:
    """LaTeX table of the interval-arithmetic certificate of the loss-stabilisation
    proposition on ``stated`` (per property: rectangle, boxes, certified fraction of its
    area) and the outcome of the same check on ``wider``."""
    proof, refuted = verify_stabilization(*stated), verify_stabilization(*wider)
    lines = [r"\begin{tabular}{llrr}", r"\toprule",
             r"property & $z$-interval & boxes & certified area \\", r"\midrule"]
    for name, (z_lo, z_hi) in proof.rectangles.items():
        label = name.split(":", 1)[0]
        full = (stated[1] - stated[0]) * (z_hi - z_lo)
        lines.append(rf"{label}: ${_PROPERTY_LATEX[label]}$ & "
                     rf"$[{z_lo:.6g}, {z_hi:.6g}]$ & {len(proof.boxes[name])} & "
                     rf"{proof.measure[name] / full:.12f} \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    g, z = refuted.counterexample if refuted.counterexample else (float("nan"), float("nan"))
    outcome = (rf"\par\smallskip On $\gamma\in[{wider[0]}, {wider[1]}]$: "
               rf"{refuted.failing_property.split(':')[0]} fails, counterexample "
               rf"$(\gamma, z) = ({g:.6g}, {z:.6g})$." if not refuted.holds else
               rf"\par\smallskip On $\gamma\in[{wider[0]}, {wider[1]}]$ the check also holds.")
    header = (rf"% certificate on gamma in [{stated[0]}, {stated[1]}]: holds = {proof.holds}"
              "\n")
    return header + "\n".join(lines) + "\n" + outcome


def _macro_key(name: str) -> str:
    """A detail's name as a macro key: lower case, runs of other characters as ``-``."""
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-")


def _define(group: str, key: str, text: str) -> str:
    return rf"\jmset{{{group}}}{{{key}}}{{{text}}}"


def numbers_tex(results: Sequence) -> str:
    """``\\jmset`` lines of every claim's numbers, verdict and scalar details.

    Parameters
    ----------
    results : sequence of jamming.compare.report.ClaimResult
        The checked claims (all of them, for the paper).

    Returns
    -------
    str
        For each claim id: ``predicted``, ``measured``, ``discrepancy``, ``tolerance``,
        ``verdict`` (``pass``/``fail``), ``passed`` (1/0), ``seconds`` and every scalar of
        its verdict's details under its name in lower case with ``-`` for other characters
        (``details["p_value"]`` -> ``p-value``). Group ``claims``: ``total``, ``passed``,
        ``failed``, ``failed-gating``, ``failed-open`` and the lists ``passed-list``,
        ``failed-gating-list``, ``failed-open-list`` (comma-separated ``\\texttt`` ids, or
        ``none``).
    """
    lines = [f"% generated by `jamming` at scale {results[0].scale if results else '-'}; "
             "do not edit"]
    for result in results:
        verdict = result.verdict
        values = {"predicted": verdict.predicted, "measured": verdict.measured,
                  "discrepancy": verdict.discrepancy, "tolerance": verdict.tolerance,
                  "seconds": round(result.seconds, 1)}
        lines += [_define(result.claim_id, key, latex_number(value))
                  for key, value in values.items()]
        lines.append(_define(result.claim_id, "verdict", "pass" if verdict.passed else "fail"))
        lines.append(_define(result.claim_id, "passed", "1" if verdict.passed else "0"))
        for name, value in verdict.details.items():
            if isinstance(value, (bool, int, float)):
                text = latex_number(value)
            elif isinstance(value, str):
                text = latex_escape(value)
            else:
                continue
            lines.append(_define(result.claim_id, _macro_key(name), text))
    groups = {
        "passed": [r for r in results if r.verdict.passed],
        "gating": [r for r in results if r.gating],
        "open": [r for r in results if not r.gating],
        "established": [r for r in results if r.gating and r.verdict.passed],
        "failed-gating": [r for r in results if r.blocking_failure],
        "passed-open": [r for r in results if r.verdict.passed and not r.gating],
        "failed-open": [r for r in results if not r.verdict.passed and not r.gating],
    }
    lines.append(_define("claims", "total", str(len(results))))
    lines.append(_define("claims", "failed", str(len(results) - len(groups["passed"]))))
    for name, members in groups.items():
        ids = ", ".join(rf"\texttt{{{latex_escape(r.claim_id)}}}" for r in members)
        lines.append(_define("claims", name, str(len(members))))
        lines.append(_define("claims", f"{name}-list", ids or "none"))
    # \jmifpass{claims-gating}{...}{...}: whether every established claim passed
    lines.append(_define("claims-gating", "passed", "0" if groups["failed-gating"] else "1"))
    return "\n".join(lines) + "\n"


def grid_numbers(scale: str) -> Mapping[tuple[str, str], str]:
    r"""The simulation settings of every sweep at ``scale``, for the prose.

    Returns
    -------
    dict
        ``("grid:<sweep>", key)`` -> LaTeX, for every parameter of the sweep's points that is
        a scalar or a list of scalars (whose elements count as its values; the seed
        excluded), its name in lower case with ``-`` for other characters:
        ``key`` lists its distinct values (``5,\ 10\text{ and }20``, which reads "5, 10 and
        20" in text and in math mode), ``key-count`` counts them,
        ``key-min`` and ``key-max`` bound them; and ``points``, the number of points.
    """
    from jamming.sweeps.catalog import SWEEPS

    numbers = {}
    for name, spec in SWEEPS.items():
        points = spec.points(scale)
        group = f"grid:{name}"
        numbers[group, "points"] = latex_number(len(points))
        values: dict[str, set] = {}
        for point in points:
            for key, value in point.items():
                items = value if isinstance(value, (list, tuple)) else [value]  # e.g. steps
                for item in ("none" if v is None else v for v in items):
                    if key != "seed" and isinstance(item, (bool, int, float, str)):
                        values.setdefault(key, set()).add(item)
        for key, distinct in values.items():
            ordered = sorted(distinct, key=lambda v: (isinstance(v, str), v))
            texts = [latex_escape(v) if isinstance(v, str) else latex_number(v)
                     for v in ordered]
            # spaced alike in text and in math mode
            listed = (texts[0] if len(texts) == 1
                      else r",\ ".join(texts[:-1]) + r"\text{ and }" + texts[-1])
            base = _macro_key(key)
            numbers[group, base] = listed
            numbers[group, f"{base}-count"] = str(len(texts))
            numbers[group, f"{base}-min"], numbers[group, f"{base}-max"] = texts[0], texts[-1]
    return numbers


def theory_numbers() -> Mapping[str, str]:
    """Values of the theory that the prose quotes, as formatted LaTeX, by macro key.

    ``edelman-mean`` (:func:`jamming.theory.random_matrix.edelman_hard_edge_mean`),
    ``teacher-phic-0.5``, ``teacher-phic-1``, ``teacher-phic-2`` (ReLU random features,
    :func:`jamming.theory.teacher.random_features_sign_teacher_phi_c`), ``sv-fraction-0.5``,
    ``sv-fraction-1`` (:func:`jamming.theory.capacity.support_vector_fraction`),
    ``lazy-rank`` and ``lazy-n-data`` (:func:`jamming.theory.phi_c.phi_c` of the NTK features of
    the ``lazy-limit`` networks: rank J(w_0) and 2 rank J(w_0)).
    """
    numbers = {"edelman-mean": f"{edelman_hard_edge_mean():.4f}"}
    for psi in (0.5, 1.0, 2.0):
        numbers[f"teacher-phic-{psi:g}"] = f"{random_features_sign_teacher_phi_c(psi):.3f}"
    for alpha in (0.5, 1.0):
        numbers[f"sv-fraction-{alpha:g}"] = f"{support_vector_fraction(alpha):.2f}"
    lazy = phi_c("ntk", "quadratic-hinge", "random", activation="tanh", input_dim=INPUT_DIM,
                 width=LAZY_GRIDS["paper"]["width"], depth=1)
    numbers["lazy-rank"], numbers["lazy-n-data"] = str(lazy.n_eff), f"{lazy.n_data:g}"
    return numbers


def write_generated(folder: Path, scale: str, results: Sequence) -> list[Path]:
    """Write every generated input of the paper, from one check of all claims at ``scale``.

    The equation files, the S4 certificate table, ``scale.tex`` (the ``\\jammingscale``
    macro), ``claims.tex`` (:func:`jamming.compare.report.latex_table`) and ``numbers.tex``
    (theory values, the grids of ``scale`` and the claims' numbers; see
    :func:`numbers_tex`), all at once, so that table, prose and scale agree.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {folder / f"{stem}.tex": text + "\n" for stem, text in equations().items()}
    files[folder / "s4-certificate.tex"] = certificate_table() + "\n"
    files[folder / "scale.tex"] = rf"\newcommand{{\jammingscale}}{{{scale}}}" + "\n"
    files[folder / "claims.tex"] = latex_table(results)
    settings = [*(("theory", key, text) for key, text in theory_numbers().items()),
                *((group, key, text) for (group, key), text in grid_numbers(scale).items())]
    files[folder / "numbers.tex"] = ("\n".join(_define(*entry) for entry in settings) + "\n"
                                     + numbers_tex(list(results)))
    for path, text in files.items():
        path.write_text(text)
    return list(files)


def find_latexmk() -> str:
    """The path of ``latexmk``, checked before any work that a failing build would waste.

    Raises
    ------
    LatexError
        If latexmk is not installed; the message says how to install it.
    """
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise LatexError(
            "latexmk is not installed; on Debian/Ubuntu run: "
            f"sudo apt-get install -y {TEX_PACKAGES}"
        )
    return latexmk


#: Lines of a LaTeX log that report a warning (undefined reference, citation or generated
#: number, font substitution, hyperref string...): :func:`build_pdf` treats them as errors.
_WARNING = re.compile(r"^(LaTeX|Package \S+|Class \S+|pdfTeX) [Ww]arning")


def latex_warnings(log: str) -> list[str]:
    """The warnings of a LaTeX log, one string each (continuation lines joined).

    Parameters
    ----------
    log : str
        The text of ``main.log``.
    """
    warnings, lines = [], log.splitlines()
    for number, line in enumerate(lines):
        if _WARNING.match(line):
            text = [line.strip()]
            for follow in lines[number + 1:number + 4]:
                if not follow.startswith("(") or not follow.strip():
                    break
                text.append(follow.strip())
            warnings.append(" ".join(text))
    return warnings


def build_pdf(paper_folder: Path, *, latexmk: str | None = None) -> Path:
    """Run ``latexmk -pdf`` on ``main.tex`` in ``paper_folder`` and return the PDF's path.

    A build that ends with a LaTeX warning in its log (an undefined reference, citation or
    generated number among them) is an error: text, citations and results must agree.

    Raises
    ------
    LatexError
        If latexmk is not installed (the message says how to install it), the build fails
        (the message quotes the first LaTeX error) or its log has warnings (the message
        quotes the first and counts them).
    """
    latexmk = latexmk or find_latexmk()
    if not (paper_folder / "main.tex").is_file():
        raise LatexError(f"no main.tex in {paper_folder}")
    result = subprocess.run(
        [latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
        cwd=paper_folder, capture_output=True, text=True,
    )
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
        first = errors[0] if errors else f"latexmk exited with {result.returncode}"
        raise LatexError(f"LaTeX build failed in {paper_folder}: {first} (see main.log)")
    log = (paper_folder / "main.log").read_text(errors="replace")
    warnings = latex_warnings(log)
    if warnings:
        raise LatexError(f"LaTeX build in {paper_folder} has {len(warnings)} warning(s), "
                         f"the first: {warnings[0]} (see main.log)")
    return paper_folder / "main.pdf"
