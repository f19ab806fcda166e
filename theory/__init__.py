"""Predictions from formulas: numpy, scipy, sympy and mpmath only (no torch, numba or I/O)."""

#: The public modules (each imported on demand: ``from jamming.theory import <module>``).
__all__ = ["activations", "bottleneck", "capacity", "dichotomies", "function_space",
           "implicit_bias", "kernels", "label_noise_lasso", "mercer", "parameters", "phi_c",
           "random_matrix", "sde", "stabilization", "teacher"]
