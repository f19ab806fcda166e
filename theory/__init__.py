"""Predictions from formulas: numpy, scipy, sympy and mpmath only (no torch, numba or I/O)."""
