r"""Exact, batched minimisation of the quadratic-hinge loss of a linear model (torch).

For each problem, with features :math:`\phi_\mu \in \mathbb{R}^{N_\mathrm{eff}}` and labels
:math:`y_\mu = \pm 1` (:math:`\mu = 1, \dots, N_\mathrm{data}`), minimise

.. math::

    L(w) = \tfrac12 \sum_\mu \Delta_\mu(w)_+^2 + \tfrac{\rho}{2}\|w\|^2,\qquad
    \Delta_\mu(w) = 1 - y_\mu\, w\cdot\phi_\mu,

with ridge :math:`\rho \ge 0`. :math:`N_\Delta` is the number of :math:`\Delta_\mu > 0` at
the minimum (the *active* points). Write :math:`z_\mu = y_\mu\phi_\mu` (rows of
:math:`Z`), so that :math:`\Delta = 1 - Zw`.

Algorithm
---------
The finite (active-set) Newton method with exact line search of Keerthi & DeCoste
(L2-SVM-MFN), advanced for all problems of a batch together. At an iterate :math:`w` with
active set :math:`I = \{\mu: \Delta_\mu > 0\}`, :math:`L` coincides to first order with the
quadratic :math:`L_I(v) = \frac12\|1 - Z_I v\|^2 + \frac\rho2\|v\|^2`. The Newton point is

.. math::

    \bar w = w + s,\qquad s = (H_I + \rho\,\mathbb{1})^{+}\,(-\nabla L(w)),\qquad
    H_I = Z_I^\top Z_I,\quad -\nabla L(w) = Z_I^\top\Delta_I - \rho w,

with the Moore-Penrose pseudo-inverse :math:`(\cdot)^+`, i.e. the *minimum-norm* step to the
set of minimisers of :math:`L_I` (for :math:`\rho > 0`, or :math:`|I| \ge N_\mathrm{eff}` with
:math:`Z_I` of full rank, the ordinary inverse). If the active set at :math:`\bar w` is
:math:`I` again, :math:`\nabla L(\bar w) = \nabla L_I(\bar w) = 0`: :math:`\bar w` is the
minimiser, obtained by solving a linear system, and the method stops. (Points with
:math:`|\Delta_\mu(\bar w)| \le 8 N_\mathrm{eff}\,\epsilon\,\|\phi_\mu\|\,\|\bar w\|`,
zero to float64 rounding, may count on either side: they add nothing to the gradient. They
occur only for degenerate data, e.g. a point repeated with the opposite label.) Otherwise
:math:`w \leftarrow w + t^* s` with :math:`t^*` the exact minimiser of the convex,
piecewise-quadratic, :math:`C^1` function :math:`t \mapsto L(w + ts)`, :math:`t \ge 0`: its
derivative is piecewise linear and increasing, with breakpoints where some
:math:`\Delta_\mu(w + ts)` changes sign; they are sorted, the slope and curvature are
accumulated piece by piece, and the root is taken on the first piece where the derivative
becomes non-negative.

Linear algebra (mixed precision). :math:`H_I + \rho` is kept in float32 for the current
:math:`I` and updated with the rows that enter or leave it (a product over the changed rows
only; :math:`H_I = \Phi_I^\top\Phi_I` since :math:`y_\mu^2 = 1`, so :math:`Z` is never
formed). The gradient :math:`-\nabla L(w) = \Phi^\top(y\odot\Delta_+) - \rho w` and the
margins at the Newton point are computed in float64 from :math:`\Phi` at every step. Per
problem (see :class:`!_NewtonStep`):

- :math:`\rho > 0` or :math:`|I| \ge N_\mathrm{eff}`: the float32 Cholesky factor of the
  float32 :math:`H_I + \rho`, if its pivots do not flag :math:`\mathrm{cond}(H_I)\,
  \epsilon_{32} \gtrsim 10^{-2}` (``MIXED_PIVOT_RATIO``). The step it gives is accurate to
  about :math:`\mathrm{cond}(H_I)\,\epsilon_{32}` relative: good enough for a descent
  direction (the factor is positive definite) and the exact line search along it. Where the
  approximate Newton point reproduces the active set it is refined (Higham's mixed-precision
  iterative refinement, as LAPACK's ``dsposv``): the residual :math:`r = Z_I^\top(1 -
  Z_I\bar w) - \rho\bar w = -\nabla L_I(\bar w)` in float64 from :math:`\Phi`, :math:`\bar w
  \leftarrow \bar w + (H_I + \rho)^{-1}_{32}\,r`, until :math:`\|r\|_\infty \le
  \sqrt{N_\mathrm{eff}}\,\epsilon\,\|H_I + \rho\|_\infty\|\bar w\|_\infty` and then once
  more; the termination criterion is decided again at the refined point. Problems that do
  not meet it within ``MAX_REFINEMENT`` steps, or whose float32 factor is refused, use the
  float64 Cholesky factor of :math:`H_I + \rho` recomputed from :math:`\Phi` (one step of
  refinement);
- :math:`\rho = 0` and :math:`|I| < N_\mathrm{eff}` (:math:`H_I` singular): the
  minimum-norm step :math:`Z_I^+\Delta_I = Z_I^\top(Z_IZ_I^\top)^{-1}\Delta_I` through the
  float64 Cholesky factor of the :math:`|I|\times|I|` kernel matrix;
- where a float64 factorisation fails or is numerically singular: the pseudo-inverse from a
  batched SVD of the float64 :math:`[\Phi_I; \sqrt\rho\,\mathbb{1}]` (``torch.linalg.svd``,
  batched on CPU and CUDA, unlike the rank-deficient drivers of ``torch.linalg.lstsq``; not
  the eigendecomposition of :math:`H_I + \rho`, which squares the condition number),
  singular values below :math:`16\max(N_\mathrm{data}, N_\mathrm{eff})\,\epsilon\,
  \sigma_\mathrm{max}` counted as zero.

The KKT residual below then measures the result against :math:`\Phi` itself.

Kernels. On the CUDA device everything is batched torch. On the CPU (``HOST_KERNELS``) the
heavy kernels are numpy/scipy (OpenBLAS) calls, problem by problem, on zero-copy views,
which beat torch's batched CPU kernels at these sizes: LAPACK ``spotrf``/``dpotrf`` per
matrix and two ``?trtrs`` per solve, the first Gram matrices with ``numpy.matmul``, their
updates in place with ``ssyrk`` on the upper triangle, and the matrix-vector products over
:math:`\Phi`. The margins after the line search are interpolated between those at
:math:`w` and at the Newton point, not recomputed.

On the CPU the solver runs with one torch and one BLAS thread by default (``cpu_threads``;
BLAS through threadpoolctl where installed, otherwise ``OPENBLAS_NUM_THREADS`` and the
like apply): batched LAPACK calls factorise one matrix after the other, each with all
threads, which on a busy machine is much slower than one thread.

Timings, the profile of a solve and the designs measured and not adopted are in
``benchmarks/README.md`` (``hinge_solver.py``) and ``docs/notes/hinge-solver.md``.

Termination
-----------
- *Descent.* (With the float32 factor, :math:`H_I + \rho` below stands for the positive
  definite matrix it factorises, within :math:`\sim\epsilon_{32}` of it; the argument is
  the same.) :math:`-\nabla L(w) = (H_I + \rho)\,(\bar w - w)`, so
  :math:`\nabla L\cdot s = -\nabla L^\top (H_I + \rho)^+ \nabla L < 0` unless
  :math:`\nabla L = 0` (the gradient lies in the range of :math:`H_I + \rho`); since the
  number of active sets is finite, the directions make an angle with :math:`-\nabla L`
  bounded away from :math:`\pi/2` and their lengths are bounded by
  :math:`\|\nabla L\|/\sigma` (:math:`\sigma` the smallest non-zero eigenvalue over all
  :math:`H_I + \rho`). The gradient is Lipschitz, so the exact line search gives
  :math:`L(w_k) - L(w_{k+1}) \ge c\,\|\nabla L(w_k)\|^2` with :math:`c > 0`, and
  :math:`\nabla L(w_k) \to 0`.
- *Not separable, or* :math:`\rho > 0` (UNSAT). :math:`L` is coercive (for :math:`\rho = 0`
  because no :math:`d \neq 0` has :math:`Zd \ge 0` for generic non-separable data), so the
  iterates converge to the minimiser :math:`w^*`, unique for generic data. Near
  :math:`w^*` the active set is constant (no :math:`\Delta_\mu(w^*) = 0` generically), the
  Newton point is :math:`w^*` itself and the line search takes it: the method ends after
  finitely many steps, at the solution of the linear system of its active set.
- *Separable and* :math:`\rho = 0` (SAT, minimum 0, the minimisers form the cone
  :math:`\{w: Zw \ge 1\}`). With a :math:`w^\circ` of :math:`Zw^\circ \ge 1`,
  :math:`-\nabla L(w)\cdot w^\circ = \sum_{\mu \in I}\Delta_\mu\, z_\mu\cdot w^\circ \ge
  \sum_{\mu\in I}\Delta_\mu \ge \sqrt{2L(w)}`, so :math:`\sqrt{2L(w_k)} \le \|w^\circ\|\,
  \|\nabla L(w_k)\| \to 0`. Once :math:`L(w_k) < 1/2`, every :math:`\Delta_\mu < 1`, i.e.
  every margin :math:`z_\mu\cdot w_k > 0`: this is detected (at every iterate and every
  Newton point), and :math:`w_k` is rescaled by :math:`(1 + 10^{-9})/\min_\mu z_\mu\cdot
  w_k` (and, if float64 rounding requires, a little more) until
  :math:`\min_\mu z_\mu\cdot w \ge 1` holds in float64. Then every :math:`\Delta_\mu \le 0`
  and the loss is exactly 0.0.

Certificates (reported, never assumed)
--------------------------------------
- SAT: ``margin`` :math:`= \min_\mu y_\mu w\cdot\phi_\mu \ge 1`, ``loss == 0.0``,
  ``n_delta == 0`` (only for :math:`\rho = 0`; with :math:`\rho > 0` the minimiser always has
  :math:`N_\Delta \ge 1`).
- Otherwise: the KKT residual :math:`\|\Phi^\top(\Delta_+ \odot y) - \rho w\|_\infty /
  \big(\max_j\|\phi_{\cdot j}\|_2\,\|\Delta_+\|_2 + \rho\|w\|_\infty\big)`, the gradient
  relative to a bound (Cauchy-Schwarz) on the size of the terms it sums, which float64
  rounding alone keeps at :math:`\sim 10^{-16}`-:math:`10^{-15}`. For :math:`\rho = 0` and
  :math:`L > 0` this is Gordan's certificate that the data are not separable:
  :math:`\lambda = \Delta_+ \ge 0` with :math:`Z^\top\lambda \approx 0`.

The termination arguments hold in exact arithmetic. In float64 a problem whose line search
can no longer decrease the loss, or that runs out of ``max_iter``, ends with
``converged=False`` and its last iterate; the certificates say how good it is.

References
----------
S. S. Keerthi, D. DeCoste, "A modified finite Newton method for fast solution of large scale
linear SVMs", J. Mach. Learn. Res. 6, 341-361 (2005). O. L. Mangasarian, "A finite Newton
method for classification", Optim. Methods Softw. 17, 913-929 (2002). S. Franz, G. Parisi,
"The simplest model of jamming", J. Phys. A 49, 145001 (2016). M. Geiger, S. Spigler *et
al.*, "Jamming transition as a paradigm to understand the loss landscape of deep neural
networks", Phys. Rev. E 100, 012115 (2019).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch

from jamming.simulate.devices import torch_device

#: Relative amount by which a separating ``w`` is scaled beyond ``1 / min margin``.
SAT_SCALE_SLACK = 1e-9
#: Largest KKT residual (see ``HingeSolution.kkt_residual``) of a result reported as
#: converged and UNSAT; certified minima reach about 1e-15.
KKT_TOLERANCE = 1e-10


@dataclass(frozen=True)
class HingeSolution:
    r"""Minimiser of the quadratic-hinge loss, with its certificate.

    For an unbatched problem every field is a Python scalar or a 1-D array; for a batch of
    ``batch`` problems, a numpy array with a leading ``batch`` axis.

    Attributes
    ----------
    loss : float or numpy.ndarray, shape (batch,)
        :math:`L(w) = \frac12\sum_\mu\Delta_{\mu+}^2 + \frac\rho2\|w\|^2` at ``w``
        (exactly 0.0 for SAT problems).
    n_delta : int or numpy.ndarray of int, shape (batch,)
        :math:`N_\Delta`, the number of :math:`\Delta_\mu > 0`.
    w : numpy.ndarray, shape (n_eff,) or (batch, n_eff)
        The minimiser (for SAT problems one of them: a separating ``w`` of margin >= 1).
    active : numpy.ndarray of bool, shape (n_data,) or (batch, n_data)
        :math:`\Delta_\mu > 0`.
    delta : numpy.ndarray, shape (n_data,) or (batch, n_data)
        :math:`\Delta_\mu = 1 - y_\mu w\cdot\phi_\mu`.
    iterations : int or numpy.ndarray of int, shape (batch,)
        Newton steps (linear solves) taken, refinement steps not counted.
    kkt_residual : float or numpy.ndarray, shape (batch,)
        :math:`\|\nabla L(w)\|_\infty` relative to
        :math:`\max_j\|\phi_{\cdot j}\|_2\|\Delta_+\|_2 + \rho\|w\|_\infty` (0.0 where both
        vanish, as for SAT problems).
    sat : bool or numpy.ndarray of bool, shape (batch,)
        True iff :math:`\rho = 0` and ``w`` certifies separability: ``margin >= 1``.
    margin : float or numpy.ndarray, shape (batch,)
        :math:`\min_\mu y_\mu w\cdot\phi_\mu`.
    converged : bool or numpy.ndarray of bool, shape (batch,)
        True iff the method stopped on its exact criterion (active set reproduced by the
        Newton point, or separability certified) *and* the result is certified: SAT with
        ``margin >= 1``, or a KKT residual at most ``KKT_TOLERANCE``. False if ``max_iter``
        ran out, the line search could not decrease the loss (then ``w`` is the last
        iterate), or the criterion was met at a point that fails the certificate: seen on
        data separable with :math:`\kappa_\mathrm{max}` of order 1e-7 (:math:`\|w\|` of
        order 1e6), where float64 cannot resolve the active set.
    """

    loss: float | np.ndarray
    n_delta: int | np.ndarray
    w: np.ndarray
    active: np.ndarray
    delta: np.ndarray
    iterations: int | np.ndarray
    kkt_residual: float | np.ndarray
    sat: bool | np.ndarray
    margin: float | np.ndarray
    converged: bool | np.ndarray


# --------------------------------------------------------------------------------------------
# input handling


def _resolve_device(device, features) -> torch.device:
    """``device``, where ``None`` means the device of ``features`` (the CPU for arrays)."""
    return torch_device(device, default=features.device if isinstance(features, torch.Tensor)
                        else "cpu")


def _as_float64(name: str, value, device: torch.device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{name} must be real; got dtype {value.dtype}")
        return value.detach().to(device=device, dtype=torch.float64)
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - reported as a TypeError naming the parameter
        raise TypeError(f"{name} must be a numpy array or a torch tensor") from exc
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise TypeError(f"{name} must be a real numeric array; got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real; got dtype {array.dtype}")
    return torch.as_tensor(array.astype(np.float64, copy=False), device=device)


def check_inputs(features, labels, ridge, max_iter, device, cpu_threads):
    """Validate the inputs of :func:`solve_quadratic_hinge` and convert them.

    Parameters
    ----------
    features, labels, ridge, max_iter, device, cpu_threads
        As for :func:`solve_quadratic_hinge`.

    Returns
    -------
    tuple
        ``(phi, y, ridge, max_iter, device, row_norms, threads)``: the features and labels
        as contiguous float64 tensors on the resolved ``device``, ``ridge`` as a float,
        ``max_iter`` as an int, the Euclidean norms of the rows of ``phi`` and ``threads``
        (``cpu_threads`` as an int, or None).

    Raises
    ------
    TypeError, ValueError
        As :func:`solve_quadratic_hinge` documents.
    """
    if cpu_threads is not None:
        if isinstance(cpu_threads, bool) or not isinstance(cpu_threads, Integral):
            raise TypeError(f"cpu_threads must be None or an integer >= 1; got "
                            f"{type(cpu_threads).__name__}")
        if cpu_threads < 1:
            raise ValueError(f"cpu_threads must be None or >= 1; got {cpu_threads}")
    threads = None if cpu_threads is None else int(cpu_threads)
    if isinstance(ridge, bool) or not isinstance(ridge, Real):
        raise TypeError(f"ridge must be a real number >= 0; got {type(ridge).__name__}")
    ridge = float(ridge)
    if not (np.isfinite(ridge) and ridge >= 0.0):
        raise ValueError(f"ridge must be finite and >= 0; got {ridge!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, Integral):
        raise TypeError(f"max_iter must be an integer >= 1; got {type(max_iter).__name__}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter}")
    device = _resolve_device(device, features)
    phi = _as_float64("features", features, device)
    y = _as_float64("labels", labels, device)
    if phi.ndim not in (2, 3):
        raise ValueError(f"features must have shape (n_data, n_eff) or (batch, n_data, n_eff); "
                         f"got {tuple(phi.shape)}")
    if tuple(y.shape) != tuple(phi.shape[:-1]):
        raise ValueError(f"labels must have shape {tuple(phi.shape[:-1])} (features.shape[:-1]); "
                         f"got {tuple(y.shape)}")
    if phi.shape[-2] < 1 or phi.shape[-1] < 1:
        raise ValueError(f"n_data and n_eff must be >= 1; got features of shape "
                         f"{tuple(phi.shape)}")
    if phi.ndim == 3 and phi.shape[0] < 1:
        raise ValueError("batch must be >= 1; got an empty batch")
    # finite row norms (needed by the solver anyway) mean finite entries; otherwise look at
    # each (the norm may overflow)
    with cpu_thread_limit(device, threads):
        row_norms = torch.linalg.vector_norm(phi, dim=-1)
        finite = bool(torch.isfinite(row_norms).all()) or bool(torch.isfinite(phi).all())
    if not finite:
        raise ValueError("features must be finite (no nan or inf)")
    if not bool((y.abs() == 1.0).all()):
        raise ValueError("labels must be -1 or +1")
    return phi.contiguous(), y.contiguous(), ridge, int(max_iter), device, row_norms, threads


# --------------------------------------------------------------------------------------------
# linear algebra

#: Largest number of mixed-precision refinement steps at a Newton point before the float64
#: fallback (LAPACK's dsposv allows 30; here 3-4 are needed, see the module documentation).
MAX_REFINEMENT = 10

#: A float32 Cholesky factor is used only if ``min L_jj^2 >= MIXED_PIVOT_RATIO * eps32 *
#: max L_jj^2`` (a cheap estimate of ``cond(H_I) * eps32 <= 1 / MIXED_PIVOT_RATIO``).
MIXED_PIVOT_RATIO = 100.0

#: Host kernels (numpy / scipy, one problem after the other) for CPU tensors. The torch kernels,
#: batched, serve CUDA; tests switch this off to run them on the CPU.
HOST_KERNELS = True

_EPS32 = float(torch.finfo(torch.float32).eps)
_EPS64 = float(torch.finfo(torch.float64).eps)


def _bmv(matrix: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """Batched matrix-vector product: (b, p, q) x (b, q) -> (b, p)."""
    return torch.bmm(matrix, vector.unsqueeze(-1)).squeeze(-1)


def _bmtv(matrix: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """Batched transposed product: (b, p, q)^T x (b, p) -> (b, q)."""
    return torch.bmm(vector.unsqueeze(-2), matrix).squeeze(-2)


_BLAS_CONTROLLER = None


def _blas_limit(threads: int):
    """threadpoolctl's limit on the BLAS threads of numpy / scipy, if threadpoolctl is there."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # without it the BLAS threads follow OPENBLAS_NUM_THREADS etc.
            _BLAS_CONTROLLER = False
        else:
            _BLAS_CONTROLLER = ThreadpoolController()
    if _BLAS_CONTROLLER is False:
        return nullcontext()
    return _BLAS_CONTROLLER.limit(limits=threads, user_api="blas")


@contextmanager
def cpu_thread_limit(device: torch.device, threads: int | None):
    """Run a block with ``threads`` intra-op threads on the CPU (None: leave the settings).

    Applies to torch (process-wide; restored on exit) and to the BLAS of numpy and scipy
    (through threadpoolctl where installed).

    Parameters
    ----------
    device : torch.device
        Nothing is changed unless it is the CPU.
    threads : int or None
        The number of threads; None changes nothing.
    """
    if device.type != "cpu" or threads is None:
        yield
        return
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        with _blas_limit(threads):
            yield
    finally:
        if threads != before:
            torch.set_num_threads(before)


@contextmanager
def _single_threaded(device: torch.device):
    """Run torch's batched LAPACK calls with one intra-op thread on the CPU.

    They factorise the matrices of a batch one after the other, each with all threads; on a
    busy machine the threads' synchronisation made them 6-10 times slower than one thread.
    """
    before = torch.get_num_threads()
    if device.type != "cpu" or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _rows(mask: torch.Tensor) -> torch.Tensor:
    return torch.nonzero(mask).squeeze(-1)


def _changed_rows(changed: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (b, k) of the True entries of ``changed`` (b, n_data) first, and which are."""
    order = torch.argsort(changed.to(torch.uint8), dim=-1, descending=True, stable=True)[:, :k]
    return order, changed.gather(-1, order)


def _pick(phi: torch.Tensor, rows: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``phi[rows[i], order[i, j]]``, shape (len(rows), k, n_eff), without copying ``phi[rows]``."""
    batch, n_data, n_eff = phi.shape
    flat = (order + n_data * rows.unsqueeze(-1)).reshape(-1)
    return phi.reshape(batch * n_data, n_eff).index_select(0, flat).view(*order.shape, n_eff)


class _Cholesky:
    """Cholesky factors ``L`` of a batch of symmetric matrices (b, n, n), float32 or float64.

    Host: LAPACK ``?potrf`` / ``?potrs`` from scipy, matrix by matrix (a symmetric C-ordered
    matrix is its own Fortran-ordered transpose, so nothing is copied on the way in); on the
    CPU faster than torch's batched ``cholesky_ex``, which factorises one matrix after the
    other with more overhead (timings: ``docs/notes/hinge-solver.md``). Torch: batched
    ``cholesky_ex`` and triangular solves (CUDA).

    ``ok``: the factorisation succeeded; ``min_pivot``, ``max_pivot``: extreme ``L_jj^2``.
    """

    def __init__(self, matrices: torch.Tensor, host: bool, rows: torch.Tensor | None = None):
        """Factorise ``matrices[rows]`` (None: all; host: without copying the batch)."""
        self.host, self.dtype = host, matrices.dtype
        device = matrices.device
        if host:
            from scipy.linalg import lapack

            potrf = lapack.spotrf if matrices.dtype == torch.float32 else lapack.dpotrf
            self.factors, info, low, high = [], [], [], []
            every = matrices.numpy()
            for matrix in (every if rows is None else (every[i] for i in rows.tolist())):
                factor, status = potrf(matrix.T, lower=1, clean=0)
                pivots = np.diagonal(factor)
                self.factors.append(factor)
                info.append(status)
                low.append(float(pivots.min()) ** 2 if status == 0 else 0.0)
                high.append(float(pivots.max()) ** 2 if status == 0 else 0.0)
            self.ok = torch.tensor(info, dtype=torch.long, device=device) == 0
            self.min_pivot = torch.tensor(low, dtype=torch.float64, device=device)
            self.max_pivot = torch.tensor(high, dtype=torch.float64, device=device)
        else:
            with _single_threaded(device):
                self.factors, info = torch.linalg.cholesky_ex(
                    matrices if rows is None else matrices[rows])
            pivots = torch.diagonal(self.factors, dim1=-2, dim2=-1).to(torch.float64).square()
            self.ok = (info == 0) & torch.isfinite(pivots).all(-1)
            self.min_pivot, self.max_pivot = pivots.amin(-1), pivots.amax(-1)

    def select(self, keep: torch.Tensor) -> _Cholesky:
        """The factors at the positions ``keep`` (index tensor)."""
        other = object.__new__(_Cholesky)
        other.host, other.dtype = self.host, self.dtype
        if self.host:
            other.factors = [self.factors[i] for i in keep.tolist()]
        else:
            other.factors = self.factors[keep]
        other.ok, other.min_pivot, other.max_pivot = (self.ok[keep], self.min_pivot[keep],
                                                     self.max_pivot[keep])
        return other

    @staticmethod
    def _concat(first: _Cholesky, second: _Cholesky) -> _Cholesky:
        other = object.__new__(_Cholesky)
        other.host, other.dtype = first.host, first.dtype
        if first.host:
            other.factors = first.factors + second.factors
        else:
            other.factors = torch.cat([first.factors, second.factors])
        other.ok = torch.cat([first.ok, second.ok])
        other.min_pivot = torch.cat([first.min_pivot, second.min_pivot])
        other.max_pivot = torch.cat([first.max_pivot, second.max_pivot])
        return other

    def solve(self, rhs: torch.Tensor) -> torch.Tensor:
        """``(L L^T)^{-1} rhs`` for rhs (b, n) in float64, solved in the factors' precision."""
        rhs = rhs.to(self.dtype)
        if self.host:
            from scipy.linalg import lapack

            # two ?trtrs calls: ?potrs took three times longer for one right-hand side
            trtrs = lapack.strtrs if self.dtype == torch.float32 else lapack.dtrtrs
            out = np.empty(tuple(rhs.shape), dtype=rhs.numpy().dtype)
            for i, (factor, vector) in enumerate(zip(self.factors, rhs.numpy(), strict=True)):
                half = trtrs(factor, vector, lower=1)[0]
                out[i] = trtrs(factor, half, lower=1, trans=1, overwrite_b=1)[0]
            return torch.from_numpy(out).to(torch.float64)
        # two triangular solves: torch.cholesky_solve took 5-10 times longer on the CPU
        with _single_threaded(rhs.device):
            half = torch.linalg.solve_triangular(self.factors, rhs.unsqueeze(-1), upper=False)
            out = torch.linalg.solve_triangular(self.factors.mT, half, upper=True)
        return out.squeeze(-1).to(torch.float64)


class _Features:
    r"""The features :math:`\Phi` of the running problems, in float64 and float32.

    Host kernels (numpy on the CPU) loop over the problems (for the whole batch: one batched
    ``numpy.matmul``); they keep the full arrays and only the positions ``rows`` of the
    running problems, so freezing problems copies nothing. On the CPU numpy's matrix-vector
    products and Gram matrices are faster than torch's ``bmm`` (timings:
    ``docs/notes/hinge-solver.md``). The torch kernels (CUDA) work on compacted copies.
    """

    def __init__(self, phi: torch.Tensor, host: bool, single: bool = True):
        self.host = host
        self.phi = phi
        self.phi32 = None
        if host:  # float32 rows are converted where needed (a float32 copy of the whole batch
            self._phi = phi.numpy()  # cost more in first-touch page faults than it saved)
        elif single:
            self.phi32 = phi.to(torch.float32)
        self.rows = torch.arange(phi.shape[0], device=phi.device)
        self._all = True  # host: every problem is running (rows is 0, 1, ...)

    def keep(self, keep: torch.Tensor) -> None:
        """Keep the running problems at positions ``keep`` (increasing index tensor)."""
        if self.host:
            self.rows = self.rows[keep]
            self._all = self.rows.numel() == self.phi.shape[0]
        else:
            self.phi, self.phi32 = self.phi[keep], self.phi32[keep]
            self.rows = torch.arange(len(keep), device=keep.device)

    def _which(self, sub):
        """Positions in the full host arrays of the running problems ``sub`` (None: all)."""
        return (self.rows if sub is None else self.rows[sub]).tolist()

    def matvec(self, w: torch.Tensor, sub: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\Phi w`, (len(sub), n_data), float64; ``sub``: positions (None: all)."""
        if not self.host:
            return _bmv(self.phi if sub is None else self.phi[sub], w)
        vectors = w.numpy()
        if sub is None and self._all:
            return torch.from_numpy(np.matmul(self._phi, vectors[..., None])[..., 0])
        out = np.empty((len(vectors), self._phi.shape[1]))
        for i, b in enumerate(self._which(sub)):
            np.matmul(self._phi[b], vectors[i], out=out[i])
        return torch.from_numpy(out)

    def rmatvec(self, v: torch.Tensor, sub: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\Phi^\top v`, (len(sub), n_eff), float64."""
        if not self.host:
            return _bmtv(self.phi if sub is None else self.phi[sub], v)
        vectors = v.numpy()
        if sub is None and self._all:
            return torch.from_numpy(np.matmul(vectors[:, None, :], self._phi)[:, 0])
        out = np.empty((len(vectors), self._phi.shape[2]))
        for i, b in enumerate(self._which(sub)):
            np.matmul(vectors[i], self._phi[b], out=out[i])
        return torch.from_numpy(out)

    def live_matvec(self, w: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """``matvec`` for the problems ``live`` (bool), zeros elsewhere (torch: all)."""
        if not self.host or bool(live.all()):
            return self.matvec(w)
        out = torch.zeros(len(w), self.phi.shape[1], dtype=torch.float64)
        rows = _rows(live)
        out[rows] = self.matvec(w[rows], rows)
        return out

    def live_rmatvec(self, v: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """``rmatvec`` for the problems ``live`` (bool), zeros elsewhere (torch: all)."""
        if not self.host or bool(live.all()):
            return self.rmatvec(v)
        out = torch.zeros(len(v), self.phi.shape[2], dtype=torch.float64)
        rows = _rows(live)
        out[rows] = self.rmatvec(v[rows], rows)
        return out

    def gram(self, active: torch.Tensor, ridge: float, dtype: torch.dtype,
             sub: torch.Tensor | None = None) -> torch.Tensor:
        r""":math:`\Phi_I^\top\Phi_I + \rho` in ``dtype`` for the active sets ``active``.

        The full symmetric matrix; host float32 updates (:meth:`update_gram`) keep only its
        upper triangle (C order) current, which is all the factorisations and
        :func:`_gram_norm` read.
        """
        single = dtype == torch.float32
        if not self.host:
            phi = self.phi32 if single else self.phi
            phi = phi if sub is None else phi[sub]
            masked = phi * active.unsqueeze(-1).to(dtype)
            gram = torch.bmm(masked.transpose(1, 2), phi)
        else:
            n_eff = self._phi.shape[2]
            kind = np.float32 if single else np.float64
            out = np.empty((len(active), n_eff, n_eff), dtype=kind)
            buffer = np.empty(self._phi.shape[1:], dtype=kind)
            for i, (b, mask) in enumerate(zip(self._which(sub), active.numpy(), strict=True)):
                rows = self._phi[b] if mask.all() else self._phi[b][mask]
                if single:
                    chosen = buffer[:len(rows)]
                    chosen[...] = rows
                else:
                    chosen = rows
                np.matmul(chosen.T, chosen, out=out[i])  # numpy's syrk: faster than ssyrk here
            gram = torch.from_numpy(out)
        if ridge > 0:
            gram.diagonal(dim1=-2, dim2=-1).add_(ridge)
        return gram

    def update_gram(self, gram: torch.Tensor, changed: torch.Tensor,
                    sign: torch.Tensor) -> None:
        r"""``gram += sum_mu sign_mu phi_mu phi_mu^T`` over the ``changed`` rows (float32).

        Host: rank-k ``ssyrk`` updates of the upper triangle in place, one for the rows that
        enter and one for those that leave.
        """
        if not self.host:
            k = int(changed.sum(-1).max())
            order, _ = _changed_rows(changed, k)
            weight = sign.gather(-1, order).to(gram.dtype)
            picked = _pick(self.phi32, torch.arange(len(order), device=order.device), order)
            gram.baddbmm_(picked.transpose(1, 2), picked * weight.unsqueeze(-1))
            return
        from scipy.linalg.blas import ssyrk

        target = gram.numpy()
        for i, (b, mask, weight) in enumerate(zip(self._which(None), changed.numpy(),
                                                  sign.numpy(), strict=True)):
            for alpha, where in ((1.0, np.flatnonzero(mask & (weight > 0))),
                                 (-1.0, np.flatnonzero(mask & (weight < 0)))):
                if where.size:
                    chosen = self._phi[b].take(where, axis=0).astype(np.float32)
                    ssyrk(alpha, chosen.T, beta=1.0, c=target[i].T, lower=1, overwrite_c=1)

    def pick(self, sub: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """float64 rows ``order`` (len(sub), k) of the running problems ``sub``."""
        return _pick(self.phi, self.rows[sub], order)


def _gram_norm(gram: torch.Tensor, host: bool) -> torch.Tensor:
    """``|gram|_inf`` in float64 (host: of the symmetric matrix whose upper triangle it holds)."""
    if not host:
        return gram.abs().sum(-1).amax(-1).to(torch.float64)
    upper = np.abs(np.triu(gram.numpy())).astype(np.float64)
    rows = upper.sum(-1) + upper.sum(-2) - np.diagonal(upper, axis1=-2, axis2=-1)
    return torch.from_numpy(rows.max(-1))


def _margins(features: _Features, y: torch.Tensor, w: torch.Tensor,
             sub: torch.Tensor | None = None) -> torch.Tensor:
    """:math:`y_\\mu w\\cdot\\phi_\\mu`, shape (b, n_data)."""
    return y * features.matvec(w, sub)


class _Work:
    """Tensors of the problems still running; the leading axis runs over those problems.

    ``gram`` is :math:`H_I + \\rho 1 = \\Phi_I^\\top\\Phi_I + \\rho 1` in float32 (the labels
    square to 1) for the current active set ``active``; :math:`Z = \\operatorname{diag}(y)\\Phi`
    is never formed.
    """

    fields = ("index", "y", "w", "margins", "active", "gram", "iterations", "rounding")

    def __init__(self, features: _Features, y: torch.Tensor, ridge: float,
                 row_norms: torch.Tensor, initial_w: torch.Tensor | None = None):
        phi = features.phi
        batch, n_data, n_eff = phi.shape
        device = phi.device
        self.features = features
        self.index = torch.arange(batch, device=device)
        self.y = y
        if initial_w is None:  # w = 0: every point active
            self.w = torch.zeros(batch, n_eff, dtype=phi.dtype, device=device)
            self.margins = torch.zeros(batch, n_data, dtype=phi.dtype, device=device)
        else:  # a warm start: the active set of the given w
            self.w = initial_w.clone()
            self.margins = _margins(features, y, self.w)
        self.active = self.margins < 1.0
        self.gram = features.gram(self.active, ridge, torch.float32)
        # rounding bound on the margins, per |w|: 8 n_eff eps |phi_mu|
        self.rounding = 8 * n_eff * _EPS64 * row_norms
        self.iterations = torch.zeros(batch, dtype=torch.long, device=device)

    def keep(self, rows: torch.Tensor) -> None:
        for name in self.fields:
            setattr(self, name, getattr(self, name)[rows])
        self.features.keep(rows)

    def update_active(self, new_active: torch.Tensor, ridge: float) -> None:
        """Move ``gram`` to the active set ``new_active``."""
        changed = self.active ^ new_active
        k = int(changed.sum(-1).max())
        if k > self.y.shape[1] // 2:  # cheaper to recompute
            self.gram = self.features.gram(new_active, ridge, torch.float32)
        elif k > 0:
            sign = new_active.to(torch.float32) - self.active.to(torch.float32)
            self.features.update_gram(self.gram, changed, sign)
        self.active = new_active


#: How a problem's Newton step is solved (see _NewtonStep).
_MIXED, _DOUBLE, _PSEUDO = 0, 1, 2


class _NewtonStep:
    """The Newton step ``(H_I + ridge)^+ (-grad L)`` for every running problem.

    Chosen per problem:

    - ``ridge > 0`` or ``|I| >= n_eff``: the float32 Cholesky factor of the float32
      ``H_I + ridge``, kept if it succeeds with ``min L_jj^2 >= MIXED_PIVOT_RATIO * eps32 *
      max L_jj^2`` (*mixed*: its Newton point is refined against float64 residuals,
      :meth:`refine`); otherwise, or where the refinement does not converge, the float64
      Cholesky factor of ``H_I + ridge`` recomputed from ``Phi`` (*double*), kept only if it
      succeeds with pivots ``L_jj^2 > 1e3 n_eff eps max_j H_jj`` (``min L_jj^2`` bounds the
      smallest eigenvalue from above, so a smaller pivot flags a numerically singular
      matrix);
    - ``ridge == 0`` and ``|I| < n_eff`` (``H_I`` singular): the minimum-norm step
      ``pinv(Z_I) Delta_I = Phi_I^T (Phi_I Phi_I^T)^{-1} (y_I Delta_I)`` through the float64
      Cholesky factor of the ``|I| x |I|`` kernel matrix (padded with a unit diagonal to the
      largest ``|I|`` of the batch), exact for ``Phi_I`` of full row rank;
    - where these fail (and for the refinement of kernel steps): the pseudo-inverse of the
      float64 ``H_I + ridge`` from the SVD of ``[Phi_I; sqrt(ridge) 1]``, singular values
      below ``16 max(n_data, n_eff) eps sigma_max`` counted as zero (*pseudo*).

    (A Woodbury correction of an older factor for the few rows that changed was tried on
    the CPU: it saved no measurable time at N_eff = 300 and was dropped.)
    """

    def __init__(self, work: _Work, gradient: torch.Tensor, ridge: float,
                 frozen: torch.Tensor):
        active = work.active
        batch, n_data = active.shape
        n_eff = gradient.shape[-1]
        self.work, self.ridge, self.gradient = work, ridge, gradient
        self.device = gradient.device
        self.host = work.features.host
        self._eigen = {}
        self.step = torch.zeros_like(gradient)
        self.method = torch.full((batch,), _PSEUDO, dtype=torch.long, device=self.device)
        self.position = torch.full((batch,), -1, dtype=torch.long, device=self.device)
        self.mixed = self.double = None
        running = ~frozen
        n_active = active.sum(-1)
        kernel = running & (n_active < n_eff) if ridge == 0.0 else torch.zeros_like(running)
        # frozen problems take no step (on the torch path their factorisation rides along)
        chosen = running & ~kernel if self.host else ~kernel
        rows = _rows(chosen)
        if rows.numel():
            every = rows.numel() == batch
            factor = _Cholesky(work.gram, self.host, None if every else rows)
            good = factor.ok & (factor.min_pivot >= MIXED_PIVOT_RATIO * _EPS32
                                * factor.max_pivot)
            if not bool(good.all()):
                factor, failed, rows = factor.select(_rows(good)), rows[~good], rows[good]
                self._use_double(failed[running[failed]])
                every = False
            self.mixed = factor
            self.method[rows] = _MIXED
            self.position[rows] = torch.arange(rows.numel(), device=self.device)
            step = factor.solve(gradient if every else gradient[rows])
            if every:
                self.step = step
            else:
                self.step[rows] = step
        rows = _rows(kernel)
        if rows.numel():
            step, ok = self._kernel_step(rows, n_active[rows])
            self.step[rows[ok]] = step[ok]
            failed = rows[~ok]
            if failed.numel():
                self.step[failed] = self._eigen_solve(gradient[failed], failed)

    def _use_double(self, rows: torch.Tensor) -> None:
        """Solve the problems ``rows`` with float64 Cholesky factors (else pseudo-inverse)."""
        if not rows.numel():
            return
        work = self.work
        n_eff = self.gradient.shape[-1]
        matrix = work.features.gram(work.active[rows], self.ridge, torch.float64, rows)
        factor = _Cholesky(matrix, self.host)
        scale = torch.diagonal(matrix, dim1=-2, dim2=-1).amax(-1)
        good = factor.ok & (factor.min_pivot > 1e3 * n_eff * _EPS64 * scale)
        if not bool(good.all()):
            self._pseudo_inverse(rows[~good])
        self.method[rows[~good]] = _PSEUDO
        self.position[rows[~good]] = -1
        self.step[rows[~good]] = self._eigen_solve(self.gradient[rows[~good]], rows[~good])
        if bool(good.any()):
            keep = _rows(good)
            factor, rows = factor.select(keep), rows[keep]
            if self.double is None:
                self.double = factor
                start = 0
            else:  # append (host lists; torch tensors)
                start = len(self.double.ok)
                self.double = _Cholesky._concat(self.double, factor)
            self.method[rows] = _DOUBLE
            self.position[rows] = torch.arange(start, start + rows.numel(), device=self.device)
            self.step[rows] = factor.solve(self.gradient[rows])

    def _kernel_step(self, rows, n_active):
        work = self.work
        active = work.active[rows]
        k = int(n_active.max())
        if k == 0:  # nothing active: the Newton point is w itself
            return torch.zeros_like(work.w[rows]), torch.ones_like(rows, dtype=torch.bool)
        order, inside = _changed_rows(active, k)
        chosen = work.features.pick(rows, order) * inside.unsqueeze(-1).to(torch.float64)
        kernel = torch.bmm(chosen, chosen.transpose(1, 2))
        kernel.diagonal(dim1=-2, dim2=-1).add_((~inside).to(kernel.dtype))
        factor = _Cholesky(kernel, self.host)
        scale = torch.diagonal(kernel, dim1=-2, dim2=-1).amax(-1)
        ok = factor.ok & (factor.min_pivot > 1e3 * k * _EPS64 * scale)
        signed_gap = (work.y[rows] * (1.0 - work.margins[rows])).gather(-1, order)
        coefficients = factor.solve(torch.where(inside, signed_gap, 0.0))
        step = _bmtv(chosen, coefficients)
        return step, ok & torch.isfinite(step).all(-1)

    def _pseudo_inverse(self, rows: torch.Tensor) -> None:
        r"""Store the pseudo-inverses of the float64 :math:`H_I + \rho` of ``rows``.

        From the SVD of :math:`A = [\Phi_I; \sqrt\rho\,1]` (:math:`A^\top A = H_I + \rho`),
        not from the eigendecomposition of :math:`H_I + \rho`: forming the Gram matrix squares
        the condition number, and an eigenvalue cut at :math:`c\,\epsilon\,\lambda_\mathrm{max}`
        drops singular values up to :math:`\sqrt{c\epsilon}\,\sigma_\mathrm{max}` (~1e-6)
        that float64 resolves. With the gradient along such a direction the truncated Newton
        point reproduces its active set without being stationary (an N* + 1 prefix of
        teacher-test-cusp: sigma_min / sigma_max = 3.5e-8, KKT residual 3e-8). Singular values
        below ``16 max(n_data, n_eff) eps sigma_max`` count as zero.
        """
        work = self.work
        n_data, n_eff = work.y.shape[1], self.gradient.shape[-1]
        order = torch.arange(n_data, device=self.device).expand(rows.numel(), n_data)
        stacked = (work.features.pick(rows, order)
                   * work.active[rows].unsqueeze(-1).to(torch.float64))
        if self.ridge > 0:
            root = np.sqrt(self.ridge) * torch.eye(n_eff, dtype=torch.float64,
                                                   device=self.device)
            stacked = torch.cat([stacked, root.expand(rows.numel(), n_eff, n_eff)], dim=1)
        with _single_threaded(self.device):
            _, sigma, vh = torch.linalg.svd(stacked, full_matrices=False)
        cut = 16 * max(n_data, n_eff) * _EPS64 * sigma[..., :1]
        inverse = torch.where(sigma > cut, 1.0 / sigma.square(), torch.zeros_like(sigma))
        for i, row in enumerate(rows.tolist()):
            self._eigen[row] = (vh[i].mT, inverse[i])

    def _eigen_solve(self, rhs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        missing = [row for row in rows.tolist() if row not in self._eigen]
        if missing:
            where = torch.tensor(missing, dtype=torch.long, device=self.device)
            self._pseudo_inverse(where)
        if not rows.numel():
            return torch.zeros_like(rhs)
        vectors = torch.stack([self._eigen[row][0] for row in rows.tolist()])
        inverse = torch.stack([self._eigen[row][1] for row in rows.tolist()])
        return _bmv(vectors, _bmtv(vectors, rhs) * inverse)

    def solve(self, rhs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``(H_I + ridge)^+ rhs`` (approximately, for mixed problems) for ``rows``."""
        out = torch.empty_like(rhs)
        method = self.method[rows]
        for kind, factor in ((_MIXED, self.mixed), (_DOUBLE, self.double)):
            where = _rows(method == kind)
            if where.numel():
                out[where] = factor.select(self.position[rows[where]]).solve(rhs[where])
        where = _rows(method == _PSEUDO)
        if where.numel():
            out[where] = self._eigen_solve(rhs[where], rows[where])
        return out

    def refine(self, rows: torch.Tensor, w_bar: torch.Tensor, m_bar: torch.Tensor):
        r"""The Newton points ``w_bar`` of the problems ``rows`` to float64 accuracy.

        The residual :math:`r = Z_I^\top(1 - Z_I\bar w) - \rho\bar w = -\nabla L_I(\bar w)` is
        computed from the float64 :math:`\Phi`, and :math:`\bar w \leftarrow \bar w +
        (H_I + \rho)^{+} r`. Mixed problems iterate until the normwise backward error
        criterion of LAPACK's ``dsposv``, :math:`\|r\|_\infty \le \sqrt{N_\mathrm{eff}}\,
        \epsilon\,\|H_I + \rho\|_\infty\|\bar w\|_\infty`, holds; those that have not met it
        after ``MAX_REFINEMENT`` steps start again from float64 factors. The others (float64
        factors, pseudo-inverse) take one step, as a float64 solve needs.

        ``m_bar``: the margins :math:`Z\bar w` at the given ``w_bar`` (float64, from
        :math:`\Phi`), so that the first residual costs one pass over :math:`\Phi`, not two.
        Returns the refined ``w_bar`` and the margins :math:`Z\bar w` there.
        """
        work = self.work
        features, y, active = work.features, work.y[rows], work.active[rows]
        w_bar = w_bar.clone()
        n_eff = w_bar.shape[-1]

        def residual(sub, w, known=None):
            margins = _margins(features, y[sub], w, rows[sub]) if known is None else known
            gap = torch.where(active[sub], y[sub] * (1.0 - margins), 0.0)
            return features.rmatvec(gap, rows[sub]) - self.ridge * w, margins

        margins = torch.empty_like(y)
        mixed = self.method[rows] == _MIXED
        given = ~mixed
        sub = _rows(mixed)
        if sub.numel():
            norm = _gram_norm(work.gram[rows[sub]], self.host)
            pending = torch.arange(sub.numel(), device=self.device)
            polish = torch.ones(sub.numel(), dtype=torch.bool, device=self.device)
            for attempt in range(MAX_REFINEMENT + 2):
                at = sub[pending]
                r, margins[at] = residual(at, w_bar[at], m_bar[at] if attempt == 0 else None)
                bound = np.sqrt(n_eff) * _EPS64 * norm[pending] * w_bar[at].abs().amax(-1)
                met = r.abs().amax(-1) <= bound
                # once the criterion is met, one more correction (the "polish")
                go_on = ~met | polish[pending]
                polish[pending[met]] = False
                pending, r = pending[go_on], r[go_on]
                if not pending.numel() or attempt > MAX_REFINEMENT:
                    break
                at = sub[pending]
                w_bar[at] += self.solve(r, rows[at])
            if pending.numel():  # not converged: float64 factors, from w again
                failed = rows[sub[pending]]
                self._use_double(failed)
                w_bar[sub[pending]] = work.w[failed] + self.step[failed]
                mixed[sub[pending]] = False
        sub = _rows(~mixed)
        if sub.numel():  # m_bar holds for those not restarted from float64 factors above
            r, _ = residual(sub, w_bar[sub], m_bar[sub] if bool(given[sub].all()) else None)
            w_bar[sub] += self.solve(r, rows[sub])
            margins[sub] = _margins(features, y[sub], w_bar[sub], rows[sub])
        return w_bar, margins


def _line_search(delta, slope, w_dot_s, s_dot_s, ridge):
    r"""Exact minimiser over :math:`t \ge 0` of :math:`\phi(t) = L(w + ts)`, batched.

    :math:`\phi(t) = \frac12\sum_\mu(\Delta_\mu - t a_\mu)_+^2 + \frac\rho2\|w + ts\|^2` with
    :math:`a = Zs`; :math:`\phi'` is continuous, piecewise linear and non-decreasing, with a
    breakpoint where some :math:`\Delta_\mu - t a_\mu` changes sign.

    Parameters
    ----------
    delta, slope : torch.Tensor, shape (b, n_data)
        :math:`\Delta(w)` and :math:`a = Zs`.
    w_dot_s, s_dot_s : torch.Tensor, shape (b,)
    ridge : float

    Returns
    -------
    torch.Tensor, shape (b,)
        :math:`t^*`; nan where :math:`\phi'(0) \ge 0` (no descent direction).
    """
    active = delta > 0
    zero = torch.zeros_like(delta)
    d0 = torch.where(active, -slope * delta, zero).sum(-1) + ridge * w_dot_s   # phi'(0)
    c0 = torch.where(active, slope * slope, zero).sum(-1) + ridge * s_dot_s     # phi''(0+)
    leaving = active & (slope > 0)        # active on [0, delta/a)
    entering = ~active & (slope < 0)      # active on (delta/a, inf), delta/a >= 0
    moving = leaving | entering
    breaks = torch.where(moving, delta / torch.where(moving, slope, 1.0), torch.inf)
    jump_d = torch.where(leaving, slope * delta, torch.where(entering, -slope * delta, zero))
    jump_c = torch.where(leaving, -slope * slope, torch.where(entering, slope * slope, zero))
    breaks, order = torch.sort(breaks, dim=-1)
    jump_d = jump_d.gather(-1, order)
    jump_c = jump_c.gather(-1, order)
    total_d = torch.cumsum(jump_d, -1)
    total_c = torch.cumsum(jump_c, -1)
    # phi'(t) = d_j + c_j t on the piece that ends at breaks[:, j]
    d_piece = d0.unsqueeze(-1) + (total_d - jump_d)
    c_piece = c0.unsqueeze(-1) + (total_c - jump_c)
    finite = torch.isfinite(breaks)
    hit = finite & (d_piece + c_piece * torch.where(finite, breaks, zero) >= 0)
    has = hit.any(-1)
    first = hit.to(torch.uint8).argmax(-1, keepdim=True)
    d_star = torch.where(has, d_piece.gather(-1, first).squeeze(-1), d0 + total_d[:, -1])
    c_star = torch.where(has, c_piece.gather(-1, first).squeeze(-1), c0 + total_c[:, -1])
    t = -d_star / c_star
    # keep t on its piece [lower, upper] (rounding in the accumulated coefficients)
    upper = torch.where(has, breaks.gather(-1, first).squeeze(-1), torch.inf)
    last = finite.sum(-1, keepdim=True)             # pieces: [0, b_0], ..., [b_{last-1}, inf)
    start = torch.where(has.unsqueeze(-1), first, last) - 1
    lower = torch.where(start >= 0, breaks.gather(-1, start.clamp_min(0)), 0.0).squeeze(-1)
    t = torch.minimum(torch.maximum(t, lower), upper)
    return torch.where(d0 < 0, t, torch.nan)


# --------------------------------------------------------------------------------------------
# the solver


def _certify_separable(features, y, w, margins, rows):
    """Scale ``w`` (all ``margins`` > 0) until every margin is >= 1 in float64."""
    factor = (1.0 + SAT_SCALE_SLACK) / margins.amin(-1)
    for _ in range(20):
        scaled = w * factor.unsqueeze(-1)
        new_margins = _margins(features, y, scaled, rows)
        low = new_margins.amin(-1)
        short = low < 1.0
        if not bool(short.any()):
            break
        factor = torch.where(short, factor * (1.0 + SAT_SCALE_SLACK) / low, factor)
    return scaled, new_margins, ~short


class _Results:
    """Per-problem outputs of the whole batch, filled in as problems finish."""

    def __init__(self, batch, n_eff, device):
        self.w = torch.zeros(batch, n_eff, dtype=torch.float64, device=device)
        self.iterations = torch.zeros(batch, dtype=torch.long, device=device)
        self.converged = torch.zeros(batch, dtype=torch.bool, device=device)
        self.sat = torch.zeros(batch, dtype=torch.bool, device=device)

    def store(self, index, w, iterations, converged, sat):
        self.w[index] = w
        self.iterations[index] = iterations
        self.converged[index] = converged
        self.sat[index] = sat


def _solve_batch(features: _Features, y: torch.Tensor, ridge: float, max_iter: int,
                 row_norms: torch.Tensor, initial_w: torch.Tensor | None = None) -> _Results:
    """Run the finite Newton method on every problem of ``features`` (b, n_data, n_eff).

    From ``initial_w`` (b, n_eff) if given, else from 0. Problems that finish are *frozen*:
    their results are stored, they take no further step, and the running tensors are
    compacted once a quarter of their rows are frozen.
    """
    batch, n_data, n_eff = features.phi.shape
    device = features.phi.device
    results = _Results(batch, n_eff, device)
    work = _Work(features, y, ridge, row_norms, initial_w)
    frozen = torch.zeros(batch, dtype=torch.bool, device=device)
    separable_possible = ridge == 0.0

    def finish(rows, w, converged, sat=False):
        results.store(work.index[rows], w, work.iterations[rows], converged, sat)
        frozen[rows] = True

    for _ in range(max_iter):
        if bool(frozen.all()):
            break
        live = ~frozen
        # Newton point: w_bar = w + (H_I + ridge)^+ (-grad L(w)), -grad L = Z_I^T Delta_I - rho w
        gap = torch.where(work.active, work.y * (1.0 - work.margins), 0.0)
        gradient = features.live_rmatvec(gap, live) - ridge * work.w
        newton = _NewtonStep(work, gradient, ridge, frozen)
        work.iterations += live.to(torch.long)
        w_bar = work.w + newton.step
        m_bar = work.y * features.live_matvec(w_bar, live)

        if separable_possible:  # SAT certificate at the Newton point
            rows = _rows(live & (m_bar.amin(-1) > 0))
            if rows.numel():
                scaled, _, ok = _certify_separable(features, work.y[rows], w_bar[rows],
                                                   m_bar[rows], rows)
                finish(rows, scaled, ok, ok)

        # exact criterion: the Newton point has the same active set, so it solves the linear
        # system of its active set. Points whose Delta is zero to float64 rounding (possible
        # only for degenerate data: duplicated points, zero rows) may lie on either side; they
        # add nothing to the gradient. Where the (float32-accurate) Newton point reproduces the
        # active set, it is refined to float64 accuracy and the criterion is decided again.
        def reproduced(margins, w, active, rounding):
            tight = (1.0 - margins).abs() <= rounding * torch.linalg.vector_norm(
                w, dim=-1, keepdim=True)
            return (((margins < 1.0) == active) | tight).all(-1)

        candidate = ~frozen & reproduced(m_bar, w_bar, work.active, work.rounding)
        if bool(candidate.any()):
            rows = _rows(candidate)
            refined, margins = newton.refine(rows, w_bar[rows], m_bar[rows])
            same = reproduced(margins, refined, work.active[rows], work.rounding[rows])
            if separable_possible:
                # Next to the transition (kappa_max ~ 1e-6, |w| ~ 1e5) the refined point can
                # separate the data up to rounding while the tolerance of ``reproduced``,
                # which grows with |w|, calls it reproduced: certify SAT first.
                separating = same & (margins.amin(-1) > 0)
                if bool(separating.any()):
                    sub = _rows(separating)
                    scaled, _, ok = _certify_separable(features, work.y[rows[sub]],
                                                       refined[sub], margins[sub], rows[sub])
                    finish(rows[sub[ok]], scaled[ok], True, True)
                    same = same & ~separating
            finish(rows[same], refined[same], True)
            w_bar[rows], m_bar[rows] = refined, margins

        # exact line search from w towards the Newton point
        step = w_bar - work.w
        t = _line_search(1.0 - work.margins, m_bar - work.margins, (work.w * step).sum(-1),
                         (step * step).sum(-1), ridge)
        stalled = ~frozen & ~(torch.isfinite(t) & (t > 0))
        t = torch.where(frozen | stalled, 0.0, t).unsqueeze(-1)
        work.w = work.w + t * step
        work.margins = work.margins + t * (m_bar - work.margins)
        rows = _rows(stalled)
        if rows.numel():
            finish(rows, work.w[rows], False)
        if separable_possible:  # SAT certificate at the new iterate
            rows = _rows(~frozen & (work.margins.amin(-1) > 0))
            if rows.numel():
                fresh = _margins(features, work.y[rows], work.w[rows], rows)
                positive = fresh.amin(-1) > 0
                rows, fresh = rows[positive], fresh[positive]
                if rows.numel():
                    scaled, _, ok = _certify_separable(features, work.y[rows], work.w[rows],
                                                       fresh, rows)
                    finish(rows, scaled, ok, ok)

        if 4 * int(frozen.sum()) >= frozen.numel():
            keep = _rows(~frozen)
            work.keep(keep)
            frozen = frozen[keep]
        if work.index.numel():
            work.update_active(work.margins < 1.0, ridge)

    rows = _rows(~frozen)
    if rows.numel():  # max_iter ran out: report the last iterates
        finish(rows, work.w[rows], False)
    return results


def solve_quadratic_hinge(features, labels, ridge: float = 0.0, *, device=None,
                          max_iter: int = 1000, cpu_threads: int | None = 1,
                          initial_w=None) -> HingeSolution:
    r"""Minimise :math:`\frac12\sum_\mu(1 - y_\mu w\cdot\phi_\mu)_+^2 + \frac\rho2\|w\|^2` exactly.

    Finite Newton method with exact line search (Keerthi & DeCoste 2005), all problems of a
    batch advancing together; see the module documentation for the algorithm, its
    termination and the certificates.

    Parameters
    ----------
    features : numpy.ndarray or torch.Tensor, shape (n_data, n_eff) or (batch, n_data, n_eff)
        :math:`\phi_\mu`, finite; converted to float64 (a float64 CPU array is not copied).
    labels : numpy.ndarray or torch.Tensor, shape (n_data,) or (batch, n_data)
        :math:`y_\mu`, each -1 or +1 (the shape of ``features`` without its last axis).
    ridge : float
        :math:`\rho \ge 0`, finite. Default 0.
    device : str or torch.device, optional
        Where to compute (``"cpu"``, ``"cuda"``, ...); default: the device of ``features``
        if it is a tensor, else the CPU.
    max_iter : int
        Largest number of Newton steps per problem, >= 1. Problems that need more end with
        ``converged=False``.
    cpu_threads : int or None
        torch intra-op threads while solving on the CPU (restored afterwards; torch's setting
        is process-wide). Default 1: sweeps run one process per core, and on a shared
        2-core machine two threads made small batches up to 40 times slower. None keeps
        torch's setting.
    initial_w : array_like, shape (n_eff,) or (batch, n_eff), optional
        Where the method starts (default: 0, every point active). A warm start, e.g. the
        minimiser of a problem with fewer points
        (:func:`~jamming.simulate.hinge_path.solve_quadratic_hinge_path`), saves
        Newton steps; the result and its certificate do not depend on it (for a SAT problem
        the separating ``w`` returned may).

    Returns
    -------
    HingeSolution
        Scalars and 1-D arrays for unbatched input; arrays with a leading ``batch`` axis for
        batched input. Always numpy / Python values, on the host.

    Raises
    ------
    TypeError
        If an input is not numeric, ``ridge`` not a real number, ``max_iter`` not an int or
        ``cpu_threads`` neither None nor an int.
    ValueError
        On inconsistent shapes, non-finite features, labels outside {-1, +1}, a negative or
        non-finite ``ridge``, ``max_iter < 1``, ``cpu_threads < 1`` or an unavailable CUDA
        device.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((50, 10)), rng.choice([-1.0, 1.0], 50)
    >>> sol = solve_quadratic_hinge(x, y)
    >>> bool(sol.sat), sol.n_delta >= 11, sol.kkt_residual < 1e-12
    (False, True, True)
    """
    phi, y, ridge, max_iter, device, row_norms, threads = check_inputs(
        features, labels, ridge, max_iter, device, cpu_threads)
    batched = phi.ndim == 3
    start = None if initial_w is None else _check_initial_w(initial_w, phi, device)
    if not batched:
        phi, y, row_norms = phi.unsqueeze(0), y.unsqueeze(0), row_norms.unsqueeze(0)
        start = None if start is None else start.unsqueeze(0)
    with cpu_thread_limit(device, threads):
        host = HOST_KERNELS and device.type == "cpu"
        results = _solve_batch(_Features(phi, host), y, ridge, max_iter, row_norms, start)
        features = _Features(phi, host, single=False)  # every problem, float64 only
        w = results.w
        margins = _margins(features, y, w)
        delta = 1.0 - margins
        positive = delta.clamp_min(0.0)
        loss = 0.5 * positive.square().sum(-1) + 0.5 * ridge * w.square().sum(-1)
        size = (features.rmatvec(y * positive) - ridge * w).abs().amax(-1)   # |grad L|_inf
        # bound on max_j sum_mu |phi_mu j| Delta_mu+ (Cauchy-Schwarz) plus the ridge term
        column_norms = (torch.from_numpy(np.einsum("bmj,bmj->bj", phi.numpy(), phi.numpy()))
                        if host else phi.square().sum(-2)).sqrt()
        scale = (column_norms.amax(-1) * positive.square().sum(-1).sqrt()
                 + ridge * w.abs().amax(-1))
        kkt = torch.where(scale > 0, size / torch.where(scale > 0, scale, 1.0),
                          torch.where(size > 0, torch.inf, 0.0))
        sat = results.sat & (margins.amin(-1) >= 1.0)
        out = {
            "loss": loss, "n_delta": (delta > 0).sum(-1), "w": w, "active": delta > 0,
            "delta": delta, "iterations": results.iterations, "kkt_residual": kkt,
            "sat": sat, "margin": margins.amin(-1),
            # converged means certified: SAT with its margin, or a KKT residual below
            # KKT_TOLERANCE (the active-set criterion alone accepts near-degenerate points)
            "converged": results.converged & (sat | (kkt <= KKT_TOLERANCE)),
        }
        out = {name: value.cpu().numpy() for name, value in out.items()}
    if not batched:
        out = {name: (value[0] if value.ndim > 1 else value[0].item())
               for name, value in out.items()}
    return HingeSolution(**out)


def _check_initial_w(initial_w, phi: torch.Tensor, device) -> torch.Tensor:
    """``initial_w`` as a float64 tensor on ``device`` of shape ``phi.shape[:-2] + (n_eff,)``."""
    start = _as_float64("initial_w", initial_w, device)
    expected = tuple(phi.shape[:-2]) + (phi.shape[-1],)
    if tuple(start.shape) != expected:
        raise ValueError(f"initial_w must have shape {expected} (one w per problem); got "
                         f"{tuple(start.shape)}")
    if not bool(torch.isfinite(start).all()):
        raise ValueError("initial_w must be finite (no nan or inf)")
    return start.contiguous()


def __getattr__(name: str):
    """``solve_quadratic_hinge_path``, defined in :mod:`jamming.simulate.hinge_path` (which
    imports this module), re-exported here on first access."""
    if name == "solve_quadratic_hinge_path":
        from jamming.simulate.hinge_path import solve_quadratic_hinge_path

        return solve_quadratic_hinge_path
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def unsatisfied_hessian_minimum(features: np.ndarray, active: np.ndarray) -> float:
    """Lowest eigenvalue of ``Phi_A^T Phi_A / n_eff`` over the unsatisfied points ``A``.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    active : numpy.ndarray of bool, shape (n_data,)

    Returns
    -------
    float
        0 when fewer than ``n_eff`` points are unsatisfied (the matrix is singular); NaN
        when none is.
    """
    if not active.any():
        return float("nan")
    block = features[active]
    return float(np.linalg.eigvalsh(block.T @ block / features.shape[1])[0])
