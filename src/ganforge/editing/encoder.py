"""Loading an inversion encoder (`ganforge train encoder`) for `invert(..., method="encoder")`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.errors import GanforgeError


def load_encoder(path: str | Path, device: str | torch.device = "cpu") -> Any:
    """The EncoderPipeline of an encoder run or export, with a one-line error for anything else."""
    from ganforge.api import load

    pipe = load(path, device=device)
    if pipe.config.get("pipeline") != "encoder":
        raise GanforgeError(f"--encoder {path} is a {pipe.config.get('pipeline')} model, not an encoder (train one "
                            "with `ganforge train encoder --generator RUN`)")
    return pipe
