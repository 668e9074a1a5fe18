"""gan_jax: GANs in JAX/Flax. Importing it changes nothing global; the entry points (gan_jax.main,
gan_jax.sweep) apply gan_jax's XLA defaults (xla_defaults.py) through gan_jax.cli.prepare()."""
