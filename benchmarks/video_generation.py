"""Video generation (task `video`, VGAN) on moving emoji: frame KID/FID, motion, throughput, a sample GIF.

Trains VGAN's two-stream generator with a fixed seed for `--kimg` thousand clips on DATA (default
moving-emoji: emoji sprites over a static textured background, the case VGAN's background stream is for),
then evaluates the EMA generator with `ganforge.tasks.video.evaluate.evaluate_video`, the function `ganforge eval RUN`
calls: KID/FID of generated frames against real frames (frame i mod T of clip i, n clips a side) and the
motion statistic (mean absolute frame-to-frame difference) of generated and real clips. No FVD: its I3D
weights cannot be had here. Prints one JSON row with the metrics, training clips/s and frames/s (median
of the ticks after the first, and over the whole run with its sample grids and checkpoints), GFLOP per
training clip (torch.utils.flop_counter, one step of the task) and the achieved GFLOP/s, and writes:

- `--gif`: one animated GIF of `--clips` generated clips tiled in a grid (seeds 0..clips-1), and, with
  `--real-gif`, the same for real clips;
- `--strip`: a still PNG, one row of frames per clip (the first 8 clips);
- `--streams`: a still PNG of the first 3 clips' two streams: clip, foreground, mask, background rows.

`--resume` continues the run OUT/NAME left by an earlier call up to the new `--kimg` (its saved settings; the
row's train_sec then covers the continued part only) and evaluates that.

    .venv/bin/python benchmarks/video_generation.py --kimg 20 --gif docs/images/vgan-moving-emoji.gif \\
        --strip docs/images/vgan-moving-emoji.png --streams docs/images/vgan-streams.png
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from report import machine, rounded, tick_rate

import ganforge
from ganforge.imaging import save_animation, save_image
from ganforge.tasks.video.evaluate import evaluate_video, load_real_clips
from ganforge.tasks.video.pipeline import clip_strip, streams_figure, tile_clips


def gflop_per_clip(task, batch: int = 4) -> float:
    """FLOPs of one training step of the trained task on a random batch of clips, per clip, in GFLOP."""
    from torch.utils.flop_counter import FlopCounterMode

    data = task.data
    clip = torch.rand(batch, data.frames, data.channels, data.resolution, data.resolution) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        task.train_step({"clip": clip.to(task.runtime.device)}, step=0)
    return counter.get_total_flops() / batch / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="moving-emoji", help="as `ganforge train video --data`")
    parser.add_argument("--kimg", type=float, default=20.0, help="thousands of training clips shown")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch", type=int, default=None, help="clips per step [default: the config's, 64 as VGAN]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=1000, help="clips a side for KID/FID and motion")
    parser.add_argument("--clips", type=int, default=16, help="generated clips in the GIF")
    parser.add_argument("--gif", default=None, help="tiled GIF of generated clips [default: OUT/NAME.gif]")
    parser.add_argument("--real-gif", default=None, help="the same for real clips [default: none]")
    parser.add_argument("--strip", default=None, help="PNG, a row of frames per clip [default: OUT/NAME-strip.png]")
    parser.add_argument("--streams", default=None, help="PNG of the two streams of three clips [default: none]")
    parser.add_argument("--fps", type=int, default=10, help="frames per second of the GIFs")
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")
    parser.add_argument("--resume", action="store_true",
                        help="continue OUT/NAME's earlier run up to --kimg (same settings) instead of starting afresh")
    args = parser.parse_args()

    out = Path(args.out)
    name = args.name or f"video-vgan-{args.data.replace(':', '-').replace('/', '_')}-{args.resolution}"
    run_dir = out / name
    if args.resume and not run_dir.exists():
        sys.exit(f"--resume: no run at {run_dir}")
    if run_dir.exists() and not args.resume:
        shutil.rmtree(run_dir)
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    settings = dict(task="video", data=args.data, resolution=args.resolution, frames=args.frames, kimg=args.kimg,
                    seed=args.seed, out=str(out), name=name, keep_checkpoints=1, checkpoint_every_kimg=args.kimg, **extra)
    if args.batch is not None:
        settings["batch"] = args.batch
    if args.resume:  # the saved settings; resolve_resume_config refuses any that differ from what is asked
        done = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["kimg"]
        if args.kimg <= done:
            sys.exit(f"--resume: {run_dir} has already trained {done} kimg; ask for more with --kimg")
        result = ganforge.train(resume=run_dir, **settings)
    else:
        result = ganforge.train(**settings)
    config = json.loads((run_dir / "config.json").read_text())
    frames = int(config["frames"])
    precision = result.task.runtime.precision
    gflop = gflop_per_clip(result.task)  # one more step in memory only: the run on disk is already saved

    pipe = ganforge.load(run_dir)
    started = time.perf_counter()
    metrics = evaluate_video(pipe, n=args.n)
    eval_sec = time.perf_counter() - started

    gif = Path(args.gif or out / f"{name}.gif")
    save_animation(tile_clips(pipe(n=args.clips, output_type="np")), gif, fps=args.fps)
    strip = save_image(clip_strip(pipe(n=min(8, args.clips), output_type="np")), args.strip or out / f"{name}-strip.png")
    files = {"gif": str(gif), "strip": str(strip)}
    if args.streams:
        files["streams"] = str(save_image(streams_figure(pipe.streams(n=3, output_type="np", watermark=False)), args.streams))
    if args.real_gif:
        real = load_real_clips(pipe, n=args.clips)["clips"]
        files["real_gif"] = str(save_animation(tile_clips(real), args.real_gif, fps=args.fps))

    clips_per_sec = tick_rate(run_dir)
    overall = result.images_per_sec  # this call's training only (with --resume: the continued part)
    row = {
        "task": "video", "generator": config["model"], "data": config["data"], "resolution": config["resolution"],
        "frames": frames, "kimg": result.kimg, "seed": config["seed"], "batch": config["batch"], "width": config["width"],
        "z_dim": config["z_dim"], "mask_weight": config["mask_weight"], "loss": config["loss"],
        "precision": precision, "train_sec": round(result.wall_sec, 1),
        "clips_per_sec": round(clips_per_sec, 2) if clips_per_sec else None,
        "frames_per_sec": round(clips_per_sec * frames, 1) if clips_per_sec else None,
        "clips_per_sec_overall": round(overall, 2), "frames_per_sec_overall": round(overall * frames, 1),
        "gflop_per_clip": round(gflop, 3),
        "achieved_gflop_per_sec": round(gflop * clips_per_sec, 1) if clips_per_sec else None,
        "eval_sec": round(eval_sec, 1), **rounded(metrics), "files": files, "command": " ".join(sys.argv), "machine": machine(),
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
