"""Simulators: finite networks, solvers and optimizers; arrays in, arrays out.

The grids that run them, and the results store, are in :mod:`jamming.sweeps`. Heavy
dependencies (torch, numba) are imported inside the modules that need them, never here.
"""
