"""The built-in datasets: a name -> dataset registry, and parsing of names such as `emoji:twitter`."""

from __future__ import annotations

from ganforge.data.builtin.base import BuiltinDataset
from ganforge.data.builtin.digits import Digits
from ganforge.data.builtin.emoji import Emoji
from ganforge.data.builtin.mnist import Mnist
from ganforge.data.builtin.photos import Photos
from ganforge.errors import DataError

BUILTINS: dict[str, BuiltinDataset] = {ds.name: ds for ds in (Mnist(), Emoji(), Photos(), Digits())}


def _aliases() -> dict[str, tuple[str, str | None]]:
    """Every accepted spelling -> (built-in name, variant): 'emoji-twitter' and 'emoji:twitter' alike."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, ds in BUILTINS.items():
        out[name] = (name, None)
        for variant in ds.variants:
            out[f"{name}:{variant}"] = (name, variant)
            out[f"{name}-{variant}"] = (name, variant)
    return out


def builtin_names() -> list[str]:
    """Names `--data` accepts for built-ins, variants included."""
    return sorted(n for n in _aliases() if ":" not in n)


def parse_builtin(name: str) -> tuple[BuiltinDataset, str | None] | None:
    """(dataset, variant) for a built-in name or alias, else None."""
    hit = _aliases().get(name.strip().lower())
    return (BUILTINS[hit[0]], hit[1]) if hit else None


def get_builtin(name: str) -> BuiltinDataset:
    """The built-in dataset called `name` (aliases such as `emoji:twitter` give `emoji`); DataError if unknown."""
    hit = parse_builtin(name)
    if hit is None:
        raise DataError(f"unknown built-in dataset {name!r}; choose one of: {', '.join(BUILTINS)}")
    return hit[0]


__all__ = ["BUILTINS", "BuiltinDataset", "builtin_names", "get_builtin", "parse_builtin"]
