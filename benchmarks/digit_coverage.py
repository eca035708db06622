"""Digit coverage of mnist generators: which digits a run draws, by a small classifier trained here.

FID needs thousands of Inception passes (minutes per run on this CPU) and mixes quality with coverage;
mode collapse on mnist shows at once in the class histogram of a few thousand samples, as in the
Stacked-MNIST mode counts of the GAN literature. The classifier (three conv layers) trains on 9,000 of
the built-in mnist digits in about a minute, seeded, and is cached under the ganforge cache as
safetensors; its accuracy on the other 1,000 is printed with every result.

    .venv/bin/python benchmarks/digit_coverage.py RUN [RUN ...] [--n 2000] [--net G_ema|G]

Per run: the fraction of samples the classifier is confident about (max p > 0.9: "digit-like"), the
histogram of confident classes, its entropy in nats (ln 10 = 2.303 for all ten digits equally) and the
number of digits that take at least 2% of the confident samples. The real digits are the first row.
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
from report import machine
from safetensors.torch import load_file, save_file
from torch import nn

import ganforge
from ganforge.data import resolve_dataset
from ganforge.imaging import uint8_to_tensor
from ganforge.paths import cache_home

SIDE = 32  # classifier input: [N, 1, 32, 32] in [-1, 1]
CONFIDENT = 0.9
COVERED_SHARE = 0.02
SEED = 0


def classifier() -> nn.Sequential:
    """Three conv + pool stages and two linear layers: about 97% on held-out mnist."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 16, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def as_input(images: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> the classifier's grey 32x32 input (luma for colour)."""
    if images.shape[1] == 3:
        images = (0.299 * images[:, :1] + 0.587 * images[:, 1:2] + 0.114 * images[:, 2:3])
    if images.shape[-1] != SIDE:
        images = F.interpolate(images, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return images.clamp(-1, 1)


def real_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The built-in mnist at 32 px as [N, 1, 32, 32] in [-1, 1], with labels."""
    data = resolve_dataset("mnist", SIDE)
    return uint8_to_tensor(data.images), torch.from_numpy(np.asarray(data.labels)).long()


def trained_classifier(images: torch.Tensor, labels: torch.Tensor) -> tuple[nn.Sequential, float]:
    """Train (or load the cached) classifier; returns it in eval mode and its held-out accuracy."""
    path = cache_home() / "metrics" / f"digit-classifier-s{SEED}.safetensors"
    net = classifier()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))
    train_idx, test_idx = order[:9000], order[9000:]
    if path.exists():
        net.load_state_dict(load_file(str(path)))
    else:
        torch.manual_seed(SEED)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(SEED)
        for _ in range(4):
            for batch in train_idx[torch.randperm(len(train_idx), generator=g)].split(64):
                loss = F.cross_entropy(net(images[batch]), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(net.state_dict(), str(tmp))
        tmp.replace(path)
    net.eval()
    with torch.no_grad():
        accuracy = (net(images[test_idx]).argmax(1) == labels[test_idx]).float().mean().item()
    return net, accuracy


def coverage(net: nn.Module, images: torch.Tensor) -> dict:
    """Confident fraction, confident-class histogram, its entropy and the digits covered."""
    with torch.no_grad():
        probs = torch.cat([F.softmax(net(as_input(b)), 1) for b in images.split(500)])
    confidence, classes = probs.max(1)
    hist = torch.bincount(classes[confidence > CONFIDENT], minlength=10)
    share = hist.float() / max(int(hist.sum()), 1)
    entropy = -float((share[share > 0] * share[share > 0].log()).sum())
    return {"n": len(images), "confident": round(float((confidence > CONFIDENT).float().mean()), 4),
            "histogram": hist.tolist(), "entropy_nats": round(entropy, 3),
            "digits_covered": int((share >= COVERED_SHARE).sum())}


def generated(run: Path, n: int, net_name: str) -> tuple[torch.Tensor, str]:
    """n samples (seeds 0..n-1) of the run's EMA generator, or of its raw G from the last checkpoint."""
    pipe = ganforge.load(run)
    source = "G_ema (pipeline)"
    if net_name == "G":
        checkpoints = sorted((run / "checkpoints").glob("kimg-*"))
        if not checkpoints:
            raise SystemExit(f"{run}: no checkpoints to take the raw G from")
        pipe.generator.load_state_dict(load_file(str(checkpoints[-1] / "G.safetensors")))
        source = f"G of {checkpoints[-1].name}"
    return pipe(n=n, seed=0, output_type="pt"), source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="image-generation runs trained on mnist")
    parser.add_argument("--n", type=int, default=2000, help="samples per run")
    parser.add_argument("--net", choices=("G_ema", "G"), default="G_ema", help="the EMA generator or the raw one")
    args = parser.parse_args()
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    images, labels = real_digits()
    net, accuracy = trained_classifier(images, labels)
    print(json.dumps({"run": "real mnist", "classifier_accuracy": round(accuracy, 4), **coverage(net, images)}), flush=True)
    for run in args.runs:
        started = time.perf_counter()
        fakes, source = generated(run, args.n, args.net)
        row = {"run": str(run), "net": source, **coverage(net, fakes), "sec": round(time.perf_counter() - started, 1)}
        print(json.dumps(row), flush=True)
    print(json.dumps({"command": " ".join(sys.argv), "machine": machine(), "max_entropy": round(math.log(10), 3)}))


if __name__ == "__main__":
    main()
