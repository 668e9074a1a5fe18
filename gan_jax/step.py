"""The pure update step: (state, batch) -> (state, metrics) for one seed on one device's shard,
batch = {'image': real_NxBx..., 'label': labels_NxB} (the data source's keys; the real examples
are under `spec.data_key`).

An `UpdateSpec`, frozen and built once from the config (experiment.py), says everything the update
does: the models, the loss, the optimizers, penalties, weight clipping, the generator's EMA,
DiffAugment, class conditioning, PacGAN packing, the compute dtype and the data-parallel axis.
`update(spec, state, batch)`: N = optim.n_critic discriminator steps (`d_step`), step i on real
batch i and a fresh fake batch, then one generator step (`g_step`) on a fresh fake batch, against
the updated D (or, `simultaneous`, the D the step started from). Random
numbers of step t come from fold_in(state.rng, t), split by purpose with the fixed `Stream` tags,
so the step has no hidden state and a resumed run draws what an uninterrupted one draws.

Data parallel (`spec.axis_name` set, inside `jax.shard_map`; see parallel.py): each device holds a
shard of the real batch; the latents of a step are drawn for the global batch from the replicated
key and each device takes its slice, so the global fake batch is the one a single device would
draw; gradients, losses and batch-norm statistics are averaged over the axis with `pmean`; dropout,
augmentation and G's own noise (a Gumbel-softmax output's) keys are folded with the device index.
The state stays replicated.

Models run in training mode throughout (batch norm uses batch statistics, dropout is on; G gets
its own noise stream, for a Gumbel-softmax output). G's
collections (batch-norm running averages) are carried from each of its forward passes; D's are
carried from its own updates only (the G update reads D but leaves D's state as it was).
"""
import dataclasses
from typing import Any, Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import ada as ada_lib
from gan_jax import losses
from gan_jax import penalties as penalties_lib
from gan_jax import streams
from gan_jax.models import pack_samples
from gan_jax.state import GANState, sample_latent


class Stream:
  """fold_in tags of a step's random streams. Fixed numbers: never renumber one (the golden test,
  tests/test_golden.py, pins them); a new stream takes the next free number."""
  Z_D = 0  # Latents of a D step's fake batch.
  Z_G = 1  # Latents of the G step's fake batch.
  DROPOUT_REAL = 2  # D's dropout on real data, D step.
  DROPOUT_FAKE = 3  # D's dropout on fake data, D step.
  DROPOUT_G = 4  # D's dropout on fake data, G step.
  PENALTY = 5  # Penalty randomness (interpolates, perturbations), folded with the penalty index.
  DROPOUT_G_REAL = 6  # D's dropout on real data in the G step (relativistic losses).
  AUG_REAL = 7  # DiffAugment's or ADA's augmentation of real data.
  AUG_FAKE = 8  # DiffAugment's or ADA's augmentation of fake data.
  Y_D = 9  # Fake class labels, D step.
  Y_G = 10  # Fake class labels, G step.
  G_NOISE_D = 11  # G's own noise (a Gumbel-softmax output's), D step.
  G_NOISE_G = 12  # G's own noise, G step.


@dataclasses.dataclass(frozen=True)
class UpdateSpec:
  """Everything the update does, built once from the config (experiment.Experiment.update_spec).

  penalties: ((name, weight), ...) of gan_jax.penalties with weight > 0, added to D's loss;
  lazy_every: lazy penalties (r1, r2) every k-th step only, with weight x k (StyleGAN2);
  weight_clip > 0: D's parameters clipped to [-c, c] after each update (WGAN);
  simultaneous: the G step reads D's parameters and state from before the step's D updates;
  ema_decay > 0: g_ema_params follows G's parameters, p_ema <- d p_ema + (1 - d) p, from step
  ema_start on (a plain copy before); augment: DiffAugment (augment.make_augment) on D's inputs;
  ada: adaptive discriminator augmentation (ada.py) on D's inputs at the state's p, which moves
  after each update by the sign of D's real logits;
  acgan_weight: weight of an ACGAN D's classification losses (D: real and fake; G: fake);
  num_classes > 0: G and D are class-conditional (real batches carry labels, fake labels are drawn
  uniformly); pack > 1 (PacGAN): D sees packs of `pack` consecutive samples; compute_dtype (e.g.
  jnp.bfloat16): G and D compute in it from float32 parameters; axis_name: the data-parallel
  mesh axis (None: one device); vocab_size > 0: the real data are token ids, which D reads
  one-hot over this many tokens (G's outputs are distributions over them); sync_bn: the models' batch norm already averages its statistics
  over that axis (else only the running averages are averaged after each update).
  Burn-in schedules (optimizers.burnin_update_fields; None: constant, the update as without them):
  penalty_scale(step) multiplies every penalty weight at the D steps of `step` (R3GAN's gamma
  schedule); ema_schedule(step) is the EMA's decay after the update of `step` (in place of
  ema_decay, from step ema_start on as before).
  """
  generator: nn.Module
  discriminator: nn.Module
  loss: losses.Loss
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_dim: int
  latent_dist: str
  data_key: str = 'image'
  vocab_size: int = 0
  axis_name: Optional[str] = None
  sync_bn: bool = True
  pack: int = 1
  num_classes: int = 0
  compute_dtype: Any = None
  penalties: tuple = ()
  lazy_every: int = 1
  weight_clip: float = 0.0
  ema_decay: float = 0.0
  ema_start: int = 0
  simultaneous: bool = False
  augment: Optional[Callable] = None
  ada: Optional[ada_lib.AdaSpec] = None
  acgan_weight: float = 1.0
  penalty_scale: Optional[Callable] = None
  ema_schedule: Optional[Callable] = None


def forward(spec: UpdateSpec, module: nn.Module, params, variables: dict, x, key, labels=None):
  """Training-mode forward pass; returns (output, updated collections).

  Mixed precision (spec.compute_dtype): the float32 parameters and the input are cast to it, so
  every layer computes in it; gradients flow back through the casts to the float32 master
  parameters; batch-norm statistics stay float32; outputs are cast back to float32.
  """
  dtype = spec.compute_dtype
  rngs = {} if key is None else {'dropout': key}
  if dtype is not None:
    params = jax.tree.map(lambda p: p.astype(dtype) if jnp.issubdtype(p.dtype, jnp.floating)
                          else p, params)
    x = x.astype(dtype)
  out, updated = module.apply({'params': params, **variables}, x, train=True, labels=labels,
                              rngs=rngs, mutable=list(variables))
  if dtype is not None:
    out = jax.tree.map(lambda o: o.astype(jnp.float32), out)
  return out, {**variables, **updated}


def mean_over_devices(spec: UpdateSpec, tree):
  return tree if spec.axis_name is None else jax.lax.pmean(tree, spec.axis_name)


def _mean_vars(spec: UpdateSpec, variables):
  return variables if spec.sync_bn else mean_over_devices(spec, variables)


def _loss_kwargs(spec: UpdateSpec) -> dict:
  """A loss that compares logits with a batch mean gets the global batch's (losses.Loss)."""
  if not spec.loss.takes_batch_mean:
    return {}
  return {'batch_mean': lambda x: mean_over_devices(spec, jnp.mean(x))}


def _global_draw(spec: UpdateSpec, key, local_batch: int, draw: Callable):
  """draw(key, n) for the global batch from the replicated key; this device's slice."""
  if spec.axis_name is None:
    return draw(key, local_batch)
  n = jax.lax.axis_size(spec.axis_name)
  return jax.lax.dynamic_slice_in_dim(draw(key, local_batch * n),
                                      jax.lax.axis_index(spec.axis_name) * local_batch,
                                      local_batch)


def _latents(spec: UpdateSpec, key, local_batch: int):
  return _global_draw(spec, key, local_batch,
                      lambda k, n: sample_latent(k, n, spec.latent_dim, spec.latent_dist))


def _fake_labels(spec: UpdateSpec, key, local_batch: int):
  if not spec.num_classes:
    return None
  return _global_draw(spec, key, local_batch,
                      lambda k, n: jax.random.randint(k, (n,), 0, spec.num_classes))


def _stream(spec: UpdateSpec, key, tag: int):
  """The key of stream `tag`, the same on every device: the models draw their dropout and noise
  from it per example (streams.example_keys over `spec.axis_name`)."""
  del spec
  return jax.random.fold_in(key, tag)


def _example_keys(spec: UpdateSpec, key, tag: int, local_batch: int):
  """One key per row of this device's batch, from stream `tag` and the row's global index."""
  return streams.example_keys(jax.random.fold_in(key, tag), local_batch, spec.axis_name)


def d_input(spec: UpdateSpec, x, key, tag: int, state: GANState):
  """What D sees of a batch: DiffAugment'ed or ADA-augmented at the state's p (stream `tag`, per
  example), then packed."""
  if spec.augment is not None:
    x = spec.augment(x, _example_keys(spec, key, tag, x.shape[0]))
  if spec.ada is not None:
    x = ada_lib.augment(spec.ada, x, _example_keys(spec, key, tag, x.shape[0]), state.ada['p'])
  return pack_samples(x, spec.pack)


def split_d_output(out):
  """(logits_B, class_logits_BxK or None): an ACGAN D returns both, other Ds the logits."""
  return out if isinstance(out, tuple) else (out, None)


def _class_loss(class_logits, labels):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


def _penalty(spec: UpdateSpec, index: int, name: str, d_params, d_vars, state, real_in, fake_in,
             real_labels, y_fake, key):
  """One weighted-later penalty term of D's loss (lazy ones every spec.lazy_every steps)."""
  entry = penalties_lib.PENALTIES[name]
  pkey = jax.random.fold_in(jax.random.fold_in(key, Stream.PENALTY), index)
  labels = y_fake if entry.on_fake_labels else real_labels

  def d_fn(x):
    return split_d_output(forward(spec, spec.discriminator, d_params, d_vars, x, pkey, labels)[0])[0]

  keys_B = streams.example_keys(pkey, real_in.shape[0], spec.axis_name)
  compute = lambda: entry.fn(d_fn, real_in, fake_in, keys_B)
  if entry.lazy and spec.lazy_every > 1:
    return jax.lax.cond(state.step % spec.lazy_every == 0,
                        lambda: spec.lazy_every * compute(), lambda: jnp.zeros(()))
  return compute()


def _d_loss(spec: UpdateSpec, d_params, state, real, real_labels, fake, y_fake, key):
  """D's total loss and (d_vars, real_logits, fake_logits, plain d_loss, extra metrics)."""
  real_in = d_input(spec, real, key, Stream.AUG_REAL, state)
  fake_in = d_input(spec, fake, key, Stream.AUG_FAKE, state)
  real_out, d_vars = forward(spec, spec.discriminator, d_params, state.d_vars, real_in,
                             _stream(spec, key, Stream.DROPOUT_REAL), real_labels)
  fake_out, d_vars = forward(spec, spec.discriminator, d_params, d_vars, fake_in,
                             _stream(spec, key, Stream.DROPOUT_FAKE), y_fake)
  (real_logits, real_cls), (fake_logits, fake_cls) = map(split_d_output, (real_out, fake_out))
  d_loss = spec.loss.d_loss(real_logits, fake_logits, **_loss_kwargs(spec))
  total, extra = d_loss, {}
  if spec.ada is not None:  # ADA's overfitting heuristic reads the signs of D's real logits.
    extra['d_real_sign'] = jax.lax.stop_gradient(jnp.mean(jnp.sign(real_logits)))
  if real_cls is not None:  # ACGAN: D classifies real and fake images.
    extra['d_class_loss'] = _class_loss(real_cls, real_labels) + _class_loss(fake_cls, y_fake)
    total = total + spec.acgan_weight * extra['d_class_loss']
  for i, (name, weight) in enumerate(spec.penalties):
    value = _penalty(spec, i, name, d_params, d_vars, state, real_in, fake_in, real_labels,
                     y_fake, key)
    if spec.penalty_scale is not None:  # Burn-in of gamma: the weight at this step.
      weight = weight * spec.penalty_scale(state.step)
    total = total + weight * value
    extra[f'penalty_{name}'] = value
  return total, (d_vars, real_logits, fake_logits, d_loss, extra)


def d_step(spec: UpdateSpec, state: GANState, real, real_labels, key):
  """One discriminator update on a real batch and a fresh fake batch."""
  real_labels = real_labels if spec.num_classes else None
  z = _latents(spec, jax.random.fold_in(key, Stream.Z_D), real.shape[0])
  y_fake = _fake_labels(spec, jax.random.fold_in(key, Stream.Y_D), real.shape[0])
  fake, g_vars = forward(spec, spec.generator, state.g_params, state.g_vars, z,
                         _stream(spec, key, Stream.G_NOISE_D), y_fake)
  fake = jax.lax.stop_gradient(fake)
  loss_fn = lambda p: _d_loss(spec, p, state, real, real_labels, fake, y_fake, key)
  (_, (d_vars, real_logits, fake_logits, d_loss, extra)), grads = jax.value_and_grad(
      loss_fn, has_aux=True)(state.d_params)
  grads = mean_over_devices(spec, grads)
  d_vars, g_vars = _mean_vars(spec, (d_vars, g_vars))
  updates, d_opt_state = spec.d_tx.update(grads, state.d_opt_state, state.d_params)
  d_params = optax.apply_updates(state.d_params, updates)
  if spec.weight_clip > 0:
    d_params = jax.tree.map(lambda p: jnp.clip(p, -spec.weight_clip, spec.weight_clip), d_params)
  state = state.replace(d_params=d_params, d_opt_state=d_opt_state, d_vars=d_vars, g_vars=g_vars)
  metrics = mean_over_devices(spec, {'d_loss': d_loss,
                                     'd_real': jnp.mean(jax.nn.sigmoid(real_logits)),
                                     'd_fake': jnp.mean(jax.nn.sigmoid(fake_logits)), **extra})
  metrics['d_grad_norm'] = optax.tree.norm(grads)
  return state, metrics


def _g_loss(spec: UpdateSpec, g_params, state, z, y, real_logits, key):
  fake, g_vars = forward(spec, spec.generator, g_params, state.g_vars, z,
                         _stream(spec, key, Stream.G_NOISE_G), y)
  fake_out, _ = forward(spec, spec.discriminator, state.d_params, state.d_vars,
                        d_input(spec, fake, key, Stream.AUG_FAKE, state),
                        _stream(spec, key, Stream.DROPOUT_G), y)
  fake_logits, fake_cls = split_d_output(fake_out)
  g_loss = spec.loss.g_loss(real_logits, fake_logits, **_loss_kwargs(spec))
  total = g_loss
  if fake_cls is not None:  # ACGAN: G wants its images classified as their labels.
    total = total + spec.acgan_weight * _class_loss(fake_cls, y)
  return total, (g_loss, g_vars)


def g_step(spec: UpdateSpec, state: GANState, real, real_labels, key):
  """One generator update on a fresh fake batch (D on `real` only for relativistic losses)."""
  real_labels = real_labels if spec.num_classes else None
  z = _latents(spec, jax.random.fold_in(key, Stream.Z_G), real.shape[0])
  y = _fake_labels(spec, jax.random.fold_in(key, Stream.Y_G), real.shape[0])
  real_logits = None
  if spec.loss.g_needs_real:  # Relativistic losses compare with D on real data (no G gradient).
    real_logits = split_d_output(forward(
        spec, spec.discriminator, state.d_params, state.d_vars,
        d_input(spec, real, key, Stream.AUG_REAL, state),
        _stream(spec, key, Stream.DROPOUT_G_REAL),
        real_labels)[0])[0]
  loss_fn = lambda p: _g_loss(spec, p, state, z, y, real_logits, key)
  (_, (g_loss, g_vars)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
  grads, g_loss = mean_over_devices(spec, (grads, g_loss))
  g_vars = _mean_vars(spec, g_vars)
  updates, g_opt_state = spec.g_tx.update(grads, state.g_opt_state, state.g_params)
  state = state.replace(g_params=optax.apply_updates(state.g_params, updates),
                        g_opt_state=g_opt_state, g_vars=g_vars)
  return state, {'g_loss': g_loss, 'g_grad_norm': optax.tree.norm(grads)}


def _ema(spec: UpdateSpec, state: GANState) -> GANState:
  """The EMA after the update of step state.step - 1 (state.step already counts it)."""
  target = (spec.ema_decay if spec.ema_schedule is None
            else spec.ema_schedule(state.step - 1))
  decay = jnp.where(state.step <= spec.ema_start, 0.0, target)
  return state.replace(g_ema_params=jax.tree.map(
      lambda e, p: decay * e + (1.0 - decay) * p, state.g_ema_params, state.g_params))


def _schedule_step(state: GANState) -> GANState:
  """A G with a 'schedule' collection (an annealed Gumbel-softmax temperature) reads the
  training step there: every entry is set to it before G runs."""
  if 'schedule' not in state.g_vars:
    return state
  schedule = jax.tree.map(lambda x: jnp.asarray(state.step, x.dtype), state.g_vars['schedule'])
  return state.replace(g_vars={**state.g_vars, 'schedule': schedule})


def update(spec: UpdateSpec, state: GANState, batch: dict):
  """N D steps (N = the batch's leading axis, optim.n_critic), one G step, the EMA."""
  state = _schedule_step(state)
  real_NxB, labels_NxB = batch[spec.data_key], batch['label']
  if spec.vocab_size:  # Token ids: D reads real sequences one-hot, as G's distributions.
    real_NxB = jax.nn.one_hot(real_NxB, spec.vocab_size, dtype=jnp.float32)
  key = jax.random.fold_in(state.rng, state.step)
  d_before = (state.d_params, state.d_vars)
  d_metrics = []
  for i in range(real_NxB.shape[0]):  # n_critic, static and small: unrolled.
    state, m = d_step(spec, state, real_NxB[i], labels_NxB[i], jax.random.fold_in(key, 2 * i))
    d_metrics.append(m)
  metrics = jax.tree.map(lambda *xs: jnp.mean(jnp.stack(xs)), *d_metrics)
  d_after = (state.d_params, state.d_vars)
  if spec.simultaneous:  # G's step reads the D of before; the step ends with the updated D.
    state = state.replace(d_params=d_before[0], d_vars=d_before[1])
  state, g_metrics = g_step(spec, state, real_NxB[-1], labels_NxB[-1],
                            jax.random.fold_in(key, 2 * real_NxB.shape[0] + 1))
  if spec.simultaneous:
    state = state.replace(d_params=d_after[0], d_vars=d_after[1])
  metrics.update(g_metrics)
  if spec.ada is not None:
    ada, ada_metrics = ada_lib.adjust(spec.ada, state.ada, metrics.pop('d_real_sign'),
                                      state.step)
    state = state.replace(ada=ada)
    metrics.update(ada_metrics)
  state = state.replace(step=state.step + 1)
  if spec.ema_decay > 0:
    state = _ema(spec, state)
  return state, metrics


def make_update(spec: UpdateSpec) -> Callable:
  """(state, batch) -> (state, metrics): the plain update of one seed on one device's shard."""
  return lambda state, batch: update(spec, state, batch)


def jit_update(update_fn: Callable) -> Callable:
  """Compiles the update once, donating the incoming state's buffers."""
  return jax.jit(update_fn, donate_argnums=0)
