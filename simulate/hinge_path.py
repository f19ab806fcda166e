r"""Exact quadratic-hinge minimisers along a path of nested data sets (host, one problem).

For a path of nested prefixes :math:`\phi_1, \dots, \phi_n` (:math:`n` in ``sizes``) of one
data set, the vanishing-ridge minimiser of :math:`L_n(w) = \frac12\sum_{\mu \le n}(1 - y_\mu
w\cdot\phi_\mu)_+^2` at every :math:`n`, with the certificates of
:func:`jamming.simulate.hinge.solve_quadratic_hinge` (notation and algorithm: that module's
documentation).

Algorithm
---------
The finite Newton method with exact line search of the S1 solver (Keerthi & DeCoste 2005),
on one problem at a time on the host (numpy, LAPACK, numba), with three changes that make a
path of many prefixes cheap:

- *Largest prefix first.* The prefixes are solved from the largest down, each started
  from the minimiser of the previous (larger) one: its margins on the smaller prefix are
  known, and its active set loses only the points removed. Separability is inherited by
  subsets, so once a prefix is SAT its separating :math:`w` (margins :math:`\ge 1`) is a
  minimiser of every smaller prefix as it stands: those take no Newton step, and the SAT
  side of the path costs one solve, that of the largest SAT prefix.
- *Carried Gram factor.* For :math:`|I| \ge N_\mathrm{eff}` the Newton matrix
  :math:`H_I = \Phi_I^\top\Phi_I` is not refactorised at every step: a float64 Cholesky
  factor of :math:`H_B` for a *base* set :math:`B` is kept from step to step and from prefix
  to prefix, and the points in which :math:`I` and :math:`B` differ (entering: update,
  leaving: downdate) enter as a low-rank correction :math:`H_I = H_B + W^\top S W`
  (:math:`W` their rows, :math:`S = \pm 1`), solved by the Sherman-Morrison-Woodbury
  formula with an LU factor of the capacitance matrix :math:`S + WH_B^{-1}W^\top = S +
  U^\top U`, :math:`U = L^{-1}W^\top` (:math:`H_B = LL^\top`). The columns
  :math:`L^{-1}\phi_\mu` are kept per point (one triangular solve when a point first
  changes), so a step with :math:`k` changed points costs two triangular solves and
  :math:`O(N_\mathrm{eff}k^2 + k^3)`. The base is refactorised
  (LAPACK ``dpotrf``, from a float64 Gram matrix kept for the base and brought up to date
  by ``dsyrk`` rank-k changes) when more than ``WOODBURY_LIMIT`` points differ, and when the
  capacitance matrix is numerically singular (an LU pivot below ``WOODBURY_PIVOT`` times
  the largest or 1: a downdate that would leave the matrix near-singular). A
  refactorised factor whose pivots flag a numerically singular matrix (:math:`\min
  R_{jj}^2 \le 10^3 N_\mathrm{eff}\,\epsilon\max_j H_{jj}`, the S1 solver's test) is
  refused.
- *Carried kernel factor.* For :math:`|I| < N_\mathrm{eff}` (the minimum-norm step) the
  Cholesky factor of the kernel matrix :math:`K_I = Z_IZ_I^\top` is moved by rank-one
  changes: a point enters as a new last row and column (a triangular solve), a point leaves
  by deleting its row and column and a Givens-rotation update of the trailing block
  (Gill, Golub, Murray & Saunders 1974). It is recomputed when more than
  ``KERNEL_UPDATE_LIMIT`` points change at once, when an appended row is not numerically
  positive definite, and when its pivots fail the test above.

(Rank-one Givens updates and LINPACK ``dchdd`` downdates of the :math:`N_\mathrm{eff}
\times N_\mathrm{eff}` Gram factor, and scipy's ``qr_insert``, were measured and not
adopted: ``docs/notes/hinge-solver.md``.)

The Newton point that reproduces its active set is refined against residuals computed from
:math:`\Phi` in float64 until they reach their rounding scale (then once more), as the
mixed-precision S1 solver does; a corrected factor that does not get there within
``MAX_REFINEMENT`` steps is refactorised from :math:`\Phi` and the refinement repeated.
Where the path cannot continue by itself (a factor refactorised from :math:`\Phi` is still
numerically singular, as for rank-deficient features; a kernel Newton point that reproduces
its active set without separating, only for degenerate data; a line search that finds no
descent) the prefix is finished by
:func:`~jamming.simulate.hinge.solve_quadratic_hinge` from the current iterate, so every
prefix gets the S1 solver's answer or says it has none.

Certificates
------------
Every prefix's certificate is computed afresh from its own rows of :math:`\Phi` and
:math:`y` with the definitions of :func:`~jamming.simulate.hinge.solve_quadratic_hinge`:
SAT means a margin :math:`\min_\mu y_\mu w\cdot\phi_\mu \ge 1` (loss exactly 0); otherwise
the relative KKT residual, and ``converged`` is True only for a certified result. The
carried factors only choose the iterates; they never enter a certificate.

Timings, the profile and the designs not adopted are in ``benchmarks/README.md``
(``hinge_path.py``) and ``docs/notes/hinge-solver.md``.

References
----------
S. S. Keerthi, D. DeCoste, J. Mach. Learn. Res. 6, 341-361 (2005). P. E. Gill, G. H. Golub,
W. Murray, M. A. Saunders, "Methods for modifying matrix factorizations", Math. Comp. 28,
505-535 (1974). W. W. Hager, "Updating the inverse of a matrix", SIAM Rev. 31, 221-239
(1989) (the Sherman-Morrison-Woodbury formula). N. J. Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., SIAM (2002), ch. 12 (iterative refinement).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from itertools import pairwise
from numbers import Integral

import numpy as np

from jamming.simulate.hinge import (
    KKT_TOLERANCE,
    SAT_SCALE_SLACK,
    HingeSolution,
    check_inputs,
    cpu_thread_limit,
    solve_quadratic_hinge,
)

#: Largest number of points by which the active set may differ from the base set of the
#: Gram factor; beyond it the factor is recomputed for the active set.
WOODBURY_LIMIT = 64
#: The capacitance matrix of a Woodbury correction (of order 1: its signs S = +-1 plus a
#: positive semi-definite part) is refused, and the factor recomputed, if an LU pivot is
#: below ``WOODBURY_PIVOT`` times the largest pivot or 1: a downdate that leaves the matrix
#: numerically singular (removing a point of leverage 1 gives the pivot 1 - 1 = 0).
WOODBURY_PIVOT = 1e-10
#: Largest number of points entering or leaving the active set for which the kernel factor
#: is moved by rank-one changes (at ``|I| = 250`` a point joins at about 1/30 and leaves at
#: about 1/10 of the cost of recomputing the factor).
KERNEL_UPDATE_LIMIT = 16
#: Largest number of refinement steps of a Newton point before its factor is recomputed.
MAX_REFINEMENT = 10

_EPS64 = float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------------------------
# numba kernels on upper-triangular Cholesky factors R (C order) of a matrix M = R^T R


@functools.cache
def _kernels():
    """Compile the numba kernels once (numba is imported here, not at module import)."""
    import numba as nb

    @nb.njit(cache=True)
    def solve(r, k, b):
        """``M^{-1} b`` for the factor ``R = r[:k, :k]`` (``r`` C-contiguous)."""
        z = b.copy()
        for i in range(k):  # R^T z = b, by rows of R
            z[i] /= r[i, i]
            for j in range(i + 1, k):
                z[j] -= r[i, j] * z[i]
        for i in range(k - 1, -1, -1):  # R x = z
            z[i] = (z[i] - np.dot(r[i, i + 1:k], z[i + 1:k])) / r[i, i]
        return z

    @nb.njit(cache=True)
    def append(r, k, column, corner):
        """Grow the factor of ``M`` (k x k, in ``r[:k, :k]``) by a last row and column.

        ``column`` (k,) and ``corner``: the new off-diagonal entries and diagonal entry of M.
        False if the grown matrix is not numerically positive definite.
        """
        z = column.copy()  # R^T z = column, by rows of R
        for i in range(k):
            z[i] /= r[i, i]
            for j in range(i + 1, k):
                z[j] -= r[i, j] * z[i]
        rest = corner - np.dot(z, z)
        if not rest > 0.0:
            return False
        r[:k, k] = z
        r[k, :k] = 0.0
        r[k, k] = np.sqrt(rest)
        return True

    @nb.njit(cache=True)
    def delete(r, k, position):
        """Remove row and column ``position`` of ``M`` (k x k) from its factor, in place.

        Without column ``position`` the rows below it are :math:`[x; R_{33}]`; the trailing
        factor of :math:`R_{33}^\top R_{33} + x x^\top` follows by Givens rotations.
        """
        x = r[position, position + 1:k].copy()
        for i in range(position + 1, k):
            diagonal = r[i, i]
            xi = x[i - position - 1]
            rho = np.hypot(diagonal, xi)
            c, s = rho / diagonal, xi / diagonal
            inverse = diagonal / rho
            r[i, i] = rho
            for j in range(i + 1, k):
                value = (r[i, j] + s * x[j - position - 1]) * inverse
                r[i, j] = value
                x[j - position - 1] = c * x[j - position - 1] - s * value
        for i in range(k - 1):  # shift the entries right of and below the removed ones
            source = i if i < position else i + 1
            for j in range(max(i, position), k - 1):
                r[i, j] = r[source, j + 1]
        r[k - 1, :k] = 0.0
        r[:k, k - 1] = 0.0

    @nb.njit(cache=True)
    def line_search(delta, slope):
        """Exact minimiser over t >= 0 of ``1/2 sum (delta - t slope)_+^2``; nan if no descent.

        The pieces and breakpoints of the S1 solver's batched line search, for one problem.
        """
        n = delta.shape[0]
        d, c = 0.0, 0.0
        breaks = np.full(n, np.inf)
        for mu in range(n):
            a = slope[mu]
            if delta[mu] > 0.0:
                d -= a * delta[mu]
                c += a * a
                if a > 0.0:
                    breaks[mu] = delta[mu] / a
            elif a < 0.0:
                breaks[mu] = delta[mu] / a
        if not d < 0.0:
            return np.nan
        order = np.argsort(breaks)
        lower = 0.0
        for index in range(n):
            mu = order[index]
            upper = breaks[mu]
            if not upper < np.inf:
                break
            if d + c * upper >= 0.0:
                return min(max(-d / c, lower), upper)
            a = slope[mu]
            if delta[mu] > 0.0:  # leaves the active set
                d += a * delta[mu]
                c -= a * a
            else:  # enters it
                d -= a * delta[mu]
                c += a * a
            lower = upper
        return max(-d / c, lower)

    return solve, append, delete, line_search


# --------------------------------------------------------------------------------------------
# factors of the Newton matrices


def _pivots_ok(r: np.ndarray, diagonal_max: float) -> bool:
    """Pivot test of a factor of an m x m matrix (``min R_jj^2 > 1e3 m eps max M_jj``)."""
    pivots = np.diagonal(r)
    return bool(pivots.min() ** 2 > 1e3 * len(pivots) * _EPS64 * diagonal_max)


class _GramFactor:
    r"""Solves with :math:`H_A = \Phi_A^\top\Phi_A` through a factor of a nearby set.

    ``factor``: the lower Cholesky factor (Fortran order) of :math:`H_B` for the *base* set
    B; the points of the symmetric difference C = A xor B (at most ``WOODBURY_LIMIT``) enter
    as a low-rank correction, :math:`H_A = H_B + W^\top S W` with the rows
    :math:`W = \Phi_C` and signs :math:`S = \pm 1`, solved by the Sherman-Morrison-Woodbury
    formula with the capacitance matrix :math:`S + U^\top U`, :math:`U = L^{-1}W^\top`
    (LU; :math:`H_B = LL^\top`). ``columns`` caches :math:`L^{-1}\phi_\mu` per point.
    ``gram``: :math:`H` in float64 (Fortran order, lower triangle) for the set ``synced``,
    brought to A by ``dsyrk`` rank-k changes when the factor is recomputed.
    """

    def __init__(self, phi: np.ndarray):
        self.phi = phi
        n_eff = phi.shape[1]
        self.members = np.zeros(phi.shape[0], dtype=bool)
        self.base = self.members.copy()
        self.synced = self.members.copy()
        self.gram = np.zeros((n_eff, n_eff), order="F")
        self.factor = None
        self.columns = {}
        self.correction = None

    def move(self, target: np.ndarray) -> bool:
        """Prepare solves with :math:`H_T` for the set ``target`` (mask); False if singular."""
        self.members = target.copy()
        changed = np.flatnonzero(target ^ self.base)
        if self.factor is not None and changed.size <= WOODBURY_LIMIT and \
                self._correct(changed, target[changed]):
            return True
        return self.refactor() or self.refactor(fresh=True)

    def _correct(self, changed: np.ndarray, entering: np.ndarray) -> bool:
        """Set up the Woodbury correction for the points ``changed``; False if ill-posed."""
        from scipy.linalg.lapack import dgetrf

        self.correction = None
        if not changed.size:
            return True
        missing = [row for row in changed.tolist() if row not in self.columns]
        if missing:
            block = self._half_solve(self.phi[missing].T)
            self.columns.update(zip(missing, block.T, strict=True))
        columns = np.stack([self.columns[row] for row in changed.tolist()], axis=1)
        capacitance = columns.T @ columns
        capacitance.flat[::len(changed) + 1] += np.where(entering, 1.0, -1.0)
        lu, pivots, info = dgetrf(capacitance)
        diagonal = np.abs(np.diagonal(lu))
        if not (info == 0 and np.isfinite(lu).all()
                and diagonal.min() > WOODBURY_PIVOT * max(1.0, diagonal.max())):
            return False
        self.correction = (columns, lu, pivots)
        return True

    def _half_solve(self, rhs: np.ndarray, trans: int = 0) -> np.ndarray:
        """:math:`L^{-1}` ``rhs`` (``trans=1``: :math:`L^{-\top}` ``rhs``), one or several
        columns, with :math:`H_B = LL^\top`."""
        from scipy.linalg.lapack import dtrtrs

        return dtrtrs(self.factor, rhs, lower=1, trans=trans)[0]

    def sync(self) -> None:
        """Bring ``gram`` to the current set (``dsyrk`` over the rows that changed)."""
        from scipy.linalg.blas import dsyrk

        for sign, rows in ((1.0, np.flatnonzero(self.members & ~self.synced)),
                           (-1.0, np.flatnonzero(self.synced & ~self.members))):
            if rows.size:
                self.gram = dsyrk(sign, self.phi[rows].T, beta=1.0, c=self.gram, lower=1,
                                  overwrite_c=1)
        self.synced = self.members.copy()

    def refactor(self, fresh: bool = False) -> bool:
        r"""Factorise :math:`H_A` itself, from ``gram`` (``fresh``: ``gram`` from :math:`\Phi`)."""
        from scipy.linalg.lapack import dpotrf

        if fresh:
            rows = self.phi[self.members]
            self.gram = np.asfortranarray(rows.T @ rows)
            self.synced = self.members.copy()
        else:
            self.sync()
        factor, info = dpotrf(self.gram, lower=1, clean=1)
        self.base, self.columns, self.correction = self.members.copy(), {}, None
        self.factor = factor if info == 0 and _pivots_ok(
            factor.T, float(np.diagonal(self.gram).max())) else None
        return self.factor is not None

    def step(self, gradient: np.ndarray, _gap: np.ndarray, _n: int) -> np.ndarray:
        """:math:`H_A^{-1}` ``gradient``: :math:`L^{-\top}(h - U C^{-1}U^\top h)` with
        :math:`h = L^{-1}` ``gradient``, :math:`U = L^{-1}W^\top` and :math:`C = S +
        U^\top U`."""
        from scipy.linalg.lapack import dgetrs

        half = self._half_solve(gradient)
        if self.correction is not None:
            columns, lu, pivots = self.correction
            half -= columns @ dgetrs(lu, pivots, columns.T @ half)[0]
        return self._half_solve(half, trans=1)


class _KernelFactor:
    r"""Upper Cholesky factor of :math:`K_A = Z_AZ_A^\top` (:math:`|A| < N_\mathrm{eff}`).

    ``order``: the points of A in the order of the factor's rows; ``r[:k, :k]`` holds the
    factor (``k = |A|``) in a buffer of N_eff x N_eff.
    """

    def __init__(self, phi: np.ndarray, y: np.ndarray, row_squares: np.ndarray):
        self.phi, self.y, self.row_squares = phi, y, row_squares
        n_eff = phi.shape[1]
        self.members = np.zeros(phi.shape[0], dtype=bool)
        self.order = np.zeros(0, dtype=np.int64)
        self.r = np.zeros((n_eff, n_eff))
        self.valid = False

    def move(self, target: np.ndarray) -> bool:
        """Factorise :math:`K_T` for the set ``target`` (mask); False if numerically singular."""
        append, delete = _kernels()[1:3]
        leave = np.flatnonzero(~target[self.order])
        enter = np.flatnonzero(target & ~self.members)
        self.members = target.copy()
        if self.valid and leave.size + enter.size <= KERNEL_UPDATE_LIMIT:
            k = len(self.order)
            for position in leave[::-1]:
                delete(self.r, k, position)
                k -= 1
            order = np.concatenate([np.delete(self.order, leave), enter])
            columns = (self.phi[enter] @ self.phi.T)[:, order] * np.outer(self.y[enter],
                                                                           self.y[order])
            grown = all(append(self.r, k + i, columns[i, :k + i], self.row_squares[row])
                        for i, row in enumerate(enter))
            self.order = order
            if grown and self._pivots_ok():
                return True
        return self.refactor()

    def refactor(self) -> bool:
        """Recompute the factor of :math:`K_A` from :math:`\\Phi`."""
        from scipy.linalg.lapack import dpotrf

        self.order = np.flatnonzero(self.members)
        k = len(self.order)
        self.valid = False
        if k == 0:
            self.valid = True
            return True
        z = self.phi[self.order] * self.y[self.order, None]
        factor, info = dpotrf(z @ z.T, lower=0, clean=1)
        if info != 0:
            return False
        self.r[:k, :k] = factor
        self.valid = self._pivots_ok()
        return self.valid

    def _pivots_ok(self) -> bool:
        k = len(self.order)
        return k == 0 or _pivots_ok(self.r[:k, :k], float(self.row_squares[self.order].max()))

    def step(self, _gradient: np.ndarray, gap: np.ndarray, n: int) -> np.ndarray:
        r""":math:`Z_A^\top K_A^{-1}\Delta_A`, the minimum-norm step (``gap``: :math:`\Delta`)."""
        k = len(self.order)
        if k == 0:
            return np.zeros(self.phi.shape[1])
        coefficients = _kernels()[0](self.r, k, gap[self.order])
        weights = np.zeros(n)
        weights[self.order] = coefficients * self.y[self.order]
        return weights @ self.phi[:n]


# --------------------------------------------------------------------------------------------
# the path


class _Path:
    """State carried along the path: the iterate, its margins and the two factors."""

    def __init__(self, phi: np.ndarray, y: np.ndarray, row_norms: np.ndarray, max_iter: int):
        self.phi, self.y, self.max_iter = phi, y, max_iter
        self.rounding = 8 * phi.shape[1] * _EPS64 * row_norms
        self.magnitude = np.abs(phi)
        self.w = np.zeros(phi.shape[1])
        self.margins = np.zeros(phi.shape[0])
        self.gram = _GramFactor(phi)
        self.kernel = _KernelFactor(phi, y, row_norms**2)

    def margins_at(self, w: np.ndarray, n: int) -> np.ndarray:
        return self.y[:n] * (self.phi[:n] @ w)

    def certify_separable(self, w: np.ndarray, margins: np.ndarray, n: int):
        """Scale ``w`` (every margin > 0) until every margin is >= 1 in float64."""
        factor = (1.0 + SAT_SCALE_SLACK) / margins.min()
        for _ in range(20):
            scaled = factor * w
            low = self.margins_at(scaled, n).min()
            if low >= 1.0:
                return scaled, True
            factor *= (1.0 + SAT_SCALE_SLACK) / low
        return scaled, False

    def factor_for(self, active: np.ndarray):
        """The factor of the Newton matrix of ``active`` (None if it is numerically singular)."""
        factor = self.gram if active.sum() >= self.phi.shape[1] else self.kernel
        target = np.zeros(self.phi.shape[0], dtype=bool)
        target[:len(active)] = active
        return factor if factor.move(target) else None

    def reproduced(self, margins, w, active) -> bool:
        tight = np.abs(1.0 - margins) <= self.rounding[:len(margins)] * np.linalg.norm(w)
        return bool((((margins < 1.0) == active) | tight).all())

    def refine(self, factor, w_bar, m_bar, active, n):
        r"""Newton point to float64 accuracy; None if the refinement does not get there.

        Until :math:`\|r\|_\infty \le \sqrt{N_\mathrm{eff}}\,\epsilon\,\|\,|\Phi_I|^\top
        (1 + |\Phi_I||\bar w|)\|_\infty` (at the first :math:`\bar w`), the rounding scale of
        computing the residual
        :math:`r = \Phi_I^\top(y_I - \Phi_I\bar w) = -\nabla L_I(\bar w)` (LAPACK
        ``dsposv`` bounds it by :math:`\|H_I\|_\infty\|\bar w\|_\infty`, which needs
        :math:`H_I`), then once more.
        """
        scale = (active * (1.0 + self.magnitude[:n] @ np.abs(w_bar))) @ self.magnitude[:n]
        bound = np.sqrt(len(w_bar)) * _EPS64 * scale.max()
        polish = True
        for _ in range(MAX_REFINEMENT + 2):
            gap = np.where(active, self.y[:n] * (1.0 - m_bar), 0.0)
            residual = gap @ self.phi[:n]
            met = np.abs(residual).max() <= bound
            if met and not polish:
                return w_bar, m_bar
            polish = polish and not met
            w_bar = w_bar + factor.step(residual, None, n)
            m_bar = self.margins_at(w_bar, n)
        return None

    def newton(self, n: int):
        """Finite Newton method on prefix ``n`` from ``self.w``: (w, steps, stopped, sat).

        ``stopped``: the exact criterion was met (False: ``max_iter`` ran out); None: the
        prefix is handed to the S1 solver (a factor that stays numerically singular, a
        degenerate kernel step, or a line search that finds no descent).
        """
        line_search = _kernels()[3]
        y, w, margins = self.y[:n], self.w, self.margins
        if margins.min() >= 1.0:  # a separating w of a larger prefix: SAT as it is
            return w, 0, True, True
        for steps in range(self.max_iter):
            if margins.min() > 0.0:  # separating: certify SAT
                fresh = self.margins_at(w, n)
                if fresh.min() > 0.0:
                    scaled, ok = self.certify_separable(w, fresh, n)
                    return scaled, steps, ok, ok
            active = margins < 1.0
            factor = self.factor_for(active)
            if factor is None:
                return w, steps, None, False
            gap = np.where(active, 1.0 - margins, 0.0)
            step = factor.step((gap * y) @ self.phi[:n], gap, n)
            w_bar = w + step
            m_bar = self.margins_at(w_bar, n)
            if m_bar.min() > 0.0:
                scaled, ok = self.certify_separable(w_bar, m_bar, n)
                return scaled, steps + 1, ok, ok
            if self.reproduced(m_bar, w_bar, active):
                if factor is self.kernel:  # min-norm point that does not separate: degenerate
                    return w, steps, None, False
                refined = self.refine(factor, w_bar, m_bar, active, n)
                if refined is None and factor.refactor(fresh=True):
                    refined = self.refine(factor, w_bar, m_bar, active, n)
                if refined is None:
                    return w, steps, None, False
                w_bar, m_bar = refined
                if self.reproduced(m_bar, w_bar, active):
                    if m_bar.min() > 0.0:
                        scaled, ok = self.certify_separable(w_bar, m_bar, n)
                        return scaled, steps + 1, ok, ok
                    return w_bar, steps + 1, True, False
                step = w_bar - w
            t = line_search(1.0 - margins, m_bar - margins)
            if not (np.isfinite(t) and t > 0.0):  # no descent: the S1 solver decides
                return w, steps + 1, None, False
            w = w + t * step
            margins = margins + t * (m_bar - margins)
        return w, self.max_iter, False, False

    def solve(self, n: int, column_squares: np.ndarray) -> HingeSolution:
        """The prefix ``n`` (at most the previous one), from the current iterate."""
        self.margins = self.margins[:n]
        w, steps, stopped, sat = self.newton(n)
        if stopped is None:  # the S1 solver finishes the prefix from here
            rest = self.max_iter - steps
            if rest >= 1:
                solution = solve_quadratic_hinge(self.phi[:n], self.y[:n], initial_w=w,
                                                 max_iter=rest, cpu_threads=None)
                self.w, self.margins = solution.w, self.margins_at(solution.w, n)
                return replace(solution, iterations=steps + solution.iterations)
            stopped = False
        self.w = w
        self.margins = self.margins_at(w, n)
        return _certificate(self.margins, self.phi[:n], self.y[:n], w, steps, stopped, sat,
                            column_squares)


def _certificate(margins, phi, y, w, steps, stopped, sat, column_squares) -> HingeSolution:
    """The fields and certificate of one prefix, as ``solve_quadratic_hinge`` reports them."""
    delta = 1.0 - margins
    positive = np.maximum(delta, 0.0)
    size = np.abs((y * positive) @ phi).max()
    scale = np.sqrt(column_squares.max()) * np.linalg.norm(positive)
    kkt = size / scale if scale > 0 else (np.inf if size > 0 else 0.0)
    sat = bool(sat and margins.min() >= 1.0)
    return HingeSolution(
        loss=float(0.5 * positive @ positive), n_delta=int((delta > 0).sum()), w=w,
        active=delta > 0, delta=delta, iterations=int(steps), kkt_residual=float(kkt),
        sat=sat, margin=float(margins.min()),
        converged=bool(stopped and (sat or kkt <= KKT_TOLERANCE)))


def solve_quadratic_hinge_path(features, labels, sizes, *, device=None, max_iter: int = 1000,
                               cpu_threads: int | None = 1) -> list[HingeSolution]:
    r"""Exact quadratic-hinge minimisers of the nested prefixes ``features[:n]``, n in ``sizes``.

    The vanishing-ridge problem :math:`\min_w\frac12\sum_{\mu<n}(1 - y_\mu
    w\cdot\phi_\mu)_+^2` for every training-set size ``n`` of a path of nested data (the
    S2 sweeps grow the training set point by point), in one call: the largest prefix first,
    each next one warm-started from the previous minimiser, with Cholesky factors carried
    from step to step and prefix to prefix and corrected for the points that enter or leave
    the active set instead of refactorised (see the module documentation). Every prefix
    carries the certificate of
    :func:`~jamming.simulate.hinge.solve_quadratic_hinge` (SAT: margin >= 1; UNSAT: KKT
    residual), computed from its own data; the results do not depend on the warm starts
    except for the choice among the SAT minimisers (all of loss 0 and :math:`N_\Delta = 0`).

    Parameters
    ----------
    features : array_like, shape (n_data, n_eff)
        :math:`\phi_\mu`, finite; the order of the rows is the order in which points join.
    labels : array_like, shape (n_data,)
        :math:`y_\mu = \pm1`.
    sizes : sequence of int
        Strictly increasing prefix sizes in ``[1, n_data]``.
    device : str or torch.device, optional
        None or a CPU device: the path solver of this module, on the host. Any other device
        (``"cuda"``): each prefix by :func:`~jamming.simulate.hinge.solve_quadratic_hinge`
        on that device, warm-started as above, without carried factors.
    max_iter : int
        Largest number of Newton steps per prefix, >= 1.
    cpu_threads : int or None
        BLAS (and torch) threads on the CPU while solving, as for
        :func:`~jamming.simulate.hinge.solve_quadratic_hinge`; default 1.

    Returns
    -------
    list of HingeSolution
        One per size, in the order of ``sizes``, each for its prefix (``delta`` and
        ``active`` of length ``n``), with the fields of an unbatched
        :func:`~jamming.simulate.hinge.solve_quadratic_hinge` result; ``iterations`` counts
        the Newton steps of that prefix from its starting point.

    Raises
    ------
    ValueError
        If ``sizes`` is empty, not strictly increasing or outside ``[1, n_data]``, or on the
        input errors of :func:`~jamming.simulate.hinge.solve_quadratic_hinge` (features not
        of shape (n_data, n_eff) included).
    TypeError
        If a size is not an integer, or on the type errors of
        :func:`~jamming.simulate.hinge.solve_quadratic_hinge`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((60, 10)), rng.choice([-1.0, 1.0], 60)
    >>> path = solve_quadratic_hinge_path(x, y, [5, 12, 60])
    >>> [bool(s.sat) for s in path], path[-1].n_delta >= 11
    ([True, True, False], True)
    """
    phi, y, _, max_iter, device, row_norms, threads = check_inputs(
        features, labels, 0.0, max_iter, device, cpu_threads)
    if phi.ndim != 2:
        raise ValueError(f"features must have shape (n_data, n_eff); got {tuple(phi.shape)}")
    n_data = phi.shape[0]
    sizes = list(sizes)
    if not sizes:
        raise ValueError("sizes must hold at least one prefix size")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, Integral):
            raise TypeError(f"sizes must be integers in [1, {n_data}]; got {size!r}")
    if sizes[0] < 1 or sizes[-1] > n_data or any(b <= a for a, b in pairwise(sizes)):
        raise ValueError(f"sizes must increase strictly within [1, {n_data}] (n_data); got "
                         f"{sizes[0]} .. {sizes[-1]}")
    if device.type != "cpu":
        return _device_path(phi, y, sizes, device, max_iter)
    with cpu_thread_limit(device, threads):
        phi, y = phi.numpy(), y.numpy()
        path = _Path(phi, y, row_norms.numpy(), max_iter)
        squares = np.add.reduceat(phi[:sizes[-1]] ** 2, [0, *sizes[:-1]], axis=0)
        column_squares = np.cumsum(squares, axis=0)  # per column, over each prefix
        solutions = {size: path.solve(size, column_squares[i])
                     for i, size in reversed(list(enumerate(sizes)))}
    return [solutions[size] for size in sizes]


def _device_path(phi, y, sizes, device, max_iter) -> list[HingeSolution]:
    """Each prefix by the S1 solver on ``device``, largest first, warm-started as on the host."""
    solutions, start = {}, None
    for size in reversed(sizes):
        solutions[size] = solve_quadratic_hinge(phi[:size], y[:size], device=device,
                                                max_iter=max_iter, initial_w=start)
        start = solutions[size].w
    return [solutions[size] for size in sizes]
