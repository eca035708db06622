"""Train the swap's identity encoder, src/ganforge/swap/identity-encoder.safetensors (issue 32's SimSwap-style model).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/train_identity_encoder.py [--per-face 120] [--out PATH]

The face emoji of the training split only (the face clips' held-out tenth never), each drawn --per-face times in both
styles at random poses over random backgrounds, a hand in front of some, aligned to upright crops; ArcFace's margin
(losses/arcface.py). Printed and stored in the file's metadata: how well its embeddings tell faces apart, on seen faces
and on the held-out ones it never saw (nearest reference face by cosine, among all 118).
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from train_identity_classifier import face_arguments  # scripts/ is on the path when a script runs

from ganforge.data.builtin.faceclips import FACE_PREFIX, emoji_sprites, face_pools
from ganforge.swap.crops import face_crops, reference_faces
from ganforge.swap.identity import ENCODER_FILE, save_identity_encoder, train_identity_encoder


def crops01(identities: np.ndarray, seed: int, style: str, occluded: float) -> torch.Tensor:
    rgba = face_crops(identities, seed, style=style, occluded=occluded)["crops"]
    return torch.from_numpy(rgba[..., :3]).permute(0, 3, 1, 2).float() / 255.0


def nearest_reference_accuracy(net: torch.nn.Module, identities: np.ndarray, seed: int, occluded: float) -> float:
    """Share of freshly drawn faces whose embedding is nearest (cosine) their own face's reference, among all."""
    refs = torch.from_numpy(reference_faces()).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        bank = net(refs)
        drawn = net(crops01(identities, seed, "google", occluded) * 2 - 1)
    return float(((drawn @ bank.t()).argmax(1) == torch.from_numpy(identities)).float().mean())


def main() -> None:
    args = face_arguments(__doc__.splitlines()[0], ENCODER_FILE, 0.5)
    started = time.perf_counter()
    names = emoji_sprites(FACE_PREFIX, "google").names
    pools = face_pools()  # the face clips' split: train faces only
    train = np.asarray(pools["train"])
    index = {int(face): k for k, face in enumerate(train)}  # face -> class of the ArcFace head
    faces = np.tile(train, args.per_face)
    crops = torch.cat([crops01(faces, args.seed * 2 + i, style, args.occluded)
                       for i, style in enumerate(("google", "twitter"))])
    labels = torch.tensor([index[int(f)] for f in np.concatenate([faces, faces])])
    drawn_sec = time.perf_counter() - started
    net = train_identity_encoder(crops, labels, len(train), args.epochs, args.seed)
    seen = nearest_reference_accuracy(net, np.tile(train, 5), 1000 + args.seed, args.occluded)
    unseen = nearest_reference_accuracy(net, np.tile(np.asarray(pools["test"]), 40), 2000 + args.seed, args.occluded)
    summary = {"faces": len(names), "train_faces": len(train), "per_face": args.per_face,
               "styles": ["google", "twitter"], "occluded": args.occluded, "epochs": args.epochs, "seed": args.seed,
               "nearest_reference_seen": round(seen, 4), "nearest_reference_unseen": round(unseen, 4),
               "draw_sec": round(drawn_sec, 1), "train_sec": round(time.perf_counter() - started - drawn_sec, 1),
               "torch": torch.__version__, "command": "python scripts/train_identity_encoder.py"}
    save_identity_encoder(net, args.out, summary)
    print(json.dumps({**summary, "out": str(args.out)}))


if __name__ == "__main__":
    main()
