"""What a face swap scores against its exact answer (issue 32): identity, pose, face-region PSNR and flicker.

For a clip whose face A is swapped to B, the true answer is B drawn along A's trajectory behind A's hand
(`FaceClips.render_as`). Scores per clip:
- `identity`: share of frames whose face, aligned by the clip's poses, the shipped identity classifier reads as B;
- `position_px`, `scale`, `rotation_deg`: where B's face actually is in the output, found by registering B's sprite
  onto each frame (gradient descent on its pose from the true one, the hand in front, the clip's background behind),
  against the true trajectory: mean over frames;
- `psnr_face`: PSNR over the true face region (B's visible pixels, weighted by their coverage);
- `flicker_ratio`: mean absolute frame-to-frame change over that region, against the true clip's.
"""

from __future__ import annotations

import numpy as np
import torch

from ganforge.data.builtin.faceclips import composite, place, to_float
from ganforge.metrics.identity import SIDE, identity_probabilities
from ganforge.swap.align import align

REGISTER_STEPS = 150


def register_pose(frames: np.ndarray, face: torch.Tensor, behind: np.ndarray, front: torch.Tensor | None,
                  pose: dict[str, np.ndarray], steps: int = REGISTER_STEPS) -> dict[str, np.ndarray]:
    """Each frame's pose of a known face: the premultiplied sprite `face` [4, s, s] drawn at a pose over `behind`
    (uint8 [H, W, 3] or [T, H, W, 3]) under `front` (a premultiplied layer [T, 4, H, W] or None), fitted to uint8
    `frames` [T, H, W, 3] by Adam on (centre, log side, angle) from `pose`."""
    size = frames.shape[1]
    target = to_float(frames)
    centre = torch.tensor(np.asarray(pose["centre"]), dtype=torch.float64, requires_grad=True)
    log_side = torch.tensor(np.log(np.asarray(pose["side"])), dtype=torch.float64, requires_grad=True)
    angle = torch.tensor(np.asarray(pose["angle"]), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([{"params": [centre], "lr": 0.1}, {"params": [log_side], "lr": 0.005},
                                  {"params": [angle], "lr": 0.3}])
    for _ in range(steps):
        drawn = place(face, centre, log_side.exp(), angle, size)
        layers = [drawn] if front is None else [drawn, front]
        loss = ((composite(layers, behind) - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"centre": centre.detach().numpy(), "side": log_side.exp().detach().numpy(),
            "angle": angle.detach().numpy()}


def swap_scores(output: np.ndarray, truth: np.ndarray, mask: np.ndarray, pose: dict[str, np.ndarray], target: int,
                face: torch.Tensor | None = None, behind: np.ndarray | None = None,
                front: torch.Tensor | None = None) -> dict[str, float]:
    """One clip's scores (see the module doc); the pose errors need B's sprite `face`, the clip's `behind` and its
    hand layer `front` (None: no hand), and are left out without `face`."""
    crops = align(output, pose["centre"], pose["side"], pose["angle"], SIDE)
    scores = {"identity": float((identity_probabilities(crops).argmax(1) == target).float().mean())}
    if face is not None:
        from ganforge.swap.finder import pose_errors

        found = register_pose(output, face, behind, front, pose)
        scores.update({k: float(v.mean()) for k, v in pose_errors(found, pose).items()})
    weight = mask[..., None].repeat(3, axis=3)
    error = ((output.astype(np.float64) - truth.astype(np.float64)) ** 2 * weight).sum() / max(weight.sum(), 1e-9)
    scores["psnr_face"] = float(10 * np.log10(255.0**2 / max(error, 1e-12)))

    def flicker(frames: np.ndarray) -> float:
        change = np.abs(np.diff(frames.astype(np.float64), axis=0)) * weight[1:]
        return float(change.sum() / max(weight[1:].sum(), 1e-9))

    scores["flicker_ratio"] = flicker(output) / max(flicker(truth), 1e-9)
    return scores
