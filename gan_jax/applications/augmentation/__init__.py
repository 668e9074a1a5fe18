"""The data-augmentation protocol: does a class-conditional GAN trained on N labelled examples per
class make a classifier better than the N examples alone, or than classical augmentation?

  python -m gan_jax.main --mode=augment --config=experiments/augment_mnist.py \
      --workdir=runs/augment_mnist
  python -m gan_jax.study experiments/studies/augmentation.py [--shard i/n]   (docs/augmentation.md)

An experiment file gives the GAN's config plus two sections: `protocol` (this module's
`defaults()`: the values of N, the seeds, the ratios of generated to real images) and `classifier`
(gan_jax/classifier.py: the downstream classifier's fixed recipe). For every cell (N, seed), with
the subset, the GAN and the classifiers all seeded by `seed`:

1. The GAN trains on the subset (`data.per_class=N`, `data.subset_seed=seed`, `seed=seed`) in
   workdir/n=<N>,seed=<seed>/gan, resuming from its checkpoint if stopped.
2. Its sampling generator (the EMA's, if kept) draws labelled images, the classes in turn.
3. The classifier trains (same seed for every method, so methods differ only by their data) on
   METHODS: real; real + classical augmentation (shifts, rotations); real + r generated images
   per real image, for r in protocol.ratios, without and with classical augmentation; generated
   images only (max ratio; the Classification Accuracy Score, or GAN-train). Each is scored on
   the test split (protocol.test_split), which the GAN never trains on and no classifier sees.
4. GAN-test (Shmelkov et al. 2018): a reference classifier, trained with classical augmentation on
   every real example of the training split (seed `seed`), scores generated images by the class
   they were drawn for.

Each cell writes its results.json as every method finishes, so a stopped protocol resumes with
the next unfinished method. `run` works through the cells in one process and writes workdir/results.json, results.md (mean ± sample
std over seeds, and the seed count, for every method and N) and results.png (accuracy against N).
No setting is chosen on the test split: the recipes are fixed in the experiment files (the
classifier's alternatives were compared on validation data from the training split,
docs/classifier_recipe.md) and every ratio is reported. The workdir keeps the config it ran
(protocol_config.json) and refuses another, more N or seeds excepted. Many processes (or
machines) split the cells through the study engine: experiments/studies/augmentation.py runs
each cell as a run of kind 'augmentation' (gan_jax/study/kind_augmentation.py).

Modules: protocol.py (the config section, its checks, the cells), cells.py (one cell's GAN,
generated images, classifiers and GAN-test), results.py (the table and plot of a workdir).
"""
import os
import time

from absl import logging

from gan_jax.applications.augmentation import cells as cells_lib
from gan_jax.applications.augmentation import protocol
from gan_jax.applications.augmentation import results as results_lib


def run(config, workdir: str) -> dict:
  """The protocol in one process: every cell (resuming), then the table of the finished cells."""
  workdir = os.path.abspath(workdir)
  data = protocol.check(config)
  cells_lib.check_workdir(config, workdir)
  todo = protocol.cells(config)
  logging.info('Data-augmentation protocol: %d cells (N in %s, seeds %s) in %s', len(todo),
               list(config.protocol.per_class), list(config.protocol.seeds), workdir)
  start = time.time()
  for i, cell in enumerate(todo):
    cells_lib.run_cell(config, data, cell, workdir)
    elapsed = time.time() - start
    logging.info('Cell %d/%d (%s) done; %.0fs elapsed, about %.0fs to go', i + 1, len(todo),
                 cell.name, elapsed, elapsed / (i + 1) * (len(todo) - i - 1))
  finished = cells_lib.finished(config, workdir)
  summary = results_lib.write_results(config, workdir, finished)
  logging.info('%d/%d cells finished; table in %s', len(finished), len(todo),
               os.path.join(workdir, 'results.md'))
  return summary
