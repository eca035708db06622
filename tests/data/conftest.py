"""Data-layer fixtures: a private GANFORGE_HOME for every test, so the real cache is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def gf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at a fresh folder so tests never touch the real one."""
    home = tmp_path / "gf-home"
    monkeypatch.setenv("GANFORGE_HOME", str(home))
    return home
