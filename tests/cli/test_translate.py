"""`ganforge translate`: folders of RGBA, grey and odd-sized images; BtoA for CycleGAN; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganforge.cli.main import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _inputs(folder):
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (13, 21, 4), dtype=np.uint8), "RGBA").save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (9, 7), dtype=np.uint8), "L").save(folder / "gray.png")
    Image.fromarray(rng.integers(0, 256, (33, 17, 3), dtype=np.uint8)).save(folder / "sub" / "odd.jpg")
    (folder / "notes.txt").write_text("not an image")
    return {"rgba.png": (21, 13), "gray.png": (7, 9), "sub/odd.png": (17, 33)}


def test_translate_help(capsys):
    code, out, _ = run(capsys, "translate", "--help")
    assert code == 0 and "--direction" in out and "--resize" in out


@pytest.mark.parametrize(("model", "direction"), [("pix2pix", "AtoB"), ("cyclegan", "BtoA")])
def test_translate_a_folder_keeps_sizes(capsys, tmp_path, translation_runs, model, direction):
    sizes = _inputs(tmp_path / "in")
    code, out, err = run(capsys, "translate", str(translation_runs[model]), str(tmp_path / "in"),
                         "--out", str(tmp_path / "out"), "--direction", direction)
    assert code == 0, err
    assert out.strip() == f"3 images in {tmp_path / 'out'}"
    for name, size in sizes.items():
        im = Image.open(tmp_path / "out" / name)
        assert im.size == size
    assert Image.open(tmp_path / "out" / "rgba.png").mode == "RGBA"
    code, _, err = run(capsys, "translate", str(translation_runs[model]), str(tmp_path / "in" / "gray.png"),
                       "--out", str(tmp_path / "resized"), "--resize")
    assert code == 0 and Image.open(tmp_path / "resized" / "gray.png").size == (7, 9)


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda p: p.mkdir(), [], "no images found in"),
        (lambda p: (p.mkdir(), (p / "x.png").write_bytes(b"junk")), [], "cannot read image"),
        (lambda p: None, [], "does not exist"),
        (lambda p: (p.mkdir(), Image.new("RGB", (8, 8)).save(p / "a.png")), ["--direction", "BtoA"],
         "translates one way only"),
        (lambda p: (p.mkdir(), Image.new("RGB", (8, 8)).save(p / "a.png")), ["--direction", "up"],
         "direction must be one of AtoB"),
    ],
)
def test_translate_errors_are_one_line(capsys, tmp_path, translation_runs, make, extra, message):
    make(tmp_path / "in")
    code, _, err = run(capsys, "translate", str(translation_runs["pix2pix"]), str(tmp_path / "in"),
                       "--out", str(tmp_path / "out"), *extra)
    assert code == 2 and message in err and err.startswith("error: ") and err.count("\n") == 1


def test_translate_refuses_clashing_outputs(capsys, tmp_path, translation_runs):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / folder / "same.png")
    code, _, err = run(capsys, "translate", str(translation_runs["pix2pix"]), str(tmp_path / "x" / "same.png"),
                       str(tmp_path / "y" / "same.png"), "--out", str(tmp_path / "out"))
    assert code == 2 and "would both be written to" in err


def test_train_translation_options_on_the_command_line(capsys, tmp_path, translation_runs):
    import json

    pairs = str(translation_runs["pairs"])
    common = ["--resolution", "16", "--width", "4", "--d-layers", "2", "--out", str(tmp_path), "--dry-run"]
    code, out, err = run(capsys, "train", "pix2pix", "--data", pairs, "--direction", "BtoA", "--l1-weight", "50",
                         "--loss", "hinge", *common)
    assert code == 0, err
    plan = json.loads(out)
    assert plan["config"]["model"] == "unet" and plan["config"]["direction"] == "BtoA"
    assert plan["config"]["l1_weight"] == 50 and plan["data"]["count"] == 18
    code, out, err = run(capsys, "train", "cyclegan", "--data", pairs, "--n-blocks", "2", "--pool-size", "10",
                         "--cycle-weight", "5", "--identity-weight", "0", "--lr-decay-start", "0.25", *common)
    assert code == 0, err
    cfg = json.loads(out)["config"]
    assert (cfg["n_blocks"], cfg["pool_size"], cfg["cycle_weight"], cfg["identity_weight"]) == (2, 10, 5, 0)
    assert cfg["lr_decay_start"] == 0.25 and cfg["model"] == "resnet"
    code, _, err = run(capsys, "train", "image", "--data", "digits", "--pool-size", "3", "--dry-run")
    assert code == 2 and "--pool-size applies to cyclegan, not to task 'image'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "train", "pix2pix", "--data", pairs, "--model", "spade", "--resolution", "32", "--dry-run")
    assert code == 2 and "--model spade turns label maps into images" in err
