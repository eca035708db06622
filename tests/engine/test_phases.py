"""The phase runner: freezing restored after a phase, interval phases on their steps with the loss scaled by the
interval, non-finite steps skipped and counted per phase, statistics collected, autocast per term."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext, Term, frozen, regularised
from ganforge.engine.precision import attach_standalone_runtime
from ganforge.engine.runtime import Runtime, make_accelerator
from ganforge.registry import TASKS
from ganforge.tasks import DataInfo


class TwoNets:
    """The smallest task the runner needs: two linear networks, an SGD optimizer each, a one-process runtime."""

    def __init__(self, precision: str = "fp32") -> None:
        torch.manual_seed(0)
        self.G, self.D = nn.Linear(3, 3), nn.Linear(3, 1)
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = {"G": torch.optim.SGD(self.G.parameters(), lr=0.1),
                           "D": torch.optim.SGD(self.D.parameters(), lr=0.1)}
        self.runtime = Runtime(make_accelerator(), precision)
        self.runtime.register_optimizers(self.optimizers)
        self.runtime.register_networks(self.networks)
        self.backward: list[tuple[str, float]] = []  # (optimizer, loss) of every backward, in order
        backward = self.runtime.backward

        def record(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
            name = next(n for n, o in self.optimizers.items() if o is optimizer)
            self.backward.append((name, float(loss.detach())))
            backward(loss, optimizer)

        self.runtime.backward = record

    def d_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = self.D(self.G(ctx.x).detach()).mean()
        return loss, {"Loss/D/adv": loss.detach()}

    def g_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ctx.d_grad_during_g = [p.requires_grad for p in self.D.parameters()]
        loss = -self.D(self.G(ctx.x)).mean()
        return loss, {"Loss/G/adv": loss.detach()}


def _ctx(step: int) -> StepContext:
    return StepContext(step, x=torch.ones(2, 3))


def test_frozen_networks_get_no_gradients_and_are_restored_after_the_phase():
    task = TwoNets()
    runner = PhaseRunner(task, [Phase("Gmain", "G", task.G, loss=task.g_loss, frozen=(task.D,))])
    d_before = [p.detach().clone() for p in task.D.parameters()]
    g_before = [p.detach().clone() for p in task.G.parameters()]
    ctx = _ctx(0)
    runner.run(ctx)
    assert ctx.d_grad_during_g == [False, False]
    assert all(p.requires_grad and p.grad is None for p in task.D.parameters())  # restored; nothing accumulated
    assert all(torch.equal(a, b) for a, b in zip(d_before, task.D.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g_before, task.G.parameters()))  # G stepped


def test_freezing_is_restored_on_an_error_and_keeps_parameters_frozen_before():
    net = nn.Linear(2, 2)
    net.bias.requires_grad_(False)  # frozen by the task itself: stays frozen after the phase
    with pytest.raises(RuntimeError), frozen([net]):
        assert not any(p.requires_grad for p in net.parameters())
        raise RuntimeError("loss failed")
    assert net.weight.requires_grad and not net.bias.requires_grad


def test_interval_phase_runs_on_its_steps_with_its_loss_times_the_interval():
    task = TwoNets()
    reg = Phase("Dreg", "D", task.D, loss=Term(lambda ctx: (task.D.weight.square().sum() * 0 + 2.0, {"Loss/D/r1":
                                                              torch.tensor(2.0)}), autocast=False), interval=3)
    runner = PhaseRunner(task, [Phase("Dmain", "D", task.D, loss=task.d_loss), reg])
    stats = [runner.run(_ctx(step)) for step in range(7)]
    assert [s.get("Loss/D/r1") is not None for s in stats] == [True, False, False, True, False, False, True]
    assert [loss for name, loss in task.backward if loss == 6.0] == [6.0] * 3  # 2.0 x interval 3, on steps 0, 3, 6
    assert len(task.backward) == 7 + 3


def test_regularised_joins_the_main_phase_at_interval_one_and_splits_it_otherwise():
    task = TwoNets()
    main = Phase("Gmain", "G", task.G, loss=task.g_loss)
    term = Term(lambda ctx: (task.G.weight.sum() * 0 + 1.0, {"Loss/G/pl": torch.tensor(1.0)}))
    joined = regularised(main, "Greg", term, 1)
    assert [p.name for p in joined] == ["Gmain"] and len(joined[0].terms) == 2
    split = regularised(main, "Greg", term, 4)
    assert [(p.name, p.interval) for p in split] == [("Gmain", 1), ("Greg", 4)]
    stats = PhaseRunner(task, joined).run(_ctx(1))
    assert set(stats) == {"Loss/G/adv", "Loss/G/pl"} and len(task.backward) == 1
    assert task.backward[0][1] == pytest.approx(float(stats["Loss/G/adv"]) + 1.0)  # the terms summed in one step


def test_non_finite_loss_skips_the_step_and_is_counted():
    task = TwoNets()
    poisoned = Phase("Dmain", "D", task.D, loss=lambda ctx: (task.D(ctx.x).mean() * float("nan"), {}))
    runner = PhaseRunner(task, [poisoned, Phase("Gmain", "G", task.G, loss=task.g_loss, frozen=(task.D,))])
    d_before = [p.detach().clone() for p in task.D.parameters()]
    runner.run(_ctx(0))
    runner.run(_ctx(1))
    assert all(torch.equal(a, b) for a, b in zip(d_before, task.D.parameters()))  # D never stepped
    assert all(p.grad is None for p in task.D.parameters())  # and its bad gradients were cleared
    assert runner.skipped == {"Dmain": 2}
    assert task.runtime.skipped == ["D", "D"]  # what the trainer counts and stops on


def test_statistics_of_every_phase_are_collected_in_order_and_when_skips_a_phase():
    task = TwoNets()
    runner = PhaseRunner(task, [
        Phase("Dmain", "D", task.D, loss=task.d_loss, when=lambda ctx: ctx.step >= 1),
        Phase("Gmain", "G", task.G, loss=task.g_loss, frozen=(task.D,)),
    ])
    assert list(runner.run(_ctx(0))) == ["Loss/G/adv"]  # D's phase not yet due
    stats = runner.run(_ctx(1))
    assert list(stats) == ["Loss/D/adv", "Loss/G/adv"]
    assert all(isinstance(v, torch.Tensor) and not v.requires_grad and math.isfinite(float(v)) for v in stats.values())
    assert [name for name, _ in task.backward] == ["G", "D", "G"]


def test_forward_and_terms_follow_the_precision_policy():
    task = TwoNets("bf16")
    seen: dict[str, bool] = {}

    def forward(ctx: StepContext) -> None:
        seen["forward"] = torch.is_autocast_enabled("cpu")
        ctx.fake = task.G(ctx.x)

    def term(name: str):
        def fn(ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            seen[name] = torch.is_autocast_enabled("cpu")
            return task.D(ctx.fake.float()).float().mean(), {}
        return fn

    runner = PhaseRunner(task, [Phase("Gmain", "G", task.G, loss=(Term(term("amp")), Term(term("fp32"), autocast=False)),
                                      frozen=(task.D,))], forward=forward)
    runner.run(_ctx(0))
    assert seen == {"forward": True, "amp": True, "fp32": False}


def test_record_gradients_mode_records_each_phase_instead_of_stepping():
    # engine.precision.compare_step_gradients sets record_gradients: every phase's step records, none applies.
    task = TwoNets()
    task.runtime.record_gradients = {}
    runner = PhaseRunner(task, [Phase("Dmain", "D", task.D, loss=task.d_loss),
                                Phase("Gmain", "G", task.G, loss=task.g_loss, frozen=(task.D,))])
    before = [p.detach().clone() for p in task.G.parameters()]
    runner.run(_ctx(0))
    assert list(task.runtime.record_gradients) == ["0:D", "1:G"]
    assert all(torch.equal(a, b) for a, b in zip(before, task.G.parameters()))


def test_template_task_trains_through_the_runner():
    cfg = TrainConfig(task="template", resolution=8, batch=4, z_dim=4).validate()
    torch.manual_seed(0)
    task = TASKS.get("template")(cfg, DataInfo("x", 8, 1, 16, []))
    attach_standalone_runtime(task, "fp32")
    before = {k: v.clone() for k, v in task.G.state_dict().items()}
    for step in range(2):
        stats = task.train_step({"image": torch.rand(4, 1, 8, 8) * 2 - 1}, step)
    assert set(stats) == {"Loss/D/adv", "Loss/G/adv"}
    assert all(p.requires_grad for p in task.D.parameters())
    assert any(not torch.equal(before[k], v) for k, v in task.G.state_dict().items())
