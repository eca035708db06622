"""Image helpers shared by data, training and pipelines: tensor <-> uint8, grids, GIF/MP4 writing."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.errors import GanforgeError


def grid_shape(n: int, h: int, w: int, c: int, nrow: int | None = None, pad: int = 2) -> tuple[int, int, int]:
    """[H', W', C] of the grid `make_grid` builds from n images of h x w: known before any image exists."""
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    return pad + math.ceil(n / nrow) * (h + pad), pad + nrow * (w + pad), c


def paste_into_grid(grid: np.ndarray, images: np.ndarray, first: int, nrow: int, pad: int = 2) -> None:
    """Put images [k, H, W, C], the grid's images first..first+k-1, in place: a grid fills batch by batch."""
    _, h, w, _ = images.shape
    for i, image in enumerate(images, start=first):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = image


def make_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 images [N, H, W, C] into one [H', W', C] image with white padding."""
    if images.ndim != 4:
        raise ValueError(f"make_grid expects [N, H, W, C], got shape {images.shape}")
    n, h, w, c = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    grid = np.full(grid_shape(n, h, w, c, nrow, pad), 255, dtype=np.uint8)
    paste_into_grid(grid, images, 0, nrow, pad)
    return grid


def to_pil(array: np.ndarray) -> Image.Image:
    """A uint8 [H, W, C] (C = 1 or 3) or [H, W] array as a PIL image."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(array))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@contextmanager
def written_in_place(path: Path) -> Iterator[Path]:
    """A temp file beside `path`, renamed onto it when the block succeeds and removed when it fails, so a
    crash or an error never leaves half a file (or a stray temp) behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def mark_options(suffix: str) -> dict[str, object]:
    """Pillow save options that mark a file as written by ganforge (see `outputs.file_is_ours`)."""
    from ganforge.outputs import EXIF_SOFTWARE, SOFTWARE

    if suffix == ".gif":
        return {"comment": SOFTWARE}
    if suffix in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        exif = Image.Exif()
        exif[EXIF_SOFTWARE] = SOFTWARE
        return {"exif": exif}
    return {}


def save_image(array: np.ndarray, path: str | Path) -> Path:
    """Save a uint8 [H, W, C] array, creating the parent folder; marked as ours and written atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise GanforgeError(f"cannot write an image to {path}: use one of {', '.join(IMAGE_SUFFIXES)}")
    with written_in_place(path) as tmp:
        to_pil(array).save(tmp, format=Image.registered_extensions()[suffix], **mark_options(suffix))
    return path


def to_signed(pixels: torch.Tensor) -> torch.Tensor:
    """Stored uint8 pixels (any layout) -> float in [-1, 1], the range every network works in."""
    return pixels.float() / 127.5 - 1


def to_unsigned(x: torch.Tensor) -> torch.Tensor:
    """Float pixels in [-1, 1] (any layout) -> rounded uint8: the inverse of `to_signed`, clamping the rest."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def tensor_to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], [N, C, H, W] -> uint8 [N, H, W, C]."""
    assert images.ndim == 4, images.shape  # [N, C, H, W]
    return to_unsigned(images).permute(0, 2, 3, 1).cpu().numpy()


def uint8_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, C] -> float [N, C, H, W] in [-1, 1], the training range."""
    array = np.ascontiguousarray(images)
    if not array.flags.writeable:  # read-only inputs (decoded files, broadcasts): torch wants its own copy
        array = array.copy()
    return to_signed(torch.from_numpy(array).permute(0, 3, 1, 2))


def save_animation(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path, fps: int = 20) -> Path:
    """Write uint8 frames [H, W, C] (a list, or one [T, H, W, C] array) as a GIF (Pillow) or an MP4/WebM
    (needs the `video` extra).

    Greyscale frames (C = 1) are written to GIF as greyscale, so they read back exactly; colour
    frames get a palette of their own and read back approximately. Pillow merges identical
    consecutive frames into one that lasts longer; `ganforge.data.video.read_video` expands them
    again from the frame durations.
    """
    frames = [np.asarray(f) for f in frames]
    if not frames:
        raise GanforgeError(f"no frames to write to {path}")
    shapes = {f.shape for f in frames}
    if (
        len(shapes) != 1
        or frames[0].dtype != np.uint8
        or frames[0].ndim != 3
        or frames[0].shape[2] not in (1, 3)
    ):
        raise GanforgeError(
            f"frames must be uint8 [H, W, C] of one shape with C 1 or 3; got {frames[0].dtype} {sorted(shapes)}"
        )
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        pil = [to_pil(f) for f in frames]  # L for greyscale, RGB for colour
        with written_in_place(path) as tmp:
            pil[0].save(tmp, format="GIF", save_all=True, append_images=pil[1:], duration=max(1, round(1000 / fps)),
                        loop=0, **mark_options(suffix))
        return path
    if suffix in (".mp4", ".webm"):
        try:
            import av  # noqa: F401  (imageio writes MP4/WebM through PyAV)
            import imageio.v3 as iio
        except ImportError as exc:
            raise GanforgeError(
                f"writing {suffix} needs the video extra: pip install 'ganforge[video]' (or write a .gif)"
            ) from exc
        rgb = [f if f.shape[2] == 3 else np.repeat(f, 3, axis=2) for f in frames]
        # H.264 wants even sizes; pad by one white pixel where needed.
        h, w = rgb[0].shape[:2]
        ph, pw = h % 2, w % 2
        if ph or pw:
            rgb = [np.pad(f, ((0, ph), (0, pw), (0, 0)), constant_values=255) for f in rgb]
        with written_in_place(path) as tmp:
            iio.imwrite(tmp, np.stack(rgb), plugin="pyav", fps=fps, codec="libx264" if suffix == ".mp4" else "libvpx-vp9")
        return path
    raise GanforgeError(f"unsupported animation format {suffix!r} for {path}: use .gif or .mp4")
