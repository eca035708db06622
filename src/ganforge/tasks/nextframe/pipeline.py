"""Next-frame prediction pipeline: observed frames in, the frames that follow out.

    pipe = ganforge.load("runs/nextframe-simvp-moving-mnist-64")   # a FramePredictionPipeline
    future = pipe("clip.gif", frames=20, output_type="np")          # uint8 [1, 20, H, W, C]
    future = pipe("moving-mnist:test:7", frames=10)                 # [[PIL frame, ...]]: a held-out clip
    future = pipe([clip_a, clip_b], output_type="pt")               # [2, m, C, H, W] in [-1, 1]
    out = pipe.predict_batch(contexts, frames=10)                   # uint8 [N, k, H, W, C] -> [N, 10, H, W, C]

A clip is a video file (GIF with Pillow; MP4, WebM, ... with the `video` extra), a uint8 array [T, H, W, C]
or [T, H, W], a list of PIL frames, or a moving-data index `[NAME:][SPLIT:]INDEX`
(`moving-mnist:test:7`; NAME defaults to the run's own data and SPLIT to `test`, the held-out digits or
emoji). Frames `start` .. `start + k - 1` are the observed context (k = the model's context frames; a
negative `start` counts from the end, so `start=-k` takes the last k frames of a longer video).

Frames of another size are centre-cropped to a square and resized to the model's frame size (the Lanczos
resize the training data get), with one logged note; predictions come out at the model's size. Colour
clips on a grey model go through their luma, grey clips on a colour model are repeated to three channels,
alpha is composited onto white. The predictor predicts m frames per pass (its native horizon) and goes on
autoregressively for longer `frames`, conditioning each pass on the last k observed-or-predicted frames;
it has no noise, so the same clip always gives the same prediction. Runs under `torch.no_grad()` on the
EMA predictor when the run kept one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.errors import GanforgeError
from ganforge.imaging import to_pil, to_signed, to_unsigned
from ganforge.pipelines.base import (
    PIPELINES,
    Pipeline,
    check_output_type,
    component,
    config_value,
    run_config,
)
from ganforge.tasks.translation.pipeline import as_array, match_channels, split_alpha

log = logging.getLogger("ganforge")

ClipInput = str | Path | np.ndarray | Sequence[Any]
DEFAULT_SPLIT = "test"


def parse_clip_index(spec: str) -> tuple[str | None, str, int] | None:
    """(data name or None, split, index) for `[NAME:][SPLIT:]INDEX`, read from the right; None if not one."""
    parts = str(spec).strip().split(":")
    if len(parts) < 1 or not parts[-1].lstrip("-").isdigit():
        return None
    index, rest = int(parts[-1]), parts[:-1]
    split = DEFAULT_SPLIT
    if rest and rest[-1] in ("train", "test"):
        split, rest = rest[-1], rest[:-1]
    name = ":".join(rest) or None
    return name, split, index


@PIPELINES.register("nextframe")
class FramePredictionPipeline(Pipeline):
    """`pipe(clips, frames=None, start=0, output_type="pil")`; see the module doc."""

    predictor = component("predictor")
    context_frames = config_value("context_frames", int)
    out_frames = config_value("out_frames", int)
    channels = config_value("channels", int, 1)

    def onnx_graphs(self) -> dict[str, Any]:
        from ganforge.pipelines.onnx import OnnxGraph

        stride = int(getattr(self.predictor, "stride", 1))
        side = max(self.resolution, 2 * stride)
        example = (torch.rand(2, self.context_frames, self.channels, side, side) * 2 - 1,)
        axes = {0: "batch", 3: ("height", stride), 4: ("width", stride)}  # fully convolutional: any multiple of it
        return {"predictor": OnnxGraph(self.predictor, example, ("context",), ("frames",), {"context": axes},
                                       tolerance=2e-4)}

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        from ganforge.nets.simvp import autoregressive_rollout
        from ganforge.pipelines.onnx import OnnxFeed

        k = int(config["context_frames"])
        return {"predictor": OnnxFeed(lambda context: {"context": context}, {"context_frames": k},
                                      {"rollout": lambda net, context, frames: autoregressive_rollout(net, context,
                                                                                                      frames, k)})}

    # ------------------------------------------------------------------------------------- inputs
    def load_clip(self, clip: ClipInput, min_frames: int | None = None) -> np.ndarray:
        """Any accepted clip as uint8 [T, R, R, C] at the model's size and channels (see the module doc).

        A moving-data index generates at least `min_frames` frames (default k + m), so the true future can be
        shown next to a prediction."""
        if isinstance(clip, (str, Path)):
            path = Path(clip).expanduser()
            if path.is_file():
                from ganforge.data.video import read_video

                return self.fit_frames(read_video(path), str(path))
            hit = parse_clip_index(str(clip)) if isinstance(clip, str) else None
            if hit is None:
                raise GanforgeError(f"clip {clip!r} is neither a video file nor a moving-data index such as "
                                    "moving-mnist:test:7 or test:7")
            return self._moving_clip(*hit, min_frames or self.context_frames + self.out_frames)
        if isinstance(clip, np.ndarray):
            if clip.ndim == 3 and clip.shape[-1] not in (1, 3, 4):
                clip = clip[..., None]  # [T, H, W] grey
            if clip.ndim != 4:
                raise GanforgeError(f"a clip array must be [T, H, W] or [T, H, W, C], got shape {clip.shape}")
            return self.fit_frames([as_array(f) for f in clip], "the clip")
        if isinstance(clip, Sequence) and len(clip) and not isinstance(clip[0], (str, Path)):
            return self.fit_frames([as_array(f) for f in clip], "the clip")
        raise GanforgeError(f"cannot read a clip from a {type(clip).__name__}: give a video file, a uint8 array "
                            "[T, H, W, C], a list of frames or a moving-data index")

    def fit_frames(self, frames: Sequence[np.ndarray] | np.ndarray, what: str) -> np.ndarray:
        """Frames [H, W, C] (C 1, 3 or 4) -> uint8 [T, R, R, C_model]: alpha onto white, channels matched, and
        a centred square crop resized to R x R (with one note) when the size differs."""
        from ganforge.data.resize import square_resize

        frames = [np.asarray(f) for f in frames]
        if not frames:
            raise GanforgeError(f"{what} has no frames")
        shapes = {f.shape[:2] for f in frames}
        if len(shapes) != 1:
            raise GanforgeError(f"the frames of {what} differ in size: {sorted(shapes)}")
        h, w = frames[0].shape[:2]
        r = self.resolution
        if (h, w) != (r, r):
            log.warning("%s has %dx%d px frames; centre-cropped and resized to the model's %dx%d", what, w, h, r, r)
        out = []
        for f in frames:
            rgb, _ = split_alpha(f if f.ndim == 3 else f[:, :, None])
            if (h, w) != (r, r):
                pil = Image.fromarray(rgb[:, :, 0] if rgb.shape[2] == 1 else rgb)
                rgb = np.asarray(square_resize(pil, r))
                rgb = rgb[:, :, None] if rgb.ndim == 2 else rgb
            out.append(match_channels(rgb, self.channels))
        return np.stack(out)

    def _moving_clip(self, name: str | None, split: str, index: int, frames: int) -> np.ndarray:
        from ganforge.data.builtin.moving import parse_moving
        from ganforge.data.video import resolve_video

        if name is None:
            config = run_config(self)
            if config is None:
                raise GanforgeError("this model is an export without its run directory: name the data, e.g. "
                                    "moving-mnist:test:7")
            name = str(config["data"])
        if parse_moving(name) is None:
            raise GanforgeError(f"clip index {name}:{split}:{index}: {name!r} is not a moving dataset "
                                "(moving-mnist, moving-emoji, moving-emoji-twitter), and a folder of videos has no "
                                "split; give a video file instead")
        clips = resolve_video(name, self.resolution, frames=frames, split=split)
        if clips.channels != self.channels:
            raise GanforgeError(f"{name} has {clips.channels}-channel frames, the model predicts {self.channels}")
        try:
            return clips[index]
        except IndexError as exc:
            raise GanforgeError(str(exc)) from None

    def context_of(self, clip: np.ndarray, start: int = 0) -> np.ndarray:
        """The k observed frames uint8 [k, R, R, C] of a loaded clip, from frame `start` (negative: from the end)."""
        k, t = self.context_frames, len(clip)
        first = start + t if start < 0 else start
        if first < 0 or first + k > t:
            raise GanforgeError(f"the clip has {t} frames; the model observes {k} frames, which from start {start} "
                                f"would need frames {first}..{first + k - 1}")
        return clip[first : first + k]

    # --------------------------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict_tensor(self, context: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """context [N, k, C, R, R] in [-1, 1] -> the next `frames` (default m) [N, frames, C, R, R] in [-1, 1]."""
        frames = self.out_frames if frames is None else int(frames)
        if frames < 1:
            raise GanforgeError(f"frames to predict must be at least 1, got {frames}")
        return self.predictor.rollout(context.to(self.device).float(), frames).float().clamp(-1, 1)

    @torch.no_grad()
    def predict_batch(self, contexts: np.ndarray, frames: int | None = None, batch_size: int = 32) -> np.ndarray:
        """uint8 [N, k, R, R, C] observed frames -> uint8 [N, frames, R, R, C] predicted: what evaluation calls."""
        k, r, c = self.context_frames, self.resolution, self.channels
        if contexts.ndim != 5 or contexts.dtype != np.uint8 or contexts.shape[1:] != (k, r, r, c):
            raise GanforgeError(f"predict_batch takes uint8 [N, {k}, {r}, {r}, {c}], got {contexts.dtype} "
                                f"{contexts.shape}")
        outs = []
        for i in range(0, len(contexts), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(contexts[i : i + batch_size])).permute(0, 1, 4, 2, 3)
            y = self.predict_tensor(to_signed(x), frames)  # [n, frames, C, R, R]
            outs.append(to_unsigned(y).permute(0, 1, 3, 4, 2).cpu().numpy())
        return np.concatenate(outs)

    def __call__(
        self,
        clips: ClipInput | Sequence[ClipInput],
        frames: int | None = None,
        start: int = 0,
        output_type: str = "pil",
    ) -> Any:
        """Predict the `frames` (default m) frames after each clip's observed ones. Returns a list (one per clip)
        of lists of PIL frames ("pil"), a uint8 [N, frames, R, R, C] array ("np") or a [N, frames, C, R, R]
        tensor in [-1, 1] ("pt"); a single clip gives a batch of one."""
        check_output_type(output_type)
        single = isinstance(clips, (str, Path)) or (isinstance(clips, np.ndarray) and clips.ndim in (3, 4)) or (
            isinstance(clips, Sequence) and len(clips) > 0 and isinstance(clips[0], Image.Image))
        if isinstance(clips, np.ndarray) and clips.ndim == 5:
            items = list(clips)
        else:
            items = [clips] if single else list(clips)
        if not items:
            raise GanforgeError("no clips to predict from")
        contexts = np.stack([self.context_of(self.load_clip(item), start) for item in items])
        out = self.predict_batch(contexts, frames)
        if output_type == "np":
            return out
        if output_type == "pt":
            return to_signed(torch.from_numpy(out).permute(0, 1, 4, 2, 3))
        return [[to_pil(f) for f in clip] for clip in out]
