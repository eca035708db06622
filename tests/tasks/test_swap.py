"""Task swap: faceswap's autoencoder and the SimSwap-style generator train on aligned emoji faces, the pipeline
swaps a clip's faces and marks every frame, `ganforge swap` writes the clip marked and labelled as a swap (and asks
for consent for footage of one's own), and bad input is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganforge
from ganforge.cli.main import main
from ganforge.errors import ConfigError, GanforgeError
from ganforge.provenance import check_mark
from ganforge.provenance.metadata import read_metadata
from ganforge.tasks.swap.data import ellipse_mask, face_index, face_names, parse_pair
from ganforge.tasks.swap.pipeline import SwapPipeline, faceclip, parse_faceclip

TINY = dict(task="swap", data="faceclips", resolution=32, batch=8, width=4, d_layers=2, samples=64,
            tick_kimg=0.032, sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = str(tmp_path_factory.mktemp("swap"))
    return {
        "autoencoder": ganforge.train(model="autoencoder", pair="GRINNING FACE,74", code=16, kimg=0.128, out=out,
                                      name="ae", **TINY).run_dir,
        "simswap": ganforge.train(model="simswap", blocks=1, kimg=0.128, out=out, name="sim", **TINY).run_dir,
    }


def test_both_models_train_their_terms_and_load_as_swap_pipelines(runs: dict[str, Path]) -> None:
    ae, sim = rows(runs["autoencoder"]), rows(runs["simswap"])
    assert {"Loss/G/rec", "Loss/G/adv", "Loss/G/truth", "Loss/D/adv"} <= set(ae[-1])
    assert {"Loss/G/id", "Loss/G/truth", "Loss/G/rec", "Loss/G/fm", "Loss/G/adv"} <= set(sim[-1])
    assert ae[-1]["Loss/G/rec"] < ae[0]["Loss/G/rec"]  # redrawing its own faces improves from the start
    pipe = ganforge.load(runs["autoencoder"])
    assert isinstance(pipe, SwapPipeline) and pipe.model == "autoencoder"
    assert pipe.faces == ["GRINNING FACE", "NERD FACE"] and pipe.crop == 32
    assert ganforge.load(runs["simswap"]).faces == list(face_names())


def test_the_pipeline_swaps_every_frame_along_its_pose_and_marks_it(runs: dict[str, Path]) -> None:
    pipe = ganforge.load(runs["simswap"])
    frames, poses, own = faceclip("faceclips:test:2", frames=4)
    out = pipe(frames, identity="nerd face", poses=poses)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert all(check_mark(f).marked for f in out)
    unmarked = pipe("faceclips:test:2", identity=74, frames=4, watermark=False)
    assert unmarked.shape == (4, 64, 64, 3)
    far = np.ones((4, 64, 64), bool)
    for k in range(4):  # pixels far from the face are the clip's own
        y, x = poses["centre"][k]
        yy, xx = np.mgrid[:64, :64]
        far[k] = np.hypot(yy - y, xx - x) > poses["side"][k]
    np.testing.assert_array_equal(unmarked[far], frames[far])
    picture = np.asarray(Image.new("RGB", (40, 30), (200, 180, 20)))
    assert pipe.swap_frames(frames, poses, picture, watermark=False).shape == frames.shape  # a face from an image
    ae = ganforge.load(runs["autoencoder"])
    assert ae("faceclips:test:2", identity=55, frames=2, watermark=False).shape == (2, 64, 64, 3)
    with pytest.raises(GanforgeError, match="swaps between 'GRINNING FACE' and 'NERD FACE'"):
        ae(frames, identity=3, poses=poses)
    with pytest.raises(GanforgeError, match="the poses give"):
        pipe(frames, identity=3, poses={k: v[:2] for k, v in poses.items()})
    with pytest.raises(ConfigError, match="no face emoji named 'grining face'.*GRINNING FACE"):
        pipe(frames, identity="grining face", poses=poses)
    for clip, who, pose, message in (
        (frames, "missing.png", poses, "no such image file"),
        (frames, 3, {**poses, "side": np.full(4, np.nan)}, "finite"),
        (frames.astype(np.float32) / 255, 3, poses, "must be uint8"),
        (frames[:, :, :40], 3, poses, "must be square"),
    ):
        with pytest.raises(GanforgeError, match=message):
            pipe(clip, identity=who, poses=pose)


def test_swap_command_writes_a_marked_labelled_clip_and_wants_consent_for_own_footage(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gif, mp4 = tmp_path / "swap.gif", tmp_path / "swap.mp4"
    sim = str(runs["simswap"])
    assert main(["swap", sim, "faceclips:test:1", "--identity", "55", "--frames", "4", "--out", str(gif)]) == 0
    meta = read_metadata(gif)
    assert meta["command"] == "swap" and meta["task"] == "swap" and meta["watermark"] == "on"
    assert meta["swap"] == {"identity": "GRINNING FACE", "consent": False, "own_footage": False}
    assert main(["provenance", "check", str(gif)]) == 0
    checked = capsys.readouterr().out
    assert "marked in 4 of 4 frames" in checked and "A FACE SWAP to GRINNING FACE" in checked
    assert main(["swap", sim, str(gif), "--identity", "3", "--out", str(tmp_path / "again.gif")]) != 0
    assert "--consent" in capsys.readouterr().err and not (tmp_path / "again.gif").exists()
    poses = {k: v.tolist() for k, v in faceclip("faceclips:test:1", frames=4)[1].items()}
    (tmp_path / "poses.json").write_text(json.dumps(poses))
    assert main(["swap", sim, str(gif), "--identity", "3", "--consent", "--poses", str(tmp_path / "poses.json"),
                 "--out", str(mp4), "--compare"]) == 0
    meta = read_metadata(mp4)
    assert meta["swap"]["consent"] is True and meta["settings"]["poses"] == "file"
    from ganforge.data.video import read_video

    frames = [np.asarray(f) for f in read_video(mp4)]
    assert len(frames) == 4 and frames[0].shape[1] == 64 * 2 + 2
    found = tmp_path / "found.gif"
    assert main(["swap", sim, str(gif), "--identity", "3", "--consent", "--out", str(found)]) == 0
    assert read_metadata(found)["settings"]["poses"] == "emoji finder"
    assert main(["swap", sim, str(gif), "--identity", "3", "--consent", "--finder", "haar", "--out",
                 str(tmp_path / "haar.gif")]) != 0
    assert "found no face" in capsys.readouterr().err
    mine = tmp_path / "mine.gif"
    Image.new("RGB", (8, 8)).save(mine)
    for argv, message in (
        (["swap", sim, "faceclips:test:1", "--identity", "3", "--out", str(tmp_path / "x.png")], "must end in"),
        (["swap", str(runs["autoencoder"].parent), "faceclips:test:1", "--identity", "3", "--out",
          str(tmp_path / "y.gif")], "error: "),
        (["swap", sim, "faceclips:test:1", "--identity", "3", "--out", str(mine)], "not written by ganforge"),
        (["swap", sim], "give a swap model, a clip and --identity"),
        (["swap", sim, "faceclips:test:1", "--identity", "3", "--finder", "dlib", "--out", str(tmp_path / "z.gif")],
         "unknown --finder"),
    ):
        assert main(argv) != 0
        assert message in capsys.readouterr().err
    assert main(["swap", "--list-faces"]) == 0
    assert "55  GRINNING FACE" in capsys.readouterr().out
    assert main(["eval", str(runs["autoencoder"]), "--eval-n", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faces"] == ["GRINNING FACE", "NERD FACE"] and result["n"] == 1
    assert set(result["model"]) == {"identity", "position_px", "scale", "rotation_deg", "psnr_face", "flicker_ratio"}
    assert result["naive paste"]["psnr_face"] > result["unchanged"]["psnr_face"]


def test_options_and_names_are_checked() -> None:
    names = face_names()
    assert face_index("Nerd Face", names) == 74 and face_index(3, names) == 3
    assert parse_pair("GRINNING FACE, 74", names) == (55, 74)
    for bad, message in ((None, "give --pair"), ("3", "two faces"), ("3,3", "same face twice"), ("3,500", "outside")):
        with pytest.raises(ConfigError, match=message):
            parse_pair(bad, names)
    assert parse_faceclip("faceclips:7") == ("test", 7) and parse_faceclip("faceclips:train:2") == ("train", 2)
    assert parse_faceclip("clip.gif") is None
    mask = ellipse_mask(16)
    assert mask.shape == (16, 16, 1) and mask[8, 8, 0] == 255 and mask[0, 0, 0] == 0
    with pytest.raises(ConfigError, match="--pair"):
        ganforge.train(model="simswap", pair="1,2", kimg=0.01, out="/nonexistent", **TINY)
    with pytest.raises(ConfigError, match="multiple of 8"):
        ganforge.train(model="simswap", kimg=0.01, out="/nonexistent", **{**TINY, "resolution": 36})


def test_the_autoencoder_trains_on_folders_of_face_crops(translation_folder, tmp_path: Path) -> None:
    folder = translation_folder("faces", n_a=12, size=32)
    run = ganforge.train(model="autoencoder", code=8, kimg=0.032, out=str(tmp_path), name="folder",
                         **{**TINY, "data": str(folder)}).run_dir
    pipe = ganforge.load(run)
    assert pipe.faces == ["A", "B"] and rows(run)[-1]["Loss/G/rec"] > 0
    frames, poses, _ = faceclip("faceclips:test:0", frames=2)
    assert pipe(frames, identity="b", poses=poses, watermark=False).shape == frames.shape
    with pytest.raises(ConfigError, match="simswap trains on the emoji faces"):
        ganforge.train(model="simswap", kimg=0.01, out=str(tmp_path), name="no", **{**TINY, "data": str(folder)})
