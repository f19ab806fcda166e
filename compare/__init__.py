"""Claims: theory against simulation, verdicts, figures and the paper's generated files."""
