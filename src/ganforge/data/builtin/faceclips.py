"""Face clips with an exact ground truth for identity swap (issue 32): the emoji set's face emoji moving, turning,
growing and shrinking, and passing behind a hand, over a background.

A clip is a layout (which face, its trajectory: centre, side and angle per frame; an occluding hand's path; the
background) and a renderer, so any face can be drawn along any clip's trajectory: the swap of face A's clip to face
B has a true answer, `FaceClips.render_as(i, b)`, B drawn exactly where and how A was, behind the same hand.

Faces are the emoji whose subcategory starts with "face-" (118 in both styles, in one order by name, so identity k
is the same face in google and twitter); occluders are the "hand-" emoji. Sprites are warped from 64-px renders with
their alpha (bilinear, premultiplied). 10% of the faces, chosen once by `split_seed`, are held out: test clips show
only them. Like moving emoji, nothing is stored: clip i of a split is a function of (seed, split, i).

    clips = FaceClips("train")
    frames = clips[3]                       # uint8 [T, 64, 64, 3]
    truth = clips.render_as(3, identity=7)  # the same clip with face 7
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.builtin.moving import bounce, make_background, split_pools
from ganforge.errors import DataError

FACE_PREFIX = "face-"
OCCLUDER_PREFIX = "hand-"
STYLES = ("google", "twitter")
SOURCE_SIDE = 64  # px of the emoji renders the sprites are warped from
_SPLIT_CODE = {"train": 1, "test": 2}
SPLIT_SEED = 0  # which tenth of the faces the test split holds out


@dataclass(frozen=True)
class Sprites:
    """Emoji with their alpha as premultiplied float RGBA [N, 4, s, s] in 0..1, and their names."""

    rgba: torch.Tensor
    names: tuple[str, ...]


def _premultiplied(images: np.ndarray, alpha: np.ndarray) -> torch.Tensor:
    a = torch.from_numpy(alpha).float()[:, None] / 255.0  # [N, 1, s, s]
    rgb = to_float(images)
    return torch.cat([rgb * a, a], dim=1)


@lru_cache(maxsize=4)
def emoji_sprites(prefix: str, style: str = "google") -> Sprites:
    """The emoji whose subcategory starts with `prefix`, in one order by name (the same in both styles)."""
    from ganforge.data.builtin import get_builtin

    if style not in STYLES:
        raise DataError(f"unknown emoji style {style!r}; choose one of: {', '.join(STYLES)}")
    ds = get_builtin("emoji").at_resolution(SOURCE_SIDE, style)
    if ds.alpha is None:
        raise DataError("the built-in emoji were prepared without their alpha channel: run `ganforge data fetch emoji "
                        "--force`")
    picked = sorted((str(it.get("name")), i) for i, it in enumerate(ds.items)
                    if str(it.get("subcategory") or "").startswith(prefix) and it.get("skin_tone") is None)
    if not picked:
        raise DataError(f"no emoji with a subcategory starting {prefix!r} in the {style} set")
    index = np.array([i for _, i in picked])
    return Sprites(_premultiplied(ds.images[index], ds.alpha[index]), tuple(n for n, _ in picked))


@dataclass(frozen=True)
class Trajectory:
    """Where a face is in each frame, and the hand that may pass in front of it."""

    centre: np.ndarray  # [T, 2] float (y, x) px: the face's centre
    side: np.ndarray  # [T] float px: the face's side
    angle: np.ndarray  # [T] float degrees, counter-clockwise
    occluder: int | None  # index into the hand emoji, or None
    occluder_centre: np.ndarray  # [T, 2] float (y, x) px
    occluder_side: float

    @property
    def frames(self) -> int:
        return len(self.centre)


def random_trajectory(rng: np.random.Generator, frames: int, size: int, occluded: float = 0.5) -> Trajectory:
    """A face of 35-55% of the frame bouncing at 1-2.5 px a frame, its side swinging by up to 15% and its angle by
    up to 20 degrees; with chance `occluded`, a hand of 40% of the frame crossing it."""
    base = size * rng.uniform(0.35, 0.55)
    t = np.arange(frames, dtype=np.float64)
    side = base * (1 + rng.uniform(0.0, 0.15) * np.sin(rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * math.pi)))
    angle = rng.uniform(0.0, 20.0) * np.sin(rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * math.pi))
    margin = side.max() / 2
    limit = size - 2 * margin
    heading = rng.uniform(0.0, 2 * math.pi)
    velocity = rng.uniform(1.0, 2.5) * np.array([math.sin(heading), math.cos(heading)])
    centre = margin + bounce(rng.uniform(0.0, limit, (1, 2)), velocity[None], frames, np.array(limit))[:, 0]
    occluder, hand_centre, hand_side = None, np.zeros((frames, 2)), 0.4 * size
    if rng.uniform() < occluded:
        occluder = int(rng.integers(0, 1 << 30))  # reduced modulo the hands available when drawn
        start = centre[frames // 2] + rng.uniform(-0.6, 0.6, 2) * size
        middle = centre[frames // 2] + rng.uniform(-0.15, 0.15, 2) * size
        # the hand reaches the face half-way through; a one-frame "clip" shows it somewhere on its way in
        progress = t / max(1, frames // 2) if frames > 1 else rng.uniform(0.4, 1.0, 1)
        hand_centre = start[None] + (middle - start)[None] * progress[:, None]
    return Trajectory(centre, side, angle, occluder, hand_centre, hand_side)


def pose_matrix(centre: np.ndarray, side: np.ndarray, angle: np.ndarray, size: int) -> torch.Tensor:
    """[T, 3, 3] float64: a frame's normalised coordinates (x, y, 1) -> the face's own (its sprite spans [-1, 1]),
    for a face centred at (y, x) px, `side` px across, turned by `angle` degrees counter-clockwise. Tensors keep
    their gradients (a pose fitted by gradient descent, `metrics.swap.register_pose`)."""
    def as64(v: np.ndarray | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(v if isinstance(v, torch.Tensor) else np.asarray(v), dtype=torch.float64)

    c = as64(centre)
    scale = as64(side) / size  # the sprite's share of the frame
    theta = as64(angle) * (math.pi / 180.0)
    cos, sin = torch.cos(theta) / scale, torch.sin(theta) / scale
    ty, tx = (2 * c[:, 0] + 1) / size - 1, (2 * c[:, 1] + 1) / size - 1
    zero, one = torch.zeros_like(cos), torch.ones_like(cos)
    return torch.stack([  # rotate by -angle about the centre, then divide by the scale
        torch.stack([cos, -sin, -(cos * tx - sin * ty)], dim=1),
        torch.stack([sin, cos, -(sin * tx + cos * ty)], dim=1),
        torch.stack([zero, zero, one], dim=1),
    ], dim=1)


def place(rgba: torch.Tensor, centre: np.ndarray, side: np.ndarray, angle: np.ndarray, size: int,
          view: torch.Tensor | None = None, out: int | None = None) -> torch.Tensor:
    """Premultiplied sprites [K, C, s, s] (or one [C, s, s] for all) drawn into K frames [K, C, size, size] at each
    pose (`pose_matrix`; bilinear, transparent outside). With `view` ([K, 3, 3]: an output's normalised coordinates
    -> the frame's), the frames are drawn as that view sees them, `out` px square: a face's own crop, drawn at the
    crop's resolution rather than resampled from the frame (`swap.crops`)."""
    k = len(centre)
    if rgba.ndim == 3:
        rgba = rgba[None].expand(k, -1, -1, -1)
    matrix = pose_matrix(centre, side, angle, size)
    if view is not None:
        matrix = matrix @ view.to(matrix)
    side_out = size if out is None else out
    grid = F.affine_grid(matrix[:, :2].float(), [k, rgba.shape[1], side_out, side_out], align_corners=False)
    return F.grid_sample(rgba, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def composite(layers: list[torch.Tensor], background: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Premultiplied layers [T, 4, H, W], back to front, over a uint8 background [H, W, 3] (or one per frame,
    [T, H, W, 3], or float frames [T, 3, H, W] in 0..1) -> float [T, 3, H, W] in 0..1."""
    if isinstance(background, torch.Tensor):
        out = background
    else:
        out = to_float(background if background.ndim == 4 else background[None])
    for layer in layers:
        out = layer[:, :3] + (1 - layer[:, 3:]) * out
    return out


def to_float(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames [T, H, W, C] -> float [T, C, H, W] in 0..1 (what `to_uint8` turns back)."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    return (frames * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def face_pools(split_seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """{"train": face indices, "test": the held-out tenth}: the faces each split of the face clips shows."""
    return split_pools(len(emoji_sprites(FACE_PREFIX).names), split_seed)


def visible_share(layers: list[torch.Tensor]) -> torch.Tensor:
    """float [T, H, W] in 0..1: how much of each pixel is the first (back) layer after the others cover it."""
    visible = layers[0][:, 3]
    for layer in layers[1:]:
        visible = visible * (1 - layer[:, 3])
    return visible


def face_layers(face: torch.Tensor, hands: Sprites, tr: Trajectory, size: int, view: torch.Tensor | None = None,
                out: int | None = None) -> list[torch.Tensor]:
    """A premultiplied face [4, s, s] drawn along a trajectory, and its hand (if it has one) in front: the layers
    [T, 4, size, size] to `composite`, back to front (or as `view` sees them, `out` px: `place`)."""
    layers = [place(face, tr.centre, tr.side, tr.angle, size, view, out)]
    if tr.occluder is not None:
        layers.append(place(hands.rgba[tr.occluder % len(hands.names)], tr.occluder_centre,
                            np.full(tr.frames, tr.occluder_side), np.zeros(tr.frames), size, view, out))
    return layers


class FaceClips:
    """`len()` clips of one face each, made on demand; `layout(i)` says what clip i shows, `render_as(i, b)` draws
    it with face b instead (the swap's ground truth), `face_mask(i)` where the face shows."""

    def __init__(self, split: str = "train", num_clips: int | None = None, frames: int = 16, size: int = 64,
                 style: str = "google", seed: int = 0, split_seed: int = SPLIT_SEED, occluded: float = 0.5,
                 background: str = "noise") -> None:
        if split not in _SPLIT_CODE:
            raise DataError(f"unknown split {split!r}; choose train or test")
        if frames < 1 or size < 16:
            raise DataError(f"face clips need at least 1 frame of at least 16 px, got {frames} of {size} px")
        self.split, self.frames, self.size, self.style = split, frames, size, style
        self.seed, self.occluded, self.background = seed, occluded, background
        self.faces = emoji_sprites(FACE_PREFIX, style)
        self.hands = emoji_sprites(OCCLUDER_PREFIX, style)
        self.pool = split_pools(len(self.faces.names), split_seed)[split]  # face indices this split shows
        self.num_clips = num_clips if num_clips is not None else (2000 if split == "train" else 200)

    def __len__(self) -> int:
        return self.num_clips

    def __getitem__(self, index: int) -> np.ndarray:
        return self.render_as(index, self.layout(index)["identity"])

    @property
    def identities(self) -> np.ndarray:
        """The faces (indices into `faces.names`) this split's clips show."""
        return self.pool

    def layout(self, index: int) -> dict:
        """{"identity": face index, "trajectory": Trajectory, "background": uint8 [H, W, 3]} of clip `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} is outside 0..{len(self) - 1}")
        rng = np.random.default_rng([self.seed, _SPLIT_CODE[self.split], index])
        identity = int(self.pool[rng.integers(0, len(self.pool))])
        trajectory = random_trajectory(rng, self.frames, self.size, self.occluded)
        background = make_background(self.background, self.size, 3, rng)
        return {"identity": identity, "trajectory": trajectory, "background": background}

    def layers(self, index: int, identity: int) -> tuple[torch.Tensor, torch.Tensor | None, np.ndarray]:
        """(the face's layer, the hand's layer or None, the background) of clip `index` drawn with `identity`."""
        if not 0 <= identity < len(self.faces.names):
            raise DataError(f"face {identity} is outside 0..{len(self.faces.names) - 1}")
        layout = self.layout(index)
        face, *hand = face_layers(self.faces.rgba[identity], self.hands, layout["trajectory"], self.size)
        return face, (hand[0] if hand else None), layout["background"]

    def render_as(self, index: int, identity: int) -> np.ndarray:
        """Clip `index` with face `identity` along its trajectory, behind its hand: uint8 [T, H, W, 3]."""
        face, hand, background = self.layers(index, identity)
        return to_uint8(composite([face] if hand is None else [face, hand], background))

    def face_mask(self, index: int, identity: int | None = None) -> np.ndarray:
        """float [T, H, W] in 0..1: how much of each pixel is the face (the clip's own, or `identity` drawn along
        its trajectory) after the hand covers it."""
        face, hand, _ = self.layers(index, self.layout(index)["identity"] if identity is None else identity)
        return visible_share([face] if hand is None else [face, hand]).numpy()


def draw_faces(identities: np.ndarray, seed: int, size: int = 64, style: str = "google", occluded: float = 0.3,
               background: str = "noise") -> dict[str, np.ndarray]:
    """One frame per face in `identities`, each at a random pose over a random background, a hand in front with
    chance `occluded`: {"frames": uint8 [N, H, W, 3], "centre": [N, 2], "side": [N], "angle": [N]} (what the
    identity classifier and encoder train on, aligned by their poses)."""
    faces, hands = emoji_sprites(FACE_PREFIX, style), emoji_sprites(OCCLUDER_PREFIX, style)
    rng = np.random.default_rng([seed, 0xFACE])
    frames, centre, side, angle = [], [], [], []
    for identity in np.asarray(identities):
        tr = random_trajectory(rng, 1, size, occluded)
        layers = face_layers(faces.rgba[int(identity)], hands, tr, size)
        frames.append(to_uint8(composite(layers, make_background(background, size, 3, rng)))[0])
        centre.append(tr.centre[0])
        side.append(tr.side[0])
        angle.append(tr.angle[0])
    return {"frames": np.stack(frames), "centre": np.stack(centre), "side": np.array(side), "angle": np.array(angle)}
