"""ADA (Karras et al., 2020): adaptive discriminator augmentation for small data sets.

Each transform of the 'bgc' pipeline (flips, 90-degree rotations, integer translation; isotropic
and anisotropic scaling, rotation, fractional translation; brightness, contrast, luma flip, hue,
saturation) is applied to each image with probability p. p follows an overfitting heuristic,
r_t = E[sign(D(real))]: it rises while r_t is above the target and falls below it.

The geometric transforms are composed into one affine matrix per image and applied with one
bilinear `grid_sample` with reflection padding; ADA's anti-aliasing upsampling filter is left out,
which matters little at the small sizes this engine trains on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.augment.base import AUGMENTS, Augment
from ganforge.augment.grid_sample import warp


def _eye(n: int, size: int, device: torch.device) -> torch.Tensor:
    return torch.eye(size, device=device).repeat(n, 1, 1)


def _translate(t: torch.Tensor) -> torch.Tensor:  # t: [N, 2] -> [N, 3, 3]
    m = _eye(t.shape[0], 3, t.device)
    m[:, :2, 2] = t
    return m


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:  # [N] each -> [N, 3, 3]
    m = _eye(sx.shape[0], 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate(theta: torch.Tensor) -> torch.Tensor:  # [N] -> [N, 3, 3]
    m = _eye(theta.shape[0], 3, theta.device)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


class AdaptiveAugment(Augment):
    """ADA's 'bgc' augmentations at strength p, with p adapted towards a target overfitting signal."""

    def __init__(
        self,
        target: float = 0.6,  # r_t that p is steered towards
        speed_kimg: float = 100.0,  # p can move from 0 to 1 within this many kimg (ADA: 500 for long runs)
        interval: int = 4,  # adjust p every N steps
        p: float = 0.0,  # starting probability
        max_p: float = 1.0,  # ceiling on p
    ) -> None:
        self.target, self.speed_kimg, self.interval = target, speed_kimg, interval
        self.p, self.max_p = float(p), max_p
        self._signal_sum = 0.0
        self._signal_count = 0.0
        self._steps = 0
        self._images = 0
        self.last_rt = float("nan")

    # ------------------------------------------------------------------------------ augmentation
    def _chance(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.rand(n, device=device) < self.p  # [N] bool

    def _geometric(self, n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
        """Per-image matrices [N, 3, 3] from output to input coordinates in [-1, 1] units."""
        one = torch.ones(n, device=device)
        m = _eye(n, 3, device)
        flip = torch.where(self._chance(n, device), torch.randint(0, 2, (n,), device=device).float(), 0.0)
        m = m @ _scale(1 - 2 * flip, one)
        quarter = torch.where(self._chance(n, device), torch.randint(0, 4, (n,), device=device).float(), 0.0)
        m = m @ _rotate(quarter * (math.pi / 2))
        shift = (torch.rand(n, 2, device=device) * 2 - 1) * 0.125
        pixels = torch.tensor([w, h], device=device, dtype=torch.float32)
        shift = torch.round(shift * pixels) / pixels * 2  # whole pixels, in [-1, 1] units
        m = m @ _translate(torch.where(self._chance(n, device)[:, None], shift, 0.0))
        iso = torch.where(self._chance(n, device), torch.exp2(torch.randn(n, device=device) * 0.2), 1.0)
        m = m @ _scale(iso, iso)
        angle = torch.where(self._chance(n, device), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)
        m = m @ _rotate(angle)
        aniso = torch.where(self._chance(n, device), torch.exp2(torch.randn(n, device=device) * 0.2), 1.0)
        m = m @ _scale(aniso, 1 / aniso)
        frac = torch.randn(n, 2, device=device) * 0.125 * 2
        return m @ _translate(torch.where(self._chance(n, device)[:, None], frac, 0.0))

    def _colour(self, n: int, channels: int, device: torch.device) -> torch.Tensor:
        """Per-image affine colour matrices [N, 4, 4] acting on (r, g, b, 1); grey images use the luma part."""
        c = _eye(n, 4, device)
        bright = torch.where(self._chance(n, device), torch.randn(n, device=device) * 0.2, 0.0)
        c = _translate4(bright) @ c
        contrast = torch.where(self._chance(n, device), torch.exp2(torch.randn(n, device=device) * 0.5), 1.0)
        c = _scale4(contrast) @ c
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)  # luma axis
        vv = torch.outer(v, v)
        flip = torch.where(self._chance(n, device), torch.randint(0, 2, (n,), device=device).float(), 0.0)
        c = (torch.eye(4, device=device) - 2 * vv * flip[:, None, None]) @ c
        if channels == 3:
            hue = torch.where(self._chance(n, device), (torch.rand(n, device=device) * 2 - 1) * math.pi, 0.0)
            c = _rotate_about(v[:3], hue) @ c
            sat = torch.where(self._chance(n, device), torch.exp2(torch.randn(n, device=device)), 1.0)
            c = (vv + (torch.eye(4, device=device) - vv) * sat[:, None, None]) @ c
        return c

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.p <= 0:
            return x
        n, ch, h, w = x.shape  # [N, C, H, W]
        theta = self._geometric(n, h, w, x.device)[:, :2, :].to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = warp(x, grid)  # twice differentiable on CUDA too, for R1 through the augmentation
        c = self._colour(n, ch, x.device).to(x.dtype)
        if ch == 3:
            x = torch.einsum("nij,njhw->nihw", c[:, :3, :3], x) + c[:, :3, 3, None, None]
        else:  # grey: brightness, contrast and luma flip act on the one channel
            gain = c[:, 0, 0] + c[:, 0, 1] + c[:, 0, 2]
            x = x * gain[:, None, None, None] + c[:, 0, 3, None, None, None]
        return x

    # ------------------------------------------------------------------------------ adaptation
    def observe(self, real_signal: torch.Tensor) -> None:
        signs = torch.sign(real_signal.detach().float())
        self._signal_sum = self._signal_sum + signs.sum()
        self._signal_count += signs.numel()

    def adapt(self, images: int, all_sum: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        self._steps += 1
        self._images += images
        if self._steps % self.interval:
            return {}
        signal_sum = torch.as_tensor(self._signal_sum, dtype=torch.float64)  # on D's device once observed
        count = torch.as_tensor(self._signal_count, dtype=torch.float64, device=signal_sum.device)
        totals = all_sum(torch.stack([signal_sum, count]))
        self._signal_sum, self._signal_count = 0.0, 0.0
        if totals[1] > 0:
            self.last_rt = float(totals[0] / totals[1])
            step = self._images / (self.speed_kimg * 1000)
            self.p = float(min(max(self.p + math.copysign(step, self.last_rt - self.target), 0.0), self.max_p))
        self._images = 0
        return {"Augment/p": self.p, "Augment/rt": self.last_rt}

    def state(self) -> dict[str, Any]:
        return {"p": self.p, "steps": self._steps, "images": self._images,
                "signal_sum": float(self._signal_sum), "signal_count": self._signal_count}

    def load_state(self, state: dict[str, Any]) -> None:
        self.p = float(state.get("p", self.p))
        self._steps = int(state.get("steps", 0))
        self._images = int(state.get("images", 0))
        self._signal_sum = float(state.get("signal_sum", 0.0))
        self._signal_count = float(state.get("signal_count", 0.0))


def _translate4(b: torch.Tensor) -> torch.Tensor:
    m = _eye(b.shape[0], 4, b.device)
    m[:, :3, 3] = b[:, None]
    return m


def _scale4(s: torch.Tensor) -> torch.Tensor:
    m = _eye(s.shape[0], 4, s.device)
    m[:, 0, 0] = m[:, 1, 1] = m[:, 2, 2] = s
    return m


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rotation by theta [N] about a unit 3-vector, as [N, 4, 4] (Rodrigues' formula)."""
    x, y, z = axis.tolist()
    k = torch.tensor([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]], device=theta.device)
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    r = torch.eye(3, device=theta.device) + s * k + (1 - c) * (k @ k)
    m = _eye(theta.shape[0], 4, theta.device)
    m[:, :3, :3] = r
    return m


AUGMENTS.register("ada")(AdaptiveAugment)
