"""scripts/precision_ab.py: each variant is grid25.py with its overrides, and a run is read as a
variant's only if it trained under that variant's config."""
import json
import os

from scripts import precision_ab

STEPS = 10000


def write_run(workdir, variant, config: dict, step: int = STEPS):
  d = precision_ab.run_dir(str(workdir), variant, 0)
  os.makedirs(d, exist_ok=True)
  with open(os.path.join(d, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(d, 'eval.json'), 'w') as f:
    json.dump({'step': step, 'seeds': {'0': {'modes_captured': 20}}}, f)


def saved(variant) -> dict:
  return json.loads(precision_ab.run_config(variant, 0, STEPS).to_json())  # As main saves it.


def test_variants_pin_the_initialisation_they_measure():
  """grid25.py's own initialisation changed under the A/B (issue 16): every variant names its
  init_std, so each row keeps meaning what its name says."""
  inits = {v: precision_ab.run_config(v, 0, STEPS).model.init_std for v in precision_ab.VARIANTS}
  assert inits == {'baseline': 0.0, 'normal_init': 0.02, 'adam_b1_0.2': 0.0, 'both': 0.02,
                   'simultaneous': 0.0, 'normal_init_simultaneous': 0.02}
  config = precision_ab.run_config('adam_b1_0.2', 0, STEPS)
  assert (config.optim.b1, config.data.source, config.model.pack) == (0.2, 'grid25', 1)


def test_a_run_is_read_only_as_the_variant_it_trained(tmp_path):
  write_run(tmp_path, 'adam_b1_0.2', saved('adam_b1_0.2'))
  assert precision_ab.finished(str(tmp_path), 'adam_b1_0.2', 0, STEPS)['step'] == STEPS
  # Trained with b1 0.2 under PacGAN's initialisation: that is `both`, not adam_b1_0.2.
  write_run(tmp_path, 'adam_b1_0.2', saved('both'))
  assert precision_ab.finished(str(tmp_path), 'adam_b1_0.2', 0, STEPS) is None


def test_a_run_short_of_the_steps_is_not_read(tmp_path):
  write_run(tmp_path, 'baseline', saved('baseline'), STEPS - 1)
  assert precision_ab.finished(str(tmp_path), 'baseline', 0, STEPS) is None
  assert precision_ab.finished(str(tmp_path), 'normal_init', 0, STEPS) is None  # No run at all.
