"""Standard GAN metrics: FID, KID, precision/recall on TF-Inception features with clean resizing."""

from ganforge.metrics.compute import compute_metrics, count_label
from ganforge.metrics.fid import feature_statistics, fid_from_features, frechet_distance
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.prdc import precision_recall

__all__ = [
    "compute_metrics", "count_label", "feature_statistics", "fid_from_features", "frechet_distance",
    "kernel_inception_distance", "precision_recall",
]
