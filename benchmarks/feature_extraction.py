"""Inception feature extraction speed (images/s), split into clean resizing and the network.

    .venv/bin/python benchmarks/feature_extraction.py [--images 128] [--batch-sizes 16 32 64]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ganforge.metrics.extract import array_batches, extract_features
from ganforge.metrics.features import get_extractor
from ganforge.metrics.resize import clean_resize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.resolution, args.resolution, 3), dtype=np.uint8)
    extractor = get_extractor(None, args.device)
    extract_features(array_batches(images[:8], 8), 8, extractor)  # warm-up
    start = time.perf_counter()
    for img in images:
        clean_resize(img)
    resize_ips = args.images / (time.perf_counter() - start)
    result = {"benchmark": "feature_extraction", "device": args.device, "threads": torch.get_num_threads(),
              "torch": torch.__version__, "images": args.images, "resolution": args.resolution,
              "clean_resize_images_per_sec": round(resize_ips, 1), "extract_images_per_sec": {}}
    for bs in args.batch_sizes:
        _, ips = extract_features(array_batches(images, bs), args.images, extractor)
        result["extract_images_per_sec"][str(bs)] = round(ips, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
