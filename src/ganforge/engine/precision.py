"""The precision policy: which networks and layers run under bf16/fp16 autocast, and the check that earns it.

CPU flags say only that bf16 is fast, not that it is right: PyTorch's CPU bf16 path computes the weight gradients
of Conv3d/ConvTranspose3d wrongly for some clip shapes (2 frames under a kernel of 3: relative errors of 1 to 1e36,
no NaN needed). So the runtime pins such layers to fp32 on the devices where they are suspect, and `auto` runs one
step of the task in fp32 and in bf16 on its own networks and batch, and keeps bf16 only when the gradients agree.
"""

from __future__ import annotations

import copy
import os
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.errors import ConfigError

PRECISION_ENV = "GANFORGE_PRECISION"  # forces what `--precision auto` means (fp32 | bf16 | fp16), without the check
# The largest relative error of any weight's bf16 gradient against fp32 that auto accepts. Sound bf16 steps of our
# networks measure 0.01-0.56 (tests/nets/test_precision.py; the CycleGAN generators are the worst); the CPU bug
# gives 0.97 to 1e36 or NaN: an error near 1 means the bf16 gradient says nothing about the true one.
PROBE_TOLERANCE = 0.8
SIGNIFICANT = 0.01  # weights whose fp32 gradient norm is below this fraction of the step's largest are not judged

# Layer types kept in fp32 under autocast, per device type, until shown right there (tests/nets/test_precision.py).
PINNED_ON_DEVICE: dict[str, tuple[type[nn.Module], ...]] = {"cpu": (nn.Conv3d, nn.ConvTranspose3d)}


def forced_precision() -> str | None:
    """The precision GANFORGE_PRECISION forces on `auto`, or None; a bad value is a one-line error."""
    value = os.environ.get(PRECISION_ENV, "").strip().lower()
    if not value or value == "auto":
        return None
    if value not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"{PRECISION_ENV}={value!r} is not a precision; use fp32, bf16, fp16 or auto")
    return value


class _FP32Forward:
    """Mixed into a layer's class: its forward runs with autocast off, on fp32 inputs, whatever the caller's dtype."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        device = next((a.device.type for a in args if isinstance(a, torch.Tensor)), "cpu")
        if not torch.is_autocast_enabled(device):
            return super().forward(*args, **kwargs)  # type: ignore[misc]
        args = tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
        with torch.autocast(device_type=device, enabled=False):
            return super().forward(*args, **kwargs)  # type: ignore[misc]


_FP32_CLASSES: dict[type, type] = {}


def keep_fp32(module: nn.Module) -> nn.Module:
    """Make `module` run in fp32 under autocast. Swaps its class for a subclass, so weights, state-dict keys and
    deep copies (the EMA) are unchanged."""
    cls = type(module)
    if issubclass(cls, _FP32Forward):
        return module
    if cls not in _FP32_CLASSES:
        _FP32_CLASSES[cls] = type(f"FP32{cls.__name__}", (_FP32Forward, cls), {"__module__": cls.__module__})
    module.__class__ = _FP32_CLASSES[cls]
    return module


def runs_in_fp32(module: nn.Module) -> bool:
    """True for layers that run in fp32 under autocast: pinned by the policy, or fp32 by design (`keeps_fp32`)."""
    return isinstance(module, _FP32Forward) or bool(getattr(module, "keeps_fp32", False))


@dataclass
class PrecisionPolicy:
    """What one run computes in: the autocast dtype, and per network what stays fp32 and why."""

    precision: str  # fp32 | bf16 | fp16: the autocast dtype of the forward passes (fp32: no autocast)
    reason: str  # how it was chosen, for config.json and report.html
    pinned: tuple[str, ...] = ()  # layer types kept in fp32 under autocast on this device
    fp32_networks: tuple[str, ...] = ()  # networks run wholly in fp32
    networks: dict[str, str] = field(default_factory=dict)  # name -> what it runs in, filled by apply()

    def apply(self, networks: dict[str, nn.Module], device: torch.device) -> None:
        """Pin this device's suspect layers (and any fp32 networks) to fp32; describe each network's precision."""
        pinned_types = PINNED_ON_DEVICE.get(device.type, ()) if self.precision != "fp32" else ()
        self.pinned = tuple(t.__name__ for t in pinned_types)
        for name, net in networks.items():
            if self.precision == "fp32" or name in self.fp32_networks:
                if self.precision != "fp32":
                    keep_fp32(net)
                self.networks[name] = "fp32"
                continue
            for module in net.modules():
                if isinstance(module, pinned_types):
                    keep_fp32(module)
            self.networks[name] = describe(net, self.precision)

    def summary(self) -> dict[str, Any]:
        """JSON for config.json, the checkpoint state and report.html."""
        return {"autocast": self.precision, "reason": self.reason, "networks": dict(self.networks),
                "fp32_layers_on_device": list(self.pinned)}


def describe(net: nn.Module, precision: str) -> str:
    """'bf16', 'fp32', or 'bf16, fp32 in 3 of 7 layers (Conv3d, FourierUnit)': what `net` computes in."""
    layers = list(_weight_layers(net))
    fp32 = [kind for _, kind in layers if kind is not None]
    if not fp32:
        return precision
    if len(fp32) == len(layers):
        return "fp32"
    return f"{precision}, fp32 in {len(fp32)} of {len(layers)} layers ({', '.join(sorted(set(fp32)))})"


def _weight_layers(module: nn.Module, fp32_block: str | None = None):  # noqa: ANN202 (a generator of pairs)
    """(convolution or linear layer, the name of what keeps it in fp32 or None) for every such layer in `module`."""
    if fp32_block is None and runs_in_fp32(module):
        fp32_block = type(module).__name__.removeprefix("FP32")
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        yield module, fp32_block
        return
    for child in module.children():
        yield from _weight_layers(child, fp32_block)


def worst_relative_error(test: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """The largest per-tensor relative error among the weight matrices and kernels (2+ dimensions) that carry the
    gradient (>= SIGNIFICANT of the largest norm): one wrong layer shows even in a network whose other layers are
    right. Biases and scalars (StyleGAN2's noise strengths) are left out: their gradients are sums that nearly
    cancel, which bf16 rounds coarsely even when every kernel is right. inf when anything is not finite."""
    if len(test) != len(reference):
        return float("inf")
    if not reference:
        return 0.0
    ref_norms = torch.stack([r.float().norm() for r in reference])
    errors = torch.stack([(t.float() - r.float()).norm() for t, r in zip(test, reference)]) / ref_norms.clamp_min(1e-30)
    if not bool(torch.isfinite(errors).all()):
        return float("inf")
    kernels = torch.tensor([r.dim() >= 2 for r in reference])
    if not bool(kernels.any()):
        kernels = torch.ones_like(kernels)
    keep = kernels & (ref_norms >= SIGNIFICANT * ref_norms[kernels].max())
    return float(errors[keep].max())


@dataclass
class ProbeResult:
    """One step's weight gradients in bf16 against fp32, per optimizer step of the task (e.g. 'D', 'G')."""

    errors: dict[str, float]  # "<i>:<optimizer>" -> worst relative error of its weight gradients (one per step)
    tolerance: float = PROBE_TOLERANCE

    @property
    def worst(self) -> tuple[str, float]:
        return max(self.errors.items(), key=lambda kv: kv[1]) if self.errors else ("", 0.0)

    @property
    def agrees(self) -> bool:
        return self.worst[1] <= self.tolerance


def compare_step_gradients(
    task: Any,  # a Task with networks, optimizers and a runtime (engine.runtime.Runtime)
    batch: dict[str, torch.Tensor],  # the batch of the step to compare
    step: int,  # the step's index (decides lazy regularisers and pre-training phases)
    precision: str = "bf16",  # the precision to test against fp32
    tolerance: float = PROBE_TOLERANCE,
) -> ProbeResult:
    """Run `task.train_step` once in fp32 and once in `precision` from the same state and noise, recording the
    gradients each optimizer step would apply instead of applying them, then put everything back as it was."""
    runtime = task.runtime
    snapshot = _snapshot(task)
    recorded: dict[str, dict[str, list[torch.Tensor]]] = {}
    saved_precision = runtime.precision
    try:
        for p in ("fp32", precision):
            _restore(task, snapshot)
            runtime.precision = p
            runtime.record_gradients = {}
            task.train_step(batch, step)
            recorded[p] = runtime.record_gradients
    finally:
        runtime.precision = saved_precision
        runtime.record_gradients = None
        _restore(task, snapshot)
    errors = {key: worst_relative_error(recorded[precision].get(key, []), grads) for key, grads in recorded["fp32"].items()}
    return ProbeResult(errors=errors, tolerance=tolerance)


@dataclass
class _Snapshot:
    weights: dict[str, dict[str, torch.Tensor]]
    extra: dict[str, Any]
    rng: tuple[Any, ...]


def _snapshot(task: Any) -> _Snapshot:
    """What one train_step may change, captured as for an exact resume: weights and buffers, the task's extra
    state, and the RNG streams (optimizers are never stepped while recording)."""
    weights = {name: {k: v.detach().clone() for k, v in net.state_dict().items()} for name, net in task.networks.items()}
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    rng = (torch.get_rng_state(), cuda, np.random.get_state(), random.getstate())
    return _Snapshot(weights, copy.deepcopy(task.extra_state()), rng)


def _restore(task: Any, snap: _Snapshot) -> None:
    for name, net in task.networks.items():
        net.load_state_dict(snap.weights[name])
        for p in net.parameters():
            p.grad = None
    task.load_extra_state(copy.deepcopy(snap.extra))
    torch_state, cuda, np_state, py_state = snap.rng
    torch.set_rng_state(torch_state)
    if cuda:
        torch.cuda.set_rng_state_all(cuda)
    np.random.set_state(np_state)
    random.setstate(py_state)


def attach_standalone_runtime(task: Any, precision: str = "bf16", pin: bool = True) -> PrecisionPolicy:
    """Give a task built outside the trainer (tests, benchmarks) a one-process runtime in `precision`, as the trainer
    would; with `pin`, this device's precision policy too. Returns the policy (what runs in what)."""
    from ganforge.engine.runtime import Runtime, make_accelerator

    runtime = Runtime(make_accelerator(), precision)
    task.attach(runtime)
    runtime.register_optimizers(task.optimizers)
    runtime.register_networks(task.networks)
    policy = PrecisionPolicy(precision, "standalone")
    if pin:
        policy.apply(task.networks, runtime.device)
    runtime.policy = policy
    return policy
