"""Evaluation of a text-to-image model: images drawn from captions it never trained on (the held-out split: emoji
names unseen in training) and from its training captions, scored against the real images of each split.

- FID/KID of the held-out captions' images against the held-out real images.
- For emoji (`metrics.alignment`, a frozen evaluator trained on real emoji only): R-precision (the true caption
  ranked first among 100) of the generated images, beside the real images' (the ceiling) and a shuffled pairing's
  (the floor, 1% by chance); skin-tone accuracy on images whose caption names one tone; category accuracy on images
  drawn from the caption that names their category.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, run_data

DEFAULT_N = 1000  # images per split at most (one per real image, each from one of its captions)
SPLITS = ("held_out", "train")
DATA_SPLITS = dict(zip(SPLITS, ("test", "train")))  # the dataset split each is drawn from


def chosen_captions(captions: list[list[str]], seed: int) -> list[str]:
    """One caption per image, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    return [caps[int(rng.integers(len(caps)))] for caps in captions]


def category_captions(captions: list[list[str]], items: list[dict]) -> list[str | None]:
    """Each image's caption that names its category, or None."""
    from ganforge.data.captions import category_words

    out = []
    for caps, item in zip(captions, items):
        words = category_words(item.get("category") or "")
        out.append(next((c for c in caps if words and c.startswith(f"{words}:")), None))
    return out


def item_tones(items: list[dict]) -> np.ndarray:
    """The evaluator's tone class of each emoji [N] (0: none; 1-5: light ... dark; -1: mixed tones, never scored)."""
    from ganforge.metrics.alignment import tone_label

    return np.array([tone_label(it.get("skin_tone")) for it in items], dtype=np.int64)


def alignment_scores(pipe: Any, captioned: Any, texts: list[str], generated: np.ndarray, seed: int) -> dict:
    """(generated images' scores, real images' scores) by the frozen emoji evaluator."""
    from ganforge.data.split import emoji_group
    from ganforge.metrics.alignment import evaluate_images, load_evaluator, r_precision
    from ganforge.text.cache import caption_embeddings

    net, meta = load_evaluator()
    categories = json.loads(meta.get("categories", "[]"))
    items = captioned.items
    groups = np.array([emoji_group(it) for it in items], dtype=object)
    pool_texts, owners = captioned.flat()
    pool = caption_embeddings(pool_texts)
    true = caption_embeddings(texts)
    shuffled = true[np.random.default_rng(seed + 1).permutation(len(true))]
    fake, real = evaluate_images(net, generated), evaluate_images(net, captioned.images)
    tones = item_tones(items)
    named = tones > 0
    model = {"r_precision": r_precision(fake["embedding"], true, pool, groups, groups[owners], seed=seed),
             "r_precision_shuffled": r_precision(fake["embedding"], shuffled, pool, groups, groups[owners], seed=seed)}
    ceiling = {"r_precision": r_precision(real["embedding"], true, pool, groups, groups[owners], seed=seed),
               "r_precision_shuffled": r_precision(real["embedding"], shuffled, pool, groups, groups[owners], seed=seed)}
    if named.any():
        model["tone_accuracy"] = float((fake["tone"][named] == tones[named]).mean())
        ceiling["tone_accuracy"] = float((real["tone"][named] == tones[named]).mean())
    by_category = category_captions(captioned.captions, items)
    keep = [i for i, c in enumerate(by_category) if c is not None and items[i].get("category") in categories]
    if keep:
        images = pipe([by_category[i] for i in keep], seeds=keep, output_type="np", watermark=False)
        wanted = np.array([categories.index(items[i]["category"]) for i in keep])
        model["category_accuracy"] = float((evaluate_images(net, images)["category"] == wanted).mean())
        ceiling["category_accuracy"] = float((real["category"][keep] == wanted).mean())
    model["n_tone_named"] = ceiling["n_tone_named"] = int(named.sum())
    return {"model": model, "real": ceiling}


def evaluation_split(data: str, resolution: int, split: str, n: int | None = None) -> Any:
    """The captioned images `ganforge eval` scores on `split`: a fixed subset of at most n (default DEFAULT_N)."""
    from ganforge.data.captions import resolve_captioned
    from ganforge.metrics.compute import subset_indices

    full = resolve_captioned(data, resolution, split=split)
    m = min(len(full), n or DEFAULT_N)
    if m < 2:
        raise GanforgeError(f"--eval-n must be at least 2, got {m}")
    return full.subset(subset_indices(len(full), m, 0))


def evaluate_text2image(pipe: Any, data: str | None = None, n: int | None = None, inception: str | None = None,
                        device: str = "cpu", progress: Progress | None = None) -> dict[str, Any]:
    from ganforge.data.builtin import parse_builtin
    from ganforge.metrics.compute import compute_metrics

    _, data = run_data(pipe, data, "name its captioned images with --data")
    resolution = int(pipe.config["resolution"])
    hit = parse_builtin(str(data))
    emoji = hit is not None and hit[0].name == "emoji"
    result: dict[str, Any] = {"task": "text2image", "data": data, "split": "test"}
    for name, split in DATA_SPLITS.items():
        captioned = evaluation_split(data, resolution, split, n)
        m = len(captioned)
        texts = chosen_captions(captioned.captions, seed=0)
        generated = pipe(texts, seeds=list(range(m)), output_type="np", watermark=False)
        scores: dict[str, dict] = {"model": {"n": m}, "real": {"n": m}}
        if name == "held_out":
            metrics = compute_metrics(captioned.images, generated, n=m, metrics=("fid", "kid"), inception=inception,
                                      device=device)
            scores["model"].update({k: v for k, v in metrics.items() if k.startswith(("fid", "kid"))})
        if emoji:
            aligned = alignment_scores(pipe, captioned, texts, generated, seed=0)
            scores["model"].update(aligned["model"])
            scores["real"].update(aligned["real"])
        result[name] = scores
    result["n"] = result["held_out"]["model"]["n"]
    return result


@EVALUATORS.register("text2image")
class Text2ImageEvaluator(Evaluator):
    """Text-to-image models: FID/KID and alignment on held-out and training captions."""

    runs = "text-to-image models"
    min_n = 2
    columns = ("model", "real")
    metric_width = 22
    run = staticmethod(evaluate_text2image)

    def headline(self, result: dict[str, Any]) -> str:
        return f"text2image on {result.get('data')}: n = {result.get('n')} held-out captions (unseen emoji names)"

    def blocks(self, result: dict[str, Any]) -> list[tuple[str | None, dict[str, dict]]]:
        return [(name.replace("_", "-"), {c: result[name].get(c) or {} for c in self.columns})
                for name in SPLITS if name in result]
