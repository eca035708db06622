"""Edit directions in a generator's latent space, and moving a latent along one.

SeFa (Shen & Zhou, 2021), closed form and without labels: the directions a generator's first projection of the
latent stretches most are the eigenvectors of A^T A, A the weights that read the latent. For StyleGAN2, A stacks
every layer's style affine (w -> the channels it modulates), so a direction moves all layers' styles; for a DCGAN,
A is the first transposed convolution's weight (z -> the 4 x 4 features).
"""

from __future__ import annotations

import re
from typing import Any

import torch

from ganforge.editing.inversion import draw, space_of
from ganforge.errors import GanforgeError


def latent_reading_weight(generator: torch.nn.Module) -> torch.Tensor:
    """A [outputs, latent_dim]: the weights that first read the latent (see the module doc)."""
    if space_of(generator) == "w+":
        affines = [m.affine for m in generator.modules() if hasattr(m, "affine") and hasattr(m.affine, "weight")]
        return torch.cat([a.weight.detach().float() * getattr(a, "scale", 1.0) for a in affines])
    first = next((m for m in generator.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear))), None)
    if first is None:
        raise GanforgeError("this generator has no first linear or transposed-convolution layer to read SeFa from")
    weight = first.weight.detach().float()
    if isinstance(first, torch.nn.ConvTranspose2d):  # [z_dim, C, k, k]: each latent component's output pattern
        return weight.flatten(1).T
    return weight  # Linear: [out, z_dim]


def sefa_directions(generator: torch.nn.Module, k: int = 10) -> torch.Tensor:
    """The k unit directions [k, latent_dim] the generator's latent reading stretches most, strongest first."""
    a = latent_reading_weight(generator)
    a = a / a.norm(dim=0, keepdim=True).clamp(min=1e-8)  # SeFa normalises each latent component's column
    values, vectors = torch.linalg.eigh(a.T @ a)
    order = values.argsort(descending=True)[:k]
    return vectors[:, order].T.contiguous()


def parse_direction(text: str, generator: torch.nn.Module) -> torch.Tensor:
    """`sefa:K` (the K-th strongest SeFa direction, from 0) -> a unit vector [latent_dim]."""
    match = re.fullmatch(r"\s*sefa:(\d+)\s*", str(text))
    if match is None:
        raise GanforgeError(f"--direction {text!r}: give sefa:K, the K-th strongest SeFa direction (sefa:0 first)")
    index = int(match.group(1))
    dim = latent_reading_weight(generator).shape[1]
    if index >= dim:
        raise GanforgeError(f"--direction sefa:{index}: this generator's latent has {dim} directions (0..{dim - 1})")
    return sefa_directions(generator, index + 1)[index]


@torch.no_grad()
def edited(pipe: Any, latent: torch.Tensor, direction: torch.Tensor, strengths: list[float]) -> torch.Tensor:
    """Images [len(strengths), C, R, R] in [-1, 1]: the latent moved by each strength along the unit direction (in
    W+, on every layer)."""
    generator = pipe.generator
    space = space_of(generator)
    device = next(generator.parameters()).device
    steps = torch.tensor(strengths, dtype=torch.float32, device=device)
    base = latent.to(device).float()[None]
    shift = direction.to(device).float()
    moved = base + steps.view(-1, *([1] * latent.ndim)) * shift  # a w+ latent's layers all move alike
    return draw(generator, moved, space).float().clamp(-1, 1).cpu()
