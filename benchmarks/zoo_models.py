"""Train, measure and ship a pretrained model of the zoo (src/ganforge/zoo/NAME): the script that reproduces each.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/zoo_models.py NAME [--kimg K] [--minutes M] [--n N] [--resume]

Trains the model's recipe (below) into --out/NAME (resumable: --resume continues it exactly), measures FID, KID,
precision and recall of its EMA generator against the real images (n generated), exports it into the zoo folder
with its discriminator (so that `train --init zoo:NAME` goes on training it, as `ganforge demo` does) and a model
card (card.json: the recipe, kimg, the figures, this command, the machine), and prints the card as JSON.
A recipe is the best one measured for its data set so far (docs/benchmarks.md); the card says which.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from report import machine

import ganforge
from ganforge.data import resolve_dataset
from ganforge.metrics import compute_metrics
from ganforge.pipelines.base import run_discriminators

ZOO = Path(__file__).resolve().parents[1] / "src" / "ganforge" / "zoo"
RECIPES = {
    # DCGAN is the better mnist model at 100 kimg here (docs/benchmarks.md: FID 105.0 against StyleGAN2's 136.4).
    "mnist-32": dict(settings=dict(task="image", model="dcgan", data="mnist", resolution=32, augment="none"),
                     description="DCGAN on the 10,000 built-in mnist digits, 32 px, grayscale"),
    # StyleGAN2 is the better emoji model at 100 kimg (FID 147.6 against DCGAN's 222.3), but DCGAN trains about
    # ten times faster and reaches FID 90.0 by 904 kimg (docs/benchmarks.md, H200): the best reachable on a CPU.
    "emoji-32": dict(settings=dict(task="image", model="dcgan", data="emoji", resolution=32),
                     description="DCGAN on the built-in emoji (google set), 32 px, RGB, ADA (auto)"),
}


def headline(metrics: dict, n: int) -> dict:
    """fid, kid, precision, recall and n under plain names (compute_metrics names them by n: fid10k, kid10k)."""
    plain = {}
    for name in ("fid", "kid", "precision", "recall"):
        key = next((k for k in metrics if k.startswith(name) and not k.endswith("_std")), None)
        if key is not None:
            plain[name] = round(float(metrics[key]), 4)
    return {**plain, "n": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--kimg", type=float, default=None, help="budget in thousands of images")
    parser.add_argument("--minutes", type=float, default=None, help="budget in minutes (with or without --kimg)")
    parser.add_argument("--n", type=int, default=None, help="generated images for the figures [default: all real]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/zoo-runs", help="parent folder of the training run")
    parser.add_argument("--resume", action="store_true", help="continue the run of this name")
    parser.add_argument("--zoo", type=Path, default=ZOO, help="where the export and its card go")
    parser.add_argument("--note", default="", help="how the run came to be, when not by this script alone")
    args = parser.parse_args()
    recipe = RECIPES[args.name]
    settings = dict(recipe["settings"], seed=args.seed)
    run_dir = Path(args.out) / args.name
    budget = {k: v for k, v in (("kimg", args.kimg), ("minutes", args.minutes)) if v is not None}
    if args.resume:
        result = ganforge.train(resume=run_dir, **budget)
    else:
        result = ganforge.train(**settings, **budget, out=args.out, name=args.name, checkpoint_every_kimg=10.0,
                                keep_checkpoints=1)
    pipe = ganforge.load(run_dir)
    real = resolve_dataset(settings["data"], settings["resolution"])
    n = args.n or len(real.images)
    metrics = compute_metrics(real.images, pipe, n=n)
    target = args.zoo / args.name
    discriminators, state = run_discriminators(run_dir)  # with ADA's p: for train --init
    pipe.save_pretrained(target, overwrite=True, training_networks=discriminators, training_state=state)
    config = json.loads((run_dir / "config.json").read_text())
    card = {
        "name": args.name, "task": config["task"], "model": config["model"], "data": config["data"],
        "resolution": config["resolution"], "kimg": round(result.kimg, 3), "description": recipe["description"],
        "metrics": headline(metrics, n),
        "metrics_full": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
        "command": "OMP_NUM_THREADS=2 .venv/bin/python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "training": {k: config[k] for k in ("model", "width", "z_dim", "batch", "loss", "augment", "r1_gamma",
                                            "lr_g", "lr_d", "ema_kimg", "seed") if k in config},
        "trained": {"date": datetime.date.today().isoformat(), "machine": machine(),
                    "train_sec": round(result.wall_sec, 1)},
        **({"note": args.note} if args.note else {}),
    }
    (target / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card))


if __name__ == "__main__":
    main()
