"""The swap pipeline: find each frame's face, align it, swap it, blend it back; every frame it returns is marked.

    pipe = ganforge.load("runs/swap-simswap-faceclips-64")
    frames = pipe("faceclips:test:7", identity="grinning face")   # uint8 [T, H, W, 3], each frame watermarked
    frames = pipe(clip, identity=12, poses=poses)                  # clip uint8 [T, H, W, 3], its faces' poses
    frames = pipe(clip, identity=photo_of_b)                       # simswap: any face, from an upright crop of it

A clip is a uint8 array [T, H, W, 3], a video file, or a face-clip index `faceclips:[SPLIT:]INDEX` (the emoji face
clips, whose layout gives each face's pose: centre (y, x), side and angle per frame). For other clips `poses` gives
them ({"centre": [T, 2], "side": [T], "angle": [T]}) or a face finder estimates them (`swap.finder`: the shipped
emoji finder, or `finder="haar"`, OpenCV's cascade for photographs). Frames are square.
The identity is a face emoji (index or name; an autoencoder knows its two faces only) or, for simswap, an image of
the face, upright and filling it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.builtin.faceclips import to_uint8
from ganforge.errors import GanforgeError
from ganforge.imaging import to_signed
from ganforge.pipelines.base import PIPELINES, Pipeline, check_output_type, component, config_value
from ganforge.swap.align import align, paste

FACECLIPS = "faceclips"
BATCH = 64  # crops swapped at once
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def parse_faceclip(spec: str) -> tuple[str, int] | None:
    """(split, index) of `faceclips:[SPLIT:]INDEX`; None when `spec` is not one."""
    parts = str(spec).strip().split(":")
    if len(parts) < 2 or parts[0] != FACECLIPS or not parts[-1].isdigit():
        return None
    split = parts[1] if len(parts) == 3 else "test"
    if len(parts) > 3 or split not in ("train", "test"):
        raise GanforgeError(f"a face-clip index is faceclips:[train|test:]INDEX, got {spec!r}")
    return split, int(parts[-1])


def faceclip(spec: str, frames: int = 16, style: str = "google") -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """(frames uint8 [T, 64, 64, 3], their face poses, the face shown) of a face-clip index."""
    from ganforge.data.builtin.faceclips import FaceClips

    hit = parse_faceclip(spec)
    if hit is None:
        raise GanforgeError(f"{spec!r} is not a face-clip index such as faceclips:test:7")
    split, index = hit
    clips = FaceClips(split, num_clips=index + 1, frames=frames, style=style)
    layout = clips.layout(index)
    tr = layout["trajectory"]
    return clips[index], {"centre": tr.centre, "side": tr.side, "angle": tr.angle}, int(layout["identity"])


def check_poses(poses: dict[str, Any], frames: int) -> dict[str, np.ndarray]:
    """Poses as float arrays of one entry per frame; a one-line error when they do not fit the clip."""
    try:
        out = {"centre": np.asarray(poses["centre"], dtype=np.float64).reshape(-1, 2),
               "side": np.asarray(poses["side"], dtype=np.float64).reshape(-1),
               "angle": np.asarray(poses["angle"], dtype=np.float64).reshape(-1)}
    except (KeyError, TypeError, ValueError) as exc:
        raise GanforgeError(f"poses need centre [T, 2], side [T] and angle [T] per frame: {exc}") from None
    wrong = {k: len(v) for k, v in out.items() if len(v) != frames}
    if wrong:
        raise GanforgeError(f"the clip has {frames} frames but the poses give {wrong}")
    if not all(np.isfinite(v).all() for v in out.values()):
        raise GanforgeError("poses must be finite numbers (a NaN or infinity was given)")
    if (out["side"] <= 0).any():
        raise GanforgeError("every face's side must be positive")
    return out


@PIPELINES.register("swap")
class SwapPipeline(Pipeline):
    """Identity swap over a clip's aligned faces (see the module doc); `__call__` and `swap_frames` return marked
    frames."""

    MARKED_METHODS = ("swap_frames",)
    swapper = component("swapper")
    model = config_value("model", str)
    style = config_value("style", str, "google")

    @property
    def crop(self) -> int:
        return self.resolution

    @property
    def faces(self) -> list[str]:
        """The faces it swaps to: an autoencoder's two, or every face emoji (simswap)."""
        return list(self.config.get("faces", []))

    def face_index(self, identity: int | str) -> int:
        """A face emoji by index or name, as the emoji set orders them (`tasks.swap.data.face_names`)."""
        from ganforge.tasks.swap.data import face_index, face_names

        return face_index(identity, face_names(self.style))

    def _target(self, identity: Any) -> tuple[int | None, torch.Tensor | None, str]:
        """(the autoencoder's decoder, or None; simswap's embedding [1, D], or None; the identity's name)."""
        from ganforge.tasks.swap.data import face_names

        names = face_names(self.style)
        if self.model == "autoencoder":
            if not isinstance(identity, (int, str, np.integer)):
                raise GanforgeError("an autoencoder swaps to one of its two faces: give its index or name")
            own = [f.lower() for f in self.faces]
            if isinstance(identity, str) and identity.strip().lower() in own:  # its faces by name (folders: A, B)
                k = own.index(identity.strip().lower())
                return k, None, self.faces[k]
            name = names[self.face_index(identity)]
            if name not in self.faces:
                raise GanforgeError(f"this autoencoder swaps between {self.faces[0]!r} and {self.faces[1]!r}, not "
                                    f"{name!r}; simswap takes any face")
            return self.faces.index(name), None, name
        if isinstance(identity, (int, str, np.integer)) and not (isinstance(identity, str) and Path(identity).is_file()):
            from ganforge.swap.crops import reference_faces

            if isinstance(identity, str) and Path(identity).suffix.lower() in IMAGE_SUFFIXES:
                raise GanforgeError(f"no such image file: {identity}")
            k = self.face_index(identity)
            image, name = reference_faces(self.style, self.crop)[k], names[k]
        else:
            image, name = self.identity_image(identity), "an image"
        x = to_signed(torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None])
        with torch.no_grad():
            return None, self.swapper.embed(x.to(self.device)), name

    def identity_image(self, identity: Any) -> np.ndarray:
        """An image of the target face (path, PIL image or uint8 array), centre-cropped square and resized to the
        crop: uint8 [S, S, 3]."""
        from PIL import Image

        from ganforge.data.degrade import centre_crop
        from ganforge.tasks.translation.pipeline import as_array

        array = as_array(identity)  # a path is read with a one-line error when it cannot be
        if array.ndim == 2:
            array = array[..., None]
        if array.shape[-1] == 4:  # alpha onto the reference grey
            from ganforge.swap.crops import REFERENCE_GREY

            a = array[..., 3:].astype(np.float32) / 255
            array = (array[..., :3] * a + REFERENCE_GREY * (1 - a)).round().astype(np.uint8)
        if array.shape[-1] == 1:
            array = np.repeat(array, 3, axis=-1)
        square = centre_crop(array, min(array.shape[:2]))
        return np.asarray(Image.fromarray(square).resize((self.crop, self.crop), Image.LANCZOS))

    @torch.no_grad()
    def swap_crops(self, crops: torch.Tensor, identity: Any) -> torch.Tensor:
        """Aligned crops float [T, 3, S, S] in [-1, 1] -> the swap network's drawings [T, 4, S, S] (a face in
        [-1, 1] and its blend mask in 0..1)."""
        decoder, embedding, _ = self._target(identity)
        out = []
        for part in crops.split(BATCH):
            part = part.to(self.device)
            if decoder is not None:
                out.append(self.swapper(part, decoder).float().cpu())
            else:
                out.append(self.swapper(part, embedding.expand(len(part), -1)).float().cpu())
        return torch.cat(out)

    def swap_frames(self, frames: np.ndarray, poses: dict[str, Any], identity: Any) -> np.ndarray:
        """uint8 frames [T, H, W, 3] whose faces are at `poses` -> the same frames with `identity`'s face in their
        place (each face aligned to a crop, swapped, and blended back along its pose)."""
        frames = np.ascontiguousarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise GanforgeError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
        if frames.shape[1] != frames.shape[2]:
            raise GanforgeError(f"frames must be square, got {frames.shape[1]} x {frames.shape[2]}")
        pose = check_poses(poses, len(frames))
        out = np.empty_like(frames)
        for start in range(0, len(frames), BATCH):  # float working memory for BATCH frames, however long the clip
            part = slice(start, start + BATCH)
            at = {k: v[part] for k, v in pose.items()}
            crops = align(frames[part], at["centre"], at["side"], at["angle"], self.crop) * 2 - 1
            drawn = self.swap_crops(crops, identity)
            out[part] = to_uint8(paste(frames[part], (drawn[:, :3] + 1) / 2, drawn[:, 3:], at["centre"], at["side"],
                                       at["angle"]))
        return out

    def load_clip(self, clip: Any, frames: int = 16) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        """(uint8 frames [T, H, W, 3], their poses where the clip's maker knows them, else None); a one-line error
        for frames that are not square uint8 pictures."""
        shown, poses = self._read_clip(clip, frames)
        if shown.dtype != np.uint8 or shown.ndim != 4 or shown.shape[-1] != 3:
            raise GanforgeError(f"a clip's frames must be uint8 [T, H, W, 3], got {shown.dtype} {shown.shape}")
        if shown.shape[1] != shown.shape[2]:
            raise GanforgeError(f"frames must be square, got {shown.shape[1]} x {shown.shape[2]}: crop the video to "
                                "a square around the faces first")
        return shown, poses

    def _read_clip(self, clip: Any, frames: int) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        if isinstance(clip, str) and parse_faceclip(clip) is not None:
            shown, poses, _ = faceclip(clip, frames, self.style)
            return shown, poses
        if isinstance(clip, (str, Path)):
            path = Path(clip).expanduser()
            if not path.is_file():
                raise GanforgeError(f"clip {clip!r} is neither a video file nor a face-clip index such as "
                                    "faceclips:test:7")
            from ganforge.data.video import read_video
            from ganforge.tasks.translation.pipeline import as_array

            shown = [as_array(f) for f in read_video(path)]
            return np.stack([f[..., :3] if f.ndim == 3 and f.shape[-1] >= 3 else np.repeat(
                f.reshape(*f.shape[:2], 1), 3, axis=-1) for f in shown]), None
        if isinstance(clip, np.ndarray) or (isinstance(clip, Sequence) and len(clip)):
            return np.stack([np.asarray(f) for f in clip]), None
        raise GanforgeError(f"cannot read a clip from a {type(clip).__name__}: give a video file, a uint8 array "
                            "[T, H, W, 3] or a face-clip index")

    def __call__(self, clip: Any, identity: Any, poses: dict[str, Any] | None = None, frames: int = 16,
                 finder: str = "emoji", output_type: str = "np") -> Any:
        check_output_type(output_type)
        shown, known = self.load_clip(clip, frames)
        if poses is None:
            poses = known
        if poses is None:
            from ganforge.swap.finder import find_faces

            poses = find_faces(shown, finder)
        out = self.swap_frames(shown, poses, identity)  # marked once, by this call's wrapper
        if output_type == "pil":
            from ganforge.imaging import to_pil

            return [to_pil(f) for f in out]
        if output_type == "pt":
            return to_signed(torch.from_numpy(out).permute(0, 3, 1, 2))
        return out
