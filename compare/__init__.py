"""Claims: theory against simulation, verdicts, figures and the paper's generated files."""

#: The public modules (each imported on demand: ``from jamming.compare import <module>``).
__all__ = ["claims", "diagonal_networks", "features", "figures", "finite_width", "generalization",
           "interpolation", "jamming_linear", "kernels", "large_steps", "network_jamming",
           "paper",
           "random_features", "registrations", "report", "sparse_features", "stats", "stochastic",
           "support_vectors", "trained_features", "unsat"]
