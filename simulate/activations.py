r"""The activation functions of the simulations, by name, in torch and in numpy.

One registry for every simulator (feature maps, networks, random-feature spectra), with the
names that :mod:`jamming.theory.kernels` uses for the same functions (each a name of the
registry :data:`jamming.theory.activations.REGISTRY`, one spelling, no aliases: ``identity``,
not ``linear``), so that a model written down once is read the same way by both sides:

- ``relu``: :math:`\max(z, 0)` (``stax.Relu()``);
- ``tanh``: :math:`\tanh z`;
- ``erf``: :math:`\operatorname{erf}(z)` (``stax.Erf()``);
- ``identity``: :math:`z` (``stax.Identity()``);
- ``abs``: :math:`|z|` (``stax.Abs()``);
- ``sin``: :math:`\sin z` (``stax.Sin()``);
- ``gelu``: :math:`z\,\Phi(z)` with :math:`\Phi` the standard normal cdf
  (``stax.Gelu(approximate=False)``);
- ``sigmoid``: the logistic function :math:`1/(1 + e^{-z})`.

The torch functions are those of ``torch`` itself (``torch.relu``, ``torch.special.erf``,
``torch.nn.functional.gelu``, ...), differentiable and usable under ``torch.func``; the
numpy functions take and return float64 arrays (``scipy.special`` for ``erf`` and
``sigmoid``). torch is imported only by :func:`torch_activation`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, expit

from jamming.validation import check_choice

#: Every activation a simulator accepts, by its canonical name.
ACTIVATIONS = ("relu", "tanh", "erf", "identity", "abs", "sin", "gelu", "sigmoid")


def _gelu(z):
    return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))


_NUMPY = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "erf": erf,
          "identity": np.copy, "abs": np.abs, "sin": np.sin, "gelu": _gelu, "sigmoid": expit}


def check_activation(activation, allowed: tuple[str, ...] = ACTIVATIONS) -> str:
    """Return ``activation`` if it is one of ``allowed`` (a subset of :data:`ACTIVATIONS`).

    Raises
    ------
    ValueError
        Naming the allowed activations and the value received.
    """
    return check_choice("activation", activation, allowed)


def numpy_activation(activation: str):
    """The activation as a numpy function of a float64 array (elementwise, new array).

    Parameters
    ----------
    activation : str
        One of :data:`ACTIVATIONS`.

    Returns
    -------
    callable
        ``phi(z) -> numpy.ndarray`` of the shape of ``z``.
    """
    return _NUMPY[check_activation(activation)]


def torch_activation(activation: str):
    """The activation as a torch function (elementwise, differentiable, any device/dtype).

    ``identity`` returns its argument itself (no copy), so that a linear layer adds no
    operation to the autograd graph.

    Parameters
    ----------
    activation : str
        One of :data:`ACTIVATIONS`.

    Returns
    -------
    callable
        ``phi(z) -> torch.Tensor``.
    """
    import torch

    functions = {"relu": torch.relu, "tanh": torch.tanh, "erf": torch.special.erf,
                 "identity": lambda z: z, "abs": torch.abs, "sin": torch.sin,
                 "gelu": torch.nn.functional.gelu, "sigmoid": torch.sigmoid}
    return functions[check_activation(activation)]
