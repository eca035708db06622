"""The detector of generated images (issue 29): average precision and accuracy at its threshold, on generators it
was trained against and on generators it never saw.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/provenance_detector.py --work /tmp/det

Reads the shipped detector-{probe,cnn}.safetensors (or --weights-dir), made by scripts/train_detector.py with the
same --work (its StyleGAN2 runs are reused, or trained here). Every image here is outside the detector's training:
real images from each built-in's test split (`data.split`: emoji and photos held out by group), generated ones
from seeds TEST_SEED.. (training used seeds below it). Rows, each generated set against real images of its kind:

- trained against: the zoo's DCGANs (emoji, mnist) and the StyleGAN2 runs (emoji, photos), --n images each, vs
  --n test images of the set each was trained on; AutoGAN's simulator (the training script's autoencoder) redrawing
  --n test images of each domain, vs those same images; and all of them together;
- held out (trained here, --kimg each: 20, 5-30 minutes each on one thread): R3GAN on emoji (vs emoji test
  images); super-resolution x4 to 64 px on emoji and on photos (outputs vs the high-resolution test images they
  were made from; the photos' test split is one photo, the Hubble deep field, so that row is one picture's);
  inpainting on emoji at 32 px (test images with the evaluation's fixed masks, hole areas 0-60%, filled and
  composited, vs the same images unholed); pix2pix emoji google -> twitter (outputs vs the real twitter
  test images); and all of them together.

AP is average precision with "generated" the positive class; accuracy counts images called rightly at the
detectors' threshold (0.5, fixed in training: classes were balanced; not tuned on any test set). Pipelines are
called with watermark=False (the batch methods used here never mark). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from report import machine, rounded

import ganforge
from ganforge.provenance import detector as det

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from train_detector import (  # noqa: E402  (the training script's helpers: same generators, splits, cache)
    TEST_SEED,
    cached_features,
    ensure_run,
    generator_pipes,
    log,
    real_images,
    reconstruct,
    sample,
    subset,
    train_autoencoder,
)

TRAINED_DATA = {"dcgan-emoji": "emoji", "stylegan2-emoji": "emoji", "dcgan-mnist": "mnist", "stylegan2-photos": "photos"}


def held_out_sets(work: Path, n: int, kimg: float, minutes: float | None) -> dict[str, dict[str, Any]]:
    """{name: {"generated", "real", "note"}} for the generators the detector never saw."""
    sets: dict[str, dict[str, Any]] = {}
    run = ensure_run(work, "r3gan-emoji-32", minutes, task="image", model="r3gan", data="emoji", resolution=32,
                     width=16, seed=0, kimg=kimg)
    sets["r3gan-emoji"] = {"generated": sample(ganforge.load(run), n, TEST_SEED),
                           "real": subset(real_images("emoji", 32, "test"), n),
                           "note": "R3GAN (width 16) on emoji 32 px vs emoji test images"}

    from ganforge.tasks.superres.evaluate import load_sr_test

    for data, what in (("emoji", "emoji (1,905 emoji, their 10% test split held out by emoji)"),
                       ("photos", "photos: crops of the one held-out test photo, hubble_deep_field")):
        run = ensure_run(work, f"superres-{data}-64", minutes, task="superres", data=data, resolution=64, scale=4,
                         width=32, n_blocks=4, seed=0, kimg=kimg)
        pipe = ganforge.load(run)
        test = load_sr_test(pipe, n=n)
        sets[f"superres-{data}"] = {"generated": pipe.upscale_batch(test["low"]),
                                    "real": test["high"],
                                    "note": f"SRResNet GAN x4 (16 -> 64 px, bicubic degradation) on {what}: outputs "
                                            "vs the 64 px test images they were made from"}

    from ganforge.data.masks import BUCKETS, fixed_test_masks
    from ganforge.tasks.inpaint.evaluate import load_inpaint_test

    run = ensure_run(work, "inpaint-emoji-32", minutes, task="inpaint", data="emoji", resolution=32, seed=0, kimg=kimg)
    pipe = ganforge.load(run)
    _, truth = load_inpaint_test(pipe, n=n)
    per_bucket = -(-len(truth) // len(BUCKETS))
    bank = fixed_test_masks(pipe.resolution, per_bucket, 0)
    masks = np.stack([bank[BUCKETS[i % len(BUCKETS)]][i // len(BUCKETS)] for i in range(len(truth))])
    sets["inpaint-emoji"] = {"generated": pipe.inpaint_batch(truth, masks),
                             "real": truth, "hole_area_mean": float(masks.mean()),
                             "note": "LaMa-style inpainting on emoji 32 px, the evaluation's fixed masks (4 area "
                                     "buckets, 0-60%), holes filled and composited, vs the same test images"}

    from ganforge.tasks.translation.evaluate import load_test_split

    run = ensure_run(work, "pix2pix-emoji-32", minutes, task="pix2pix", data="emoji", resolution=32, seed=0,
                     kimg=kimg)
    pipe = ganforge.load(run)
    test = load_test_split(pipe, n=n)
    sets["pix2pix-emoji"] = {"generated": pipe.translate_batch(test["inputs"]),
                             "real": test["targets"],
                             "note": "pix2pix (U-Net) emoji google -> twitter 32 px: outputs vs the real twitter "
                                     "test images"}
    return sets


def scores(work: Path, name: str, generated: np.ndarray, real: np.ndarray, models: dict) -> dict:
    """AP and accuracy of both detectors on generated (positive) vs real images."""
    y = np.r_[np.zeros(len(real)), np.ones(len(generated))]
    row: dict[str, Any] = {"set": name, "n_real": len(real), "n_generated": len(generated),
                           "size": f"{generated.shape[1]}x{generated.shape[2]}"}
    for detector in det.DETECTORS:
        if detector == "probe":
            feats = np.concatenate([cached_features(real, work, f"test-{name}-real"),
                                    cached_features(generated, work, f"test-{name}-generated")])
            p = models["probe"].probability(feats)
        else:
            p = det.sigmoid(np.r_[det.cnn_logits(models["cnn"], real), det.cnn_logits(models["cnn"], generated)])
        row[f"{detector}_ap"] = det.average_precision(y, p)
        row[f"{detector}_accuracy"] = det.accuracy(y, p)
        row[f"{detector}_mean_p_real"] = float(p[y == 0].mean())
        row[f"{detector}_mean_p_generated"] = float(p[y == 1].mean())
    return row


def pooled_row(work: Path, sets: dict[str, dict[str, Any]], models: dict) -> dict[str, Any]:
    """Every set's generated images against every set's real ones (a real set shared by two rows counted once)."""
    from ganforge.metrics.extract import array_fingerprint

    reals: dict[str, tuple[np.ndarray, str]] = {}
    for name, s in sets.items():
        reals.setdefault(array_fingerprint(s["real"]), (s["real"], f"test-{name}-real"))
    parts = [(s["generated"], 1, f"test-{name}-generated") for name, s in sets.items()]
    parts += [(images, 0, tag) for images, tag in reals.values()]
    y = np.concatenate([np.full(len(images), label) for images, label, _ in parts])
    feats = np.concatenate([cached_features(images, work, tag) for images, _, tag in parts])
    p = {"probe": models["probe"].probability(feats),
         "cnn": det.sigmoid(np.concatenate([det.cnn_logits(models["cnn"], images) for images, _, _ in parts]))}
    row: dict[str, Any] = {"set": "all", "n_real": int((y == 0).sum()), "n_generated": int((y == 1).sum())}
    for d in det.DETECTORS:
        row[f"{d}_ap"], row[f"{d}_accuracy"] = det.average_precision(y, p[d]), det.accuracy(y, p[d])
    return row


def api_rate(images: np.ndarray, models: dict) -> dict[str, float]:
    """Images/s of `generated_probability` for each detector alone (the probe's is Inception's extraction)."""
    rates = {}
    for d in det.DETECTORS:
        started = time.perf_counter()
        det.generated_probability(images, detectors=[d], probe=models["probe"], cnn=models["cnn"])
        rates[d] = len(images) / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/det"))
    parser.add_argument("--weights-dir", type=Path, default=det.HERE)
    parser.add_argument("--n", type=int, default=200, help="generated and real images per set")
    parser.add_argument("--kimg", type=float, default=20.0, help="budget of each held-out generator's training")
    parser.add_argument("--minutes", type=float, default=None, help="a time budget besides --kimg")
    parser.add_argument("--sg2-kimg", type=float, default=20.0)
    parser.add_argument("--sg2-minutes", type=float, default=None)
    parser.add_argument("--prepare", action="store_true", help="train the generators into --work, then stop")
    args = parser.parse_args()
    started = time.perf_counter()
    held = held_out_sets(args.work, args.n, args.kimg, args.minutes)
    if args.prepare:
        return
    pipes = generator_pipes(args.work, args.sg2_kimg, args.sg2_minutes)
    trained = {name: {"generated": sample(pipe, args.n, TEST_SEED),
                      "real": subset(real_images(TRAINED_DATA[name], 32, "test"), args.n)} for name, pipe in pipes.items()}
    simulator = train_autoencoder(args.work, {})
    for data in ("emoji", "mnist", "photos"):
        real = subset(real_images(data, 32, "test"), args.n)
        trained[f"autoencoder-{data}"] = {"generated": reconstruct(simulator, real), "real": real}
    probe, probe_meta = det.load_probe(args.weights_dir / det.PROBE_FILE.name)
    cnn, cnn_meta = det.load_cnn(args.weights_dir / det.CNN_FILE.name)
    models = {"probe": probe, "cnn": cnn}
    log("scoring")
    rows = {"trained_against": [], "held_out": []}
    for group, sets in (("trained_against", trained), ("held_out", held)):
        for name, s in sets.items():
            row = scores(args.work, name, s["generated"], s["real"], models)
            rows[group].append({**row, **{k: v for k, v in s.items() if k not in ("generated", "real")}})
            log(json.dumps(rounded(rows[group][-1])))
        rows[group].append(pooled_row(args.work, sets, models))
    result = {
        "benchmark": "provenance_detector", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "command": " ".join(sys.argv), "threshold": det.THRESHOLD, "positive": "generated",
        "detectors": {"probe": {"file": det.PROBE_FILE.name, "bytes": (args.weights_dir / det.PROBE_FILE.name).stat().st_size,
                                "trained": json.loads(probe_meta.get("trained", "{}")).get("validation")},
                      "cnn": {"file": det.CNN_FILE.name, "bytes": (args.weights_dir / det.CNN_FILE.name).stat().st_size,
                              "trained": json.loads(cnn_meta.get("trained", "{}")).get("validation")}},
        "watermark_off": {name: True for name in pipes},
        **rows,
        "api_images_per_sec_32px": api_rate(trained["dcgan-emoji"]["generated"][:64], models),
        "api_images_per_sec_64px": api_rate(held["superres-emoji"]["generated"][:64], models),
        "total_sec": time.perf_counter() - started,
    }
    print(json.dumps(rounded(result), indent=2))


if __name__ == "__main__":
    main()
