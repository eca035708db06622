"""Super-resolution pipeline: images of any size in, images `scale` times larger out.

    pipe = ganforge.load("runs/superres-srresnet-photos-64")        # an UpscalePipeline
    big = pipe("photo.jpg", tile=128, tile_overlap=16, output_type="pil")[0]
    arrays = pipe([a, b], output_type="np")                          # a list when sizes differ

Inputs may be paths, PIL images or uint8 NumPy arrays ([H, W], [H, W, 1], [H, W, 3], [H, W, 4]) of at
least 2 x 2 pixels. Large images are cut into overlapping tiles of `tile` x `tile` input pixels (0: never
tile), each upscaled alone, and blended with feathered weights: inside the `tile_overlap`-pixel band a
tile shares with its neighbour, its weight falls linearly towards its edge while the neighbour's rises, and
the weighted sum is divided by the sum of weights, so the seams are invisible. The blend is streamed
(`pipelines.tiling`): memory is a few tiles and two overlap strips in float plus the uint8 output, which
`upscale_to_file` does not even hold for a PNG (rows go to the file band by band). A constant image gives a
constant image whenever the network does.

Grey images on a colour model are repeated to three channels and the output turned back to grey (luma);
colour images on a grey model go through its luma. RGBA: the colour is composited onto white (as the
training data were), upscaled by the network, and the alpha channel is upscaled separately with Pillow's
bicubic filter (smooth, with no invented detail: a network trained on photos has never seen an alpha
mask); where alpha is partial the white is then taken back out of the colour (c = (c' - 255 (1 - a)) / a),
so semi-transparent edges keep their own colour rather than a white halo. Runs under `torch.no_grad()` on
the EMA generator when the run kept one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.imaging import save_image, tensor_to_uint8, to_pil, uint8_to_tensor
from ganforge.pipelines.base import (
    PIPELINES,
    Pipeline,
    check_output_type,
    component,
    config_value,
    image_items,
    stream_png,
)
from ganforge.pipelines.tiling import (  # noqa: F401  (re-exported: their home before the engine moved)
    _axis_windows,
    blend_weights,
    check_tiling,
    ramp_window,
    tile_starts,
    tiled_bands,
)
from ganforge.tasks.translation.pipeline import ImageInput, as_array, match_channels, split_alpha

DEFAULT_TILE = 128  # input pixels per tile side
DEFAULT_OVERLAP = 16  # input pixels shared by neighbouring tiles
MIN_SIDE = 2
ALPHA_MIN = 1.0 / 255  # below this the colour of a pixel does not matter


def upscale_alpha(alpha: Image.Image, scale: int, top: int = 0, rows: int | None = None) -> np.ndarray:
    """Output rows [top, top + rows) of the alpha channel (an "L" image) upscaled by Pillow's bicubic filter,
    uint8 [rows, W * scale, 1]: one band without resizing the rest (bit-exact to the whole resize for x2 and x4)."""
    w, h = alpha.size
    rows = h * scale - top if rows is None else rows
    # Pillow's whole resize runs its horizontal pass first; given a box a few rows high it runs the vertical one
    # first (cheaper, rounded differently). So both passes are run here in the whole resize's order: horizontal
    # on the input rows the bicubic support reaches (3 px is enough), then vertical over the band's box.
    r0, r1 = max(0, top // scale - 3), min(h, -(-(top + rows) // scale) + 3)
    wide = alpha.crop((0, r0, w, r1)).resize((w * scale, r1 - r0), Image.Resampling.BICUBIC)
    box = (0, top / scale - r0, w * scale, (top + rows) / scale - r0)
    return np.asarray(wide.resize((w * scale, rows), Image.Resampling.BICUBIC, box=box))[:, :, None]


def uncomposite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Take the white background back out of colour composited onto it: c = (c' - 255 (1 - a)) / a."""
    a = alpha.astype(np.float32) / 255
    safe = np.maximum(a, ALPHA_MIN)
    colour = (rgb.astype(np.float32) - 255 * (1 - a)) / safe
    colour = np.where(a >= ALPHA_MIN, colour, rgb.astype(np.float32))
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


@PIPELINES.register("superres")
class UpscalePipeline(Pipeline):
    """`pipe(images, tile=128, tile_overlap=16, output_type="pil")`; see the module doc."""

    scale = config_value("scale", int)
    generator = component("generator")

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        example = (torch.rand(2, self.channels, 24, 20) * 2 - 1,)
        return {"generator": OnnxGraph(self.generator, example, ("image",), ("upscaled",),
                                       {"image": {0: "batch", 2: "height", 3: "width"}}, tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        return {"generator": OnnxFeed(lambda x: {"image": x})}

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, h, w] in [-1, 1] -> [N, C, h * scale, w * scale] in [-1, 1], in one pass (no tiling)."""
        return self.generator(x.to(self.device)).float().clamp(-1, 1)

    @torch.no_grad()
    def upscale_batch(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """uint8 [N, h, w, C] (C the model's) -> uint8 [N, h * scale, w * scale, C], in batches, untiled:
        what an evaluation on the test split calls."""
        if images.ndim != 4 or images.dtype != np.uint8 or images.shape[3] != self.channels:
            raise GanforgeError(f"upscale_batch takes uint8 [N, H, W, {self.channels}], got {images.dtype} "
                                f"{images.shape}")
        outs = []
        for i in range(0, len(images), batch_size):
            outs.append(tensor_to_uint8(self.upscale_tensor(uint8_to_tensor(images[i : i + batch_size]))))
        return np.concatenate(outs)

    def upscale_bands(self, array: np.ndarray, tile: int = DEFAULT_TILE,
                      tile_overlap: int = DEFAULT_OVERLAP) -> Iterator[tuple[int, np.ndarray]]:
        """One uint8 image [H, W, C] (C 1, 3 or 4) -> its upscaled rows top to bottom, (first row, uint8
        [rows, W * scale, C]), so no full-size copy is needed; checks the input before the first band."""
        h, w = array.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise GanforgeError(f"the image is {w}x{h} px; upscaling needs at least {MIN_SIDE}x{MIN_SIDE}")
        check_tiling(tile, tile_overlap, minimum=2 * MIN_SIDE)
        return self._bands(array, tile, tile_overlap)

    def _bands(self, array: np.ndarray, tile: int, tile_overlap: int) -> Iterator[tuple[int, np.ndarray]]:
        has_alpha = array.shape[2] == 4
        colours = 3 if has_alpha else array.shape[2]  # the output's colour channels: the input's own

        def prepare(part: np.ndarray) -> np.ndarray:  # per tile: composite onto white, the model's channels
            return match_channels(split_alpha(part)[0], self.channels)

        def upscale(x: torch.Tensor, box: Any) -> torch.Tensor:
            return self.upscale_tensor(x)

        alpha = Image.fromarray(np.ascontiguousarray(array[:, :, 3])) if has_alpha else None
        for top, band in tiled_bands(array, upscale, self.scale, tile, tile_overlap, prepare=prepare,
                                     device=self.device):
            band = match_channels(band, colours)
            if alpha is not None:
                band_alpha = upscale_alpha(alpha, self.scale, top, len(band))
                band = np.concatenate([uncomposite(band, band_alpha), band_alpha], axis=2)
            yield top, band

    def upscale_array(self, array: np.ndarray, tile: int = DEFAULT_TILE, tile_overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
        """One uint8 image [H, W, C] (C 1, 3 or 4) -> uint8 [H * scale, W * scale, C]; see the module doc."""
        h, w, c = array.shape
        out = np.empty((h * self.scale, w * self.scale, c), dtype=np.uint8)  # the one full-size buffer
        for top, band in self.upscale_bands(array, tile, tile_overlap):
            out[top : top + len(band)] = band
        return out

    def upscale_to_file(self, image: ImageInput, path: str | Path, tile: int = DEFAULT_TILE,
                        tile_overlap: int = DEFAULT_OVERLAP, watermark: bool = True,
                        provenance: Any = None) -> Path:
        """Upscale one image into a file: a .png is streamed band by band (the output is never whole in memory),
        other formats go through the array and `save_image`. The file carries the watermark (unless `watermark`
        is False) and metadata: `provenance` (`Pipeline.provenance`) where given, which then decides both."""
        path, array = Path(path), as_array(image)
        if provenance is None:
            provenance = self.provenance({"scale": self.scale, "tile": tile, "tile_overlap": tile_overlap}, watermark)
        if path.suffix.lower() != ".png":
            out = provenance.mark(self.upscale_array(array, tile, tile_overlap))
            return save_image(out, path, metadata=provenance.metadata())
        h, w, c = array.shape
        bands = self.upscale_bands(array, tile, tile_overlap)  # checked before the file is opened
        stream_png(path, bands, (h * self.scale, w * self.scale, c), provenance)
        return path

    def __call__(
        self,
        images: ImageInput | Sequence[ImageInput],
        tile: int = DEFAULT_TILE,
        tile_overlap: int = DEFAULT_OVERLAP,
        output_type: str = "pil",
    ) -> Any:
        """Upscale one image or a list; returns a list of PIL images ("pil"), a uint8 [N, H, W, C] array ("np",
        a list when sizes differ) or a [N, C, H, W] tensor in [-1, 1] ("pt", a list when sizes differ)."""
        items, single = image_items(images, "upscale")
        check_output_type(output_type)
        arrays = [self.upscale_array(as_array(item), tile, tile_overlap) for item in items]
        same = len({a.shape for a in arrays}) == 1
        if output_type == "np":
            return np.stack(arrays) if same else arrays
        if output_type == "pt":
            tensors = [uint8_to_tensor(a[None])[0] for a in arrays]
            return torch.stack(tensors) if same else tensors
        return [to_pil(a) if a.shape[2] != 4 else Image.fromarray(a, "RGBA") for a in arrays]
