"""The attribute editor's pipeline: images in, the same images with a chosen attribute out.

    editor = ganforge.load("runs/attribute-editor-emoji-64")      # an AttributePipeline
    editor(["person.png"], "dark", output_type="pil")           # skin-tone models: none, light, ..., dark
    editor(digits, "7", output_type="np")                       # class models: a class name

Inputs of any size are resized to the model's side (bicubic; RGBA over white, as the training images); outputs are
that side, watermarked like every pipeline's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganforge.errors import GanforgeError
from ganforge.imaging import tensor_to_uint8, to_pil
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, component, image_items


@PIPELINES.register("attribute")
class AttributePipeline(Pipeline):
    editor = component("editor")

    @property
    def class_names(self) -> list[str]:
        return list(self.config.get("class_names", []))

    def attribute_index(self, attribute: str | int) -> int:
        """A class name (skin tones also as `skin-tone:dark`) or index -> the index; one-line error otherwise."""
        names = self.class_names
        text = str(attribute).strip()
        text = text.split(":", 1)[1] if ":" in text else text
        text = text.replace(" skin tone", "")
        if text in names:
            return names.index(text)
        if isinstance(attribute, int) and 0 <= attribute < len(names):
            return attribute
        raise GanforgeError(f"attribute {attribute!r}: this model's {self.config.get('attribute')} values are "
                            f"{', '.join(names)}")

    @torch.no_grad()
    def __call__(self, images: Any | Sequence[Any], attribute: str | int, output_type: str = "pil") -> Any:
        """Edit one image or a list into `attribute`; "pil" (a list), "np" (uint8 [N, R, R, C]) or "pt"."""
        from ganforge.editing.inversion import target_tensor
        from ganforge.tasks.translation.pipeline import as_array

        index = self.attribute_index(attribute)
        items, _ = image_items(images, "edit")
        check_output_type(output_type)
        x = torch.cat([target_tensor(as_array(item), self.resolution, self.channels) for item in items]).to(self.device)
        out = self.editor(x, torch.full((len(x),), index, device=self.device)).float().clamp(-1, 1).cpu()
        if output_type == "pt":
            return out
        uint8 = tensor_to_uint8(out)
        return uint8 if output_type == "np" else [to_pil(a) for a in uint8]
