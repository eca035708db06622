"""Train the watermark codec that ships as src/ganforge/provenance/watermark.safetensors (issue 29).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_watermark.py --steps 15000 --out /tmp/wm/watermark.safetensors
    # --resume: go on from --out's weights and step count (Adam starts afresh); --minutes: stop early, saved
    .venv/bin/python scripts/train_watermark.py --average A.safetensors B.safetensors --out C.safetensors
    # the mean of codecs that branched from one codec (a "model soup": it read about as well as either branch)

Logs one line per 100 steps (running bit accuracy and how often the pilot's shift is found, through random edits).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.provenance.training import WatermarkTrainConfig, train_codec
from ganforge.provenance.weights import load_codec_file, save_codec


def average(paths: list[Path], out: Path) -> None:
    """Write the element-wise mean of several codecs' weights to `out` (which must not be one of them)."""
    if out.resolve() in {p.resolve() for p in paths}:
        raise SystemExit(f"--out {out} is one of the codecs averaged: choose a new file")
    codecs = [load_codec_file(p) for p in paths]
    states = [codec.state_dict() for codec, _ in codecs]
    mean = {k: sum(state[k] for state in states) / len(states) for k in states[0]}
    codec = codecs[0][0]
    codec.load_state_dict(mean)
    steps = max(int(meta.get("steps", 0)) for _, meta in codecs)
    save_codec(codec, out, {"steps": str(steps), "psnr": codecs[0][1].get("psnr", ""),
                            "averaged": ", ".join(f"{p.parent.name}/{p.name}" for p in paths)})


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
    parser.add_argument("--average", type=Path, nargs="+", default=None, metavar="CODEC",
                        help="write the mean of these codecs to --out instead of training")
    args = parser.parse_args()
    if args.average:
        average(args.average, args.out)
        return
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
