"""Adversarial losses as small objects the task composes: D's loss on (real, fake) logits, G's on fake
(and, for relativistic losses, on real logits too)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F

from ganforge.registry import LOSSES


class AdversarialLoss(ABC):
    """Base: `d_loss(real_logits, fake_logits)` and `g_loss(fake_logits, real_logits)`, both scalar means."""

    needs_gradient_penalty = False
    relativistic = False  # True: g_loss needs D's logits on real images of the same step

    @abstractmethod
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor: ...

    def real_signal(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """What ADA reads the sign of: D's real logits, or how far they lie above the fakes' when only differences count."""
        return real


@LOSSES.register("ns")
class NonSaturatingLoss(AdversarialLoss):
    """Goodfellow et al.'s non-saturating loss: softplus(-D(x)) + softplus(D(G(z))); G: softplus(-D(G(z)))."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(-fake).mean()


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye; SAGAN, BigGAN)."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("lsgan")
class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (Mao et al.) with targets 1 for real and 0 for fake, as the pix2pix/CycleGAN code.

    D: [MSE(D(x), 1) + MSE(D(G(z)), 0)] / 2 (the halving only scales D's gradients, which Adam ignores);
    G: MSE(D(G(z)), 1), not halved, so against reconstruction terms (CycleGAN's cycle x10, pix2pix's L1 x100)
    G's adversarial pull has the authors' weight.
    """

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return ((fake - 1.0) ** 2).mean()


@LOSSES.register("wgan-gp")
class WassersteinLoss(AdversarialLoss):
    """WGAN critic loss (Arjovsky et al.); pair with the gradient penalty (Gulrajani et al.)."""

    needs_gradient_penalty = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("rpgan")
class RelativisticPairingLoss(AdversarialLoss):
    """RpGAN (Jolicoeur-Martineau; R3GAN): D ranks each real above a paired fake, G the reverse.

    D: softplus(D(fake) - D(real)); G: softplus(D(real) - D(fake)), pairs matched by batch index.
    """

    relativistic = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(fake - real).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        assert real is not None, "the relativistic loss needs D's logits on real images"
        return F.softplus(real - fake).mean()

    def real_signal(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return real - fake


@LOSSES.register("ragan")
class RelativisticAverageLoss(AdversarialLoss):
    """Relativistic average GAN (Jolicoeur-Martineau, 2018; ESRGAN's discriminator loss).

    D estimates how much more realistic a real image is than the average fake, and the reverse:
    D: [softplus(-(D(r) - mean D(f))) + softplus(D(f) - mean D(r))] / 2;
    G: [softplus(D(r) - mean D(f)) + softplus(-(D(f) - mean D(r)))] / 2, so G gets gradients from both terms
    through mean D(f) and D(f). Means run over every logit of the batch (a PatchGAN's map included), and the
    halving follows ESRGAN's code. G needs D's logits on real images of the same step (detached).
    """

    relativistic = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean())

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        assert real is not None, "the relativistic average loss needs D's logits on real images"
        return 0.5 * (F.softplus(real - fake.mean()).mean() + F.softplus(-(fake - real.mean())).mean())

    def real_signal(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return real - fake.mean()
