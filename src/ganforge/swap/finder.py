"""Finding a face and its pose in a frame: the first step of the swap pipeline for clips whose maker is not known.

Two small CNNs, trained here on the emoji faces drawn at known poses (`scripts/train_face_finder.py`, shipped in
`face-finder.safetensors`): the coarse one reads the whole frame (at 64 px) and says where the face is, how big and
how turned; the refiner reads the frame re-aligned on that guess with a margin and says how far off the guess is, and
is applied `REFINE_STEPS` times. A pose is the face's centre (y, x) in pixels, its side in pixels and its angle in
degrees, counter-clockwise (`data.builtin.faceclips`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.builtin.faceclips import to_float
from ganforge.errors import GanforgeError
from ganforge.swap.align import align

HERE = Path(__file__).resolve().parent
FINDER_FILE = HERE / "face-finder.safetensors"
SIDE = 64  # frames are read at 64 px
REFINE_CROP = 48  # the refiner's view
MARGIN = 1.6  # the refiner sees this many face sides around its guess
REFINE_STEPS = 2
ANGLE_UNIT = 20.0  # degrees per unit of the networks' angle output


def pose_net(outputs: int = 4, width: int = 12, side: int = SIDE, hidden: int = 64) -> nn.Sequential:
    """Four stride-2 convolution stages and a linear head: [N, 3, side, side] in [-1, 1] -> [N, outputs]."""
    widths = [width, 2 * width, 4 * width, 4 * width]
    layers: list[nn.Module] = []
    c = 3
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, 1, 1), nn.ReLU(), nn.Conv2d(w, w, 3, 2, 1), nn.ReLU()]
        c = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * (side // 16) ** 2, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))


class FaceFinder(nn.Module):
    """The coarse network and the refiner, in one module (one file)."""

    def __init__(self, width: int = 12) -> None:
        super().__init__()
        self.coarse = pose_net(4, width, SIDE)
        self.refine = pose_net(4, width, REFINE_CROP)


def _frames_in(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> float [T, 3, 64, 64] in 0..1."""
    x = frames if isinstance(frames, torch.Tensor) else to_float(frames)
    if x.shape[-1] != SIDE or x.shape[-2] != SIDE:
        x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return x


def coarse_targets(centre: np.ndarray, side: np.ndarray, angle: np.ndarray, size: int) -> torch.Tensor:
    """[T, 4]: centre (y, x) in -1..1 of the frame, log of the side's share, angle in ANGLE_UNITs."""
    c = torch.as_tensor(np.asarray(centre), dtype=torch.float32) / size * 2 - 1
    s = torch.log(torch.as_tensor(np.asarray(side), dtype=torch.float32) / size)
    return torch.cat([c, s[:, None], torch.as_tensor(np.asarray(angle), dtype=torch.float32)[:, None] / ANGLE_UNIT], 1)


def from_coarse(out: torch.Tensor, size: int) -> dict[str, np.ndarray]:
    out = out.detach().double().cpu().numpy()
    return {"centre": (out[:, :2] + 1) / 2 * size, "side": np.exp(out[:, 2]) * size, "angle": out[:, 3] * ANGLE_UNIT}


def refine_targets(guess: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> torch.Tensor:
    """[T, 4]: the true pose in the guess's own frame: centre offset turned by the guess's angle, in units of the
    refiner's view; log of the side ratio; angle difference in ANGLE_UNITs."""
    d = (np.asarray(truth["centre"]) - guess["centre"]) / (MARGIN * guess["side"][:, None])
    theta = np.deg2rad(guess["angle"])
    cos, sin = np.cos(theta), np.sin(theta)
    # the guess's frame is the image frame turned counter-clockwise by its angle; (y, x) with y down
    dy, dx = d[:, 0] * cos + d[:, 1] * sin, -d[:, 0] * sin + d[:, 1] * cos
    return torch.tensor(np.stack([dy, dx, np.log(truth["side"] / guess["side"]),
                                  (truth["angle"] - guess["angle"]) / ANGLE_UNIT], 1), dtype=torch.float32)


def apply_refinement(guess: dict[str, np.ndarray], out: torch.Tensor) -> dict[str, np.ndarray]:
    """The inverse of `refine_targets`: the guess moved by the refiner's output."""
    o = out.detach().double().cpu().numpy()
    theta = np.deg2rad(guess["angle"])
    cos, sin = np.cos(theta), np.sin(theta)
    dy, dx = o[:, 0] * cos - o[:, 1] * sin, o[:, 0] * sin + o[:, 1] * cos
    scale = MARGIN * guess["side"]
    return {"centre": guess["centre"] + np.stack([dy, dx], 1) * scale[:, None],
            "side": guess["side"] * np.exp(o[:, 2]), "angle": guess["angle"] + o[:, 3] * ANGLE_UNIT}


def refiner_view(frames01: torch.Tensor, guess: dict[str, np.ndarray]) -> torch.Tensor:
    """float [T, 3, H, W] in 0..1 -> the refiner's input [T, 3, 48, 48] in [-1, 1]: the frame re-aligned on the
    guess with MARGIN sides around it."""
    return align(frames01, guess["centre"], guess["side"] * MARGIN, guess["angle"], REFINE_CROP) * 2 - 1


@torch.no_grad()
def locate(finder: FaceFinder, frames: np.ndarray | torch.Tensor, steps: int = REFINE_STEPS,
           batch: int = 256) -> dict[str, np.ndarray]:
    """Poses of the one face in each frame (uint8 [T, H, W, 3], or float [T, 3, H, W] in 0..1): {"centre": [T, 2],
    "side": [T], "angle": [T]}, in the frames' pixels."""
    size = int(frames.shape[-2] if isinstance(frames, torch.Tensor) else frames.shape[1])
    found: list[dict[str, np.ndarray]] = []
    for start in range(0, len(frames), batch):
        x = _frames_in(frames[start:start + batch])
        guess = from_coarse(finder.coarse(x * 2 - 1), SIDE)
        for _ in range(steps):
            guess = apply_refinement(guess, finder.refine(refiner_view(x, guess)))
        scale = size / SIDE
        found.append({"centre": (guess["centre"] + 0.5) * scale - 0.5, "side": guess["side"] * scale,
                      "angle": guess["angle"]})
    return {k: np.concatenate([f[k] for f in found]) for k in ("centre", "side", "angle")}


def perturbed(truth: dict[str, np.ndarray], rng: np.random.Generator, shift: float = 5.0, scale: float = 0.12,
              turn: float = 10.0) -> dict[str, np.ndarray]:
    """Guesses around true poses, as the coarse network's errors: up to `shift` px, `scale` (log) and `turn` deg."""
    n = len(truth["side"])
    return {"centre": truth["centre"] + rng.uniform(-shift, shift, (n, 2)),
            "side": truth["side"] * np.exp(rng.uniform(-scale, scale, n)),
            "angle": truth["angle"] + rng.uniform(-turn, turn, n)}


def train_finder(frames: np.ndarray, poses: dict[str, np.ndarray], epochs: int = 12, seed: int = 0) -> FaceFinder:
    """Both networks on frames uint8 [N, 64, 64, 3] with their true poses (`metrics.digits.fit_classifier`:
    smooth-L1 on the targets, Adam 1e-3 annealed, batch 64); the refiner on fresh perturbations of the true poses
    each epoch."""
    from ganforge.metrics.digits import fit_classifier

    if frames.shape[1:3] != (SIDE, SIDE):
        raise GanforgeError(f"the face finder trains on {SIDE}-px frames, got {frames.shape[1]} x {frames.shape[2]}")
    rng = np.random.default_rng(seed)
    x = _frames_in(frames)

    def smooth_l1(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.smooth_l1_loss(net(inputs), targets, beta=0.05)

    def refiner_epoch(epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        guess = perturbed(poses, rng)
        return refiner_view(x, guess), refine_targets(guess, poses)

    finder = FaceFinder()
    coarse_y = coarse_targets(poses["centre"], poses["side"], poses["angle"], SIDE)
    finder.coarse = fit_classifier(lambda: pose_net(4, side=SIDE), x * 2 - 1, coarse_y, lambda v: v, epochs, seed,
                                   loss_of=smooth_l1, cosine=True)
    finder.refine = fit_classifier(lambda: pose_net(4, side=REFINE_CROP), None, None, lambda v: v, epochs, seed,
                                   loss_of=smooth_l1, epoch_data=refiner_epoch, cosine=True)
    return finder.eval()


def pose_errors(found: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per frame: centre distance (px), relative side error, absolute angle error (deg)."""
    return {"position_px": np.linalg.norm(np.asarray(found["centre"]) - truth["centre"], axis=1),
            "scale": np.abs(found["side"] / truth["side"] - 1),
            "rotation_deg": np.abs((found["angle"] - truth["angle"] + 180) % 360 - 180)}


def save_finder(finder: FaceFinder, path: Path, metadata: dict[str, Any]) -> Path:
    from ganforge.metrics.shipped import save_shipped

    return save_shipped(finder.state_dict(), path, metadata)


@lru_cache(maxsize=2)
def load_finder(path: Path = FINDER_FILE) -> FaceFinder:
    from ganforge.metrics.shipped import load_shipped

    state, _ = load_shipped(path, "the face finder", "scripts/train_face_finder.py")
    finder = FaceFinder()
    finder.load_state_dict(state)
    return finder.eval().requires_grad_(False)


FINDERS = ("emoji", "haar")


def haar_faces(frames: np.ndarray, detector: Any = None) -> dict[str, np.ndarray]:
    """Poses of the largest face OpenCV's frontal Haar cascade finds in each frame (photographs): its box's centre
    and side, upright; a frame without one takes its neighbour's. Needs the `faces` extra."""
    try:
        import cv2
    except ImportError:
        raise GanforgeError("finding faces in photographs needs OpenCV: pip install 'ganforge[faces]' "
                            "(opencv-python-headless)") from None
    if detector is None:
        detector = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    boxes: list[tuple[float, float, float] | None] = []
    for frame in frames:
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        found = detector.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(16, 16))
        if len(found) == 0:
            boxes.append(None)
            continue
        x, y, w, h = max(found, key=lambda b: b[2] * b[3])
        boxes.append((y + h / 2 - 0.5, x + w / 2 - 0.5, float(max(w, h))))
    if all(b is None for b in boxes):
        raise GanforgeError("OpenCV's face detector found no face in any frame; give the faces' poses with --poses")
    last = next(b for b in boxes if b is not None)
    filled = []
    for b in boxes:  # frames without a detection keep the last one found (the first found, before it)
        last = b if b is not None else last
        filled.append(last)
    arr = np.array(filled, dtype=np.float64)
    return {"centre": arr[:, :2], "side": arr[:, 2], "angle": np.zeros(len(arr))}


def find_faces(frames: np.ndarray, finder: str = "emoji") -> dict[str, np.ndarray]:
    """The poses of the face in each frame uint8 [T, H, W, 3]: the shipped emoji face finder (square frames), or
    OpenCV's Haar cascade for photographs (`finder="haar"`)."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise GanforgeError(f"faces are found in frames [T, H, W, 3], got {frames.shape}")
    if finder == "haar":
        return haar_faces(frames)
    if finder != "emoji":
        raise GanforgeError(f"unknown face finder {finder!r}; choose one of: {', '.join(FINDERS)}")
    if frames.shape[1] != frames.shape[2]:
        raise GanforgeError(f"the emoji face finder reads square frames, got {frames.shape[1]} x {frames.shape[2]}")
    if frames.shape[1] < 16:
        raise GanforgeError(f"frames of {frames.shape[1]} px are too small to find a face in")
    return locate(load_finder(), frames)
