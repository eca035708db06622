"""The video tasks' shared data path: clips load as one uint8 array and reach a step as float [N, T, C, H, W]."""

import numpy as np
import torch

from ganforge.config import TrainConfig
from ganforge.engine.trainer import BatchStream, channels_first
from ganforge.nets.video_disc import VideoDiscriminator
from ganforge.tasks.clips import CLIP_KEY, load_clip_data


def test_moving_clips_load_with_their_frame_count():
    config = TrainConfig(task="nextframe", data="moving-mnist", resolution=32)
    data = load_clip_data(config, frames=6)
    clips = data.arrays[CLIP_KEY]
    assert clips.shape == (10_000, 6, 32, 32, 1) and clips.dtype == np.uint8
    assert data.info.frames == 6 and data.info.channels == 1 and data.info.count == 10_000


def test_clip_batches_are_float_frames_first():
    clips = torch.randint(0, 256, (10, 4, 8, 8, 3), dtype=torch.uint8)
    stream = BatchStream({CLIP_KEY: channels_first(clips)}, None, 4, seed=0, rank=0, world_size=1)
    batch = stream.batch(0, torch.device("cpu"), channels_last=True)[CLIP_KEY]
    assert batch.shape == (4, 4, 3, 8, 8) and batch.dtype == torch.float32
    assert -1.0 <= batch.min() and batch.max() <= 1.0


def test_video_discriminator_judges_patches_of_a_clip():
    d = VideoDiscriminator(in_channels=3, frames=8, resolution=32, width=4)
    logits = d(torch.randn(2, 8, 3, 32, 32))
    assert logits.shape[:2] == (2, 1) and logits.ndim == 5


def test_video_tasks_default_to_their_moving_data_at_64_px():
    from ganforge.api import new_run_config

    assert (new_run_config(None, {"task": "nextframe"}).data, new_run_config(None, {"task": "nextframe"}).resolution) \
        == ("moving-mnist", 64)
    video = new_run_config(None, {"task": "video", "resolution": 32})
    assert (video.data, video.resolution) == ("moving-emoji", 32)  # what the caller gives wins
    assert new_run_config(None, {"task": "image"}).resolution == 32
    from ganforge.config import TrainConfig

    from_object = new_run_config(TrainConfig(task="video"), {})
    assert (from_object.data, from_object.resolution) == ("moving-emoji", 64)
