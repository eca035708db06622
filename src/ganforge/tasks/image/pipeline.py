"""Image generation pipeline: seeds (and classes) in, images out; batch-size independent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.imaging import tensor_to_uint8
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, component, config_value

# How a generator with noise inputs (stylegan2) is sampled: its fixed noise buffers (deterministic, the
# default for users), fresh noise drawn from each seed's generator after its latent (the generator as
# trained; what the metrics use), or no noise. A generator without noise inputs ignores the mode.
NOISE_MODES = ("const", "random", "none")


def latent_for_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The latent of one seed, the same whatever the batch it is drawn in."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise GanforgeError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation, which keeps Gaussian latents at a typical norm along the walk."""
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.arccos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if so.abs() < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


class GeneratorGraph(torch.nn.Module):
    """An image generator as its ONNX graph computes it, (z [, label] [, truncation]) -> image [N, C, R, R]: a
    style-based generator with its fixed noise (noise_mode "const") and truncation an input of shape [1]. The
    subclasses below give forward the graph's exact inputs (torch.export traces a signature, not *args)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def image(self, z: torch.Tensor, label: torch.Tensor | None, psi: torch.Tensor | None) -> torch.Tensor:
        if psi is None:
            return self.generator(z, label)
        ws = self.generator.map(z, label)
        avg = self.generator.mapping.w_avg.to(ws.dtype)
        return self.generator.synthesis(avg + psi.view(1, 1, 1) * (ws - avg), "const")


class _Plain(GeneratorGraph):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image(z, None, None)


class _Labelled(GeneratorGraph):
    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.image(z, label, None)


class _Styled(GeneratorGraph):
    def forward(self, z: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
        return self.image(z, None, truncation)


class _StyledLabelled(GeneratorGraph):
    def forward(self, z: torch.Tensor, label: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
        return self.image(z, label, truncation)


GRAPHS = {("z",): _Plain, ("z", "label"): _Labelled, ("z", "truncation"): _Styled,
          ("z", "label", "truncation"): _StyledLabelled}


def generator_inputs(config: dict[str, Any]) -> tuple[str, ...]:
    """The ONNX graph's inputs for an image generator's export config."""
    style = config["components"]["generator"]["class"].startswith("stylegan2")
    return ("z",) + (("label",) if config.get("class_names") else ()) + (("truncation",) if style else ())


@PIPELINES.register("image")
class ImageGenerationPipeline(Pipeline):
    """`pipe(n=16, seed=0)` or `pipe(seeds=[...])`, optional `class_label` and `noise_mode`; eval mode, no grad."""

    MARKED_METHODS = ("latent_walk",)
    generator = component("generator")
    z_dim = config_value("z_dim", int)

    @property
    def class_names(self) -> list[str]:
        return list(self.config.get("class_names", []))

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        inputs = generator_inputs(self.config)
        example = {"z": torch.randn(2, self.z_dim), "label": torch.zeros(2, dtype=torch.long),
                   "truncation": torch.ones(1)}
        graph = GRAPHS[inputs](self.generator)
        return {"generator": OnnxGraph(graph, tuple(example[k] for k in inputs), inputs, ("image",),
                                       {k: {0: "batch"} for k in inputs if k != "truncation"}, tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        inputs = generator_inputs(config)

        def feed(z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0) -> dict:
            return {"z": z, "label": labels, "truncation": torch.tensor([float(truncation_psi)])}

        # a style-based graph takes truncation: `generate` looks for a mapping before it passes one
        return {"generator": OnnxFeed(feed, {"mapping": None} if "truncation" in inputs else {})}

    def _labels(self, class_label: int | str | Sequence[int] | None, n: int) -> torch.Tensor | None:
        names = self.class_names
        if not names:
            if class_label is not None:
                raise GanforgeError("this model is unconditional: it takes no class label")
            return None
        if class_label is None:  # cycle through the classes
            return torch.arange(n) % len(names)
        if isinstance(class_label, str):
            if class_label not in names:
                raise GanforgeError(f"unknown class {class_label!r}; classes: {', '.join(names)}")
            class_label = names.index(class_label)
        labels = torch.as_tensor(class_label, dtype=torch.long).flatten()
        if labels.numel() == 1:
            labels = labels.repeat(n)
        if labels.numel() != n or labels.min() < 0 or labels.max() >= len(names):
            raise GanforgeError(f"class must lie in 0..{len(names) - 1} (one per image), got {class_label!r}")
        return labels

    def _seeded_noise(self, seeds: Sequence[int]) -> list[torch.Tensor]:
        """Random mode's noise for these seeds, [N, 1, R, R] per layer: each seed's generator continues past
        its latent, so an image's noise depends on its seed alone, never on its batch."""
        per_seed = []
        for seed in seeds:
            g = torch.Generator().manual_seed(int(seed))
            torch.randn(self.z_dim, generator=g)  # the seed's latent (latent_for_seed): the noise comes after it
            per_seed.append(self.generator.draw_noise(g))
        return [torch.cat(layer).to(self.device) for layer in zip(*per_seed)]

    @torch.no_grad()
    def generate(self, latents: torch.Tensor, labels: torch.Tensor | None, batch_size: int = 64,
                 truncation: float = 1.0, noise_mode: str = "const",
                 noise_seeds: Sequence[int] | None = None) -> torch.Tensor:
        """Images [N, C, H, W] in [-1, 1] for latents [N, z_dim], in batches.

        Random noise comes from `noise_seeds` (one per latent) when given, else from torch's global stream.
        """
        check_noise_mode(noise_mode)
        extra: dict[str, Any] = {}
        if truncation != 1.0:
            if not hasattr(self.generator, "mapping"):
                raise GanforgeError("truncation needs a style-based generator (stylegan2); this model has no w space")
            extra["truncation_psi"] = truncation
        has_noise = hasattr(self.generator, "draw_noise")
        if has_noise:
            extra["noise_mode"] = noise_mode
        outs = []
        for i in range(0, latents.shape[0], batch_size):
            z = latents[i : i + batch_size].to(self.device)
            y = labels[i : i + batch_size].to(self.device) if labels is not None else None
            if has_noise and noise_mode == "random" and noise_seeds is not None:
                extra["noise"] = self._seeded_noise(noise_seeds[i : i + batch_size])
            outs.append(self.generator(z, y, **extra).float().clamp(-1, 1).cpu())
        return torch.cat(outs)

    def __call__(
        self,
        n: int | None = None,
        seed: int = 0,
        seeds: Sequence[int] | None = None,
        class_label: int | str | Sequence[int] | None = None,
        output_type: str = "pil",
        batch_size: int = 64,
        truncation: float = 1.0,
        noise_mode: str = "const",  # const | random | none (see NOISE_MODES); every mode is deterministic per seed
    ) -> Any:
        check_output_type(output_type)
        check_noise_mode(noise_mode)
        if seeds is None:
            if n is None or n < 1:
                raise GanforgeError(f"give n >= 1 or a list of seeds, got n={n!r}")
            seeds = list(range(seed, seed + n))
        seeds = list(seeds)
        latents = torch.stack([latent_for_seed(s, self.z_dim) for s in seeds])
        images = self.generate(latents, self._labels(class_label, len(seeds)), batch_size, truncation,
                               noise_mode=noise_mode, noise_seeds=seeds)
        return self.format_output(images, output_type)

    def latent_walk(self, seeds: Sequence[int], frames: int = 60,
                    class_label: int | str | None = None) -> list[np.ndarray]:
        """A looping walk through the latents of `seeds` (slerp), as uint8 [H, W, C] frames."""
        if frames < 2:
            raise GanforgeError(f"--frames must be at least 2, got {frames}")
        keys = [latent_for_seed(s, self.z_dim) for s in seeds]
        if len(keys) < 2:
            raise GanforgeError("a latent walk needs at least two seeds")
        path = []
        for f in range(frames):
            pos = f / frames * len(keys)
            i, t = int(pos), pos - int(pos)
            path.append(slerp(keys[i], keys[(i + 1) % len(keys)], t))
        latents = torch.stack(path)
        labels = self._labels(class_label, frames) if self.class_names and class_label is not None else (
            torch.zeros(frames, dtype=torch.long) if self.class_names else None)
        return list(tensor_to_uint8(self.generate(latents, labels)))
