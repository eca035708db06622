"""StyleGAN2 (Karras et al., 2020), sized for small images: mapping network, modulated and
demodulated convolutions, noise inputs, skip generator, residual discriminator with minibatch
standard deviation, equalised learning rate, style mixing and truncation.

Upsampling uses PyTorch's bilinear interpolation, which for a factor of two is the paper's
[1, 3, 3, 1] FIR filter; downsampling applies that filter depthwise with stride 2.

Noise inputs, as StyleGAN2-ADA: `noise_mode="random"` draws fresh per-pixel noise (training, and
the metrics, which judge the generator as trained), "const" adds each layer's fixed noise buffer
(drawn once at construction and saved with the weights: deterministic, batch-independent samples),
"none" adds nothing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import log2_resolution, projection_logits
from ganforge.registry import NETWORKS

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("random", "const", "none")
_NOISE_SEED_SALT = 0x6E6F697365  # decorrelates the noise buffers' stream from the weights' (same torch seed)


def _log2_resolution(resolution: int) -> int:
    return log2_resolution(resolution, 8, 1024, "stylegan2 needs a power-of-two --resolution from 8 to 1024")


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    return min(channel_base // res, channel_max)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


_FIR = torch.tensor([1.0, 3.0, 3.0, 1.0])
_FIR2D = (_FIR[:, None] * _FIR[None, :]) / 64.0  # [4, 4], sums to 1


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """Blur with the [1, 3, 3, 1] filter and keep every second pixel (depthwise, any dtype)."""
    c = x.shape[1]
    kernel = _FIR2D.to(device=x.device, dtype=x.dtype).expand(c, 1, 4, 4)
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel, stride=2, groups=c)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: N(0, 1) weights scaled by lr_mul / sqrt(fan_in) at run time."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate, optional 2x downsampling and leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, down: bool = False, activate: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1 / math.sqrt(in_channels * kernel * kernel)
        self.down, self.activate, self.padding = down, activate, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = downsample2(x)
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 1) -> torch.Tensor:
    """Per-sample weights w'_oik = s_i w_oik, divided by their norm when demodulating.

    Computed as StyleGAN2-ADA's non-fused path: scale the input channels by the styles, run one
    ordinary convolution with the shared weights, scale the output channels by the demodulation
    coefficients. The same numbers as a grouped convolution with per-sample weights, but a plain
    convolution, which is many times faster on CPUs.
    """
    # x: [N, Cin, H, W]; weight: [Cout, Cin, k, k]; styles: [N, Cin]
    out = F.conv2d(x * styles[:, :, None, None].to(x.dtype), weight.to(x.dtype), padding=padding)
    if demodulate:
        # sum_ik (s_i w_oik)^2 = sum_i s_i^2 * sum_k w_oik^2
        dcoefs = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()  # [N, Cout]
        out = out * dcoefs[:, :, None, None].to(out.dtype)
    return out


class StyleConv(nn.Module):
    """Modulated 3x3 conv (+ optional 2x upsampling), per-pixel noise with a learned strength, bias, lrelu."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.scale = 1 / math.sqrt(in_channels * 9)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        # Const mode's noise; the generator fills it (see StyleGAN2Generator._draw_noise_buffers).
        self.register_buffer("noise_const", torch.zeros(resolution, resolution))  # [R, R]
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.up, self.resolution = up, resolution

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """`noise` [N, 1, R, R], when given, replaces random mode's draw (seeded sampling)."""
        if self.up:
            x = upsample2(x)
        return self.noise_bias_activation(modulated_conv2d(x, self.weight * self.scale, self.affine(w)), noise_mode,
                                          noise)

    def noise_bias_activation(self, x: torch.Tensor, noise_mode: str = "random",
                              noise: torch.Tensor | None = None) -> torch.Tensor:
        """What follows the modulated convolution: the noise input, the bias and the scaled leaky ReLU."""
        if noise_mode == "random":
            if noise is None:
                noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
            x = x + noise.to(x.dtype) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        return F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * SQRT2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Checkpoints and exports written before const noise existed have no buffer: fill zeros, which is
        # what their const mode added, so an old model still loads (strictly) and draws the images it drew.
        key = prefix + "noise_const"
        if key not in state_dict:
            state_dict[key] = torch.zeros_like(self.noise_const)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation."""

    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(channels, in_channels, 1, 1))
        self.scale = 1 / math.sqrt(in_channels)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        out = modulated_conv2d(x, self.weight, self.affine(w) * self.scale, demodulate=False, padding=0)
        return out + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """z (+ embedded label) -> w through an MLP with lr multiplier 0.01; tracks w's mean for truncation."""

    def __init__(self, z_dim: int, w_dim: int, num_classes: int, layers: int = 8, lr_mul: float = 0.01) -> None:
        super().__init__()
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None
        self.num_classes = num_classes
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None, update_avg: bool = False) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            assert labels is not None, "a conditional generator needs labels"
            y = normalize_2nd_moment(self.embed(F.one_hot(labels, self.num_classes).to(z.dtype)))
            x = torch.cat([x, y], dim=1)
        w = self.net(x)
        if update_avg:
            self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, 0.995))
        return w


@NETWORKS.register("stylegan2.generator")
class StyleGAN2Generator(nn.Module):
    """z [N, z_dim] (+ labels) -> image [N, C, R, R]; `truncation_psi` pulls w towards its mean."""

    def __init__(
        self,
        resolution: int = 32,  # output side, power of two
        channels: int = 3,  # output channels
        z_dim: int = 128,  # latent size
        w_dim: int = 128,  # intermediate latent size
        num_classes: int = 0,  # >0: label embedded into the mapping network
        channel_base: int = 4096,  # channels at resolution r: min(channel_base / r, channel_max)
        channel_max: int = 256,  # cap on channels
        mapping_layers: int = 4,  # depth of the mapping MLP (8 in the paper; 4 is enough at small sizes)
        mixing_prob: float = 0.9,  # style mixing probability while training
    ) -> None:
        super().__init__()
        log_res = _log2_resolution(resolution)
        self.resolution, self.channels, self.z_dim, self.w_dim = resolution, channels, z_dim, w_dim
        self.num_classes, self.mixing_prob = num_classes, mixing_prob
        self.mapping = MappingNetwork(z_dim, w_dim, num_classes, mapping_layers)
        c4 = channels_at(4, channel_base, channel_max)
        self.const = nn.Parameter(torch.randn(c4, 4, 4))
        self.conv4 = StyleConv(c4, c4, w_dim, 4)
        self.rgb4 = ToRGB(c4, channels, w_dim)
        self.blocks = nn.ModuleList()
        self.rgbs = nn.ModuleList()
        cin = c4
        for lr in range(3, log_res + 1):
            res = 2**lr
            cout = channels_at(res, channel_base, channel_max)
            self.blocks.append(nn.ModuleList([StyleConv(cin, cout, w_dim, res, up=True), StyleConv(cout, cout, w_dim, res)]))
            self.rgbs.append(ToRGB(cout, channels, w_dim))
            cin = cout
        self.num_ws = 2 + 3 * len(self.blocks)  # conv4, rgb4, then (conv, conv, rgb) per block
        self._draw_noise_buffers()

    def noise_layers(self) -> list[StyleConv]:
        """The layers with noise inputs, in the order synthesis runs them."""
        return [self.conv4, *(conv for block in self.blocks for conv in block)]

    def _draw_noise_buffers(self) -> None:
        """Fill const mode's buffers with N(0, 1) noise, once.

        Drawn from a private generator seeded from torch's seed rather than from the global stream, so
        that adding the buffers left the weights (and those of anything built after G) unchanged for a
        given seed; a run's noise still follows its --seed.
        """
        g = torch.Generator().manual_seed((torch.initial_seed() ^ _NOISE_SEED_SALT) % 2**63)
        with torch.no_grad():
            for conv in self.noise_layers():
                conv.noise_const.copy_(torch.randn(conv.noise_const.shape, generator=g))

    def draw_noise(self, generator: torch.Generator) -> list[torch.Tensor]:
        """One image's noise for every layer, [1, 1, R, R] each, from `generator` (seeded random sampling)."""
        return [torch.randn(1, 1, c.resolution, c.resolution, generator=generator) for c in self.noise_layers()]

    def map(self, z: torch.Tensor, labels: torch.Tensor | None, truncation_psi: float = 1.0) -> torch.Tensor:
        """Per-layer styles ws [N, num_ws, w_dim], with style mixing in training and truncation."""
        w = self.mapping(z, labels, update_avg=self.training)
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if self.training and self.mixing_prob > 0 and torch.rand(()) < self.mixing_prob:
            cut = int(torch.randint(1, self.num_ws, ()))
            w2 = self.mapping(torch.randn_like(z), labels)
            ws[:, cut:] = w2[:, None]
        if truncation_psi != 1.0:
            avg = self.mapping.w_avg.to(ws.dtype)
            ws = avg + truncation_psi * (ws - avg)
        return ws

    def feature_channels(self, res: int) -> int:
        """Channels of the features at resolution `res` (what a feature residual there must have)."""
        for conv in reversed(self.noise_layers()):
            if conv.resolution == res:
                return int(conv.weight.shape[0])
        raise ValueError(f"feature_residual's resolution {res} is none of the generator's (4 to {self.resolution})")

    def synthesis_input(self, ws: torch.Tensor) -> torch.Tensor:
        """The 4x4 features the first convolution starts from: the learned constant, the same for every sample."""
        return self.const[None].expand(ws.shape[0], -1, -1, -1)

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random", noise: list[torch.Tensor] | None = None,
                  feature_residual: tuple[int, torch.Tensor] | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images; `noise` (random mode): [N, 1, R, R] per layer, as noise_layers();
        `feature_residual` (r, [N or 1, C_r, r, r]) is added to the features of resolution r before their toRGB (an
        inversion encoder's detail the ws cannot carry, Feature-Style Encoder's idea)."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        layers = self.noise_layers()
        if noise is not None and len(noise) != len(layers):
            raise ValueError(f"noise needs one tensor per noise layer ({len(layers)}), got {len(noise)}")
        noises = iter(noise if noise is not None else [None] * len(layers))
        x = self.synthesis_input(ws)
        res, residual = feature_residual or (0, None)
        if residual is not None:
            self.feature_channels(res)  # a one-line error for a resolution the generator does not have
        x = self.conv4(x, ws[:, 0], noise_mode, next(noises))
        x = x + residual.to(x.dtype) if res == 4 else x
        img = self.rgb4(x, ws[:, 1])
        i = 2
        for (conv_up, conv), rgb in zip(self.blocks, self.rgbs):
            x = conv_up(x, ws[:, i], noise_mode, next(noises))
            x = conv(x, ws[:, i + 1], noise_mode, next(noises))
            if residual is not None and x.shape[-1] == res:
                x = x + residual.to(x.dtype)
            img = upsample2(img) + rgb(x, ws[:, i + 2])
            i += 3
        return img  # [N, C, R, R], roughly in [-1, 1] (not clamped, as in the paper)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                noise_mode: str | None = None, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Training draws fresh noise; eval mode's default is const (fixed buffers), as StyleGAN2-ADA's."""
        assert z.ndim == 2 and z.shape[1] == self.z_dim, z.shape  # [N, z_dim]
        mode = noise_mode or ("random" if self.training else "const")
        return self.synthesis(self.map(z, labels, truncation_psi), mode, noise)


class MinibatchStd(nn.Module):
    """Appends the standard deviation of features across groups of the batch as one extra channel."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        while n % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()  # [N/g, C, H, W]
        y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # [N, 1, H, W]
        return torch.cat([x, y], dim=1)


def residual_down_block(cin: int, cout: int) -> nn.ModuleDict:
    """StyleGAN2's residual block that halves the resolution: two 3x3 convolutions beside a 1x1 skip (the
    discriminator's, and the inversion encoder's)."""
    return nn.ModuleDict({
        "conv0": EqualConv2d(cin, cin, 3), "conv1": EqualConv2d(cin, cout, 3, down=True),
        "skip": EqualConv2d(cin, cout, 1, down=True, activate=False, bias=False),
    })


def residual_down(block: nn.ModuleDict, h: torch.Tensor) -> torch.Tensor:
    return (block["skip"](h) + block["conv1"](block["conv0"](h))) / SQRT2


@NETWORKS.register("stylegan2.discriminator")
class StyleGAN2Discriminator(nn.Module):
    """Residual discriminator; projection onto an embedded label when conditional."""

    def __init__(
        self,
        resolution: int = 32,
        channels: int = 3,
        num_classes: int = 0,
        channel_base: int = 4096,
        channel_max: int = 256,
        mbstd_group: int = 4,
    ) -> None:
        super().__init__()
        log_res = _log2_resolution(resolution)
        self.resolution, self.channels, self.num_classes = resolution, channels, num_classes
        self.from_rgb = EqualConv2d(channels, channels_at(resolution, channel_base, channel_max), 1)
        self.blocks = nn.ModuleList()
        for lr in range(log_res, 2, -1):
            cin, cout = channels_at(2**lr, channel_base, channel_max), channels_at(2 ** (lr - 1), channel_base, channel_max)
            self.blocks.append(residual_down_block(cin, cout))
        c4 = channels_at(4, channel_base, channel_max)
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc = EqualLinear(c4 * 16, c4, activate=True)
        self.cmap_dim = c4 if num_classes else 1
        self.out = EqualLinear(c4, self.cmap_dim)
        self.embed = EqualLinear(num_classes, self.cmap_dim) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1:] == (self.channels, self.resolution, self.resolution), x.shape
        h = self.from_rgb(x)
        for block in self.blocks:
            h = residual_down(block, h)
        h = self.fc(self.conv(self.mbstd(h)).flatten(1))
        out = self.out(h)  # [N, cmap_dim]
        if self.embed is None:
            return projection_logits(out, None)
        assert labels is not None, "a conditional discriminator needs labels"
        return projection_logits(out, self.embed(F.one_hot(labels, self.num_classes).to(out.dtype)))
