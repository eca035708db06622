"""The phase runner: a task declares its step as phases, the engine runs them the same way for every task.

A phase (StyleGAN3's Dmain, Dreg, Gmain, Greg) names the optimizer it steps, the networks it trains and the ones
it freezes, an interval for lazy regularisation and its loss terms. The runner does the rest, identically for every
task: autocast per term from the Runtime's precision, freezing (restored afterwards), the interval's loss rescaling,
backward, the optimizer step (Runtime.step averages gradients over processes and skips non-finite ones, which the
runner counts per phase), buffer sync and the statistics. Tasks keep only what is theirs: the forwards and losses.

    runner = PhaseRunner(task, forward=generate, sync=(G, D), phases=[
        Phase("Dmain", "D", D, loss=d_loss),
        Phase("Dreg", "D", D, loss=Term(r1, autocast=False), interval=16),
        Phase("Gmain", "G", G, loss=g_loss, frozen=(D,)),
    ])
    stats = runner.run(StepContext(step, real=real))
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

Stats = dict[str, torch.Tensor]


class StepContext(SimpleNamespace):
    """What one training step's phases share: the step index, its inputs, and whatever the forward and earlier
    phases leave for later ones (the generated batch, D's logits); attributes are set freely."""

    def __init__(self, step: int, **values: Any) -> None:
        super().__init__(step=step, **values)


LossFn = Callable[[StepContext], tuple[torch.Tensor, Stats]]


@dataclass(frozen=True)
class Term:
    """One term of a phase's loss: `fn(ctx)` returns (the weighted term, its statistics). `autocast=False` keeps a
    term in fp32 under mixed precision (gradient penalties, whose double backward bf16 would spoil)."""

    fn: LossFn
    autocast: bool = True


@dataclass(frozen=True)
class Phase:
    """One backward and optimizer step of a training step; it runs on steps where `step % interval == 0`."""

    name: str  # "Dmain", "Dreg", "Gmain", "Greg": names its skips
    optimizer: str  # the key of the optimizer it steps in task.optimizers
    trains: nn.Module  # the network(s) that optimizer updates: gradients averaged over processes, then stepped
    loss: LossFn | Term | Sequence[Term]  # summed in order into the phase's loss; a bare function runs under autocast
    frozen: tuple[nn.Module, ...] = ()  # no weight gradients for these during the phase (requires_grad restored after)
    interval: int = 1  # lazy regularisation: every `interval` steps, the loss multiplied by the interval (StyleGAN2)
    when: Callable[[StepContext], bool] | None = None  # also skipped on steps where this says False (e.g. pre-training)
    sync: tuple[nn.Module, ...] = ()  # networks whose buffers are averaged over processes right after this phase

    @property
    def terms(self) -> tuple[Term, ...]:
        if isinstance(self.loss, Term):
            return (self.loss,)
        if callable(self.loss):
            return (Term(self.loss),)
        return tuple(self.loss)

    def due(self, ctx: StepContext) -> bool:
        """Whether this phase runs in `ctx`'s step."""
        return ctx.step % self.interval == 0 and (self.when is None or bool(self.when(ctx)))


def regularised(main: Phase, name: str, term: Term, interval: int) -> list[Phase]:
    """A main phase and its regulariser, as StyleGAN2-ADA's Gboth or Gmain + Greg: with interval 1 the term joins the
    main phase's loss (one step); with a longer one it is a phase of its own on the same optimizer (lazy)."""
    if interval <= 1:
        return [replace(main, loss=(*main.terms, term))]
    return [main, Phase(name, main.optimizer, main.trains, loss=term, interval=interval)]


@contextlib.contextmanager
def frozen(modules: Sequence[nn.Module]) -> Iterator[None]:
    """requires_grad off for every parameter of `modules`, each put back as it was on exit (even on an error)."""
    params = [p for m in modules for p in m.parameters()]
    saved = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, saved):
            p.requires_grad_(flag)


@dataclass
class PhaseRunner:
    """Runs a task's declared phases, in order, for one training step; see the module doc."""

    task: Any  # the Task: its `runtime` and `optimizers` are read at each step (both may be set after building)
    phases: list[Phase]
    forward: Callable[[StepContext], None] | None = None  # shared forward before the phases, under autocast
    sync: tuple[nn.Module, ...] = ()  # networks whose buffers are averaged over processes after the last phase
    skipped: Counter = field(default_factory=Counter)  # phase name -> steps skipped for non-finite gradients

    def run(self, ctx: StepContext) -> Stats:
        """One training step: the forward, each due phase, the buffer sync; returns the phases' statistics."""
        rt = self.task.runtime
        if self.forward is not None:
            with rt.autocast():
                self.forward(ctx)
        stats: Stats = {}
        for phase in self.phases:
            if phase.due(ctx):
                stats.update(self.run_phase(phase, ctx))
        for module in self.sync:
            rt.sync_buffers(module)
        return stats

    def run_phase(self, phase: Phase, ctx: StepContext) -> Stats:
        """Loss, backward and optimizer step of one phase, with its networks frozen; returns its statistics."""
        rt = self.task.runtime
        optimizer = self.task.optimizers[phase.optimizer]
        stats: Stats = {}
        with frozen(phase.frozen):
            loss: torch.Tensor | None = None
            for term in phase.terms:
                with rt.autocast() if term.autocast else contextlib.nullcontext():
                    value, term_stats = term.fn(ctx)
                stats.update(term_stats)
                loss = value if loss is None else loss + value
            assert loss is not None, f"phase {phase.name} has no loss terms"
            if phase.interval > 1:
                loss = loss * phase.interval  # the regulariser's weight per step, as if it ran on every step
            rt.backward(loss, optimizer)
            before = len(rt.skipped)
            rt.step(optimizer, phase.trains)
            if len(rt.skipped) > before:
                self.skipped[phase.name] += 1
        for module in phase.sync:
            rt.sync_buffers(module)
        return stats
