"""Training data for the video tasks: a clip set (moving data or a folder of videos) held in memory.

Both video tasks (nextframe, video) load their data here, so the trainer sees one named array,
"clip", of uint8 [N, T, H, W, C] and hands `train_step` float clips [N, T, C, H, W] in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ganforge.config import TrainConfig
from ganforge.errors import ConfigError
from ganforge.tasks.base import DataInfo, TrainData

CLIP_KEY = "clip"
CHUNK = 500  # clips generated or decoded per progress update


def load_clip_data(config: TrainConfig, frames: int,
                   progress: Callable[[int, int], None] | None = None) -> TrainData:
    """Every training clip of `config.data` at `config.resolution`, `frames` frames each."""
    from ganforge.data.video import resolve_video

    check_moving_resolution(config)
    folder_options = {} if _is_moving(config.data) else {"strict": config.strict}  # moving data has no bad files
    clips = resolve_video(config.data, config.resolution, frames=frames, **folder_options)
    n = len(clips)
    parts = []
    for start in range(0, n, CHUNK):
        parts.append(clips.clips(range(start, min(n, start + CHUNK))))
        if progress is not None:
            progress(min(n, start + CHUNK), n)
    array = np.concatenate(parts) if parts else np.zeros((0, frames, config.resolution, config.resolution, 1), np.uint8)
    info = DataInfo(name=str(clips.meta.get("name", config.data)), resolution=clips.resolution,
                    channels=clips.channels, count=n, frames=frames)
    return TrainData(arrays={CLIP_KEY: array}, info=info)


def _is_moving(spec: str) -> bool:
    from ganforge.data.builtin.moving import parse_moving

    return parse_moving(str(spec)) is not None


def check_moving_resolution(config: TrainConfig) -> None:
    """Moving sprites must be smaller than the frame to move at all (either video task): say so before
    10,000 clips are drawn."""
    from ganforge.data.builtin.moving import moving_sprite_size

    if not _is_moving(config.data):
        return
    sprite_size = moving_sprite_size(str(config.data), config.resolution)  # nothing is drawn
    if sprite_size >= config.resolution:
        raise ConfigError(
            f"{config.data}'s sprites are {sprite_size} px, so in {config.resolution} px frames they cannot "
            f"move: train at a --resolution above {sprite_size}"
        )
