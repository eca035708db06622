"""Weights the project ships beside its code (the alignment evaluator, the digit classifier, the gender probe): one
way to write them (float16 where asked: the shipped models share a 20 MB budget) and to read them back, with a
one-line error naming the script that makes them when a file is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ganforge.errors import GanforgeError


def save_shipped(state: dict[str, torch.Tensor], path: Path, metadata: dict[str, Any], half: bool = True) -> Path:
    """`state` (floating tensors in float16 when `half`) with `metadata` (non-strings as JSON), replaced atomically."""
    from ganforge.engine.checkpoint import replace_safetensors

    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    tensors = {k: (v.half() if half and v.is_floating_point() else v).detach().contiguous() for k, v in state.items()}
    return replace_safetensors(tensors, path, meta)


def load_shipped(path: Path, what: str, script: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors of a shipped file (floating ones as float32) and its metadata; GanforgeError when it is missing."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"{what}'s weights are missing ({path}): reinstall ganforge, or make them with "
                            f"`python {script}`")
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    return {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}, metadata
