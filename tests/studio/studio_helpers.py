"""Shared by the studio tests: Gradio (installed by `make setup`; never skipped), and the tiny runs every tab is
tested on."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image


def require_gradio() -> Any:
    """Gradio, which `make setup` installs (the studio extra): the suite runs every test, so its absence fails."""
    try:
        import gradio
    except ImportError as exc:  # pragma: no cover - a set-up that skipped the extra
        raise RuntimeError("the studio tests need the studio extra: run `make setup` (pip install -e '.[studio]')") from exc
    return gradio


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def smooth_image(size: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A smooth random uint8 image [size, size, channels]: what the tiny models were trained on."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, channels), dtype=np.uint8)
    mode = "RGB" if channels == 3 else "RGBA"
    return np.asarray(Image.fromarray(coarse, mode).resize((size, size), Image.BILINEAR))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def refused(studio, *args, api_name: str) -> str:
    """The message of a request the studio refuses: an AppError with one sentence, no traceback."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        studio["client"].predict(*args, api_name=api_name)
    message = str(info.value)
    assert message and "Traceback" not in message and "File \"" not in message, message
    return message
