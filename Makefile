# AutoRC-NNI. `make demo` runs the main job, `make test` the tests; both install first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# Real benchmark data lives beside the project, never in it (docs/design.md §8).
AUTORC_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export AUTORC_DATA_DIR
# Nothing is downloaded from a model hub at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: install test test-all test-scale servers lint demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# exactly this torch: the CPU build (a looser pin pulls several GB of CUDA packages)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -m "not slow" -q

test-all: install
	$(PY) -m pytest -q

# the servers of the scale-out tests (PostgreSQL, OpenSSH), from the OS packages
servers:
	.ci/install-servers

# scale-out on real servers: a PostgreSQL Optuna study shared by two workers (one killed),
# NNI's remote training service over ssh to 127.0.0.1; a missing server fails, not skips
test-scale: install servers
	AUTORC_REQUIRE_SERVERS=1 $(PY) -m pytest -m scale -q

lint: install
	$(VENV)/bin/ruff check autorc_nni search_spaces strategies pipeline trial tests benchmarks
	$(VENV)/bin/ruff format --check autorc_nni search_spaces strategies pipeline trial tests benchmarks
	$(VENV)/bin/mypy

demo: install
	$(VENV)/bin/autorc demo

bench: install
	$(PY) benchmarks/featurize.py
	$(PY) benchmarks/finetune.py
	$(PY) benchmarks/search.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
