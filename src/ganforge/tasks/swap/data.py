"""What the swap task trains on: aligned face crops with a fourth channel, the face's visible share (the blend mask
a swap model learns), from the emoji faces (`swap.crops`) or from folders of crops.

- faceclips, autoencoder: `samples / 2` crops of each of the two faces `--pair` names ("A", "B", as faceswap's two
  folders); simswap: `samples` crops of the training split's faces ("A"), each with its exact swap to another
  training face, the two faces packed in one label (the crop's own face x 256 + the other face). Beside each crop
  array X: X_clean, the same frame drawn at the crop's resolution (what a model is taught to redraw), and X_swap,
  the same frame with the other face, drawn so (the exact swap), from `swap.crops.face_crops(sharp=True)`.
- a folder with A/ and B/ (autoencoder): its crops as they are, which are also the targets; no mask is known, so the
  mask channel is a soft ellipse inside the crop, faceswap's default mask.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ganforge.config import TrainConfig
from ganforge.errors import ConfigError
from ganforge.tasks.base import DataInfo, TrainData

FACECLIPS = "faceclips"
LABEL_BASE = 256  # label = the crop's own face x LABEL_BASE + the face its exact swap shows
CLEAN, SWAP = "_clean", "_swap"  # suffixes of a crop array's targets (the module doc)


def face_names(style: str = "google") -> tuple[str, ...]:
    from ganforge.data.builtin.faceclips import FACE_PREFIX, emoji_sprites

    return emoji_sprites(FACE_PREFIX, style).names


def face_index(text: str | int, names: tuple[str, ...]) -> int:
    """A face by its index or emoji name (case and spaces as given); a one-line error naming a close one when not."""
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        k = int(text)
        if not 0 <= k < len(names):
            raise ConfigError(f"face {k} is outside 0..{len(names) - 1}")
        return k
    lowered = [n.lower() for n in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    import difflib

    close = difflib.get_close_matches(text.lower(), lowered, n=1)
    hint = f" (did you mean {names[lowered.index(close[0])]!r}?)" if close else ""
    raise ConfigError(f"no face emoji named {text!r}{hint}; `ganforge swap --list-faces` lists them")


def parse_pair(text: str | None, names: tuple[str, ...]) -> tuple[int, int]:
    if not text:
        raise ConfigError("the autoencoder swaps between two faces: give --pair A,B (indices or emoji names)")
    parts = [p for p in str(text).split(",") if p.strip()]
    if len(parts) != 2:
        raise ConfigError(f"--pair takes two faces separated by a comma, got {text!r}")
    a, b = (face_index(p, names) for p in parts)
    if a == b:
        raise ConfigError(f"--pair names the same face twice ({names[a]!r})")
    return a, b


def ellipse_mask(side: int) -> np.ndarray:
    """uint8 [side, side, 1]: a soft ellipse filling the crop, faceswap's mask where none is known."""
    y, x = np.mgrid[:side, :side]
    r = np.hypot((y + 0.5) / side * 2 - 1, (x + 0.5) / side * 2 - 1)
    return (np.clip((1.0 - r) / 0.15, 0, 1) * 255).round().astype(np.uint8)[..., None]


def with_ellipse(images: np.ndarray) -> np.ndarray:
    """uint8 [N, S, S, 3] crops -> [N, S, S, 4] with `ellipse_mask` as the fourth channel."""
    mask = np.broadcast_to(ellipse_mask(images.shape[1]), (*images.shape[:3], 1))
    return np.concatenate([images[..., :3], mask], axis=-1)


def swap_training_data(config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
    """The task's training arrays, uint8 [N, S, S, 4]: "A" (and the autoencoder's "B"), each with its "_clean" and
    "_swap" targets on faceclips (see the module doc)."""
    from ganforge.data.builtin.faceclips import face_pools
    from ganforge.swap.crops import face_crops

    side = config.resolution
    if str(config.data) != FACECLIPS:
        if config.model != "autoencoder":
            raise ConfigError("simswap trains on the emoji faces (--data faceclips), which draw every swap's exact "
                              "answer; a folder of A/ and B/ crops trains --model autoencoder")
        from ganforge.data.unpaired import resolve_unpaired

        domains = resolve_unpaired(config.data, side, split="train", strict=config.strict, progress=progress)
        arrays = {"A": with_ellipse(domains.a), "B": with_ellipse(domains.b)}
        info = DataInfo(name=domains.name, resolution=side, channels=3, count=max(len(domains.a), len(domains.b)),
                        class_names=["A", "B"], counts={k: len(v) for k, v in arrays.items()})
        return TrainData(arrays=arrays, info=info, paired=False)
    names = face_names(config.style)
    common = dict(crop=side, style=config.style, occluded=config.occluded)
    if config.model == "autoencoder":
        a, b = parse_pair(config.pair, names)
        half = config.samples // 2
        arrays = {}
        for i, (key, face, other) in enumerate((("A", a, b), ("B", b, a))):
            drawn = face_crops(np.full(half, face), config.seed * 2 + i, others=np.full(half, other), sharp=True,
                               progress=progress, **common)
            arrays.update(targets(key, drawn))
        info = DataInfo(name=FACECLIPS, resolution=side, channels=3, count=half, class_names=[names[a], names[b]],
                        counts={"A": half, "B": half})
        return TrainData(arrays=arrays, info=info, paired=True)  # as many of each: one order serves both
    pool = np.asarray(face_pools()["train"])  # the face clips' held-out faces are never seen
    rng = np.random.default_rng([config.seed, 0x51])
    position = rng.integers(0, len(pool), config.samples)
    faces = pool[position]
    others = pool[(position + rng.integers(1, len(pool), config.samples)) % len(pool)]  # never the target itself
    drawn = face_crops(faces, config.seed, others=others, sharp=True, progress=progress, **common)
    info = DataInfo(name=FACECLIPS, resolution=side, channels=3, count=config.samples, class_names=list(names),
                    counts={"A": config.samples})
    return TrainData(arrays=targets("A", drawn), info=info, labels=faces.astype(np.int64) * LABEL_BASE + others,
                     paired=True)


def targets(key: str, drawn: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`face_crops(sharp=True)`'s arrays under the names the task reads: the crops as `key`, their targets beside."""
    return {key: drawn["crops"], key + CLEAN: drawn["sharp"], key + SWAP: drawn["sharp_truths"]}
