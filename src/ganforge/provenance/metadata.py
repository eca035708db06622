"""What an output file says about itself: the software, the model (its name and weights hash), the task, the
settings, the time and whether the invisible watermark is on; written into the file, read back by `read_metadata`.

One JSON object (ASCII, so every container takes it) under the key `ganforge`:

    {"software": "ganforge 0.1.0", "created": "2026-05-01T12:00:00Z", "command": "sample", "task": "image",
     "model": {"name": "run", "path": "runs/run", "sha256": "...", "checkpoint": "kimg-000004.000"},
     "settings": {"seed": 3, "truncation": 1.0}, "watermark": "on"}

where it goes, per format (`imaging.save_image`, `save_animation` and `PngStreamWriter` write it):

- PNG: a tEXt chunk `ganforge` (beside the `Software` mark);
- JPEG, WebP, TIFF: the EXIF ImageDescription (beside the EXIF Software mark);
- GIF: the comment extension, as `ganforge {...}` (the prefix is what `outputs.file_is_ours` looks for);
- MP4, WebM: the container's `comment` tag (PyAV);
- BMP holds no metadata: such a file carries the watermark only.

`model.sha256` is `weights_digest` of the pipeline's networks: a hash of their tensors (names, dtypes, shapes and
bytes), so a run and its export give the same one, and it is what the watermark's model fingerprint is made from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

TEXT_KEY = "ganforge"  # the PNG text key, and the first word of a GIF comment that holds metadata
EXIF_DESCRIPTION = 0x010E  # ImageDescription, in the first IFD
VIDEO_TAG = "comment"
VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv", ".mov")


def software() -> str:
    from ganforge import __version__

    return f"ganforge {__version__}"


def weights_digest(components: dict[str, Any]) -> str:
    """sha256 over a pipeline's networks (name -> nn.Module) or their state dicts: every tensor's component and key,
    dtype, shape and bytes, in sorted order; read one tensor at a time (a GPU model is copied a tensor at a time)."""
    digest = hashlib.sha256()
    for name in sorted(components):
        module = components[name]
        state = module.state_dict() if hasattr(module, "state_dict") else module
        for key in sorted(state):
            tensor = state[key].detach().to("cpu").contiguous()
            digest.update(f"{name}.{key}:{tensor.dtype}:{tuple(tensor.shape)}\n".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def encode(metadata: dict[str, Any]) -> str:
    """The metadata as one line of ASCII JSON (non-ASCII characters escaped): what every format stores."""
    return json.dumps(metadata, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)


def gif_comment(metadata: dict[str, Any] | None) -> str:
    """A GIF comment: our mark alone, or followed by the metadata."""
    from ganforge.outputs import SOFTWARE

    return SOFTWARE if metadata is None else f"{SOFTWARE} {encode(metadata)}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Provenance:
    """What one command (or studio request) gives each file it writes: the watermark (when on) and the metadata.

    `mark` and `mark_rows` leave the pixels alone when the watermark is off; `metadata(**per_file)` adds settings
    that differ between the files of one command (a folder's seeds)."""

    model_id: str  # the model's weights hash: what the watermark's fingerprint is made from
    watermark: bool
    when: dt.datetime  # one time for the mark's month and the metadata
    record: dict[str, Any] = field(default_factory=dict)  # the metadata but for `watermark` and per-file settings

    def metadata(self, **settings: Any) -> dict[str, Any]:
        record = dict(self.record)
        record["settings"] = {**record.get("settings", {}), **_plain(settings)}
        record["watermark"] = "on" if self.watermark else "off"
        return record

    def mark(self, images: np.ndarray) -> np.ndarray:
        """uint8 images ([H, W], [H, W, C] or a stack [..., H, W, C]) marked in place when they may be, else a
        marked copy; unchanged when the watermark is off."""
        if not self.watermark:
            return images
        from ganforge.provenance.bands import mark_in_place

        images = np.asarray(images)
        return mark_in_place(images if images.flags.writeable else images.copy(), self.model_id, self.when)

    def mark_rows(self, rows: np.ndarray, top: int, image_height: int) -> np.ndarray:
        """Rows top..top + r - 1 of an image `image_height` rows tall, marked as the whole image would be (see
        `provenance.bands`)."""
        if not self.watermark:
            return rows
        from ganforge.provenance.bands import mark_rows

        return mark_rows(rows, self.model_id, top, self.when, image_height)

    def with_settings(self, **settings: Any) -> Provenance:
        record = dict(self.record)
        record["settings"] = {**record.get("settings", {}), **_plain(settings)}
        return replace(self, record=record)


def model_record(pipe: Any) -> dict[str, Any]:
    """The model part of the metadata: its name (the run's or export's folder, or zoo:NAME), the path it was loaded
    from, its weights hash and, for a run, the checkpoint."""
    source = dict(pipe.config.get("source") or {})
    origin = getattr(pipe, "origin", None)
    record: dict[str, Any] = {}
    if "zoo" in source:
        record["name"] = str(source["zoo"])
    elif origin is not None:
        path = Path(origin)
        record["name"] = (path.parent.parent.name if path.parent.name == "checkpoints" else path.name) or str(path)
    else:
        record["name"] = str(pipe.config.get("pipeline", "model"))
    if origin is not None:
        record["path"] = str(origin)
    record["sha256"] = pipe.model_hash
    if "checkpoint" in source:
        record["checkpoint"] = str(source["checkpoint"])
    return record


def provenance_for(pipe: Any, settings: dict[str, Any] | None = None, watermark: bool = True,
                   command: str | None = None, when: dt.datetime | None = None) -> Provenance:
    """The provenance of outputs a pipeline makes: its model, its task, `settings` (what the command was given) and
    whether the watermark is on; `command` names the CLI verb (or "studio")."""
    record: dict[str, Any] = {"software": software()}
    when = when or utc_now()
    record["created"] = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if command:
        record["command"] = command
    record["task"] = str(pipe.config.get("task") or pipe.config.get("pipeline", "?"))
    record["model"] = model_record(pipe)
    record["settings"] = _plain(settings or {})
    return Provenance(model_id=pipe.model_hash, watermark=watermark, when=when, record=record)


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON values: paths as their text, ranges and tuples as lists, None left out."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, (tuple, range)):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def seeds_text(seeds: Any) -> str:
    """Seeds as compact text: [0, 1, 2, 3, 10] -> "0-3,10" (what `--seeds` takes)."""
    parts: list[str] = []
    seeds = list(seeds)
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(parts)


def pil_with_metadata(image: Any, metadata: dict[str, Any] | None) -> Any:
    """A PIL image whose `info` holds our text entries, which Gradio copies into the PNG files it serves."""
    from ganforge.outputs import SOFTWARE

    image.info["Software"] = SOFTWARE
    if metadata is not None:
        image.info[TEXT_KEY] = encode(metadata)
    return image


# ----------------------------------------------------------------------------------------------------- reading
def _parse(text: Any) -> dict[str, Any] | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text.startswith(TEXT_KEY + " "):  # a GIF comment
        text = text[len(TEXT_KEY) + 1 :]
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and str(value.get("software", "")).startswith("ganforge"):
        return value
    return None


def read_metadata(path: str | Path) -> dict[str, Any] | None:
    """The metadata a file written by ganforge holds (PNG, JPEG, WebP, TIFF, GIF, MP4, WebM), or None when it
    holds none (another program's file, a BMP, an output written before metadata existed)."""
    from ganforge.errors import GanforgeError

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"no such file: {path}")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return _video_metadata(path)
    try:
        from PIL import Image

        with Image.open(path) as im:
            candidates = [im.info.get(TEXT_KEY), im.info.get("comment"), im.getexif().get(EXIF_DESCRIPTION)]
    except Exception:  # not an image Pillow reads: perhaps a video under another suffix
        return _video_metadata(path)
    return next((found for found in map(_parse, candidates) if found is not None), None)


def _video_metadata(path: Path) -> dict[str, Any] | None:
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(str(path)) as container:
            tags = {str(k).lower(): v for k, v in container.metadata.items()}
    except Exception:  # not a container PyAV reads
        return None
    return _parse(tags.get(VIDEO_TAG))
