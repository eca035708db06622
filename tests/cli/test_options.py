"""One meaning per option name (renamed options keep their old names for a release, with a note) and
`--device auto` in every command that runs a model."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from ganforge.cli.main import main
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError

TRAIN = ["train", "image", "--data", "digits", "--resolution", "16", "--batch", "32", "--width", "8", "--z-dim", "16"]
NEXTFRAME = ["train", "nextframe", "--data", "moving-mnist", "--resolution", "32", "--context-frames", "2",
             "--batch", "4", "--width", "8", "--n-blocks", "1", "--kimg", "0.016", "--tick", "0.008",
             "--sample-every", "1", "--checkpoint-every", "1"]
HERE = "cuda" if torch.cuda.is_available() else "cpu"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ") and "is deprecated" in line]


def one_line_error(code: int, err: str, message: str) -> bool:
    return code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("image-run")
    assert main([*TRAIN, "--kimg", "0.1", "--runs-dir", str(root), "--name", "img"]) == 0  # the new name
    return root / "img"


@pytest.fixture(scope="module")
def nextframe_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nextframe-run")
    assert main([*NEXTFRAME, "--clip-frames", "4", "--runs-dir", str(root), "--name", "nf"]) == 0  # the new names
    return root / "nf"


# --- train: --runs-dir (was --out), --clip-frames (was --frames) -----------------------------------------------

def test_train_runs_dir_and_its_old_name(capsys, tmp_path, image_run):
    assert json.loads((image_run / "config.json").read_text())["out"] == str(image_run.parent)
    code, out, err = run(capsys, *TRAIN, "--runs-dir", tmp_path / "new", "--dry-run")
    assert code == 0 and json.loads(out)["config"]["out"] == str(tmp_path / "new") and not notes(err)
    code, out, err = run(capsys, *TRAIN, "--out", tmp_path / "old", "--dry-run")
    assert code == 0 and json.loads(out)["config"]["out"] == str(tmp_path / "old")
    assert notes(err) == ["note: --out is deprecated in `ganforge train`; use --runs-dir (the parent folder of run "
                          "directories)"]
    code, out, err = run(capsys, *TRAIN, "--runs-dir", tmp_path / "same", "--out", tmp_path / "same", "--dry-run")
    assert code == 0 and json.loads(out)["config"]["out"] == str(tmp_path / "same") and len(notes(err)) == 1
    code, _, err = run(capsys, *TRAIN, "--runs-dir", tmp_path / "a", "--out", tmp_path / "b", "--dry-run")
    assert one_line_error(code, err, "--runs-dir") and "--out is the old name of --runs-dir; give only --runs-dir" in err


def test_train_clip_frames_and_its_old_name(capsys, nextframe_run):
    assert json.loads((nextframe_run / "config.json").read_text())["clip_frames"] == 4
    code, out, err = run(capsys, *NEXTFRAME, "--clip-frames", "6", "--dry-run")
    assert code == 0 and json.loads(out)["config"]["clip_frames"] == 6 and not notes(err)
    code, out, err = run(capsys, *NEXTFRAME, "--frames", "6", "--dry-run")
    assert code == 0 and json.loads(out)["config"]["clip_frames"] == 6
    assert notes(err) == ["note: --frames is deprecated in `ganforge train`; use --clip-frames (the old name goes in "
                          "the next release)"]
    code, _, err = run(capsys, *NEXTFRAME, "--clip-frames", "6", "--frames", "5", "--dry-run")
    assert one_line_error(code, err, "--clip-frames 6 and --frames 5 disagree")


def test_train_errors_name_the_option_as_typed(capsys):
    """The config says --frames; a user who typed --clip-frames (or nothing) reads --clip-frames, and an error
    comes before the deprecation note."""
    code, _, err = run(capsys, *NEXTFRAME, "--clip-frames", "2", "--dry-run")
    assert one_line_error(code, err, "--clip-frames 2 must exceed --context-frames 2")
    code, _, err = run(capsys, *NEXTFRAME, "--context-frames", "30", "--dry-run")
    assert one_line_error(code, err, "--clip-frames 20 must exceed --context-frames 30")
    code, _, err = run(capsys, *TRAIN, "--clip-frames", "8", "--dry-run")
    assert one_line_error(code, err, "--clip-frames applies to nextframe and video, not to task 'image'")
    code, _, err = run(capsys, *NEXTFRAME, "--frames", "2", "--dry-run")
    first, second = err.splitlines()
    assert code == 2 and first.startswith("error: --frames 2 must exceed") and second.startswith("note: --frames")


# --- sample: --walk-frames (was --frames) ----------------------------------------------------------------------

def test_sample_walk_frames_and_its_old_name(capsys, tmp_path, image_run):
    code, _, err = run(capsys, "sample", image_run, "--interpolate", "--walk-frames", "5", "--out", tmp_path / "a.gif")
    assert code == 0 and Image.open(tmp_path / "a.gif").n_frames == 5 and not notes(err)
    code, _, err = run(capsys, "sample", image_run, "--interpolate", "--frames", "6", "--out", tmp_path / "b.gif")
    assert code == 0 and Image.open(tmp_path / "b.gif").n_frames == 6
    assert notes(err) == ["note: --frames is deprecated in `ganforge sample`; use --walk-frames (the old name goes "
                          "in the next release)"]
    code, _, err = run(capsys, "sample", image_run, "--interpolate", "--walk-frames", "5", "--frames", "6",
                       "--out", tmp_path / "c.gif")
    assert one_line_error(code, err, "--walk-frames 5 and --frames 6 disagree") and not (tmp_path / "c.gif").exists()
    code, _, err = run(capsys, "sample", image_run, "--interpolate", "--walk-frames", "1", "--out", tmp_path / "d.gif")
    assert one_line_error(code, err, "--walk-frames at least 2")


# --- predict and eval: --predict-frames (was --frames); eval: --eval-n (was --n), as train's --eval-n -----------

def test_predict_frames_and_its_old_name(capsys, tmp_path, nextframe_run):
    code, out, err = run(capsys, "predict", nextframe_run, "test:1", "--predict-frames", "3", "--out", tmp_path / "a.gif")
    assert code == 0 and "2 observed + 3 predicted" in out and not notes(err)
    code, out, err = run(capsys, "predict", nextframe_run, "test:1", "--frames", "3", "--out", tmp_path / "b.gif")
    assert code == 0 and "2 observed + 3 predicted" in out
    assert notes(err) == ["note: --frames is deprecated in `ganforge predict`; use --predict-frames (the old name "
                          "goes in the next release)"]
    code, _, err = run(capsys, "predict", nextframe_run, "test:1", "--predict-frames", "3", "--frames", "4",
                       "--out", tmp_path / "c.gif")
    assert one_line_error(code, err, "--predict-frames 3 and --frames 4 disagree")
    code, _, err = run(capsys, "predict", nextframe_run, "test:1", "--predict-frames", "0", "--out", tmp_path / "d.gif")
    assert one_line_error(code, err, "--predict-frames must be at least 1")


def test_eval_new_names_and_old_ones(capsys, nextframe_run):
    code, out, err = run(capsys, "eval", nextframe_run, "--eval-n", "3", "--predict-frames", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 3 and not notes(err)
    code, out, err = run(capsys, "eval", nextframe_run, "--n", "3", "--frames", "3", "--json")
    assert code == 0 and json.loads(out) == result
    assert notes(err) == ["note: --n is deprecated in `ganforge eval`; use --eval-n (the old name goes in the next "
                          "release)", "note: --frames is deprecated in `ganforge eval`; use --predict-frames (the old "
                          "name goes in the next release)"]
    code, _, err = run(capsys, "eval", nextframe_run, "--eval-n", "3", "--n", "4")
    assert one_line_error(code, err, "--eval-n 3 and --n 4 disagree: --n is the old name of --eval-n")
    code, _, err = run(capsys, "eval", nextframe_run, "--eval-n", "100000")  # a message from ganforge.metrics
    assert one_line_error(code, err, "--eval-n must lie in 1..")
    code, _, err = run(capsys, "eval", nextframe_run, "--n", "100000")
    assert code == 2 and err.splitlines()[0].startswith("error: --n must lie in 1..") and len(notes(err)) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--eval-n", "2"], "--eval-n must be at least 4"),
    (["--n", "2"], "--n must be at least 4"),
    (["--predict-frames", "3"], "--predict-frames applies to nextframe runs only"),
    (["--frames", "3"], "--frames applies to nextframe runs only"),
])
def test_eval_errors_name_the_option_as_typed(capsys, tmp_path, args, message):
    code, _, err = run(capsys, "eval", "--real", tmp_path, "--fake", tmp_path, *args)
    lines = err.splitlines()
    assert code == 2 and lines[0].startswith(f"error: {message}")
    assert len(lines) == 1 + (args[0] in ("--n", "--frames"))  # the old names add their note after the error


# --- --device auto ---------------------------------------------------------------------------------------------

def test_resolve_device():
    assert resolve_device() == resolve_device("auto") == resolve_device(" AUTO ") == HERE
    assert resolve_device("cpu") == "cpu"
    for bad in ("toaster", "meta", "cuda:x", ""):
        with pytest.raises(GanforgeError, match="is not a device: use auto, cpu, cuda, cuda:N or mps"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(GanforgeError, match="no CUDA GPU: use --device cpu or auto"):
            resolve_device("cuda:0")


def _commands(tmp_path):
    image = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(image)
    run_dir = tmp_path / "no-run"
    return {
        "sample": ["sample", run_dir, "--out", tmp_path / "s.png"],
        "translate": ["translate", run_dir, image, "--out", tmp_path / "t"],
        "inpaint": ["inpaint", run_dir, image, "--mask", image, "--out", tmp_path / "i.png"],
        "upscale": ["upscale", run_dir, image, "--out", tmp_path / "u.png"],
        "predict": ["predict", run_dir, "test:1", "--out", tmp_path / "p.gif"],
        "eval": ["eval", run_dir],
    }


COMMANDS = ["sample", "translate", "inpaint", "upscale", "predict", "eval"]


@pytest.mark.parametrize("command", COMMANDS)
def test_device_defaults_to_auto(capsys, tmp_path, monkeypatch, command):
    import ganforge.api

    seen = []

    def fake_load(path, device=None, runtime="torch"):
        seen.append(device)
        assert runtime == "torch"  # --runtime defaults to PyTorch
        raise GanforgeError("stop here")

    monkeypatch.setattr(ganforge.api, "load", fake_load)
    code, _, err = run(capsys, *_commands(tmp_path)[command])
    assert code == 2 and err == "error: stop here\n" and seen == [HERE]
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "--device" in out and "[default: auto]" in " ".join(out.split())


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("device", "message"), [
    ("toaster", "error: --device 'toaster' is not a device: use auto, cpu, cuda, cuda:N or mps"),
    (f"cuda:{torch.cuda.device_count()}", f"error: --device cuda:{torch.cuda.device_count()}"),  # one past the last
])
def test_bad_device_is_a_one_line_error(capsys, tmp_path, command, device, message):
    code, _, err = run(capsys, *_commands(tmp_path)[command], "--device", device)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1, err
