"""Regularisers: R1 and R2 (Mescheder et al.; R3GAN), the WGAN-GP gradient penalty, and StyleGAN2's
path-length penalty."""

from __future__ import annotations

from collections.abc import Callable

import torch


def zero_centered_penalty(d_fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 at `images`; multiply by gamma / 2 outside.

    On real images this is R1, on generated ones (detached, so only D is penalised) R2.
    """
    images = images.detach().requires_grad_(True)
    return zero_centered_from_logits(d_fn(images), images)


def zero_centered_from_logits(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """zero_centered_penalty from logits D already gave for `images` (a leaf that requires grad), as the R3GAN
    and StyleGAN2-ADA code take R1/R2 from the loss's own pass instead of running D again."""
    (grad,) = torch.autograd.grad(logits.sum(), images, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


r1_penalty = zero_centered_penalty  # the names the papers use
r2_penalty = zero_centered_penalty


def gradient_penalty(
    d_fn: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """E (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    logits = d_fn(mixed)
    (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1.0).square().mean()


def path_length_penalty(
    synthesis: Callable[[torch.Tensor], torch.Tensor], ws: torch.Tensor, pl_mean: torch.Tensor, decay: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's (||J_w^T y||_2 - a)^2 for image-space noise y, with `a` a running mean of the lengths.

    Returns the penalty and the new running mean (the caller stores it; it is part of training state).
    """
    if not ws.requires_grad:  # normally ws come from the mapping network, which the penalty then also trains
        ws = ws.detach().requires_grad_(True)  # [N, num_ws, w_dim]
    images = synthesis(ws).float()  # [N, C, H, W]
    noise = torch.randn_like(images) / (images.shape[2] * images.shape[3]) ** 0.5
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(2).mean(1).sqrt()  # [N]
    new_mean = pl_mean.lerp(lengths.detach().mean(), decay)
    return (lengths - new_mean).square().mean(), new_mean


def matching_aware_penalty(d_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], images: torch.Tensor,
                           sentences: torch.Tensor, power: float = 6.0) -> torch.Tensor:
    """DF-GAN's matching-aware gradient penalty, E ||grad_(x, s) D(x, s)||^power at real images with their own
    captions' embeddings (both get gradients, so D is smooth around matched pairs); multiply by its weight outside
    (DF-GAN: 2)."""
    images = images.detach().requires_grad_(True)
    sentences = sentences.detach().requires_grad_(True)
    logits = d_fn(images, sentences)
    grad_x, grad_s = torch.autograd.grad(logits.sum(), (images, sentences), create_graph=True)
    norm = torch.cat([grad_x.flatten(1), grad_s.flatten(1)], dim=1).square().sum(1).add(1e-12).sqrt()
    return norm.pow(power).mean()
