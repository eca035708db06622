"""Named registries for tasks, models, losses and the like, so choices are data, not if/elif chains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ganforge.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table with a helpful error for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@MODELS.register("dcgan")`."""

        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._items[name]

    def discard(self, name: str) -> None:
        """Forget one entry (a plugin that failed to load)."""
        self._items.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


TASKS: Registry = Registry("task")
MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("loss")
NETWORKS: Registry = Registry("network")  # classes rebuilt from config.json by pipelines
