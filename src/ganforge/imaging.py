"""Image helpers shared by data, training and pipelines: tensor <-> uint8, grids, streamed PNG and GIF/MP4 writing."""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType

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


def mark_options(suffix: str, metadata: dict[str, object] | None = None) -> dict[str, object]:
    """Pillow save options that mark a file as written by ganforge (see `outputs.file_is_ours`), and hold
    `metadata` (what the output says about itself, `provenance.metadata`) where given and the format can."""
    from ganforge.outputs import EXIF_SOFTWARE, SOFTWARE

    if suffix == ".gif":
        from ganforge.provenance.metadata import gif_comment

        return {"comment": gif_comment(metadata)}
    if suffix in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        exif = Image.Exif()
        exif[EXIF_SOFTWARE] = SOFTWARE
        options: dict[str, object] = {"exif": exif}
        if metadata is not None:
            from PIL.PngImagePlugin import PngInfo

            from ganforge.provenance.metadata import EXIF_DESCRIPTION, TEXT_KEY, encode

            if suffix == ".png":
                info = PngInfo()
                info.add_text("Software", SOFTWARE)
                info.add_text(TEXT_KEY, encode(metadata))
                options["pnginfo"] = info
            else:
                exif[EXIF_DESCRIPTION] = encode(metadata)
        return options
    return {}


def save_image(array: np.ndarray, path: str | Path, metadata: dict[str, object] | None = None) -> Path:
    """Save a uint8 [H, W, C] array, creating the parent folder; marked as ours and written atomically, with
    `metadata` (`provenance.metadata`) in the file where given (BMP holds none)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise GanforgeError(f"cannot write an image to {path}: use one of {', '.join(IMAGE_SUFFIXES)}")
    with written_in_place(path) as tmp:
        to_pil(array).save(tmp, format=Image.registered_extensions()[suffix], **mark_options(suffix, metadata))
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


class PngStreamWriter:
    """A PNG written band by band, so an output never needs a second full-size copy to be saved (Pillow's
    `Image.fromarray(array).save` makes one): `with PngStreamWriter(path, W, H, C) as png: png.write_rows(band)`.

    8-bit grey (C 1), grey + alpha (2), RGB (3) or RGBA (4). Every row uses PNG's "Up" filter (cheap in NumPy,
    smaller than none); one zlib stream is cut into IDAT chunks of about 1 MiB; a tEXt `Software` chunk marks the
    file as ours, and a tEXt `ganforge` chunk holds `metadata` where given (`provenance.metadata`). Written as `save_image` writes: a temp file beside `path`, renamed onto it when all `height` rows
    are in, removed on any failure (too few rows included).
    """

    COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: grey, grey + alpha, RGB, RGBA
    IDAT_BYTES = 1 << 20
    STEP_BYTES = 1 << 22  # rows are filtered and compressed this much at a time, whatever write_rows is given

    def __init__(
        self,
        path: str | Path,
        width: int,  # pixels per row
        height: int,  # rows the file will hold
        channels: int,  # 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
        compress_level: int = 6,  # zlib level (Pillow's default)
        metadata: dict[str, object] | None = None,  # what the output says about itself (provenance.metadata)
    ) -> None:
        if channels not in self.COLOUR_TYPE:
            raise GanforgeError(f"a PNG holds 1, 2, 3 or 4 channels, got {channels}")
        if not (0 < width < 2**31 and 0 < height < 2**31):
            raise GanforgeError(f"a PNG is 1 to 2^31 - 1 pixels a side, got {width}x{height}")
        self.path, self.width, self.height, self.channels = Path(path), int(width), int(height), int(channels)
        self.compress_level = compress_level
        self.metadata = metadata
        self.rows_written = 0

    def __enter__(self) -> PngStreamWriter:
        from ganforge.outputs import SOFTWARE

        with ExitStack() as stack:
            tmp = stack.enter_context(written_in_place(self.path))
            self._file = stack.enter_context(open(tmp, "wb"))
            self._stack = stack.pop_all()
        self._zip = zlib.compressobj(self.compress_level)
        self._pending = bytearray()
        self._above = np.zeros(self.width * self.channels, dtype=np.uint8)  # the row above the first: zeros
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, self.COLOUR_TYPE[self.channels], 0, 0, 0)
        self._file.write(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                         + _png_chunk(b"tEXt", b"Software\x00" + SOFTWARE.encode("latin-1")))
        if self.metadata is not None:
            from ganforge.provenance.metadata import TEXT_KEY, encode

            text = TEXT_KEY.encode("latin-1") + b"\x00" + encode(self.metadata).encode("ascii")
            self._file.write(_png_chunk(b"tEXt", text))
        return self

    def write_rows(self, rows: np.ndarray) -> None:
        """Append uint8 rows [r, W, C] (or [r, W] for grey) below those already written."""
        rows = np.asarray(rows)
        if rows.ndim == 2:
            rows = rows[:, :, None]
        if rows.dtype != np.uint8 or rows.ndim != 3 or rows.shape[1:] != (self.width, self.channels):
            raise GanforgeError(f"PNG rows must be uint8 [rows, {self.width}, {self.channels}], got {rows.dtype} "
                                f"{rows.shape}")
        if self.rows_written + len(rows) > self.height:
            raise GanforgeError(f"{self.path} holds {self.height} rows; {self.rows_written + len(rows)} were given")
        step = max(1, self.STEP_BYTES // (self.width * self.channels))
        for i in range(0, len(rows), step):
            flat = rows[i : i + step].reshape(-1, self.width * self.channels)  # [r, W * C]
            data = np.empty((len(flat), flat.shape[1] + 1), dtype=np.uint8)  # a filter byte, then the row
            data[:, 0] = 2  # "Up": each byte minus the one above it, modulo 256 (as uint8 arithmetic wraps)
            np.subtract(flat[0], self._above, out=data[0, 1:])
            np.subtract(flat[1:], flat[:-1], out=data[1:, 1:])
            self._above = flat[-1].copy()
            self._pending += self._zip.compress(data)
            if len(self._pending) >= self.IDAT_BYTES:
                self._file.write(_png_chunk(b"IDAT", bytes(self._pending)))
                self._pending.clear()
        self.rows_written += len(rows)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            try:
                if self.rows_written != self.height:
                    raise GanforgeError(f"{self.path}: only {self.rows_written} of {self.height} rows were written")
                self._file.write(_png_chunk(b"IDAT", bytes(self._pending + self._zip.flush())) + _png_chunk(b"IEND", b""))
            except BaseException as exc:
                self._stack.__exit__(type(exc), exc, exc.__traceback__)  # closes and removes the temp file
                raise
        self._stack.__exit__(kind, error, tb)  # closes, then renames onto `path` (or removes it after an error)


def luma(images: torch.Tensor) -> torch.Tensor:
    """Luminance (BT.601) of float images [B, C, H, W] with C 1 or 3 (more: the first 3), as [B, 1, H, W]."""
    if images.shape[1] == 1:
        return images
    weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images[:, :3] * weights).sum(dim=1, keepdim=True)


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


def save_animation(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path, fps: int = 20,
                   metadata: dict[str, object] | None = None) -> Path:
    """Write uint8 frames [H, W, C] (a list, or one [T, H, W, C] array) as a GIF (Pillow) or an MP4/WebM
    (needs the `video` extra); `metadata` (`provenance.metadata`) goes into the GIF's comment or the container's
    `comment` tag where given.

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
                        loop=0, **mark_options(suffix, metadata))
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
        with written_in_place(path) as tmp, iio.imopen(tmp, "w", plugin="pyav") as video:
            if metadata is not None:
                from ganforge.provenance.metadata import VIDEO_TAG, encode

                video.container_metadata[VIDEO_TAG] = encode(metadata)
            video.write(np.stack(rgb), fps=fps, codec="libx264" if suffix == ".mp4" else "libvpx-vp9")
        return path
    raise GanforgeError(f"unsupported animation format {suffix!r} for {path}: use .gif or .mp4")
