"""Simulators: finite networks, solvers and optimizers; arrays in, arrays out.

The grids that run them, and the results store, are in :mod:`jamming.sweeps`. Heavy
dependencies (torch, numba) are imported inside the modules that need them, never here.
"""

#: The public modules (each imported on demand: ``from jamming.simulate import <module>``).
__all__ = ["activations", "data", "devices", "diagonal", "ensemble_inputs", "features",
           "generalization", "hinge", "hinge_path", "kernel_drift", "kernel_estimates",
           "kernel_flow", "lazy", "maps", "network_jamming", "networks", "random_streams",
           "readout_paths", "relu1d", "rf_spectrum", "sde", "separability", "spectra",
           "torch_ensembles", "trained_features"]
