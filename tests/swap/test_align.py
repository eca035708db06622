"""The faceswap pipeline's ends: a face aligned to an upright crop and pasted back along its pose."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.data.builtin.faceclips import composite, place, to_uint8
from ganforge.metrics.image import psnr
from ganforge.swap.align import align, naive_paste, paste


def sprite(seed: int, side: int = 32) -> torch.Tensor:
    """A premultiplied RGBA face [4, side, side]: an opaque disc of smooth colour."""
    g = torch.Generator().manual_seed(seed)
    colour = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4, generator=g), size=side, mode="bilinear")[0]
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    alpha = (((yy - side / 2 + 0.5) ** 2 + (xx - side / 2 + 0.5) ** 2) < (side / 2 - 1) ** 2).float()[None]
    return torch.cat([colour * alpha, alpha])


POSE = dict(centre=np.array([[30.0, 28.0], [33.0, 31.0], [36.0, 34.0]]), side=np.array([40.0, 36.0, 44.0]),
            angle=np.array([0.0, 25.0, -40.0]))


def frames_of(face: torch.Tensor) -> np.ndarray:
    background = np.full((64, 64, 3), 90, np.uint8)
    layer = place(face, POSE["centre"], POSE["side"], POSE["angle"], 64)
    return to_uint8(composite([layer], background))


def test_aligned_crops_are_the_face_upright_whatever_its_pose() -> None:
    face = sprite(0)
    crops = align(frames_of(face), POSE["centre"], POSE["side"], POSE["angle"], 32)
    assert crops.shape == (3, 3, 32, 32)
    inside = face[3:] > 0.99
    inner = torch.nn.functional.avg_pool2d(inside.float()[None], 5, 1, 2)[0] > 0.99  # away from the disc's edge
    for crop in crops:
        assert float((crop - face[:3]).abs()[inner.expand(3, -1, -1)].mean()) < 0.03


def test_paste_of_the_other_face_gives_it_along_the_pose_and_beats_the_naive_paste() -> None:
    a, b = sprite(0), sprite(1)
    clip_a, truth = frames_of(a), frames_of(b)
    crops_b = b[:3] / b[3:].clamp(min=1e-6)  # b unpremultiplied, with its alpha
    swapped = paste(clip_a, crops_b.expand(3, -1, -1, -1), b[3:].expand(3, -1, -1, -1), **POSE)
    swapped_db = psnr(to_uint8(swapped), truth)
    assert swapped_db.min() > 40.0  # exact but for 8-bit rounding
    naive_db = psnr(to_uint8(naive_paste(clip_a, b, POSE["centre"], POSE["side"])), truth)
    assert naive_db[0] > 40.0 and np.all(naive_db[1:] < swapped_db[1:] - 10)  # upright it is right; turned, not
