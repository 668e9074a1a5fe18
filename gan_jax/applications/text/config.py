"""The language model's config: the lm section's defaults and every problem of an LM config.

An experiment adds the section as `config.lm = config.defaults()` (experiments/text_lm.py);
`validate` refuses a config before anything is built or compiled, listing every problem.
"""
import ml_collections

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.applications.text import model as model_lib
from gan_jax.data import synthetic
from gan_jax.data import text_sources
from gan_jax.evaluators import text as text_eval
from gan_jax.validation import failed, is_int, is_real


def defaults() -> ml_collections.ConfigDict:
  """The lm section (an experiment adds it as `config.lm = defaults()`)."""
  lm = ml_collections.ConfigDict()
  lm.cell = 'lstm'  # A name in model.CELLS.
  lm.embed = 64
  lm.hidden = 256
  lm.num_layers = 1
  lm.lr = 1e-3  # Adam's learning rate.
  lm.dropout = 0.0  # On each layer's input and on the readout's (0: none).
  lm.temperatures = (0.5, 0.7, 0.85, 1.0, 1.2)  # Sampled at the end; 0 is greedy (argmax).
  # 'mle': maximum likelihood at lm.lr; 'scratchgan': the same model as a GAN's generator,
  # trained by REINFORCE from a discriminator's per-token rewards (the scratchgan section).
  lm.objective = 'mle'
  return lm


def scratchgan_defaults() -> ml_collections.ConfigDict:
  """The scratchgan section: ScratchGAN's D and its training (de Masson d'Autume et al. 2019;
  deepmind-research/scratchgan's experiment.py flags). G is the lm section's model."""
  sg = ml_collections.ConfigDict()
  sg.g_lr = 9.59e-5  # G's Adam (beta1 sg.beta1).
  sg.d_lr = 9.38e-3  # D's Adam.
  sg.beta1 = 0.5  # Both optimizers' beta1 (beta2 0.999).
  sg.d_embed = 64  # D's token embedding.
  sg.d_hidden = 512  # D's dense layer and layer-norm LSTM.
  sg.d_dropout = 0.1  # Dropout on D's whole embedding table.
  sg.d_l2 = 1e-6  # D's loss + d_l2 * sum(w^2) / 2 over D's parameters.
  sg.discount = 0.23  # gamma of the per-token returns.
  sg.baseline_decay = 0.08  # The reward baseline's moving average.
  return sg


OBJECTIVES = ('mle', 'scratchgan')  # lm.objective.


def _source_problem(source) -> list[str]:
  """Why data.source is not token sequences (unknown names are data.problems')."""
  if text_sources.source_kind(source) is not None:
    return []
  if source in synthetic.MIXTURES:
    kind = '2-D points'
  elif source in data_lib.SOURCES or data_lib.tfds_name(source) is not None:
    kind = 'images'
  else:
    return []
  return [f'the language model takes token sequences; data.source={source!r} is {kind}. Use a '
          'sequence source: words, cfg, oracle, text_file:<path> or tfds_text:<name>.']


def _lm_problems(lm) -> list[str]:
  temps = lm.get('temperatures')
  temps_ok = (isinstance(temps, (tuple, list)) and len(temps) > 0 and
              all(is_real(t) and t >= 0 for t in temps) and
              len({float(t) for t in temps}) == len(temps))
  cells = model_lib.CELLS
  return failed([
      (lm.get('cell') in cells, f'Unknown lm.cell {lm.get("cell")!r}; valid: {list(cells)}.'),
      *[(is_int(lm.get(f)) and lm.get(f) > 0, f'lm.{f} must be a positive integer, got '
         f'{lm.get(f)!r}.') for f in ('embed', 'hidden', 'num_layers')],
      (is_real(lm.get('lr')) and lm.get('lr') > 0,
       f'lm.lr must be a number > 0, got {lm.get("lr")!r}.'),
      (is_real(lm.get('dropout')) and 0 <= lm.get('dropout') < 1,
       f'lm.dropout must be a number in [0, 1), got {lm.get("dropout")!r}.'),
      (temps_ok, 'lm.temperatures must be a non-empty tuple of distinct numbers >= 0 (0: '
       f'greedy), got {temps!r}.'),
      (lm.get('objective') in OBJECTIVES,
       f'Unknown lm.objective {lm.get("objective")!r}; valid: {list(OBJECTIVES)}.')])


def _scratchgan_problems(config) -> list[str]:
  """The scratchgan section, when lm.objective is 'scratchgan'."""
  if config.lm.get('objective') != 'scratchgan':
    return []
  if 'scratchgan' not in config:
    return ['lm.objective=\'scratchgan\' needs a scratchgan section: config.scratchgan = '
            'scratchgan_defaults() (gan_jax/applications/text/config.py; '
            'experiments/text_scratchgan.py).']
  sg = config.scratchgan
  positive = [(is_real(sg.get(f)) and sg.get(f) > 0, f'scratchgan.{f} must be a number > 0, got '
               f'{sg.get(f)!r}.') for f in ('g_lr', 'd_lr')]
  unit = [(is_real(sg.get(f)) and 0 <= sg.get(f) < 1, f'scratchgan.{f} must be a number in '
           f'[0, 1), got {sg.get(f)!r}.')
          for f in ('beta1', 'd_dropout', 'discount', 'baseline_decay')]
  return failed([
      *positive, *unit,
      *[(is_int(sg.get(f)) and sg.get(f) > 0, f'scratchgan.{f} must be a positive integer, got '
         f'{sg.get(f)!r}.') for f in ('d_embed', 'd_hidden')],
      (is_real(sg.get('d_l2')) and sg.get('d_l2') >= 0,
       f'scratchgan.d_l2 must be a number >= 0, got {sg.get("d_l2")!r}.'),
      (config.lm.get('dropout') == 0, 'lm.dropout must be 0 with lm.objective=\'scratchgan\' '
       '(G\'s samples are drawn without dropout, so its REINFORCE log-probabilities must be too), '
       f'got {config.lm.get("dropout")!r}.')])


def _run_problems(config) -> list[str]:
  """The run's own fields: one seed, one update a call, the train split, eval.num_samples."""
  num_samples = config.eval.get('num_samples')
  return failed([
      (config.get('num_seeds') == 1, 'num_seeds must be 1 for the language model (one seed a '
       f'run; run another seed in another workdir), got {config.get("num_seeds")!r}.'),
      (config.train.get('steps_per_call') == 1, 'train.steps_per_call must be 1 for the '
       f'language model (one update a call), got {config.train.get("steps_per_call")!r}.'),
      (config.data.get('split') == 'train', 'The language model trains on the train split and '
       'scores the held-out test split; set data.split=\'train\', got '
       f'{config.data.get("split")!r}.'),
      (num_samples is None or (is_int(num_samples) and num_samples >= 2),
       'eval.num_samples must be an integer >= 2 or None (the protocol\'s default), got '
       f'{num_samples!r}.')])


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of a language-model config: its lm section, the data (token sequences, the
  train split), the run's own fields (seed, train.*) and eval.num_samples."""
  if 'lm' not in config:
    return ['The config has no lm section: --mode=lm needs an experiment that sets config.lm = '
            'defaults() (gan_jax/applications/text/config.py; experiments/text_lm.py).']
  source_problems = _source_problem(config.data.source)
  if not source_problems and text_sources.source_kind(config.data.source):
    reason = text_eval.Text.rejects(config, None)
    source_problems = [reason] if reason else []
  return (source_problems + data_lib.problems(config) + configs.problems(config) +
          _lm_problems(config.lm) + _scratchgan_problems(config) + _run_problems(config))


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises configs.ConfigError listing every problem; builds and compiles nothing."""
  found = problems(config)
  if found:
    raise configs.ConfigError('Invalid config:\n  - ' + '\n  - '.join(found))
