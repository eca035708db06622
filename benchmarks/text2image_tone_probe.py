"""Does a text2image run's discriminator read skin tone? (issue 30) Prints JSON per run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/text2image_tone_probe.py /tmp/t2i/runs/RUN [RUN ...]

G can only learn the distinctions its D makes. For up to --n training emoji whose caption names one skin tone
("thumbs up: medium skin tone"), the caption is written in all five tones and the run's latest D scores the image
against each: by its matching head (`judge`) and by its contrastive heads (cosine in D's shared space, when it has
them). Accuracy = the named tone scores highest (chance 0.2); within one = the best is at most one tone step away.
The same for the EMA generator's images of the true caption, which show how far G satisfies D on tone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import machine  # noqa: E402

from ganforge.metrics.alignment import TONES as EVALUATOR_TONES  # noqa: E402

TONES = EVALUATOR_TONES[1:]  # "light skin tone" ... "dark skin tone", in the evaluator's order
NAMED = re.compile(r"^(?P<base>[^,]*: )(?P<tone>" + "|".join(sorted(TONES, key=len, reverse=True)) + ")$")


def toned_captions(captions: list[list[str]], n: int, seed: int) -> list[tuple[int, str, int]]:
    """(image index, caption's text before the tone, tone index) for up to n images with a one-tone caption."""
    found = []
    for i, caps in enumerate(captions):
        match = next((m for m in map(NAMED.match, caps) if m), None)
        if match:
            found.append((i, match["base"], TONES.index(match["tone"])))
    order = np.random.default_rng(seed).permutation(len(found))[:n]
    return [found[j] for j in order]


def latest_networks(run: Path) -> tuple[torch.nn.Module, torch.nn.Module, str]:
    """(D, G_ema) of a text2image run's latest checkpoint, fp32, eval mode; and the checkpoint's name."""
    from ganforge.engine.checkpoint import latest_checkpoint, load_checkpoint
    from ganforge.nets.dfgan import DFGANDiscriminator, DFGANGenerator
    from ganforge.tasks.text2image.task import CONTRASTIVE_DIM
    from ganforge.text.encoder import EMBED_DIM

    cfg = json.loads((run / "config.json").read_text())
    ckpt = latest_checkpoint(run)
    weights, _ = load_checkpoint(ckpt)
    D = DFGANDiscriminator(cfg["resolution"], 3, EMBED_DIM, cfg["width"],
                           CONTRASTIVE_DIM if cfg.get("contrastive_weight") else 0)
    G = DFGANGenerator(cfg["resolution"], 3, cfg["z_dim"], EMBED_DIM, cfg["width"])
    for net, name in ((D, "D"), (G, "G_ema")):
        net.load_state_dict({k: v.float() for k, v in weights[name].items()})
        net.eval()
    return D, G, ckpt.name


def tone_scores(D: torch.nn.Module, images: torch.Tensor, variants: torch.Tensor, truth: torch.Tensor) -> dict:
    """Images [N, 3, R, R] against their caption in each tone [N, 5, 384]: how often the named tone wins."""
    features = D.features(images)
    scores = {"judge": torch.stack([D.judge(features, variants[:, t]) for t in range(len(TONES))], 1)}
    if D.embed_dim:
        image, _ = D.embed(features, variants[:, 0])
        scores["contrastive"] = (image[:, None] * D.embed_text(variants)).sum(-1)
    out = {}
    for name, s in scores.items():
        best = s.argmax(1)
        out[f"{name}_accuracy"] = round((best == truth).float().mean().item(), 4)
        out[f"{name}_within_one"] = round(((best - truth).abs() <= 1).float().mean().item(), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="text2image run directories (emoji data)")
    ap.add_argument("--n", type=int, default=400, help="training emoji with a named tone to probe")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from ganforge.nets.dfgan import sentence_condition
    from ganforge.tasks.text2image.task import training_captions
    from ganforge.text.cache import caption_embeddings

    torch.set_grad_enabled(False)
    cfg = json.loads((args.runs[0] / "config.json").read_text())
    captioned, _, _ = training_captions(cfg["data"], cfg["resolution"])
    rows = toned_captions(captioned.captions, args.n, args.seed)
    if not rows:
        sys.exit(f"no caption of {cfg['data']} names one skin tone")
    texts = [f"{base}{tone}" for _, base, _ in rows for tone in TONES]
    variants = sentence_condition(torch.from_numpy(caption_embeddings(texts))).view(len(rows), len(TONES), -1)
    truth = torch.tensor([t for _, _, t in rows])
    real = torch.from_numpy(captioned.images[[i for i, _, _ in rows]]).permute(0, 3, 1, 2).float() / 127.5 - 1
    named = variants[torch.arange(len(rows)), truth]
    z = torch.randn(len(rows), cfg["z_dim"], generator=torch.Generator().manual_seed(args.seed))
    for run in args.runs:
        D, G, ckpt = latest_networks(run)
        fake = torch.cat([G(z[i:i + 100], named[i:i + 100]) for i in range(0, len(rows), 100)])
        print(json.dumps({"run": str(run), "checkpoint": ckpt, "n": len(rows), "machine": machine(),
                          "real": tone_scores(D, real, variants, truth),
                          "generated": tone_scores(D, fake, variants, truth)}), flush=True)


if __name__ == "__main__":
    main()
