"""Inversion and editing quality on held-out 64-px emoji (issue 31): print JSON.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/editing_quality.py --work /tmp/edit --generator-kimg 100

1. The generator: StyleGAN2 (width 16) on the train split of the google emoji at 64 px, WORK/runs/
   stylegan2-emoji-train-64, trained or resumed to --generator-kimg (or --generator: any StyleGAN2 run, checkpoint
   or export); the held-out emoji are the test split (whole emoji names with their skin-tone variants).
2. The encoder: `ganforge train encoder` on that generator (the same train split), WORK/runs/encoder-emoji-64,
   to --encoder-kimg.
3. Inversion of --n held-out emoji (a seeded subset) by each method: the encoder alone, optimisation (W+, --steps)
   and PTI (--steps, then --tune-steps of tuning): PSNR, SSIM, the Inception cosine distance (editing/scores.py),
   seconds per image; the encoder's milliseconds per image one at a time (encoder + generator).
4. Skin-tone edits: held-out people emoji in one tone, each paired with the same emoji in another tone (the exact
   counterfactual). The source is inverted (--edit-method), moved by InterFaceGAN's boundary for the target tone
   (fitted on --samples images labelled by the alignment evaluator's tone head: real train-split emoji through the
   encoder, or with --boundary-source samples the generator's own samples) to --strength standard
   deviations past it, and drawn (PTI's tuned copy when PTI inverted it). Reported: the share the tone head reads as
   the target, and the edited image's L1 to the true target against the source's L1 to it (bar: at most half).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import machine  # noqa: E402
from train_detector import ensure_run, log, train_split_folder  # noqa: E402

import ganforge  # noqa: E402

RESOLUTION = 64


def held_out(n: int, seed: int) -> tuple[np.ndarray, list[dict]]:
    """A seeded subset of --n test-split emoji (uint8 [n, 64, 64, 3]) and their metadata."""
    from ganforge.data.captions import resolve_captioned

    test = resolve_captioned("emoji", RESOLUTION, split="test")
    idx = np.sort(np.random.default_rng(seed).choice(len(test), min(n, len(test)), replace=False))
    return test.images[idx], [test.items[i] for i in idx]


def tone_pairs(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, str, str, str]]:
    """Up to n (source image, target image, source tone, target tone, name) of held-out people emoji in one tone."""
    from ganforge.data.captions import resolve_captioned
    from ganforge.metrics.alignment import TONES

    test = resolve_captioned("emoji", RESOLUTION, split="test")
    by_name: dict[str, dict[str, int]] = {}
    for i, item in enumerate(test.items):
        if item.get("skin_tone") in TONES[1:]:
            by_name.setdefault(item["name"], {})[item["skin_tone"]] = i
    pairs = [(tones[a], tones[b], a, b, name) for name, tones in sorted(by_name.items())
             for a in tones for b in tones if a != b]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), min(n, len(pairs)), replace=False)
    return [(test.images[pairs[k][0]], test.images[pairs[k][1]], *pairs[k][2:]) for k in sorted(chosen)]


def invert_all(pipe, images: np.ndarray, method: str, args, encoder=None) -> tuple[list, float]:
    from ganforge.editing.inversion import invert

    results, started = [], time.perf_counter()
    for i, image in enumerate(images):
        steps = args.encoder_steps if method == "encoder" else args.steps
        results.append(invert(pipe, image, steps=steps, method=method, tune_steps=args.tune_steps, encoder=encoder,
                              seed=i))
        if (i + 1) % 5 == 0:
            log(f"{method}: {i + 1}/{len(images)}")
    return results, (time.perf_counter() - started) / max(1, len(images))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/edit"))
    parser.add_argument("--generator", default=None, help="a StyleGAN2 run, checkpoint or export (default: train one)")
    parser.add_argument("--generator-kimg", type=float, default=100)
    parser.add_argument("--encoder-kimg", type=float, default=20)
    parser.add_argument("--encoder-name", default="encoder-emoji-64")
    parser.add_argument("--n", type=int, default=30, help="held-out emoji inverted by each method")
    parser.add_argument("--steps", type=int, default=300, help="latent optimisation steps (optimize, pti)")
    parser.add_argument("--tune-steps", type=int, default=200, help="PTI's generator tuning steps")
    parser.add_argument("--encoder-steps", type=int, default=0, help="refinement steps after the encoder")
    parser.add_argument("--methods", default="encoder,optimize,pti")
    parser.add_argument("--pairs", type=int, default=30, help="skin-tone edit pairs")
    parser.add_argument("--edit-method", default="pti")
    parser.add_argument("--strength", type=float, default=2.0)
    parser.add_argument("--samples", type=int, default=4000, help="images labelled per boundary")
    parser.add_argument("--boundary-source", default="encoder", choices=("encoder", "samples"),
                        help="fit boundaries on encoded real train-split images, or on generator samples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from ganforge.editing.attributes import classify, parse_attribute
    from ganforge.editing.directions import edited, fit_boundary
    from ganforge.editing.encoder import load_encoder
    from ganforge.editing.scores import reconstruction_scores
    from ganforge.imaging import tensor_to_uint8
    from ganforge.metrics.features import get_extractor
    from ganforge.metrics.image import l1
    from ganforge.tasks.encoder.evaluate import ms_per_image

    if args.generator:
        generator = args.generator
    else:
        generator = str(ensure_run(args.work, "stylegan2-emoji-train-64", None, task="image", model="stylegan2",
                                   data=str(train_split_folder(args.work, "emoji", RESOLUTION)),
                                   resolution=RESOLUTION, width=16, seed=0, kimg=args.generator_kimg))
    pipe = ganforge.load(generator)
    methods = args.methods.split(",")
    encoder = None
    if "encoder" in methods:
        run = ensure_run(args.work, args.encoder_name, None, task="encoder", generator=generator, data="emoji",
                         resolution=RESOLUTION, width=16, seed=0, kimg=args.encoder_kimg)
        encoder = load_encoder(run)
    images, _ = held_out(args.n, args.seed)
    extractor = get_extractor()
    inversion: dict[str, dict] = {}
    for method in methods:
        results, seconds = invert_all(pipe, images, method, args, encoder)
        recon = np.stack([r.reconstruction for r in results])
        inversion[method] = {**reconstruction_scores(recon, images, extractor), "sec_per_image": round(seconds, 3)}
        if method == "encoder":
            inversion[method]["ms_per_image_alone"] = round(ms_per_image(encoder, pipe, images), 1)
        log(f"{method}: {json.dumps(inversion[method])}")
    edits: dict = {}
    if args.pairs:
        from ganforge.editing.inversion import invert

        pairs = tone_pairs(args.pairs, args.seed)
        boundaries = {}
        hits, ratios, recon_l1 = [], [], []
        for k, (source, target, _, tone, _) in enumerate(pairs):
            name = "skin-tone:" + tone.replace(" skin tone", "")
            if name not in boundaries:
                boundaries[name] = fit_boundary(pipe, name, samples=args.samples, seed=args.seed,
                                                encoder=encoder if args.boundary_source == "encoder" else None)
                log(f"{name}: accuracy {boundaries[name].accuracy:.3f}, counts {boundaries[name].counts}")
            found = invert(pipe, source, steps=args.steps, method=args.edit_method, tune_steps=args.tune_steps,
                           encoder=encoder, seed=k)
            out = tensor_to_uint8(edited(pipe, found.latent, boundaries[name], [args.strength], found.generator))
            want = parse_attribute(name).index
            hits.append(int(classify(out, "skin-tone")[0].argmax() == want))
            src_l1 = float(l1(source[None], target[None])[0])
            ratios.append(float(l1(out, target[None])[0]) / max(src_l1, 1e-6))
            recon_l1.append(float(l1(found.reconstruction[None], target[None])[0]) / max(src_l1, 1e-6))
            if (k + 1) % 5 == 0:
                log(f"edits {k + 1}/{len(pairs)}: target tone {np.mean(hits):.2f}, L1 ratio {np.median(ratios):.2f}")
        edits = {"pairs": len(pairs), "target_tone_share": float(np.mean(hits)),
                 "l1_ratio_median": float(np.median(ratios)), "l1_ratio_mean": float(np.mean(ratios)),
                 "reconstruction_l1_ratio_median": float(np.median(recon_l1)),
                 "boundaries": {k: {"accuracy": b.accuracy, "counts": b.counts} for k, b in boundaries.items()},
                 "inversion": args.edit_method, "strength": args.strength, "boundary_source": args.boundary_source}
    config_path = Path(generator) / "config.json"
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
                      "generator": generator, "encoder": str(encoder.origin) if encoder else None,
                      "generator_kimg": json.loads(config_path.read_text()).get("kimg") if config_path.is_file()
                      else None, "n": int(len(images)), "inversion": inversion, "skin_tone_edits": edits}, indent=2))


if __name__ == "__main__":
    main()
