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
   deviations past it, and drawn (PTI's tuned copy when PTI inverted it). With --editor, the attribute editor
   (`ganforge train attribute`, CAAE's route) edits the same pairs. Reported for both routes, and for the sources
   unchanged: the share the tone head reads as the target, and the edited image's L1 to the true target over the
   source's L1 to it (median; bar: at most half), as `ganforge eval` of an editor does (tasks/attribute/evaluate.py).
5. Digit edits: held-out digits edited to another digit, by --digit-editor (an editor trained on mnist classes) and,
   on the first --digit-inversions of the same pairs, by the inversion route (a DCGAN of the train split, z
   optimisation, InterFaceGAN's digit boundary); the share the shipped digit classifier reads as the target, and
   Pearson r of slant and thickness before and after.
6. Gender edits (--gender-edits): InterFaceGAN's man/woman/person boundaries in an emoji generator's samples, and the
   share of edited samples the shipped gender probe reads as the target variant.
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
                              seed=i, tune_lr=args.tune_lr))
        if (i + 1) % 5 == 0:
            log(f"{method}: {i + 1}/{len(images)}")
    return results, (time.perf_counter() - started) / max(1, len(images))


def tone_edits(pipe, encoder, args) -> dict:
    """Both routes on the same held-out pairs: inversion + InterFaceGAN, and (--editor) the attribute editor."""
    from ganforge.editing.directions import edited, fit_boundary
    from ganforge.editing.inversion import invert
    from ganforge.imaging import tensor_to_uint8
    from ganforge.metrics.alignment import TONES
    from ganforge.tasks.attribute.evaluate import counterfactual_scores, edit_all

    pairs = tone_pairs(args.pairs, args.seed)
    sources = np.stack([p[0] for p in pairs])
    targets = np.stack([p[1] for p in pairs])
    target_labels = np.array([TONES.index(p[3]) for p in pairs])
    out: dict = {"pairs": len(pairs), "emoji": len({p[4] for p in pairs}),
                 "unchanged": counterfactual_scores(sources, sources, targets, target_labels)}
    if args.editor:
        editor = ganforge.load(args.editor)
        started = time.perf_counter()
        done = edit_all(editor, sources, target_labels)
        out["attribute_editor"] = {**counterfactual_scores(done, sources, targets, target_labels),
                                   "sec_per_image": round((time.perf_counter() - started) / len(pairs), 4),
                                   "run": args.editor}
        log(f"attribute editor: {json.dumps(out['attribute_editor'])}")
    boundaries, results, recon = {}, [], []
    started = time.perf_counter()
    for k, (source, _, _, tone, _) in enumerate(pairs):
        name = "skin-tone:" + tone.replace(" skin tone", "")
        if name not in boundaries:
            boundaries[name] = fit_boundary(pipe, name, samples=args.samples, seed=args.seed,
                                            encoder=encoder if args.boundary_source == "encoder" else None)
            log(f"{name}: accuracy {boundaries[name].accuracy:.3f}, counts {boundaries[name].counts}")
        found = invert(pipe, source, steps=args.steps, method=args.edit_method, tune_steps=args.tune_steps,
                       encoder=encoder, seed=k)
        results.append(tensor_to_uint8(edited(pipe, found.latent, boundaries[name], [args.strength],
                                              found.generator))[0])
        recon.append(found.reconstruction)
        if (k + 1) % 5 == 0:
            log(f"inversion-route edits {k + 1}/{len(pairs)}")
    out["inversion_route"] = {**counterfactual_scores(np.stack(results), sources, targets, target_labels),
                              "sec_per_image": round((time.perf_counter() - started) / len(pairs), 2),
                              "reconstruction": counterfactual_scores(np.stack(recon), sources, targets, target_labels),
                              "boundaries": {k: {"accuracy": b.accuracy, "counts": b.counts}
                                             for k, b in boundaries.items()},
                              "inversion": args.edit_method, "strength": args.strength,
                              "boundary_source": args.boundary_source}
    return out


def digit_scores(edited_digits: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> dict:
    """The share the shipped digit classifier reads as the target, and how well the edits keep the sources' style:
    Pearson r of slant and of thickness (Morpho-MNIST's measures, editing/scores.py)."""
    from ganforge.editing.attributes import classify
    from ganforge.editing.scores import stroke_style

    read_as = classify(edited_digits, "digit").argmax(1)
    before, after = stroke_style(sources), stroke_style(edited_digits)

    def r(key: str) -> float:
        keep = np.isfinite(before[key]) & np.isfinite(after[key])
        return round(float(np.corrcoef(before[key][keep], after[key][keep])[0, 1]), 4)

    return {"n": int(len(sources)), "target_share": round(float((read_as == targets).mean()), 4),
            "slant_r": r("slant"), "thickness_r": r("thickness")}


def digit_edits(args) -> dict:
    """Held-out digits (the mnist test split, a seeded subset), each edited to another digit (seeded): by
    --digit-editor (ganforge train attribute --data mnist --attribute class) on all --digits, and by the inversion
    route on the first --digit-inversions of them: inversion into --digit-generator (default: a DCGAN trained here on
    the train split), then InterFaceGAN's boundary of the target digit (fitted on --samples generator samples
    labelled by the shipped digit classifier), moved to --digit-strength standard deviations past it."""
    from ganforge.editing.attributes import classify
    from ganforge.editing.directions import edited, fit_boundaries
    from ganforge.editing.inversion import invert
    from ganforge.imaging import tensor_to_uint8
    from ganforge.metrics.digits import load_digit_classifier
    from ganforge.metrics.image import PSNR_MAX_DB, psnr
    from ganforge.tasks.attribute.data import attribute_set
    from ganforge.tasks.attribute.evaluate import edit_all

    found = attribute_set("mnist", "class", 32, "test")
    idx = np.sort(np.random.default_rng(args.seed).choice(len(found.sources), min(args.digits, len(found.sources)),
                                                          replace=False))
    sources, labels = found.sources[idx], found.source_labels[idx]
    targets = (labels + 1 + np.random.default_rng(args.seed + 1).integers(0, 9, len(labels))) % 10
    out: dict = {"classifier": json.loads(load_digit_classifier()[1].get("test_accuracy", "null")),
                 "sources_read_as_their_digit": round(float((classify(sources, "digit").argmax(1) == labels).mean()), 4),
                 "unchanged": digit_scores(sources, sources, targets)}
    few = min(args.digit_inversions, len(sources))
    if args.digit_editor:
        editor = ganforge.load(args.digit_editor)
        started = time.perf_counter()
        done = edit_all(editor, sources, targets)
        out["attribute_editor"] = {**digit_scores(done, sources, targets), "run": args.digit_editor,
                                   "sec_per_image": round((time.perf_counter() - started) / len(sources), 4),
                                   f"first_{few}": digit_scores(done[:few], sources[:few], targets[:few])}
        log(f"digit editor: {json.dumps(out['attribute_editor'])}")
    if few:
        generator = args.digit_generator or str(ensure_run(
            args.work, "dcgan-mnist-train-32", None, task="image", model="dcgan", resolution=32, seed=0,
            data=str(train_split_folder(args.work, "mnist", 32)), kimg=args.digit_generator_kimg))
        pipe = ganforge.load(generator)
        digits = sorted(set(targets[:few].tolist()))
        boundaries = dict(zip(digits, fit_boundaries(pipe, [f"digit:{d}" for d in digits], args.samples, args.seed)))
        started = time.perf_counter()
        recon, moved = [], {s: [] for s in args.digit_strengths}
        for k in range(few):
            inverted = invert(pipe, sources[k], steps=args.steps, method="optimize", seed=k)
            recon.append(inverted.reconstruction)
            for strength in args.digit_strengths:
                moved[strength].append(tensor_to_uint8(edited(pipe, inverted.latent, boundaries[int(targets[k])],
                                                              [strength], inverted.generator))[0])
            if (k + 1) % 25 == 0:
                log(f"digit inversion route {k + 1}/{few}")
        recon_np = np.stack(recon)
        if args.digit_grid:
            save_digit_grid(args.digit_grid, sources[:few], recon_np, np.stack(moved[args.digit_strengths[-1]]),
                            done[:few] if args.digit_editor else None)
        out["inversion_route"] = {
            "generator": generator, "inversion": f"optimize, {args.steps} steps",
            "sec_per_image": round((time.perf_counter() - started) / few, 2),
            "reconstruction": {**digit_scores(recon_np, sources[:few], labels[:few]),
                               "psnr": round(float(psnr(recon_np, np.broadcast_to(sources[:few], recon_np.shape),
                                                   max_db=PSNR_MAX_DB).mean()), 2)},
            "by_strength": {str(s): digit_scores(np.stack(m), sources[:few], targets[:few]) for s, m in moved.items()},
            "boundaries": {str(d): {"accuracy": round(b.accuracy, 4), "counts": b.counts} for d, b in boundaries.items()}}
        log(f"digit inversion route: {json.dumps(out['inversion_route'])}")
    return out


def gender_edits(args) -> dict:
    """InterFaceGAN's gender boundaries in --gender-generator (default zoo:emoji-32), fitted on --samples of its
    samples labelled by the shipped gender probe; --gender-edits other seeded samples the probe reads as a person of
    another variant are moved to --strength standard deviations past each target's boundary, and read again."""
    from ganforge.editing.attributes import classify
    from ganforge.editing.directions import edited, fit_boundaries, sample_latents
    from ganforge.imaging import tensor_to_uint8
    from ganforge.metrics.gender import GENDERS

    pipe = ganforge.load(args.gender_generator)
    latents, images = sample_latents(pipe.generator, args.gender_edits * 20, seed=args.seed + 1)
    read = classify(images, "gender").argmax(1)
    out: dict = {"generator": args.gender_generator, "samples": args.samples, "strength": args.strength,
                 "drawn_share": {g: round(float((read == i).mean()), 4) for i, g in enumerate(GENDERS)}}
    fitted = fit_boundaries(pipe, [f"gender:{g}" for g in GENDERS[1:]], args.samples, args.seed,
                            conditions=args.gender_keep)
    kept = fitted[len(GENDERS) - 1:]
    out["keep"] = args.gender_keep
    for index, (gender, boundary) in enumerate(zip(GENDERS[1:], fitted), start=1):
        boundary = boundary.conditioned(kept) if kept else boundary
        rows = np.flatnonzero((read > 0) & (read != index))[: args.gender_edits]
        moved = np.stack([tensor_to_uint8(edited(pipe, latents[r], boundary, [args.strength]))[0] for r in rows])
        after = classify(moved, "gender")
        out[gender] = {"boundary_accuracy": round(boundary.accuracy, 4), "counts": boundary.counts, "edited": len(rows),
                       "read_as_target": round(float((after.argmax(1) == index).mean()), 4),
                       "read_as_a_person": round(float((after.argmax(1) > 0).mean()), 4)}
        log(f"gender:{gender}: {json.dumps(out[gender])}")
    return out


def save_digit_grid(path: Path, *rows: np.ndarray | None) -> None:
    """One row per stage (sources, reconstructions, inversion-route edits, editor edits), grey, up to 12 columns."""
    from PIL import Image

    from ganforge.data.derive import to_gray
    from ganforge.imaging import make_grid

    stacked = np.concatenate([to_gray(r[:12]) for r in rows if r is not None])
    grid = make_grid(stacked, nrow=min(12, len(rows[0])))
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/edit"))
    parser.add_argument("--generator", default=None, help="a StyleGAN2 run, checkpoint or export (default: train one)")
    parser.add_argument("--generator-kimg", type=float, default=100)
    parser.add_argument("--encoder-kimg", type=float, default=20)
    parser.add_argument("--encoder-name", default=None, help="WORK/runs/NAME (default: encoder-emoji-64 for e4e, "
                        "encoder-fse-emoji-64 for fse)")
    parser.add_argument("--encoder-model", default="e4e", choices=("e4e", "fse"),
                        help="fse: with a residual for the generator's 16 x 16 features")
    parser.add_argument("--n", type=int, default=30, help="held-out emoji inverted by each method")
    parser.add_argument("--steps", type=int, default=300, help="latent optimisation steps (optimize, pti)")
    parser.add_argument("--tune-steps", type=int, default=2000, help="PTI's generator tuning steps")
    parser.add_argument("--tune-lr", type=float, default=1e-3, help="PTI's tuning learning rate")
    parser.add_argument("--encoder-steps", type=int, default=0, help="refinement steps after the encoder")
    parser.add_argument("--methods", default="encoder,optimize,pti")
    parser.add_argument("--pairs", type=int, default=30, help="skin-tone edit pairs")
    parser.add_argument("--edit-method", default="pti")
    parser.add_argument("--strength", type=float, default=2.0)
    parser.add_argument("--samples", type=int, default=4000, help="images labelled per boundary")
    parser.add_argument("--boundary-source", default="encoder", choices=("encoder", "samples"),
                        help="fit boundaries on encoded real train-split images, or on generator samples")
    parser.add_argument("--editor", default=None, help="an attribute editor (train attribute, skin-tone) on the same pairs")
    parser.add_argument("--digit-editor", default=None, help="an attribute editor trained on mnist classes")
    parser.add_argument("--digits", type=int, default=1000, help="held-out digits edited by --digit-editor")
    parser.add_argument("--digit-inversions", type=int, default=0, help="of those, how many the inversion route "
                        "edits too (0: none)")
    parser.add_argument("--digit-generator", default=None, help="the digit generator the inversion route inverts "
                        "into (default: a DCGAN trained on the mnist train split, WORK/runs/dcgan-mnist-train-32)")
    parser.add_argument("--digit-generator-kimg", type=float, default=150)
    parser.add_argument("--digit-grid", type=Path, default=None, help="PNG: the first 12 pairs' sources, "
                        "reconstructions, inversion-route edits (at the last --digit-strengths) and editor edits")
    parser.add_argument("--digit-strengths", type=lambda t: [float(x) for x in t.split(",")], default=[2.0, 3.0],
                        help="where the inversion route's digit edits land, in standard deviations past the boundary")
    parser.add_argument("--gender-edits", type=int, default=0, help="generator samples edited towards each gender "
                        "variant (0: none)")
    parser.add_argument("--gender-generator", default="zoo:emoji-32")
    parser.add_argument("--gender-keep", action="append", default=[], help="conditions of the gender edits "
                        "(repeatable; gender:none keeps a person drawn)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from ganforge.editing.encoder import load_encoder
    from ganforge.editing.scores import reconstruction_scores
    from ganforge.metrics.features import get_extractor
    from ganforge.tasks.encoder.evaluate import ms_per_image

    methods = [m for m in args.methods.split(",") if m]
    generator = pipe = None
    if args.generator:
        generator = args.generator
    elif methods or args.pairs:  # only the digit editor's scores need no generator
        generator = str(ensure_run(args.work, "stylegan2-emoji-train-64", None, task="image", model="stylegan2",
                                   data=str(train_split_folder(args.work, "emoji", RESOLUTION)),
                                   resolution=RESOLUTION, width=16, seed=0, kimg=args.generator_kimg))
    if generator:
        pipe = ganforge.load(generator)
    encoder = None
    if "encoder" in methods or (args.pairs and args.boundary_source == "encoder"):
        name = args.encoder_name or ("encoder-emoji-64" if args.encoder_model == "e4e" else "encoder-fse-emoji-64")
        run = ensure_run(args.work, name, None, task="encoder", model=args.encoder_model,
                         generator=generator, data="emoji", resolution=RESOLUTION, width=16, seed=0,
                         kimg=args.encoder_kimg)
        encoder = load_encoder(run)
    images, _ = held_out(args.n, args.seed) if methods else (np.zeros((0,)), None)
    extractor = get_extractor() if methods else None
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
        edits = tone_edits(pipe, encoder, args)
    digits = digit_edits(args) if args.digit_editor or args.digit_inversions else {}
    genders = gender_edits(args) if args.gender_edits else {}
    config_path = Path(generator or "") / "config.json"
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
                      "generator": generator, "encoder": str(encoder.origin) if encoder else None,
                      "generator_kimg": json.loads(config_path.read_text()).get("kimg") if config_path.is_file()
                      and generator else None, "n": int(len(images)), "inversion": inversion, "skin_tone_edits": edits,
                      "digit_edits": digits, "gender_edits": genders}, indent=2))


if __name__ == "__main__":
    main()
