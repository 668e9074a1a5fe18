"""XLA flags gan_jax sets by default, before JAX opens a backend (docs/performance.md).

`--xla_cpu_experimental_ynn_fusion_type=` (empty: no YNNPACK fusions) makes XLA:CPU run
convolutions and dots with its Eigen kernels instead of YNNPACK, which jaxlib 0.10 uses by default.
On the 2-core development CPU the whole training update ran faster with Eigen (measured by
scripts/perf_experiments.py; docs/perf_experiments.md, docs/performance.md). The flag only
concerns the CPU backend; GPU and TPU runs are unaffected.

A flag already named in the environment's XLA_FLAGS is left as the user set it, so
`XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=individual_convolution` (or any other value)
restores YNNPACK; `GAN_JAX_XLA_DEFAULTS=0` turns all of gan_jax's defaults off. If JAX's backends
are already initialised when gan_jax is imported (JAX used first, in a notebook), the flags can
no longer take effect and nothing is changed.
"""
import os

DEFAULTS = {
    'xla_cpu_experimental_ynn_fusion_type': '',
}


def merged_flags(current: str, defaults: dict = DEFAULTS) -> str:
  """`current` XLA_FLAGS plus every default flag it does not name already."""
  named = {part.lstrip('-').split('=', 1)[0] for part in current.split()}
  extra = [f'--{name}={value}' for name, value in defaults.items() if name not in named]
  return ' '.join([current.strip()] + extra).strip() if extra else current


def backends_initialized() -> bool:
  try:
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()
  except (ImportError, AttributeError):
    return False


def apply() -> bool:
  """Adds the defaults to os.environ['XLA_FLAGS'] while that can still matter; True if it did."""
  if os.environ.get('GAN_JAX_XLA_DEFAULTS', '1') == '0' or backends_initialized():
    return False
  os.environ['XLA_FLAGS'] = merged_flags(os.environ.get('XLA_FLAGS', ''))
  return True
