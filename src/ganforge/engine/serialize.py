"""Split nested state (optimizer state dicts, RNG states) into JSON and a flat tensor dict.

This keeps checkpoints free of pickles: structure goes to JSON, tensors to safetensors.
"""

from __future__ import annotations

from typing import Any

import torch

_TENSOR = "__tensor__"
_DICT = "__dict__"
_TUPLE = "__tuple__"


def split_tensors(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "t") -> Any:
    """Return a JSON-able copy of `obj`, moving every tensor into `tensors` under a generated key."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and _TENSOR not in obj and _DICT not in obj:
            return {k: split_tensors(v, tensors, prefix) for k, v in obj.items()}
        return {_DICT: [[split_tensors(k, tensors, prefix), split_tensors(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {_TUPLE: [split_tensors(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [split_tensors(v, tensors, prefix) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot serialise {type(obj).__name__} in checkpoint state")


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of split_tensors."""
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        if _DICT in obj:
            return {join_tensors(k, tensors): join_tensors(v, tensors) for k, v in obj[_DICT]}
        if _TUPLE in obj:
            return tuple(join_tensors(v, tensors) for v in obj[_TUPLE])
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj
