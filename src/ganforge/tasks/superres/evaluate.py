"""Evaluation of a super-resolution model on its held-out images, next to bicubic upscaling.

    result = evaluate_superres(ganforge.load("runs/superres-srresnet-photos-64"))
    result["model"]["psnr_y"], result["bicubic"]["psnr_y"], result["truth"]["sharpness"]

What `ganforge eval RUN` and `benchmarks/superres_quality.py` both call. The images are the test split of
the run's data (`data.superres.resolve_superres(split="test")`, never loaded by training): the centred R x R
crop of each is the truth, and its low-resolution input is made by the run's degradation (bicubic; or the
realistic chain seeded by the image's index, so every evaluation sees the same inputs). For the model and
for bicubic upscaling (Pillow's, of the same input):

- `psnr_y`, `ssim_y`: the standard SR protocol (metrics.image): BT.601 Y, `scale` pixels shaved from every
  border, peak 255; per-image means, PSNR capped at PSNR_MAX_DB; SSIM is None when fewer than 11 px remain;
- `kid{n}` (subsets of min(1000, n // 2), `metrics.kid`), `kid{n}_std`, `fid{n}` of the outputs against the
  truths' Inception features (the truths' are cached like any real set's); FID is biased at small n, compare at equal n;
- `sharpness`: mean gradient magnitude (metrics.image.sharpness); the truths' is reported too, so
  "GAN sharper than pixel loss, at what PSNR cost" reads straight off the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from ganforge.data.degrade import centre_crop, degrade, pair_rng
from ganforge.errors import GanforgeError
from ganforge.metrics.compute import subset_indices
from ganforge.metrics.features import get_extractor
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, Scorer, run_data
from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE, psnr, rgb_to_y, sharpness, shave, ssim

EVAL_SEED = 0  # seeds the realistic degradation of test image i: pair_rng(EVAL_SEED, 0, i)


def sr_scores(outputs: np.ndarray, truths: np.ndarray, scale: int) -> dict[str, float | None]:
    """Per-image means of PSNR and SSIM on Y with `scale` pixels shaved (uint8 [N, H, W, C], C 1 or 3)."""
    def luma(images: np.ndarray) -> np.ndarray:
        return rgb_to_y(images) if images.shape[-1] == 3 else images.astype(np.float64)

    p, t = shave(luma(outputs), scale), shave(luma(truths), scale)
    scores: dict[str, float | None] = {"psnr_y": float(psnr(p, t, data_range=255.0, max_db=PSNR_MAX_DB).mean()),
                                       "ssim_y": None}
    if min(p.shape[1:3]) >= SSIM_MIN_SIZE:
        scores["ssim_y"] = float(ssim(p, t, data_range=255.0).mean())
    return scores


def bicubic_upscale(images: np.ndarray, scale: int) -> np.ndarray:
    """uint8 [N, h, w, C] -> [N, h * scale, w * scale, C] by Pillow's bicubic filter: the baseline."""
    out = []
    for im in images:
        pil = Image.fromarray(im[:, :, 0] if im.shape[2] == 1 else im)
        big = np.asarray(pil.resize((im.shape[1] * scale, im.shape[0] * scale), Image.Resampling.BICUBIC))
        out.append(big[:, :, None] if big.ndim == 2 else big)
    return np.stack(out)


def load_sr_test(pipe: Any, data: str | None = None, n: int | None = None, split: str = "test",
                 progress: Progress | None = None) -> dict[str, Any]:
    """{"high", "low", "data", "split", "degradation"}: the truths uint8 [N, R, R, C] and their inputs."""
    from ganforge.data.superres import resolve_superres

    config, data = run_data(pipe, data)
    sources = resolve_superres(data, pipe.resolution, split=split, strict=bool(config.get("strict", False)),
                               progress=progress)
    if sources.channels != pipe.channels:
        raise GanforgeError(f"--data {data} has {sources.channels} channels, the model takes {pipe.channels}")
    images = sources.images[subset_indices(len(sources), n)]
    if len(images) < 2:
        raise GanforgeError(f"the {split} split of {data} has {len(images)} image(s); KID needs at least 2")
    degradation = str(pipe.config.get("degradation", "bicubic"))
    high = np.stack([centre_crop(im, pipe.resolution) for im in images])
    low = np.stack([degrade(hr, pipe.scale, degradation, pair_rng(EVAL_SEED, 0, i)) for i, hr in enumerate(high)])
    return {"high": high, "low": low, "data": str(data), "split": split, "degradation": degradation}


def evaluate_superres(
    pipe: Any,
    data: str | None = None,
    n: int | None = None,
    split: str = "test",
    inception: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
    extractor: Any = None,
) -> dict[str, Any]:
    """Model and bicubic figures of an UpscalePipeline on its held-out images (see the module doc).

    Returns one JSON-ready dict: task, split, data, resolution, scale, degradation, n, extractor, resize,
    kid_subset, kid_subsets, psnr_max_db, shave, and `model` / `bicubic` / `truth` dicts of the metrics.
    """
    from ganforge.tasks.superres.pipeline import UpscalePipeline

    if not isinstance(pipe, UpscalePipeline):
        raise GanforgeError("evaluate_superres takes a superres model")
    test = load_sr_test(pipe, data, n, split)
    high, low, scale = test["high"], test["low"], pipe.scale
    scorer = Scorer(extractor if extractor is not None else get_extractor(inception, device), len(high) * 4,
                    progress, batch_size)
    outputs = {"model": pipe.upscale_batch(low, batch_size=batch_size), "bicubic": bicubic_upscale(low, scale)}
    scorer.add(len(high))
    scores = scorer.compare(outputs, lambda _, images: {**sr_scores(images, high, scale),
                                                        "sharpness": float(sharpness(images).mean())},
                            scorer.features(high))
    return {
        "task": "superres", "split": test["split"], "data": test["data"], "resolution": pipe.resolution,
        "scale": scale, "degradation": test["degradation"], "n": int(len(high)),
        **scorer.fields(len(high), len(high)), "psnr_max_db": PSNR_MAX_DB, "shave": scale,
        **scores, "truth": {"sharpness": float(sharpness(high).mean())},
    }


@EVALUATORS.register("superres")
class SuperresEvaluator(Evaluator):
    """Super-resolution: held-out images, next to bicubic upscaling, with the truth's sharpness."""

    runs = "superres runs"
    stage = "evaluating on the held-out images"
    columns = ("model", "bicubic", "truth")

    run = evaluate_superres

    def headline(self, result: dict[str, Any]) -> str:
        return (f"superres x{result['scale']} ({result['degradation']} inputs) on the {result['split']} split of "
                f"{result['data']} at {result['resolution']} px: n = {result['n']} (PSNR/SSIM on Y, {result['shave']} "
                f"px border shaved; KID subsets of {result['kid_subset']})")
