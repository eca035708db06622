"""ganforge: one toolkit to train, evaluate and use GANs for image and video generation."""

from __future__ import annotations

__version__ = "0.1.0"

from ganforge.api import load, train  # noqa: E402

__all__ = ["__version__", "load", "train"]
