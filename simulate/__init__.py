"""Finite-size simulations, the results store and resumable sweeps.

Heavy dependencies (torch, numba) are imported inside the modules that need them, never here.
"""
