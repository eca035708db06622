"""GAN inversion by optimisation (iGAN's projection): the latent whose image is closest to a given one.

StyleGAN2 is inverted in W+ (one w per layer, from the average w, as PTI's and e4e's baselines start), with the fixed
noise; generators without a w space (DCGAN, R3GAN) in z, from the best of a few random starts. The loss is pixel MSE
plus the L1 between the FID Inception stem's activations (`losses.perceptual`: no LPIPS weights can be had here).

    inversion = invert(ganforge.load(run), image, steps=300)
    inversion.reconstruction        # uint8 [R, R, C]
    save_latent(inversion, pipe, "latent.safetensors")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError

SPACES = ("w+", "z")
PERCEPTUAL_SIDE = 64  # images are compared by the Inception stem at least this large (it needs 20 px and more)


@dataclass
class Inversion:
    """A latent, the space it lives in, what the generator draws from it, and the loss along the way."""

    latent: torch.Tensor  # w+: [num_ws, w_dim]; z: [z_dim]
    space: str
    reconstruction: np.ndarray  # uint8 [R, R, C]
    losses: list[float] = field(default_factory=list)


def space_of(generator: torch.nn.Module) -> str:
    return "w+" if hasattr(generator, "mapping") else "z"


def draw(generator: torch.nn.Module, latent: torch.Tensor, space: str) -> torch.Tensor:
    """Images [N, C, R, R] (about [-1, 1]) from latents [N, ...] of `space`; StyleGAN2 with its fixed noise."""
    if space == "w+":
        return generator.synthesis(latent, "const")
    return generator(latent, None)


def target_tensor(image: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
    """uint8 [H, W] or [H, W, C] (alpha dropped, over white) -> [1, channels, R, R] in [-1, 1], resized (bicubic)."""
    from PIL import Image

    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.dtype != np.uint8:
        raise GanforgeError(f"invert takes a uint8 image [H, W] or [H, W, C], got {array.dtype} {array.shape}")
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255
        array = np.round(array[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array[:, :, :3])
    pil = pil.convert("L" if channels == 1 else "RGB")
    if pil.size != (resolution, resolution):
        pil = pil.resize((resolution, resolution), Image.BICUBIC)
    out = np.asarray(pil, dtype=np.float32).reshape(resolution, resolution, channels)
    return torch.from_numpy(out / 127.5 - 1).permute(2, 0, 1)[None]


class ReconstructionLoss(torch.nn.Module):
    """MSE + weight * the Inception stem's L1 (both images enlarged to PERCEPTUAL_SIDE when smaller)."""

    def __init__(self, perceptual_weight: float, device: torch.device) -> None:
        super().__init__()
        self.weight = perceptual_weight
        self.perceptual = None
        if perceptual_weight > 0:
            from ganforge.losses.perceptual import InceptionPerceptualLoss

            self.perceptual = InceptionPerceptualLoss(device=device)

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.mse_loss(image, target)
        if self.perceptual is not None:
            if image.shape[-1] < PERCEPTUAL_SIDE:
                size = (PERCEPTUAL_SIDE, PERCEPTUAL_SIDE)
                image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
                target = F.interpolate(target, size=size, mode="bilinear", align_corners=False)
            loss = loss + self.weight * self.perceptual(image, target)
        return loss


def starting_latent(generator: torch.nn.Module, space: str, target: torch.Tensor, starts: int, seed: int,
                    loss_fn: ReconstructionLoss) -> torch.Tensor:
    """W+: the average w on every layer. z: of `starts` seeded draws, the one whose image is closest."""
    if space == "w+":
        w_avg = generator.mapping.w_avg.detach().float()
        return w_avg[None, None].repeat(1, generator.num_ws, 1)
    g = torch.Generator().manual_seed(seed)
    candidates = torch.randn(starts, generator.z_dim, generator=g).to(target.device)
    with torch.no_grad():
        losses = [float(loss_fn(draw(generator, z[None], space), target)) for z in candidates]
    return candidates[int(np.argmin(losses))][None]


def invert(pipe: Any, image: np.ndarray, steps: int = 300, lr: float = 0.03, perceptual_weight: float = 1.0,
           starts: int = 8, seed: int = 0, progress: Callable[[int, int], None] | None = None) -> Inversion:
    """The latent of `pipe`'s generator whose image is closest to `image` (any size: resized to the model's)."""
    generator = getattr(pipe, "generator", None)
    if generator is None or pipe.config.get("pipeline") != "image":
        raise GanforgeError("inversion takes an image generator (ganforge train image: dcgan, stylegan2, r3gan)")
    if getattr(pipe, "runtime", "torch") != "torch":
        raise GanforgeError("inversion needs the model's gradients: load it with runtime='torch'")
    if pipe.class_names:
        raise GanforgeError("inversion of class-conditional generators is not supported yet; use an unconditional one")
    if steps < 1:
        raise GanforgeError(f"steps must be at least 1, got {steps}")
    device = next(generator.parameters()).device
    space = space_of(generator)
    target = target_tensor(image, pipe.resolution, pipe.channels).to(device)
    loss_fn = ReconstructionLoss(perceptual_weight, device)
    latent = starting_latent(generator, space, target, starts, seed, loss_fn).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([latent], lr=lr)
    losses = []
    generator.requires_grad_(False)
    for step in range(steps):
        for group in optimiser.param_groups:  # StyleGAN2's projector: a short ramp-down at the end
            group["lr"] = lr * min(1.0, (steps - step) / max(1, steps // 4))
        loss = loss_fn(draw(generator, latent, space), target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, steps)
    with torch.no_grad():
        picture = draw(generator, latent.detach(), space).float().clamp(-1, 1)
    from ganforge.imaging import tensor_to_uint8

    return Inversion(latent.detach()[0].cpu(), space, tensor_to_uint8(picture.cpu())[0], losses)


def save_latent(inversion: Inversion, pipe: Any, path: Path, settings: dict[str, Any] | None = None) -> Path:
    """The latent as safetensors ("latent"), with its space and the model's hash in the metadata."""
    from ganforge.engine.checkpoint import replace_safetensors

    meta = {"space": inversion.space, "model_hash": pipe.model_hash, "settings": json.dumps(settings or {})}
    return replace_safetensors({"latent": inversion.latent.contiguous()}, Path(path), meta)


def load_latent(path: Path, pipe: Any) -> tuple[torch.Tensor, str]:
    """(latent, space) from `save_latent`'s file; a one-line error when it belongs to another model."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"latent file {path} does not exist (make one with `ganforge invert`)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            latent = f.get_tensor("latent")
    except Exception as exc:
        raise GanforgeError(f"cannot read latent file {path}: {exc}") from None
    if meta.get("model_hash") not in (None, pipe.model_hash):
        raise GanforgeError(f"{path} was inverted with another model (hash {meta['model_hash'][:12]}...)")
    space = meta.get("space", "")
    if space != space_of(pipe.generator):
        raise GanforgeError(f"{path} holds a {space or '?'} latent; this model's is {space_of(pipe.generator)}")
    return latent, space
