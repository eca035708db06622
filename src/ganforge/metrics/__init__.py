"""Standard GAN metrics (FID, KID, precision/recall on TF-Inception features with clean resizing)
and full-reference image metrics (PSNR, SSIM, L1, sharpness) for paired outputs."""

from ganforge.metrics.compute import compute_metrics, count_label
from ganforge.metrics.fid import feature_statistics, fid_from_features, frechet_distance
from ganforge.metrics.image import (
    l1,
    psnr,
    rgb_to_y,
    sharpness,
    sharpness_difference,
    shave,
    sr_psnr_ssim,
    ssim,
    ssim_map,
)
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.prdc import precision_recall

__all__ = [
    "compute_metrics", "count_label", "feature_statistics", "fid_from_features", "frechet_distance",
    "kernel_inception_distance", "l1", "precision_recall", "psnr", "rgb_to_y", "sharpness",
    "sharpness_difference", "shave", "sr_psnr_ssim", "ssim", "ssim_map",
]
