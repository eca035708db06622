"""Exponential moving average of the generator's weights (Karras et al.), with StyleGAN's ramp-up, and the
standing batch-norm statistics (Brock et al., BigGAN) that such averaged weights need."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


class EMA:
    """Keeps `shadow`, an averaged copy of `source`, with a half-life counted in images."""

    def __init__(
        self,
        source: nn.Module,  # the network being trained
        half_life_kimg: float = 10.0,  # images for the weight of the past to halve, in thousands
        rampup: float | None = 0.05,  # half-life capped at this fraction of images shown so far
    ) -> None:
        self.source = source
        self.half_life_kimg = half_life_kimg
        self.rampup = rampup
        self.shadow = copy.deepcopy(source).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, batch_size: int, images_shown: int) -> None:
        """Blend the source into the shadow after a step of `batch_size` images."""
        half_life = self.half_life_kimg * 1000
        if self.rampup is not None and self.rampup > 0:
            half_life = min(half_life, images_shown * self.rampup)
        beta = 0.5 ** (batch_size / max(half_life, 1e-8)) if half_life > 0 else 0.0
        src = [p for p in self.source.parameters()]
        dst = [p for p in self.shadow.parameters()]
        torch._foreach_lerp_(dst, src, 1.0 - beta)
        for b_dst, b_src in zip(self.shadow.buffers(), self.source.buffers()):
            b_dst.copy_(b_src)


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch-norm layers of `net` (DCGAN, VGAN and LaMa generators have them; StyleGAN2 does not)."""
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batch_norm(net: nn.Module, forward: Callable[[int], object], batches: int) -> None:
    """Standing statistics: reset `net`'s batch-norm running statistics and average them, with equal weights, over
    `batches` forward passes in train mode (`forward(i)` runs batch i). The EMA's averaged weights never produced
    the live network's statistics that `EMA.update` copies, so the shadow is sampled, evaluated and saved with these."""
    norms = batch_norms(net)
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    was_training = net.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    net.train()
    try:
        for i in range(batches):
            forward(i)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        net.train(was_training)
