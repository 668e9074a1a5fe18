"""make chaos: what a killed, damaged, full or shared workdir does to a run, checked bit for bit.

Runs `python -m gan_jax.main --config=experiments/dcgan_mnist.py:runlocal` (40 steps; a log line
every 4, a picture and a checkpoint every 8, the final evaluation) once without interruption, the
reference (runs.py), then each case below (one module each); every run that a case finishes is
compared with the reference (workdir.py): every metrics.jsonl value but `steps_per_s`, every
sample PNG (bytes), eval.json (bytes), config.json (bytes) and the steps of checkpoints/.

  kills       SIGKILL at random moments, relaunching the same command after each until it
              finishes: as the workdir is claimed (a fresh workdir), 0.5-4 s after launch, during
              training (just after a random logged step: pictures, checkpoints, metrics being
              written) and during the final evaluation; over several fresh workdirs (rounds).
  damage      the newest checkpoint's files truncated or overwritten (or the newest two'), or 16
              bytes zeroed in one of its files (the largest: array data; another, drawn by the
              seed), then resumed: the damaged checkpoints are moved to checkpoints.damaged/
              with one warning naming the step and the file (checkpoint.py's digests), and the
              run finishes from the older one. The cost of the digests is measured too
              (digest_cost.py): saves of dcgan_mnist's default state with and without them.
  torn        metrics.jsonl ends in half a JSON line (of a run stopped mid-way, of a finished
              run), then resumed: the partial line is dropped with a warning.
  full_disk   the workdir on a small tmpfs (root only) filled mid-run by a ballast file, or too
              small from the start: one line 'No space left ...' and exit 1; after the space is
              freed the same command resumes and finishes.
  second      a second run of the same workdir while the first runs (the first paused with
              SIGSTOP meanwhile, so that the second's check falls inside the first's run), and
              two runs launched at once: the second exits 1 with one 'is in use by another run'
              line and writes nothing; the first finishes untouched.
  cli         bad command lines: one line, exit status 1, no traceback, the valid choices.

Writes docs/reliability.json (record.py) and docs/reliability.md from it alone (page.py; never
edit them by hand; --report_only rewrites the page from the .json). Relaunches share a JAX
compilation cache that only the reference run writes (a killed process never writes it), so that
tens of relaunches fit in about 15 minutes on 2 cores; the bit-for-bit comparisons cover it.

  .venv/bin/python -m tests.chaos [--seed 0] [--kills 20] [--rounds 3] [--only kills,cli]
  .venv/bin/python -m tests.chaos --report_only

tests/test_chaos.py runs each case once on a 12-step run.
"""
