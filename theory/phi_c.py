r"""The critical density :math:`\phi_c` of a model, a loss and labels: one entry point.

:func:`phi_c` (the CLI's ``jamming phic``) dispatches a model specification to the formula
that predicts its jamming (SAT/UNSAT) or interpolation threshold, in units of the load
:math:`\phi = N_\mathrm{data}/N_\mathrm{eff}`:

- square loss: interpolation iff :math:`N_\mathrm{data}\le N_\mathrm{eff}` (full-rank
  features), :math:`\phi_c = 1`;
- hinge or quadratic hinge with random labels: Cover's :math:`\phi_c = 2`
  (:mod:`jamming.theory.capacity`);
- teacher labels: realisable by Gaussian features (:math:`\phi_c = \infty`); random
  features by Gaussian equivalence and the Candès–Sur threshold
  (:mod:`jamming.theory.teacher`).

:math:`N_\mathrm{eff}` of NTK features is the generic Jacobian rank of
:mod:`jamming.theory.parameters`.

References
----------
T. M. Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965). E. J. Candès, P. Sur, Ann.
Statist. 48, 27 (2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jamming.theory.capacity import ALPHA_C_RANDOM_LABELS
from jamming.theory.parameters import effective_parameters
from jamming.theory.teacher import random_features_sign_teacher_phi_c
from jamming.validation import check_count as _check_count

MODELS = ("gaussian", "random-features", "ntk")
PHI_C_LOSSES = ("square", "hinge", "quadratic-hinge")
LABELS = ("random", "teacher")


@dataclass(frozen=True)
class CriticalDensity:
    r"""The jamming (SAT/UNSAT) or interpolation threshold of a model, loss and labels.

    Attributes
    ----------
    phi_c : float
        :math:`\phi_c = N_\mathrm{data}/N_\mathrm{eff}` at the transition (``math.inf`` when
        the labels are realisable by the model: always SAT).
    n_eff : int or None
        :math:`N_\mathrm{eff}` of the model when its sizes are known.
    n_data : float or None
        :math:`\phi_c N_\mathrm{eff}`, the number of training points at the transition.
    formula : str
        The formula used, in words.
    reference : str
    """

    phi_c: float
    n_eff: int | None
    n_data: float | None
    formula: str
    reference: str


def phi_c(model: str = "gaussian", loss: str = "hinge", labels: str = "random", *,
          activation: str = "relu", input_dim: int | None = None, width: int | None = None,
          depth: int = 1, bias: bool = False,
          features_per_dim: float | None = None) -> CriticalDensity:
    r"""Predicted critical density :math:`\phi_c` of a model linear in its parameters.

    Parameters
    ----------
    model : {"gaussian", "random-features", "ntk"}
        Gaussian features (``width`` of them); random features
        :math:`\sigma(Wx/\sqrt d)` (``width`` of them, or :math:`\psi d`); or the empirical-NTK
        features of a fully connected network (``input_dim``, ``width``, ``depth``,
        ``activation``, ``bias``) linearised at initialisation, whose :math:`N_\mathrm{eff}`
        is the generic Jacobian rank (:func:`jamming.theory.parameters.effective_parameters`).
    loss : {"square", "hinge", "quadratic-hinge"}
    labels : {"random", "teacher"}
        Random :math:`\pm1` labels, or the sign of a teacher direction on the inputs.
    activation : str
        Of the random features or the network.
    input_dim, width, depth, bias
        Sizes of the model (see above).
    features_per_dim : float, optional
        :math:`\psi = N_\mathrm{eff}/d` of random features.

    Returns
    -------
    CriticalDensity

    Notes
    -----
    - square loss: interpolation iff :math:`N_\mathrm{data}\le N_\mathrm{eff}`, so
      :math:`\phi_c = 1` (full-rank features; any labels);
    - hinge or quadratic hinge, random labels, features in general position: Cover,
      :math:`\phi_c = 2`;
    - teacher labels, Gaussian features carrying the teacher direction: realisable,
      :math:`\phi_c = \infty`;
    - teacher labels, random features: Gaussian equivalence and Candès–Sur
      (:func:`jamming.theory.teacher.random_features_sign_teacher_phi_c`).
    NTK features with teacher labels have no prediction here (``ValueError``).
    """
    for name, value, allowed in (("model", model, MODELS), ("loss", loss, PHI_C_LOSSES),
                                 ("labels", labels, LABELS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    n_eff, psi = _model_size(model, activation, input_dim, width, depth, bias, features_per_dim)
    if loss == "square":
        value, formula = 1.0, "interpolation iff N_data <= N_eff = rank of the features"
        reference = "rank of the Gram matrix (Marchenko-Pastur edge (1 - sqrt(phi))^2)"
    elif labels == "random":
        value = ALPHA_C_RANDOM_LABELS
        formula = "Cover's function counting: separable iff N_data < 2 N_eff (N_eff -> inf)"
        reference = "T. M. Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965)"
    elif model == "gaussian":
        value, formula = math.inf, "labels sign(beta.x) are linearly realisable: always SAT"
        reference = "E. J. Candes, P. Sur, Ann. Statist. 48, 27 (2020), noiseless limit"
    elif model == "random-features":
        if psi is None:
            raise ValueError("random-features with teacher labels needs features_per_dim "
                             "(psi = N_eff/d), or width and input_dim")
        value = random_features_sign_teacher_phi_c(psi, activation)
        formula = (f"Gaussian equivalence of {activation} features at psi = {psi:g} and "
                   "the Candes-Sur threshold 1/h_probit(gamma_eff)")
        reference = ("E. J. Candes, P. Sur, Ann. Statist. 48, 27 (2020); S. Goldt et al., "
                     "Gaussian equivalence (2020); see jamming.theory.teacher")
    else:
        raise ValueError("no phi_c prediction for teacher labels on NTK features (an open "
                         "question of study S1)")
    return CriticalDensity(phi_c=value, n_eff=n_eff,
                           n_data=None if n_eff is None else value * n_eff,
                           formula=formula, reference=reference)


def _model_size(model, activation, input_dim, width, depth, bias, features_per_dim):
    """N_eff (or None) and psi (or None) of a model specification."""
    for name, value in (("input_dim", input_dim), ("width", width)):
        if value is not None:
            _check_count(name, value)
    if features_per_dim is not None and not (math.isfinite(features_per_dim)
                                             and features_per_dim > 0):
        raise ValueError(f"features_per_dim must be a finite number > 0; got {features_per_dim}")
    if model == "ntk":
        if input_dim is None or width is None:
            raise ValueError("model 'ntk' needs input_dim and width")
        return effective_parameters(input_dim, width, depth=depth, activation=activation,
                                    bias=bias).n_eff, None
    psi = features_per_dim
    if model == "random-features" and input_dim is not None:
        if width is not None and psi is not None and abs(width - psi * input_dim) > 0.5:
            raise ValueError(f"width = {width} contradicts features_per_dim * input_dim = "
                             f"{psi * input_dim:g}")
        if width is None and psi is not None:
            width = round(psi * input_dim)
        elif psi is None and width is not None:
            psi = width / input_dim
    return width, psi
