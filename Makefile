# make train: create .venv, install requirements.txt, train the default experiment.
# make test:  the same install, then the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
CONFIG ?= experiments/dcgan_mnist.py
WORKDIR ?= runs/dcgan_mnist
PYTEST_ARGS ?=

.PHONY: install train test bench clean

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

train: install
	$(BIN)/python -m gan_jax.main --config=$(CONFIG) --workdir=$(WORKDIR)

test: install
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

bench: install
	$(BIN)/python scripts/bench_scale.py
