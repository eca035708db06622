"""Evaluation of a translation model (pix2pix, SPADE, CycleGAN) on its held-out test split.

    result = evaluate_translation(ganforge.load("runs/pix2pix-unet-emoji-64"))
    result["model"]["psnr"], result["identity"]["psnr"]        # the model and the identity baseline

What `ganforge eval RUN` and `benchmarks/translation_quality.py` both call. The test split is the one
training never loads: `resolve_paired` / `resolve_unpaired` with `split="test"`, the run's data, resolution
and data direction. Every figure is reported twice, for the model and for the identity baseline (output =
input, its channels matched to the target's), because a translation that does not beat copying its input
has learned nothing:

- paired data (pix2pix): L1 (in [0, 1] units), PSNR (dB, each image capped at PSNR_MAX_DB so identical
  images give a finite mean) and SSIM, per-image means of output against its own target; and FID/KID of
  the outputs against the targets on Inception features;
- CycleGAN: FID/KID of G_AB(test A) against the target domain's test images, and the cycle-reconstruction
  L1 of G_BA(G_AB(a)) against a (0 for the identity baseline by construction); when the two test domains
  hold the same names (an A/B pairs folder), L1/PSNR/SSIM against the same-named image too. On a
  two-style built-in (`emoji`, split into disjoint halves) every test input's rendering in the other
  style exists but is never loaded in training: `counterpart_*` scores (L1, PSNR, SSIM, FID, KID) compare
  the outputs with those. They answer "is this the right translation of this input", which the
  target-domain FID/KID cannot on small test splits whose two sides hold different emoji.
  `direction="BtoA"` evaluates G_BA on test B against domain A.

FID and KID carry the image count in their names (`fid381`, `kid381`, as `compute_metrics` names them):
FID is biased at small n and only comparable at equal n. KID uses subsets of min(1000, n // 2) images
(`kid_subset`; `metrics.kid` says why half).
Label-map inputs (SPADE) have no identity baseline: a map of class ids is not an image (`identity` is None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import count_label, subset_indices
from ganforge.metrics.extract import (
    array_batches,
    array_fingerprint,
    cache_key,
    cached_features,
    extract_features,
)
from ganforge.metrics.features import EXTRACTOR_NAME, get_extractor
from ganforge.metrics.fid import fid_from_features
from ganforge.metrics.image import l1, psnr, ssim
from ganforge.metrics.kid import KID_MAX_SUBSET, KID_SUBSETS, kernel_inception_distance, kid_subset_size
from ganforge.metrics.resize import RESIZE_MODE
from ganforge.pipelines.base import run_config  # the other metrics modules import it from here too

PSNR_MAX_DB = 100.0  # per-image cap: an exact copy scores 100 dB rather than inf
KID_SUBSET = KID_MAX_SUBSET  # KID subsets of kid_subset_size(n, n, KID_SUBSET) = min(KID_SUBSET, n // 2) images
SSIM_MIN_SIZE = 11  # SSIM's 11x11 window

Progress = Callable[[int, int], None]


def load_test_split(
    pipe: Any,
    data: str | None = None,
    direction: str = "AtoB",
    n: int | None = None,
    split: str = "test",
    data_b: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The evaluation images of a translation pipeline: {"inputs", "targets", "paired", "data", ...}.

    inputs uint8 [N, R, R, Ca] in the model's input space for `direction`; targets uint8 [M, R, R, Cb]:
    the aligned targets (paired, M = N) or the target domain's images (CycleGAN). `n` caps both sides
    by a fixed seeded subset. `data` overrides the run's data (needed for an exported model).
    """
    from ganforge.data import resolve_paired, resolve_unpaired
    from ganforge.data.unpaired import held_out_counterparts

    direction = pipe.check_direction(direction)
    config = run_config(pipe) or {}
    data = data or config.get("data")
    if not data:
        raise GanforgeError("this model is an export without its run directory: name its data with --data")
    data_b = data_b if data_b is not None else config.get("data_b")
    strict = bool(config.get("strict", False))
    trained = str(pipe.config.get("direction") or config.get("direction") or "AtoB")
    resolution = pipe.resolution
    if pipe.task == "cyclegan":
        domains = resolve_unpaired(data, resolution, split=split, direction=trained, data_b=data_b, strict=strict,
                                   progress=progress)
        if direction == "BtoA":
            domains = domains.swapped()
        ia, ib = subset_indices(len(domains.a), n), subset_indices(len(domains.b), n)
        names_a, names_b = [domains.names_a[i] for i in ia], [domains.names_b[i] for i in ib]
        inputs, targets, paired = domains.a[ia], domains.b[ib], names_a == names_b
        counterparts = held_out_counterparts(data, resolution, names_a, "AtoB" if trained == direction else "BtoA",
                                             data_b=data_b)
    else:
        pairs = resolve_paired(data, resolution, split=split, direction=trained, strict=strict, progress=progress)
        pairs = pairs.subset(subset_indices(len(pairs), n))
        inputs, targets, paired, names_a, counterparts = pairs.a, pairs.b, True, pairs.names, None
    if len(inputs) < 2 or len(targets) < 2:
        raise GanforgeError(f"the {split} split of {data} has {len(inputs)} input and {len(targets)} target images; "
                            f"KID and FID need at least 2 on each side (use more data or a larger --n)")
    return {"inputs": inputs, "targets": targets, "paired": paired, "names": names_a, "data": str(data),
            "split": split, "direction": direction, "counterparts": counterparts}


def paired_scores(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float | None]:
    """Per-image means of L1, PSNR (capped at PSNR_MAX_DB) and SSIM (None below 11 px) of aligned uint8 images."""
    scores: dict[str, float | None] = {
        "l1": float(l1(outputs, targets).mean()),
        "psnr": float(psnr(outputs, targets, max_db=PSNR_MAX_DB).mean()),
        "ssim": None,
    }
    if min(outputs.shape[1:3]) >= SSIM_MIN_SIZE:
        scores["ssim"] = float(ssim(outputs, targets).mean())
    return scores


def identity_outputs(inputs: np.ndarray, channels: int) -> np.ndarray:
    """The identity baseline's outputs: the inputs with their channels matched to the target's."""
    from ganforge.pipelines.translation import match_channels

    return np.stack([match_channels(im, channels) for im in inputs])


class _Counter:
    """One progress total over every stage (translating, then features)."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def stage(self) -> Progress:
        start = self.done

        def update(done: int, _total: int) -> None:
            self.done = start + done
            if self.progress is not None:
                self.progress(self.done, self.total)
        return update

    def add(self, count: int) -> None:
        self.stage()(count, count)


def _features(images: np.ndarray, extractor: Any, batch_size: int, cache: bool, progress: Progress) -> np.ndarray:
    """Inception features of uint8 images; real images' features cached by content like compute_metrics'."""
    def compute() -> np.ndarray:
        return extract_features(array_batches(images, batch_size), len(images), extractor, progress)[0]
    if not cache or getattr(extractor, "name", None) != EXTRACTOR_NAME:  # the cache key names the real extractor
        return compute()
    feats, was_cached = cached_features(cache_key(array_fingerprint(images), len(images)), compute)
    if was_cached:
        progress(len(images), len(images))
    return feats


def distribution_scores(target_feats: np.ndarray, feats: np.ndarray) -> dict[str, float]:
    """fid{n}, kid{n}, kid{n}_std of features against the target's, n the smaller count."""
    label = count_label(min(len(target_feats), len(feats)))
    mean, std = kernel_inception_distance(target_feats, feats, subset_size=KID_SUBSET)
    return {f"fid{label}": fid_from_features(target_feats, feats), f"kid{label}": mean, f"kid{label}_std": std}


def evaluate_translation(
    pipe: Any,
    data: str | None = None,
    direction: str = "AtoB",
    n: int | None = None,
    split: str = "test",
    data_b: str | None = None,
    inception: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
    extractor: Any = None,
) -> dict[str, Any]:
    """Model and identity-baseline figures of a TranslationPipeline on its test split (see the module doc).

    Returns one JSON-ready dict: task, direction, split, data, resolution, n (inputs), n_target, paired,
    extractor, resize, kid_subset (images per KID subset), kid_subsets (how many), psnr_max_db (and
    counterpart_kid_subset with counterparts), and `model` / `identity` dicts of the metrics.
    """
    from ganforge.pipelines import TranslationPipeline

    if not isinstance(pipe, TranslationPipeline):
        raise GanforgeError("evaluate_translation takes a pix2pix or cyclegan model")
    test = load_test_split(pipe, data, direction, n, split, data_b)
    direction = test["direction"]
    inputs, targets = test["inputs"], test["targets"]
    cyclegan = pipe.task == "cyclegan"
    label_map = pipe.num_labels is not None
    out_channels = pipe.channels(direction)[1]
    counterparts = test["counterparts"]
    count = _Counter(len(inputs) * (2 if cyclegan else 1) + len(targets) + len(inputs) * (1 if label_map else 2)
                     + (0 if counterparts is None else len(inputs)), progress)
    extractor = extractor if extractor is not None else get_extractor(inception, device)

    outputs = _translate(pipe, inputs, direction, batch_size, count.stage())
    model: dict[str, Any] = {}
    identity: dict[str, Any] | None = None if label_map else {}
    baseline = None if label_map else identity_outputs(inputs, out_channels)
    if test["paired"]:
        model.update(paired_scores(outputs, targets))
        if baseline is not None:
            identity.update(paired_scores(baseline, targets))
    if cyclegan:
        reverse = "BtoA" if direction == "AtoB" else "AtoB"
        back = _translate(pipe, outputs, reverse, batch_size, count.stage())
        model["cycle_l1"] = float(l1(back, inputs).mean())
        identity["cycle_l1"] = 0.0  # copying twice gives the input back exactly

    target_feats = _features(targets, extractor, batch_size, True, count.stage())
    output_feats = _features(outputs, extractor, batch_size, False, count.stage())
    model.update(distribution_scores(target_feats, output_feats))
    base_feats = None
    if baseline is not None:
        base_feats = _features(baseline, extractor, batch_size, True, count.stage())
        identity.update(distribution_scores(target_feats, base_feats))
    if counterparts is not None:  # CycleGAN on a two-style built-in: each input's held-out other rendering
        counter_feats = _features(counterparts, extractor, batch_size, True, count.stage())
        for scores, images, feats in ((model, outputs, output_feats), (identity, baseline, base_feats)):
            both = {**paired_scores(images, counterparts), **distribution_scores(counter_feats, feats)}
            scores.update({f"counterpart_{key}": value for key, value in both.items()})
    extra: dict[str, int] = {}  # the counterparts' KID compares n outputs with n counterparts
    if counterparts is not None:
        extra["counterpart_kid_subset"] = kid_subset_size(len(inputs), len(inputs), KID_SUBSET)
    return {
        "task": pipe.task, "direction": direction, "split": test["split"], "data": test["data"],
        "resolution": pipe.resolution, "n": int(len(inputs)), "n_target": int(len(targets)),
        "paired": bool(test["paired"]), "extractor": getattr(extractor, "name", EXTRACTOR_NAME),
        "resize": RESIZE_MODE, "kid_subset": kid_subset_size(len(inputs), len(targets), KID_SUBSET),
        "kid_subsets": KID_SUBSETS, **extra, "psnr_max_db": PSNR_MAX_DB, "model": model, "identity": identity,
    }


def _translate(pipe: Any, images: np.ndarray, direction: str, batch_size: int, progress: Progress) -> np.ndarray:
    outs = []
    for i in range(0, len(images), batch_size):
        outs.append(pipe.translate_batch(images[i : i + batch_size], direction, batch_size=batch_size))
        progress(min(i + batch_size, len(images)), len(images))
    return np.concatenate(outs)
