"""Evaluation metrics. Models, losses and metrics import nothing from train."""
from gan_jax.metrics.sample_metrics import (confident_labels, density_coverage, fid_from_features,
                                            frechet_distance, gaussian_stats, inception_score,
                                            kid, knn_radii, precision_recall)
from gan_jax.metrics.mode_coverage import histogram_coverage, kl_to_uniform, mode_coverage
