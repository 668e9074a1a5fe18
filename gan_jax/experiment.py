"""Everything a run builds from its config before training: the data and its batch schedule, G and
D (built once), the optimizers, the update spec, the device mesh and the initial state.

`Experiment(config)` validates the config and the data before anything compiles. The state always
has a leading seed axis (S = num_seeds, seeds seed, seed+1, ...: each its own initialisation,
latents and data order) and one jitted call always runs K = train.steps_per_call updates, so a
host batch is always {key: (K, S, N, B, ...)} with N = optim.n_critic real batches per step and B
the batch (parallel.BATCH_AXIS), for every config.
"""
import dataclasses
from typing import Optional

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import ada as ada_lib
from gan_jax import augment as augment_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import losses
from gan_jax import models
from gan_jax import optimizers
from gan_jax import parallel
from gan_jax import sampling
from gan_jax import state as state_lib
from gan_jax import step as step_lib


def _with_axes(module, bn_axis_name, example_axis_name):
  """The module with its batch-norm statistics averaged over `bn_axis_name` (if it has batch
  norm) and its per-example random draws keyed over `example_axis_name` (if it draws any)."""
  fields = {f.name for f in dataclasses.fields(module)}
  axes = {'bn_axis_name': bn_axis_name, 'example_axis_name': example_axis_name}
  return module.clone(**{k: v for k, v in axes.items() if k in fields})


class Experiment:
  """A run's parts, built once from a validated config (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict, mesh: Optional[jax.sharding.Mesh] = None):
    configs.validate(config)
    self.config = config
    self.mesh = parallel.make_mesh() if mesh is None else mesh
    parallel.check_batch_size(config.data.batch_size, self.mesh, config.model.pack)
    self.source = data_lib.get_source(config.data)
    self.dataset = data_lib.get_split(self.source, config.data.split)
    self.seeds = [config.seed + i for i in range(config.num_seeds)]
    self.num_classes = self._num_classes()
    # Each seed's training examples: the split, or its data.per_class subset (subset seed
    # data.subset_seed + i for seed i).
    # With data.clusters = k, its labels are k-means clusters of those examples (clusters.py).
    self.train_sets = [data_lib.cluster_labelled(
        data_lib.class_subset(self.dataset, config.data.per_class, config.data.subset_seed + i,
                              repr(config.data.source)),
        config.data.get('clusters', 0), config.data.subset_seed + i)
                       for i in range(config.num_seeds)]
    self.batchers = [data_lib.Batcher(d, config.data.batch_size, s,
                                      with_labels=self.num_classes > 0)
                     for d, s in zip(self.train_sets, self.seeds)]
    self._check_model_takes_data()
    self.generator = models.make_generator(config.model, self.sample_shape,
                                           num_classes=self.num_classes)
    self.discriminator = models.make_discriminator(config.model, num_classes=self.num_classes)
    self.g_tx, self.d_tx = optimizers.make_optimizers(config.optim)
    self._standing = None  # eval.bn_stats='standing': built at first use (sampling_vars).
    self._check_augment()
    self._check_shapes()

  @property
  def kind(self) -> str:
    """'image', 'points' (vectors: the 2-D mixtures) or 'tokens' (sequences of token ids)."""
    if self.dataset.key == 'tokens':
      return 'tokens'
    return 'points' if len(self.dataset.element_shape) == 1 else 'image'

  @property
  def is_points(self) -> bool:
    return self.kind == 'points'

  @property
  def sample_shape(self) -> tuple:
    """The shape of one generated sample: the data's, or for token sequences of length L over
    V tokens (L, V), a distribution over the vocabulary at each position."""
    if self.kind == 'tokens':
      return (*self.dataset.element_shape, self.source.vocab.size)
    return tuple(self.dataset.element_shape)

  @property
  def uses_ema(self) -> bool:
    return self.config.optim.ema_decay > 0

  def _num_classes(self) -> int:
    """The class count of a conditional run (model.conditional), else 0."""
    if not self.config.model.conditional:
      return 0
    if self.config.data.get('clusters'):
      return int(self.config.data.clusters)
    if not self.source.num_classes or not self.dataset.has_labels:
      raise configs.ConfigError(
          f'model.conditional=True needs class labels; data.source='
          f'{self.config.data.source!r} has none. Set model.conditional=False.')
    return int(self.source.num_classes)

  def samples_to_text(self, samples_NxLxV) -> str:
    """Token-sequence runs: G's samples decoded (eval.text_decode) to text, a sample a line."""
    from gan_jax.evaluators import text
    tokens = text.decode(samples_NxLxV, self.config.eval.text_decode)
    return ''.join(self.source.vocab.decode(row) + '\n' for row in tokens)

  def _check_model_takes_data(self):
    """A sequence model with image or point data, or the reverse, fails here with the fix."""
    m = self.config.model
    for kind, name in (('generator', m.generator), ('discriminator', m.discriminator)):
      takes_tokens = models.takes_tokens(kind, name)
      if takes_tokens != (self.kind == 'tokens'):
        valid = models.names_for(kind, tokens=self.kind == 'tokens')
        takes = 'token sequences' if takes_tokens else 'images or points'
        raise configs.ConfigError(
            f'model.{kind}={name!r} takes {takes}; data.source={self.config.data.source!r} is '
            f'{self.kind}. Choose a {kind} for it: {valid}.')

  def _check_augment(self):
    if self.config.augment.policy and len(self.dataset.element_shape) != 3:
      raise configs.ConfigError(
          f'augment.policy={self.config.augment.policy!r} augments images; '
          f'{self.config.data.source!r} is not images. Set augment.policy=\'\'.')
    if self.config.ada.mode and len(self.dataset.element_shape) != 3:
      raise configs.ConfigError(
          f'ada.mode={self.config.ada.mode!r} augments images; '
          f'{self.config.data.source!r} is not images. Set ada.mode=\'\'.')

  def _check_shapes(self):
    """Traces (does not compile) G and D once, so shape mismatches fail with a clear message."""
    m, b = self.config.model, self.config.data.batch_size
    z = jax.ShapeDtypeStruct((b, m.latent_dim), jnp.float32)
    try:
      abstract = jax.eval_shape(lambda: self._init_seed_state(self.config.seed))
      fake = jax.eval_shape(
          lambda s, z: self.generator.apply({'params': s.g_params, **s.g_vars}, z, train=False,
                                            labels=jnp.zeros((b,), jnp.int32)),
          abstract, z)
    except Exception as e:
      raise configs.ConfigError(
          f'generator {m.generator!r} cannot make images of the data\'s shape '
          f'{self.dataset.element_shape}: {type(e).__name__}: {e}. Choose another '
          'model.generator, or resize the data with data.image_size.') from e
    if tuple(fake.shape[1:]) != self.sample_shape:
      raise configs.ConfigError(
          f'generator {m.generator!r} makes samples of shape {tuple(fake.shape[1:])}, the data '
          f'needs {self.sample_shape}. Set data.image_size to a size the generator '
          'supports (the DCGAN needs a multiple of 4).')

  def _init_seed_state(self, seed: int) -> state_lib.GANState:
    return state_lib.init_state(seed, self.generator, self.discriminator,
                                self.config.model.latent_dim, self.g_tx, self.d_tx,
                                self.config.model.pack, self.config.model.init_std,
                                self._ada_p())

  def _ada_p(self):
    """ADA's initial p, or None without ADA (the state then has no ada entry)."""
    return float(self.config.ada.p) if self.config.ada.mode else None

  def init_state(self) -> state_lib.GANState:
    """Every seed's initial state, stacked on the leading seed axis (size 1 for one seed)."""
    return state_lib.init_states(self.seeds, self.generator, self.discriminator,
                                 self.config.model.latent_dim, self.g_tx, self.d_tx,
                                 self.config.model.pack, self.config.model.init_std,
                                 self._ada_p())

  def update_spec(self, axis_name: Optional[str] = parallel.DATA_AXIS) -> step_lib.UpdateSpec:
    """The update's spec; `axis_name` None: the plain one-device update (a reference)."""
    m, lc, o, a = (self.config.model, self.config.loss, self.config.optim, self.config.augment)
    sync_bn = m.sync_bn and axis_name is not None
    bn_axis = axis_name if sync_bn else None
    return step_lib.UpdateSpec(
        generator=_with_axes(self.generator, bn_axis, axis_name),
        discriminator=_with_axes(self.discriminator, bn_axis, axis_name),
        loss=losses.get_loss(lc.name), g_tx=self.g_tx, d_tx=self.d_tx,
        latent_dim=m.latent_dim, latent_dist=m.latent_dist, axis_name=axis_name,
        data_key=self.dataset.key,
        vocab_size=self.source.vocab.size if self.kind == 'tokens' else 0,
        sync_bn=m.sync_bn, pack=m.pack, num_classes=self.num_classes,
        compute_dtype=None if m.dtype == 'float32' else jnp.dtype(m.dtype),
        penalties=tuple((n, float(w)) for n, w in sorted(lc.penalties.items()) if w > 0),
        lazy_every=lc.lazy_every, weight_clip=float(lc.weight_clip),
        ema_decay=float(o.ema_decay), ema_start=o.ema_start, simultaneous=o.simultaneous,
        augment=(augment_lib.make_augment(a.policy, a.translation_ratio, a.cutout_ratio)
                 if a.policy else None),
        ada=ada_lib.spec_from_config(self.config),
        acgan_weight=float(lc.acgan_weight), **optimizers.burnin_update_fields(o))

  def reference_update(self):
    """One seed's plain update on one device, (state, {key: N x B x ...}): tests compare the
    training update against it."""
    return step_lib.make_update(self.update_spec(axis_name=None))

  def update_fn(self):
    """The update training uses: (state_S, batch_KxSxNxB) -> (state_S, metrics_KxS), data
    parallel over the mesh, over seeds by train.seed_layout, K steps per call. Not jitted."""
    update = step_lib.make_update(self.update_spec())
    k = self.config.train.steps_per_call
    if k > 1 and self.mesh.devices.flat[0].platform == 'cpu':
      logging.warning(
          'train.steps_per_call=%d on the CPU: XLA:CPU runs every weight-gradient convolution '
          'inside the scanned loop with its unoptimised kernel (its ConvCanonicalization pass '
          'skips loop bodies), measured 11x slower per step than steps_per_call=1 '
          '(docs/bench_scale.md). It is meant for accelerators; on the CPU keep 1.', k)
    update = parallel.scan_steps(parallel.over_seeds(update, self.config.train.seed_layout))
    return parallel.data_parallel(update, self.mesh)

  def step_batch(self, step: int) -> dict:
    """This process's part of the real data of the call starting at `step`: {key: K x S x N x
    B x ...}."""
    part = parallel.process_slice(self.config.data.batch_size)
    n, k = self.config.optim.n_critic, self.config.train.steps_per_call
    stack = lambda trees: jax.tree.map(lambda *xs: np.stack(xs), *trees)
    return stack([stack([b.step_batch(t, n, part) for b in self.batchers])
                  for t in range(step, step + k)])

  def device_batch(self, step: int) -> dict:
    return parallel.put_batch(self.step_batch(step), self.mesh, self.config.data.batch_size)

  def place(self, state: state_lib.GANState) -> state_lib.GANState:
    """The state replicated on every device of the mesh."""
    return jax.device_put(state, parallel.replicated(self.mesh))

  def sampling_params(self, state: state_lib.GANState):
    """G's parameters that samples and evaluation use: the EMA's when the run keeps one."""
    return state.g_ema_params if self.uses_ema else state.g_params

  def sampling_vars(self, state: state_lib.GANState):
    """G's other variables for sampling, stacked over seeds: the running batch-norm statistics
    of training, or with eval.bn_stats='standing' each seed's standing statistics of its
    sampling parameters (sampling.standing_stats)."""
    if self.config.eval.bn_stats != 'standing':
      return state.g_vars
    if self._standing is None:
      self._standing = sampling.make_standing_sampler_vars(self.generator, self.config.model,
                                                           self.num_classes)
    both = (self.sampling_params(state), state.g_vars)
    return state_lib.stack_replicas([self._standing(*state_lib.replica(both, i), seed)
                                     for i, seed in enumerate(self.seeds)])
