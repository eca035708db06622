"""Where ganforge keeps its cache: GANFORGE_HOME, else ~/.cache/ganforge."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """The root of every cached dataset and prepared array; created on first use."""
    root = Path(os.environ.get("GANFORGE_HOME") or Path.home() / ".cache" / "ganforge").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def datasets_dir() -> Path:
    """Fetched built-in datasets, one folder each, at their native resolution."""
    path = cache_home() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepared_dir() -> Path:
    """Prepared datasets made on the fly for `train --data`, keyed by content and resolution."""
    path = cache_home() / "prepared"
    path.mkdir(parents=True, exist_ok=True)
    return path
