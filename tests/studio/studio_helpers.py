"""Shared by the studio tests: Gradio or a skip (a failure in CI, where `make setup` installs the extra), and the
tiny runs every tab is tested on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image


def require_gradio() -> Any:
    """Gradio; on a developer's machine without the studio extra the module is skipped, in CI it fails."""
    if os.environ.get("CI"):
        import gradio

        return gradio
    return pytest.importorskip("gradio", reason="the studio extra is not installed: pip install -e '.[studio]'")


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def smooth_image(size: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A smooth random uint8 image [size, size, channels]: what the tiny models were trained on."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, channels), dtype=np.uint8)
    mode = "RGB" if channels == 3 else "RGBA"
    return np.asarray(Image.fromarray(coarse, mode).resize((size, size), Image.BILINEAR))
