"""Fit the shipped gender probe, src/ganforge/metrics/alignment-gender.safetensors (issue 31's gender boundaries).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_gender_probe.py [--out PATH]

A linear probe on the frozen alignment evaluator's features, fitted on the real emoji (google and twitter styles) of
the train split, labelled from their names (ganforge.metrics.gender.gender_label); prints JSON with the accuracy on
the test split (held-out emoji names with all their skin-tone variants), per class and over the people only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.data.captions import resolve_captioned
from ganforge.data.split import emoji_group, split_indices
from ganforge.metrics.gender import (
    GENDER_FILE,
    GENDERS,
    evaluator_features,
    fit_gender_probe,
    gender_label,
    save_gender_probe,
)

ROOT = Path(__file__).resolve().parents[1]
STYLES = ("emoji", "emoji-twitter")
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 3.0, 10.0)


def labelled(split: str) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """The evaluator's features of both styles' `split` at 64 px, each emoji's gender label (-1: several people) and
    its group (the emoji, whatever its style or tone)."""
    feats, labels, groups = [], [], []
    for data in STYLES:
        captioned = resolve_captioned(data, 64, split=split)
        feats.append(evaluator_features(captioned.images))
        labels += [gender_label(item["name"]) for item in captioned.items]
        groups += [emoji_group(item) for item in captioned.items]
    return torch.cat(feats), torch.tensor(labels), np.array(groups, dtype=object)


def chosen_l2(features: torch.Tensor, labels: torch.Tensor, groups: np.ndarray) -> tuple[float, dict]:
    """The L2 weight of L2_GRID that scores the best balanced accuracy (the mean of the classes' recalls) on a fifth of the train split's emoji held out by group."""
    fit, val = split_indices(len(labels), seed=1, fraction=0.2, groups=groups)
    scores = {l2: accuracy(fit_gender_probe(features[fit], labels[fit], l2), features[val], labels[val])["balanced_accuracy"]
              for l2 in L2_GRID}
    return max(scores, key=scores.get), {str(k): round(v, 4) for k, v in scores.items()}


def accuracy(probe: torch.nn.Module, features: torch.Tensor, labels: torch.Tensor) -> dict:
    with torch.no_grad():
        predicted = probe(features).argmax(1)
    keep = labels >= 0
    people = labels > 0
    out = {"n": int(keep.sum()), "accuracy": float((predicted[keep] == labels[keep]).float().mean()),
           "people": int(people.sum()), "accuracy_people": float((predicted[people] == labels[people]).float().mean())}
    for i, name in enumerate(GENDERS):
        rows = labels == i
        out[f"recall_{name}"] = float((predicted[rows] == i).float().mean()) if rows.any() else None
    recalls = [out[f"recall_{name}"] for name in GENDERS if out[f"recall_{name}"] is not None]
    out["balanced_accuracy"] = sum(recalls) / max(1, len(recalls))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GENDER_FILE)
    parser.add_argument("--l2", type=float, default=None, help="L2 weight (default: chosen from "
                        f"{', '.join(map(str, L2_GRID))} on emoji of the train split held out by group)")
    args = parser.parse_args()
    started = time.perf_counter()
    train_x, train_y, groups = labelled("train")
    test_x, test_y, _ = labelled("test")
    validation = None
    if args.l2 is None:
        args.l2, validation = chosen_l2(train_x, train_y, groups)
    probe = fit_gender_probe(train_x, train_y, args.l2)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from report import machine

    summary = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
               "classes": list(GENDERS), "l2": args.l2,
               "validation_accuracy_by_l2": validation,
               "trained_on": "emoji and emoji-twitter at 64 px, train split; labels from the emoji names",
               "held_out": accuracy(probe, test_x, test_y), "train": accuracy(probe, train_x, train_y),
               "train_sec": round(time.perf_counter() - started, 1)}
    save_gender_probe(probe, args.out, {k: v for k, v in summary.items() if k != "train"})
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
