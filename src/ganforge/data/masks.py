"""Hole masks for inpainting and outpainting: generators, PNG files and fixed test sets.

Convention: a mask is a bool array [H, W] (or a batch [N, H, W]); True marks a hole, the pixels
the model must fill. On disk a mask is a PNG where white (luma > 127) means fill.

Every generator takes a `numpy.random.Generator` (or an int seed) and a size (H, W) and draws
only from that generator, so the same seed gives the same masks. Rasterisation is plain numpy
arithmetic on pixel centres (no Pillow line drawing, no numpy transcendental ufuncs, whose SIMD
paths differ between CPUs), so `fixed_test_masks` is identical on every platform for a given
numpy version; the test suite pins a checksum to notice if that ever changes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganforge.errors import ConfigError, DataError

Size = tuple[int, int]  # (H, W)
RngLike = Union[np.random.Generator, int]
MaskKind = Literal["mixed", "brush", "rect", "blob", "outpaint"]

MASK_KINDS: tuple[str, ...] = ("mixed", "brush", "rect", "blob", "outpaint")
# How often "mixed" picks each kind: brush strokes dominate, as in DeepFill v2 / LaMa training;
# outpaint bands stay rare so a mixed inpainting set is mostly interior holes.
MIXTURE: tuple[tuple[str, float], ...] = (("brush", 0.4), ("rect", 0.2), ("blob", 0.3), ("outpaint", 0.1))

# Hole-area buckets for evaluation, as fractions of the image: lo <= area < hi.
BUCKETS: tuple[tuple[float, float], ...] = ((0.0, 0.1), (0.1, 0.2), (0.2, 0.4), (0.4, 0.6))

# DeepFill v2 free-form strokes (Yu et al. 2019, "Free-Form Image Inpainting with Gated
# Convolution", mask generation of Sec. 3.3 as released in generative_inpainting's
# `brush_stroke_mask`), whose widths are in pixels at 256 x 256 and scaled here to the image.
BRUSH_STROKES = (1, 3)  # strokes per mask, inclusive
BRUSH_VERTICES = (4, 11)  # segments per stroke, inclusive
BRUSH_MEAN_ANGLE = 2 * math.pi / 5  # segment direction, alternately +/- about the x axis
BRUSH_ANGLE_RANGE = 2 * math.pi / 15  # per-stroke spread of that direction
BRUSH_WIDTH_256 = (12.0, 40.0)  # brush diameter in pixels at 256 px
BRUSH_REFERENCE = 256  # the size those widths are quoted for
# Segment length ~ Normal(r, r/2) clipped to [0, 2r] with r = sqrt(H^2 + W^2) / 8 (already relative).

MIN_SIDE = 4


def as_rng(rng: RngLike) -> np.random.Generator:
    """A Generator from a Generator or an int seed (a seed gives a fresh, reproducible stream)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ConfigError(
        f"rng {rng!r} is neither a numpy.random.Generator nor a non-negative int seed; "
        "pass np.random.default_rng(seed) or the seed itself"
    )


def check_size(size: int | tuple[int, int]) -> Size:
    """(H, W) from an int (square) or a pair, each an int >= 4, else ConfigError."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    ok = len(pair) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= MIN_SIDE for v in pair
    )
    if not ok:
        raise ConfigError(
            f"mask size {size!r} is not valid; give (height, width) as integers of at least {MIN_SIDE}"
        )
    return int(pair[0]), int(pair[1])


def mask_area(mask: np.ndarray) -> float:
    """Fraction of pixels that are holes (over the whole batch for [N, H, W])."""
    m = np.asarray(mask)
    if m.size == 0:
        raise DataError(f"mask of shape {m.shape} is empty; a mask needs at least one pixel")
    return float(np.count_nonzero(m)) / m.size


def mask_areas(masks: np.ndarray) -> np.ndarray:
    """Per-mask hole fraction of a batch [N, H, W] -> float64 [N]."""
    m = np.asarray(masks)
    if m.ndim != 3:
        raise DataError(f"expected a batch of masks [N, H, W], got shape {m.shape}")
    return np.count_nonzero(m.reshape(len(m), -1), axis=1) / float(m.shape[1] * m.shape[2])


def bucket_of(area: float) -> int | None:
    """Index into BUCKETS of a hole fraction (lo <= area < hi), None when none holds it or area is 0."""
    if area <= 0:
        return None
    for i, (lo, hi) in enumerate(BUCKETS):
        if lo <= area < hi:
            return i
    return None


# --- files -------------------------------------------------------------------------------------


def _luma(im: Image.Image) -> np.ndarray:
    """8-bit luma [H, W]; transparent pixels count as black (keep), so strokes painted on a
    transparent layer are the holes whatever colour the empty layer stores."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return np.clip(np.floor(arr / top * 255.0 + 0.5), 0, 255).astype(np.uint8)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint16)
        luma = np.asarray(im.convert("RGB").convert("L"), dtype=np.uint16)
        return ((luma * rgba[..., 3] + 127) // 255).astype(np.uint8)
    return np.asarray(im.convert("L"), dtype=np.uint8)


def load_mask(path: str | Path, expected_size: Size | None = None) -> np.ndarray:
    """Read a mask PNG (white = fill) as bool [H, W]; DataError if unreadable or not expected_size (H, W)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            luma = _luma(im)
    except FileNotFoundError:
        raise DataError(f"mask file {path} does not exist; check the path") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"cannot read mask {path} as an image ({e}); save the mask as a PNG") from None
    mask = luma > 127
    if expected_size is not None:
        h, w = (int(v) for v in expected_size)
        if mask.shape != (h, w):
            raise DataError(
                f"mask {path} is {mask.shape[1]}x{mask.shape[0]} (width x height) but the image is "
                f"{w}x{h}; draw the mask at the image's size (white = fill, black = keep)"
            )
    return mask


def save_mask(mask: np.ndarray, path: str | Path) -> Path:
    """Write a bool [H, W] mask as an 8-bit grayscale PNG, 255 = fill, 0 = keep."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise DataError(
            f"save_mask takes one mask [H, W], got shape {m.shape}; save a batch one mask at a time"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.where(m.astype(bool), 255, 0).astype(np.uint8), "L").save(path, format="PNG")
    return path


# --- generators --------------------------------------------------------------------------------


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ys [H, 1], xs [1, W] as float64."""
    return np.arange(h, dtype=np.float64)[:, None], np.arange(w, dtype=np.float64)[None, :]


def _paint_polyline(mask: np.ndarray, pts: list[tuple[float, float]], radius: float) -> None:
    """Set every pixel whose centre lies within `radius` of the polyline: segments with round
    joints and round caps (a union of capsules), drawn only inside the stroke's bounding box."""
    h, w = mask.shape
    xs_all = [p[0] for p in pts]
    ys_all = [p[1] for p in pts]
    x0, x1 = max(0, math.floor(min(xs_all) - radius)), min(w - 1, math.ceil(max(xs_all) + radius))
    y0, y1 = max(0, math.floor(min(ys_all) - radius)), min(h - 1, math.ceil(max(ys_all) + radius))
    ys = np.arange(y0, y1 + 1, dtype=np.float64)[:, None]
    xs = np.arange(x0, x1 + 1, dtype=np.float64)[None, :]
    r2 = radius * radius
    hit = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=bool)
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        qx, qy = xs - ax, ys - ay
        dd = dx * dx + dy * dy
        t = np.clip((qx * dx + qy * dy) / dd, 0.0, 1.0) if dd > 0 else 0.0
        ex, ey = qx - t * dx, qy - t * dy
        hit |= ex * ex + ey * ey <= r2
    mask[y0 : y1 + 1, x0 : x1 + 1] |= hit


def brush_mask(
    size: int | tuple[int, int],
    rng: RngLike,
    *,
    strokes: tuple[int, int] = BRUSH_STROKES,  # inclusive range of strokes per mask
    vertices: tuple[int, int] = BRUSH_VERTICES,  # inclusive range of segments per stroke
    width_256: tuple[float, float] = BRUSH_WIDTH_256,  # brush diameter range at 256 px, scaled to size
) -> np.ndarray:
    """Free-form brush strokes (DeepFill v2 protocol): zig-zag polylines with round joints.

    Each stroke starts at a random pixel; its segments alternate between directions of +a and
    2*pi - a (a drawn per segment from the stroke's [mean - U(0, range), mean + U(0, range)]),
    have lengths ~ N(r, r/2) clipped to [0, 2r] with r = diag / 8, vertices clipped to the
    image, and one brush width per stroke. The whole mask is then flipped left-right and
    top-bottom with probability 1/2 each (the released code meant to; its flips were no-ops).
    """
    h, w = check_size(size)
    g = as_rng(rng)
    scale = math.sqrt(h * w) / BRUSH_REFERENCE
    avg_r = math.sqrt(h * h + w * w) / 8
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(g.integers(strokes[0], strokes[1] + 1))):
        n = int(g.integers(vertices[0], vertices[1] + 1))
        lo = BRUSH_MEAN_ANGLE - float(g.uniform(0, BRUSH_ANGLE_RANGE))
        hi = BRUSH_MEAN_ANGLE + float(g.uniform(0, BRUSH_ANGLE_RANGE))
        angles = g.uniform(lo, hi, size=n)
        lengths = np.clip(g.normal(avg_r, avg_r / 2, size=n), 0.0, 2 * avg_r)
        x, y = float(g.integers(0, w)), float(g.integers(0, h))
        pts = [(x, y)]
        for i in range(n):
            a = float(angles[i])
            if i % 2 == 0:
                a = 2 * math.pi - a
            ln = float(lengths[i])
            x = float(min(max(math.floor(x + ln * math.cos(a)), 0), w - 1))
            y = float(min(max(math.floor(y + ln * math.sin(a)), 0), h - 1))
            pts.append((x, y))
        width = max(1.0, float(g.uniform(width_256[0], width_256[1])) * scale)
        _paint_polyline(mask, pts, width / 2)
    if g.random() < 0.5:
        mask = mask[:, ::-1]
    if g.random() < 0.5:
        mask = mask[::-1, :]
    return np.ascontiguousarray(mask)


def rect_mask(
    size: int | tuple[int, int],
    rng: RngLike,
    *,
    count: tuple[int, int] = (1, 3),  # inclusive range of rectangles
    side: tuple[float, float] = (0.15, 0.6),  # each side as a fraction of the image's side
) -> np.ndarray:
    """One or several axis-aligned rectangles of random size, anywhere inside the image."""
    h, w = check_size(size)
    g = as_rng(rng)
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(g.integers(count[0], count[1] + 1))):
        rh = max(1, round(float(g.uniform(*side)) * h))
        rw = max(1, round(float(g.uniform(*side)) * w))
        top = int(g.integers(0, h - rh + 1))
        left = int(g.integers(0, w - rw + 1))
        mask[top : top + rh, left : left + rw] = True
    return mask


def blob_mask(
    size: int | tuple[int, int],
    rng: RngLike,
    *,
    area: tuple[float, float] = (0.04, 0.5),  # target object area as a fraction of the image
    ellipses: tuple[int, int] = (2, 5),  # inclusive range of overlapping ellipses per object
) -> np.ndarray:
    """One object-sized smooth shape: a cluster of overlapping rotated ellipses around a centre,
    sized so the object covers about `area` of the image (less where it leaves the frame)."""
    h, w = check_size(size)
    g = as_rng(rng)
    radius = math.sqrt(float(g.uniform(*area)) * h * w / math.pi)  # disc of the target area
    cy, cx = float(g.uniform(0.2, 0.8)) * (h - 1), float(g.uniform(0.2, 0.8)) * (w - 1)
    ys, xs = _grid(h, w)
    mask = np.zeros((h, w), dtype=bool)
    k = int(g.integers(ellipses[0], ellipses[1] + 1))
    for j in range(k):
        # the first ellipse sits on the centre so the object is one piece around it
        oy, ox = (0.0, 0.0) if j == 0 else (float(v) for v in g.normal(0.0, 0.35 * radius, size=2))
        a = radius * float(g.uniform(0.55, 1.0))
        b = radius * float(g.uniform(0.55, 1.0))
        t = float(g.uniform(0, math.pi))
        c, s = math.cos(t), math.sin(t)
        dy, dx = ys - (cy + oy), xs - (cx + ox)
        u, v = (dx * c + dy * s) / a, (dy * c - dx * s) / b
        mask |= u * u + v * v <= 1.0
    if not mask.any():  # a sub-pixel object on a tiny image: keep its centre pixel
        mask[round(cy), round(cx)] = True
    return mask


def _check_borders(borders: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    vals = tuple(borders) if not isinstance(borders, (str, bytes)) else ()
    if len(vals) != 4 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in vals
    ):
        raise ConfigError(
            f"outpaint borders {borders!r} are not valid; give four non-negative pixel counts "
            "(left, top, right, bottom), e.g. 32,0,32,0"
        )
    if not any(vals):
        raise ConfigError(
            "outpaint borders are all 0, so there is nothing to extend; give at least one positive side"
        )
    left, top, right, bottom = (int(v) for v in vals)
    return left, top, right, bottom


def outpaint_mask(size: int | tuple[int, int], borders: tuple[int, int, int, int]) -> tuple[Size, np.ndarray]:
    """Extend an (H, W) image by (left, top, right, bottom) pixels: the canvas (H', W') and a
    mask [H', W'] that is True exactly on the new border and False over the original image."""
    h, w = check_size(size)
    left, top, right, bottom = _check_borders(borders)
    canvas = (h + top + bottom, w + left + right)
    mask = np.ones(canvas, dtype=bool)
    mask[top : top + h, left : left + w] = False
    return canvas, mask


def random_outpaint_mask(
    size: int | tuple[int, int],
    rng: RngLike,
    *,
    extent: tuple[float, float] = (0.1, 0.3),  # each chosen side's band as a fraction of that dimension
) -> np.ndarray:
    """A training mask [H, W] for outpainting: bands along a random non-empty set of sides
    (each side with probability 1/2), each band a random fraction of the image."""
    h, w = check_size(size)
    g = as_rng(rng)
    sides = g.random(4) < 0.5  # left, top, right, bottom
    if not sides.any():
        sides[int(g.integers(0, 4))] = True
    fracs = g.uniform(extent[0], extent[1], size=4)
    left, top, right, bottom = (
        max(1, round(float(f) * d)) if on else 0 for on, f, d in zip(sides, fracs, (w, h, w, h))
    )
    mask = np.zeros((h, w), dtype=bool)
    mask[:, :left] = True
    mask[:top, :] = True
    if right:
        mask[:, w - right :] = True
    if bottom:
        mask[h - bottom :, :] = True
    return mask


_GENERATORS = {"brush": brush_mask, "rect": rect_mask, "blob": blob_mask, "outpaint": random_outpaint_mask}


def sample_mask(kind: MaskKind, size: int | tuple[int, int], rng: RngLike) -> np.ndarray:
    """One bool [H, W] mask of `kind`; "mixed" picks a kind by MIXTURE's weights. Never empty or full."""
    if kind not in MASK_KINDS:
        raise ConfigError(f"mask kind {kind!r} is unknown; choose one of {', '.join(MASK_KINDS)}")
    hw = check_size(size)
    g = as_rng(rng)
    for _ in range(100):
        k = kind
        if kind == "mixed":
            u, k = float(g.random()), MIXTURE[-1][0]
            acc = 0.0
            for name, weight in MIXTURE:
                acc += weight
                if u < acc:
                    k = name
                    break
        mask = _GENERATORS[k](hw, g)
        n = int(np.count_nonzero(mask))
        if 0 < n < mask.size:
            return mask
    raise DataError(f"could not draw a non-empty, non-full {kind} mask at {hw[0]}x{hw[1]} in 100 tries")


def sample_masks(n: int, kind: MaskKind, size: int | tuple[int, int], rng: RngLike) -> np.ndarray:
    """A batch bool [N, H, W] of masks drawn one after another from the same generator."""
    g = as_rng(rng)
    hw = check_size(size)
    out = np.empty((int(n), *hw), dtype=bool)
    for i in range(int(n)):
        out[i] = sample_mask(kind, hw, g)
    return out


def fixed_test_masks(
    size: int | tuple[int, int],
    per_bucket: int,
    seed: int = 0,
    max_tries: int | None = None,  # default: 200 draws per mask asked for
) -> dict[tuple[float, float], np.ndarray]:
    """The evaluation masks: for each of BUCKETS, bool [per_bucket, H, W] whose hole areas lie in
    that bucket, drawn from the "mixed" sampler with `seed` and dealt to the bucket they fall in.

    The draw sequence does not depend on per_bucket, so a smaller set is a prefix of a larger
    one, and the same (size, per_bucket, seed) gives the same masks on every call.
    """
    hw = check_size(size)
    if isinstance(per_bucket, bool) or not isinstance(per_bucket, (int, np.integer)) or per_bucket < 1:
        raise ConfigError(f"per_bucket {per_bucket!r} must be a positive integer (masks per area bucket)")
    tries = 200 * per_bucket * len(BUCKETS) if max_tries is None else int(max_tries)
    g = as_rng(seed)
    found: list[list[np.ndarray]] = [[] for _ in BUCKETS]
    missing = len(BUCKETS)
    for _ in range(tries):
        mask = sample_mask("mixed", hw, g)
        b = bucket_of(mask_area(mask))
        if b is not None and len(found[b]) < per_bucket:
            found[b].append(mask)
            if len(found[b]) == per_bucket:
                missing -= 1
                if missing == 0:
                    break
    if missing:
        short = ", ".join(
            f"{lo:.0%}-{hi:.0%}: {len(f)} of {per_bucket}"
            for (lo, hi), f in zip(BUCKETS, found)
            if len(f) < per_bucket
        )
        raise ConfigError(
            f"could not fill every hole-area bucket at {hw[0]}x{hw[1]} within {tries} draws ({short}); "
            "use a larger mask size, fewer masks per bucket or a larger max_tries"
        )
    return {bucket: np.stack(f) for bucket, f in zip(BUCKETS, found)}
