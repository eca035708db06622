"""Video generation pipeline: seeds in, clips out; also the two streams a clip is made of.

    pipe = ganforge.load("runs/video-vgan-moving-emoji-64")
    clips = pipe(n=8, seed=0, output_type="np")             # uint8 [8, T, H, W, C]
    parts = pipe.streams(seeds=[0, 1], output_type="np")   # video, foreground, mask, background
    save_animation(tile_clips(clips), "clips.gif")          # one animation, a grid of the clips per frame

Output types follow the image pipeline's: "pt" gives float clips [N, T, C, H, W] in [-1, 1], "np" uint8
[N, T, H, W, C], "pil" a list of N clips, each a list of T PIL images. Each clip depends only on its seed
(the image pipeline's `latent_for_seed`), never on the batch it is drawn in: the generator's batch norm runs
in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.imaging import make_grid, to_pil
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, component, config_value
from ganforge.tasks.image.pipeline import latent_for_seed

STREAMS = ("video", "foreground", "mask", "background")


class StreamsGraph(torch.nn.Module):
    """A video generator as its ONNX graph computes it: z -> the clip and its streams, in STREAMS order."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.generator(z, streams=True)
        return tuple(out[name] for name in STREAMS)


@PIPELINES.register("video")
class VideoGenerationPipeline(Pipeline):
    """`pipe(n=8, seed=0)` or `pipe(seeds=[...])` -> clips; `pipe.streams(...)` -> clips and their two streams."""

    MARKED_METHODS = ("streams",)  # its mask stays as it is (UNMARKED_KEYS)
    generator = component("generator")
    z_dim = config_value("z_dim", int)
    frames = config_value("frames", int)
    channels = config_value("channels", int)

    @property
    def class_names(self) -> list[str]:
        return []

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        return {"generator": OnnxGraph(StreamsGraph(self.generator), (torch.randn(2, self.z_dim),), ("z",), STREAMS,
                                       {"z": {0: "batch"}}, tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        return {"generator": OnnxFeed(lambda z, labels=None, streams=False: {"z": z})}  # always every stream

    def _seeds(self, n: int | None, seed: int, seeds: Sequence[int] | None) -> list[int]:
        if seeds is None:
            if n is None or n < 1:
                raise GanforgeError(f"give n >= 1 or a list of seeds, got n={n!r}")
            return list(range(seed, seed + n))
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise GanforgeError("give at least one seed")
        return seeds

    @torch.no_grad()
    def generate(self, latents: torch.Tensor, batch_size: int = 16, streams: bool = False
                 ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Clips [N, T, C, H, W] in [-1, 1] for latents [N, z_dim], in batches; with `streams`, the dict of
        "video", "foreground" (both [N, T, C, H, W]), "mask" [N, T, 1, H, W] in [0, 1] and "background" [N, C, H, W]."""
        if batch_size < 1:
            raise GanforgeError(f"batch_size must be at least 1, got {batch_size}")
        parts: dict[str, list[torch.Tensor]] = {name: [] for name in STREAMS}
        for i in range(0, latents.shape[0], batch_size):
            out = self.generator(latents[i : i + batch_size].to(self.device), streams=True)
            for name in STREAMS if streams else ("video",):
                parts[name].append(out[name].float().cpu())
        joined = {name: torch.cat(chunks) for name, chunks in parts.items() if chunks}
        if streams:
            joined["video"] = joined["video"].clamp(-1, 1)
            return joined
        return joined["video"].clamp(-1, 1)

    def _latents(self, seeds: list[int]) -> torch.Tensor:
        return torch.stack([latent_for_seed(s, self.z_dim) for s in seeds])

    def __call__(
        self,
        n: int | None = None,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
        output_type: str = "pil",
        batch_size: int = 16,
    ) -> Any:
        check_output_type(output_type)
        clips = self.generate(self._latents(self._seeds(n, seed, seeds)), batch_size)
        return format_clips(clips, output_type)

    def streams(
        self,
        n: int | None = None,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
        output_type: str = "np",
        batch_size: int = 16,
    ) -> dict[str, Any]:
        """The clips and the streams they are composed of, each in `output_type`: "video", "foreground" and
        "mask" are clips (the mask in [0, 1] as "pt", 0..255 grey otherwise), "background" one image per clip."""
        check_output_type(output_type)
        parts = self.generate(self._latents(self._seeds(n, seed, seeds)), batch_size, streams=True)
        if output_type == "pt":
            return parts
        mask = parts["mask"] * 2 - 1  # [0, 1] -> [-1, 1], the range format_* maps to 0..255
        return {"video": format_clips(parts["video"], output_type),
                "foreground": format_clips(parts["foreground"], output_type),
                "mask": format_clips(mask, output_type),
                "background": self.format_output(parts["background"], output_type)}


def format_clips(clips: torch.Tensor, output_type: str) -> Any:
    """[N, T, C, H, W] in [-1, 1] -> the tensor ("pt"), uint8 [N, T, H, W, C] ("np"), or N lists of T PIL images."""
    assert clips.ndim == 5, clips.shape  # [N, T, C, H, W]
    if output_type == "pt":
        return clips
    n, t = clips.shape[:2]
    frames = Pipeline.format_output(clips.flatten(0, 1), "np")  # [N * T, H, W, C]
    array = frames.reshape(n, t, *frames.shape[1:])
    if output_type == "np":
        return array
    return [[to_pil(frame) for frame in clip] for clip in array]


def _as_rgb(images: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(images, channels, axis=-1) if images.shape[-1] == 1 and channels != 1 else images


def tile_clips(clips: np.ndarray, nrow: int | None = None) -> np.ndarray:
    """uint8 clips [N, T, H, W, C] -> frames [T, H', W', C]: frame t is a grid (`nrow` per row, default square)
    of every clip's frame t, so one animation plays all the clips side by side."""
    assert clips.ndim == 5, clips.shape  # [N, T, H, W, C]
    nrow = nrow or max(1, math.ceil(math.sqrt(clips.shape[0])))
    return np.stack([make_grid(clips[:, t], nrow=nrow) for t in range(clips.shape[1])])


def clip_strip(clips: np.ndarray) -> np.ndarray:
    """uint8 clips [N, T, H, W, C] -> one still image [H', W', C]: a row of frames per clip, time left to right."""
    assert clips.ndim == 5, clips.shape  # [N, T, H, W, C]
    n, t = clips.shape[:2]
    return make_grid(clips.reshape(n * t, *clips.shape[2:]), nrow=t)


def streams_figure(parts: dict[str, np.ndarray]) -> np.ndarray:
    """A still figure of what `VideoGenerationPipeline.streams(output_type="np")` returns: per clip, four rows of
    T frames: the clip, the foreground stream, the mask (white = foreground) and the static background."""
    video = parts["video"]  # [N, T, H, W, C]
    n, t, _, _, c = video.shape
    rows = []
    for i in range(n):
        background = np.repeat(parts["background"][i][None], t, axis=0)  # the same frame at every time
        rows += [video[i], parts["foreground"][i], _as_rgb(parts["mask"][i], c), background]
    tiles = np.stack(rows)  # [4N, T, H, W, C]
    return make_grid(tiles.reshape(-1, *tiles.shape[2:]), nrow=t)
