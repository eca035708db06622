"""The pretrained models that ship with ganforge: `ganforge.load("zoo:NAME")`, `ganforge sample zoo:NAME ...`,
`ganforge models`. Each is an export (config.json + model.safetensors) in a folder of this package with a model
card (card.json: what it is, how it was trained, its figures), so they work offline, from a wheel as from a clone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError

PREFIX = "zoo:"
CARD = "card.json"
CARD_FIELDS = ("name", "task", "model", "data", "resolution", "kimg", "command", "metrics", "description")


@dataclass(frozen=True)
class ModelCard:
    """What `ganforge models` shows of one shipped model; `metrics` holds its measured figures (fid, n, ...)."""

    name: str
    task: str
    model: str
    data: str
    resolution: int
    kimg: float
    command: str  # how it was trained (the reproducing script and its arguments)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    path: Path = Path()
    size_bytes: int = 0


def zoo_dir() -> Path:
    """The folder of shipped models: this package's, or GANFORGE_ZOO's (tests, a private zoo)."""
    return Path(os.environ.get("GANFORGE_ZOO") or Path(__file__).parent)


def read_card(folder: Path) -> ModelCard:
    values = json.loads((folder / CARD).read_text())
    missing = [k for k in CARD_FIELDS if k not in values and k not in ("metrics", "description")]
    if missing:
        raise CheckpointError(f"model card {folder / CARD} lacks {', '.join(missing)}")
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return ModelCard(**{k: values[k] for k in CARD_FIELDS if k in values}, path=folder, size_bytes=size)


def model_cards() -> list[ModelCard]:
    """Every shipped model, by name."""
    root = zoo_dir()
    folders = sorted(p for p in root.iterdir() if (p / CARD).is_file()) if root.is_dir() else []
    return [read_card(p) for p in folders]


def is_zoo_name(path: str | Path) -> bool:
    return str(path).startswith(PREFIX)


def zoo_card(path: str | Path) -> ModelCard:
    """The card of `zoo:NAME`; an unknown name is a one-line error that lists the shipped ones."""
    name = str(path)[len(PREFIX):]
    cards = {card.name: card for card in model_cards()}
    if name not in cards:
        shown = ", ".join(PREFIX + n for n in cards) or "none"
        raise CheckpointError(f"no shipped model {PREFIX}{name}; `ganforge models` lists them: {shown}")
    return cards[name]


def zoo_path(path: str | Path) -> Path:
    """The export folder of `zoo:NAME`."""
    return zoo_card(path).path


def resolve_model_path(path: str | Path) -> Path:
    """A RUN argument as a folder: `zoo:NAME` becomes the shipped model's, anything else is left as it is."""
    return zoo_path(path) if is_zoo_name(path) else Path(path)
