"""CycleGAN's history of generated images (Shrivastava et al., 2017; Zhu et al., 2017).

D is updated on a mix of the newest fakes and older ones, so it keeps rejecting what G produced a
while ago and G cannot win by oscillating between modes D has forgotten. Until the pool holds `size`
images every new one is stored and passed through; after that each new image, with probability 0.5,
is swapped for a random stored one (which D sees instead), else passed through.

The draws come from the pool's own seeded torch.Generator, never the global RNG, and `state()` holds
the stored images and that generator's state, so a resumed run picks the same images (exact resume).
In multi-process training give each process its own seed.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import ConfigError


class ImagePool:
    """A buffer of up to `size` generated images; `query(fakes)` returns what D should see."""

    def __init__(
        self,
        size: int = 50,  # images kept; 0 turns the pool off (query returns its input)
        seed: int = 0,  # seed of the pool's own random draws
    ) -> None:
        if size < 0:
            raise ConfigError(f"the image pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []  # each [C, H, W], detached
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Fakes [N, C, H, W] -> the batch for D's step [N, C, H, W], detached, part new and part old."""
        assert images.ndim == 4, images.shape  # [N, C, H, W]
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:  # CPU generator: no device sync
                i = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[i].to(image.device, image.dtype))
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> dict[str, Any]:
        """The stored images and the generator's state: all a checkpoint needs (tensors, no pickles)."""
        return {"images": list(self.images), "rng": self.generator.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what state() returned; the images may come back on the CPU and move on their next use."""
        images = list(state.get("images", []))
        if len(images) > self.size:
            raise ConfigError(f"the saved image pool holds {len(images)} images, more than its size {self.size}; "
                              "resume with the pool size the run was started with")
        self.images = [image.detach().clone() for image in images]
        if "rng" in state:
            self.generator.set_state(state["rng"])
