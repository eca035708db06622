"""Super-resolution quality on held-out images: a pixel-loss model and a GAN model against bicubic.

Trains, with a fixed seed, a pixel-loss (L1) model on DATA (`--adv-weight 0`, `--pixel-kimg`), then a GAN
model initialised from it (`--init`, `--gan-kimg` of RaGAN fine-tuning), and evaluates both on the held-out
images with `ganforge.tasks.superres.evaluate.evaluate_superres`, the function `ganforge eval RUN` calls: PSNR and
SSIM on Y with the border shaved by the scale, KID/FID and sharpness, each next to bicubic upscaling. Prints
one JSON row per model, with training throughput (images/s) and upscaling speed (output megapixels/s of
`UpscalePipeline` on a `--speed-size` square image, tiled as `ganforge upscale` does by default).

    .venv/bin/python benchmarks/superres_quality.py photos --scale 4 --resolution 64 --pixel-kimg 40 --gan-kimg 20 --grid 8
    .venv/bin/python benchmarks/superres_quality.py emoji --scale 4 --resolution 64 --pixel-kimg 40 --gan-kimg 20 --grid 8

`--grid N` writes bicubic | pixel | GAN | truth rows of the first N held-out images to a PNG (--grid-out).
`--pixel-run RUN` reuses an earlier pixel run with the same settings; `--gan-set KEY=VALUE` changes the GAN run
alone (e.g. `lr_d=0.001`), so GAN settings can be compared on one pixel model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from report import machine, reuse_run, rounded

import ganforge
from ganforge.imaging import make_grid, save_image
from ganforge.tasks.superres.evaluate import bicubic_upscale, evaluate_superres, load_sr_test
from ganforge.tasks.superres.pipeline import DEFAULT_OVERLAP, DEFAULT_TILE
from ganforge.tasks.translation.pipeline import match_channels


def comparison_grid(pixel, gan, rows: int) -> np.ndarray:
    """[H', W', 3]: the first `rows` held-out images as bicubic | pixel | GAN | truth rows."""
    test = load_sr_test(pixel)
    low, high = test["low"][:rows], test["high"][:rows]
    columns = [bicubic_upscale(low, pixel.scale), pixel.upscale_batch(low), gan.upscale_batch(low), high]
    tiles = np.stack([np.stack([match_channels(im, 3) for im in c]) for c in columns], axis=1)  # [rows, 4, H, W, 3]
    return make_grid(tiles.reshape(-1, *tiles.shape[2:]), nrow=4)


def upscale_speed(pipe, size: int, repeats: int = 3) -> dict:
    """Output megapixels per second of the pipeline on a size x size RGB image (median of `repeats`)."""
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    pipe(image[:16, :16], output_type="np")  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipe(image, tile=DEFAULT_TILE, tile_overlap=DEFAULT_OVERLAP, output_type="np")
        times.append(time.perf_counter() - started)
    seconds = float(np.median(times))
    megapixels = (size * pipe.scale) ** 2 / 1e6
    return {"input_px": size, "output_mp": round(megapixels, 4), "sec": round(seconds, 3),
            "mp_per_sec": round(megapixels / seconds, 4), "tile": DEFAULT_TILE, "tile_overlap": DEFAULT_OVERLAP}


def train(settings: dict, name: str, out: Path, **changes) -> tuple[object, Path]:
    run_dir = out / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    result = ganforge.train(**dict(settings, name=name, **changes))
    return result, run_dir


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The data and network arguments every superres benchmark takes (this one and superres_curve.py)."""
    parser.add_argument("data", help="as `ganforge train superres --data`: photos, emoji, a folder of images")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=64, help="high-resolution crop side")
    parser.add_argument("--model", default="srresnet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--degradation", default="bicubic")
    parser.add_argument("--pixel-kimg", type=float, default=40.0)
    parser.add_argument("--gan-kimg", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=None, help="cap on held-out images [default: all]")
    parser.add_argument("--speed-size", type=int, default=256, help="input side for the upscaling-speed figure")
    parser.add_argument("--grid", type=int, default=0, metavar="N", help="write N held-out rows to a PNG")
    parser.add_argument("--grid-out", default=None, help="PNG path [default: OUT/NAME-grid.png]")
    parser.add_argument("--out", default="bench-runs")
    parser.add_argument("--name", default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other TrainConfig fields (JSON values)")
    parser.add_argument("--gan-set", nargs="*", default=[], metavar="KEY=VALUE", help="TrainConfig fields of the GAN run only")
    parser.add_argument("--pixel-run", default=None, metavar="RUN", help="reuse this earlier pixel run (same settings)")
    args = parser.parse_args()

    name = args.name or f"superres-x{args.scale}-{args.data.replace(':', '-').replace('/', '_')}-{args.resolution}"
    out = Path(args.out)
    extra, gan_extra = ({k: json.loads(v) for k, v in (item.split("=", 1) for item in items)}
                        for items in (args.set, args.gan_set))
    settings = dict(task="superres", model=args.model, data=args.data, resolution=args.resolution, scale=args.scale,
                    degradation=args.degradation, seed=args.seed, out=str(out), keep_checkpoints=1, **extra)
    runs = {}
    if args.pixel_run:
        asked = {k: v for k, v in settings.items() if k != "out"}
        pixel_dir, pixel_result, _ = reuse_run(Path(args.pixel_run), dict(asked, kimg=args.pixel_kimg, adv_weight=0.0))
    else:
        pixel_result, pixel_dir = train(settings, f"{name}-pixel", out, kimg=args.pixel_kimg, adv_weight=0.0,
                                        checkpoint_every_kimg=args.pixel_kimg)
    runs["pixel"] = (pixel_result, pixel_dir)
    if args.gan_kimg > 0:
        runs["gan"] = train(dict(settings, **gan_extra), f"{name}-gan", out, kimg=args.gan_kimg,
                            init=str(pixel_dir), checkpoint_every_kimg=args.gan_kimg)
    pipes = {}
    for kind, (result, run_dir) in runs.items():
        pipe = pipes[kind] = ganforge.load(run_dir)
        config = json.loads((run_dir / "config.json").read_text())
        started = time.perf_counter()
        metrics = evaluate_superres(pipe, n=args.n)
        images = int(round(result.kimg * 1000))
        row = {"model_kind": kind, "generator": config["model"], "kimg": result.kimg, "seed": args.seed,
               "l1_weight": config["l1_weight"], "adv_weight": config["adv_weight"],
               "perceptual_weight": config.get("perceptual_weight"), "d_norm": config["d_norm"],
               "train_sec": round(result.wall_sec, 1), "images_per_sec": round(images / result.wall_sec, 1),
               "eval_sec": round(time.perf_counter() - started, 1), "upscale": upscale_speed(pipe, args.speed_size),
               **rounded(metrics)}
        print(json.dumps(row), flush=True)
    if args.grid and "gan" in pipes:
        path = Path(args.grid_out or out / f"{name}-grid.png")
        save_image(comparison_grid(pipes["pixel"], pipes["gan"], args.grid), path)
        print(json.dumps({"grid": str(path), "rows": args.grid, "columns": "bicubic | pixel | GAN | truth"}), flush=True)
    keys = ("task", "model", "scale", "degradation", "loss", "width", "n_blocks", "batch", "lr_g", "lr_d", "beta1",
            "beta2", "precision")
    configs = {kind: json.loads((run_dir / "config.json").read_text()) for kind, (_, run_dir) in runs.items()}
    print(json.dumps({"command": " ".join(sys.argv), "machine": machine(),
                      "config": {kind: {k: c[k] for k in keys} for kind, c in configs.items()}}), flush=True)


if __name__ == "__main__":
    main()
