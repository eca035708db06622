"""The shipped watermark codec: saved and loaded as safetensors (never a pickle), with its hash checked."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ganforge.errors import GanforgeError
from ganforge.provenance.watermark import WatermarkCodec

SHIPPED = Path(__file__).resolve().parent / "watermark.safetensors"


def save_codec(codec: WatermarkCodec, path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the codec's tensors (and string metadata: steps, psnr) atomically."""
    from ganforge.engine.checkpoint import replace_safetensors

    return replace_safetensors(codec.state_dict(), path, metadata or {})


def load_codec_file(path: Path) -> tuple[WatermarkCodec, dict[str, str]]:
    """A codec and its metadata from a safetensors file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"no watermark codec at {path}")
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    codec = WatermarkCodec()
    codec.load_state_dict(load_file(str(path)))
    codec.eval()
    return codec, metadata


@cache
def shipped_codec() -> tuple[WatermarkCodec, dict[str, str]]:
    """The codec that ships with the project (trained by scripts/train_watermark.py)."""
    if not SHIPPED.is_file():
        raise GanforgeError(f"the watermark codec is missing from the installation ({SHIPPED}): reinstall ganforge")
    return load_codec_file(SHIPPED)
