"""The nextframe pipeline, its evaluation and its commands, on one tiny Moving MNIST run: save/load round trip,
batch-vs-single equality, clips of another size (resized with a note), autoregressive horizons, held-out
evaluation, and `ganforge predict` / `ganforge eval`."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from tests.nextframe_helpers import moving_square

import ganforge
from ganforge.cli.main import main
from ganforge.data.video import read_video
from ganforge.errors import GanforgeError
from ganforge.imaging import save_animation
from ganforge.pipelines import FramePredictionPipeline
from ganforge.tasks.nextframe.evaluate import evaluate_nextframe, frame_scores
from ganforge.tasks.nextframe.pipeline import parse_clip_index

R, K, M = 32, 2, 2  # the tiny run: 32 px Moving MNIST, 2 observed and 2 predicted frames


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nextframe-run")
    ganforge.train(task="nextframe", data="moving-mnist", resolution=R, frames=K + M, context_frames=K, batch=4,
                   width=8, n_blocks=1, kimg=0.016, tick_kimg=0.008, sample_every_kimg=1.0, checkpoint_every_kimg=1.0,
                   grid_size=4, out=str(root), name="nf")
    return root / "nf"


def test_load_round_trip_and_batch_independence(run, tmp_path):
    pipe = ganforge.load(run)
    assert isinstance(pipe, FramePredictionPipeline) and (pipe.context_frames, pipe.out_frames) == (K, M)
    a, b = pipe.load_clip("test:0"), pipe.load_clip("moving-mnist:test:1")
    assert a.shape == (K + M, R, R, 1) and a.dtype == np.uint8
    both = pipe([a, b], output_type="np")
    assert both.shape == (2, M, R, R, 1)
    # Batched and single clips run the same maths but may take other convolution kernels (summation orders): equal
    # up to float rounding, so a pixel may round to the next grey level.
    diff = np.abs(both[1:].astype(int) - pipe(b, output_type="np").astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    assert np.array_equal(both, pipe(np.stack([a, b]), output_type="np"))  # deterministic: no noise
    pipe.save_pretrained(tmp_path / "export")
    again = FramePredictionPipeline.from_pretrained(tmp_path / "export")
    assert np.array_equal(again([a, b], output_type="np"), both)
    frames = pipe("test:0")
    assert len(frames) == 1 and len(frames[0]) == M and frames[0][0].size == (R, R)
    assert pipe(a, output_type="pt").shape == (1, M, 1, R, R)


def test_autoregressive_horizon_and_start(run):
    pipe = ganforge.load(run)
    clip = pipe.load_clip("test:3", min_frames=8)
    assert clip.shape[0] == 8
    long = pipe(clip, frames=5, output_type="np")
    assert long.shape == (1, 5, R, R, 1)
    assert np.array_equal(long[:, :M], pipe(clip, output_type="np"))  # the first pass is the native prediction
    assert np.array_equal(pipe(clip, start=-K, output_type="np"), pipe(clip[-K:], output_type="np"))
    with pytest.raises(GanforgeError, match="the clip has 1 frames; the model observes 2 frames"):
        pipe(clip[:1])
    with pytest.raises(GanforgeError, match="neither a video file nor a moving-data index"):
        pipe("no-such-clip.gif")
    with pytest.raises(GanforgeError, match="'digits' is not a moving dataset"):
        pipe("digits:test:0")


def test_a_clip_of_another_size_is_resized_with_a_note(run, tmp_path, caplog):
    pipe = ganforge.load(run)
    square = np.repeat(moving_square(6, 48, 12, (4, 8), (3, 2)), 3, axis=3)  # RGB frames, 48 px
    path = save_animation(square[:, :, 4:44], tmp_path / "wide.gif")  # 40x48 frames
    with caplog.at_level(logging.WARNING, logger="ganforge"):
        out = pipe(str(path), output_type="np")
    assert out.shape == (1, M, R, R, 1)
    assert "has 40x48 px frames; centre-cropped and resized to the model's 32x32" in caplog.text


def test_parse_clip_index():
    assert parse_clip_index("test:7") == (None, "test", 7)
    assert parse_clip_index("moving-mnist:train:3") == ("moving-mnist", "train", 3)
    assert parse_clip_index("moving-emoji:twitter:2") == ("moving-emoji:twitter", "test", 2)
    assert parse_clip_index("12") == (None, "test", 12)
    assert parse_clip_index("clip.gif") is None


def test_frame_scores_closed_forms():
    black, white = np.zeros((2, R, R, 1), np.uint8), np.full((2, R, R, 1), 255, np.uint8)
    scores = frame_scores(black, white)
    assert scores["mse"].tolist() == [R * R, R * R]  # summed over the frame, pixels in [0, 1]
    same = frame_scores(white, white)
    assert same["mse"].tolist() == [0.0, 0.0] and same["psnr"].tolist() == [100.0, 100.0]
    assert np.allclose(same["ssim"], 1.0) and same["sharpness"].tolist() == [0.0, 0.0]


class _StandStill:
    """A 'predictor' that holds the last observed frame: its figures must be the last-frame baseline's."""

    context_frames, out_frames, resolution, channels, config = K, M, R, 1, {}

    def predict_batch(self, contexts, frames=None, batch_size=32):
        return np.repeat(contexts[:, -1:], frames or M, axis=1)


def test_evaluation_on_held_out_clips(run):
    still = evaluate_nextframe(_StandStill(), data="moving-mnist", n=6, frames=3)
    assert still["model"] == still["last_frame"] and still["split"] == "test" and still["frames"] == 3
    result = evaluate_nextframe(ganforge.load(run), n=6)
    assert (result["n"], result["frames"], result["context_frames"], result["data"]) == (6, M, K, "moving-mnist")
    for kind in ("model", "last_frame"):
        assert set(result[kind]) == {"mse", "mae", "psnr", "ssim", "sharpness", "sharpness_diff", "sharpness_ratio"}
        assert all(len(v) == M for v in result["per_step"][kind].values())
    assert result["last_frame"]["mse"] > 0 and result["truth"]["sharpness"] > 0
    json.dumps(result)  # JSON-safe: capped PSNR, plain floats


def test_predict_and_eval_commands(run, tmp_path, capsys):
    out = tmp_path / "pred.gif"
    assert main(["predict", str(run), "test:5", "--frames", "3", "--out", str(out), "--compare"]) == 0
    frames = read_video(out)
    assert frames.shape == (K + 3, R, 2 * R + 2, 3)
    assert "2 observed + 3 predicted frames of test:5" in capsys.readouterr().out
    assert main(["predict", str(run), "test:5", "--no-context", "--out", str(tmp_path / "p.gif")]) == 0
    assert read_video(tmp_path / "p.gif").shape[0] == M
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "4", "--frames", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "nextframe" and result["n"] == 4 and len(result["per_step"]["model"]["mse"]) == 3
    assert main(["predict", str(run), "test:5", "--out", str(tmp_path / "p.png")]) != 0
    assert "--out must end in .gif, .mp4, .webm" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["predict"], ["eval"], ["train"]])
def test_help(capsys, command):
    assert main([*command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Usage" in out and ("nextframe" in out or "moving-data index" in out)
