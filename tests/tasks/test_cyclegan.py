"""Task cyclegan: trains from two unpaired folders, resumes exactly (pools and LR schedule), decays the LR."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import ganforge
from ganforge.config import TrainConfig
from ganforge.data.unpaired import resolve_unpaired
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.trainer import lr_scale
from ganforge.errors import ConfigError
from ganforge.registry import TASKS
from ganforge.tasks.base import DataInfo

NETS = ("G_AB", "G_BA", "D_A", "D_B")


def test_cyclegan_trains_from_unpaired_folders(tmp_path, translation_folder, tiny_translation):
    root = translation_folder("dom", n_a=14, n_b=11)
    result = ganforge.train(task="cyclegan", data=str(root), kimg=0.024, out=str(tmp_path), name="c",
                            **tiny_translation)
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert result.status == "finished" and result.steps == 6
    assert (config["model"], config["loss"], config["n_blocks"], config["pool_size"]) == ("resnet", "lsgan", 6, 50)
    assert (config["cycle_weight"], config["identity_weight"], config["lr_decay_start"]) == (10, 0.5, 0.5)
    weights, state = load_checkpoint(result.checkpoint)
    assert set(NETS) <= set(weights)
    assert len(state["task_state"]["pool_a"]["images"]) == 24  # every fake kept until 50 batches (200 images) fill it
    rows = [json.loads(line) for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    assert all(k in rows[-1] for k in ("Loss/G/cycle", "Loss/G/identity", "Loss/D_A/adv", "Loss/D_B/adv"))
    # Only each domain's training split is loaded.
    data = TASKS.get("cyclegan").load_data(TrainConfig(task="cyclegan", data=str(root), resolution=16).validate())
    train = resolve_unpaired(str(root), 16, split="train")
    assert data.info.counts == {"A": len(train.a), "B": len(train.b)} == {"A": 13, "B": 10}
    assert np.array_equal(data.arrays["B"], train.b)
    back = TASKS.get("cyclegan").load_data(
        TrainConfig(task="cyclegan", data=str(root), resolution=16, direction="BtoA").validate())
    assert np.array_equal(back.arrays["A"], train.b)


def test_resume_is_exact_with_pools_and_lr_schedule(tmp_path, translation_folder, tiny_translation):
    root = translation_folder("dom", n_a=14, n_b=11)
    settings = dict(tiny_translation, pool_size=1, data=str(root), task="cyclegan", out=str(tmp_path))  # 1 batch: 4
    full = ganforge.train(**settings, kimg=0.032, name="full")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    part = ganforge.train(**settings, kimg=0.032, name="split", should_stop=stop)
    assert part.status == "stopped" and part.steps == 5  # past the pool's filling and into the LR decay
    resumed = ganforge.train(resume=tmp_path / "split", kimg=0.032)
    assert resumed.steps == full.steps == 8
    w_full, s_full = load_checkpoint(full.checkpoint)
    w_res, s_res = load_checkpoint(resumed.checkpoint)
    for net in NETS:
        assert all(torch.equal(w_full[net][k], w_res[net][k]) for k in w_full[net]), net
    for pool in ("pool_a", "pool_b"):
        a, b = s_full["task_state"][pool], s_res["task_state"][pool]
        assert len(a["images"]) == 4 and all(torch.equal(x, y) for x, y in zip(a["images"], b["images"]))
        assert torch.equal(a["rng"], b["rng"])
    for name in ("G", "D"):
        assert s_full["optimizers"][name]["param_groups"][0]["lr"] == s_res["optimizers"][name]["param_groups"][0]["lr"]


def test_lr_decays_linearly_over_the_second_half(tmp_path, translation_folder, tiny_translation):
    assert [lr_scale(i, 100, 0.5) for i in (0, 25, 50, 60, 75, 90, 100)] == pytest.approx([1, 1, 1, 0.8, 0.5, 0.2, 0])
    assert lr_scale(80, 100, 1.0) == 1.0 and lr_scale(80, None, 0.5) == 1.0
    root = translation_folder("dom", n_a=14, n_b=11)
    settings = dict(tiny_translation, tick_kimg=0.004, batch=4)
    result = ganforge.train(task="cyclegan", data=str(root), kimg=0.04, out=str(tmp_path), name="c", **settings)
    rows = [json.loads(line) for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    # One step per tick: the scale used by the step that ended at images_shown = 4 * step.
    scales = [r["Schedule/lr_scale"] for r in rows]
    assert scales == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    _, state = load_checkpoint(result.checkpoint)
    group = state["optimizers"]["G"]["param_groups"][0]
    assert group["initial_lr"] == 2e-4 and group["lr"] == pytest.approx(2e-4 * 0.2)


def test_identity_needs_matching_channels_and_model_choice():
    cfg = TrainConfig(task="cyclegan", data="x", resolution=16, width=4, d_layers=2).validate()
    info = DataInfo(name="x", resolution=16, channels=3, count=4, in_channels=1)
    with pytest.raises(ConfigError, match="use --identity-weight 0"):
        TASKS.get("cyclegan")(cfg, info)
    cfg0 = TrainConfig(task="cyclegan", data="x", resolution=16, width=4, d_layers=2, identity_weight=0.0).validate()
    task = TASKS.get("cyclegan")(cfg0, info)
    assert task.G_AB.in_channels == 1 and task.G_BA.out_channels == 1
    assert TrainConfig(task="cyclegan", data="x", resolution=256).validate().n_blocks == 9
    with pytest.raises(ConfigError, match="--model unet belongs to task pix2pix"):
        TrainConfig(task="cyclegan", model="unet").validate()


def test_pools_hold_pool_size_batches_so_d_sees_fakes_many_steps_old():
    # Review issue 24: a pool of 50 images at batch 64 held less than one batch, so the fakes D saw from it were
    # a step or two old (mean age about 2 steps). The paper's 50 at batch 1 is 50 steps of history; the pool
    # now holds --pool-size batches of this process's share.
    cfg = TrainConfig(task="cyclegan", data="x", resolution=16, width=4, d_layers=2, batch=64).validate()
    task = TASKS.get("cyclegan")(cfg, DataInfo(name="x", resolution=16, channels=3, count=4, in_channels=3))
    ages: list[int] = []
    for step in range(120):
        out = task.pool_b.query(torch.full((64, 1, 1, 1), float(step)))  # every image carries its step
        ages += [step - int(v) for v in out[:, 0, 0, 0] if int(v) != step]
    assert task.pool_a.size == task.pool_b.size == len(task.pool_b) == 50 * 64
    assert np.mean(ages) > 10 and max(ages) >= 50
    # Each process keeps its own pool of its own share of the global batch (5 = 3 + 2 over two processes).
    cfg = TrainConfig(task="cyclegan", data="x", resolution=16, width=4, d_layers=2, batch=5, pool_size=7).validate()
    for rank, share in ((0, 3), (1, 2)):
        task = TASKS.get("cyclegan")(cfg, DataInfo(name="x", resolution=16, channels=3, count=4, in_channels=3))
        task.attach(type("Runtime", (), {"rank": rank, "world_size": 2, "device": torch.device("cpu")})())
        assert task.pool_a.size == task.pool_b.size == 7 * share
        # A resume restores rank 0's pools: a process with a smaller share keeps the first images that fit.
        saved = {"pool_a": {"images": torch.zeros(21, 3, 16, 16)}, "pool_b": {"images": torch.zeros(21, 3, 16, 16)}}
        task.load_extra_state(saved)
        assert len(task.pool_a) == len(task.pool_b) == 7 * share


class _RecordingRuntime:
    """Just enough of the trainer's runtime to run one step on CPU and record G's loss."""

    device, rank, world_size = torch.device("cpu"), 0, 1

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []

    def autocast(self):
        import contextlib

        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        self.losses.append(loss.detach())
        raise StopIteration  # G's loss is all this test needs


@pytest.mark.parametrize("logit", [0.0, 0.25, -1.5])
def test_generator_adversarial_term_is_the_authors_unhalved_mse(logit):
    # With cycle and identity weights 0, G's loss is its adversarial term alone: for a PatchGAN map of one
    # logit value c in both directions, the authors' code gives MSE(D_B, 1) + MSE(D_A, 1) = 2 (c - 1)^2.
    cfg = TrainConfig(task="cyclegan", data="x", resolution=16, width=4, d_layers=2, cycle_weight=0.0,
                      identity_weight=0.0).validate()
    task = TASKS.get("cyclegan")(cfg, DataInfo(name="x", resolution=16, channels=3, count=4, in_channels=3))
    for D in (task.D_A, task.D_B):
        D.forward = lambda x, **kw: x[:, :1, :4, :4] * 0 + logit  # [N, 1, 4, 4], all c, still on G's graph
    rt = _RecordingRuntime()
    task.attach(rt)
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    with pytest.raises(StopIteration):
        task.train_step(batch, 0)
    mse = torch.nn.functional.mse_loss(torch.full((2, 1, 4, 4), logit), torch.ones(2, 1, 4, 4)).item()
    assert rt.losses[0].item() == pytest.approx(2 * mse)
    assert mse == pytest.approx((logit - 1) ** 2)


def test_lr_decay_needs_a_kimg_budget():
    # With --minutes alone there is no budget to decay over: the decay used to be skipped silently.
    with pytest.raises(ConfigError, match=r"--lr-decay-start 0.5 \(cyclegan's default\).*give --kimg .* or --lr-decay-start 1"):
        TrainConfig(task="cyclegan", minutes=5.0).validate()
    with pytest.raises(ConfigError, match="--lr-decay-start 0.3 decays"):
        TrainConfig(task="pix2pix", minutes=5.0, lr_decay_start=0.3).validate()
    assert TrainConfig(task="cyclegan", minutes=5.0, lr_decay_start=1.0).validate().lr_decay_start == 1.0
    assert TrainConfig(task="cyclegan", minutes=5.0, kimg=10.0).validate().lr_decay_start == 0.5
    assert TrainConfig(task="cyclegan").validate().kimg_budget == 100.0  # no budget given: 100 kimg


def test_resume_with_another_budget_warns_once(tmp_path, translation_folder, tiny_translation, caplog):
    root = translation_folder("dom", n_a=14, n_b=11)
    settings = dict(tiny_translation, data=str(root), task="cyclegan", out=str(tmp_path))
    first = ganforge.train(**settings, kimg=0.016, name="c")
    _, state = load_checkpoint(first.checkpoint)
    assert state["total_images"] == 16
    with caplog.at_level("WARNING", logger="ganforge"):
        same = ganforge.train(resume=tmp_path / "c", kimg=0.016)  # nothing to do, nothing to say
    assert same.steps == 4 and not [r for r in caplog.records if "budget" in r.getMessage()]
    with caplog.at_level("WARNING", logger="ganforge"):
        longer = ganforge.train(resume=tmp_path / "c", kimg=0.024)
    moved = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
    assert longer.steps == 6 and len(moved) == 1
    assert "budget of 0.024 instead of the run's 0.016" in moved[0] and "from 0.5" in moved[0]
    assert load_checkpoint(longer.checkpoint)[1]["total_images"] == 24
    # A checkpoint written before the budget was saved: its config's budget stands in.
    state_json = longer.checkpoint / "state.json"
    old = json.loads(state_json.read_text())
    del old["total_images"]
    state_json.write_text(json.dumps(old))
    caplog.clear()
    with caplog.at_level("WARNING", logger="ganforge"):
        again = ganforge.train(resume=tmp_path / "c", kimg=0.032)
    moved = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
    assert again.steps == 8 and len(moved) == 1 and "instead of the run's 0.024" in moved[0]
