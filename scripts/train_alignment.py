"""Train text2image's frozen evaluator, shipped as src/ganforge/metrics/alignment-emoji.safetensors (issue 30).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_alignment.py --out /tmp/align/alignment-emoji.safetensors

On real emoji only, both styles (google and twitter), of the train split (10% of the emoji names held out with all
their variants): an image network learns to embed each image near its captions' sentence embeddings (InfoNCE against
the frozen all-MiniLM-L6-v2; a random caption per image per step), to name its category (9-way) and its skin tone.
Prints a JSON summary with the held-out split's scores: the ceiling a generator's images can reach.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.captions import resolve_captioned
from ganforge.data.split import emoji_group
from ganforge.losses.contrastive import contrastive_loss
from ganforge.metrics.alignment import (
    AlignmentNet,
    evaluate_images,
    r_precision,
    save_evaluator,
    tone_label,
)
from ganforge.text.cache import caption_embeddings

ROOT = Path(__file__).resolve().parents[1]
STYLES = ("emoji", "emoji-twitter")


def load_split(split: str, categories: list[str] | None = None) -> dict:
    """Images of both styles with their captions' embeddings, groups, categories and tones."""
    images, captions, groups, cats, tones = [], [], [], [], []
    for data in STYLES:
        captioned = resolve_captioned(data, 64, split=split)
        images.append(captioned.images)
        captions += captioned.captions
        for item in captioned.items:
            groups.append(emoji_group(item))
            cats.append(item["category"])
            tones.append(tone_label(item.get("skin_tone")))
    categories = categories or sorted(set(cats))
    texts = [c for caps in captions for c in caps]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in captions])])
    return {"images": np.concatenate(images), "texts": texts, "embeddings": caption_embeddings(texts),
            "offsets": offsets, "groups": np.array(groups, dtype=object), "categories": categories,
            "category": np.array([categories.index(c) for c in cats]), "tone": np.array(tones)}


def shifted(images: torch.Tensor, g: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Each image moved by up to `pad` pixels each way over white (no flips: they change arrows; no colour change:
    it is a skin tone)."""
    padded = F.pad(images, (pad, pad, pad, pad), value=255.0)
    out = torch.empty_like(images)
    side = images.shape[2]
    for i, (dy, dx) in enumerate(torch.randint(0, 2 * pad + 1, (len(images), 2), generator=g).tolist()):
        out[i] = padded[i, :, dy : dy + side, dx : dx + side]
    return out


def train(data: dict, steps: int, batch: int, lr: float, seed: int, log_every: int = 100) -> AlignmentNet:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = AlignmentNet(categories=len(data["categories"]))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    images = torch.from_numpy(data["images"]).permute(0, 3, 1, 2).float()
    emb = torch.from_numpy(data["embeddings"])
    offsets = torch.from_numpy(data["offsets"])
    groups = data["groups"]
    category, tone = torch.from_numpy(data["category"]), torch.from_numpy(data["tone"])
    started = time.monotonic()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = torch.randint(0, len(images), (batch,), generator=g)
        count = offsets[idx + 1] - offsets[idx]
        rows = offsets[idx] + (torch.rand(batch, generator=g) * count).long().clamp(max=count - 1)
        same = torch.from_numpy(groups[idx.numpy()][:, None] == groups[idx.numpy()][None, :])
        net.train()
        heads = net(shifted(images[idx], g))
        loss_nce = contrastive_loss(heads["embedding"], emb[rows], net.logit_scale, same)
        loss_cat = F.cross_entropy(heads["category"], category[idx])
        loss_tone = F.cross_entropy(heads["tone"], tone[idx], ignore_index=-1)
        loss = loss_nce + loss_cat + loss_tone
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % log_every == 0:
            print(f"step {step + 1}: infonce {loss_nce.item():.3f} category {loss_cat.item():.3f} tone "
                  f"{loss_tone.item():.3f} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    return net.eval()


def scores(net: AlignmentNet, data: dict, pool: dict, seed: int = 0) -> dict:
    """R-precision of the real images with their first caption (distractors from `pool`), head accuracies."""
    out = evaluate_images(net, data["images"])
    first = data["embeddings"][data["offsets"][:-1]]
    shuffled = first[np.random.default_rng(seed).permutation(len(first))]
    tone_ok = data["tone"] >= 0
    named = data["tone"] > 0
    return {
        "n": len(data["images"]),
        "r_precision": r_precision(out["embedding"], first, pool["embeddings"], data["groups"], pool["groups"], seed=seed),
        "r_precision_shuffled": r_precision(out["embedding"], shuffled, pool["embeddings"], data["groups"],
                                            pool["groups"], seed=seed),
        "category_accuracy": float((out["category"] == data["category"]).mean()),
        "tone_accuracy": float((out["tone"][tone_ok] == data["tone"][tone_ok]).mean()),
        "tone_accuracy_named": float((out["tone"][named] == data["tone"][named]).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "ganforge" / "metrics" / "alignment-emoji.safetensors")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    train_data = load_split("train")
    test_data = load_split("test", train_data["categories"])
    net = train(train_data, args.steps, args.batch, args.lr, args.seed)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from report import machine

    summary = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
               "steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
               "trained_on": "emoji and emoji-twitter at 64 px, train split (emoji names held out by group)",
               "categories": train_data["categories"], "tones": "none, light, medium-light, medium, medium-dark, dark",
               "held_out": scores(net, test_data, test_data), "train": scores(net, train_data, train_data),
               "train_sec": round(time.perf_counter() - started, 1)}
    save_evaluator(net, args.out, {k: v for k, v in summary.items() if k not in ("held_out", "train")} |
                   {"held_out": summary["held_out"]})
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
