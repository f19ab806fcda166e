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

:math:`N_\mathrm{eff}` is the generic rank of the features: their number for Gaussian
features, :func:`random_features_rank` for random features, the generic Jacobian rank of
:mod:`jamming.theory.parameters` for NTK features. A size parameter that does not apply to
the model (:data:`APPLIES_TO`), an activation the model's formula does not cover
(:data:`MODEL_ACTIVATIONS`), and sizes that give no count of features (:math:`N_\mathrm{eff}`
rounding to 0, or above :data:`MAX_COUNT`) raise ``ValueError``: :func:`phi_c` answers only
what it computes.

References
----------
T. M. Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965). E. J. Candès, P. Sur, Ann.
Statist. 48, 27 (2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from jamming.theory.activations import REGISTRY
from jamming.theory.capacity import ALPHA_C_RANDOM_LABELS
from jamming.theory.parameters import ACTIVATIONS as _NTK_ACTIVATIONS
from jamming.theory.parameters import effective_parameters
from jamming.theory.teacher import ACTIVATIONS as _RANDOM_FEATURES_ACTIVATIONS
from jamming.theory.teacher import random_features_sign_teacher_phi_c
from jamming.validation import check_count as _check_count
from jamming.validation import check_real as _check_real

MODELS = ("gaussian", "random-features", "ntk")
PHI_C_LOSSES = ("square", "hinge", "quadratic-hinge")
LABELS = ("random", "teacher")

#: The activations of each model, names of :data:`jamming.theory.activations.REGISTRY`:
#: those with Gaussian-equivalence coefficients (:mod:`jamming.theory.teacher`) for random
#: features, those of :func:`~jamming.theory.parameters.effective_parameters` for NTK
#: features; Gaussian features have none.
MODEL_ACTIVATIONS = MappingProxyType({
    "gaussian": (),
    "random-features": _RANDOM_FEATURES_ACTIVATIONS,
    "ntk": _NTK_ACTIVATIONS,
})

#: Every activation of some model, in the order of the registry (the CLI's choices).
ACTIVATIONS = tuple(name for name in REGISTRY
                    if any(name in names for names in MODEL_ACTIVATIONS.values()))

#: The models each optional parameter of :func:`phi_c` applies to (``width`` applies to all).
APPLIES_TO = MappingProxyType({
    "activation": ("random-features", "ntk"),
    "input_dim": ("random-features", "ntk"),
    "depth": ("ntk",),
    "bias": ("ntk",),
    "psi": ("random-features",),
})

#: The largest size :func:`phi_c` takes (``input_dim``, ``width``, ``psi``,
#: and :math:`N_\mathrm{eff}`): :math:`2^{53}`, up to which float64 holds every integer, so
#: that :math:`N_\mathrm{data} = \phi_c N_\mathrm{eff}` is a count.
MAX_COUNT = 2**53

#: Rank of positively homogeneous random features at :math:`d = 1` (one weight's sign).
_RANK_AT_ONE_DIM = {"relu": 2, "abs": 1, "sign": 1}


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


def random_features_rank(input_dim: int, width: int, activation: str = "relu") -> int:
    r"""Generic rank :math:`N_\mathrm{eff}` of random features :math:`\sigma(Wx/\sqrt d)`.

    :math:`W` has shape ``(width, input_dim)`` and i.i.d. :math:`N(0, 1)` entries; the rank
    is that of the ``width`` functions :math:`\sigma(w_i\cdot x/\sqrt d)` of
    :math:`x\in\mathbb{R}^d` (the rank of the feature matrix on
    :math:`N_\mathrm{data}\to\infty` points in general position), the maximal rank over
    :math:`W`, attained with probability one (relu at :math:`d = 1` and :math:`h \ge 2`:
    probability :math:`1 - 2^{1-h}`, that the weights have both signs):

    - identity: :math:`Wx/\sqrt d` is a linear map, rank :math:`\min(h, d)`;
    - :math:`d = 1`, relu, abs, sign (positively homogeneous):
      :math:`\sigma(wx) = |w|\,\sigma(\operatorname{sign}(w)\,x)`, so the features span
      :math:`x_+, (-x)_+` (relu, :math:`\min(h, 2)`), :math:`|x|` or
      :math:`\operatorname{sign}x` (1);
    - otherwise :math:`h`: ridge functions of pairwise non-parallel directions are
      independent, for relu, abs and sign by their kinks or jumps on the distinct hyperplanes
      :math:`w_i\cdot x = 0`, for tanh and erf because their odd Taylor coefficients do not
      vanish (:math:`\sum_i c_i (w_i\cdot x)^k = 0` for every odd :math:`k` forces
      :math:`c = 0`).

    Parameters
    ----------
    input_dim, width : int
        :math:`d, h \ge 1`.
    activation : str
        One of ``MODEL_ACTIVATIONS["random-features"]``.

    Returns
    -------
    int
    """
    d = _check_count("input_dim", input_dim)
    h = _check_count("width", width)
    allowed = MODEL_ACTIVATIONS["random-features"]
    if activation not in allowed:
        raise ValueError(f"activation must be one of {', '.join(allowed)}; got {activation!r}")
    if activation == "identity":
        return min(h, d)
    if d == 1:
        return min(h, _RANK_AT_ONE_DIM.get(activation, h))
    return h


def phi_c(model: str = "gaussian", loss: str = "hinge", labels: str = "random", *,
          activation: str | None = None, input_dim: int | None = None,
          width: int | None = None, depth: int | None = None, bias: bool | None = None,
          psi: float | None = None) -> CriticalDensity:
    r"""Predicted critical density :math:`\phi_c` of a model linear in its parameters.

    Parameters
    ----------
    model : {"gaussian", "random-features", "ntk"}
        Gaussian features (``width`` of them, :math:`N_\mathrm{eff}` = ``width``); random
        features :math:`\sigma(Wx/\sqrt d)` (``width`` of them, or :math:`\psi d`;
        ``input_dim`` is then needed: :math:`N_\mathrm{eff}` is
        :func:`random_features_rank`); or the empirical-NTK features of a fully connected
        network (``input_dim``, ``width``, ``depth``, ``activation``, ``bias``) linearised at
        initialisation, whose :math:`N_\mathrm{eff}` is the generic Jacobian rank
        (:func:`jamming.theory.parameters.effective_parameters`).
    loss : {"square", "hinge", "quadratic-hinge"}
    labels : {"random", "teacher"}
        Random :math:`\pm1` labels, or the sign of a teacher direction on the inputs.
    activation : str, optional
        Of the random features or the network, one of ``MODEL_ACTIVATIONS[model]``
        (default ``"relu"``).
    input_dim, width : int, optional
        :math:`d` and :math:`h`, in :math:`[1, 2^{53}]`.
    depth : int, optional
        Hidden layers of the network (default 1).
    bias : bool, optional
        Biases in the hidden layers of the network (default ``False``).
    psi : float, optional
        :math:`\psi = N_\mathrm{eff}/d` of random features, in :math:`(0, 2^{53}]`.

    Only the parameters of ``model`` may be given (:data:`APPLIES_TO`); the others must
    be ``None``.

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

    NTK features with teacher labels have no prediction here (``ValueError``), nor random
    features with teacher labels whose rank is below their number (:math:`d = 1`: the
    Gaussian-equivalence threshold counts features in general position).

    Raises
    ------
    ValueError
        For a parameter that does not apply to ``model``, an activation outside
        ``MODEL_ACTIVATIONS[model]``, sizes out of range, contradictory or missing for the
        answer, and :math:`N_\mathrm{eff} = \psi d` rounding to 0; the message names the
        parameters (``input_dim``, ``model='ntk'``).
    """
    for name, value, allowed in (("model", model, MODELS), ("loss", loss, PHI_C_LOSSES),
                                 ("labels", labels, LABELS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    for name, value in (("activation", activation), ("input_dim", input_dim), ("depth", depth),
                        ("bias", bias), ("psi", psi)):
        if value is not None and model not in APPLIES_TO[name]:
            models = " or ".join(f"model={m!r}" for m in APPLIES_TO[name])
            raise ValueError(f"{name} applies only to {models}; got model={model!r}")
    if model != "gaussian":
        activation = "relu" if activation is None else activation
        if activation not in MODEL_ACTIVATIONS[model]:
            raise ValueError(f"activation={activation!r} is not supported by model={model!r}; "
                             f"allowed: {', '.join(MODEL_ACTIVATIONS[model])}")
    input_dim = None if input_dim is None else _check_size("input_dim", input_dim)
    width = None if width is None else _check_size("width", width)
    if model == "gaussian":
        n_eff, psi = width, None
    elif model == "ntk":
        n_eff, psi = _ntk_size(activation, input_dim, width, depth, bias), None
    else:
        n_eff, psi, width = _random_features_size(activation, input_dim, width, psi)
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
            raise ValueError("model='random-features' with labels='teacher' needs "
                             "psi (= N_eff/d), or width and input_dim")
        value = random_features_sign_teacher_phi_c(psi, activation)
        if n_eff is not None and n_eff < width and math.isfinite(value):
            raise ValueError(f"the Gaussian-equivalence threshold counts features in general "
                             f"position; {activation} features at input_dim={input_dim} span "
                             f"{n_eff} dimensions, fewer than their number {width}")
        formula = (f"Gaussian equivalence of {activation} features at {psi:g} features per "
                   "input dimension and the Candes-Sur threshold 1/h_probit(gamma_eff)")
        reference = ("E. J. Candes, P. Sur, Ann. Statist. 48, 27 (2020); S. Goldt et al., "
                     "Gaussian equivalence (2020); see jamming.theory.teacher")
    else:
        raise ValueError("no phi_c prediction for labels='teacher' with model='ntk' (an open "
                         "question of study S1)")
    return CriticalDensity(phi_c=value, n_eff=n_eff,
                           n_data=None if n_eff is None else value * n_eff,
                           formula=formula, reference=reference)


def _check_size(name: str, value) -> int:
    """``value`` as an int in ``[1, MAX_COUNT]``."""
    value = _check_count(name, value)
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be an integer in [1, 2**53]; got {value}")
    return value


def _ntk_size(activation, input_dim, width, depth, bias) -> int:
    """N_eff of the NTK features."""
    if input_dim is None or width is None:
        raise ValueError("model='ntk' needs input_dim and width")
    n_eff = effective_parameters(input_dim, width, depth=1 if depth is None else depth,
                                 activation=activation,
                                 bias=False if bias is None else bias).n_eff
    if n_eff > MAX_COUNT:
        raise ValueError(f"N_eff = {n_eff} of model='ntk' must be <= 2**53, the largest count "
                         "float64 holds exactly; lower input_dim, width or depth")
    return n_eff


def _random_features_size(activation, input_dim, width, psi):
    """N_eff (or None), psi (or None) and the number of random features (or None)."""
    psi = None if psi is None else _check_real("psi", psi, 0, strict=True, high=MAX_COUNT)
    if width is not None and input_dim is None:
        raise ValueError("model='random-features' needs input_dim with width: N_eff, the "
                         "rank of the features, depends on the input dimension")
    if input_dim is None:
        return None, psi, None
    if psi is None:
        psi = None if width is None else width / input_dim
    else:
        size = psi * input_dim
        product = f"psi * input_dim = {psi:g} * {input_dim} = {size:g}"
        if size > MAX_COUNT:
            raise ValueError(f"N_eff = {product} must be <= 2**53, the largest count float64 "
                             "holds exactly")
        if width is None:
            width = round(size)
            if width == 0:
                raise ValueError(f"N_eff = {product} rounds to 0 features; psi "
                                 f"must be > {0.5 / input_dim:g} at input_dim={input_dim}")
        elif abs(width - size) > 0.5:
            raise ValueError(f"width={width} contradicts {product}")
    n_eff = None if width is None else random_features_rank(input_dim, width, activation)
    return n_eff, psi, width
