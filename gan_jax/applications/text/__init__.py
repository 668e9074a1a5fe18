"""The likelihood baseline of the text application: an MLE language model sampled at temperatures.

Caccia et al. 2020 ("Language GANs falling short", ICLR) show that a language model trained by
maximum likelihood, sampled at a range of softmax temperatures, traces a quality-diversity curve
that text GANs must be compared against: a GAN's one operating point is not better than MLE unless
it lies beyond that curve. This package is that baseline for gan_jax's token-sequence sources
(data.source = words, cfg, oracle, text_file:<path> or tfds_text:<name>; data/text_sources.py):

  python -m gan_jax.main --mode=lm --config=<experiment with config.lm> --workdir=runs/lm

- config.py: the lm section (`defaults`) and every problem of an LM config (`validate`);
- model.py: the recurrent language model, its likelihood and its temperature samples;
- task.py: the model as a task of the shared training loop (gan_jax/train.py): its state, update,
  batches, logs and samples;
- evaluation.py: the evaluation at temperatures by the GANs' Text protocol, into eval.json;
- lm.py: `train(config, workdir)` and `run(config, workdir)` (train, then evaluate).
"""
from gan_jax.applications.text.lm import run, train  # noqa: F401 -- the application's entry.
