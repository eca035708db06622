"""Inpainting and outpainting pipeline: image + mask in, the image with its hole filled out.

    pipe = ganforge.load("runs/inpaint-lama-emoji-32")
    out = pipe("photo.png", mask="mask.png")                      # white = fill; the image's size
    wide = pipe("photo.png", outpaint=(32, 0, 32, 0))             # extend left and right by 32 px
    arr = pipe(array, mask=bool_array, output_type="np")          # uint8 [1, H, W, C]

Inputs are what `ganforge translate` takes (paths, PIL images, uint8 arrays; grey, RGB or RGBA) at any
size; a mask is a PNG path (white, luma > 127, = fill), a PIL image or an array ([H, W] bool, or uint8
where > 127 is a hole) of exactly the image's size, else a one-line error naming both sizes.

- Known pixels come back bit-exact (with `watermark=False`; by default the whole output, known pixels too,
  carries the invisible watermark, a change of a few levels): the network's output is used only where the
  mask is set; the composite is done on the input's own uint8 values, in its own mode.
- Any size: the generator is fully convolutional, so the holed image and its mask are reflect-padded
  to a multiple of its stride, filled, and cropped back. Quality is best near the training resolution
  (the model learnt the statistics of that scale). An image larger than `tile` (512 px) on a side is
  filled tile by tile (`pipelines.tiling`, scale 1, feathered over `tile_overlap` = 64 px): the network
  runs only on tiles that hold hole pixels and known pixels are copied, so memory is a few tiles plus
  the uint8 image whatever its size; a tile is twice LaMa's 256 px training crops (pass a larger `tile`
  for models trained larger). Images within one tile take the whole-image path unchanged.
  `inpaint_to_file` streams a .png band by band.
- `outpaint=(left, top, right, bottom)` pixels extends the canvas (`data.masks.outpaint_mask`) and fills
  the new border; a `mask` given as well is the original image's own holes, filled at the same time.
- Grey inputs are repeated to three channels for a colour model (colour turned to luma for a grey one)
  and the fill is turned back into the input's channels. RGBA: the colour is composited onto white, as
  the training data were; known pixels keep their RGBA values, filled pixels keep the input's alpha, and
  an outpainted border is opaque.
- An empty mask fills nothing: the output equals the input (a warning says so, nothing is run). A mask
  that covers the whole image leaves nothing known: the output is the model's unconditional guess,
  allowed but warned about (it is usually a blurry average of the training images).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data.masks import _check_borders, load_mask
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
from ganforge.pipelines.tiling import Box, check_tiling, tiled_bands
from ganforge.tasks.translation.pipeline import (
    ImageInput,
    _pad_amounts,
    as_array,
    match_channels,
    split_alpha,
)

log = logging.getLogger("ganforge")
MaskInput = str | Path | Image.Image | np.ndarray
DEFAULT_TILE = 512  # pixels per tile side: twice LaMa's training crops
DEFAULT_OVERLAP = 64  # pixels neighbouring tiles share, blended with feathered weights


def read_mask(mask: MaskInput, size: tuple[int, int]) -> np.ndarray:
    """Any accepted mask as bool [H, W] (True = fill), checked against the image's (H, W)."""
    h, w = size
    if isinstance(mask, (str, Path)):
        return load_mask(mask, expected_size=(h, w))
    if isinstance(mask, Image.Image):
        arr = np.asarray(mask.convert("L")) > 127
    elif isinstance(mask, np.ndarray):
        arr = mask
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.ndim != 2:
            raise GanforgeError(f"a mask array must be [H, W] (True or > 127 = fill), got shape {arr.shape}")
        arr = arr if arr.dtype == bool else np.asarray(arr) > 127
    else:
        raise GanforgeError(f"cannot use a {type(mask).__name__} as a mask: give a PNG path, a PIL image or an array")
    if arr.shape != (h, w):
        raise GanforgeError(f"the mask is {arr.shape[1]}x{arr.shape[0]} (width x height) but the image is {w}x{h}; "
                            "draw the mask at the image's size (white = fill, black = keep)")
    return np.ascontiguousarray(arr, dtype=bool)


def parse_borders(borders: Any) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) from a 4-tuple or the CLI's "L,T,R,B" text; a ConfigError says what is wrong."""
    if isinstance(borders, str):
        parts = [p.strip() for p in borders.split(",")]
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise GanforgeError(f"--outpaint {borders!r} is not four whole numbers L,T,R,B (pixels to add on the "
                                "left, top, right and bottom), e.g. 32,0,32,0") from None
        borders = values
    return _check_borders(tuple(borders))


class InpaintGraph(torch.nn.Module):
    """An inpainter as its ONNX graph computes it: (image [N, C, H, W], mask [N, 1, H, W], 1 = hole) -> the image
    with its holes filled and its known pixels kept (composited inside the graph)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = image * (1 - mask)
        return self.generator(torch.cat([known, mask], dim=1)) * mask + known


@PIPELINES.register("inpaint")
class InpaintPipeline(Pipeline):
    """`pipe(images, mask=None, outpaint=None, output_type="pil")`; see the module doc."""

    generator = component("generator")
    channels = config_value("channels", int)

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        stride = int(self.config.get("stride", 1))
        side = 2 * max(stride, int(self.config.get("min_size", stride)))
        example = (torch.rand(2, self.channels, side, side) * 2 - 1, (torch.rand(2, 1, side, side) > 0.7).float())
        axes = {0: "batch", 2: ("height", stride), 3: ("width", stride)}
        return {"generator": OnnxGraph(InpaintGraph(self.generator), example, ("image", "mask"), ("filled",),
                                       {"image": axes, "mask": axes}, tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        c = int(config["channels"])  # the pipeline calls G on [holed image, mask]: the graph takes them apart
        return {"generator": OnnxFeed(lambda inp: {"image": inp[:, :c], "mask": inp[:, c:]})}

    # ----------------------------------------------------------------------------------- tensors
    @torch.no_grad()
    def predict(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The network's raw fill: uint8 [N, H, W, C] (the model's channels) and bool [N, H, W] -> uint8
        [N, H, W, C], every pixel predicted (not composited). Pads to the stride and crops back."""
        n, h, w, c = images.shape
        assert c == self.channels and masks.shape == (n, h, w), (images.shape, masks.shape)  # NHWC, NHW
        x = uint8_to_tensor(np.asarray(images, dtype=np.uint8)).to(self.device)
        m = torch.from_numpy(np.array(masks, dtype=bool)).to(self.device)[:, None].float()  # [N, 1, H, W]
        return tensor_to_uint8(self.predict_tensor(x, m))

    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """x [N, C, H, W] in [-1, 1] and m [N, 1, H, W] (1 = hole) -> the raw fill in [-1, 1], float, before
        rounding: what the tiles blend. Pads to the stride and crops back."""
        n, c, h, w = x.shape
        assert c == self.channels and m.shape == (n, 1, h, w), (x.shape, m.shape)  # NCHW, N1HW
        G = self.generator
        stride = int(getattr(G, "stride", self.config.get("stride", 1)))
        minimum = int(self.config.get("min_size", stride))
        inp = torch.cat([x * (1 - m), m], dim=1)  # the holed image and its mask, [N, C + 1, H, W]
        (top, bottom), (left, right) = _pad_amounts(h, stride, minimum), _pad_amounts(w, stride, minimum)
        if top or bottom or left or right:
            mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
            inp = F.pad(inp, (left, right, top, bottom), mode=mode)
        return G(inp).float().clamp(-1, 1)[:, :, top : top + h, left : left + w]

    def inpaint_batch(self, images: np.ndarray, masks: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """uint8 [N, H, W, C] in the model's channels and bool [N, H, W] -> uint8 [N, H, W, C], the holes filled and
        every known pixel the input's own. What the evaluation on the test split calls."""
        if images.ndim != 4 or images.dtype != np.uint8 or images.shape[3] != self.channels:
            raise GanforgeError(f"inpaint_batch takes uint8 [N, H, W, {self.channels}], got {images.dtype} {images.shape}")
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != images.shape[:3]:
            raise GanforgeError(f"masks {masks.shape} do not match images {images.shape[:3]}")
        outs = [self.predict(images[i : i + batch_size], masks[i : i + batch_size])
                for i in range(0, len(images), batch_size)]
        pred = np.concatenate(outs) if outs else images.copy()
        return np.where(masks[..., None], pred, images)

    # ------------------------------------------------------------------------------------ images
    def inpaint_array(self, array: np.ndarray, mask: np.ndarray, tile: int = DEFAULT_TILE,
                      tile_overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
        """One uint8 [H, W, C] image (C = 1, 3 or 4) and a bool [H, W] mask -> uint8 [H, W, C], same mode."""
        return self._inpaint_into(array, mask, np.empty_like(array), tile, tile_overlap)

    def _inpaint_into(self, array: np.ndarray, mask: np.ndarray, out: np.ndarray, tile: int,
                      tile_overlap: int) -> np.ndarray:
        """The filled image written into `out` band by band; `out` may be `array` itself (bands lie behind the
        rows the tiles still read)."""
        for top, band in self.inpaint_bands(array, mask, tile, tile_overlap):
            out[top : top + len(band)] = band
        return out

    def inpaint_bands(self, array: np.ndarray, mask: np.ndarray, tile: int = DEFAULT_TILE,
                      tile_overlap: int = DEFAULT_OVERLAP) -> Iterator[tuple[int, np.ndarray]]:
        """The filled image's rows top to bottom, (first row, uint8 [rows, W, C]); warns and checks before the first."""
        check_tiling(tile, tile_overlap)
        if not mask.any():
            log.warning("the mask is empty (no white pixels): nothing to fill, the output is the input")
            return iter([(0, array)])
        if mask.all():
            log.warning("the mask covers the whole image: nothing is known, so the output is the model's guess "
                        "from nothing (usually a blur of its training images)")
        h, w = mask.shape
        if tile <= 0 or (h <= tile and w <= tile):
            return iter([(0, self._fill_whole(array, mask))])
        return self._tiled_bands(array, mask, tile, tile_overlap)

    def _fill_whole(self, array: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The whole image through the network at once (images within one tile)."""
        rgb, alpha = split_alpha(array)
        fill = self.predict(match_channels(rgb, self.channels)[None], mask[None])[0]
        fill = match_channels(fill, rgb.shape[2])
        if alpha is not None:
            fill = np.concatenate([fill, alpha], axis=2)
        return np.where(mask[..., None], fill, array)

    def _tiled_bands(self, array: np.ndarray, mask: np.ndarray, tile: int,
                     tile_overlap: int) -> Iterator[tuple[int, np.ndarray]]:
        """Tiles holding hole pixels through the network, blended; known pixels copied from the input."""
        colours = 3 if array.shape[2] == 4 else array.shape[2]

        def prepare(part: np.ndarray) -> np.ndarray:  # per tile: composite onto white, the model's channels
            return match_channels(split_alpha(part)[0], self.channels)

        def holed(box: Box) -> bool:  # a tile without hole pixels has nothing to fill
            return bool(mask[box[0] : box[1], box[2] : box[3]].any())

        def fill(x: torch.Tensor, box: Box) -> torch.Tensor:
            m = torch.from_numpy(mask[box[0] : box[1], box[2] : box[3]]).to(x.device)[None, None].float()
            return self.predict_tensor(x, m)

        for top, band in tiled_bands(array, fill, 1, tile, tile_overlap, prepare=prepare, needed=holed,
                                     device=self.device):
            rows = slice(top, top + len(band))
            out, hole = array[rows].copy(), mask[rows]
            out[..., :colours][hole] = match_channels(band, colours)[hole]  # alpha stays the input's
            yield top, out

    def inpaint_to_file(
        self,
        image: ImageInput,
        path: str | Path,
        mask: MaskInput | None = None,
        outpaint: tuple[int, int, int, int] | str | None = None,
        tile: int = DEFAULT_TILE,
        tile_overlap: int = DEFAULT_OVERLAP,
        watermark: bool = True,
        provenance: Any = None,
    ) -> tuple[int, int]:
        """Fill one image into a file and return its (height, width): a .png is streamed band by band (no
        second full-size copy), other formats go through the array and `save_image`. The file carries the
        watermark (unless `watermark` is False) and metadata: `provenance` (`Pipeline.provenance`) where given,
        which then decides both."""
        if mask is None and outpaint is None:
            raise GanforgeError("give a mask (white = fill) or outpaint borders, or both")
        borders = parse_borders(outpaint) if outpaint is not None else None
        array, hole = self._canvas(as_array(image), mask, borders)
        if provenance is None:
            provenance = self.provenance({"outpaint": borders, "tile": tile, "tile_overlap": tile_overlap}, watermark)
        path = Path(path)
        if path.suffix.lower() != ".png":
            out = array if borders is not None else np.empty_like(array)  # the canvas is ours to fill in place
            out = provenance.mark(self._inpaint_into(array, hole, out, tile, tile_overlap))
            save_image(out, path, metadata=provenance.metadata())
            return out.shape[:2]
        h, w, c = array.shape
        bands = self.inpaint_bands(array, hole, tile, tile_overlap)  # checked before the file is opened
        stream_png(path, bands, (h, w, c), provenance)
        return h, w

    @staticmethod
    def _canvas(array: np.ndarray, mask: MaskInput | None,
                borders: tuple[int, int, int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """The uint8 image to fill and its bool hole mask: the image's own, or the extended canvas with its border."""
        h, w = array.shape[:2]
        hole = read_mask(mask, (h, w)) if mask is not None else None
        if borders is None:
            assert hole is not None
            return array, hole
        left, top, right, bottom = _check_borders(borders)
        ch, cw = h + top + bottom, w + left + right  # any image, a single pixel too, may be extended
        border_mask = np.ones((ch, cw), dtype=bool)
        border_mask[top : top + h, left : left + w] = False
        canvas = np.zeros((ch, cw, array.shape[2]), dtype=np.uint8)
        if array.shape[2] == 4:
            canvas[..., 3] = 255  # the new border is opaque
        canvas[top : top + h, left : left + w] = array
        if hole is not None:
            border_mask[top : top + h, left : left + w] |= hole
        return canvas, border_mask

    def __call__(
        self,
        images: ImageInput | Sequence[ImageInput],
        mask: MaskInput | Sequence[MaskInput] | None = None,
        outpaint: tuple[int, int, int, int] | str | None = None,
        output_type: str = "pil",
        tile: int = DEFAULT_TILE,
        tile_overlap: int = DEFAULT_OVERLAP,
    ) -> Any:
        """Fill one image or a list (one mask each, or one mask for all); returns a list of PIL images ("pil"),
        a uint8 [N, H, W, C] array ("np", a list when sizes differ) or a [N, C, H, W] tensor in [-1, 1] ("pt",
        a list when sizes differ). Outputs keep their input's mode (L, RGB, RGBA); see the module doc."""
        items, single = image_items(images, "inpaint")
        check_output_type(output_type)
        check_tiling(tile, tile_overlap)
        if mask is None and outpaint is None:
            raise GanforgeError("give a mask (white = fill) or outpaint borders, or both")
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(items)
        if len(masks) != len(items):
            raise GanforgeError(f"{len(items)} images but {len(masks)} masks: give one mask per image, or one for all")
        borders = parse_borders(outpaint) if outpaint is not None else None
        outputs = []
        for item, m in zip(items, masks):
            array, hole = self._canvas(as_array(item), m, borders)
            out = array if borders is not None else np.empty_like(array)  # the canvas is ours to fill in place
            outputs.append(self._inpaint_into(array, hole, out, tile, tile_overlap))
        same = len({o.shape for o in outputs}) == 1
        if output_type == "np":
            return np.stack(outputs) if same else outputs
        if output_type == "pil":
            return [to_pil(o) for o in outputs]
        tensors = [uint8_to_tensor(o[None])[0] for o in outputs]  # "pt"
        return torch.stack(tensors) if same else tensors
