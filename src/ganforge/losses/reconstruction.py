"""Reconstruction losses for image-to-image translation and video prediction: L1 and L2 to a target (pix2pix;
the next-frame baseline), cycle consistency and identity (CycleGAN), discriminator feature matching
(pix2pixHD, SPADE) and the image gradient difference loss (Mathieu et al.'s GDL, next-frame prediction).

The adversarial half of these tasks is `losses.adversarial` unchanged: its losses average over a
PatchGAN's logit map as over a batch; with a multi-scale discriminator the task sums them over scales.
Each function returns a scalar mean; the task multiplies by its weight (lambda).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def _check_same_shape(output: torch.Tensor, target: torch.Tensor, what: str) -> None:
    # F.l1_loss would broadcast a mismatch (say [N, 3, H, W] against [N, 1, H, W]) with only a warning.
    if output.shape != target.shape:
        raise ValueError(f"{what} needs tensors of the same shape, got {tuple(output.shape)} and {tuple(target.shape)}")


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |output - target|: pix2pix's reconstruction term (weight 100), sharper than L2's blur."""
    _check_same_shape(output, target, "the L1 loss")
    return (output - target).abs().mean()


def l2_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean (output - target)^2: the mean-squared-error baseline of next-frame prediction, whose optimum is the
    mean of the possible futures, hence its blur (Mathieu et al.)."""
    _check_same_shape(output, target, "the L2 loss")
    return (output - target).square().mean()


def gradient_difference_loss(output: torch.Tensor, target: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Mathieu et al.'s image gradient difference loss (GDL), a mean over pixels rather than their sum:

        mean | |Y[i, j] - Y[i-1, j]| - |Yhat[i, j] - Yhat[i-1, j]| |^alpha
           + mean | |Y[i, j-1] - Y[i, j]| - |Yhat[i, j-1] - Yhat[i, j]| |^alpha

    over the last two axes (height, width) of any [..., H, W] tensors, Y the target and Yhat the output. It
    asks for the target's edge strengths where the target has edges, so a blurred prediction (weak, wide
    gradients) pays for its blur where L2 alone would not. 0 for identical inputs; alpha 1 in the paper.
    """
    _check_same_shape(output, target, "the gradient difference loss")
    if output.ndim < 2 or min(output.shape[-2:]) < 2:
        raise ValueError(f"the gradient difference loss needs [..., H, W] with H, W >= 2, got {tuple(output.shape)}")
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")

    def strengths(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (x[..., 1:, :] - x[..., :-1, :]).abs(), (x[..., :, 1:] - x[..., :, :-1]).abs()

    (oy, ox), (ty, tx) = strengths(output), strengths(target)
    dy, dx = (ty - oy).abs(), (tx - ox).abs()
    if alpha != 1:
        dy, dx = dy.pow(alpha), dx.pow(alpha)
    return dy.mean() + dx.mean()


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Mean |F(G(x)) - x|: translating there and back must return the input (CycleGAN, weight 10 per direction).

    `reconstructed` is F applied to the translated image the adversarial term already computed, so the
    step needs no extra forward pass of G.
    """
    _check_same_shape(reconstructed, real, "the cycle-consistency loss")
    return (reconstructed - real).abs().mean()


def identity_loss(real: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Mean |G(y) - y| for y already in G's target domain: G should leave such images alone.

    CycleGAN weights it by 0.5 times the cycle weight; it keeps colours from drifting (paintings -> photos).
    """
    _check_same_shape(mapped, real, "the identity loss")
    return (mapped - real).abs().mean()


FeatureList = Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]]


def _per_scale(features: FeatureList) -> list[list[torch.Tensor]]:
    """One discriminator's activations [layer] or a multi-scale one's [scale][layer], as [scale][layer]."""
    if len(features) and isinstance(features[0], torch.Tensor):
        return [list(features)]  # type: ignore[arg-type]
    return [list(scale) for scale in features]  # type: ignore[arg-type]


def feature_matching_loss(real_features: FeatureList, fake_features: FeatureList) -> torch.Tensor:
    """Mean over scales and layers of mean |D_l(fake) - D_l(real)|, real side detached (pix2pixHD).

    Takes the features a PatchGAN ([layer]) or a multi-scale discriminator ([scale][layer]) returns with
    `return_features=True`. It gives G a denser signal than the logits alone and steadies training.
    pix2pixHD sums over layers (x 4 / layers) and averages over scales; this averages over both, so the
    weight (10 in pix2pixHD and SPADE) means the same for any number of layers.
    """
    real, fake = _per_scale(real_features), _per_scale(fake_features)
    if [len(s) for s in real] != [len(s) for s in fake] or not real or not real[0]:
        raise ValueError(
            "feature matching needs the same non-empty layers for real and fake, got "
            f"{[len(s) for s in real]} and {[len(s) for s in fake]} layers per scale"
        )
    terms = []
    for real_scale, fake_scale in zip(real, fake):
        for r, f in zip(real_scale, fake_scale):
            _check_same_shape(f, r, "feature matching")
            terms.append((f - r.detach()).abs().mean())
    return torch.stack(terms).mean()


def hole_weighted_l1_loss(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                          hole_weight: float = 6.0) -> torch.Tensor:
    """Mean of w * |output - target| with w = hole_weight inside the hole (mask 1) and 1 outside (inpainting).

    PConv (Liu et al., 2018) weights its hole term 6 to the known region's 1: the known pixels are copied
    back anyway, so the raw prediction there matters only for a seamless rim. `mask` is [N, 1, H, W]
    (or [N, H, W]) and broadcasts over channels; the result is a plain mean over every element, so
    hole_weight 1 gives the ordinary L1.
    """
    if mask.ndim == 3:
        mask = mask[:, None]
    if mask.shape[0] != output.shape[0] or mask.shape[-2:] != output.shape[-2:] or mask.shape[1] != 1:
        raise ValueError(f"the hole-weighted L1 needs a mask [N, 1, H, W] matching {tuple(output.shape)}, "
                         f"got {tuple(mask.shape)}")
    _check_same_shape(output, target, "the hole-weighted L1 loss")
    weight = 1.0 + (float(hole_weight) - 1.0) * mask.to(output.dtype)
    return (weight * (output - target).abs()).mean()


def adversarial_with_feature_matching(
    discriminate: Callable[[torch.Tensor, bool], Any],
    fake: torch.Tensor,
    real: torch.Tensor,
    adversarial: Callable[[Any], torch.Tensor],
    fm_weight: float,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """G's adversarial term plus, when `fm_weight` > 0, feature matching against D's features of the real side
    (computed without gradients): (the adversarial term, their weighted sum, {"Loss/G/fm"} when used).

    `discriminate(images, features)` returns D's output (with `features`: (logits, feature list)); `adversarial`
    turns that output's logits into G's loss: the one recipe of pix2pix, SPADE and the inpainter's G phase."""
    use_fm = fm_weight > 0
    out_fake = discriminate(fake, use_fm)
    adv = adversarial(out_fake[0] if use_fm else out_fake)
    if not use_fm:
        return adv, adv, {}
    with torch.no_grad():
        _, real_features = discriminate(real, True)
    fm = feature_matching_loss(real_features, out_fake[1])
    return adv, adv + fm_weight * fm, {"Loss/G/fm": fm.detach()}
