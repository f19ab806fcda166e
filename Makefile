# jamming: the two commands that do everything on a fresh machine are
#   make paper    venv + install, validate every claim, figures, paper/main.pdf
#   make test     venv + install, the test suite
# and make docs: the API reference (Sphinx HTML in docs/_build/html; any warning fails it).
# Variables: SCALE (quick|paper|full, default paper), WORKERS (Dask worker processes for the
# sweeps, default 2; empty = in-process), VENV, PYTHON, TORCH (pip spec installed first).

PYTHON  ?= python3
VENV    ?= .venv
TORCH   ?= torch==2.13.0
SCALE   ?= paper
WORKERS ?= 2

BIN      := $(VENV)/bin
JAMMING  := $(BIN)/jamming
EXECUTOR := $(if $(strip $(WORKERS)),--workers $(WORKERS),)
TEX_PACKAGES := latexmk texlive-latex-recommended texlive-latex-extra \
                texlive-fonts-recommended texlive-science

.PHONY: install test validate figures paper bench lint docs clean check-latex

install: $(VENV)/.installed

# torch first, so that pip never resolves it to a multi-GB CUDA build on a CPU machine.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# pytest exits 5 when it collects no test: that is a failure here.
test: install
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

validate: install
	$(JAMMING) validate --scale $(SCALE) $(EXECUTOR)

figures: install
	$(JAMMING) figures --scale $(SCALE) $(EXECUTOR)

# Validate (a failing claim is reported, and still drawn in the paper), then build the PDF;
# the exit status is validate's when the paper builds.
paper: install check-latex
	$(JAMMING) validate --scale $(SCALE) $(EXECUTOR); status=$$?; \
	$(JAMMING) paper --scale $(SCALE) $(EXECUTOR) || exit $$?; exit $$status

check-latex:
	@command -v latexmk >/dev/null 2>&1 || { \
	  echo "latexmk is not installed; on Debian/Ubuntu run:" >&2; \
	  echo "  sudo apt-get install -y $(TEX_PACKAGES)" >&2; exit 1; }

# every benchmark script; timing.py is their helper module, nt_reference.py runs in the
# neural-tangents venv
BENCHMARKS = $(filter-out benchmarks/timing.py benchmarks/nt_reference.py,$(wildcard benchmarks/*.py))

bench: install
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff check .

# The API reference from the docstrings, with README, CONTRIBUTING, benchmarks/README and the
# pages of docs/ (sources in docs/sphinx); installs the docs extra when Sphinx is missing.
# A fresh build (-E) so that -W sees every warning, also on a rerun.
docs: install
	$(BIN)/python -c "import sphinx, numpydoc, myst_parser" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -E -W --keep-going -q -b html docs/sphinx docs/_build/html
	@echo "API reference: docs/_build/html/index.html"

clean:
	rm -rf paper/figures paper/generated docs/_build
	cd paper && rm -f main.aux main.bbl main.blg main.fdb_latexmk main.fls main.log main.out main.pdf
