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

from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import subset_indices
from ganforge.metrics.features import get_extractor
from ganforge.metrics.harness import (
    EVALUATORS,
    KID_SUBSET,
    EvalOptions,
    Evaluator,
    Progress,
    Scorer,
    distribution_scores,  # noqa: F401  (benchmarks read it from here)
    run_data,
)
from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE, l1, psnr, ssim
from ganforge.metrics.kid import kid_subset_size


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
    config, data = run_data(pipe, data)
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
    from ganforge.tasks.translation.pipeline import match_channels

    return np.stack([match_channels(im, channels) for im in inputs])


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
    from ganforge.tasks.translation.pipeline import TranslationPipeline

    if not isinstance(pipe, TranslationPipeline):
        raise GanforgeError("evaluate_translation takes a pix2pix or cyclegan model")
    test = load_test_split(pipe, data, direction, n, split, data_b)
    direction = test["direction"]
    inputs, targets, counterparts = test["inputs"], test["targets"], test["counterparts"]
    cyclegan = pipe.task == "cyclegan"
    label_map = pipe.num_labels is not None  # a map of class ids is not an image: no identity baseline
    total = (len(inputs) * (2 if cyclegan else 1) + len(targets) + len(inputs) * (1 if label_map else 2)
             + (0 if counterparts is None else len(inputs)))
    scorer = Scorer(extractor if extractor is not None else get_extractor(inception, device), total, progress,
                    batch_size)

    outputs = {"model": _translate(pipe, inputs, direction, batch_size, scorer.stage()),
               "identity": None if label_map else identity_outputs(inputs, pipe.channels(direction)[1])}
    cycle_l1 = {"identity": 0.0}  # copying twice gives the input back exactly
    if cyclegan:
        back = _translate(pipe, outputs["model"], "BtoA" if direction == "AtoB" else "AtoB", batch_size, scorer.stage())
        cycle_l1["model"] = float(l1(back, inputs).mean())

    def pixel(method: str, images: np.ndarray) -> dict[str, Any]:
        scores = paired_scores(images, targets) if test["paired"] else {}
        return {**scores, "cycle_l1": cycle_l1[method]} if cyclegan else scores

    feats: dict[str, np.ndarray] = {}
    scores = scorer.compare(outputs, pixel, scorer.features(targets), feats=feats)
    extra: dict[str, int] = {}
    if counterparts is not None:  # CycleGAN on a two-style built-in: each input's held-out other rendering
        against = scorer.compare(outputs, lambda _, images: paired_scores(images, counterparts),
                                 scorer.features(counterparts), feats=feats)
        for method, more in against.items():
            scores[method].update({f"counterpart_{key}": value for key, value in more.items()})
        extra["counterpart_kid_subset"] = kid_subset_size(len(inputs), len(inputs), KID_SUBSET)  # n against n
    return {
        "task": pipe.task, "direction": direction, "split": test["split"], "data": test["data"],
        "resolution": pipe.resolution, "n": int(len(inputs)), "n_target": int(len(targets)),
        "paired": bool(test["paired"]), **scorer.fields(len(inputs), len(targets)), **extra,
        "psnr_max_db": PSNR_MAX_DB, "model": scores["model"], "identity": scores["identity"],
    }


def _translate(pipe: Any, images: np.ndarray, direction: str, batch_size: int, progress: Progress) -> np.ndarray:
    outs = []
    for i in range(0, len(images), batch_size):
        outs.append(pipe.translate_batch(images[i : i + batch_size], direction, batch_size=batch_size))
        progress(min(i + batch_size, len(images)), len(images))
    return np.concatenate(outs)


@EVALUATORS.register("translation")
class TranslationEvaluator(Evaluator):
    """pix2pix, SPADE and CycleGAN: the test (or train) split, next to the identity baseline."""

    runs = "translation runs (pix2pix, cyclegan)"
    options = ("direction", "split")
    min_n_reason = "KID and FID need two images a side"
    columns = ("model", "identity")

    def check(self, opts: EvalOptions) -> None:
        super().check(opts)
        if (opts.split or "test").strip().lower() not in ("test", "train"):
            raise GanforgeError(f"--split takes test or train, got {opts.split.strip().lower()!r}")

    def stage_for(self, opts: EvalOptions) -> str:
        return f"evaluating on the {(opts.split or 'test').strip().lower()} split"

    run = evaluate_translation

    def arguments(self, opts: EvalOptions) -> dict[str, Any]:
        split = (opts.split or "test").strip().lower()
        return {**super().arguments(opts), "direction": opts.direction or "AtoB", "split": split}

    def headline(self, result: dict[str, Any]) -> str:
        return (f"{result['task']} {result['direction']} on the {result['split']} split of {result['data']} at "
                f"{result['resolution']} px: n = {result['n']} inputs, {result['n_target']} targets "
                f"(KID subsets of {result['kid_subset']}, PSNR capped at {result['psnr_max_db']:g} dB)")

    def table(self, result: dict[str, Any]) -> str:
        self.metric_width = max([16, *(len(key) + 2 for key in result["model"])])  # counterpart_* names are long
        return super().table(result)
