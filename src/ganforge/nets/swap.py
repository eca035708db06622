"""Face-swap networks over aligned crops (issue 32): faceswap's shared encoder with one decoder per identity, and a
SimSwap-style generator that takes any identity as an embedding.

Both read an aligned crop [N, 3, S, S] in [-1, 1] (S a multiple of 8) and draw [N, 4, S, S]: a face in [-1, 1] and
a blend mask in 0..1 that says where it replaces the input (the swapped face's visible part: a hand in front of the
face stays the input's). `blend` puts the two together.

- `FaceswapAutoencoder` (the faceswap / DeepFaceLab design): one encoder narrowed to a dense code, shared by every
  identity, and a decoder per identity; trained to redraw each identity's own crops, a swap decodes A's code with
  B's decoder. The narrow code keeps only what the identities share (where the face is covered), not who it is.
- `SimSwapGenerator` (Chen et al., 2020): encoder, residual blocks whose instance-norm scale and shift are read
  from the target identity's embedding (ID injection, AdaIN), decoder; one network for every identity.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import Norm2d, check_multiple, normal_init, upsample_layer
from ganforge.registry import NETWORKS

DOWNSAMPLINGS = 3  # 64 -> 8


def _down(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm != "batch"), Norm2d(norm, c_out),
                         nn.LeakyReLU(0.2, inplace=True))


def _widths(width: int) -> list[int]:
    return [width, 2 * width, 4 * width]  # after each downsampling


class SwapEncoder(nn.Module):
    """crop [N, 3, S, S] -> features [N, 4 * width, S / 8, S / 8] (three stride-2 convolutions)."""

    def __init__(self, width: int = 16, norm: str = "instance") -> None:
        super().__init__()
        w = _widths(width)
        self.net = nn.Sequential(
            nn.Conv2d(3, w[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),  # the first layer is never normalised
            _down(w[0], w[1], norm), _down(w[1], w[2], norm))
        self.channels = w[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_multiple(x, 2**DOWNSAMPLINGS, "the swap encoder")
        return self.net(x)


class AdaptiveNorm(nn.Module):
    """Instance norm whose scale and shift are read from an identity embedding (AdaIN), or plain `norm` without one."""

    def __init__(self, channels: int, norm: str = "instance", embed_dim: int | None = None) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels) if embed_dim else Norm2d(norm, channels)
        self.style = nn.Linear(embed_dim, 2 * channels) if embed_dim else None

    def forward(self, h: torch.Tensor, e: torch.Tensor | None = None) -> torch.Tensor:
        if self.style is None:
            return self.norm(h)
        scale, shift = self.style(e.to(h.dtype))[:, :, None, None].chunk(2, dim=1)
        return self.norm(h) * (1 + scale) + shift


class SwapDecoder(nn.Module):
    """features [N, 4 * width, s, s] -> [N, 4, 8s, 8s]: a face in [-1, 1] and its blend mask in 0..1. With
    `embed_dim`, every level's norm is read from the identity embedding (FaceShifter injects identity at every
    level of its decoder; SimSwap's blocks only at the bottleneck)."""

    def __init__(self, width: int = 16, norm: str = "instance", embed_dim: int | None = None) -> None:
        super().__init__()
        w = _widths(width)
        self.ups, self.norms = nn.ModuleList(), nn.ModuleList()
        for c_in, c_out in ((w[2], w[1]), (w[1], w[0]), (w[0], w[0])):
            self.ups.append(upsample_layer("resize", c_in, c_out, norm != "batch", padding_mode="reflect"))
            self.norms.append(AdaptiveNorm(c_out, norm, embed_dim))
        self.head = nn.Conv2d(w[0], 4, 3, 1, 1, padding_mode="reflect")

    def forward(self, h: torch.Tensor, e: torch.Tensor | None = None) -> torch.Tensor:
        for up, norm in zip(self.ups, self.norms):
            h = torch.relu(norm(up(h), e))
        out = self.head(h)
        return torch.cat([torch.tanh(out[:, :3]), torch.sigmoid(out[:, 3:])], dim=1)


def blend(x: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """A swap network's output [N, 4, H, W] over its input crop [N, 3, H, W]: mask x face + (1 - mask) x input."""
    mask = drawn[:, 3:]
    return mask * drawn[:, :3] + (1 - mask) * x


@NETWORKS.register("swap.autoencoder")
class FaceswapAutoencoder(nn.Module):
    """(crop [N, 3, S, S], identity k) -> decoder k's drawing [N, 4, S, S] of the crop's shared code."""

    def __init__(self, identities: int = 2, width: int = 16, code: int = 128, crop: int = 64,
                 norm: str = "instance") -> None:
        super().__init__()
        if identities < 2:
            raise ConfigError(f"a faceswap autoencoder needs at least 2 identities, got {identities}")
        self.identities, self.crop = identities, crop
        self.encoder = SwapEncoder(width, norm)
        self.side = crop // 2**DOWNSAMPLINGS
        flat = self.encoder.channels * self.side**2
        self.to_code = nn.Linear(flat, code)  # faceswap's dense bottleneck
        self.from_code = nn.Linear(code, flat)
        self.decoders = nn.ModuleList([SwapDecoder(width, norm) for _ in range(identities)])
        normal_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[N, channels, S/8, S/8]: the shared code, widened back to the decoders' input."""
        if x.shape[-1] != self.crop or x.shape[-2] != self.crop:
            raise ConfigError(f"this autoencoder takes {self.crop}-px crops, got {tuple(x.shape[-2:])}")
        code = self.to_code(self.encoder(x).flatten(1))
        return self.from_code(code).view(len(x), self.encoder.channels, self.side, self.side)

    def decode(self, h: torch.Tensor, identity: int) -> torch.Tensor:
        """Decoder `identity`'s drawing [N, 4, S, S] of shared codes `h` (`encode`)."""
        if not 0 <= identity < self.identities:
            raise ConfigError(f"identity {identity} is outside 0..{self.identities - 1}")
        return self.decoders[identity](h)

    def forward(self, x: torch.Tensor, identity: int) -> torch.Tensor:
        return self.decode(self.encode(x), identity)


class IdentityBlock(nn.Module):
    """SimSwap's ID block: x + (conv, AdaIN(e), ReLU, conv, AdaIN(e))(x), the norms' scale and shift read from the
    identity embedding e."""

    def __init__(self, channels: int, embed_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, padding_mode="reflect")
        self.norm1, self.norm2 = AdaptiveNorm(channels, embed_dim=embed_dim), AdaptiveNorm(channels, embed_dim=embed_dim)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.conv1(x), e))
        return x + self.norm2(self.conv2(h), e)


@NETWORKS.register("swap.simswap")
class SimSwapGenerator(nn.Module):
    """(crop [N, 3, S, S], identity embedding [N, D]) -> a drawing [N, 4, S, S] of that identity in the crop's
    place."""

    def __init__(self, embed_dim: int = 128, width: int = 16, blocks: int = 4, norm: str = "instance",
                 decoder_injection: bool = False) -> None:
        super().__init__()
        from ganforge.swap.identity import IdentityEncoder

        self.embed_dim = embed_dim
        # the identity encoder rides along, frozen (the task loads the shipped weights into it): exports and the
        # identity loss read faces with the encoder this generator was trained against
        self.identity = IdentityEncoder(embed_dim).requires_grad_(False)
        self.encoder = SwapEncoder(width, norm)
        self.blocks = nn.ModuleList([IdentityBlock(self.encoder.channels, embed_dim) for _ in range(blocks)])
        self.decoder = SwapDecoder(width, norm, embed_dim if decoder_injection else None)
        for part in (self.encoder, self.blocks, self.decoder):
            normal_init(part)

    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        """Face crops [N, 3, H, W] in [-1, 1] -> their identity embeddings [N, embed_dim]."""
        return self.identity(crops)

    def trainable(self) -> list[nn.Parameter]:
        """The parameters training updates: all but the identity encoder's."""
        return [p for name, p in self.named_parameters() if not name.startswith("identity.")]

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        if embedding.ndim != 2 or embedding.shape[1] != self.embed_dim:
            raise ConfigError(f"the generator takes identity embeddings [N, {self.embed_dim}], got "
                              f"{tuple(embedding.shape)}")
        h = self.encoder(x)
        for block in self.blocks:
            h = block(h, embedding.to(h.dtype))
        return self.decoder(h, embedding)
