"""The paper's generated inputs (equations, scale) and the LaTeX build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from jamming.config import TEX_PACKAGES
from jamming.theory.capacity import cover_probability_expr, unsat_branch_series
from jamming.theory.kernels import latex_recursion
from jamming.theory.stabilization import verify_stabilization


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


def write_generated(folder: Path, scale: str) -> list[Path]:
    """Write the equation files, the S4 certificate table and ``scale.tex`` (the
    ``\\jammingscale`` macro)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {folder / f"{stem}.tex": text + "\n" for stem, text in equations().items()}
    files[folder / "s4-certificate.tex"] = certificate_table() + "\n"
    files[folder / "scale.tex"] = rf"\newcommand{{\jammingscale}}{{{scale}}}" + "\n"
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


def build_pdf(paper_folder: Path, *, latexmk: str | None = None) -> Path:
    """Run ``latexmk -pdf`` on ``main.tex`` in ``paper_folder`` and return the PDF's path.

    Raises
    ------
    LatexError
        If latexmk is not installed (the message says how to install it) or the build
        fails (the message quotes the first LaTeX error).
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
    return paper_folder / "main.pdf"
