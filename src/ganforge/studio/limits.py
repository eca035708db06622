"""What the studio accepts from a browser: uploads bounded in bytes and pixels, checked from the file's header
before anything is decoded, and corrupt files turned into a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganforge.errors import GanforgeError

DEFAULT_MAX_UPLOAD_MB = 20.0
DEFAULT_MAX_PIXELS = 4_194_304  # 2048 x 2048: seconds, not minutes, for any tab on a laptop CPU
DEFAULT_MAX_FRAMES = 240  # frames of one animation: an interpolation, an uploaded clip, a prediction
DEFAULT_MAX_CLIP_PIXELS = 67_108_864  # all frames of an uploaded clip together: 256 frames of 512 x 512
DEFAULT_MAX_CLIPS = 64  # clips sampled in one request (each a few frames)
DEFAULT_MAX_EVAL_N = 2000  # samples of one evaluation: Inception features of 2 x 2000 images take minutes on a CPU


@dataclass(frozen=True)
class Limits:
    """Upload and output bounds; `ganforge studio --max-upload-mb/--max-pixels` set the first two."""

    max_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    max_pixels: int = DEFAULT_MAX_PIXELS  # of one uploaded image, or of an outpainted canvas
    max_images: int = 256  # images in one generated grid
    max_frames: int = DEFAULT_MAX_FRAMES  # frames of an interpolation, an uploaded clip or a prediction
    max_clip_pixels: int = DEFAULT_MAX_CLIP_PIXELS  # frames x width x height of an uploaded clip, before decoding
    max_clips: int = DEFAULT_MAX_CLIPS  # clips sampled in one request
    max_eval_n: int = DEFAULT_MAX_EVAL_N  # samples (images, clips) scored by one evaluation

    @property
    def max_output_pixels(self) -> int:
        """An upscaled image may hold 4 x max_pixels (a 1024 px image at x4 under the default)."""
        return 4 * self.max_pixels


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.1f} Mpx"


def check_pixels(width: int, height: int, limit: int, what: str = "the image", hint: str = "") -> None:
    """A one-line error when width x height exceeds `limit` pixels."""
    if width * height > limit:
        raise GanforgeError(f"{what} is {width}x{height} ({_megapixels(width * height)}); the studio takes at most "
                            f"{_megapixels(limit)}{hint or ' (start it with a larger --max-pixels)'}")


def check_bytes(path: Path, limits: Limits, what: str) -> None:
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise GanforgeError(f"the {what} file {path.name} is {size / 2**20:.1f} MB; the studio takes at most "
                            f"{limits.max_bytes / 2**20:.1f} MB (start it with a larger --max-upload-mb)")


def read_upload(path: str | Path | None, limits: Limits, what: str = "image", label_map: bool = False) -> np.ndarray:
    """An uploaded image file as uint8 [H, W, C] (C 1, 3 or 4), checked in bytes and pixels before decoding. With
    `label_map`, a palette (P) PNG gives its palette indices (class ids), as the data layer reads label maps."""
    from ganforge.tasks.translation.pipeline import as_array

    if path is None:
        raise GanforgeError(f"no {what} given: upload one first")
    path = Path(path)
    check_bytes(path, limits, what)
    try:
        with Image.open(path) as im:  # the header only: nothing is decoded yet
            check_pixels(im.width, im.height, limits.max_pixels, f"the {what} {path.name}")
            im.load()
            image = ImageOps.exif_transpose(im)  # a copy, turned upright: the file is closed after this block
    except GanforgeError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise GanforgeError(f"cannot read the {what} {path.name}: it is not an image file Pillow can decode "
                            f"({exc.__class__.__name__})") from None
    return as_array(image, label_map=label_map)


def check_clip(path: str | Path | None, limits: Limits, what: str = "clip") -> tuple[int, int, int]:
    """(frames, width, height) of an uploaded video file, checked in bytes, frame size, frame count and pixels of
    all frames together from its headers (`data.video.probe_video`) before a frame is decoded."""
    from ganforge.data.video import VIDEO_EXTENSIONS, probe_video

    if path is None:
        raise GanforgeError(f"no {what} given: upload a video file (GIF; MP4 or WebM with the video extra) first")
    path = Path(path)
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise GanforgeError(f"the {what} {path.name} is not a video file: give one of "
                            f"{', '.join(VIDEO_EXTENSIONS)}")
    check_bytes(path, limits, what)
    frames, width, height = probe_video(path, stop_after=limits.max_frames)
    check_pixels(width, height, limits.max_pixels, f"a frame of the {what} {path.name}")
    if frames is None:
        raise GanforgeError(f"the {what} {path.name} does not record how many frames it holds; convert it to GIF "
                            "or MP4 first")
    if frames > limits.max_frames:
        raise GanforgeError(f"the {what} {path.name} has more than {limits.max_frames} frames; the studio takes at "
                            "most that many (cut it shorter)")
    if frames * width * height > limits.max_clip_pixels:
        raise GanforgeError(f"the {what} {path.name} is {frames} frames of {width}x{height} "
                            f"({_megapixels(frames * width * height)} in all); the studio takes at most "
                            f"{_megapixels(limits.max_clip_pixels)} per clip (upload a shorter or smaller one)")
    return frames, width, height
