"""Image-to-image translation pipeline (pix2pix, SPADE, CycleGAN): images in, translated images out.

    pipe = ganforge.load("runs/pix2pix-unet-emoji-64")
    out = pipe(["a.png", Image.open("b.png"), array], output_type="pil")   # any sizes
    back = cyclegan_pipe(images, direction="BtoA")                          # G_BA of a CycleGAN

Inputs may be paths, PIL images or uint8 NumPy arrays ([H, W], [H, W, 1], [H, W, 3] or [H, W, 4]), of
any size. The generators are fully convolutional: by default each image is reflect-padded to a multiple
of the generator's stride (and its minimum size), translated, and cropped back to its own size;
`resize=True` instead resizes it to the training resolution (bicubic; nearest for label maps) and the
output back to the input's size. Grey inputs are repeated to three channels for a colour model (and
colour inputs turned to luma for a grey one). RGBA inputs: the colour is composited onto white, as the
training data were, translated, and the input's alpha channel is put back on the output, so
transparent regions stay transparent (the output is RGBA). Label-map models (SPADE, or pix2pix on
`labels:`) take single-channel integer maps whose ids lie below the model's number of labels.

`direction` is the model's own: "AtoB" maps the side it was trained to take as input to the other;
a pix2pix model only has that one, a CycleGAN has "BtoA" (G_BA) too. The weights are the EMA copy's
when the run kept one, else the raw generator's. Runs under `torch.no_grad()` in eval mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ganforge.errors import GanforgeError
from ganforge.imaging import tensor_to_uint8, to_pil, to_signed
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, image_items

ImageInput = str | Path | Image.Image | np.ndarray
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def read_image(path: str | Path) -> Image.Image:
    """Open one image file fully (first frame, EXIF orientation applied), or a one-line GanforgeError."""
    path = Path(path)
    try:
        im = Image.open(path)
        if getattr(im, "n_frames", 1) > 1:  # an animation keeps its file open: take the first frame as a copy
            with im:
                im.load()
                return ImageOps.exif_transpose(im) or im
        im.load()  # a single frame: the file is closed once decoded, and no full-size copy is made below
        ImageOps.exif_transpose(im, in_place=True)
        return im
    except FileNotFoundError:
        raise GanforgeError(f"no such image file: {path}") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise GanforgeError(f"cannot read image {path}: {exc}") from None


def as_array(image: ImageInput, label_map: bool = False) -> np.ndarray:
    """Any accepted input as a uint8 array [H, W, C], C in (1, 3, 4) (alpha kept as the 4th channel).

    With `label_map`, palette (P) images give their palette indices, as the data layer reads label maps.
    """
    if isinstance(image, (str, Path)):
        image = read_image(image)
    if isinstance(image, Image.Image):
        if label_map and image.mode == "P":
            image = Image.fromarray(np.asarray(image).astype(np.uint8), "L")
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            image = image.convert("RGBA")
        elif image.mode == "1":
            image = image.convert("L")
        elif image.mode not in ("RGB", "L", "I", "I;16", "I;16L", "I;16B"):
            image = image.convert("RGB")
        array = np.asarray(image)
        if array.dtype != np.uint8:  # 16/32-bit grey: keep ids (label maps) when they fit, else scale
            array = array.astype(np.int64)
            array = (array if array.max() <= 255 else array * 255 // max(int(array.max()), 1)).astype(np.uint8)
    elif isinstance(image, np.ndarray):
        array = image
        if array.dtype != np.uint8:
            if np.issubdtype(array.dtype, np.floating) and array.size and 0.0 <= array.min() and array.max() <= 1.0:
                array = np.round(array * 255).astype(np.uint8)
            elif np.issubdtype(array.dtype, np.integer) and array.size and 0 <= array.min() and array.max() <= 255:
                array = array.astype(np.uint8)
            else:
                raise GanforgeError(f"image arrays must be uint8 (or floats in [0, 1]), got {array.dtype}")
    else:
        raise GanforgeError(f"cannot translate a {type(image).__name__}: give paths, PIL images or uint8 arrays")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise GanforgeError(f"an image array must be [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got {array.shape}")
    return np.ascontiguousarray(array)


def split_alpha(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """[H, W, 4] -> (RGB composited onto white, alpha [H, W, 1]); other arrays pass with no alpha."""
    if array.shape[2] != 4:
        return array, None
    alpha = array[:, :, 3:4]
    a = alpha.astype(np.float32) / 255
    rgb = array[:, :, :3].astype(np.float32) * a + 255 * (1 - a)
    return np.round(rgb).astype(np.uint8), alpha


def match_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """Grey -> colour by repetition, colour -> grey by luma (as the data layer's `gray` derivation)."""
    if array.shape[2] == channels:
        return array
    if channels == 3:
        return np.repeat(array, 3, axis=2)
    luma = np.round(array.astype(np.float32) @ _LUMA)
    return np.clip(luma, 0, 255).astype(np.uint8)[:, :, None]


def _pad_amounts(size: int, stride: int, minimum: int) -> tuple[int, int]:
    target = max(-(-size // stride) * stride, -(-minimum // stride) * stride)
    extra = target - size
    return extra // 2, extra - extra // 2


@PIPELINES.register("translation")
class TranslationPipeline(Pipeline):
    """`pipe(images, direction="AtoB", resize=None, output_type="pil")`; see the module doc."""

    @property
    def task(self) -> str:
        return str(self.config.get("task", "pix2pix"))

    @property
    def directions(self) -> list[str]:
        return list(self.config.get("directions", ["AtoB"]))

    @property
    def num_labels(self) -> int | None:
        value = self.config.get("num_labels")
        return int(value) if value is not None else None

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        stride = int(self.config.get("stride", 1))
        side = 2 * max(stride, int(self.config.get("min_size", stride)))  # a bottleneck of 1 x 1 would be traced as fixed
        graphs = {}
        for direction, name in self.config.get("direction_components", {"AtoB": "generator"}).items():
            channels = self.num_labels or self._side(direction)[0]  # label maps go in one-hot
            example = (torch.rand(2, channels, side, side) * 2 - 1,)
            graphs[name] = OnnxGraph(self.components[name], example, ("image",), ("translated",),
                                     {"image": {0: "batch", 2: ("height", stride), 3: ("width", stride)}},
                                     tolerance=2e-4)
        return graphs

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxFeed

        names = config.get("direction_components", {"AtoB": "generator"}).values()
        return {name: OnnxFeed(lambda x: {"image": x}) for name in names}

    def generator(self, direction: str = "AtoB") -> torch.nn.Module:
        """The network that translates in `direction` (pix2pix: only AtoB)."""
        key = self.config.get("direction_components", {"AtoB": "generator"}).get(self.check_direction(direction))
        return self.components[key]

    def check_direction(self, direction: str) -> str:
        for d in self.directions:
            if str(direction).strip().lower() == d.lower():
                return d
        if self.task == "pix2pix" and str(direction).strip().lower() == "btoa":
            raise GanforgeError(
                "a pix2pix model translates one way only (its input side to its target side): use --direction AtoB, "
                "or train another model with --direction BtoA"
            )
        raise GanforgeError(f"direction must be one of {', '.join(self.directions)}, got {direction!r}")

    def channels(self, direction: str = "AtoB") -> tuple[int, int]:
        """(input channels, output channels) of the generator for `direction`; label maps count as 1."""
        return self._side(self.check_direction(direction))

    def _side(self, direction: str) -> tuple[int, int]:
        """(input channels, output channels) of the generator for `direction`."""
        a, b = int(self.config.get("in_channels") or 3), int(self.config["out_channels"])
        return (a, b) if direction == "AtoB" else (b, a)

    # ----------------------------------------------------------------------------------- tensors
    def _encode(self, batch: np.ndarray, in_channels: int) -> torch.Tensor:
        """uint8 [N, H, W, C] -> G's input on the device: one-hot labels, or floats in [-1, 1]."""
        x = torch.from_numpy(np.array(batch, dtype=np.uint8)).to(self.device)  # a writable copy
        if self.num_labels is not None:
            from ganforge.nets.spade import one_hot_labels

            ids = x[..., 0].long()
            if int(ids.max()) >= self.num_labels:
                raise GanforgeError(f"label map holds class id {int(ids.max())}, but the model knows ids "
                                    f"0..{self.num_labels - 1}")
            return one_hot_labels(ids, self.num_labels)
        assert batch.shape[3] == in_channels, batch.shape  # [N, H, W, C]
        return to_signed(x.permute(0, 3, 1, 2))

    @torch.no_grad()
    def translate_tensor(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """G's input [N, C_in, H, W] (H, W multiples of the stride) -> output [N, C_out, H, W] in [-1, 1]."""
        return self.generator(direction)(x.to(self.device)).float().clamp(-1, 1)

    @torch.no_grad()
    def translate_batch(self, a: np.ndarray, direction: str = "AtoB", batch_size: int = 16) -> np.ndarray:
        """uint8 [N, H, W, C] at a size the generator takes (e.g. a PairedData's `a` at the training
        resolution) -> uint8 [N, H, W, C_out], in batches. What an evaluation on the test split calls."""
        direction = self.check_direction(direction)
        if a.ndim != 4 or a.dtype != np.uint8:
            raise GanforgeError(f"translate_batch takes uint8 [N, H, W, C], got {a.dtype} {a.shape}")
        in_channels, _ = self._side(direction)
        outs = []
        for i in range(0, len(a), batch_size):
            chunk = a[i : i + batch_size]
            if self.num_labels is None:
                chunk = np.stack([match_channels(split_alpha(im)[0], in_channels) for im in chunk])
            outs.append(tensor_to_uint8(self.translate_tensor(self._encode(chunk, in_channels), direction)))
        return np.concatenate(outs) if outs else np.zeros((0, *a.shape[1:3], self._side(direction)[1]), np.uint8)

    # ------------------------------------------------------------------------------------ images
    def _prepare(self, image: ImageInput, in_channels: int) -> tuple[np.ndarray, np.ndarray | None]:
        array = as_array(image, label_map=self.num_labels is not None)
        if self.num_labels is not None:
            if array.shape[2] != 1:
                raise GanforgeError(
                    f"this model turns label maps into images: give single-channel integer maps (class ids "
                    f"0..{self.num_labels - 1}), got an image with {array.shape[2]} channels"
                )
            return array, None
        rgb, alpha = split_alpha(array)
        return match_channels(rgb, in_channels), alpha

    def _translate_one(self, array: np.ndarray, direction: str, resize: bool | int | None) -> torch.Tensor:
        """uint8 [H, W, C] -> output [1, C_out, H, W] in [-1, 1] at the input's own size."""
        in_channels, _ = self._side(direction)
        h, w = array.shape[:2]
        G = self.generator(direction)
        stride = int(getattr(G, "stride", self.config.get("stride", 1)))
        minimum = int(self.config.get("min_size", stride))
        nearest = self.num_labels is not None
        if resize:
            side = self.resolution if resize is True else int(resize)
            if side % stride or side < minimum:
                raise GanforgeError(f"resize={side} must be a multiple of the generator's stride {stride} "
                                    f"(and at least {minimum})")
            im = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
            small = np.asarray(im.resize((side, side), Image.NEAREST if nearest else Image.BICUBIC))
            small = small[:, :, None] if small.ndim == 2 else small
            out = self.translate_tensor(self._encode(small[None], in_channels), direction)
            return F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(-1, 1)
        x = self._encode(array[None], in_channels)  # [1, C_in, h, w]
        (top, bottom), (left, right) = _pad_amounts(h, stride, minimum), _pad_amounts(w, stride, minimum)
        if top or bottom or left or right:
            # Reflection needs the pad smaller than the side; tiny images fall back to edge replication.
            mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
            x = F.pad(x, (left, right, top, bottom), mode=mode)
        out = self.translate_tensor(x, direction)
        return out[:, :, top : top + h, left : left + w]

    def __call__(
        self,
        images: ImageInput | Sequence[ImageInput],
        direction: str = "AtoB",
        resize: bool | int | None = None,
        output_type: str = "pil",
    ) -> Any:
        """Translate one image or a list; returns a list of PIL images ("pil"), a uint8 [N, H, W, C] array
        ("np", a list of arrays when sizes differ), or a [N, C, H, W] tensor in [-1, 1] ("pt", a list when
        sizes differ). RGBA inputs give RGBA outputs (see the module doc)."""
        direction = self.check_direction(direction)
        items, single = image_items(images, "translate")
        check_output_type(output_type)
        in_channels, _ = self._side(direction)
        outputs: list[torch.Tensor] = []  # each [C, H, W] in [-1, 1]; RGBA when the input had alpha
        for item in items:
            array, alpha = self._prepare(item, in_channels)
            out = self._translate_one(array, direction, resize)[0].cpu()
            if alpha is not None:
                rgb = out if out.shape[0] == 3 else out.repeat(3, 1, 1)
                a = to_signed(torch.from_numpy(np.array(alpha)).permute(2, 0, 1))
                out = torch.cat([rgb, a])
            outputs.append(out)
        same = len({tuple(o.shape) for o in outputs}) == 1
        if output_type == "pt":
            return torch.stack(outputs) if same else outputs
        arrays = [tensor_to_uint8(o[None])[0] for o in outputs]
        if output_type == "np":
            return np.stack(arrays) if same else arrays
        return [to_pil(a) for a in arrays]  # "pil"
