r"""Random-matrix laws for Gram matrices of random features.

For :math:`\Phi \in \mathbb{R}^{N_\mathrm{data}\times N_\mathrm{eff}}` with i.i.d.
:math:`N(0,1)` entries and :math:`\phi = N_\mathrm{data}/N_\mathrm{eff}`, the non-zero
eigenvalues of :math:`K/N_\mathrm{eff} = \Phi\Phi^\top/N_\mathrm{eff}` (equivalently of
:math:`\Phi^\top\Phi/N_\mathrm{eff}`) follow the Marchenko–Pastur law with edges
:math:`(1\pm\sqrt\phi)^2`; there are :math:`\min(N_\mathrm{data}, N_\mathrm{eff})` of them.
The smallest non-zero eigenvalue therefore tends to :math:`(1-\sqrt\phi)^2`, which closes at
the interpolation threshold :math:`\phi = 1` of the square loss: below it
(:math:`\phi<1`) the Gram matrix is invertible and the data are interpolated; above it the
rank is :math:`N_\mathrm{eff} < N_\mathrm{data}`. At :math:`\phi = 1` (square
:math:`N\times N` matrices) the edge is hard: :math:`N\sigma_\mathrm{min}^2 = N^2
\lambda_\mathrm{min}` has Edelman's limit law
:math:`P(N^2\lambda_\mathrm{min}\le x) = 1 - e^{-x/2-\sqrt{x}}`.

References
----------
V. A. Marchenko, L. A. Pastur, Math. USSR Sbornik 1, 457 (1967).
A. Edelman, "Eigenvalues and condition numbers of random matrices", SIAM J. Matrix Anal.
Appl. 9, 543 (1988).
"""

from __future__ import annotations

import math

from scipy.integrate import quad


def marchenko_pastur_edges(phi: float) -> tuple[float, float]:
    """Edges :math:`(1\\mp\\sqrt\\phi)^2` of the non-zero spectrum of ``K / N_eff``."""
    phi = float(phi)
    if not (math.isfinite(phi) and phi > 0):
        raise ValueError(f"phi must be a finite number > 0; got {phi}")
    root = math.sqrt(phi)
    return (1.0 - root) ** 2, (1.0 + root) ** 2


def smallest_nonzero_eigenvalue(phi: float) -> float:
    """Limit of the smallest non-zero eigenvalue of ``K / N_eff``: :math:`(1-\\sqrt\\phi)^2`."""
    return marchenko_pastur_edges(phi)[0]


def edelman_hard_edge_mean() -> float:
    """:math:`\\lim_N E[N^2\\lambda_\\mathrm{min}(\\Phi^\\top\\Phi/N)]` for square Gaussian Phi.

    The mean of Edelman's law, :math:`\\int_0^\\infty e^{-x/2-\\sqrt{x}}\\,dx`.
    """
    value, _ = quad(lambda x: math.exp(-x / 2.0 - math.sqrt(x)), 0.0, math.inf,
                    epsabs=1e-14, epsrel=1e-13)
    return value
