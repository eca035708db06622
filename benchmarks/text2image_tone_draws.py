"""How much of a text2image run's skin-tone accuracy is the evaluation's draw? (issue 30) Prints one JSON line.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/text2image_tone_draws.py RUN [--draws 4]

`ganforge eval` scores tone on one draw (caption seed 0, latent seeds 0..n-1) over the emoji of its subsets that
carry a skin tone (155 of the 381 held-out, 418 of the 1,000 training ones), so a bar at 0.80 sits within a few
images of the figure. This repeats the tone score over `--draws` draws (caption seed d, latent seeds + 1000 d; draw 0
is the evaluation's own), prints each with their median, and counts those emoji's captions that do not name a tone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine  # noqa: E402

import ganforge  # noqa: E402
from ganforge.metrics.alignment import evaluate_images, load_evaluator  # noqa: E402
from ganforge.tasks.text2image.evaluate import DATA_SPLITS, chosen_captions, evaluation_split, item_tones  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="text2image run directory, checkpoint folder or exported model")
    parser.add_argument("--draws", type=int, default=4, help="caption and latent draws (the first is eval's own)")
    args = parser.parse_args()
    pipe = ganforge.load(args.run)
    net, _ = load_evaluator()
    out: dict = {"run": args.run, "machine": machine()}
    for name, split in DATA_SPLITS.items():
        captioned = evaluation_split("emoji", int(pipe.config["resolution"]), split)
        tones = item_tones(captioned.items)
        named = np.flatnonzero(tones > 0)
        scores = []
        for draw in range(args.draws):
            texts = chosen_captions(captioned.captions, seed=draw)
            images = pipe([texts[i] for i in named], seeds=[int(i) + 1000 * draw for i in named], output_type="np",
                          watermark=False)
            scores.append(round(float((evaluate_images(net, images)["tone"] == tones[named]).mean()), 3))
        unnamed = sum("skin tone" not in c for i in named for c in captioned.captions[i])
        out[name] = {"n": int(len(named)), "tone_accuracy": scores, "median": float(np.median(scores)),
                     "captions_without_a_tone": int(unnamed)}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
