"""The image task's regularisation schedule: R1/R2 every step in the D step itself, lazy R1/R2 and path length in
their own steps with StyleGAN2-ADA's Adam correction."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import TrainConfig
from ganforge.engine.runtime import Runtime, make_accelerator
from ganforge.registry import TASKS
from ganforge.tasks import DataInfo

DIGITS = DataInfo("digits", 16, 1, 1797, [])
SMALL = dict(resolution=16, batch=4, width=4, z_dim=8, augment="none")


def make_task(**overrides):
    cfg = TrainConfig(**dict(SMALL, **overrides)).validate()
    torch.manual_seed(0)
    task = TASKS.get("image")(cfg, DIGITS)
    task.attach(Runtime(make_accelerator(), "fp32"))
    return task


def count_steps(task, steps: int) -> tuple[list[str], list[dict[str, torch.Tensor]]]:
    """Run `steps` training steps; returns the networks stepped, in order, and each step's statistics."""
    stepped: list[str] = []
    rt_step = task.runtime.step

    def step(optimizer, module):
        stepped.append(next(name for name, opt in task.optimizers.items() if opt is optimizer))
        rt_step(optimizer, module)

    task.runtime.step = step
    stats = []
    for i in range(steps):
        stats.append(task.train_step({"image": torch.rand(4, 1, 16, 16) * 2 - 1}, i))
    return stepped, stats


def test_r3gan_regularises_within_every_d_step():
    # Interval 1 (the R3GAN paper): R1 and R2 join D's loss, one D step per training step, not a second Adam step
    # on the penalty alone.
    task = make_task(model="r3gan")
    stepped, stats = count_steps(task, 3)
    assert stepped == ["D", "G"] * 3
    assert all("Loss/D/r1" in s and "Loss/D/r2" in s for s in stats)


def test_r1_every_step_adds_gamma_over_two_times_the_penalty(monkeypatch):
    import ganforge.tasks.image.task as image_task

    losses = []
    task = make_task(model="r3gan", r1_gamma=3.0, r2_gamma=0.0)
    monkeypatch.setattr(image_task, "r1_penalty", lambda d_fn, x: torch.tensor(5.0))
    backward = task.runtime.backward
    task.runtime.backward = lambda loss, opt: losses.append(float(loss.detach())) or backward(loss, opt)
    monkeypatch.setattr(task.loss, "d_loss", lambda real, fake: (real.mean() * 0 + fake.mean() * 0 + 1.0))
    count_steps(task, 1)
    assert losses[0] == pytest.approx(1.0 + 3.0 / 2 * 5.0)  # D's one backward: adversarial + gamma / 2 * R1


def test_path_length_every_step_joins_gs_step():
    task = make_task(model="stylegan2", r1_gamma=0.0, pl_weight=2.0, pl_interval=1)
    stepped, stats = count_steps(task, 2)
    assert stepped == ["D", "G"] * 2
    assert all("Loss/G/pl" in s for s in stats) and float(task.pl_mean) > 0


def test_lazy_r1_steps_d_again_on_its_steps_only():
    task = make_task(model="stylegan2", r1_interval=2)
    stepped, stats = count_steps(task, 4)
    assert stepped == ["D", "D", "G", "D", "G", "D", "D", "G", "D", "G"]
    assert ["Loss/D/r1" in s for s in stats] == [True, False, True, False]


def test_lazy_regularisation_corrects_adam():
    # StyleGAN2-ADA: a network with a lazy regulariser every k steps gets lr * r and betas ** r, r = k / (k + 1).
    task = make_task(model="stylegan2")  # R1 every 16 steps, no path length
    d, g = task.optimizers["D"].param_groups[0], task.optimizers["G"].param_groups[0]
    r = 16 / 17
    assert d["lr"] == pytest.approx(2.5e-3 * r) and d["betas"] == pytest.approx((0.0, 0.99**r))
    assert g["lr"] == pytest.approx(2.5e-3) and g["betas"] == pytest.approx((0.0, 0.99))

    g = make_task(model="stylegan2", pl_weight=2.0, pl_interval=4, lr_g=1e-3).optimizers["G"].param_groups[0]
    assert g["lr"] == pytest.approx(1e-3 * 4 / 5) and g["betas"] == pytest.approx((0.0, 0.99**0.8))


@pytest.mark.parametrize("overrides", [
    dict(model="r3gan"),  # every step: nothing to correct
    dict(model="stylegan2", r1_gamma=0.0),  # no regulariser: no extra steps
    dict(model="dcgan", r1_interval=8),  # dcgan has no R1 by default
])
def test_no_correction_without_lazy_steps(overrides):
    task = make_task(**overrides)
    cfg = task.config
    d = task.optimizers["D"].param_groups[0]
    assert d["lr"] == cfg.lr_d and d["betas"] == (cfg.beta1, cfg.beta2)
