"""Where the time of gan_jax's training update goes on this machine: a profile per XLA operation.

  .venv/bin/python scripts/profile_step.py [--archs dcgan28,sngan_cnn32] [--steps 5] [--batch 64]

For each architecture of the torch reference (gan_jax/bench.py), traces --steps calls of the
real update (the function training runs) with jax.profiler, sums the time of every compiled
operation over XLA's worker threads, and classifies it from the optimised HLO: convolution
forward, its input gradient, its kernel gradient, matrix product, or other (elementwise fusions,
copies, reductions).
Beside it, the PyTorch reference step's per-operator profile (scripts/profile_torch_reference.py,
run in .venv-torch when it exists). Writes docs/profile.md and docs/profile.json; the XLA flags in
effect are recorded.

The per-operation attribution needs operations that run on XLA's traced threads: YNNPACK fusions
do; Eigen's convolutions (gan_jax's default, gan_jax/xla_defaults.py) hand their work to untraced
threads, so this script profiles XLA's own default (it sets GAN_JAX_XLA_DEFAULTS=0 unless the
environment says otherwise) and the Eigen configuration is timed as whole steps by
scripts/perf_experiments.py.
"""
import argparse
import collections
import glob
import json
import os
import re
import subprocess
import tempfile
import time

import jax
from jax.profiler import ProfileData

from gan_jax import bench
from gan_jax import xla_defaults
from gan_jax.reports import tool_pages

REPO = bench.ROOT

_INSTR = re.compile(r'^\s*(?:ROOT )?%([\w.\-]+) = (\w+\[[^\]]*\])\S* (\w[\w\-]*)\(')
_CALLS = re.compile(r'calls=%([\w.\-]+)')
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_COMPUTATION = re.compile(r'^(?:ENTRY )?%([\w.\-]+) ')


def parse_hlo(text: str):
  """{instruction: (shape, opcode, called computation, op_name)} and {computation: body text}."""
  instrs, bodies, current = {}, collections.defaultdict(list), None
  for line in text.splitlines():
    m = _COMPUTATION.match(line)
    if m and line.rstrip().endswith('{'):
      current = m.group(1)
      continue
    m = _INSTR.match(line)
    if m:
      calls = _CALLS.search(line)
      op_name = _OP_NAME.search(line)
      instrs[m.group(1)] = (m.group(2), m.group(3), calls.group(1) if calls else None,
                            op_name.group(1) if op_name else '')
      if current:
        bodies[current].append(line)
  return instrs, bodies


def classify(name, instrs, bodies, batch):
  """(kind, layer) of one compiled operation."""
  shape, opcode, calls, op_name = instrs[name]
  body = '\n'.join(bodies.get(calls, [])) if calls else ''
  if opcode == 'convolution' or 'convolution(' in body:
    if not op_name and calls:  # Fusions sometimes lose the metadata; take the inner conv's.
      inner = _OP_NAME.findall(body)
      op_name = next((n for n in inner if 'conv_general_dilated' in n), op_name)
    dims = [int(d) for d in re.findall(r'\d+', shape.split('[', 1)[1])]
    if 'transpose(' not in op_name and op_name:
      kind = 'conv forward'
    else:
      kind = 'conv input grad' if dims and dims[0] == batch else 'conv kernel grad'
  elif opcode == 'dot' or 'dot(' in body:
    kind = 'matmul (fwd/bwd)'
  elif opcode in ('copy', 'transpose') or name.startswith(('transpose', 'copy', 'wrapped_copy')):
    kind = 'copies/transposes'
  else:
    kind = 'elementwise/reduce/other'
  layer = re.sub(r'^jit\([^)]*\)/', '', op_name)
  layer = re.sub(r'(transpose\()?(jvp\()?', '', layer).replace(')', '')
  layer = '/'.join(p for p in layer.split('/')[:-1] if p) or '-'
  return kind, layer


def profile(arch, batch, steps, dtype):
  step = bench.Step(bench.reference_config(arch, batch, dtype))
  step.rate(2)
  instrs, bodies = parse_hlo(step.update.as_text())
  wall = [1.0 / step.rate(steps) for _ in range(3)]
  with tempfile.TemporaryDirectory() as tmp:
    jax.profiler.start_trace(tmp)
    step.rate(steps)
    jax.profiler.stop_trace()
    path = sorted(glob.glob(os.path.join(tmp, '**', '*.xplane.pb'), recursive=True))[-1]
    plane = ProfileData.from_file(path).find_plane_with_name('/host:CPU')
    per_op = collections.Counter()
    for line in plane.lines:
      for event in line.events:
        if event.name in instrs:  # Leaves only: XLA's compiled operations.
          per_op[event.name] += event.duration_ns / 1e6 / steps
  ops, kinds = [], collections.Counter()
  total = sum(per_op.values())
  for name, ms in per_op.most_common():
    kind, layer = classify(name, instrs, bodies, batch)
    kinds[kind] += ms
    ops.append({'op': name, 'kind': kind, 'layer': layer, 'shape': instrs[name][0],
                'thread_ms': round(ms, 2), 'percent': round(100 * ms / total, 1)})
  return {'arch': arch, 'batch': batch, 'dtype': dtype, 'steps': steps,
          'wall_ms_per_step': round(1000 * sorted(wall)[1], 1),
          'thread_ms_per_step': round(total, 1),
          'kinds': {k: round(v, 1) for k, v in kinds.most_common()}, 'ops': ops}


def torch_profile(arch, batch, steps):
  python = bench.TORCH_PYTHON
  if not os.path.exists(python):
    return None
  out = subprocess.run([python, os.path.join(REPO, 'scripts', 'profile_torch_reference.py'),
                        '--arch', arch, '--batch', str(batch), '--steps', str(steps),
                        '--reference', bench.torch_reference()],
                       capture_output=True, text=True, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


def markdown(results, args, device, flags):
  lines = ['# Where the update step\'s time goes (CPU profile)', '',
           f'Generated by `.venv/bin/python scripts/profile_step.py --archs {args.archs} --steps '
           f'{args.steps} --batch {args.batch}`; do not edit by hand. Device: {device}; JAX '
           f'{jax.__version__}; XLA_FLAGS `{flags}`.', '',
           '"thread-ms" sums each compiled operation\'s time over XLA\'s worker threads (so with '
           'two busy threads it exceeds the wall time); wall time is the median of 3 timed runs.',
           '']
  for r in results:
    lines += [f'## {r["arch"]}, batch {r["batch"]}, {r["dtype"]}', '',
              f'Wall {r["wall_ms_per_step"]} ms per step; {r["thread_ms_per_step"]} thread-ms in '
              'XLA operations.', '', '| kind | thread-ms per step | share |', '|---|---|---|']
    for kind, ms in r['kinds'].items():
      lines.append(f'| {kind} | {ms} | {100 * ms / r["thread_ms_per_step"]:.0f}% |')
    lines += ['', 'Largest operations:', '',
              '| operation | kind | layer | output shape | thread-ms | share |',
              '|---|---|---|---|---|---|']
    for op in r['ops'][:args.top]:
      lines.append(f'| {op["op"]} | {op["kind"]} | {op["layer"]} | `{op["shape"]}` | '
                   f'{op["thread_ms"]} | {op["percent"]}% |')
    t = r.get('torch')
    if t:
      lines += ['', f'The PyTorch reference step on the same machine (torch {t["torch"]}, '
                f'{t["threads"]} threads): wall {t["wall_ms_per_step"]} ms per step; '
                f'{t["self_cpu_ms_per_step"]} ms self CPU time in operators. Largest:', '',
                '| operator | input shapes (NCHW) | calls per step | self CPU ms |',
                '|---|---|---|---|']
      for op in t['ops']:
        lines.append(f'| {op["op"]} | `{op["input_shapes"]}` | {op["calls"]} | '
                     f'{op["self_cpu_ms"]} |')
    lines.append('')
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--archs', default='dcgan28,sngan_cnn32')
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
  parser.add_argument('--top', type=int, default=12)
  parser.add_argument('--out', default=os.path.join(REPO, 'docs', 'profile'))
  args = parser.parse_args()
  os.environ.setdefault('GAN_JAX_XLA_DEFAULTS', '0')  # See the docstring.
  xla_defaults.apply()  # Before JAX opens its backend, as gan_jax's entry points do.
  start = time.time()
  results = []
  for arch in args.archs.split(','):
    results.append(profile(arch, args.batch, args.steps, args.dtype))
    results[-1]['torch'] = torch_profile(arch, args.batch, args.steps)
  device, flags = bench.device_description(), os.environ.get('XLA_FLAGS', '')
  text = markdown(results, args, device, flags)
  tool_pages.write(args.out, text.split('\n'), {'device': device, 'xla_flags': flags,
                                                'jax': jax.__version__, 'results': results})
  print(text)
  print(f'({time.time() - start:.0f} s)')


if __name__ == '__main__':
  main()
