"""CycleGAN's history of generated images (Shrivastava et al., 2017; Zhu et al., 2017).

D is updated on a mix of the newest fakes and older ones, so it keeps rejecting what G produced a
while ago and G cannot win by oscillating between modes D has forgotten. Until the pool holds `size`
images every new one is stored and passed through; after that each new image, with probability 0.5,
is swapped for a random stored one (which D sees instead), else passed through.

The pool counts images; how many steps of history that is depends on the batch, so a task sizes it as
steps x its batch (`history_size`): the paper's 50 images at batch 1 are 50 steps, and 50 images at batch
64 would be less than one step. Stored images are kept in float16 (half the memory of float32; its
spacing within [-1, 1] is at most 2^-11, 16 times finer than an 8-bit image's step of 2/255) and come
back in the dtype of the batch that queries them.

The draws come from the pool's own seeded torch.Generator, never the global RNG, and `state()` holds
the stored images and that generator's state, so a resumed run picks the same images (exact resume).
In multi-process training give each process its own seed.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import ConfigError

STORE_DTYPE = torch.float16  # what floating-point images are kept in (see the module doc)


def history_size(steps: int, global_batch: int, rank: int = 0, world_size: int = 1) -> int:
    """Images in a pool holding `steps` batches of this process's share of `global_batch`.

    The share is what the trainer deals this rank (items rank, rank + world_size, ...), so every process's
    pool spans the same number of steps however many processes there are.
    """
    return steps * len(range(rank, global_batch, world_size))


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
        if self.images and self.images[0].device != images.device:  # restored on the CPU: move them all at once
            self.images = [image.to(images.device) for image in self.images]
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(_stored(image))
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:  # CPU generator: no device sync
                i = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[i].to(image.dtype))
                self.images[i] = _stored(image)
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> dict[str, Any]:
        """The stored images [K, C, H, W] and the generator's state: all a checkpoint needs (tensors, no pickles).

        One stacked tensor rather than a list: a pool of thousands of images is then one checkpoint entry.
        """
        images = torch.stack(self.images) if self.images else []
        return {"images": images, "rng": self.generator.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what state() returned (or an older checkpoint's list of images); the images may come back
        on the CPU and move to the fakes' device on the next query."""
        images = list(state.get("images", []))  # a stacked tensor unbinds into its images
        if len(images) > self.size:
            raise ConfigError(f"the saved image pool holds {len(images)} images, more than its size {self.size}; "
                              "resume with the pool size the run was started with")
        self.images = [_stored(image) for image in images]
        if "rng" in state:
            self.generator.set_state(state["rng"])


def _stored(image: torch.Tensor) -> torch.Tensor:
    """A detached copy of one image as the pool keeps it: floating point in STORE_DTYPE, anything else as is."""
    dtype = STORE_DTYPE if image.is_floating_point() else image.dtype
    return image.detach().to(dtype=dtype, copy=True)
