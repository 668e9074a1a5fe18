"""The pure update step: (state, batch) -> (state, metrics), batch = {'image': real_NxBxHxWxC,
'label': labels_NxB}.

N = optim.n_critic: the discriminator takes N updates, update i on real batch i and a fresh fake
batch, then the generator takes one update on a fresh fake batch. Random numbers of step t come
from fold_in(state.rng, t), split by purpose, so the step has no hidden state.

Data parallel (`axis_name` set, inside `jax.shard_map`; see parallel.py): each device holds a
shard of the real batch; the latents of a step are drawn for the global batch from the replicated
key and each device takes its slice, so the global fake batch is the one a single device would
draw; gradients, losses and batch-norm statistics are averaged over the axis with `pmean`; dropout
keys are folded with the device index. The state stays replicated.

Models run in training mode throughout (batch norm uses batch statistics, dropout is on). G's
collections (batch-norm running averages) are carried from each of its forward passes; D's are
carried from its own updates only (the G update reads D but leaves D's state as it was).
"""
import dataclasses
from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax import losses
from gan_jax import penalties as penalties_lib
from gan_jax.models import pack_samples
from gan_jax.state import GANState, replica, sample_latent, stack_replicas

# Per-step stream tags for fold_in.
(_Z_D, _Z_G, _DROPOUT_REAL, _DROPOUT_FAKE, _DROPOUT_G, _PENALTY, _DROPOUT_G_REAL, _AUG_REAL,
 _AUG_FAKE, _Y_D, _Y_G) = range(11)


def _apply(module: nn.Module, params, variables: dict, x, key, labels=None, dtype=None):
  """Training-mode forward pass; returns (output, updated collections).

  `dtype` (mixed precision, model.dtype): the float32 parameters and the input are cast to it,
  so every layer computes in it; gradients flow back through the casts to the float32 master
  parameters; batch-norm statistics stay float32; outputs are cast back to float32.
  """
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


def split_d_output(out):
  """(logits_B, class_logits_BxK or None): an ACGAN D returns both, other Ds the logits."""
  return out if isinstance(out, tuple) else (out, None)


def _class_loss(class_logits, labels):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(class_logits, labels))


@dataclasses.dataclass(frozen=True)
class Regularizers:
  """What the update adds to the plain losses (from config.loss, config.optim, config.augment).

  penalties: ((name, weight), ...) of gan_jax.penalties with weight > 0, added to D's loss;
  lazy_every: r1 / r2 computed every k-th step only, with weight x k (StyleGAN2's lazy
  regularization); weight_clip > 0: D's parameters clipped to [-c, c] after each update (WGAN);
  ema_decay > 0: g_ema_params follows G's parameters, p_ema <- d p_ema + (1 - d) p, from step
  ema_start on (a plain copy before); augment: DiffAugment (augment.make_augment) on D's inputs;
  acgan_weight: weight of an ACGAN D's classification losses (D: real and fake; G: fake).
  """
  penalties: tuple = ()
  lazy_every: int = 1
  weight_clip: float = 0.0
  ema_decay: float = 0.0
  ema_start: int = 0
  augment: Optional[Callable] = None
  acgan_weight: float = 1.0


def make_update_fn(generator: nn.Module, discriminator: nn.Module, loss: losses.Loss,
                   g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
                   latent_dim: int, latent_dist: str,
                   axis_name: Optional[str] = None, sync_bn: bool = True,
                   pack: int = 1, reg: Regularizers = Regularizers(),
                   num_classes: int = 0, compute_dtype=None) -> Callable:
  """Returns the pure update function (not jitted; see `jit_update`).

  With `axis_name`, the function is the per-device body of a data-parallel step and must run
  inside `jax.shard_map` over that axis (parallel.py). `sync_bn` says whether the models'
  batch norm already averages its statistics over the axis (modules built with `bn_axis_name`);
  if not, each device normalises with its own batch statistics and only the running averages
  are averaged after each update, so the state stays replicated.
  `pack` > 1 (PacGAN): D sees packs of `pack` consecutive real, or fake, samples
  (models.pack_samples); losses and D(x), D(G(z)) are over packs. `reg`: penalties, weight
  clipping, DiffAugment and the generator's EMA (Regularizers). `num_classes` > 0: G and D are
  class-conditional; real batches carry their labels, fake labels are drawn uniformly.
  `compute_dtype` (e.g. jnp.bfloat16): G and D compute in it, from float32 parameters (_apply).
  """

  def run(module, params, variables, x, key, labels=None):
    return _apply(module, params, variables, x, key, labels, compute_dtype)

  def mean_over_devices(tree):
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)

  def mean_vars_over_devices(variables):
    return variables if sync_bn else mean_over_devices(variables)

  def global_draw(key, local_batch, draw):
    """draw(key, n) for the global batch from the replicated key; this device's slice."""
    if axis_name is None:
      return draw(key, local_batch)
    n = jax.lax.axis_size(axis_name)
    return jax.lax.dynamic_slice_in_dim(draw(key, local_batch * n),
                                        jax.lax.axis_index(axis_name) * local_batch, local_batch)

  def latents(key, local_batch):
    return global_draw(key, local_batch,
                       lambda k, n: sample_latent(k, n, latent_dim, latent_dist))

  def fake_labels(key, local_batch):
    if not num_classes:
      return None
    return global_draw(key, local_batch, lambda k, n: jax.random.randint(k, (n,), 0, num_classes))

  def device_key(key):
    return key if axis_name is None else jax.random.fold_in(key, jax.lax.axis_index(axis_name))

  def d_input(x, key, tag):
    """What D sees of a batch: DiffAugment'ed (per device: each holds other samples), packed."""
    if reg.augment is not None:
      x = reg.augment(x, device_key(jax.random.fold_in(key, tag)))
    return pack_samples(x, pack)

  def d_update(state: GANState, real_BxHxWxC, real_labels, key):
    batch_size = real_BxHxWxC.shape[0]
    real_labels = real_labels if num_classes else None
    z = latents(jax.random.fold_in(key, _Z_D), batch_size)
    y_fake = fake_labels(jax.random.fold_in(key, _Y_D), batch_size)
    fake, g_vars = run(generator, state.g_params, state.g_vars, z, None, y_fake)
    fake = jax.lax.stop_gradient(fake)

    def d_loss_fn(d_params):
      real_in, fake_in = d_input(real_BxHxWxC, key, _AUG_REAL), d_input(fake, key, _AUG_FAKE)
      real_out, d_vars = run(discriminator, d_params, state.d_vars, real_in,
                                device_key(jax.random.fold_in(key, _DROPOUT_REAL)), real_labels)
      fake_out, d_vars = run(discriminator, d_params, d_vars, fake_in,
                                device_key(jax.random.fold_in(key, _DROPOUT_FAKE)), y_fake)
      (real_logits, real_cls), (fake_logits, fake_cls) = map(split_d_output, (real_out, fake_out))
      d_loss = loss.d_loss(real_logits, fake_logits)
      total, extra = d_loss, {}
      if real_cls is not None:  # ACGAN: D classifies real and fake images.
        extra['d_class_loss'] = (_class_loss(real_cls, real_labels)
                                 + _class_loss(fake_cls, y_fake))
        total = total + reg.acgan_weight * extra['d_class_loss']
      for i, (name, weight) in enumerate(reg.penalties):
        pkey = device_key(jax.random.fold_in(jax.random.fold_in(key, _PENALTY), i))
        labels = y_fake if penalties_lib.ON_FAKE_LABELS.get(name) else real_labels
        d_fn = lambda x, k=pkey, y=labels: split_d_output(
            run(discriminator, d_params, d_vars, x, k, y)[0])[0]
        fn = lambda f=penalties_lib.PENALTIES[name], d=d_fn, k=pkey: f(d, real_in, fake_in, k)
        if name in penalties_lib.LAZY and reg.lazy_every > 1:
          value = jax.lax.cond(state.step % reg.lazy_every == 0,
                               lambda f=fn: reg.lazy_every * f(), lambda: jnp.zeros(()))
        else:
          value = fn()
        total = total + weight * value
        extra[f'penalty_{name}'] = value
      return total, (d_vars, real_logits, fake_logits, d_loss, extra)

    (_, (d_vars, real_logits, fake_logits, d_loss, extra)), grads = jax.value_and_grad(
        d_loss_fn, has_aux=True)(state.d_params)
    grads = mean_over_devices(grads)
    d_vars, g_vars = mean_vars_over_devices((d_vars, g_vars))
    updates, d_opt_state = d_tx.update(grads, state.d_opt_state, state.d_params)
    d_params = optax.apply_updates(state.d_params, updates)
    if reg.weight_clip > 0:
      d_params = jax.tree.map(lambda p: jnp.clip(p, -reg.weight_clip, reg.weight_clip), d_params)
    state = state.replace(d_params=d_params, d_opt_state=d_opt_state, d_vars=d_vars,
                          g_vars=g_vars)
    metrics = mean_over_devices({'d_loss': d_loss,
                                 'd_real': jnp.mean(jax.nn.sigmoid(real_logits)),
                                 'd_fake': jnp.mean(jax.nn.sigmoid(fake_logits)), **extra})
    metrics['d_grad_norm'] = optax.tree.norm(grads)
    return state, metrics

  def g_update(state: GANState, real_BxHxWxC, real_labels, key):
    real_labels = real_labels if num_classes else None
    z = latents(jax.random.fold_in(key, _Z_G), real_BxHxWxC.shape[0])
    y = fake_labels(jax.random.fold_in(key, _Y_G), real_BxHxWxC.shape[0])
    real_logits = None
    if loss.g_needs_real:  # Relativistic losses compare with D on real data (no G gradient).
      real_logits = split_d_output(run(
          discriminator, state.d_params, state.d_vars, d_input(real_BxHxWxC, key, _AUG_REAL),
          device_key(jax.random.fold_in(key, _DROPOUT_G_REAL)), real_labels)[0])[0]

    def g_loss_fn(g_params):
      fake, g_vars = run(generator, g_params, state.g_vars, z, None, y)
      fake_out, _ = run(discriminator, state.d_params, state.d_vars,
                           d_input(fake, key, _AUG_FAKE),
                           device_key(jax.random.fold_in(key, _DROPOUT_G)), y)
      fake_logits, fake_cls = split_d_output(fake_out)
      g_loss = loss.g_loss(real_logits, fake_logits)
      total = g_loss
      if fake_cls is not None:  # ACGAN: G wants its images classified as their labels.
        total = total + reg.acgan_weight * _class_loss(fake_cls, y)
      return total, (g_loss, g_vars)

    (_, (g_loss, g_vars)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(state.g_params)
    grads, g_loss = mean_over_devices((grads, g_loss))
    g_vars = mean_vars_over_devices(g_vars)
    updates, g_opt_state = g_tx.update(grads, state.g_opt_state, state.g_params)
    state = state.replace(g_params=optax.apply_updates(state.g_params, updates),
                          g_opt_state=g_opt_state, g_vars=g_vars)
    return state, {'g_loss': g_loss, 'g_grad_norm': optax.tree.norm(grads)}

  def update(state: GANState, batch: dict):
    real_NxBxHxWxC, labels_NxB = batch['image'], batch['label']
    key = jax.random.fold_in(state.rng, state.step)
    d_metrics = []
    for i in range(real_NxBxHxWxC.shape[0]):  # n_critic, static and small: unrolled.
      state, m = d_update(state, real_NxBxHxWxC[i], labels_NxB[i], jax.random.fold_in(key, 2 * i))
      d_metrics.append(m)
    metrics = jax.tree.map(lambda *xs: jnp.mean(jnp.stack(xs)), *d_metrics)
    state, g_metrics = g_update(state, real_NxBxHxWxC[-1], labels_NxB[-1],
                                jax.random.fold_in(key, 2 * real_NxBxHxWxC.shape[0] + 1))
    metrics.update(g_metrics)
    state = state.replace(step=state.step + 1)
    if reg.ema_decay > 0:
      decay = jnp.where(state.step <= reg.ema_start, 0.0, reg.ema_decay)
      state = state.replace(g_ema_params=jax.tree.map(
          lambda e, p: decay * e + (1.0 - decay) * p, state.g_ema_params, state.g_params))
    return state, metrics

  return update


SEED_LAYOUTS = ('loop', 'vmap')


def over_seeds(update_fn: Callable, layout: str) -> Callable:
  """The update of S independent replicas stacked on a leading axis, in one program.

  'vmap': jax.vmap of the update; every convolution over per-seed weights becomes a batched
  (grouped) one. 'loop': the replicas' updates written one after another (unrolled) in the same
  compiled program, on slices of the stacked state. `make bench` (docs/bench_scale.md), dcgan_mnist
  update at batch 64 on a 2-core CPU: a step of 8 seeds took 53x one seed's with 'vmap', 9.2x with
  'loop'; vmap measured 9.8x one seed on an H100 (../shared/bench/README.md).
  """
  if layout == 'vmap':
    return jax.vmap(update_fn)
  if layout != 'loop':
    raise ValueError(f'Unknown seed layout {layout!r}; valid: {list(SEED_LAYOUTS)}.')

  def looped(state, batches):
    num = jax.tree.leaves(batches)[0].shape[0]
    return stack_replicas([update_fn(replica(state, i), replica(batches, i))
                           for i in range(num)])
  return looped


def scan_steps(update_fn: Callable) -> Callable:
  """k updates in one call: (state, batches_Kx...) -> (state, metrics stacked over k).

  The scan is fully unrolled, at the cost of compiling k copies of the step: in a one-off
  measurement (dcgan_mnist update, batch 64, 2-core CPU, k=10) XLA's CPU backend ran a rolled
  scan about 22x slower per step than one step per call; unrolled, `make bench` finds it as fast.
  """
  def multi_step(state, batches):
    return jax.lax.scan(update_fn, state, batches, unroll=True)
  return multi_step


def jit_update(update_fn: Callable) -> Callable:
  """Compiles the update once, donating the incoming state's buffers."""
  return jax.jit(update_fn, donate_argnums=0)


def make_sample_fn(generator: nn.Module) -> Callable:
  """Jitted G in evaluation mode (running batch-norm statistics, no dropout); labels: the
  classes of a conditional G's samples (None for an unconditional G)."""
  @jax.jit
  def sample(g_params, g_vars, z_BxZ, labels_B=None):
    return generator.apply({'params': g_params, **g_vars}, z_BxZ, train=False, labels=labels_B)
  return sample
