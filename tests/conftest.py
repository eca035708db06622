"""Suite-wide fixtures: a private cache for the whole session and a tiny labelled dataset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GANFORGE_HOME points at a temp folder for the whole session: the real cache is never touched."""
    home = tmp_path_factory.mktemp("gf-home-session")
    old = os.environ.get("GANFORGE_HOME")
    os.environ["GANFORGE_HOME"] = str(home)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    yield home
    if old is None:
        os.environ.pop("GANFORGE_HOME", None)
    else:
        os.environ["GANFORGE_HOME"] = old


# The smallest real training set-up: scikit-learn's 8x8 digits at 16 px, narrow DCGAN.
TINY: dict[str, Any] = dict(
    task="image", model="dcgan", data="digits", resolution=16, batch=32, width=8, z_dim=16,
    tick_kimg=0.5, sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=16,
)


@pytest.fixture
def tiny() -> dict[str, Any]:
    return dict(TINY)
