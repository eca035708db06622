"""Building blocks shared by network families."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError

UPSAMPLE_MODES = ("transpose", "resize")  # a decoder's x2 step: transposed convolution (the papers) or resize-conv


def log2_resolution(resolution: int, low: int, high: int, message: str) -> int:
    """log2 of a power-of-two resolution within a network family's range, else `message` as a ConfigError."""
    if resolution < low or resolution > high or resolution & (resolution - 1):
        raise ConfigError(f"{message}, got {resolution}")
    return resolution.bit_length() - 1


def check_multiple(x: torch.Tensor, multiple: int, network: str, minimum: int = 0) -> None:
    """A fully convolutional network takes any H, W that are multiples of its stride; say which otherwise."""
    h, w = x.shape[-2:]
    minimum = max(minimum, multiple)
    if h % multiple or w % multiple or h < minimum or w < minimum:
        at_least = f" (at least {minimum})" if minimum > multiple else ""
        raise ValueError(
            f"{network} needs height and width that are multiples of {multiple}{at_least}, got {h}x{w}; "
            f"pad the input to a multiple of the network's `stride` ({multiple}) or resize it"
        )


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et al.; used by BigGAN)."""

    def __init__(
        self,
        num_features: int,  # channels
        num_classes: int,  # number of labels
    ) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: [N, C, H, W]; labels: [N] int64
        h = self.bn(x)
        return h * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


NORMS = ("batch", "instance", "none")


class Norm2d(nn.Module):
    """Batch norm, conditional batch norm, instance norm or nothing, behind one call signature.

    Instance norm has no learned scale and no running statistics, as in the pix2pix/CycleGAN code.
    """

    def __init__(self, kind: str, num_features: int, num_classes: int = 0) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch" and num_classes > 0:
            self.norm: nn.Module = ConditionalBatchNorm2d(num_features, num_classes)
        elif kind == "batch":
            self.norm = nn.BatchNorm2d(num_features)
        elif kind == "instance":
            self.norm = nn.InstanceNorm2d(num_features)
        elif kind == "none":
            self.norm = nn.Identity()
        else:
            raise ConfigError(f"unknown normalisation {kind!r}; choose one of: {', '.join(NORMS)}")
        self.conditional = kind == "batch" and num_classes > 0

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional:
            assert labels is not None, "conditional normalisation needs labels"
            return self.norm(x, labels)
        return self.norm(x)


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) for conv and linear weights, N(1, std) for batch-norm scales, zero biases (DCGAN, pix2pix).

    Call it before `spectral_norm`: afterwards a layer's `weight` is computed, not a parameter.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def check_residual_channels(network: str, in_channels: int, out_channels: int) -> None:
    """A generator that adds its output to its input needs as many channels on both sides."""
    if in_channels != out_channels:
        raise ConfigError(f"a residual {network} adds its output to its input, so it needs as many input as output "
                          f"channels (got {in_channels} and {out_channels})")


def residual_image(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """x + delta clamped to [-1, 1] in the forward pass only (straight-through), so that an image generator that
    predicts a change to its input still gets gradients at white or black pixels, where a tanh would saturate."""
    out = x + delta
    return out + (out.clamp(-1.0, 1.0) - out).detach()


def zero_init(layer: nn.Module) -> None:
    """Zero weight and bias: a residual output head that starts as the identity (a resize-conv: its convolution)."""
    if isinstance(layer, nn.Sequential):
        layer = layer[-1]
    nn.init.zeros_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)


Size = int | tuple[int, ...]


def upsample_layer(
    mode: str,  # transpose | resize
    in_channels: int,
    out_channels: int,
    bias: bool,
    transposed: tuple[Size, Size, Size, Size] = (4, 2, 1, 0),  # the transposed conv's kernel, stride, padding, out pad
    padding_mode: str = "zeros",  # the resize-conv's padding: zeros, or reflect as the CycleGAN generator pads
    dims: int = 2,  # 2: images [N, C, H, W]; 3: clips [N, C, T, H, W] (the stride says which axes grow)
    kernel: Size = 3,  # the resize-conv's kernel (3D: (time_kernel(T)[0], 3, 3) for short clips)
) -> nn.Module:
    """A decoder's upsampling layer. `resize` is Odena et al.'s (2016) nearest-neighbour resize by the transposed
    convolution's stride, then a 3x3 (3x3x3) convolution (its last module, for zero_init): every output pixel is
    made by the same kernel taps, where a stride-2 transposed convolution uses different taps for odd and even
    pixels and can paint a checkerboard."""
    if dims not in (2, 3):
        raise ValueError(f"upsample_layer makes 2D or 3D layers, not {dims}D")
    k, s, p, op = transposed
    if mode == "transpose":
        transpose = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
        return transpose(in_channels, out_channels, k, s, p, output_padding=op, bias=bias)
    if mode == "resize":
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        padding = tuple(q // 2 for q in kernel) if isinstance(kernel, tuple) else kernel // 2
        return nn.Sequential(nn.Upsample(scale_factor=s, mode="nearest"),
                             conv(in_channels, out_channels, kernel, 1, padding, bias=bias, padding_mode=padding_mode))
    raise ConfigError(f"unknown upsampling {mode!r}; choose one of: {', '.join(UPSAMPLE_MODES)}")


def time_kernel(frames: int, kernel: int = 3) -> tuple[int, int]:
    """(kernel, padding) over time for a layer that keeps `frames` frames: `kernel` when the clip is at least that
    long, else 1. A longer kernel only adds taps that ever see padding, and PyTorch's CPU bf16 path computes the
    weight gradients of Conv3d/ConvTranspose3d wrongly at 2 frames with a kernel of 3 (tests/nets/test_precision.py)."""
    if frames < 1:
        raise ValueError(f"a clip layer needs at least 1 frame, got {frames}")
    return (kernel, kernel // 2) if frames >= kernel else (1, 0)


def spectral_norm(module: nn.Module, enabled: bool = True) -> nn.Module:
    """`module` with its weight divided by its largest singular value (Miyato et al.), or as is.

    The parametrisation (not the old hook) survives deepcopy, so EMA copies and state dicts work.
    """
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


def projection_logits(out: torch.Tensor, label_embedding: torch.Tensor | None) -> torch.Tensor:
    """D's logits [N]: the head's output itself, or its projection onto the label's embedding (Miyato & Koyama)."""
    if label_embedding is None:
        return out.squeeze(1)  # [N, 1] -> [N]
    return (out * label_embedding).sum(dim=1) / label_embedding.shape[1] ** 0.5
