"""VGAN's two-stream video generator (Vondrick, Pirsiavash & Torralba, "Generating Videos with Scene
Dynamics", NIPS 2016).

One latent z feeds two streams:

- a foreground stream of 3D transposed convolutions (space-time), which ends in a clip f and a mask m in
  [0, 1] (tanh and sigmoid heads of one last layer);
- a background stream of 2D transposed convolutions, which makes one frame b (tanh).

The clip is m * f + (1 - m) * b, with b repeated over time and m over channels: where the mask is 0
the output is the same static background in every frame, so a moving foreground over a still scene
costs the foreground stream nothing for the scene. As in the authors' code, every hidden layer is
transposed convolution + batch norm + ReLU, weights start from N(0, 0.01), and G's loss carries a small
L1 sparsity penalty on the mask, lambda * mean(m) (`mask_l1`; lambda = 0.1 there), so the background
stream is used where nothing moves. Their discriminator is a 3D convolutional net, our
`nets.video_disc.VideoDiscriminator`.

Sizes: VGAN made 32 frames of 64 x 64 from 512 channels at (2, 4, 4) down to 64 at (16, 32, 32). Here
`width` is the channel count of the last hidden layer (VGAN's 64), doubling towards the input up to
`max_channels`; the foreground starts at (T / 2^k, 4, 4) and doubles time in its last k layers (k as
many as the frame count's factors of two allow, at most one per layer), so 16 frames at 64 px double
time and space in every layer, as VGAN's 32 frames did.

`upsample="resize"` (not in the paper) makes every x2 step of both streams a nearest-neighbour resize and a
3x3 (3x3x3) convolution (`nets.layers.upsample_layer`), against the transposed convolutions' checkerboard.
No layer that keeps time convolves over it with a kernel longer than its clip: below 3 frames the temporal
kernel is 1 (`nets.layers.time_kernel`).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import log2_resolution, normal_init, time_kernel, upsample_layer
from ganforge.registry import NETWORKS

INIT_STD = 0.01  # VGAN's weights_init: N(0, 0.01) for every (transposed) convolution


def time_doublings(frames: int, layers: int) -> int:
    """How many of `layers` upsampling layers double time: the factors of two in `frames`, at most `layers`."""
    k = 0
    while k < layers and frames % 2 ** (k + 1) == 0:
        k += 1
    return k


def composite(foreground: torch.Tensor, mask: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """m * f + (1 - m) * b: foreground [N, T, C, H, W], mask [N, T, 1, H, W], background [N, C, H, W]."""
    assert foreground.ndim == 5 and mask.shape[2] == 1 and background.ndim == 4, (
        foreground.shape, mask.shape, background.shape)
    return mask * foreground + (1.0 - mask) * background[:, None]  # [N, T, C, H, W]


@NETWORKS.register("vgan.generator")
class VGANGenerator(nn.Module):
    """z [N, z_dim] -> clip [N, T, C, H, W] in [-1, 1], as m * f + (1 - m) * b (see the module doc)."""

    def __init__(
        self,
        resolution: int = 64,  # frame side, a power of two in 16..128
        frames: int = 16,  # T, frames per clip
        channels: int = 3,  # channels of each frame
        z_dim: int = 100,  # latent size (VGAN: 100)
        width: int = 32,  # channels of the last hidden layer of each stream (VGAN: 64)
        max_channels: int = 512,  # cap on the widest layer (VGAN: 512)
        upsample: str = "transpose",  # x2 steps: transposed convolutions (the paper) or resize-conv
    ) -> None:
        super().__init__()
        log_res = log2_resolution(resolution, 16, 128, "the vgan generator needs --resolution 16, 32, 64 or 128")
        if frames < 1:
            raise ConfigError(f"the vgan generator needs at least 1 frame, got {frames}")
        self.resolution, self.frames, self.channels, self.z_dim = resolution, frames, channels, z_dim
        n_up = log_res - 2  # 4 x 4 -> R
        chans = [min(width * 2 ** (n_up - 1 - i), max_channels) for i in range(n_up)]  # at 4 px .. R / 2
        k = time_doublings(frames, n_up)
        self.start_frames = frames // 2**k
        doubles = [i >= n_up - k for i in range(n_up)]  # the last k layers double time

        # Foreground: z -> [c0, T0, 4, 4] (VGAN: a transposed conv from 1x1x1, i.e. a projection), then up.
        self.fg_stem = nn.ConvTranspose3d(z_dim, chans[0], (self.start_frames, 4, 4), bias=False)
        fg: list[nn.Module] = [nn.BatchNorm3d(chans[0]), nn.ReLU(inplace=True)]
        t = self.start_frames
        for cin, cout, double in zip(chans[:-1], chans[1:], doubles[:-1]):
            t *= 2 if double else 1
            fg += [_up3d(upsample, cin, cout, double, bias=False, frames=t), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]
        self.fg_body = nn.Sequential(*fg)
        # C foreground channels + 1 mask
        self.fg_head = _up3d(upsample, chans[-1], channels + 1, doubles[-1], bias=True, frames=frames)

        # Background: z -> [c0, 4, 4] -> ... -> [C, R, R].
        bg: list[nn.Module] = [nn.ConvTranspose2d(z_dim, chans[0], 4, bias=False), nn.BatchNorm2d(chans[0]),
                               nn.ReLU(inplace=True)]
        for cin, cout in zip(chans[:-1], chans[1:]):
            bg += [upsample_layer(upsample, cin, cout, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        bg.append(upsample_layer(upsample, chans[-1], channels, bias=True))
        self.bg = nn.Sequential(*bg)
        normal_init(self, INIT_STD)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                streams: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """The clip [N, T, C, H, W] in [-1, 1]; with `streams`, a dict of it ("video") and its parts: "foreground"
        [N, T, C, H, W] in [-1, 1], "mask" [N, T, 1, H, W] in [0, 1], "background" [N, C, H, W] in [-1, 1]."""
        assert z.ndim == 2 and z.shape[1] == self.z_dim, z.shape  # [N, z_dim]
        h = self.fg_body(self.fg_stem(z[:, :, None, None, None]))  # [N, c, T', R', R']
        out = self.fg_head(h).transpose(1, 2)  # [N, T, C + 1, R, R]
        foreground = torch.tanh(out[:, :, : self.channels])
        mask = torch.sigmoid(out[:, :, self.channels :])
        background = torch.tanh(self.bg(z[:, :, None, None]))  # [N, C, R, R]
        video = composite(foreground, mask, background)
        assert video.shape[1:] == (self.frames, self.channels, self.resolution, self.resolution), video.shape
        if streams:
            return {"video": video, "foreground": foreground, "mask": mask, "background": background}
        return video


def _up3d(mode: str, cin: int, cout: int, double_time: bool, bias: bool, frames: int) -> nn.Module:
    """Doubles height and width, and time when `double_time` (kernel 4, stride 2), else keeps it (kernel 3, or 1
    when fewer than 3 frames come out: `time_kernel`); `frames` is the clip length this layer outputs."""
    kt, pt = time_kernel(frames)
    transposed = (4, 2, 1, 0) if double_time else ((kt, 4, 4), (1, 2, 2), (pt, 1, 1), 0)
    return upsample_layer(mode, cin, cout, bias, transposed=transposed, dims=3, kernel=(kt, 3, 3))


def mask_l1(mask: torch.Tensor) -> torch.Tensor:
    """VGAN's sparsity prior on the mask: mean |m| over every element (Torch's L1Penalty with sizeAverage)."""
    return mask.abs().mean()
