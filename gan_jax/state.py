"""GANState: everything a run carries from one update step to the next, as one pytree.

`g_vars` / `d_vars` hold the models' non-parameter collections (batch-norm statistics, later
spectral-norm vectors); `rng` is the run's base key, from which step t draws
`fold_in(rng, t)`, so resumed and uninterrupted runs draw the same numbers. A run's state has a
leading seed axis (`init_states`; size 1 for one seed): seed i is `replica(state, i)`.
"""
import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import ada as ada_lib
from gan_jax.models import LATENT_DISTS, pack_samples, reinitialize

# Named random streams: fold_in(key, STREAM) gives independent keys by purpose.
STREAM_G_INIT, STREAM_D_INIT, STREAM_TRAIN, STREAM_SAMPLE_Z, STREAM_EVAL_Z = 1, 2, 3, 4, 5
STREAM_STANDING_Z = 6  # Latents of standing batch-norm statistics (eval.bn_stats).


@dataclasses.dataclass(frozen=True)
class GANState:
  step: jax.Array
  rng: jax.Array
  g_params: Any
  g_vars: Any
  d_params: Any
  d_vars: Any
  g_opt_state: Any
  d_opt_state: Any
  g_ema_params: Any  # EMA of g_params (optim.ema_decay > 0), else their initial copy, unused.
  ada: Any = None  # ADA's p and its accumulators (ada.initial_state) with ada.mode set, else None.

  def replace(self, **changes) -> 'GANState':
    return dataclasses.replace(self, **changes)


_FIELDS = tuple(f.name for f in dataclasses.fields(GANState))


def _flatten_with_keys(s: GANState):
  """A pytree node keyed by field name (as orbax stores it); `ada` only when set, so a state
  without ADA has exactly the tree of the checkpoints written before ADA existed."""
  names = tuple(n for n in _FIELDS if not (n == 'ada' and s.ada is None))
  return [(jax.tree_util.GetAttrKey(n), getattr(s, n)) for n in names], names


jax.tree_util.register_pytree_with_keys(
    GANState, _flatten_with_keys, lambda names, children: GANState(**dict(zip(names, children))),
    flatten_func=lambda s: (lambda kv, names: ([v for _, v in kv], names))(*_flatten_with_keys(s)))


def stack_replicas(trees: list) -> Any:
  """Independent replicas (e.g. one state per seed) stacked on a new leading axis."""
  return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def replica(tree: Any, i: int) -> Any:
  """Replica i of a tree stacked by `stack_replicas`."""
  return jax.tree.map(lambda x: x[i], tree)


def split_variables(variables) -> tuple[Any, dict]:
  variables = dict(variables)
  params = variables.pop('params')
  return params, variables


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int, dist: str) -> jax.Array:
  """Latents of model.latent_dist `dist` (models.LATENT_DISTS; configs.validate checks it)."""
  return LATENT_DISTS[dist](key, batch_size, latent_dim)


def init_state(seed: int, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
               g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
               pack: int = 1, init_std: float = 0.0, ada_p: Optional[float] = None) -> GANState:
  """`pack`: D is built for packs of that many samples (PacGAN; models.pack_samples);
  `init_std` > 0: kernels redrawn from N(0, init_std), biases 0 (model.init_std); `ada_p`: ADA's
  initial p (None: no ADA)."""
  root = jax.random.PRNGKey(seed)
  z = jnp.zeros((2 * pack, latent_dim), jnp.float32)
  labels = jnp.zeros((2 * pack,), jnp.int32)  # Used by class-conditional models only.
  g_params, g_vars = split_variables(
      generator.init(jax.random.fold_in(root, STREAM_G_INIT), z, train=False, labels=labels))
  g_params = reinitialize(g_params, jax.random.fold_in(root, STREAM_G_INIT), init_std)
  fake = pack_samples(generator.apply({'params': g_params, **g_vars}, z, train=False,
                                      labels=labels), pack)
  d_params, d_vars = split_variables(
      discriminator.init(jax.random.fold_in(root, STREAM_D_INIT), fake, train=False,
                         labels=labels[:fake.shape[0]]))
  d_params = reinitialize(d_params, jax.random.fold_in(root, STREAM_D_INIT), init_std)
  return GANState(
      step=jnp.zeros((), jnp.int32),
      rng=jax.random.fold_in(root, STREAM_TRAIN),
      g_params=g_params, g_vars=g_vars, d_params=d_params, d_vars=d_vars,
      g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params),
      g_ema_params=jax.tree.map(jnp.array, g_params),
      ada=None if ada_p is None else ada_lib.initial_state(ada_p))


def init_states(seeds: list, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
                pack: int = 1, init_std: float = 0.0, ada_p: Optional[float] = None) -> GANState:
  """The states of `seeds` stacked on a leading seed axis (size 1 for one seed), each exactly
  its lone run's `init_state`."""
  return stack_replicas([init_state(s, generator, discriminator, latent_dim, g_tx, d_tx, pack,
                                    init_std, ada_p)
                         for s in seeds])


def sample_labels(key: jax.Array, num: int, num_classes: int):
  """Uniform class labels for a conditional G's samples; None when unconditional."""
  return jax.random.randint(key, (num,), 0, num_classes) if num_classes else None


def sample_z(seed: int, num: int, latent_dim: int, dist: str) -> jax.Array:
  """The fixed latent batch of a run's sample grids (the same at every step)."""
  return sample_latent(jax.random.fold_in(jax.random.PRNGKey(seed), STREAM_SAMPLE_Z), num,
                       latent_dim, dist)
