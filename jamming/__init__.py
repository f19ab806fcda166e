"""jamming: theory meets simulation for the jamming transition of neural-network training.

The import package is split in four sub-packages that live in top-level folders of the
repository (see ``setup.cfg``), in the order data flows:

``jamming.theory``
    Predictions from formulas (numpy, scipy, sympy, mpmath only).
``jamming.simulate``
    Simulators: finite networks, solvers and optimizers; arrays in, arrays out.
``jamming.sweeps``
    Simulation grids run through the results store (the store, the runner, the catalog).
``jamming.compare``
    Claims: theory against simulation, figures and verdicts.

``import jamming`` is deliberately light: it imports neither torch nor numba.
"""

__version__ = "0.1.0"
