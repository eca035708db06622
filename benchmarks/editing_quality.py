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
5. Digit edits (--digit-editor, an editor trained on mnist classes): held-out digits edited to another digit; the
   share digit_coverage.py's classifier reads as the target, and Pearson r of slant and thickness before and after.
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


def digit_edits(args) -> dict:
    """--digit-editor (ganforge train attribute --data mnist --attribute class) on held-out digits: each edited to
    another digit (seeded); the share digit_coverage.py's classifier reads as the target, and how well the edit keeps
    the source's style: Pearson r of slant and of thickness (Morpho-MNIST's measures, editing/scores.py)."""
    import torch
    from digit_coverage import as_input, real_digits, trained_classifier

    from ganforge.editing.scores import stroke_style
    from ganforge.imaging import uint8_to_tensor
    from ganforge.tasks.attribute.data import attribute_set
    from ganforge.tasks.attribute.evaluate import edit_all

    editor = ganforge.load(args.digit_editor)
    found = attribute_set("mnist", "class", editor.resolution, "test")
    idx = np.sort(np.random.default_rng(args.seed).choice(len(found.sources), min(args.digits, len(found.sources)),
                                                          replace=False))
    sources, labels = found.sources[idx], found.source_labels[idx]
    targets = (labels + 1 + np.random.default_rng(args.seed + 1).integers(0, 9, len(labels))) % 10
    edited_digits = edit_all(editor, sources, targets)
    net, accuracy = trained_classifier(*real_digits())
    with torch.no_grad():
        read_as = net(as_input(uint8_to_tensor(edited_digits))).argmax(1).numpy()
        read_src = net(as_input(uint8_to_tensor(sources))).argmax(1).numpy()
    before, after = stroke_style(sources), stroke_style(edited_digits)

    def r(key: str) -> float:
        keep = np.isfinite(before[key]) & np.isfinite(after[key])
        return float(np.corrcoef(before[key][keep], after[key][keep])[0, 1])

    return {"n": int(len(idx)), "run": args.digit_editor, "classifier_accuracy": round(accuracy, 4),
            "sources_read_as_their_digit": float((read_src == labels).mean()),
            "target_share": float((read_as == targets).mean()), "slant_r": r("slant"),
            "thickness_r": r("thickness")}


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
    digits = digit_edits(args) if args.digit_editor else {}
    config_path = Path(generator or "") / "config.json"
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
                      "generator": generator, "encoder": str(encoder.origin) if encoder else None,
                      "generator_kimg": json.loads(config_path.read_text()).get("kimg") if config_path.is_file()
                      and generator else None, "n": int(len(images)), "inversion": inversion, "skin_tone_edits": edits,
                      "digit_edits": digits}, indent=2))


if __name__ == "__main__":
    main()
