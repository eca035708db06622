"""Moving MNIST and moving emoji: clips of sprites bouncing in a frame, generated on the fly from a seed.

The recipe is Srivastava et al.'s (2015): each sprite starts at a uniformly random position with
every pixel inside the frame and moves in a straight line at a fixed speed in a uniformly random
direction, bouncing off the edges (a reflection, so it never leaves the frame). Digits are combined
by the pixel-wise maximum; emoji are drawn over one another with their alpha, on a static
background (plain, smooth noise or stripes) that VGAN-style models can learn as a separate stream.

Nothing is stored: sequence i of a split is a pure function of (seed, split, i), so any index of a
10,000-sequence set costs the same and two processes agree without sharing files. The sprites are
split once, by `split_seed`, into a training pool and a held-out pool (a fixed 10% of the images);
the test split draws only from the held-out pool, so test clips show digits never seen in training.
The split does not depend on `seed`, so changing the sequence seed never leaks test sprites.

    clips = moving_mnist("train")            # 10,000 clips of uint8 [20, 64, 64, 1]
    clip = clips[7]                          # the same array on every call and every machine
    test = moving_mnist("test")              # 1,000 clips from the held-out digits
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ganforge.errors import DataError

SPLITS = ("train", "test")
DEFAULT_SEQUENCES = {"train": 10_000, "test": 1_000}
HELD_OUT = 0.1  # the share of sprite images kept for the test split
# Srivastava et al. step 0.1 of the [0, 1] travel range per frame; that range is 64 - 28 = 36 px.
DEFAULT_SPEED = 3.6
MNIST_DIGIT_SIZE = 28
EMOJI_SPRITE_SIZE = 32  # moving-emoji's sprites in frames larger than 32 px
MIN_SPRITE_SIZE = 4  # the smallest emoji side drawn (frames under 8 px then leave the sprites no room: an error)
BACKGROUNDS = ("plain", "noise", "stripes")
WHITE_THRESHOLD = 245
_SPLIT_CODE = {"train": 1, "test": 2}
_POOL_STREAM = 0x5EED  # separates the pool permutation's stream from the sequences'


def white_alpha(rgb: np.ndarray, threshold: int = WHITE_THRESHOLD) -> np.ndarray:
    """uint8 [..., H, W] alpha from RGB on white: 0 where every channel is >= threshold, else 255.

    For sprites stored composited onto white without their alpha channel; the built-in emoji keep
    theirs (alpha.npy), so this is only the fallback.
    """
    return np.where((rgb >= threshold).all(axis=-1), 0, 255).astype(np.uint8)


def split_pools(n: int, split_seed: int = 0, held_out: float = HELD_OUT,
                groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Sprite indices of each split: a seeded permutation, the last ceil(held_out * n) held out for test.

    With `groups` (one key per sprite, e.g. an emoji's skin-tone variants share one) whole groups are held
    out, as the image tasks' test split does (data/split.py), so no test sprite has a sibling in training.
    """
    if n < 2:
        raise DataError(f"moving clips need at least 2 sprite images to hold some out for testing, got {n}")
    if not 0.0 < held_out < 1.0:
        raise DataError(f"held_out must lie strictly between 0 and 1, got {held_out!r}")
    if groups is not None:
        from ganforge.data.split import split_indices

        train, test = split_indices(n, seed=split_seed, fraction=held_out, what="moving sprites", groups=groups)
        return {"train": train, "test": test}
    n_test = min(n - 1, max(1, math.ceil(held_out * n)))
    perm = np.random.default_rng([split_seed, _POOL_STREAM]).permutation(n)
    return {"train": np.sort(perm[: n - n_test]), "test": np.sort(perm[n - n_test :])}


def bounce(start: np.ndarray, velocity: np.ndarray, frames: int, limit: np.ndarray) -> np.ndarray:
    """Positions [T, K, 2] of K points moving at constant velocity and reflecting off 0 and `limit`.

    Closed form: unfold the motion onto a line of period 2 * limit and fold it back (a triangle
    wave), so any speed, even more than the travel range per frame, stays within [0, limit].
    """
    t = np.arange(frames, dtype=np.float64)[:, None, None]  # [T, 1, 1]
    free = start[None] + velocity[None] * t  # [T, K, 2]
    lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), free.shape)
    out = np.zeros_like(free)
    moving = lim > 0
    q = np.mod(free[moving], 2.0 * lim[moving])
    out[moving] = lim[moving] - np.abs(q - lim[moving])
    return out


def make_background(
    kind: str | Sequence[int], size: int, channels: int, rng: np.random.Generator
) -> np.ndarray:
    """A static uint8 [H, W, C] background: a colour, 'plain' (a random colour), 'noise' or 'stripes'.

    'noise' is smooth colour value noise (a 4x4 random grid, bicubic upsampled); 'stripes' are two
    random colours in bands of random angle and period. Colours stay in 48..208 so sprites show.
    """
    if not isinstance(kind, str):
        colour = np.asarray(kind, dtype=np.int64).reshape(-1)
        if colour.size not in (1, channels) or colour.min() < 0 or colour.max() > 255:
            raise DataError(f"background colour {tuple(kind)} must be {channels} values in 0..255")
        return np.broadcast_to(colour.astype(np.uint8), (size, size, channels)).copy()
    if kind == "plain":
        colour = rng.integers(48, 209, channels)
        return np.broadcast_to(colour.astype(np.uint8), (size, size, channels)).copy()
    if kind == "noise":
        grid = rng.uniform(48, 208, (4, 4, channels)).astype(np.float32)
        planes = [
            np.asarray(Image.fromarray(grid[..., c], "F").resize((size, size), Image.Resampling.BICUBIC))
            for c in range(channels)
        ]
        return np.clip(np.rint(np.stack(planes, axis=-1)), 0, 255).astype(np.uint8)
    if kind == "stripes":
        angle = rng.uniform(0, math.pi)
        period = rng.uniform(size / 8, size / 3)
        a, b = rng.integers(48, 209, (2, channels))
        yy, xx = np.mgrid[0:size, 0:size]
        band = (np.mod((xx * math.cos(angle) + yy * math.sin(angle)) / period, 1.0) < 0.5)[..., None]
        return np.where(band, a, b).astype(np.uint8)
    raise DataError(f"unknown background {kind!r}; choose one of: {', '.join(BACKGROUNDS)}, or an RGB colour")


class MovingSprites:
    """Clips of sprites bouncing in a square frame: `len()` sequences of uint8 [T, H, W, C], made on demand.

    Digits (no alpha) are combined by the pixel-wise maximum on black; sprites with alpha are
    drawn over one another, in order, on the background.
    """

    def __init__(
        self,
        sprites: np.ndarray,  # uint8 [N, s, s, C], C in (1, 3): the images to move
        alpha: np.ndarray | None = None,  # uint8 [N, s, s]; None: combine by pixel-wise max on black
        split: str = "train",  # "train" draws from the training pool, "test" from the held-out one
        num_sequences: int | None = None,  # nominal length; default 10,000 train / 1,000 test
        frames: int = 20,  # T, frames per clip (Srivastava et al.: 10 observed + 10 to predict)
        size: int = 64,  # H = W of a frame, in pixels
        num_sprites: int = 2,  # sprites per clip
        speed: float = DEFAULT_SPEED,  # pixels per frame
        seed: int = 0,  # picks sprites, positions, directions and backgrounds of every sequence
        split_seed: int = 0,  # fixes which sprite images are held out for the test split
        held_out: float = HELD_OUT,  # share of the sprite images kept for the test split
        background: str | Sequence[int] = "plain",  # with alpha: plain | noise | stripes | a colour
        name: str = "moving-sprites",
        groups: np.ndarray | None = None,  # one key per sprite: hold out whole groups (emoji skin tones)
    ) -> None:
        sprites = np.asarray(sprites)
        if sprites.dtype != np.uint8 or sprites.ndim != 4 or sprites.shape[3] not in (1, 3):
            raise DataError(
                f"sprites must be uint8 [N, s, s, C] with C 1 or 3, got {sprites.dtype} {sprites.shape}"
            )
        if sprites.shape[1] != sprites.shape[2]:
            raise DataError(f"sprites must be square, got {sprites.shape[1]}x{sprites.shape[2]}")
        if alpha is not None and np.shape(alpha) != sprites.shape[:3]:
            raise DataError(f"alpha must be [N, s, s] = {sprites.shape[:3]}, got {np.shape(alpha)}")
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
        side = sprites.shape[1]
        for label, value, low in (
            ("frames", frames, 1),
            ("size", size, side),
            ("num_sprites", num_sprites, 1),
        ):
            if int(value) != value or value < low:
                raise DataError(f"{label} must be an integer >= {low}, got {value!r}")
        if not (math.isfinite(speed) and speed >= 0):
            raise DataError(f"speed must be a finite number of pixels per frame >= 0, got {speed!r}")
        num_sequences = DEFAULT_SEQUENCES[split] if num_sequences is None else int(num_sequences)
        if num_sequences < 1:
            raise DataError(f"num_sequences must be >= 1, got {num_sequences}")
        if alpha is not None:  # validates the background now, not at the first clip
            make_background(background, 4, sprites.shape[3], np.random.default_rng(0))
        self.sprites = sprites
        self.alpha = None if alpha is None else np.asarray(alpha, dtype=np.uint8)
        self.split = split
        self.num_sequences = num_sequences
        self.frames = int(frames)
        self.size = int(size)
        self.num_sprites = int(num_sprites)
        self.speed = float(speed)
        self.seed = int(seed)
        self.split_seed = int(split_seed)
        self.background = background
        self.pool = split_pools(len(sprites), split_seed, held_out, groups)[split]  # sprite indices this split uses
        self.meta = {
            "name": name,
            "split": split,
            "count": num_sequences,
            "frames": self.frames,
            "observed_frames": self.frames // 2,  # the prediction convention: first half in, second half out
            "resolution": self.size,
            "channels": self.channels,
            "num_sprites": self.num_sprites,
            "sprite_size": side,
            "speed": self.speed,
            "seed": self.seed,
            "split_seed": self.split_seed,
            "held_out": held_out,
            "pool_size": len(self.pool),
            "combine": "max" if self.alpha is None else "alpha over background",
            "background": None
            if self.alpha is None
            else (background if isinstance(background, str) else list(background)),
        }

    # --- the dataset protocol: len, getitem, shape -----------------------------------------------
    def __len__(self) -> int:
        return self.num_sequences

    @property
    def resolution(self) -> int:
        return self.size

    @property
    def channels(self) -> int:
        return int(self.sprites.shape[3])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(T, H, W, C) of every clip."""
        return (self.frames, self.size, self.size, self.channels)

    def __getitem__(self, index: int) -> np.ndarray:
        """Clip `index` as uint8 [T, H, W, C]."""
        return self.render(self.layout(index))

    def clips(self, indices: Sequence[int]) -> np.ndarray:
        """Several clips stacked: uint8 [N, T, H, W, C]."""
        return np.stack([self[int(i)] for i in indices])

    # --- generation -------------------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        i = int(index)
        if i < 0:
            i += self.num_sequences
        if not 0 <= i < self.num_sequences:
            raise IndexError(
                f"sequence {index} is out of range for {self.num_sequences} {self.split} sequences"
            )
        return i

    def layout(self, index: int) -> dict:
        """What clip `index` shows: sprite ids [K], integer top-left (y, x) positions [T, K, 2], background.

        Every draw comes from one generator seeded by (seed, split, index), in a fixed order.
        """
        i = self._check_index(index)
        rng = np.random.default_rng([self.seed, _SPLIT_CODE[self.split], i])
        k = self.num_sprites
        ids = self.pool[rng.integers(0, len(self.pool), k)]
        limit = float(self.size - self.sprites.shape[1])
        start = rng.uniform(0.0, limit, (k, 2))
        theta = rng.uniform(0.0, 2.0 * math.pi, k)
        velocity = self.speed * np.stack([np.sin(theta), np.cos(theta)], axis=1)  # [K, 2] (dy, dx)
        positions = np.rint(bounce(start, velocity, self.frames, np.array(limit))).astype(np.int64)
        background = None
        if self.alpha is not None:
            background = make_background(self.background, self.size, self.channels, rng)
        return {"ids": ids, "positions": positions, "background": background}

    def render(self, layout: dict) -> np.ndarray:
        """Draw a layout: uint8 [T, H, W, C]."""
        t, h, w, c = self.shape
        s = self.sprites.shape[1]
        ids, pos = layout["ids"], layout["positions"]
        if self.alpha is None:
            out = np.zeros((t, h, w, c), dtype=np.uint8)
            for f in range(t):
                for k, sid in enumerate(ids):
                    y, x = pos[f, k]
                    view = out[f, y : y + s, x : x + s]
                    np.maximum(view, self.sprites[sid], out=view)
            return out
        out = np.repeat(layout["background"][None].astype(np.float32), t, axis=0)
        sprites = self.sprites[ids].astype(np.float32)  # [K, s, s, C]
        alphas = self.alpha[ids].astype(np.float32)[..., None] / 255.0  # [K, s, s, 1]
        for f in range(t):
            for k in range(len(ids)):
                y, x = pos[f, k]
                view = out[f, y : y + s, x : x + s]
                view += alphas[k] * (sprites[k] - view)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def __repr__(self) -> str:
        t, h, w, c = self.shape
        return f"MovingSprites({self.meta['name']!r}, split={self.split!r}, n={len(self)}, clip=[{t}, {h}, {w}, {c}])"


def moving_mnist(
    split: str = "train",  # "train" or "test" (held-out digits)
    num_sequences: int | None = None,  # default 10,000 train / 1,000 test
    frames: int = 20,  # 10 observed + 10 to predict
    size: int = 64,  # frame side in pixels
    num_digits: int = 2,
    speed: float = DEFAULT_SPEED,  # pixels per frame
    seed: int = 0,
    split_seed: int = 0,
    digits: np.ndarray | None = None,  # uint8 [N, 28, 28, 1]; default the built-in `mnist` (10,000 digits)
) -> MovingSprites:
    """Moving MNIST: `num_digits` MNIST digits bouncing in a size x size frame, combined by pixel-wise max."""
    if digits is None:
        from ganforge.data.builtin import get_builtin

        digits = get_builtin("mnist").load_native().images
    return MovingSprites(
        digits,
        None,
        split=split,
        num_sequences=num_sequences,
        frames=frames,
        size=size,
        num_sprites=num_digits,
        speed=speed,
        seed=seed,
        split_seed=split_seed,
        name="moving-mnist",
    )


def emoji_sprite_size(size: int) -> int:
    """moving-emoji's default sprite side for `size` px frames: 32 px in frames larger than that (as always), half
    the frame in smaller ones, where 32 px sprites could not move (32 px clips train a video GAN 12x faster)."""
    return EMOJI_SPRITE_SIZE if size > EMOJI_SPRITE_SIZE else max(MIN_SPRITE_SIZE, size // 2)


def moving_sprite_size(name: str, size: int) -> int:
    """The sprite side the moving dataset `name` draws in `size` px frames (checked before any clip is drawn)."""
    return MNIST_DIGIT_SIZE if _known_moving(name)[0] == "moving-mnist" else emoji_sprite_size(size)


def moving_emoji(
    split: str = "train",  # "train" or "test" (held-out emoji)
    num_sequences: int | None = None,  # default 10,000 train / 1,000 test
    frames: int = 20,
    size: int = 64,  # frame side in pixels
    sprite_size: int | None = None,  # emoji side in pixels; None: emoji_sprite_size(size) (32 from 64 px frames up)
    num_sprites: int = 2,
    speed: float | None = None,  # pixels per frame; None: DEFAULT_SPEED, slowed in step when the built-in sprites
    #                              shrink with small frames (sprite_size and sprites left as None)
    background: str | Sequence[int] = "noise",  # plain | noise | stripes | an RGB colour
    seed: int = 0,
    split_seed: int = 0,
    variant: str | None = None,  # built-in emoji style: google (default) or twitter
    sprites: np.ndarray | None = None,  # uint8 [N, s, s, 3] instead of the built-in emoji
    alpha: np.ndarray | None = None,  # uint8 [N, s, s]; None: the stored alpha, else a white threshold
    white_threshold: int = WHITE_THRESHOLD,  # see white_alpha
) -> MovingSprites:
    """Moving emoji: colour emoji sprites bouncing over a static plain or textured background.

    The built-in emoji are stored composited onto white with their alpha channel kept beside
    them; that alpha cuts the sprites out. Sprites given without alpha (or a dataset without it)
    are cut out by `white_alpha`: pixels whose channels are all >= `white_threshold` become
    transparent, which loses soft edges and white inside the sprite but needs nothing else.
    """
    name, groups = "moving-emoji", None
    shrunk = sprite_size is None and sprites is None  # the built-in sprites at the frame's default size
    if sprite_size is None:
        sprite_size = emoji_sprite_size(size)
    if speed is None:
        speed = DEFAULT_SPEED * (sprite_size / EMOJI_SPRITE_SIZE if shrunk else 1.0)
    if sprites is None:
        from ganforge.data.builtin import get_builtin

        emoji = get_builtin("emoji")
        variant = emoji.check_variant(variant)
        ds = emoji.at_resolution(sprite_size, variant)
        sprites, alpha = ds.images, (ds.alpha if alpha is None else alpha)
        from ganforge.data.split import group_keys

        groups = group_keys(ds, "emoji")  # skin-tone variants stay on one side of the split
        name = "moving-emoji" if variant == emoji.default_variant else f"moving-emoji-{variant}"
    sprites = np.asarray(sprites)
    if alpha is None:
        alpha = white_alpha(sprites, white_threshold)
    return MovingSprites(
        sprites,
        alpha,
        split=split,
        num_sequences=num_sequences,
        frames=frames,
        size=size,
        num_sprites=num_sprites,
        speed=speed,
        seed=seed,
        split_seed=split_seed,
        background=background,
        name=name,
        groups=groups,
    )


# name -> maker; `moving-emoji:twitter` / `moving-emoji-twitter` pass variant="twitter".
MOVING = {"moving-mnist": moving_mnist, "moving-emoji": moving_emoji}
MOVING_VARIANTS = {"moving-emoji": ("google", "twitter")}


def parse_moving(name: str) -> tuple[str, str | None] | None:
    """(moving dataset name, variant) for 'moving-mnist', 'moving-emoji:twitter', 'moving-emoji-twitter'; else None."""
    text = name.strip().lower()
    if text in MOVING:
        return text, None
    for base, variants in MOVING_VARIANTS.items():
        for v in variants:
            if text in (f"{base}:{v}", f"{base}-{v}"):
                return base, v
    return None


def _known_moving(name: str) -> tuple[str, str | None]:
    """parse_moving's (name, variant), or a DataError naming the moving datasets there are."""
    hit = parse_moving(name)
    if hit is None:
        raise DataError(f"unknown moving dataset {name!r}; choose one of: {', '.join(MOVING)}")
    return hit


def make_moving(name: str, **options) -> MovingSprites:
    """The moving dataset `name` (see parse_moving) with the maker's keyword options."""
    base, variant = _known_moving(name)
    if variant is not None:
        options["variant"] = variant
    maker = MOVING[base]
    accepted = inspect.signature(maker).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(f"{base} takes no option {unknown[0]!r}; it takes: {', '.join(accepted)}")
    return maker(**options)
