"""Aligned face crops to train swap models on, drawn from the emoji faces with their exact masks and swaps.

A training example is one frame as the face clips draw it (a face at a random pose over a random background, a hand
in front of it half the time), aligned to an upright crop as the pipeline aligns faces (`swap.align.align`), with a
fourth channel: how much of each pixel is the face after the hand covers it (what a swap model's blend mask learns).
Given `others`, the same frame is drawn a second time with another face: the exact answer of swapping it.
With `sharp`, each frame (and its swap) is also drawn straight into the crop at the crop's resolution (the face is its
sprite there, the hand and background turned and scaled by the same pose): what a swap model should draw. The aligned
crops are resampled from a 64-px frame whose face spans 22-35 px, so they are blurred, and a model taught to redraw
them redraws the blur (pasting the exact aligned swap back scores 27.3 dB over the face; its sharp crop, 35.1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ganforge.data.builtin.faceclips import (
    FACE_PREFIX,
    OCCLUDER_PREFIX,
    Sprites,
    Trajectory,
    composite,
    emoji_sprites,
    face_layers,
    random_trajectory,
    to_uint8,
    visible_share,
)
from ganforge.data.builtin.moving import make_background
from ganforge.swap.align import align, crop_view

CROP = 64  # side of the aligned crops swap models work on (at 32 px resampling alone costs the 25 dB bar)
REFERENCE_GREY = 128  # what a reference face is drawn over


def face_crops(identities: np.ndarray, seed: int, crop: int = CROP, size: int = 64, style: str = "google",
               occluded: float = 0.5, others: np.ndarray | None = None, background: str = "noise",
               sharp: bool = False, progress: Callable[[int, int], None] | None = None,
               chunk: int = 256) -> dict[str, np.ndarray]:
    """One aligned crop per face in `identities`: {"crops": uint8 [N, crop, crop, 4] (RGB and the face's visible
    share)}; with `others` (one face per example) {"truths": the same frames drawn with those faces}. With `sharp`,
    "sharp": the frames drawn at the crop's resolution (module doc), and the swaps are drawn so only, as
    "sharp_truths"."""
    faces, hands = emoji_sprites(FACE_PREFIX, style), emoji_sprites(OCCLUDER_PREFIX, style)
    identities = np.asarray(identities, dtype=np.int64)
    rng = np.random.default_rng([seed, 0x5A4B])
    out: dict[str, list[np.ndarray]] = {"crops": [], "truths": [], "sharp": [], "sharp_truths": []}
    for start in range(0, len(identities), chunk):
        part = identities[start:start + chunk]
        frames: dict[str, list[torch.Tensor]] = {"crops": [], "truths": []}  # drawn in the frame, then aligned
        poses = []
        for k, identity in enumerate(part):
            tr = random_trajectory(rng, 1, size, occluded)
            back = make_background(background, size, 3, rng)
            poses.append(tr)
            other = None if others is None else int(others[start + k])
            frames["crops"].append(frame_drawing(faces.rgba[int(identity)], hands, tr, back, size))
            if other is not None and not sharp:
                frames["truths"].append(frame_drawing(faces.rgba[other], hands, tr, back, size))
            if sharp:
                view = crop_view(tr.centre, tr.side, tr.angle, size)
                back_crop = align(back[None], tr.centre, tr.side, tr.angle, crop)
                out["sharp"].append(to_uint8(frame_drawing(faces.rgba[int(identity)], hands, tr, back_crop, size, view,
                                                           crop)))
                if other is not None:
                    out["sharp_truths"].append(to_uint8(frame_drawing(faces.rgba[other], hands, tr, back_crop, size,
                                                                      view, crop)))
        centre = np.concatenate([p.centre for p in poses])
        side = np.concatenate([p.side for p in poses])
        angle = np.concatenate([p.angle for p in poses])
        for key, drawn in frames.items():
            if drawn:
                out[key].append(to_uint8(align(torch.cat(drawn), centre, side, angle, crop)))
        if progress is not None:
            progress(min(start + chunk, len(identities)), len(identities))
    return {key: np.concatenate(parts) for key, parts in out.items() if parts}


def frame_drawing(face: torch.Tensor, hands: Sprites, tr: Trajectory, back: np.ndarray | torch.Tensor, size: int,
                  view: torch.Tensor | None = None, out: int | None = None) -> torch.Tensor:
    """A face [4, s, s] drawn along a trajectory behind its hand, over `back`, with its visible share: float
    [T, 4, size, size] in 0..1; or as `view` sees the frame, `out` px (`place`), over a background drawn so."""
    layers = face_layers(face, hands, tr, size, view, out)
    return torch.cat([composite(layers, back), visible_share(layers)[:, None]], dim=1)


def reference_faces(style: str = "google", crop: int = CROP) -> np.ndarray:
    """Every face upright, filling a crop, over grey: uint8 [118, crop, crop, 3], what `--identity B` stands for."""
    rgba = emoji_sprites(FACE_PREFIX, style).rgba
    if rgba.shape[-1] != crop:
        rgba = torch.nn.functional.interpolate(rgba, size=(crop, crop), mode="bilinear", antialias=True,
                                               align_corners=False)
    grey = np.full((crop, crop, 3), REFERENCE_GREY, dtype=np.uint8)
    return to_uint8(composite([rgba], grey))
