"""The encoder's pipeline: images -> w+ latents of the generator it was trained on (`ganforge train encoder`).

    encoder = ganforge.load("runs/encoder-e4e-emoji-64")      # an EncoderPipeline
    ws = encoder.encode(images)                                # [N, num_ws, w_dim], images uint8 [N, H, W, C]
    ws, residual = encoder.encode_features(images)             # + a feature encoder's (--model fse) residual
    encoder.check_generator(ganforge.load(generator_run))      # refuses another generator's pipeline

It returns latents, not pictures, so it has no `__call__` (whose outputs every pipeline watermarks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganforge.errors import GanforgeError
from ganforge.pipelines.base import PIPELINES, Pipeline, component


@PIPELINES.register("encoder")
class EncoderPipeline(Pipeline):
    encoder = component("encoder")

    def encode(self, images: np.ndarray | list[np.ndarray], batch_size: int = 64) -> torch.Tensor:
        """uint8 images ([N, H, W, C] or a list of [H, W(, C)], any size: resized to the encoder's) -> w+ on the
        pipeline's device, [N, num_ws, w_dim]."""
        return self.encode_features(images, batch_size)[0]

    @torch.no_grad()
    def encode_features(self, images: np.ndarray | list[np.ndarray], batch_size: int = 64
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(w+ as `encode`, the feature residual [N, C, r, r] at the encoder's feature_res, or None for a w+-only
        encoder); draw both with `editing.inversion.draw_encoded`."""
        from ganforge.editing.inversion import target_tensor

        batch = [target_tensor(np.asarray(image), self.resolution, self.channels) for image in images]
        if not batch:
            raise GanforgeError("encode takes at least one image")
        x = torch.cat(batch)
        parts = [self.encoder.encode(x[i : i + batch_size].to(self.device)) for i in range(0, len(x), batch_size)]
        ws = torch.cat([p[0].float() for p in parts])
        return ws, (None if parts[0][1] is None else torch.cat([p[1].float() for p in parts]))

    def check_generator(self, pipe: Any) -> None:
        """A one-line error when `pipe` is not the generator this encoder was trained on (by weights' hash)."""
        expected = self.config.get("generator_hash")
        if expected and getattr(pipe, "model_hash", None) != expected:
            raise GanforgeError(f"this encoder was trained on {self.config.get('generator', 'another generator')} "
                                f"(hash {expected[:12]}...), not on this model ({pipe.model_hash[:12]}...)")
