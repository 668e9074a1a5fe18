"""The CPU speed changes tried for the update step, each measured against its alternative.

  .venv/bin/python scripts/perf_experiments.py [--steps 8] [--rounds 2]
      [--archs dcgan28,sngan_cnn32,ring8_mlp]

Whole update steps (gan_jax's real update: gan_jax/bench.py's Step at batch 64, and
experiments/ring8.py's MLPs at batch 100), each configuration in
a fresh process because XLA flags are read once per process, alternating configurations over
--rounds rounds:
  - XLA's default CPU kernels (YNNPACK fusions; GAN_JAX_XLA_DEFAULTS=0) against gan_jax's default
    (Eigen convolutions and dots, gan_jax/xla_defaults.py), float32;
  - model.dtype=bfloat16 against float32, both with gan_jax's defaults.
Single layers (forward plus gradients with respect to input and kernel, in this process, gan_jax's
defaults), each pair alternating, median of 3 repeats:
  - a strided convolution directly against its space-to-depth form (a stride-1 convolution of the
    space-to-depth input with a rearranged, zero-padded kernel: the same function);
  - a convolution directly against im2col (patches times the kernel as one matrix product);
  - flax.linen.ConvTranspose against gan_jax's sub-pixel ConvTranspose (gan_jax/models/layers.py).
Writes docs/perf_experiments.json and docs/perf_experiments.md; docs/performance.md reads them.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import bench
from gan_jax import configs
from gan_jax import xla_defaults
from gan_jax.models import layers
from gan_jax.reports import tool_pages

WHOLE_STEP = [  # (label, environment, dtype)
    ('XLA default kernels (YNNPACK), float32', {'GAN_JAX_XLA_DEFAULTS': '0'}, 'float32'),
    ('gan_jax default (Eigen), float32', {'GAN_JAX_XLA_DEFAULTS': '1'}, 'float32'),
    ('gan_jax default (Eigen), bfloat16', {'GAN_JAX_XLA_DEFAULTS': '1'}, 'bfloat16'),
]


def _ring8_config(dtype):
  """experiments/ring8.py's update (PacGAN's 2-D MLPs, batch 100)."""
  config = configs.load_experiment(os.path.join(bench.ROOT, 'experiments', 'ring8.py'))
  config.model.dtype, config.eval.features = dtype, 'none'
  return config


def worker(arch, dtype, steps):
  """Runs in a fresh process: compiles the update, prints its steps/s (median of 3 timings)."""
  xla_defaults.apply()  # GAN_JAX_XLA_DEFAULTS, set by the parent, says whether.
  if arch == 'ring8_mlp':
    step, steps = bench.Step(_ring8_config(dtype)), steps * 25  # A ~20 ms step: time more.
  else:
    step = bench.Step(bench.reference_config(arch, 64, dtype))
    steps = max(2, steps // 2) if arch == 'sngan_cnn32' else steps  # A ~2 s step.
  step.rate(1)
  rates = [step.rate(steps) for _ in range(3)]
  print('RESULT ' + json.dumps({'steps_per_s': statistics.median(rates),
                                'xla_flags': os.environ.get('XLA_FLAGS', '')}))


def whole_steps(archs, steps, rounds):
  rows = []
  for arch in archs:
    rates = {label: [] for label, _, _ in WHOLE_STEP}
    flags = {}
    for _ in range(rounds):
      for label, env, dtype in WHOLE_STEP:
        if arch == 'ring8_mlp' and dtype != 'float32':
          continue  # bfloat16 is for the conv nets' accelerator runs.
        full = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
        full.update(env)
        out = subprocess.run([sys.executable, __file__, '--worker', arch, dtype, str(steps)],
                             env=full, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.split('RESULT ')[-1])
        rates[label].append(result['steps_per_s'])
        flags[label] = result['xla_flags']
    base = statistics.median(rates[WHOLE_STEP[0][0]])
    for label, _, dtype in WHOLE_STEP:
      if not rates[label]:
        continue
      median = statistics.median(rates[label])
      rows.append({'arch': arch, 'batch': 100 if arch == 'ring8_mlp' else 64, 'config': label,
                   'dtype': dtype, 'xla_flags': flags[label], 'steps_per_s': round(median, 3),
                   'rates': [round(r, 3) for r in rates[label]],
                   'vs_xla_default': round(median / base, 2)})
      print(json.dumps(rows[-1]), flush=True)
  return rows


# Single-layer alternatives -----------------------------------------------------------------------

def _conv(x, k, s, pad):
  return jax.lax.conv_general_dilated(x, k, (s, s), pad, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def _space_to_depth_conv(x, k, s, pad):
  """The strided convolution as a stride-1 one of space_to_depth(x) with the rearranged,
  zero-padded kernel: gan_jax/models/layers.py's SpaceToDepthConv as a function (its derivation)."""
  pads = [layers.space_to_depth_padding(n, kk, s, p)[0]
          for n, kk, p in zip(x.shape[1:3], k.shape[:2], pad)]
  xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
  return _conv(layers.space_to_depth(xp, s, s), layers.space_to_depth_kernel(k, (s, s)), 1,
               ((0, 0), (0, 0)))


def _im2col_conv(x, k, s, pad):
  kh, kw, c, o = k.shape
  xp = jnp.pad(x, ((0, 0), pad[0], pad[1], (0, 0)))
  oh, ow = (xp.shape[1] - kh) // s + 1, (xp.shape[2] - kw) // s + 1
  cols = [xp[:, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s, :]
          for i in range(kh) for j in range(kw)]
  return jnp.concatenate(cols, axis=-1) @ k.reshape(kh * kw * c, o)


def _transpose_pair(cin, cout, ksize, stride):
  """(flax ConvTranspose, gan_jax ConvTranspose) as functions of (x, kernel), 'SAME' padding."""
  mods = [nn.ConvTranspose(cout, (ksize, ksize), (stride, stride), padding='SAME', use_bias=False),
          layers.ConvTranspose(cout, (ksize, ksize), (stride, stride), use_bias=False)]
  return [lambda x, k, s, pad, m=m: m.apply({'params': {'kernel': k}}, x) for m in mods]


LAYERS = [  # (name, input NHWC, kernel, out channels, stride, padding, what, (base, alternative))
    ('dcgan28 D conv 2 (5x5/2, 64->128, 14->7)', (64, 14, 14, 64), 5, 128, 2, ((1, 2), (1, 2)),
     'space-to-depth', (_conv, _space_to_depth_conv)),
    ('sngan_cnn32 D conv (4x4/2, 64->64, 32->16)', (64, 32, 32, 64), 4, 64, 2, ((1, 1), (1, 1)),
     'space-to-depth', (_conv, _space_to_depth_conv)),
    ('sngan_cnn32 D conv (4x4/2, 128->128, 16->8)', (64, 16, 16, 128), 4, 128, 2,
     ((1, 1), (1, 1)), 'space-to-depth', (_conv, _space_to_depth_conv)),
    ('sngan_cnn32 D conv (4x4/2, 256->256, 8->4)', (64, 8, 8, 256), 4, 256, 2, ((1, 1), (1, 1)),
     'space-to-depth', (_conv, _space_to_depth_conv)),
    ('dcgan28 G layer 1 as conv (5x5/1, 256->128, 7x7)', (64, 7, 7, 256), 5, 128, 1,
     ((2, 2), (2, 2)), 'im2col', (_conv, _im2col_conv)),
    ('sngan_cnn32 D conv (3x3/1, 64->128, 16x16)', (64, 16, 16, 64), 3, 128, 1, ((1, 1), (1, 1)),
     'im2col', (_conv, _im2col_conv)),
    ('dcgan28 G transposed conv (5x5/2, 128->64, 7->14)', (64, 7, 7, 128), 5, 64, 2, None,
     'sub-pixel ConvTranspose', None),
    ('sngan_cnn32 G transposed conv (4x4/2, 512->256, 4->8)', (64, 4, 4, 512), 4, 256, 2, None,
     'sub-pixel ConvTranspose', None),
]


def single_layers():
  rng = np.random.default_rng(0)
  rows = []
  for name, shape, ksize, cout, stride, pad, what, pair in LAYERS:
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    k = jnp.asarray(rng.standard_normal((ksize, ksize, shape[-1], cout)) * 0.05, jnp.float32)
    pair = pair or _transpose_pair(shape[-1], cout, ksize, stride)
    fns = [jax.jit(jax.grad(lambda x, k, f=f: jnp.sum(jnp.sin(f(x, k, stride, pad))), (0, 1)))
           for f in pair]
    outs = [f(x, k, stride, pad) for f in pair]
    grads = [f(x, k) for f in fns]
    max_diff = max(float(jnp.max(jnp.abs(outs[0] - outs[1]))),
                   *(float(jnp.max(jnp.abs(a - b))) for a, b in zip(*grads)))
    base, alt = bench.alternating_ms(fns, (x, k), repeats=3, calls=4)
    rows.append({'layer': name, 'alternative': what, 'base_ms': round(base, 1),
                 'alternative_ms': round(alt, 1), 'speedup': round(base / alt, 2),
                 'max_abs_difference': float(f'{max_diff:.2g}')})
    print(json.dumps(rows[-1]), flush=True)
  return rows


def page(args, seconds: float, device: str, steps: list, layer_rows: list) -> list:
  lines = ['# CPU speed experiments', '',
           f'Generated by `.venv/bin/python scripts/perf_experiments.py --steps {args.steps} '
           f'--rounds {args.rounds} --archs {args.archs}` ({seconds:.0f} s); do not edit by hand. '
           f'Device: {device}; JAX {jax.__version__}. What each experiment is: the script\'s '
           'docstring; what it means: [performance.md](performance.md).', '',
           '## Whole update steps (medians of alternating fresh processes)', '',
           'ring8_mlp is experiments/ring8.py\'s update (PacGAN\'s 2-D MLPs, batch 100).', '',
           '| arch | batch | configuration | steps/s | vs XLA default |', '|---|---|---|---|---|']
  lines += [f'| {r["arch"]} | {r["batch"]} | {r["config"]} | {r["steps_per_s"]} | '
            f'{r["vs_xla_default"]}x |' for r in steps]
  lines += ['', '## Single layers (forward + input and kernel gradients, batch 64, float32, '
            "gan_jax's XLA defaults; medians of 3 alternating repeats)", '',
            '| layer | alternative | direct ms | alternative ms | speedup | max abs difference |',
            '|---|---|---|---|---|---|']
  return lines + [f'| {r["layer"]} | {r["alternative"]} | {r["base_ms"]} | '
                  f'{r["alternative_ms"]} | {r["speedup"]}x | {r["max_abs_difference"]} |'
                  for r in layer_rows]


def main():
  if len(sys.argv) > 1 and sys.argv[1] == '--worker':
    return worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=8,
                      help='timed steps per repeat (sngan_cnn32 half, ring8_mlp 25x)')
  parser.add_argument('--rounds', type=int, default=2)
  parser.add_argument('--archs', default='dcgan28,sngan_cnn32,ring8_mlp')
  parser.add_argument('--out', default=os.path.join(bench.ROOT, 'docs', 'perf_experiments'),
                      help='the page, without extension (.md and .json)')
  args = parser.parse_args()
  start = time.time()
  steps = whole_steps(args.archs.split(','), args.steps, args.rounds)
  xla_defaults.apply()  # The single layers run here, with gan_jax's defaults.
  layer_rows = single_layers()
  device = bench.device_description()
  lines = page(args, time.time() - start, device, steps, layer_rows)
  tool_pages.write(args.out, lines, {'device': device, 'jax': jax.__version__,
                                     'whole_steps': steps, 'layers': layer_rows})
  print('\n'.join(lines))


if __name__ == '__main__':
  main()
