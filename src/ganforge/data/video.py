"""Clips for the video tasks: moving-mnist / moving-emoji made on the fly, or a folder of videos cut into clips.

    clips = resolve_video("moving-mnist", 64, frames=20)              # 10,000 generated train clips
    test = resolve_video("moving-mnist", 64, frames=20, split="test")  # 1,000 from held-out digits
    clips = resolve_video("~/videos", 64, frames=16, stride=8)       # MP4 / WebM / GIF files, or a zip of them
    clip = clips[0]                                                   # uint8 [T, H, W, C]
    save_animation(clip, "clip.gif")                                  # ganforge.imaging: GIF always, MP4 with [video]

Video data has its own entry point rather than entries in the image BUILTINS: a clip set is not
an ImageDataset (it has a time axis and is often never stored), and keeping the two apart keeps
`resolve_dataset("mnist")` and `data list` exactly as they were. Both kinds of clip set offer
the same small, torch-free protocol: `len()`, `[i]` -> uint8 [T, H, W, C], `clips(indices)` ->
[N, T, H, W, C], `shape`, `resolution`, `channels` and a `meta` dict.

Decoding: GIFs with Pillow, always; MP4, WebM and the other containers with PyAV, from the
optional `video` extra (`pip install 'ganforge[video]'`). Without it such files are skipped with
a count that names the extra. Frames are centre-cropped to a square and resized with the same
Lanczos resize as images (`data.resize.square_resize`); frames of a GIF are repeated by their
duration over the shortest one, so a GIF that Pillow wrote with merged identical frames (or
with a held frame) plays back at a constant rate. Bad files are skipped with one counted warning,
as for image folders, or are an error with `strict`.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from ganforge.data.builtin.moving import MOVING, MOVING_VARIANTS, MovingSprites, make_moving, parse_moving
from ganforge.data.decode import BadImage, decode_guard
from ganforge.data.folder import ImageSource, check_source, list_files
from ganforge.data.resize import check_resolution, square_resize
from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")

VIDEO_EXTENSIONS = (".mp4", ".webm", ".gif", ".mov", ".mkv", ".avi", ".m4v")
# Why a video file was skipped, in the order the summary lists them.
VIDEO_REASONS = (
    "corrupt",
    "truncated",
    "zero-byte",
    "not a video",
    "too short",
    "needs the video extra",
    "unreadable",
)
EXTRA_HINT = "pip install 'ganforge[video]'"
_MAX_LISTED = 100


class BadVideo(BadImage):
    """A video file that cannot be used; `reason` is one of VIDEO_REASONS."""


def video_backend() -> str | None:
    """'av' when PyAV (the `video` extra) can be imported, else None (GIFs only)."""
    try:
        import av  # noqa: F401
    except ImportError:
        return None
    return "av"


# --- decoding ---------------------------------------------------------------------------------------
def _frame_to_array(im: Image.Image, resolution: int | None) -> np.ndarray:
    im = im.convert("RGB")
    if resolution is not None:
        im = square_resize(im, resolution)
    return np.asarray(im, dtype=np.uint8)


def _gif_frames(source: str | io.BytesIO, resolution: int | None) -> list[np.ndarray]:
    """RGB frames of a GIF (or any animation Pillow reads), repeated by duration over the shortest."""
    try:
        im = Image.open(source)
        frames, durations = [], []
        for frame in ImageSequence.Iterator(im):
            frames.append(_frame_to_array(frame, resolution))
            durations.append(int(frame.info.get("duration") or 0))
    except UnidentifiedImageError:
        if isinstance(source, io.BytesIO):
            head = source.getvalue()[:6]
        else:
            with open(source, "rb") as fh:
                head = fh.read(6)
        if head in (b"GIF87a", b"GIF89a"):
            raise BadVideo("corrupt", "a GIF header followed by data Pillow cannot decode") from None
        raise BadVideo("not a video", "Pillow does not recognise the data") from None
    except (OSError, SyntaxError, ValueError, IndexError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        raise BadVideo("truncated" if "truncated" in msg.lower() else "corrupt", msg) from None
    out: list[np.ndarray] = []
    for frame, repeat in zip(frames, _gif_repeats(durations)):
        out.extend([frame] * repeat)
    return out


def _gif_repeats(durations: Sequence[int]) -> list[int]:
    """How many times each GIF frame is repeated: its duration over the shortest (1 each when none is given)."""
    positive = [d for d in durations if d > 0]
    if not positive:
        return [1] * len(durations)
    base = min(positive)
    return [max(1, round(d / base)) for d in durations]


def probe_video(path: str | Path, stop_after: int | None = None) -> tuple[int | None, int, int]:
    """(frames that `read_video` would give, width, height) of a video file, read from its headers before any frame
    is kept: what a server checks against its limits first. GIFs are walked frame by frame (Pillow's seek), stopping
    once more than `stop_after` frames are seen (the count is then a lower bound); other containers need the `video`
    extra and give their stream's frame count, or duration x rate, or None where neither is recorded. A DataError
    says why a file cannot be read."""
    path = Path(path).expanduser()
    try:
        if path.suffix.lower() == ".gif":
            with decode_guard(), Image.open(path) as im:
                width, height, durations = im.width, im.height, []
                for frame in ImageSequence.Iterator(im):
                    durations.append(int(frame.info.get("duration") or 0))
                    if stop_after is not None and len(durations) > stop_after:
                        return len(durations), width, height
            return sum(_gif_repeats(durations)), width, height
        if video_backend() is None:
            raise BadVideo("needs the video extra", f"install it to read {path.suffix}: {EXTRA_HINT}")
        import av

        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadVideo("not a video", "no video stream")
            stream = container.streams.video[0]
            frames = int(stream.frames or 0) or None
            rate = stream.average_rate or stream.guessed_rate
            if frames is None and rate:
                seconds = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base else
                           container.duration / av.time_base if container.duration else None)
                frames = round(seconds * float(rate)) if seconds else None
            return frames, int(stream.codec_context.width), int(stream.codec_context.height)
    except BadVideo as bad:
        hint = f" ({EXTRA_HINT})" if bad.reason == "needs the video extra" else ""
        raise DataError(f"cannot read video {path.name}: {bad}{hint}") from None
    except Exception as exc:  # Pillow's and PyAV's many ways of saying a file is broken
        raise DataError(f"cannot read video {path.name}: it is not a video file that can be decoded "
                        f"({exc.__class__.__name__})") from None


def _av_frames(source: str | io.BytesIO, resolution: int | None) -> list[np.ndarray]:
    """RGB frames of the first video stream, decoded with PyAV."""
    import av

    try:
        with av.open(source) as container:
            if not container.streams.video:
                raise BadVideo("not a video", "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            return [_frame_to_array(frame.to_image(), resolution) for frame in container.decode(stream)]
    except av.error.InvalidDataError as exc:
        raise BadVideo("corrupt", str(exc)) from None
    except (av.FFmpegError, ValueError, EOFError, IndexError) as exc:
        raise BadVideo("corrupt", str(exc) or type(exc).__name__) from None
    except OSError as exc:
        raise BadVideo("unreadable", str(exc)) from None


def decode_video(data: str | Path | bytes, name: str, resolution: int | None = None) -> np.ndarray:
    """All frames of one video as uint8 [T, H, W, 3] (resized to R x R when `resolution` is set); BadVideo if unusable.

    `data` is a path or the file's bytes; `name` supplies the extension that picks the decoder.
    """
    if isinstance(data, bytes):
        if not data:
            raise BadVideo("zero-byte", "empty file")
        source: str | io.BytesIO = io.BytesIO(data)
    else:
        path = Path(data)
        try:
            if path.stat().st_size == 0:
                raise BadVideo("zero-byte", "empty file")
        except OSError as exc:
            raise BadVideo("unreadable", str(exc)) from None
        source = str(path)
    if name.lower().endswith(".gif"):
        with decode_guard():
            frames = _gif_frames(source, resolution)
    elif video_backend() is None:
        raise BadVideo("needs the video extra", f"install it to read {Path(name).suffix}: {EXTRA_HINT}")
    else:
        frames = _av_frames(source, resolution)
    if not frames:
        raise BadVideo("corrupt", "no frames decoded")
    return np.stack(frames)


def read_video(path: str | Path, resolution: int | None = None) -> np.ndarray:
    """One video file (GIF always; MP4, WebM, ... with the `video` extra) as uint8 [T, H, W, 3].

    A DataError says why a file cannot be read; `resolution` centre-crops and resizes every frame.
    """
    path = Path(path).expanduser()
    if resolution is not None:
        resolution = check_resolution(resolution)
    if not path.is_file():
        raise DataError(f"video file {path} does not exist")
    try:
        return decode_video(path, path.name, resolution)
    except BadVideo as bad:
        hint = f" ({EXTRA_HINT})" if bad.reason == "needs the video extra" else ""
        raise DataError(f"cannot read video {path}: {bad}{hint}") from None


def stored_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Each frame of a video file once, as stored (a GIF frame once whatever its duration), uint8 [H, W, 3], decoded
    one at a time: a reader that keeps a few holds one frame's memory, not the clip's. A DataError says why not."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"video file {path} does not exist")
    try:
        if path.suffix.lower() == ".gif":
            with decode_guard(), Image.open(path) as im:
                for frame in ImageSequence.Iterator(im):
                    yield _frame_to_array(frame, None)
            return
        if video_backend() is None:
            raise BadVideo("needs the video extra", f"install it to read {path.suffix}: {EXTRA_HINT}")
        import av

        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadVideo("not a video", "no video stream")
            for frame in container.decode(container.streams.video[0]):
                yield _frame_to_array(frame.to_image(), None)
    except BadVideo as bad:
        hint = f" ({EXTRA_HINT})" if bad.reason == "needs the video extra" else ""
        raise DataError(f"cannot read video {path.name}: {bad}{hint}") from None
    except (DataError, GeneratorExit):
        raise
    except Exception as exc:  # Pillow's and PyAV's many ways of saying a file is broken
        raise DataError(f"cannot read video {path.name}: it is not a video file that can be decoded "
                        f"({exc.__class__.__name__})") from None


# --- clips -----------------------------------------------------------------------------------------
def clip_starts(num_frames: int, length: int, stride: int) -> range:
    """First frames of the clips cut from a video: floor((T - length) / stride) + 1 of them (none if T < length)."""
    if length < 1 or stride < 1:
        raise DataError(f"clip length and stride must be >= 1, got length {length} and stride {stride}")
    return range(0, max(0, num_frames - length + 1), stride)


class VideoClips:
    """Clips of `length` frames cut every `stride` frames from decoded videos held in memory."""

    def __init__(
        self,
        videos: list[np.ndarray],  # per video uint8 [F, H, W, C], one H, W, C for all
        length: int,  # T, frames per clip
        stride: int,  # frames between the starts of consecutive clips of one video
        names: Sequence[str] | None = None,  # one per video, for meta and error messages
        meta: dict | None = None,
    ) -> None:
        if not videos:
            raise DataError("no videos to cut clips from")
        shapes = {v.shape[1:] for v in videos}
        if len(shapes) != 1 or videos[0].dtype != np.uint8 or videos[0].ndim != 4:
            raise DataError(f"videos must be uint8 [F, H, W, C] of one frame shape, got {sorted(shapes)}")
        self.videos = videos
        self.length = int(length)
        self.stride = int(stride)
        self.names = list(names) if names is not None else [str(i) for i in range(len(videos))]
        pairs = [
            (v, s)
            for v, video in enumerate(videos)
            for s in clip_starts(len(video), self.length, self.stride)
        ]
        self.index = np.array(pairs, dtype=np.int64).reshape(-1, 2)  # [N, 2]: (video, first frame)
        self.meta = dict(meta or {})
        self.meta.update(
            count=len(self),
            frames=self.length,
            stride=self.stride,
            resolution=self.resolution,
            channels=self.channels,
        )

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(T, H, W, C) of every clip."""
        return (self.length, *self.videos[0].shape[1:])

    @property
    def resolution(self) -> int:
        return int(self.videos[0].shape[1])

    @property
    def channels(self) -> int:
        return int(self.videos[0].shape[3])

    def __getitem__(self, index: int) -> np.ndarray:
        """Clip `index` as uint8 [T, H, W, C] (a copy)."""
        i = int(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"clip {index} is out of range for {len(self)} clips")
        v, s = self.index[i]
        return self.videos[v][s : s + self.length].copy()

    def clips(self, indices: Sequence[int]) -> np.ndarray:
        """Several clips stacked: uint8 [N, T, H, W, C]."""
        return np.stack([self[int(i)] for i in indices])

    def __repr__(self) -> str:
        t, h, w, c = self.shape
        return f"VideoClips({self.meta.get('source')!r}, n={len(self)}, clip=[{t}, {h}, {w}, {c}])"


def _summarize(counts: Counter) -> str:
    return ", ".join(f"{counts[r]} {r}" for r in VIDEO_REASONS if counts.get(r))


def load_video_folder(
    src: str | Path,  # a folder or zip of videos, or one video file
    length: int = 20,  # frames per clip
    stride: int | None = None,  # frames between clip starts; default `length` (no overlap)
    resolution: int = 64,  # frames are centre-cropped and resized to R x R
    frame_step: int = 1,  # keep every k-th decoded frame (k > 1 speeds motion up k times)
    strict: bool = False,  # a bad or too-short file is an error instead of a counted skip
) -> VideoClips:
    """Every video in `src` decoded at R x R and cut into clips; bad files skipped with one counted warning."""
    resolution = check_resolution(resolution)
    stride = length if stride is None else stride
    clip_starts(0, length, stride)  # validates length and stride
    if int(frame_step) != frame_step or frame_step < 1:
        raise DataError(f"frame_step must be an integer >= 1, got {frame_step!r}")
    path = Path(src).expanduser()
    if path.is_file() and path.name.lower().endswith(VIDEO_EXTENSIONS):
        root, names = path.parent.resolve(), [path.name]
    else:
        root = check_source(path)
        names = [f.name for f in list_files(root, VIDEO_EXTENSIONS)]
    if not names:
        raise DataError(
            f"no videos found in {root} (looked for {', '.join(VIDEO_EXTENSIONS)}, skipping hidden files); "
            "point to a folder or zip that holds videos"
        )
    videos: list[np.ndarray] = []
    kept: list[str] = []
    bad: list[tuple[str, str]] = []
    with ImageSource(root) as source:
        for name in names:
            try:
                data = source.read(name) if root.is_file() else root / name
                frames = decode_video(data, name, resolution)[::frame_step]
                if len(frames) < length:
                    raise BadVideo("too short", f"{len(frames)} frames, a clip needs {length}")
            except BadVideo as bad_file:
                if strict:
                    hint = f" ({EXTRA_HINT})" if bad_file.reason == "needs the video extra" else ""
                    raise DataError(
                        f"bad video {name!r} in {root}: {bad_file}{hint}; fix or remove it, or leave out strict to "
                        "skip bad files"
                    ) from None
                bad.append((name, bad_file.reason))
                continue
            videos.append(frames)
            kept.append(name)
    counts = Counter(reason for _, reason in bad)
    extra = (
        f"; install the video extra to read them: {EXTRA_HINT}" if counts.get("needs the video extra") else ""
    )
    if not videos:
        raise DataError(
            f"no clips of {length} frames from {root}: all {len(names)} video files were skipped "
            f"({_summarize(counts)}){extra}"
        )
    if bad:
        log.warning(
            "skipped %d of %d files in %s: %s (use --strict to make this an error)%s",
            len(bad),
            len(names),
            root,
            _summarize(counts),
            extra,
        )
    meta = {
        "name": path.stem if path.is_file() else path.name,
        "source": str(path.resolve() if path.is_file() and len(names) == 1 else root),
        "videos": kept,
        "frame_step": int(frame_step),
        "resize": "centre crop to square, Pillow Lanczos (reducing_gap 3)",
        "skipped": {r: counts[r] for r in VIDEO_REASONS if counts.get(r)},
        "skipped_total": len(bad),
        "skipped_files": [[name, reason] for name, reason in bad[:_MAX_LISTED]],
    }
    return VideoClips(videos, length, stride, kept, meta)


# --- one entry point for the video tasks ----------------------------------------------------------
def video_names() -> list[str]:
    """Names resolve_video accepts besides paths."""
    return sorted([*MOVING, *(f"{base}-{v}" for base, vs in MOVING_VARIANTS.items() for v in vs)])


def resolve_video(
    spec: str | Path,  # moving-mnist | moving-emoji[-twitter] | a folder, zip or file of videos
    resolution: int = 64,  # frame side in pixels
    frames: int = 20,  # frames per clip
    split: str | None = None,  # moving data: train (default) or test; folders have no split
    stride: int | None = None,  # folders: frames between clip starts (default: frames)
    frame_step: int = 1,  # folders: keep every k-th frame
    strict: bool = False,  # folders: bad files are errors
    **options,  # moving data: num_sequences, speed, seed, split_seed, num_digits / num_sprites, background, ...
) -> MovingSprites | VideoClips:
    """The clip set `spec` names. A moving-data name wins over a folder of the same name (write ./NAME)."""
    resolution = check_resolution(resolution)
    text = str(spec).strip()
    hit = parse_moving(text) if not isinstance(spec, Path) else None
    if hit is not None:
        if stride is not None or frame_step != 1 or strict:
            raise DataError(
                f"{text} is generated: stride, frame_step and strict apply only to folders of videos"
            )
        return make_moving(text, split=split or "train", frames=frames, size=resolution, **options)
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(
            f"video data {text!r} is neither a moving dataset ({', '.join(video_names())}) nor an existing folder, "
            "zip or video file"
        )
    if split is not None:
        raise DataError(
            f"a folder of videos has no {split!r} split; give the held-out videos as a folder of their own"
        )
    if options:
        raise DataError(f"option {sorted(options)[0]!r} applies only to moving datasets, not to {path}")
    return load_video_folder(path, frames, stride, resolution, frame_step, strict)
