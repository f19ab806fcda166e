"""jamming: theory meets simulation for the jamming transition of neural-network training.

The import package is split in three sub-packages that live in top-level folders of the
repository (see ``setup.cfg``):

``jamming.theory``
    Predictions from formulas (numpy, scipy, sympy, mpmath only).
``jamming.simulate``
    Finite-size data from models and optimizers, the results store and sweeps.
``jamming.compare``
    Claims: theory against simulation, figures and verdicts.

``import jamming`` is deliberately light: it imports neither torch nor numba.
"""

__version__ = "0.1.0"
