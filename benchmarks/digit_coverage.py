"""Digit coverage of mnist generators: which digits a run draws, read by the shipped digit classifier.

FID needs thousands of Inception passes (minutes per run on this CPU) and mixes quality with coverage;
mode collapse on mnist shows at once in the class histogram of a few thousand samples, as in the
Stacked-MNIST mode counts of the GAN literature. The classifier (three conv layers, ganforge.metrics.digits)
is trained on the train split of the built-in mnist by scripts/train_digit_classifier.py and ships with
ganforge; its accuracy on the 1,000 held-out digits is printed with every result. (Figures recorded before
2026-12-07 used the same network trained per machine, seeded, on a different 9,000 digits: 97.5-98.4%.)

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
from report import machine
from safetensors.torch import load_file
from torch import nn

import ganforge
from ganforge.data import resolve_dataset
from ganforge.data.split import split_indices
from ganforge.imaging import uint8_to_tensor
from ganforge.metrics.digits import SIDE, as_input, digit_coverage, digit_probabilities, load_digit_classifier

__all__ = ["as_input", "coverage", "generated", "real_digits", "trained_classifier"]


def real_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The built-in mnist at 32 px as [N, 1, 32, 32] in [-1, 1], with labels."""
    data = resolve_dataset("mnist", SIDE)
    return uint8_to_tensor(data.images), torch.from_numpy(np.asarray(data.labels)).long()


def trained_classifier(images: torch.Tensor, labels: torch.Tensor) -> tuple[nn.Module, float]:
    """The shipped classifier and its accuracy on the test split of (images, labels), the built-in mnist."""
    net, _ = load_digit_classifier()
    _, test = split_indices(len(images), what="mnist")
    accuracy = float((digit_probabilities(images[test], net).argmax(1) == labels[test]).float().mean())
    return net, accuracy


def coverage(net: nn.Module, images: torch.Tensor) -> dict:
    """Confident fraction, confident-class histogram, its entropy and the digits covered."""
    return digit_coverage(digit_probabilities(images, net))


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
