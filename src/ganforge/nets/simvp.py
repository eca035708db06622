"""SimVP: a non-recurrent next-frame predictor (Gao et al., CVPR 2022), adapted for CPU speed.

k observed frames in, the next m frames out, in one forward pass:

1. a space-to-depth stem (pixel unshuffle by 2), then a per-frame convolutional encoder (3x3 conv,
   GroupNorm, SiLU; strides 1, 2, 1) takes each frame [C, H, W] to a latent [width, H/4, W/4];
2. the translator stacks the k latents along channels ([k * width, H/4, W/4]), mixes them with a 1x1
   convolution to `hidden` channels, `n_blocks` dense 3x3 residual blocks (in place of SimVP v2's gated
   attention blocks, whose large depthwise kernels are slow on a CPU; docs/architecture.md) and a 1x1
   convolution to m latents [m * width, H/4, W/4];
3. a per-frame decoder (a transposed-convolution upsampling to H/2) turns each latent back into a frame,
   with the H/2 features of the last observed frame added (SimVP's skip; with k != m the last frame is
   the one every future frame starts from), then a 1x1 readout and a pixel shuffle back to H. No output
   activation: frames live in [-1, 1] and the L2 loss keeps them there (tanh would make pure black, -1,
   unreachable).

Time is mixed by the translator's convolutions over stacked frames, not by a recurrence, so a training step
is one batched pass of plain 2D convolutions over every frame at once: much faster on a CPU than a
ConvLSTM, whose k + m steps run one after another. Beyond its native horizon m it predicts
autoregressively (`rollout`): the last k of the observed-then-predicted frames become the next context.
GroupNorm rather than batch norm, so an EMA copy is exact and a prediction never depends on the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.registry import NETWORKS

STRIDE = 4  # the encoder halves the frame twice: H and W must be multiples of this


def _groups(channels: int) -> int:
    return 2 if channels % 2 == 0 else 1  # SimVP's GroupNorm(2, C)


class ConvSC(nn.Module):
    """SimVP's basic layer: 3x3 conv (stride 2 to halve; `upsample`: a stride-2 transposed 3x3 conv to double),
    GroupNorm, SiLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, upsample: bool = False) -> None:
        super().__init__()
        if upsample:  # SimVP v1's; a quarter of the work of v2's conv to 4 * c_out + pixel shuffle
            self.conv = nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1)
        else:
            self.conv = nn.Conv2d(c_in, c_out, 3, stride, 1)
        self.norm = nn.GroupNorm(_groups(c_out), c_out)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class TranslatorBlock(nn.Module):
    """A pre-activation residual block of two dense 3x3 convolutions on stacked frame latents [N, C, h, w]:
    x + conv(SiLU(GN(conv(SiLU(GN(x)))))), the second convolution starting at zero so each block starts as
    the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(channels), channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm2 = nn.GroupNorm(_groups(channels), channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(y)))


@NETWORKS.register("simvp.predictor")
class SimVPPredictor(nn.Module):
    """context [N, k, C, H, W] in [-1, 1] -> the next m frames [N, m, C, H, W]; `rollout` for any horizon."""

    stride = STRIDE

    def __init__(
        self,
        channels: int = 1,  # C, channels of each frame
        context_frames: int = 10,  # k, observed frames the prediction is conditioned on
        out_frames: int = 10,  # m, frames predicted by one forward pass (the native horizon)
        resolution: int = 64,  # H = W of a frame (a multiple of 4); only checked, the network is convolutional
        width: int = 32,  # channels of the per-frame encoder and decoder (SimVP's hid_S)
        hidden: int | None = None,  # channels of the translator (SimVP's hid_T); None -> 2 * width
        n_blocks: int = 4,  # residual blocks in the translator (SimVP's N_T)
    ) -> None:
        super().__init__()
        if context_frames < 1 or out_frames < 1:
            raise ConfigError(f"a frame predictor needs >= 1 context and >= 1 predicted frame, got {context_frames} "
                              f"and {out_frames}")
        if resolution % STRIDE or resolution < 2 * STRIDE:
            raise ConfigError(f"frames must be a multiple of {STRIDE} px and at least {2 * STRIDE} px for the "
                              f"predictor, got {resolution}")
        if width < 1 or n_blocks < 0:
            raise ConfigError(f"--width must be >= 1 and --n-blocks >= 0, got {width} and {n_blocks}")
        hidden = int(hidden or 2 * width)
        self.channels, self.context_frames, self.out_frames = channels, context_frames, out_frames
        self.resolution, self.width, self.hidden = resolution, width, hidden
        self.stem = nn.PixelUnshuffle(2)  # [C, H, W] -> [4C, H/2, W/2]: no convolution runs at full resolution
        self.enc = nn.ModuleList([ConvSC(4 * channels, width), ConvSC(width, width, stride=2), ConvSC(width, width)])
        self.mix_in = nn.Conv2d(context_frames * width, hidden, 1)
        self.blocks = nn.Sequential(*[TranslatorBlock(hidden) for _ in range(n_blocks)])
        self.mix_out = nn.Conv2d(hidden, out_frames * width, 1)
        self.dec = nn.ModuleList([ConvSC(width, width), ConvSC(width, width, upsample=True), ConvSC(width, width)])
        self.readout = nn.Conv2d(width, 4 * channels, 1)
        self.unstem = nn.PixelShuffle(2)  # [4C, H/2, W/2] -> [C, H, W]

    def check_context(self, context: torch.Tensor) -> None:
        k, c = self.context_frames, self.channels
        if context.ndim != 5 or context.shape[1] != k or context.shape[2] != c:
            raise ValueError(f"the predictor takes context clips [N, {k}, {c}, H, W], got {tuple(context.shape)}")
        h, w = context.shape[-2:]
        if h % STRIDE or w % STRIDE:
            raise ValueError(f"frame height and width must be multiples of {STRIDE}, got {h}x{w}")

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        self.check_context(context)
        n, k, c, h, w = context.shape  # [N, k, C, H, W]
        x = self.stem(context.reshape(n * k, c, h, w))  # [N * k, 4C, H/2, W/2]
        if self.enc[0].conv.weight.is_contiguous(memory_format=torch.channels_last) and \
                not self.enc[0].conv.weight.is_contiguous():  # a 3x3 weight: a 1x1 one passes both tests
            x = x.contiguous(memory_format=torch.channels_last)  # the trainer's layout for 2D convolutions
        x = self.enc[0](x)
        skip = x.reshape(n, k, *x.shape[1:])[:, -1]  # [N, width, H/2, W/2]: the last observed frame's features
        for layer in self.enc[1:]:
            x = layer(x)  # [N * k, width, H/4, W/4]
        z = x.reshape(n, k * self.width, h // STRIDE, w // STRIDE)
        z = self.mix_out(self.blocks(self.mix_in(z)))  # [N, m * width, H/4, W/4]
        m = self.out_frames
        y = z.reshape(n * m, self.width, h // STRIDE, w // STRIDE)
        for layer in self.dec[:-1]:
            y = layer(y)  # [N * m, width, H/2, W/2]
        y = (y.reshape(n, m, *y.shape[1:]) + skip[:, None]).reshape(n * m, *y.shape[1:])
        y = self.unstem(self.readout(self.dec[-1](y)))  # [N * m, C, H, W]
        return y.reshape(n, m, c, h, w)

    def rollout(self, context: torch.Tensor, frames: int) -> torch.Tensor:
        """The next `frames` frames [N, frames, C, H, W]: forward passes of m frames, each conditioned on the last
        k of the observed and already predicted frames (autoregressive beyond the native horizon)."""
        return autoregressive_rollout(self, context, frames, self.context_frames)


def autoregressive_rollout(predict: Callable[[torch.Tensor], torch.Tensor], context: torch.Tensor, frames: int,
                           context_frames: int) -> torch.Tensor:
    """`frames` frames [N, frames, C, H, W] from passes of `predict` (k frames in, m out), each on the last k of the
    observed and already predicted frames: SimVP's rollout, shared with its ONNX stand-in."""
    if frames < 1:
        raise ValueError(f"frames to predict must be >= 1, got {frames}")
    outs: list[torch.Tensor] = []
    done = 0
    while done < frames:
        y = predict(context)
        outs.append(y)
        done += y.shape[1]
        if done < frames:
            context = torch.cat([context, y.clamp(-1, 1).to(context.dtype)], dim=1)[:, -context_frames:]
    return torch.cat(outs, dim=1)[:, :frames]
