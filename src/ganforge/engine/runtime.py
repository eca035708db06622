"""What the trainer hands a task: device, autocast, backward and optimizer steps across processes.

Gradients are all-reduced by hand (as StyleGAN2-ADA does) rather than through a DDP wrapper,
because a GAN step runs several forward passes and freezes networks between phases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from accelerate import Accelerator
from torch import nn


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """True when no tensor holds an inf or NaN: one fused max-norm over all of them, one sync."""
    norms = torch._foreach_norm(tensors, float("inf"))  # NaN propagates through max; inf stays inf
    return bool(torch.isfinite(torch.stack(norms)).all())


def make_accelerator() -> Accelerator:
    """One Accelerator for the process: GPU when there is one, else CPU (multi-process over gloo).

    Accelerate only treats a torchrun launch on a machine without GPUs as multi-CPU when told `cpu=True`.
    """
    return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no")


class Runtime:
    """Device, precision and process facts for one training run."""

    def __init__(self, accelerator: Accelerator, precision: str) -> None:
        self.accelerator = accelerator
        self.device = accelerator.device
        self.precision = precision  # fp32 | bf16 | fp16
        self.world_size = accelerator.num_processes
        self.rank = accelerator.process_index
        self.is_main = accelerator.is_main_process
        self.scalers: dict[str, torch.amp.GradScaler] = {}  # fp16 loss scaling, one per optimizer
        self._names: dict[int, str] = {}
        self._network_names: dict[int, str] = {}
        # Set by engine.precision.compare_step_gradients: step() records the gradients instead of applying them.
        self.record_gradients: dict[str, list[torch.Tensor]] | None = None
        self.skipped: list[str] = []  # optimizers whose step was skipped for non-finite gradients, since last read
        self.policy: Any = None  # engine.precision.PrecisionPolicy, set by the trainer

    def register_networks(self, networks: dict[str, nn.Module]) -> None:
        """Name the task's networks, so recorded gradients and skipped steps can say whose they are."""
        self._network_names = {id(net): name for name, net in networks.items()}

    def register_optimizers(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """Name the task's optimizers so their loss scalers can be checkpointed by name."""
        self._names = {id(opt): name for name, opt in optimizers.items()}
        if self.precision == "fp16":
            self.scalers = {name: torch.amp.GradScaler(self.device.type) for name in optimizers}

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Mixed precision for the forward passes when asked for; a no-op in fp32."""
        if self.precision == "fp32":
            yield
            return
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        with torch.autocast(device_type=self.device.type, dtype=dtype):
            yield

    def _scaler(self, optimizer: torch.optim.Optimizer) -> torch.amp.GradScaler | None:
        if self.precision != "fp16":
            return None
        return self.scalers[self._names[id(optimizer)]]

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward pass, loss-scaled per optimizer in fp16."""
        scaler = self._scaler(optimizer)
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, module: nn.Module) -> None:
        """Average gradients over processes, step, and clear the gradients. A step whose gradients are not all
        finite is skipped (and named in `skipped`): one fused check, the same verdict on every process."""
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if self.world_size > 1:
            if grads:
                flat = torch.cat([g.flatten() for g in grads])
                dist.all_reduce(flat)
                flat /= self.world_size
                offset = 0
                for g in grads:
                    g.copy_(flat[offset : offset + g.numel()].view_as(g))
                    offset += g.numel()
        if self.record_gradients is not None:
            name = self._names.get(id(optimizer)) or self._network_names.get(id(module), type(module).__name__)
            self.record_gradients[f"{len(self.record_gradients)}:{name}"] = [g.detach().clone() for g in grads]
            optimizer.zero_grad(set_to_none=True)
            return
        scaler = self._scaler(optimizer)
        if scaler is None and grads and not all_finite(grads):  # fp16's scaler skips overflowing steps itself
            self.skipped.append(self._names.get(id(optimizer), "optimizer"))
            optimizer.zero_grad(set_to_none=True)
            return
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum of `tensor` over processes (itself with one process); used for ADA's statistics."""
        if self.world_size <= 1:
            return tensor
        out = tensor.to(self.device).clone()
        dist.all_reduce(out)
        return out.cpu()

    def sync_buffers(self, module: nn.Module) -> None:
        """Average floating buffers (batch-norm statistics) so every process holds the same model."""
        if self.world_size <= 1:
            return
        for buf in module.buffers():
            if buf.is_floating_point():
                dist.all_reduce(buf)
                buf /= self.world_size
