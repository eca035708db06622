"""Suite-wide fixtures: a private cache for the whole session and a tiny labelled dataset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

# Tests run torch on this many threads, and so do the training processes they start (tests/engine/test_processes.py
# compares their weights bit for bit, which holds only at equal thread counts). Under pytest-xdist (`make test` runs
# one worker per core) each worker takes one thread: small tensors leave a second thread mostly waiting.
TEST_THREADS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1)

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--precision", default=None, choices=["auto", "fp32", "bf16"],
                     help="what `--precision auto` means in every run of the suite (sets GANFORGE_PRECISION): "
                          "make test-fp32 and make test-bf16 run the whole suite so on any CPU")


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("--precision")
    if value and value != "auto":
        os.environ["GANFORGE_PRECISION"] = value


@pytest.fixture(autouse=True, scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GANFORGE_HOME points at a temp folder for the whole session: the real cache is never touched."""
    home = tmp_path_factory.mktemp("gf-home-session")
    old = os.environ.get("GANFORGE_HOME")
    os.environ["GANFORGE_HOME"] = str(home)
    torch.set_num_threads(TEST_THREADS)
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


def write_translation_folder(root: Path, n_a: int = 20, n_b: int | None = None, size: int = 20, seed: int = 0,
                             gray_a: bool = False) -> Path:
    """A folder with A/ and B/: smooth random colour images in A and, under the same names, B = A with its
    colour channels reversed (a pixelwise map a network learns quickly). With n_b != n_a the extra or
    missing names make it unpaired-only."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    n_b = n_a if n_b is None else n_b
    (root / "A").mkdir(parents=True, exist_ok=True)
    (root / "B").mkdir(parents=True, exist_ok=True)
    for i in range(max(n_a, n_b)):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BILINEAR))
        if i < n_a:
            a = Image.fromarray(img).convert("L") if gray_a else Image.fromarray(img)
            a.save(root / "A" / f"{i:03d}.png")
        if i < n_b:
            Image.fromarray(np.ascontiguousarray(img[..., ::-1])).save(root / "B" / f"{i:03d}.png")
    return root


def write_label_folder(root: Path, n: int = 12, size: int = 32) -> Path:
    """labels:FOLDER data of three classes: squares of class 1 or 2 on class 0, and their colour images."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0]], dtype=np.uint8)
    for i in range(n):
        ids = np.zeros((size, size), np.uint8)
        x, y = rng.integers(0, size // 2, 2)
        ids[y : y + size // 2, x : x + size // 2] = 1 + i % 2
        Image.fromarray(ids, "L").save(root / "labels" / f"{i}.png")
        Image.fromarray(palette[ids]).save(root / "images" / f"{i}.png")
    return root


@pytest.fixture
def translation_folder(tmp_path: Path):
    """Factory: translation_folder(name, **kw) -> a fresh A/B folder under tmp_path (see write_translation_folder)."""
    return lambda name="pairs", **kw: write_translation_folder(tmp_path / name, **kw)


# Tiny translation runs: 16 px, width 4, a handful of steps.
TINY_TRANSLATION: dict[str, Any] = dict(
    resolution=16, batch=4, width=4, d_layers=2, tick_kimg=0.008, sample_every_kimg=1.0, checkpoint_every_kimg=1.0,
    grid_size=4, ema_kimg=0.0,
)


@pytest.fixture
def tiny_translation() -> dict[str, Any]:
    return dict(TINY_TRANSLATION)


@pytest.fixture(scope="session")
def translation_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny trained pix2pix run and one CycleGAN run (a few steps each), shared by pipeline and CLI tests."""
    import ganforge

    root = tmp_path_factory.mktemp("translation-runs")
    pairs = write_translation_folder(root / "pairs")
    ganforge.train(task="pix2pix", data=str(pairs), kimg=0.016, out=str(root), name="pix2pix", **TINY_TRANSLATION)
    ganforge.train(task="cyclegan", data=str(pairs), kimg=0.016, out=str(root), name="cyclegan", pool_size=4,
                   **TINY_TRANSLATION)
    return {"pix2pix": root / "pix2pix", "cyclegan": root / "cyclegan", "pairs": pairs}


@pytest.fixture
def poison_d_loss(monkeypatch: pytest.MonkeyPatch):
    """poison_d_loss(bad) makes the non-saturating D loss NaN on the calls n (1, 2, ...) where bad(n) is true."""
    from ganforge.losses.adversarial import NonSaturatingLoss

    original = NonSaturatingLoss.d_loss

    def install(bad) -> None:
        calls = {"n": 0}

        def poisoned(self, real, fake):
            calls["n"] += 1
            loss = original(self, real, fake)
            return loss * float("nan") if bad(calls["n"]) else loss

        monkeypatch.setattr(NonSaturatingLoss, "d_loss", poisoned)

    return install
