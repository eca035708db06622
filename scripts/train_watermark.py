"""Train the watermark codec that ships as src/ganforge/provenance/watermark.safetensors (issue 29).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_watermark.py --steps 15000 --out /tmp/wm/watermark.safetensors
    # --resume: go on from --out's weights and step count (Adam starts afresh); --minutes: stop early, saved

Logs one line per 100 steps (running bit accuracy and how often the pilot's shift is found, through random edits).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.provenance.training import WatermarkTrainConfig, train_codec
from ganforge.provenance.weights import load_codec_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=WatermarkTrainConfig.steps)
    parser.add_argument("--batch", type=int, default=WatermarkTrainConfig.batch)
    parser.add_argument("--lr", type=float, default=WatermarkTrainConfig.lr)
    parser.add_argument("--psnr", type=float, default=WatermarkTrainConfig.psnr, help="marking strength, dB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jpeg-chance", type=float, default=WatermarkTrainConfig.jpeg_chance,
                        help="share of steps with a real JPEG (50-95)")
    parser.add_argument("--resize-chance", type=float, default=WatermarkTrainConfig.resize_chance,
                        help="share of steps with a resize (half of them a shrink to 0.5-0.7)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--minutes", type=float, default=None)
    args = parser.parse_args()
    config = WatermarkTrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, psnr=args.psnr,
                                  seed=args.seed, jpeg_chance=args.jpeg_chance, resize_chance=args.resize_chance)
    codec, start = None, 0
    if args.resume:
        codec, meta = load_codec_file(args.out)
        codec.train()
        start = int(meta.get("steps", 0))
    train_codec(config, args.out, codec=codec, start_step=start, minutes=args.minutes, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
