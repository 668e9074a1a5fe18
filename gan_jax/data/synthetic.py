"""2-D Gaussian mixtures of the mode-collapse benchmarks (VEEGAN, PacGAN), sampled offline.

- ring8: 8 Gaussians evenly spaced on the unit circle, standard deviation 0.01.
- grid25: 25 Gaussians at {-4, -2, 0, 2, 4}^2, standard deviation 0.05.
Each mixture weights its modes equally. A source holds a fixed seeded sample (100,000 'train'
points, 10,000 'test' points) so that batches follow the same (seed, step) schedule as images.
Points are float32 (N, 2), not scaled: generators for them need a linear output.
"""
import numpy as np

NUM_TRAIN, NUM_TEST = 100_000, 10_000


def ring8_modes() -> np.ndarray:
  angles = 2 * np.pi * np.arange(8) / 8
  return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_modes() -> np.ndarray:
  ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
  return np.array([(x, y) for x in ticks for y in ticks])


MIXTURES = {
    'ring8': (ring8_modes(), 0.01),
    'grid25': (grid25_modes(), 0.05),
}


def sample_mixture(name: str, num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(points float32 (num, 2), mode index of each point)."""
  modes, std = MIXTURES[name]
  rng = np.random.default_rng(seed)
  labels = rng.integers(len(modes), size=num)
  points = modes[labels] + std * rng.normal(size=(num, 2))
  return points.astype(np.float32), labels


def load(name: str) -> dict:
  """{'train': (points, labels), 'test': (points, labels)}: fixed seeded samples."""
  return {'train': sample_mixture(name, NUM_TRAIN, seed=0),
          'test': sample_mixture(name, NUM_TEST, seed=1)}
