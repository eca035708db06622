"""Aligning a face to a canonical crop and blending a crop back: the two ends of the faceswap pipeline.

A face's pose in a frame is its centre (y, x), side and angle, as `data.builtin.faceclips` draws faces (on emoji
clips the pose comes from the clip's layout; `swap.finder` finds it in others). `align` samples the
frame on the face's own grid, so every face comes out upright, centred and the same size; `paste` draws a crop
(with its alpha) back into the frame along the same pose, the inverse warp. `naive_paste` is the baseline the swap is
measured against: the new face's image pasted into the face's box, upright, over everything.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.builtin.faceclips import composite, place, pose_matrix, to_float


def crop_view(centre: np.ndarray, side: np.ndarray, angle: np.ndarray, size: int) -> torch.Tensor:
    """[T, 3, 3] float64: a face crop's normalised coordinates -> its frame's (`size` px), the inverse of the face's
    pose (`pose_matrix`); what `align` samples along and what `place` draws a frame into a crop with."""
    return torch.linalg.inv(pose_matrix(centre, side, angle, size))


def align(frames: np.ndarray | torch.Tensor, centre: np.ndarray, side: np.ndarray, angle: np.ndarray,
          crop: int) -> torch.Tensor:
    """uint8 frames [T, H, W, 3] (or float [T, C, H, W] in 0..1) -> each face upright in a crop float
    [T, C, crop, crop] in 0..1 (bilinear; outside the frame is black)."""
    x = frames if isinstance(frames, torch.Tensor) else to_float(frames)
    view = crop_view(centre, side, angle, x.shape[-1])[:, :2].float().to(x.device)
    grid = F.affine_grid(view, [len(x), x.shape[1], crop, crop], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def paste(frames: np.ndarray, crops: torch.Tensor, alpha: torch.Tensor, centre: np.ndarray, side: np.ndarray,
          angle: np.ndarray) -> torch.Tensor:
    """Crops [T, 3, s, s] in 0..1 with their alpha [T, 1, s, s] drawn into uint8 frames [T, H, W, 3] along each
    pose: float [T, 3, H, W] in 0..1."""
    placed = place(torch.cat([crops * alpha, alpha], dim=1), centre, side, angle, frames.shape[1])  # premultiplied
    return composite([placed], frames)


def naive_paste(frames: np.ndarray, rgba: torch.Tensor, centre: np.ndarray, side: np.ndarray) -> torch.Tensor:
    """The baseline: one premultiplied face [4, s, s] pasted upright into each frame's face box, over everything
    (no turn, no occlusion): float [T, 3, H, W] in 0..1."""
    return composite([place(rgba, centre, side, np.zeros(len(centre)), frames.shape[1])], frames)

