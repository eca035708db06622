"""The video generation pipeline, `ganforge sample` and `ganforge eval` on a tiny trained video run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from tests.gf_video import video_run  # noqa: F401  (session fixture)

import ganforge
from ganforge.cli.main import main
from ganforge.data.video import read_video
from ganforge.errors import GanforgeError
from ganforge.nets.vgan import composite
from ganforge.pipelines import VideoGenerationPipeline
from ganforge.tasks.video.pipeline import clip_strip, tile_clips


def test_output_types_seeds_and_batches(video_run):  # noqa: F811
    pipe = ganforge.load(video_run["run"])
    assert isinstance(pipe, VideoGenerationPipeline) and (pipe.frames, pipe.resolution, pipe.channels) == (4, 16, 3)
    clips = pipe(n=3, seed=5, output_type="np")
    assert clips.shape == (3, 4, 16, 16, 3) and clips.dtype == np.uint8
    pt = pipe(seeds=[5, 6, 7], output_type="pt")
    assert pt.shape == (3, 4, 3, 16, 16) and pt.abs().max() <= 1
    pil = pipe(n=2, output_type="pil")
    assert len(pil) == 2 and len(pil[0]) == 4 and pil[0][0].size == (16, 16)
    # a clip depends on its seed only: the same alone, in another batch, at another batch size
    assert np.array_equal(pipe(seeds=[6], output_type="np")[0], clips[1])
    assert np.array_equal(pipe(seeds=[7, 5, 6], output_type="np", batch_size=2)[[1, 2, 0]], clips)
    with pytest.raises(GanforgeError, match="output_type"):
        pipe(n=1, output_type="gif")
    with pytest.raises(GanforgeError, match="n >= 1"):
        pipe(n=0)


def test_streams_compose_the_clip(video_run):  # noqa: F811
    pipe = ganforge.load(video_run["run"])
    parts = pipe.streams(seeds=[1, 2], output_type="pt", watermark=False)
    video, fg, mask, bg = parts["video"], parts["foreground"], parts["mask"], parts["background"]
    assert mask.shape == (2, 4, 1, 16, 16) and bg.shape == (2, 3, 16, 16) and 0 <= mask.min() and mask.max() <= 1
    assert torch.allclose(video, composite(fg, mask, bg).clamp(-1, 1), atol=1e-6)
    assert torch.equal(video, pipe(seeds=[1, 2], output_type="pt", watermark=False))
    arrays = pipe.streams(seeds=[1, 2])
    assert arrays["mask"].shape == (2, 4, 16, 16, 1) and arrays["background"].shape == (2, 16, 16, 3)


def test_save_pretrained_round_trip(video_run, tmp_path):  # noqa: F811
    pipe = ganforge.load(video_run["run"])
    pipe.save_pretrained(tmp_path / "export")
    again = ganforge.load(tmp_path / "export")
    assert isinstance(again, VideoGenerationPipeline)
    assert np.array_equal(again(n=2, output_type="np"), pipe(n=2, output_type="np"))


def test_clip_layouts():
    clips = np.random.default_rng(0).integers(0, 256, (5, 3, 8, 8, 3), dtype=np.uint8)
    tiled = tile_clips(clips)  # 3 frames, each a 3 x 2 grid of the 5 clips (2 px white padding)
    assert tiled.shape == (3, 2 + 2 * 10, 2 + 3 * 10, 3)
    assert np.array_equal(tiled[1, 2:10, 12:20], clips[1, 1])
    strip = clip_strip(clips)  # a row of 3 frames per clip
    assert strip.shape == (2 + 5 * 10, 2 + 3 * 10, 3) and np.array_equal(strip[12:20, 22:30], clips[1, 2])


def _moving_export(run, out):
    """The tiny run with a stronger foreground head, exported: 10 steps leave its frames nearly equal, and a GIF
    merges equal frames into one longer frame (which plays the same but reads back as fewer frames)."""
    pipe = ganforge.load(run)
    with torch.no_grad():
        pipe.generator.fg_head.weight.mul_(200.0)
    pipe.save_pretrained(out)
    assert (np.diff(pipe(n=5, output_type="np").astype(int), axis=1) != 0).any(axis=(2, 3, 4)).all()
    return str(out)


def test_sample_writes_clips(video_run, tmp_path, capsys):  # noqa: F811
    run = _moving_export(video_run["run"], tmp_path / "export")  # RUN may be an exported model too
    assert main(["sample", run, "--n", "5", "--out", str(tmp_path / "clips.gif")]) == 0
    frames = read_video(tmp_path / "clips.gif")  # one animation: every clip tiled, frame by frame
    assert frames.shape == (4, 2 + 2 * 18, 2 + 3 * 18, 3)
    assert main(["sample", run, "--seeds", "3,4", "--out", str(tmp_path / "each") + "/"]) == 0
    one = read_video(tmp_path / "each" / "seed000004.gif")
    assert one.shape == (4, 16, 16, 3) and sorted(p.name for p in (tmp_path / "each").glob("[!.]*")) == [
        "seed000003.gif", "seed000004.gif"]
    assert main(["sample", run, "--n", "2", "--out", str(tmp_path / "strip.png")]) == 0
    assert Image.open(tmp_path / "strip.png").size == (2 + 4 * 18, 2 + 2 * 18)
    assert main(["sample", run, "--n", "2", "--streams", "--out", str(tmp_path / "streams.png")]) == 0
    assert Image.open(tmp_path / "streams.png").size == (2 + 4 * 18, 2 + 8 * 18)  # 4 rows a clip


@pytest.mark.parametrize(("args", "message"), [
    (["--frames", "8", "--out", "x.gif"], "--frames applies to image generators"),
    (["--interpolate", "--out", "x.gif"], "--interpolate applies to image generators"),
    (["--out", "x.txt"], "--out must be an animation"),
    (["--streams", "--out", "x.gif"], "--streams writes a still figure"),
])
def test_sample_errors(video_run, tmp_path, capsys, args, message):  # noqa: F811
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    assert main(["sample", str(video_run["run"]), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_eval_frames_and_motion(video_run, capsys):  # noqa: F811
    from ganforge.tasks.video.evaluate import video_table

    assert main(["eval", str(video_run["run"]), "--n", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "video" and result["n"] == 4 and result["frames"] == 4 and result["fvd"] is None
    model, real = result["model"], result["real"]
    assert {"fid4", "kid4", "kid4_std", "motion"} <= set(model) and np.isfinite(model["fid4"])
    assert 0 < real["motion"] < 1 and 0 <= model["motion"] < 1  # the square moves in every real clip
    assert "no FVD" in video_table(result) and "motion" in video_table(result)
    assert main(["eval", str(video_run["run"]), "--n", "1000"]) == 2
    assert "more than the 18 clips" in capsys.readouterr().err


def test_motion_statistic():
    from ganforge.tasks.video.evaluate import motion, spread_frames

    still = np.full((2, 5, 4, 4, 3), 100, np.uint8)
    assert np.array_equal(motion(still), [0.0, 0.0])
    flicker = still.copy()
    flicker[:, 1::2] = 151  # every step changes every pixel by 51 = 0.2 * 255
    assert np.allclose(motion(flicker), 0.2)
    clips = np.arange(3 * 4).reshape(3, 4, 1, 1, 1).astype(np.uint8)  # clip i, frame t holds 4 i + t
    assert spread_frames(clips).ravel().tolist() == [0, 5, 10] and spread_frames(clips, 3).ravel().tolist() == [3, 4, 9]
