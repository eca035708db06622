"""Training the watermark codec: random payloads marked on real images, edited, folded, aligned and read back.

Each step marks a batch at 64 or 128 px (single images, or 2 x 2 grids as `ganforge sample` writes them; half the
128-px batches with the tile at twice its size and read at half size, as large images are), rounds to 8 bits,
applies a real codec (JPEG 50-95 or a GIF palette, straight through) and then, each with its own
chance, a crop keeping 50-100% of the area, a resize by 0.5-1.5 and back (as reading's scale search does), a
blur, noise and a differentiable JPEG; the loss is the bits' cross-entropy plus the pilot's: the true shift
among the 1,024 on the tile must win the correlation, so that reading finds it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.provenance import attacks
from ganforge.provenance.watermark import (
    LARGE_FACTOR,
    TARGET_PSNR,
    TILE,
    WatermarkCodec,
    circular_correlation,
    luma,
    weighted_fold,
)


@dataclass
class WatermarkTrainConfig:
    steps: int = 20_000
    batch: int = 32
    lr: float = 1e-3
    psnr: float = TARGET_PSNR
    seed: int = 0
    pilot_weight: float = 0.5
    log_every: int = 100
    jpeg_chance: float = 0.45  # of a step's real codec being JPEG (a GIF palette takes the next 0.2)
    resize_chance: float = 0.4  # of a resize (half of them shrinks to 0.5-0.7: the hard case)


def real_images(resolution: int, sources: tuple[str, ...] = ("emoji", "emoji-twitter", "photos", "mnist"),
                limit: int = 4000) -> torch.Tensor:
    """Up to `limit` images of each built-in set at `resolution`, as uint8 [N, 3, R, R] (grey repeated)."""
    from ganforge.data.resolve import resolve_dataset

    chunks = []
    for name in sources:
        images = torch.from_numpy(resolve_dataset(name, resolution).images[:limit]).permute(0, 3, 1, 2)
        chunks.append(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images[:, :3])
    return torch.cat(chunks)


def grid_of_four(images: torch.Tensor) -> torch.Tensor:
    """[4k, C, R, R] -> [k, C, 2R + 6, 2R + 6]: 2 x 2 grids with white 2-pixel borders, as `make_grid` draws."""
    k = images.shape[0] // 4
    padded = F.pad(images[: 4 * k].float(), (2, 0, 2, 0), value=255.0)
    rows = padded.view(k, 2, 2, *padded.shape[1:]).permute(0, 3, 1, 4, 2, 5)
    c, s = padded.shape[1], padded.shape[2]
    grid = rows.reshape(k, c, 2 * s, 2 * s)
    return F.pad(grid, (0, 2, 0, 2), value=255.0)


def true_shift(top: int, left: int) -> torch.Tensor:
    """Where the pilot's correlation peaks after a crop from (top, left): the tile's origin moved up and left."""
    return torch.tensor([(-top) % TILE, (-left) % TILE])


class Edits:
    """The random edits of one training step, drawn from one generator (reproducible)."""

    def __init__(self, generator: torch.Generator, jpeg_chance: float = WatermarkTrainConfig.jpeg_chance,
                 resize_chance: float = WatermarkTrainConfig.resize_chance) -> None:
        self.g = generator
        self.jpeg_chance, self.resize_chance = jpeg_chance, resize_chance

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.g))

    def chance(self, p: float) -> bool:
        return float(torch.rand((), generator=self.g)) < p

    def codec(self, images: torch.Tensor) -> torch.Tensor:
        """A real JPEG (`jpeg_chance`; quality 50-95, low ones more often), a GIF palette (20%) or nothing."""
        draw = float(torch.rand((), generator=self.g))
        if draw < self.jpeg_chance:
            return attacks.jpeg(images, round(50 + 45 * self.uniform(0, 1) ** 2))  # low qualities more often
        if draw < self.jpeg_chance + 0.2:
            return attacks.gif_palette(images)
        return images

    def luminance(self, y: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Crop, resize and back, blur, noise, soft JPEG, each by chance; returns y and the crop's corner."""
        corner = (0, 0)
        if self.chance(0.4):
            y, corner = attacks.crop(y, self.uniform(0.5, 1.0), self.g)
        if self.chance(self.resize_chance):
            scale = self.uniform(0.5, 0.7) if self.chance(0.5) else self.uniform(0.7, 1.5)  # shrinking is harder
            small = attacks.resize(y, scale)
            back = scale * self.uniform(0.995, 1.005)  # reading's scale search is this close
            y = F.interpolate(small, size=(max(8, round(small.shape[2] / back)), max(8, round(small.shape[3] / back))),
                              mode="bilinear", align_corners=False, antialias=back > 1)
        if self.chance(0.15):
            y = attacks.gaussian_blur(y, self.uniform(0.4, 1.5))
        if self.chance(0.2):
            y = y + torch.randn(y.shape, generator=self.g) * self.uniform(1.0, 5.0)
        if self.chance(0.2):
            y = attacks.jpeg_luma_soft(y, round(self.uniform(50, 95)))
        return y, corner


def step_loss(codec: WatermarkCodec, images: torch.Tensor, edits: Edits, config: WatermarkTrainConfig,
              factor: int = 1) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch's loss: mark (the tile `factor` times its size), round, encode, shrink by `factor`, edit, read with
    the true alignment; plus the pilot's shift cross-entropy."""
    bits = (torch.rand(images.shape[0], codec.n_bits, generator=edits.g) < 0.5).float()
    marked = codec.mark(images.float(), bits, config.psnr, factor=factor)
    marked = attacks.straight_through(marked, marked.round())
    y = luma(edits.codec(marked))
    if factor > 1:
        y = F.interpolate(y, scale_factor=1 / factor, mode="bilinear", align_corners=False, antialias=True)
    y, (top, left) = edits.luminance(y)
    folded = weighted_fold(codec.filtered(y))
    target = true_shift(top, left)
    aligned = torch.roll(folded, shifts=(-int(target[0]), -int(target[1])), dims=(2, 3))
    logits = codec.read_aligned(aligned)
    bit_loss = F.binary_cross_entropy_with_logits(logits, bits)
    corr = circular_correlation(folded[:, 0], codec.pilot_filtered()).flatten(1)
    corr = corr / corr.std(dim=1, keepdim=True).clamp(min=1e-6)
    index = (target[0] * TILE + target[1]).expand(images.shape[0])
    pilot_loss = F.cross_entropy(corr * 2.0, index)
    found = (corr.argmax(dim=1) == index).float().mean()
    accuracy = ((logits > 0).float() == bits).float().mean()
    loss = bit_loss + config.pilot_weight * pilot_loss
    return loss, {"loss": float(loss.detach()), "bit_acc": float(accuracy), "pilot_found": float(found)}


def train_codec(config: WatermarkTrainConfig, out: Path, codec: WatermarkCodec | None = None, start_step: int = 0,
                minutes: float | None = None, log: Callable[[str], None] = print,
                images: tuple[torch.Tensor, torch.Tensor] | None = None) -> WatermarkCodec:
    """Train (or go on training) a codec and save it to `out` (safetensors) every 500 steps and at the end.

    `images`: (64-px, 128-px) uint8 [N, 3, R, R] to mark; by default the built-in sets (`real_images`).
    """
    from ganforge.provenance.weights import save_codec

    torch.manual_seed(config.seed)
    codec = codec or WatermarkCodec()
    small, large = images or (real_images(64), real_images(128, sources=("photos",)))
    optimiser = torch.optim.Adam(codec.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(config.seed * 7919 + start_step)
    edits = Edits(g, config.jpeg_chance, config.resize_chance)
    started = time.monotonic()
    running: dict[str, float] = {}
    step = start_step
    for step in range(start_step, config.steps):
        lr = config.lr * 0.5 * (1 + math.cos(math.pi * step / config.steps))
        for group in optimiser.param_groups:
            group["lr"] = lr
        draw, factor = float(torch.rand((), generator=g)), 1
        if draw < 0.5:
            images = small[torch.randint(0, len(small), (config.batch,), generator=g)]
        elif draw < 0.75:
            images = grid_of_four(small[torch.randint(0, len(small), (config.batch * 4,), generator=g)])
        else:
            images = large[torch.randint(0, len(large), (config.batch,), generator=g)]
            factor = LARGE_FACTOR if draw > 0.875 else 1
        loss, stats = step_loss(codec, images, edits, config, factor)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        for k, v in stats.items():
            running[k] = running.get(k, v) * 0.98 + v * 0.02
        if (step + 1) % config.log_every == 0:
            log(f"step {step + 1} " + " ".join(f"{k} {v:.4f}" for k, v in running.items())
                + f" lr {lr:.2e} {time.monotonic() - started:.0f}s")
        if (step + 1) % 500 == 0:
            save_codec(codec, out, {"steps": str(step + 1), "psnr": str(config.psnr)})
        if minutes is not None and time.monotonic() - started > minutes * 60:
            break
    save_codec(codec, out, {"steps": str(step + 1), "psnr": str(config.psnr)})
    return codec
