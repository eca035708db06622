"""Fingerprints of a few fp32 training steps of every task: what a refactor must leave bit-identical (issue 26).

Trains each case (every task; DCGAN, StyleGAN2 with lazy R1 and path length, R3GAN; pix2pix with feature matching,
SPADE; superres and nextframe across their pixel-to-adversarial switch) for a few steps at seed 0 in fp32 on tiny
synthetic data, then hashes every tensor of the final checkpoint (networks and EMA; separately the training state:
optimizer moments, RNG states) and the metrics log's losses. Prints one JSON object {case: {"weights": sha256, "losses": sha256}}. Run it on two source trees on the same machine
(kernels differ between CPUs, so hashes are only comparable within one) and diff:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/task_fingerprint.py > /tmp/after.json
    git archive <before> src | tar -x -C /tmp/before
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/task_fingerprint.py --src /tmp/before/src > /tmp/before.json
    .venv/bin/python benchmarks/task_fingerprint.py --compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def cases(root: Path) -> dict[str, dict[str, Any]]:
    """Each case's training settings; data written under root by the tests' own helpers."""
    sys.path.insert(0, str(REPO))  # the tests' data writers and tiny settings: one definition of each
    from tests.conftest import TINY_TRANSLATION, write_translation_folder
    from tests.gf_inpaint import TINY_INPAINT, write_image_folder
    from tests.gf_video import TINY_VIDEO
    from tests.gf_video import write_video_folder as write_colour_clips
    from tests.nextframe_helpers import TINY_NF, write_video_folder
    from tests.superres_helpers import TINY_SR, write_sr_folder
    from tests.tasks.test_pix2pix import _label_folder

    pairs = write_translation_folder(root / "pairs")
    images = write_image_folder(root / "images")
    image = dict(task="image", data="digits", resolution=16, batch=8, width=4, z_dim=8, tick_kimg=0.016,
                 sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4)
    return {
        "image-dcgan": dict(image, model="dcgan", kimg=0.048),
        "image-dcgan-cond-hinge": dict(image, model="dcgan", cond=True, loss="hinge", kimg=0.048),
        "image-stylegan2-r1-pl": dict(image, model="stylegan2", r1_gamma=0.1, r1_interval=4, pl_weight=2.0,
                                      pl_interval=2, augment="ada", kimg=0.072),
        "image-r3gan": dict(image, model="r3gan", kimg=0.048),
        "pix2pix-unet": dict(TINY_TRANSLATION, task="pix2pix", data=str(pairs), kimg=0.024),
        "pix2pix-spade": dict(TINY_TRANSLATION, task="pix2pix", model="spade", data=f"labels:{_label_folder(root / 'lab')}",
                              resolution=32, kimg=0.016),
        "cyclegan": dict(TINY_TRANSLATION, task="cyclegan", data=str(pairs), pool_size=2, kimg=0.024),
        "inpaint": dict(TINY_INPAINT, data=str(images), kimg=0.024),
        "superres-pretrain-then-gan": dict(TINY_SR, data=str(write_sr_folder(root / "sr")), kimg=0.024,
                                           pretrain_kimg=0.012),
        "nextframe-adv": dict(TINY_NF, data=str(write_video_folder(root / "nf")), loss="adv", kimg=0.024,
                              pretrain_kimg=0.008),
        "video": dict(TINY_VIDEO, data=str(write_colour_clips(root / "clips")), kimg=0.024),
    }


def fingerprint(run_dir: Path) -> dict[str, str]:
    """sha256 over every tensor of the newest checkpoint (name, dtype, shape, bytes), and over the logged losses."""
    import torch
    from safetensors.torch import load_file

    ckpt = sorted((run_dir / "checkpoints").glob("kimg-*"))[-1]
    weights = hashlib.sha256()
    for path in sorted(p for p in ckpt.glob("*.safetensors") if p.name != "state.safetensors"):
        for name, tensor in sorted(load_file(str(path)).items()):
            weights.update(f"{path.name}/{name}/{tensor.dtype}/{tuple(tensor.shape)}".encode())
            weights.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    losses = hashlib.sha256()
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        losses.update(json.dumps({k: v for k, v in record.items() if k.startswith("Loss/")}, sort_keys=True).encode())
    state = hashlib.sha256()  # optimizer moments, RNG states and what else the trainer keeps (its format may grow)
    for name, tensor in sorted(load_file(str(ckpt / "state.safetensors")).items()):
        state.update(f"{name}/{tensor.dtype}/{tuple(tensor.shape)}".encode())
        state.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return {"weights": weights.hexdigest(), "state": state.hexdigest(), "losses": losses.hexdigest()}


def compare(before: Path, after: Path) -> None:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    rows = {case: {part: ("same" if a["cases"].get(case, {}).get(part) == b["cases"].get(case, {}).get(part)
                          else "DIFFERENT") for part in ("weights", "state", "losses")}
            for case in sorted(set(a["cases"]) | set(b["cases"]))}
    same = all(v == "same" for row in rows.values() for v in row.values())
    print(json.dumps({"identical": same, "cases": rows}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=None, help="a ganforge src folder to train with (e.g. before a refactor)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these cases")
    parser.add_argument("--keep", type=Path, default=None, help="copy the run folders here (config migration fixtures)")
    parser.add_argument("--compare", nargs=2, type=Path, default=None, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    if args.src:
        sys.path.insert(0, str(Path(args.src).resolve()))
    from report import machine

    import ganforge

    results, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, settings in cases(root / "data").items():
            if args.only and name not in args.only:
                continue
            start = time.perf_counter()
            ganforge.train(**settings, seed=0, precision="fp32", out=str(root / "runs"), name=name)
            results[name] = fingerprint(root / "runs" / name)
            if args.keep:
                shutil.copytree(root / "runs" / name, args.keep / name)
            seconds[name] = round(time.perf_counter() - start, 1)
            print(json.dumps({name: results[name], "seconds": seconds[name]}), file=sys.stderr, flush=True)
    print(json.dumps({"src": str(Path(ganforge.__file__).parent), "machine": machine(), "cases": results,
                      "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
