"""Train the shipped digit classifier, src/ganforge/metrics/digits-mnist.safetensors (issue 31; issue 27's coverage).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_digit_classifier.py [--out PATH]

On the train split of the built-in mnist at 32 px (9,000 digits; the fixed, seeded test split held out), four epochs,
seeded; prints a JSON summary with its accuracy on the 1,000 held-out digits, which the file's metadata keeps.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.data.resolve import resolve_dataset
from ganforge.data.split import split_indices
from ganforge.imaging import uint8_to_tensor
from ganforge.metrics.digits import (
    DIGITS_FILE,
    SIDE,
    digit_probabilities,
    save_digit_classifier,
    train_digit_classifier,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIGITS_FILE)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = resolve_dataset("mnist", SIDE)
    images, labels = uint8_to_tensor(data.images), torch.from_numpy(np.asarray(data.labels)).long()
    train, test = split_indices(len(images), what="mnist")
    started = time.perf_counter()
    net = train_digit_classifier(images[train], labels[train], args.epochs, args.seed)
    accuracy = float((digit_probabilities(images[test], net).argmax(1) == labels[test]).float().mean())
    summary = {"data": "mnist", "resolution": SIDE, "split": "train", "train_items": len(train),
               "test_items": len(test), "test_accuracy": round(accuracy, 4), "epochs": args.epochs, "seed": args.seed,
               "train_sec": round(time.perf_counter() - started, 1), "torch": torch.__version__,
               "command": "python scripts/train_digit_classifier.py"}
    save_digit_classifier(net, args.out, summary)
    print(json.dumps({**summary, "out": str(args.out)}))


if __name__ == "__main__":
    main()
