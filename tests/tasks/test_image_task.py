"""The image task's regularisation schedule: R1/R2 every step in the D step itself, lazy R1/R2 and path length in
their own steps with StyleGAN2-ADA's Adam correction."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import TrainConfig
from ganforge.engine.phases import StepContext
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
    monkeypatch.setattr(image_task, "r1_penalty", lambda d_fn, x: torch.tensor(5.0))  # a pass of its own
    monkeypatch.setattr(image_task, "zero_centered_from_logits", lambda logits, x: torch.tensor(5.0))  # shared
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


def d_phase(task, shared: bool, augment=None) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[torch.Tensor]]:
    """D's main phase at step 0 on a fixed batch, through the phase runner, with R1/R2 from the loss's own D pass
    (shared) or from passes of their own; returns D's loss, the phase's statistics and D's gradients (not applied)."""
    if augment is not None:
        task.augment = augment
    task._shares_pass = lambda: shared
    gen = torch.Generator().manual_seed(1)
    real = torch.rand(4, 1, 16, 16, generator=gen) * 2 - 1
    torch.manual_seed(2)
    with torch.no_grad():
        fake = task.G(torch.randn(4, task.z_dim, generator=gen), None)
    task.D.zero_grad(set_to_none=True)
    grads: list[torch.Tensor] = []
    task.runtime.step = lambda optimizer, module: grads.extend(p.grad.clone() for p in module.parameters())
    ctx = StepContext(0, real=real, real_labels=None, fake_labels=None, fake=fake)
    assert ctx.step % task.runner.phases[0].interval == 0 and task.runner.phases[0].name == "Dmain"
    stats = task.runner.run_phase(task.runner.phases[0], ctx)
    assert ctx.shared_pass is shared
    return ctx.loss_d.detach(), stats, grads


def deterministic_augment(x):  # differentiable and the same on every call, so both passes see the same tensors
    return x.flip(3) * 0.8 + 0.1


@pytest.mark.parametrize("overrides", [
    dict(model="r3gan", r1_gamma=2.0, r2_gamma=3.0),  # R3GAN: R1 and R2 every step
    dict(model="stylegan2", r1_interval=1, r1_gamma=4.0),  # StyleGAN2's R1 joining D's step (Dboth)
    dict(model="stylegan2", r1_interval=1, r1_gamma=1.0, r2_gamma=2.0),
])
@pytest.mark.parametrize("augment", [None, deterministic_augment])
def test_r1_r2_from_the_loss_pass_match_passes_of_their_own(overrides, augment):
    # Same D loss, R1, R2 and D gradients whether the penalties reuse the adversarial loss's D pass or run D again;
    # with augmentation both take the gradient at the un-augmented images, through the augmentation.
    assert make_task(**overrides)._shares_pass()  # fp32, interval 1: the real step shares
    loss, stats, grads = d_phase(make_task(**overrides), shared=True, augment=augment)
    ref_loss, ref_stats, ref_grads = d_phase(make_task(**overrides), shared=False, augment=augment)
    assert torch.allclose(loss, ref_loss, rtol=1e-5, atol=1e-6)
    assert set(stats) == set(ref_stats) and {"Loss/D/r1"} <= set(stats)
    for name in stats:
        assert float(ref_stats[name]) > 0
        assert torch.allclose(stats[name], ref_stats[name], rtol=1e-5, atol=1e-7), name
    assert len(grads) == len(ref_grads) == len(list(make_task(**overrides).D.parameters()))
    for g, ref in zip(grads, ref_grads):
        assert torch.allclose(g, ref, rtol=1e-5, atol=1e-6), (g - ref).abs().max()


def test_shared_pass_runs_d_twice_instead_of_four_times():
    calls = {"shared": 0, "separate": 0}
    for key, shared in (("shared", True), ("separate", False)):
        task = make_task(model="r3gan")
        task.D.register_forward_hook(lambda *_, key=key: calls.__setitem__(key, calls[key] + 1))
        d_phase(task, shared)
    assert calls == {"shared": 2, "separate": 4}


@pytest.mark.parametrize("overrides, precision", [
    (dict(model="stylegan2"), "fp32"),  # lazy R1: its phase runs after D's step, at new weights, so D runs again
    (dict(model="r3gan"), "bf16"),  # the loss pass under autocast: R1/R2 keep an fp32 pass of their own
    (dict(model="r3gan", r1_gamma=0.0, r2_gamma=0.0), "fp32"),  # no regulariser
])
def test_penalties_keep_their_own_pass(overrides, precision):
    cfg = TrainConfig(**dict(SMALL, **overrides)).validate()
    task = TASKS.get("image")(cfg, DIGITS)
    task.attach(Runtime(make_accelerator(), precision))
    assert not task._shares_pass()
