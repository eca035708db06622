"""A spatio-temporal discriminator for clips: strided 3D convolutions over time and space.

Both video tasks judge whole clips with it: next-frame prediction (the observed frames followed by
the predicted ones, Mathieu et al.) and video generation (VGAN's 3D-convolution discriminator,
Vondrick et al.). Each strided layer halves height and width, and time while at least 4 frames
remain, then folds the last one or two frames into one; the head is a 3x3x3 convolution (1 or 2 x 3 x 3 over
fewer frames: no kernel is longer than the clip it sees), so the output is a map of logits over space-time patches
that the adversarial losses average like a batch, as they do a PatchGAN's. Spectral norm in place
of VGAN's batch norm keeps it stable at the small batches a CPU affords.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import normal_init, spectral_norm
from ganforge.registry import NETWORKS

Spec = tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]  # kernel, stride, padding


def clip_layer_specs(frames: int, size: int, min_size: int = 4) -> list[Spec]:
    """(kernel, stride, padding) of each strided layer: halve space down to `min_size`, and time while >= 4
    frames remain; after that a layer keeps time with a kernel of 3 over >= 3 frames, or folds the last 1-2 frames
    into one with a kernel as long as they are (no temporal padding), so no kernel is longer than its clip."""
    specs: list[Spec] = []
    while size > min_size:
        if frames >= 4:
            specs.append(((4, 4, 4), (2, 2, 2), (1, 1, 1)))
            frames = (frames + 2 - 4) // 2 + 1
        elif frames >= 3:
            specs.append(((3, 4, 4), (1, 2, 2), (1, 1, 1)))
        else:
            specs.append(((frames, 4, 4), (1, 2, 2), (0, 1, 1)))
            frames = 1
        size //= 2
    return specs


def head_spec(frames: int) -> Spec:
    """The 3x3x3 head's (kernel, stride, padding) over the `frames` the body leaves: time kernel 3 only over >= 3."""
    if frames >= 3:
        return (3, 3, 3), (1, 1, 1), (1, 1, 1)
    return (frames, 3, 3), (1, 1, 1), (0, 1, 1)


def body_frames(frames: int, specs: list[Spec]) -> int:
    """Frames left after the strided layers of `specs`."""
    for (kt, _, _), (st, _, _), (pt, _, _) in specs:
        frames = (frames + 2 * pt - kt) // st + 1
    return frames


@NETWORKS.register("video.discriminator")
class VideoDiscriminator(nn.Module):
    """clip [N, T, C, H, W] -> logit map [N, 1, t, h, w] over space-time patches."""

    def __init__(
        self,
        in_channels: int = 3,  # channels of each frame
        frames: int = 16,  # T, frames per clip it judges
        resolution: int = 64,  # H = W of a frame
        width: int = 32,  # channels of the first layer, doubling per layer
        max_channels: int = 512,  # cap on the widest layer
        spectral: bool = True,  # spectral norm on every convolution
    ) -> None:
        super().__init__()
        if frames < 1 or resolution < 8:
            raise ConfigError(f"a video discriminator needs clips of >= 1 frame and >= 8 px, got {frames} x {resolution}")
        self.in_channels, self.frames, self.resolution = in_channels, frames, resolution
        specs = clip_layer_specs(frames, resolution)
        layers: list[nn.Module] = []
        channels = in_channels
        for i, (kernel, stride, padding) in enumerate(specs):
            out = min(width * 2**i, max_channels)
            conv = nn.Conv3d(channels, out, kernel, stride, padding)
            normal_init(conv)
            layers += [spectral_norm(conv, spectral), nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        head = nn.Conv3d(channels, 1, *head_spec(body_frames(frames, specs)))
        normal_init(head)
        self.body = nn.Sequential(*layers)
        self.head = spectral_norm(head, spectral)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        assert clip.ndim == 5 and clip.shape[2] == self.in_channels, clip.shape  # [N, T, C, H, W]
        x = clip.transpose(1, 2)  # [N, C, T, H, W], Conv3d's layout
        return self.head(self.body(x))  # [N, 1, t, h, w]
