"""Loaded pipelines kept between requests: a model loads once, the last few stay in memory, and a run that has
checkpointed since is loaded again (its newest weights are what the user expects)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any


def model_version(value: str) -> str:
    """What changes when a model's weights do: a run's newest checkpoint, an export's file time."""
    from ganforge.engine.checkpoint import list_checkpoints

    if value.startswith("zoo:"):
        return ""
    path = Path(value)
    weights = path / "model.safetensors"
    if weights.is_file():
        return str(weights.stat().st_mtime_ns)
    found = list_checkpoints(path / "checkpoints")
    return found[-1].name if found else ""


class ModelCache:
    """At most `size` pipelines, least recently used dropped first; loads are serialised so that two requests for
    one model load it once."""

    def __init__(self, load: Callable[[str], Any], size: int = 3) -> None:
        self.load = load
        self.size = max(1, int(size))
        self.loads = 0  # how many times a model was read from disk (tests check the cache with it)
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, value: str) -> Any:
        key = (value, model_version(value))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            for old in [k for k in self._items if k[0] == value]:  # an older checkpoint of the same run
                del self._items[old]
            pipe = self.load(value)
            self.loads += 1
            self._items[key] = pipe
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return pipe
