"""Time to quality: sample quality against wall time, gan_jax's recipes beside the PyTorch reference.

  .venv/bin/python scripts/ttq.py [--recipes default,torch] [--budgets 2,5,10] [--table_only]
  make ttq                                 (every recipe of RECIPES, then docs/ttq.md)

Each recipe trains once, alone on the machine, for up to the largest budget (minutes of wall
time from the moment its process is launched: interpreter start, imports, data loading and
compilation count). Quality at a budget B is that of the newest snapshot taken before B:
- a gan_jax recipe is `python -m gan_jax.main --config=experiments/dcgan_mnist.py` with the
  recipe's overrides (its own train.num_steps: a run that ends before B is scored as it ended),
  a checkpoint every CKPT_EVERY steps (all kept: train.ckpt_keep=0) and no evaluation inside the
  run; this script times each checkpoint as it appears and stops the run at the last budget;
- `torch` is ../shared/bench/torch_reference.py's dcgan28 trained with its own recipe
  (scripts/ttq_torch.py, by .venv-torch/bin/python: `make torch-venv`), snapshots at the budgets.
Every snapshot is scored by gan_jax's feature protocol (gan_jax/evaluators/features.py) on 5,000
samples against the 4,500 mnist5k training digits in the mnist_classifier's feature space: FID,
precision / recall, density / coverage, confident_percent (samples labelled with p >= 0.9),
classes_present. gan_jax samples G in evaluation mode (the EMA of G where the recipe keeps one);
torch samples in training mode, as the PyTorch DCGAN example does.

Results go to runs/ttq/results.json as each recipe finishes (a finished recipe is read, not
rerun; --rerun NAME runs it again), then docs/ttq.md, docs/ttq.json and docs/ttq.png.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = os.path.join(ROOT, 'experiments', 'dcgan_mnist.py')
TORCH_PYTHON = os.path.join(ROOT, '.venv-torch', 'bin', 'python')
TORCH_REFERENCE = os.path.join(os.path.dirname(ROOT), 'shared', 'bench', 'torch_reference.py')
CKPT_EVERY = 250
NUM_SAMPLES = 5000
SHOWN = ('fid', 'precision', 'recall', 'density', 'coverage', 'confident_percent',
         'classes_present')

# The fields in which today's default differs from the one the earlier recipes were tried on:
# those recipes set them back, so that they stay what they were (and are read, not rerun).
EARLIER_DEFAULT = {'model.conditional': False, 'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4}
_BEFORE = {**EARLIER_DEFAULT, 'loss.name': 'minimax', 'optim.ema_decay': 0.0,
           'optim.ema_start': 0, 'augment.policy': '', 'model.g_kwargs.dcgan.base_features': 256,
           'model.d_kwargs.dcgan.base_features': 64, 'train.num_steps': 3500,
           'eval.bn_stats': 'running'}
_SMALL_FAST = {**EARLIER_DEFAULT, 'loss.name': 'non_saturating', 'optim.ema_decay': 0.99,
               'optim.ema_start': 2000, 'augment.policy': 'translation,cutout',
               'model.g_kwargs.dcgan.base_features': 128,
               'model.d_kwargs.dcgan.base_features': 32, 'train.num_steps': 8000,
               'eval.bn_stats': 'running'}
_EMA999 = {**EARLIER_DEFAULT, 'loss.name': 'non_saturating', 'optim.ema_decay': 0.999,
           'optim.ema_start': 1000, 'augment.policy': 'translation',
           'model.g_kwargs.dcgan.base_features': 128, 'model.d_kwargs.dcgan.base_features': 32,
           'train.num_steps': 5750, 'eval.bn_stats': 'standing'}
# name -> (overrides of experiments/dcgan_mnist.py, what it tries), in the order they were tried
# ('default' is the file as it is; 'torch' the reference).
RECIPES = {
    'default': ({}, 'experiments/dcgan_mnist.py as it is'),
    'before': (_BEFORE, 'the default before issue 16 (the TensorFlow tutorial\'s recipe): minimax '
                        'loss, no EMA, no DiffAugment, G 256 / D 64 wide, 3,500 steps'),
    'small_fast': (_SMALL_FAST, 'non-saturating loss, EMA of G (0.99 from step 2000), DiffAugment '
                                'translation+cutout, G 128 / D 32 wide, up to 8,000 steps'),
    'small_fast_standing': ({**_SMALL_FAST, 'eval.bn_stats': 'standing'},
                            'small_fast sampled with standing batch-norm statistics'),
    'before_standing': ({**_BEFORE, 'eval.bn_stats': 'standing'},
                        'before, sampled with standing batch-norm statistics'),
    'ema999': (_EMA999, 'non-saturating loss, EMA of G (0.999 from step 1000) with standing '
                        'batch-norm statistics, DiffAugment translation, G 128 / D 32 wide, 5,750 '
                        'steps'),
    'torch': (None, 'PyTorch reference dcgan28, its own recipe (batch 64, Adam 2e-4 / 0.5, '
                    'non-saturating, PyTorch initialisation)'),
}


def load_results(path) -> dict:
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  return {}


def save_results(path, results) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(results, f, indent=2)
  os.replace(tmp, path)


def recipe_config(overrides: dict):
  """experiments/dcgan_mnist.py with a recipe's overrides ('a.b.c': value)."""
  from gan_jax import configs, sweep
  return sweep.apply_overrides(configs.load_experiment(CONFIG), overrides)


def flag(value) -> str:
  return ','.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def train_jax(overrides: dict, workdir: str, budgets: list) -> dict:
  """Runs the recipe, timing each checkpoint as it appears; {step: seconds since launch}."""
  shutil.rmtree(workdir, ignore_errors=True)
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={CONFIG}', f'--workdir={workdir}',
         *(f'--config.{k}={flag(v)}' for k, v in overrides.items()),
         f'--config.train.ckpt_every={CKPT_EVERY}', '--config.train.ckpt_keep=0',
         '--config.eval.features=none']
  print(' '.join(cmd), flush=True)
  ckpt_dir, seen, limit = os.path.join(workdir, 'checkpoints'), {}, 60 * max(budgets)
  start = time.time()
  proc = subprocess.Popen(cmd, cwd=ROOT)
  while proc.poll() is None and time.time() - start < limit:
    time.sleep(0.2)
    for name in os.listdir(ckpt_dir) if os.path.isdir(ckpt_dir) else ():
      if name.isdigit() and int(name) not in seen:
        seen[int(name)] = time.time() - start
  if proc.poll() is None:
    proc.terminate()
    proc.wait()
  elif proc.returncode:
    raise RuntimeError(f'{" ".join(cmd)} failed with exit status {proc.returncode}.')
  for name in os.listdir(ckpt_dir):  # Saved since the last look: timed now (an upper bound).
    if name.isdigit() and int(name) not in seen:
      seen[int(name)] = time.time() - start
  return seen


def snapshot_at(seen: dict, seconds: float):
  """The newest checkpoint step saved within `seconds`, or None."""
  steps = [s for s, t in seen.items() if t <= seconds]
  return max(steps) if steps else None


def score_jax(overrides: dict, workdir: str, seen: dict, budgets: list, cache: dict) -> dict:
  """{budget: metrics, step, seconds} of the recipe's snapshot at each budget."""
  steps = {b: snapshot_at(seen, 60 * b) for b in budgets}
  scores = score_checkpoints(overrides, workdir, sorted({s for s in steps.values() if s}), cache)
  out = {}
  for b, step in steps.items():
    out[f'{b:g}'] = ({'step': None} if step is None else
                     {**scores[step], 'step': step, 'seconds': round(seen[step], 1)})
    if step is not None:
      print(f'  {b:g} min: step {step}: ' + fmt_metrics(scores[step]), flush=True)
  return out


def score_checkpoints(overrides: dict, workdir: str, steps: list, cache: dict) -> dict:
  """{step: metrics} of the recipe's checkpoints at `steps`, by the feature protocol."""
  from gan_jax import checkpoint as checkpoint_lib
  from gan_jax import evaluation
  from gan_jax.experiment import Experiment
  config = recipe_config(overrides)
  exp = Experiment(config)
  runner = evaluation.EvalRunner(config, exp.source, exp.dataset.element_shape,
                                 exp.num_classes, exp.generator, exp.seeds, cache)
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'), None)
  out = {}
  try:
    for step in steps:
      state = ckpt.restore(exp.place(exp.init_state()), step)
      out[step], = runner.evaluate(exp.sampling_params(state), exp.sampling_vars(state)).values()
  finally:
    ckpt.close()
  return out


def fmt_metrics(m: dict) -> str:
  return ', '.join(f'{k} {m[k]:.3g}' for k in SHOWN if m.get(k) is not None)


def train_torch(workdir: str, budgets: list) -> None:
  """The reference trained on the same 4,500 digits (written as (N, 1, 28, 28) for torch)."""
  from gan_jax import data as data_lib
  config = recipe_config({})
  shutil.rmtree(workdir, ignore_errors=True)
  os.makedirs(workdir)
  train = data_lib.get_split(data_lib.get_source(config.data), config.data.split)
  images = train.get(np.arange(train.size))
  np.save(os.path.join(workdir, 'train.npy'), np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
  for path, what in ((TORCH_PYTHON, 'make torch-venv'), (TORCH_REFERENCE, '../shared/bench')):
    if not os.path.exists(path):
      raise SystemExit(f'{path} is missing ({what}); the torch recipe needs it.')
  cmd = [TORCH_PYTHON, os.path.join(ROOT, 'scripts', 'ttq_torch.py'),
         f'--reference={TORCH_REFERENCE}', f'--data={os.path.join(workdir, "train.npy")}',
         f'--out={workdir}', f'--budgets={",".join(f"{b:g}" for b in budgets)}']
  print(' '.join(cmd), flush=True)
  subprocess.run(cmd + [f'--start={time.time()}'], cwd=ROOT, check=True)


def score_real(cache: dict) -> dict:
  """The protocol's numbers for the 500 mnist5k test digits (real digits the reference lacks)."""
  from gan_jax import data as data_lib
  from gan_jax import evaluators as evaluators_lib
  config = recipe_config({})
  source = data_lib.get_source(config.data)
  test = data_lib.get_split(source, 'test')
  features, = evaluators_lib.build(config, source, test.element_shape, 0, cache)
  return features.metrics_of_samples(test.get(np.arange(test.size)))


def score_torch(workdir: str, budgets: list, cache: dict) -> dict:
  from gan_jax import data as data_lib
  from gan_jax import evaluators as evaluators_lib
  config = recipe_config({})
  source = data_lib.get_source(config.data)
  shape = data_lib.get_split(source, config.data.split).element_shape
  features, = evaluators_lib.build(config, source, shape, 0, cache)
  out = {}
  for b in budgets:
    snap = np.load(os.path.join(workdir, f'samples_{b:g}.npz'))
    metrics = features.metrics_of_samples(snap['images'][:NUM_SAMPLES])
    out[f'{b:g}'] = {**metrics, 'step': int(snap['step']), 'seconds': round(float(snap['seconds']), 1)}
    print(f'  {b:g} min: step {int(snap["step"])}: ' + fmt_metrics(metrics), flush=True)
  return out


COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
          '#7f7f7f', '#bcbd22', '#17becf']


def plot_png(path, results: dict, budgets: list) -> None:
  """Two panels against minutes: FID (log scale) and % confident samples, a line per recipe."""
  from PIL import Image, ImageDraw
  left, top, w, h, gap, legend = 60, 30, 300, 240, 70, 230
  img = Image.new('RGB', (left + 2 * w + gap + legend, top + h + 50), 'white')
  draw = ImageDraw.Draw(img)
  x = lambda x0, b: x0 + b / max(budgets) * w
  fids = [r[f'{b:g}']['fid'] for r in results.values() for b in budgets
          if r.get(f'{b:g}', {}).get('fid')]
  lo, hi = np.log10(max(min(fids, default=1), 1)) // 1, np.log10(max(fids, default=10)) // 1 + 1
  panels = [('FID (mnist_classifier)', lambda v: top + h - (np.log10(v) - lo) / (hi - lo) * h,
             'fid', [10 ** k for k in range(int(lo), int(hi) + 1)], '{:g}'),
            ('% samples labelled with p >= 0.9', lambda v: top + h - v / 100 * h,
             'confident_percent', range(0, 101, 20), '{:g}%')]
  for i, (title, y, key, ticks, label) in enumerate(panels):
    x0 = left + i * (w + gap)
    draw.rectangle([x0, top, x0 + w, top + h], outline='black')
    draw.text((x0, 10), title, fill='black')
    for t in ticks:
      draw.line([x0 - 4, y(t), x0, y(t)], fill='black')
      draw.text((x0 - 40, y(t) - 6), label.format(t), fill='black')
    for b in budgets:
      draw.text((x(x0, b) - 8, top + h + 6), f'{b:g}', fill='black')
    draw.text((x0 + w // 2 - 60, top + h + 26), 'minutes of wall time', fill='black')
    for j, (name, r) in enumerate(results.items()):
      pts = [(x(x0, b), y(r[f'{b:g}'][key])) for b in budgets
             if r.get(f'{b:g}', {}).get(key) is not None]
      color = COLORS[j % len(COLORS)]
      if len(pts) > 1:
        draw.line(pts, fill=color, width=2)
      for px, py in pts:
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color)
  for j, name in enumerate(results):
    yy = top + 14 * j
    draw.line([left + 2 * w + gap + 10, yy + 6, left + 2 * w + gap + 30, yy + 6],
              fill=COLORS[j % len(COLORS)], width=3)
    draw.text((left + 2 * w + gap + 36, yy), name, fill='black')
  img.save(path)


def cell(m: dict, key: str) -> str:
  v = m.get(key)
  if v is None:
    return '—'
  return f'{v:.0f}' if key in ('classes_present', 'step') else (
      f'{v:.1f}' if key in ('fid', 'confident_percent') else f'{v:.2f}')


def reading(results: dict, budgets: list) -> list:
  """Generated sentences: the default against the reference at each budget, and the goal."""
  if 'default' not in results or 'torch' not in results:
    return []
  d, t = results['default'], results['torch']
  out = ['Reading (generated from the table):', '']
  for b in budgets:
    md, mt = d.get(f'{b:g}', {}), t.get(f'{b:g}', {})
    if md.get('fid') is None or mt.get('fid') is None:
      continue
    ahead = md['fid'] < mt['fid'] and md['confident_percent'] >= mt['confident_percent']
    out.append(f'- {b:g} min: default FID {md["fid"]:.1f} / {md["confident_percent"]:.1f}% '
               f'confident against torch {mt["fid"]:.1f} / {mt["confident_percent"]:.1f}%: '
               f'{"ahead on both" if ahead else "not ahead on both"}.')
  last = d.get(f'{max(budgets):g}', {})
  if last.get('fid') is not None:
    met = (last['fid'] <= 241.5 / 4 and last['confident_percent'] >= 90 and
           last['classes_present'] == 10)
    out.append(f'- Issue 16\'s goal at {max(budgets):g} min (FID <= 60.4, >= 90% confident, 10 '
               f'classes): {"met" if met else "not met"} by the default.')
  return out + labels_caveat(results, budgets)


def conditional(result: dict) -> bool:
  """Whether a recipe's G and D use the digits' labels (the torch reference does not)."""
  return (result.get('config') or {}).get('model.conditional') == 'True'


def labels_caveat(results: dict, budgets: list) -> list:
  """Generated: when the default uses labels, that the comparison is not like for like, and
  the best recipe without them at the last budget."""
  if not conditional(results['default']):
    return []
  key = f'{max(budgets):g}'
  plain = {n: r[key] for n, r in results.items()
           if not conditional(r) and r.get(key, {}).get('fid') is not None}
  out = ['- The default is class-conditional: it trains on the digits\' labels (its G draws each '
         'sample\'s digit uniformly, its D sees the label), which the torch reference and the '
         'recipes without labels do not use; it is ahead of them with more information, not '
         'like for like.']
  if plain:
    name, m = min(plain.items(), key=lambda kv: kv[1]['fid'])
    out[0] += (f' Without labels the best at {key} min is {name}: FID {m["fid"]:.1f}, '
               f'{m["confident_percent"]:.1f}% confident.')
  return out


def write_docs(results: dict, budgets: list, machine: str, real: dict) -> None:
  lines = [
      '# Time to quality: sample quality against wall time', '',
      'Generated by `make ttq` (scripts/ttq.py; its docstring is the protocol); do not edit by '
      f'hand. Machine: {machine}. Each recipe ran alone, once (seed 0); minutes are wall time '
      'from its launch (start-up and compilation included). Scores: 5,000 samples against the '
      '4,500 mnist5k training digits in the mnist_classifier\'s feature space (real digits score '
      'FID about 1 and density about 1 there; docs/evaluation.md).', '',
      f'The 500 mnist5k test digits (real, unseen by the reference; 500 rather than 5,000 '
      f'samples) score FID {real["fid"]:.1f}, precision {real["precision"]:.2f}, recall '
      f'{real["recall"]:.2f}, density {real["density"]:.2f}, coverage {real["coverage"]:.2f}, '
      f'{real["confident_percent"]:.1f}% confident, {real["classes_present"]} classes: what '
      'real digits reach under this protocol.', '',
      '![quality against wall time](ttq.png)', '',
      '| recipe | min | steps | FID | % confident | classes | precision | recall | density | '
      'coverage |', '|---|---|---|---|---|---|---|---|---|---|']
  for name, r in results.items():
    for b in budgets:
      m = r.get(f'{b:g}', {})
      lines.append(f'| {name} | {b:g} | ' + ' | '.join(cell(m, k) for k in (
          'step', 'fid', 'confident_percent', 'classes_present', 'precision', 'recall',
          'density', 'coverage')) + ' |')
  lines += ['', *reading(results, budgets)]
  lines += ['', 'Recipes (overrides of experiments/dcgan_mnist.py):', '']
  for name, r in results.items():
    over = RECIPES[name][0] if name in RECIPES else r.get('overrides')  # As defined now.
    shown = '—' if not over else ' '.join(f'`{k}={flag(v)}`' for k, v in over.items())
    twin = ''
    if r.get('trained_by'):
      other = results.get(r['trained_by'], {}).get('config', {})
      every = (other.get('train.sample_every'), r['config'].get('train.sample_every'))
      twin = (f' Scored on the checkpoints of **{r["trained_by"]}**, trained identically' + (
          f' but for its pictures (every {every[0]} steps there, every {every[1]} here: that '
          'run\'s clock paid for fewer)' if every[0] != every[1] else '') + '.')
    what = RECIPES[name][1] if name in RECIPES else r.get('what', '')
    lines.append(f'- **{name}**: {what}. {shown if over is not None else ""}{twin}')
  lines.append('')
  with open(os.path.join(ROOT, 'docs', 'ttq.md'), 'w') as f:
    f.write('\n'.join(lines))
  with open(os.path.join(ROOT, 'docs', 'ttq.json'), 'w') as f:
    json.dump({'budgets': budgets, 'machine': machine, 'real_test_digits': real,
               'results': results}, f, indent=2)
  plot_png(os.path.join(ROOT, 'docs', 'ttq.png'), results, budgets)
  print('\n'.join(lines))


def run_recipe(name: str, budgets: list, workdir: str, cache: dict, results: dict,
               rerun: list) -> dict:
  """Trains and scores a recipe; a gan_jax recipe whose training fields equal a finished one's
  (only eval.* or the cadences differ, e.g. eval.bn_stats or how often pictures are drawn) is
  scored on that run's checkpoints, not retrained."""
  overrides, what = RECIPES[name]
  print(f'== {name}: {what}', flush=True)
  extra = {}
  if overrides is None:
    train_torch(workdir, budgets)
    scores = score_torch(workdir, budgets, cache)
  else:
    twin = trained_twin(results, overrides, os.path.dirname(workdir), name, rerun, budgets)
    if twin:
      print(f'   (same training as {twin!r}: its checkpoints are scored)', flush=True)
      workdir, seen = os.path.join(os.path.dirname(workdir), twin), checkpoint_seconds(
          results[twin])
      extra['trained_by'] = twin
    else:
      seen = train_jax(overrides, workdir, budgets)
    scores = score_jax(overrides, workdir, seen, budgets, cache)
    extra['checkpoint_seconds'] = {str(k): v for k, v in sorted(seen.items())}
  return {**scores, 'overrides': overrides, 'what': what, 'config': resolved(overrides),
          'budgets': budgets, **extra, 'finished': time.time()}


def checkpoint_seconds(result: dict) -> dict:
  """{step: seconds} of a finished recipe's checkpoints (or of its scored snapshots, for
  results written before the checkpoint times were kept)."""
  if 'checkpoint_seconds' in result:
    return {int(k): v for k, v in result['checkpoint_seconds'].items()}
  return {m['step']: m['seconds'] for m in result.values()
          if isinstance(m, dict) and m.get('step') is not None and 'seconds' in m}


# Fields that change neither what is trained nor how it is scored (pictures, logs, checkpoints).
CADENCES = ('train.log_every', 'train.sample_every', 'train.ckpt_every', 'train.ckpt_keep',
            'train.eval_every')


def filled(config: dict) -> dict:
  """A recipe's resolved config with the fields a newer gan_jax added since it was recorded, at
  their defaults (which change nothing: gan_jax.configs' rule for a resumed workdir)."""
  from gan_jax import configs
  if config is None:
    return None
  added = {k: str(v) for k, v in configs.flatten(configs.base_config().to_dict()).items()}
  return {**added, **config}


def identity(config: dict) -> dict:
  """What makes a recipe's numbers: its config without the cadences."""
  return {k: v for k, v in (filled(config) or {}).items() if k not in CADENCES}


def training_fields(config: dict) -> dict:
  """What a run's checkpoints and their times depend on: all but eval.* and how often pictures
  are drawn (a picture costs well under a second; the difference is named in docs/ttq.md)."""
  return {k: v for k, v in (filled(config) or {}).items()
          if not k.startswith('eval.') and k != 'train.sample_every'}


def covers(result: dict, budgets: list) -> bool:
  """Whether a finished run's checkpoints reach the largest budget: it ran to its last step,
  or it was stopped at a limit at least that large."""
  seen = checkpoint_seconds(result)
  done = max(seen, default=-1) == int(result['config']['train.num_steps'])
  return done or 60 * max(result.get('budgets', (2, 5, 10))) >= 60 * max(budgets)


def trained_twin(results: dict, overrides: dict, root: str, name: str, rerun: list,
                 budgets: list):
  """Another finished recipe trained exactly as `overrides` would be (training_fields), with its
  checkpoints on disk, covering the budgets; None when `name` is to be rerun."""
  if name in rerun:
    return None
  mine = training_fields(resolved(overrides))
  for other, r in results.items():
    if (other != name and r.get('config') and checkpoint_seconds(r) and
        'trained_by' not in r and training_fields(r['config']) == mine and
        covers(r, budgets) and os.path.isdir(os.path.join(root, other, 'checkpoints'))):
      return other
  return None


def resolved(overrides):
  """The recipe's whole config (flattened), to tell when a recipe's definition changed."""
  from gan_jax import configs
  if overrides is None:
    return None
  return {k: str(v) for k, v in configs.flatten(recipe_config(overrides).to_dict()).items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--recipes', default=','.join(RECIPES))
  parser.add_argument('--budgets', default='2,5,10')
  parser.add_argument('--workdir', default=os.path.join(ROOT, 'runs', 'ttq'))
  parser.add_argument('--rerun', default='', help='Comma-separated recipes to run again.')
  parser.add_argument('--table_only', action='store_true')
  args = parser.parse_args()
  from scripts.bench_scale import device_description
  budgets = [float(b) for b in args.budgets.split(',')]
  names = [n for n in args.recipes.split(',') if n]
  unknown = sorted(set(names) - set(RECIPES))
  if unknown:
    raise SystemExit(f'Unknown recipe(s) {unknown}; valid: {list(RECIPES)}.')
  workdir = os.path.abspath(args.workdir)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, 'results.json')
  results, cache = load_results(path), {}
  for name in names if not args.table_only else ():
    r = results.get(name)
    if r is None or name in args.rerun.split(',') or (
        identity(r.get('config')) != identity(resolved(RECIPES[name][0]))) or (
        any(f'{b:g}' not in r for b in budgets)):
      results[name] = run_recipe(name, budgets, os.path.join(workdir, name), cache, results,
                                 args.rerun.split(','))
      save_results(path, results)
  write_docs({n: results[n] for n in names if n in results}, budgets, device_description(),
             score_real(cache))


if __name__ == '__main__':
  main()
