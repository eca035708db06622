"""Helpers shared by the translation tasks (pix2pix, cyclegan): grids of input | output | target rows,
label maps made visible, and the fixed grid items drawn from the training arrays."""

from __future__ import annotations

import torch

from ganforge.config import TrainConfig
from ganforge.errors import ConfigError
from ganforge.imaging import to_signed

GRID_ROWS = 8  # items per translation grid: each is one row of three images


def label_palette(num_labels: int) -> torch.Tensor:
    """A fixed colour per class id, [L, 3] in [-1, 1]; id 0 is black (often 'background')."""
    g = torch.Generator().manual_seed(0)
    colours = torch.randint(40, 256, (max(num_labels, 1), 3), generator=g).float()
    colours[0] = 0
    return to_signed(colours)


def to_display(x: torch.Tensor, channels: int = 3, num_labels: int | None = None) -> torch.Tensor:
    """Any side of a translation as an image grid tile [N, channels, H, W] in [-1, 1].

    Label maps (int64 [N, H, W] ids or a one-hot [N, L, H, W]) get the palette's colours; grey images
    are repeated to three channels, so inputs and outputs of different kinds share one grid.
    """
    if num_labels is not None:
        ids = x if x.ndim == 3 else x.argmax(1)  # [N, H, W]
        x = label_palette(num_labels).to(ids.device)[ids].permute(0, 3, 1, 2)
    x = x.float()
    if x.shape[1] == 1 and channels == 3:
        x = x.repeat(1, 3, 1, 1)
    return x


def interleave_rows(*columns: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] per column -> [N * K, C, H, W] ordered row by row, for a grid with K columns."""
    return torch.stack(columns, dim=1).flatten(0, 1)


def pick_fixed(arrays: dict[str, torch.Tensor], n: int, seed: int, paired: bool) -> dict[str, torch.Tensor]:
    """`n` items of each training array (uint8 [N, C, H, W]) on the CPU, chosen by `seed`, the same every
    run of the same data: what the sample grids translate."""
    out = {}
    for i, (key, array) in enumerate(arrays.items()):
        g = torch.Generator().manual_seed(seed + (0 if paired else 7919 * i))
        idx = torch.randperm(array.shape[0], generator=g)[: min(n, array.shape[0])]
        out[key] = array.index_select(0, idx.to(array.device)).cpu()
    return out


def uint8_input(x: torch.Tensor, integer: bool) -> torch.Tensor:
    """A stored uint8 [N, C, H, W] batch as the task sees it: int64 ids [N, H, W], or floats in [-1, 1]."""
    return x[:, 0].long() if integer else to_signed(x)


def check_discriminator_fits(D: torch.nn.Module, resolution: int, config: TrainConfig) -> None:
    """A PatchGAN stack too deep for the images is a config error at build time, not a shape error later."""
    if resolution < D.min_size:
        raise ConfigError(
            f"--d-layers {config.d_layers} needs images of at least {D.min_size} px for this discriminator, "
            f"got --resolution {resolution}; use fewer --d-layers or a larger --resolution"
        )
