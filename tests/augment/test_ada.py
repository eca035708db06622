"""ADA: identity at p = 0, exact flips and rotations, differentiability, p adapting to D's overfitting
in both directions, p saved in checkpoints, and `--augment auto`."""

from __future__ import annotations

import json

import pytest
import torch
from tests.conftest import TINY

import ganforge
from ganforge.augment import AdaptiveAugment
from ganforge.config import TrainConfig


def test_p_zero_is_the_identity():
    x = torch.randn(4, 3, 8, 8)
    assert torch.equal(AdaptiveAugment(p=0.0)(x), x)


def test_p_one_transforms_keeps_shape_and_passes_gradients():
    torch.manual_seed(0)
    for channels in (1, 3):
        x = torch.rand(6, channels, 16, 16, requires_grad=True)
        y = AdaptiveAugment(p=1.0)(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
        assert not torch.allclose(y, x)
        y.square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0


def test_geometric_part_is_exact_for_flips_and_quarter_turns():
    # With only flips and quarter turns drawn, grid sampling reproduces torch.flip / rot90 exactly.
    aug = AdaptiveAugment(p=1.0)
    x = torch.randn(1, 1, 8, 8)
    m = torch.eye(3)[None]
    m[0, 0, 0] = -1.0  # x flip
    grid = torch.nn.functional.affine_grid(m[:, :2], [1, 1, 8, 8], align_corners=False)
    flipped = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    assert torch.allclose(flipped, torch.flip(x, dims=[3]), atol=1e-6)
    assert aug._geometric(5, 8, 8, torch.device("cpu")).shape == (5, 3, 3)


def _adapt_steps(aug: AdaptiveAugment, signal: float, steps: int, batch: int = 64) -> None:
    for _ in range(steps):
        aug.observe(torch.full((batch,), signal))
        aug.adapt(batch, lambda t: t)


def test_p_follows_the_sign_of_the_overfitting_heuristic():
    aug = AdaptiveAugment(target=0.6, speed_kimg=1.0, interval=4)
    _adapt_steps(aug, +1.0, 8)  # every real scored as real: r_t = 1 > 0.6
    assert aug.p == pytest.approx(2 * 4 * 64 / 1000)
    _adapt_steps(aug, -1.0, 4)
    assert aug.p == pytest.approx(4 * 64 / 1000)
    _adapt_steps(aug, -1.0, 40)
    assert aug.p == 0.0  # clamped


def _p_after_training(tmp_path, name: str, **overrides) -> list[float]:
    result = ganforge.train(**{**TINY, **overrides}, augment="ada", ada_kimg=2.0, out=str(tmp_path), name=name)
    lines = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    return [line["Augment/p"] for line in lines if "Augment/p" in line]


def test_p_rises_when_d_overfits_a_tiny_set_and_falls_otherwise(tmp_path):
    # D with a high learning rate separates 32 training images from G's output at once: p must climb.
    tiny_set = tmp_path / "tiny"
    from ganforge.data import resolve_dataset
    from ganforge.imaging import save_image

    digits = resolve_dataset("digits", 16)
    for i in range(32):
        save_image(digits.images[i], tiny_set / f"{i}.png")
    rising = _p_after_training(tmp_path, "overfit", data=str(tiny_set), kimg=1.5, lr_d=2e-3, lr_g=1e-5)
    assert rising[-1] > 0.3 and rising[-1] > rising[0]
    # A discriminator that cannot learn (zero learning rate) scores reals at chance: p falls back from 0.5.
    run = tmp_path / "start-high"
    ganforge.train(**TINY, augment="ada", ada_kimg=2.0, kimg=0.25, lr_d=1e-12, out=str(tmp_path), name="start-high")
    ckpt = sorted((run / "checkpoints").glob("kimg-*"))[-1]
    state = json.loads((ckpt / "state.json").read_text())
    state["task_state"]["augment"]["p"] = 0.5
    (ckpt / "state.json").write_text(json.dumps(state))
    ganforge.train(resume=run, kimg=1.25)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    falling = [line["Augment/p"] for line in lines if "Augment/p" in line]
    assert falling[-1] < 0.5 - 0.2


def test_p_is_saved_in_checkpoints_and_restored(tmp_path):
    result = ganforge.train(**TINY, augment="ada", ada_kimg=1.0, kimg=1, lr_d=2e-3, out=str(tmp_path), name="p")
    state = json.loads((result.checkpoint / "state.json").read_text())
    saved_p = state["task_state"]["augment"]["p"]
    assert saved_p > 0
    from ganforge.registry import TASKS
    from ganforge.tasks import DataInfo

    cfg = TrainConfig.load(result.run_dir / "config.json")
    task = TASKS.get("image")(cfg, DataInfo("digits", 16, 1, 1797, []))
    task.load_extra_state(state["task_state"])
    assert task.augment.p == saved_p


def test_auto_picks_ada_for_small_data_only():
    cfg = TrainConfig(augment="auto")
    assert cfg.for_dataset(1797).augment == "ada"
    assert cfg.for_dataset(60_000).augment == "none"
    assert TrainConfig(augment="diffaug").for_dataset(10).augment == "diffaug"


def test_adapt_keeps_its_statistics_on_ds_device():
    # On a GPU the sign sum lives on D's device; the count must join it there (a CPU count crashed on CUDA).
    # The meta device stands in for CUDA: mixing it with a CPU tensor fails the same way.
    aug = AdaptiveAugment(p=0.0)
    seen = []

    def all_sum(totals: torch.Tensor) -> torch.Tensor:
        seen.append(totals.device.type)
        return torch.tensor([3.0, 4.0], dtype=torch.float64)  # what a reduction would hand back

    for _ in range(aug.interval):
        aug.observe(torch.ones(4, 1, device="meta"))
        stats = aug.adapt(4, all_sum)
    assert seen == ["meta"] and stats["Augment/rt"] == 0.75 and aug.p > 0
