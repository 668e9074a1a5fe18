"""Run kind 'device': one measurement of the machine a study runs on, each in a fresh process.

gpu_check's studies (experiments/studies/gpu_*.py) are made of these runs. A run's args:
  measure    what it measures (MEASURES): 'update_vs_cpu', 'run_twice', 'checkpoint_to_cpu'
             (gan_jax/device_check.py), 'update_speed', 'torch_speed', 'matmul' (gan_jax/bench.py);
  platform   the JAX backend the run must find ('gpu'), else it fails in one line: a page's
             records are reused wherever their config hash matches, and the hash does not know
             the machine, so a GPU page must never take a CPU's numbers;
  xla_flags  added to the process's XLA_FLAGS (XLA reads them once per process);
  and the measure's own: arch, batch, dtype, narrow (runlocal's narrow models), num_seeds,
  seed_layout, steps, repeats, tol, warmup, device (torch's), n and reps (the matmul).
train() runs `python -m gan_jax.study.kind_device RUN_DIR ARGS_JSON SEED`, which writes
RUN_DIR/result.json (gan_jax/study/result_files.py); result() reads it back under the same args.
"""
import json
import os
import statistics
import subprocess
import sys

from gan_jax import configs
from gan_jax.study import kinds
from gan_jax.study import result_files
from gan_jax.study import spec


def _config(args: dict):
  """The torch reference's config of args['arch'] at args' batch, dtype, seeds and width."""
  from gan_jax import bench
  config = bench.reference_config(args.get('arch', 'dcgan28'), args['batch'],
                                  args.get('dtype', 'float32'))
  if args.get('narrow'):
    bench.narrowed(config)
  config.num_seeds = args.get('num_seeds', 1)
  config.train.seed_layout = args.get('seed_layout', 'loop')
  return config


def update_vs_cpu(args: dict, run_dir: str) -> dict:
  from gan_jax import device_check
  return device_check.update_vs_cpu(_config(args), args['tol'])


def run_twice(args: dict, run_dir: str) -> dict:
  from gan_jax import device_check
  return device_check.run_twice(_config(args), args['steps'])


def checkpoint_to_cpu(args: dict, run_dir: str) -> dict:
  from gan_jax import device_check
  return device_check.checkpoint_to_cpu(_config(args), run_dir)


def update_speed(args: dict, run_dir: str) -> dict:
  """Updates per second of one seed (median of `repeats` timings of `steps` calls), the
  compilation's seconds and XLA's FLOPs of one call."""
  from gan_jax import bench
  step = bench.Step(_config(args))
  rates = [step.rate(args['steps']) for _ in range(args['repeats'])]
  return {'steps_per_s': statistics.median(rates), 'rates': rates, 'compile_s': step.compile_s,
          'flops': step.flops(), 'device': bench.device_description()}


def torch_speed(args: dict, run_dir: str) -> dict:
  from gan_jax import bench
  return bench.torch_rate(args['arch'], args['batch'], args['steps'], args['repeats'],
                          args['warmup'], args['device'])


def matmul(args: dict, run_dir: str) -> dict:
  from gan_jax import bench
  return bench.matmul_rate(args['n'], args['reps'])


MEASURES = {'update_vs_cpu': update_vs_cpu, 'run_twice': run_twice,
            'checkpoint_to_cpu': checkpoint_to_cpu, 'update_speed': update_speed,
            'torch_speed': torch_speed, 'matmul': matmul}


def config(run) -> None:
  """No gan_jax experiment: the run's hash is its args'. Checks the measure's name."""
  if run.args.get('measure') not in MEASURES:
    raise configs.ConfigError(f'Run {run.name}: unknown device measure '
                              f'{run.args.get("measure")!r}; valid: {sorted(MEASURES)}.')
  return None


def train(run, run_dir: str) -> None:
  """The measurement in a fresh process (its own XLA flags); RuntimeError with its last error
  lines when it fails."""
  os.makedirs(run_dir, exist_ok=True)
  env = dict(os.environ)
  if run.args.get('xla_flags'):
    env['XLA_FLAGS'] = f'{env.get("XLA_FLAGS", "")} {run.args["xla_flags"]}'.strip()
  cmd = [sys.executable, '-m', 'gan_jax.study.kind_device', os.path.abspath(run_dir),
         json.dumps(run.args), str(run.seed)]
  done = subprocess.run(cmd, cwd=kinds.ROOT, env=env, stderr=subprocess.PIPE, text=True)
  if done.returncode:
    tail = ' | '.join(done.stderr.strip().splitlines()[-3:])
    raise RuntimeError(f'{run.args["measure"]} exited with {done.returncode}: {tail}')


def result(run, run_dir: str):
  return result_files.load(run, run_dir)


def main(argv: list) -> None:
  """RUN_DIR ARGS_JSON SEED: measures, then writes RUN_DIR/result.json."""
  run_dir, args = argv[0], json.loads(argv[1])
  run = spec.Run(name=os.path.basename(run_dir), kind='device', args=args, seed=int(argv[2]))
  from gan_jax import cli
  cli.prepare()  # gan_jax's XLA defaults, before JAX opens a backend.
  import jax
  if args.get('platform') and jax.default_backend() != args['platform']:
    sys.exit(f'This run measures a {args["platform"]} device; JAX\'s backend here is '
             f'{jax.default_backend()} (run this study on a machine with one).')
  result_files.save(run, run_dir, MEASURES[args['measure']](args, run_dir))


KIND = kinds.Kind(config=config, train=train, result=result)

if __name__ == '__main__':
  main(sys.argv[1:])
