"""Evaluation of an inversion encoder on held-out images: `ganforge eval ENCODER_RUN`.

The test split of the run's data (never trained on) goes through the encoder and back through its generator
(`--generator` of the run, which must still be there, with the same weights): PSNR, SSIM and the Inception
cosine distance of the reconstructions (editing/scores.py), and the milliseconds an image takes, encoder and
generator, one image at a time (the median of up to 20).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import subset_indices
from ganforge.metrics.features import get_extractor
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, run_data

TIMED = 20  # images timed one at a time


def encoder_reconstructions(encoder: Any, generator_pipe: Any, images: np.ndarray) -> np.ndarray:
    """uint8 [N, R, R, C] of the generator drawing the encoder's w+ (and feature residual) of each image."""
    from ganforge.editing.inversion import draw_encoded
    from ganforge.imaging import tensor_to_uint8

    encoder.check_generator(generator_pipe)
    out = []
    device = generator_pipe.device
    with torch.no_grad():
        for start in range(0, len(images), 32):
            ws, residual = encoder.encode_features(images[start : start + 32])
            drawn = draw_encoded(generator_pipe.generator, ws.to(device), None if residual is None else
                                 residual.to(device), encoder.encoder.feature_res)
            out.append(tensor_to_uint8(drawn.float().clamp(-1, 1).cpu()))
    return np.concatenate(out)


def ms_per_image(encoder: Any, generator_pipe: Any, images: np.ndarray) -> float:
    """Median wall time of encoding one image and drawing it, in ms."""
    times = []
    for image in images[:TIMED]:
        start = time.perf_counter()
        encoder_reconstructions(encoder, generator_pipe, image[None])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def evaluate_encoder(pipe: Any, data: str | None = None, n: int | None = None, inception: str | None = None,
                     device: str = "cpu", progress: Progress | None = None, extractor: Any = None) -> dict[str, Any]:
    """Held-out reconstruction scores and speed of an EncoderPipeline (see the module doc)."""
    from ganforge.api import load
    from ganforge.data.split import resolve_split_images
    from ganforge.editing.scores import reconstruction_scores

    if pipe.config.get("pipeline") != "encoder":
        raise GanforgeError("evaluate_encoder takes an encoder (ganforge train encoder)")
    _, data = run_data(pipe, data)
    generator = load(pipe.config["generator"], device=device)
    _, images = resolve_split_images(data, pipe.resolution, split="test")
    images = images[subset_indices(len(images), n)]
    if len(images) < 1:
        raise GanforgeError(f"the test split of {data} is empty")
    pipe.to(device)
    recon = encoder_reconstructions(pipe, generator, images)
    scores = reconstruction_scores(recon, images, extractor or get_extractor(inception, device), progress)
    return {"task": "encoder", "split": "test", "data": str(data), "resolution": pipe.resolution,
            "n": int(len(images)), "generator": pipe.config["generator"],
            "model": {**scores, "ms_per_image": ms_per_image(pipe, generator, images)}}


@EVALUATORS.register("encoder")
class EncoderEvaluator(Evaluator):
    """Inversion encoder: held-out images reconstructed through its generator."""

    runs = "encoder runs"
    min_n = 1
    stage = "encoding the held-out images"
    columns = ("model",)

    run = evaluate_encoder

    def headline(self, result: dict[str, Any]) -> str:
        return (f"encoder on the {result['split']} split of {result['data']} at {result['resolution']} px through "
                f"{result['generator']}: n = {result['n']} (inception_cosine: 1 - cosine of the FID Inception "
                "features)")
