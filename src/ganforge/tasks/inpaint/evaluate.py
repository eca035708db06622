"""Evaluation of an inpainting model on its held-out split, bucket by bucket, next to a classical baseline.

    result = evaluate_inpainting(ganforge.load("runs/inpaint-lama-emoji-32"))
    for row in result["buckets"]:
        row["bucket"], row["model"]["l1_hole"], row["biharmonic"]["l1_hole"]

What `ganforge eval RUN` (for inpaint runs) and `benchmarks/restoration_quality.py inpaint` both call.
The images are the run's data at its resolution, `split="test"` of `data.split.resolve_split_images`
(the 10% training never loads). The masks are `data.masks.fixed_test_masks(R, per_bucket, seed)`: for
each hole-area bucket (0-10%, 10-20%, 20-40%, 40-60%) test image i gets mask i mod per_bucket, so
every bucket fills the same images, and the same (R, per_bucket, seed) gives the same masks anywhere.

For each bucket, the model and scikit-image's biharmonic inpainting
(`skimage.restoration.inpaint_biharmonic`, the classical baseline) fill the same holes of the same
images; both are composited (known pixels are the truth's), and each is scored against the truth:

- l1, psnr, ssim over the whole image, and l1_hole, psnr_hole, ssim_hole inside the hole only
  (`metrics.image` with mask=); per-image means; L1 in [0, 1] units, PSNR capped at 100 dB;
- kid: KID of the filled images against the truth images (Inception features; subsets of
  min(1000, n // 2), `metrics.kid`), so texture and realism count, not only the pixel error that a blur
  minimises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.data.masks import BUCKETS, fixed_test_masks, mask_areas
from ganforge.errors import GanforgeError
from ganforge.metrics.features import get_extractor
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, Scorer, kid_scores, run_data
from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE, l1, psnr, ssim

MASK_SEED = 0  # the fixed test masks' seed
MAX_MASKS_PER_BUCKET = 200  # test images cycle through at most this many masks per bucket
METHODS = ("model", "biharmonic")


def bucket_name(bucket: tuple[float, float]) -> str:
    lo, hi = bucket
    return f"{round(lo * 100)}-{round(hi * 100)}%"


def biharmonic_fill(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting of uint8 [N, H, W, C] holes bool [N, H, W], composited, uint8."""
    from skimage.restoration import inpaint_biharmonic

    out = images.copy()
    for i, (image, mask) in enumerate(zip(images, masks)):
        if not mask.any():
            continue
        if mask.all():  # nothing known: biharmonic has no boundary values; grey is its neutral answer
            out[i] = 128
            continue
        filled = inpaint_biharmonic(image.astype(np.float64) / 255.0, mask, channel_axis=-1)
        filled = np.clip(np.round(filled * 255.0), 0, 255).astype(np.uint8)
        out[i] = np.where(mask[..., None], filled, image)
    return out


def fill_scores(filled: np.ndarray, truth: np.ndarray, masks: np.ndarray) -> dict[str, float | None]:
    """Per-image means over the whole image and inside the hole: l1, psnr, ssim, l1_hole, psnr_hole, ssim_hole."""
    scores: dict[str, float | None] = {
        "l1": float(l1(filled, truth).mean()),
        "psnr": float(psnr(filled, truth, max_db=PSNR_MAX_DB).mean()),
        "ssim": None,
        "l1_hole": float(l1(filled, truth, mask=masks).mean()),
        "psnr_hole": float(psnr(filled, truth, mask=masks, max_db=PSNR_MAX_DB).mean()),
        "ssim_hole": None,
    }
    if min(truth.shape[1:3]) >= SSIM_MIN_SIZE:
        scores["ssim"] = float(ssim(filled, truth).mean())
        scores["ssim_hole"] = float(ssim(filled, truth, mask=masks).mean())
    return scores


def load_inpaint_test(pipe: Any, data: str | None = None, n: int | None = None, split: str = "test",
                      progress: Progress | None = None) -> tuple[str, np.ndarray]:
    """(data name, uint8 [N, R, R, C] images of `split`) for a pipeline: the run's own data unless `data` is given."""
    from ganforge.data.split import resolve_split_images
    from ganforge.metrics.compute import subset_indices

    config, data = run_data(pipe, data)
    _, images = resolve_split_images(data, pipe.resolution, split=split, strict=bool(config.get("strict", False)),
                                     progress=progress)
    images = images[subset_indices(len(images), n)]
    if images.shape[3] != pipe.channels:
        raise GanforgeError(f"--data {data} has {images.shape[3]} channels but the model fills {pipe.channels}")
    if len(images) < 2:
        raise GanforgeError(f"the {split} split of {data} has {len(images)} image(s); KID needs at least 2 "
                            "(use more data or a larger --n)")
    return str(data), images


def evaluate_inpainting(
    pipe: Any,
    data: str | None = None,
    n: int | None = None,
    split: str = "test",
    per_bucket: int | None = None,
    mask_seed: int = MASK_SEED,
    inception: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
    extractor: Any = None,
    baseline: bool = True,
) -> dict[str, Any]:
    """Model and biharmonic figures of an InpaintPipeline per hole-area bucket (see the module doc).

    Returns one JSON-ready dict: task, split, data, resolution, n, masks_per_bucket, mask_seed, extractor,
    resize, kid_subset, kid_subsets, psnr_max_db, and `buckets`: a list of {bucket, lo, hi, mean_area, model,
    biharmonic} whose model/biharmonic dicts hold l1, psnr, ssim, l1_hole, psnr_hole, ssim_hole and kid, kid_std.
    """
    from ganforge.tasks.inpaint.pipeline import InpaintPipeline

    if not isinstance(pipe, InpaintPipeline):
        raise GanforgeError("evaluate_inpainting takes an inpaint model")
    data_name, truth = load_inpaint_test(pipe, data, n, split)
    count = len(truth)
    per_bucket = int(per_bucket or min(count, MAX_MASKS_PER_BUCKET))
    bank = fixed_test_masks(pipe.resolution, per_bucket, mask_seed)
    methods = METHODS if baseline else METHODS[:1]
    scorer = Scorer(extractor if extractor is not None else get_extractor(inception, device),
                    count * (1 + 2 * len(BUCKETS) * len(methods)), progress, batch_size)  # features, fill, features
    truth_feats = scorer.features(truth)
    rows = []
    for bucket in BUCKETS:
        masks = bank[bucket][np.arange(count) % per_bucket]  # bool [N, R, R]
        outputs = {"model": pipe.inpaint_batch(truth, masks, batch_size=batch_size),
                   "biharmonic": biharmonic_fill(truth, masks) if baseline else None}
        scorer.add(count * len(methods))
        scores = scorer.compare(outputs, lambda _, filled, masks=masks: fill_scores(filled, truth, masks), truth_feats,
                                distances=kid_scores, cache=lambda _: False)
        rows.append({"bucket": bucket_name(bucket), "lo": bucket[0], "hi": bucket[1],
                     "mean_area": float(mask_areas(masks).mean()), **{m: scores[m] for m in methods}})
    return {
        "task": "inpaint", "split": split, "data": data_name, "resolution": pipe.resolution, "n": int(count),
        "masks_per_bucket": per_bucket, "mask_seed": int(mask_seed), **scorer.fields(count, count),
        "psnr_max_db": PSNR_MAX_DB, "buckets": rows,
    }


@EVALUATORS.register("inpaint")
class InpaintEvaluator(Evaluator):
    """Inpainting: fixed test masks per hole-area bucket on the held-out split, next to biharmonic filling."""

    runs = "inpaint runs"
    stage = "evaluating on the test split"
    columns = ("model", "biharmonic")
    metric_width = 12

    run = evaluate_inpainting

    def headline(self, result: dict[str, Any]) -> str:
        return (f"inpaint on the {result['split']} split of {result['data']} at {result['resolution']} px: n = "
                f"{result['n']} images per bucket, {result['masks_per_bucket']} fixed masks per bucket (seed "
                f"{result['mask_seed']}), KID subsets of {result['kid_subset']}")

    def blocks(self, result: dict[str, Any]) -> list[tuple[str | None, dict[str, dict]]]:
        return [(row["bucket"], {c: row.get(c) or {} for c in self.columns}) for row in result["buckets"]]
