"""gan_jax: GANs in JAX/Flax. Importing the package sets gan_jax's XLA defaults (xla_defaults.py)."""
from gan_jax import xla_defaults as _xla_defaults

_xla_defaults.apply()
