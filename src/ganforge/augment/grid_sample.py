"""Bilinear, reflection-padded grid sampling that can be differentiated twice on every device.

R1 and R2 penalties differentiate D's gradient with respect to its (augmented) input, so ADA's
geometric warp needs a second derivative. PyTorch's CUDA grid sampler has none ("derivative for
aten::grid_sampler_2d_backward is not implemented"). The warp is linear in the image, so the
derivative of its backward pass with respect to the incoming gradient is the warp itself; that is
all R1 needs (the grid is fixed, never learned), and it is what StyleGAN2-ADA's gradfix does too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_BILINEAR, _REFLECTION = 0, 2  # aten's enum values for mode="bilinear", padding_mode="reflection"


class _Warp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(image, grid)
        with torch.autocast(image.device.type, enabled=False):
            return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        image, grid = ctx.saved_tensors
        return _WarpBackward.apply(grad_out, image, grid), None


class _WarpBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad_out: torch.Tensor, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(grid)
        grad_image, _ = torch.ops.aten.grid_sampler_2d_backward(
            grad_out, image, grid, _BILINEAR, _REFLECTION, False, [True, False]
        )
        return grad_image

    @staticmethod
    def backward(ctx, grad2: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (grid,) = ctx.saved_tensors
        return _Warp.apply(grad2, grid), None, None


def warp(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """F.grid_sample(image, grid, bilinear, reflection, align_corners=False), twice differentiable in image.

    Computed in fp32 at least, as autocast would; the grid gets no gradient and must not require one.
    """
    if grid.requires_grad:
        raise ValueError("warp: the sampling grid must not require a gradient (it is a fixed augmentation)")
    dtype = torch.promote_types(image.dtype, torch.float32)  # as autocast runs grid_sample: in fp32 at least
    return _Warp.apply(image.to(dtype), grid.to(dtype))
