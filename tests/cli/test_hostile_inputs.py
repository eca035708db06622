"""A hostile user's inputs (issue 25): each case exits non-zero with exactly one `error:` line and no traceback,
or works with memory bounded by a batch, and no file outside the output is changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)
from tests.metric_stubs import PoolFeatures
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.cli import sample as sample_cli
from ganforge.cli.main import main
from ganforge.outputs import OUTPUT_MARKER
from ganforge.pipelines import ImageGenerationPipeline


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(code: int, err: str, *words: str) -> None:
    """Exit non-zero, one `error:` line first, no traceback, and the words that say what to do."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and lines and lines[0].startswith("error: "), err
    assert sum(line.startswith("error: ") for line in lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (hidden ones too) and a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def write_pngs(folder: Path, n: int = 3, size: int = 12) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"in{i}.png")
    return folder


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("image-run")
    ganforge.train(task="image", model="dcgan", data="digits", resolution=16, batch=16, width=4, z_dim=8,
                   kimg=0.032, tick_kimg=0.016, out=str(root), name="run")
    return root / "run"


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sr-run")
    ganforge.train(**TINY_SR, data=str(write_sr_folder(root / "imgs")), kimg=0.008, out=str(root), name="run")
    return root / "run"


# ------------------------------------------------------------------------------------------ bounded memory
def test_sample_refuses_a_grid_that_cannot_fit_and_writes_nothing(capsys, tmp_path, image_run):
    code, _, err = run(capsys, "sample", image_run, "--n", 100_000_000, "--out", tmp_path / "x.png")
    one_error(code, err, "grid of 100000000 images", "memory", "folder")
    assert not any(tmp_path.iterdir())


def test_sample_into_a_folder_generates_a_chunk_at_a_time(capsys, tmp_path, image_run, monkeypatch):
    monkeypatch.setattr(sample_cli, "CHUNK", 8)
    asked: list[int] = []
    real_call = ImageGenerationPipeline.__call__

    def counting(self, *args, **kwargs):
        asked.append(len(kwargs["seeds"]))
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(ImageGenerationPipeline, "__call__", counting)
    code, out, err = run(capsys, "sample", image_run, "--n", 20, "--out", f"{tmp_path / 'many'}/")
    assert code == 0, err
    assert asked == [8, 8, 4] and len(list((tmp_path / "many").glob("seed*.png"))) == 20
    code, _, err = run(capsys, "sample", image_run, "--n", 20, "--out", tmp_path / "grid.png")
    assert code == 0 and asked[3:] == [8, 8, 4], err  # a grid is filled chunk by chunk too


def test_outpaint_bands_beyond_memory_are_refused_before_any_work(capsys, tmp_path, inpaint_run, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GANFORGE_MEMORY_LIMIT", str(256 * 2**20))
    image = write_pngs(tmp_path / "in", n=1) / "in0.png"
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "inpaint", inpaint_run["run"], image, "--outpaint", "20000,20000,20000,20000",
                       "--out", tmp_path / "o.png")
    one_error(code, err, "40012x40012", "narrower --outpaint")
    assert snapshot(tmp_path) == before


def test_an_export_asking_for_huge_widths_fails_before_allocating(capsys, tmp_path, image_run):
    code, _, err = run(capsys, "export", image_run, "--out", tmp_path / "exp")
    assert code == 0, err
    config = json.loads((tmp_path / "exp" / "config.json").read_text())
    config["components"]["generator"]["kwargs"]["width"] = 1 << 20  # about 274 GB of weights if built
    (tmp_path / "exp" / "config.json").write_text(json.dumps(config))
    code, _, err = run(capsys, "sample", tmp_path / "exp", "--n", 1, "--out", tmp_path / "s.png")
    one_error(code, err, "weights do not fit")


# ------------------------------------------------------------------------------- never overwrite inputs
@pytest.mark.parametrize("command", ["translate", "upscale"])
def test_out_equal_to_or_holding_the_inputs_is_refused(capsys, tmp_path, translation_runs, sr_run, command):
    model = translation_runs["pix2pix"] if command == "translate" else sr_run
    inputs = write_pngs(tmp_path / "in")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, command, model, inputs, "--out", inputs)
    one_error(code, err, "is the input")
    code, _, err = run(capsys, command, model, inputs / "in0.png", "--out", inputs)
    one_error(code, err, "contains the input")
    assert snapshot(tmp_path) == before


def test_upscale_of_one_file_onto_itself_is_refused(capsys, tmp_path, sr_run):
    image = write_pngs(tmp_path / "in", n=1) / "in0.png"
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "upscale", sr_run, image, "--out", image)
    one_error(code, err, "is the input")
    assert snapshot(tmp_path) == before


def test_a_folder_of_the_users_files_needs_overwrite_and_ours_does_not(capsys, tmp_path, translation_runs):
    inputs = write_pngs(tmp_path / "in")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "in0.png").write_bytes(b"the user's own file")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "translate", translation_runs["pix2pix"], inputs, "--out", theirs)
    one_error(code, err, "did not make", "--overwrite")
    assert snapshot(tmp_path) == before
    code, _, err = run(capsys, "translate", translation_runs["pix2pix"], inputs, "--out", theirs, "--overwrite")
    assert code == 0 and Image.open(theirs / "in0.png").size == (12, 12), err
    assert not (theirs / OUTPUT_MARKER).exists()  # a folder written into by --overwrite stays the user's
    code, _, err = run(capsys, "translate", translation_runs["pix2pix"], inputs, "--out", tmp_path / "ours")
    assert code == 0 and (tmp_path / "ours" / OUTPUT_MARKER).is_file(), err
    code, _, err = run(capsys, "translate", translation_runs["pix2pix"], inputs, "--out", tmp_path / "ours")
    assert code == 0, err  # a rerun into the folder it made


def test_a_file_the_project_did_not_write_is_not_replaced(capsys, tmp_path, image_run):
    theirs = tmp_path / "photo.png"
    Image.new("RGB", (5, 5), "red").save(theirs)
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "sample", image_run, "--n", 4, "--out", theirs)
    one_error(code, err, "not written by ganforge", "--overwrite")
    assert snapshot(tmp_path) == before
    code, _, err = run(capsys, "sample", image_run, "--n", 4, "--out", tmp_path / "grid.png")
    assert code == 0, err
    code, _, err = run(capsys, "sample", image_run, "--n", 4, "--seed", 1, "--out", tmp_path / "grid.png")
    assert code == 0, err  # our own grid is replaced without asking
    code, _, err = run(capsys, "sample", image_run, "--n", 4, "--out", theirs, "--overwrite")
    assert code == 0 and Image.open(theirs).size != (5, 5), err


def test_export_keeps_a_users_folder_and_leaves_no_temp_behind(capsys, tmp_path, image_run):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text('{"my": "settings"}')
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "export", image_run, "--out", folder)
    one_error(code, err, "other than a ganforge export", "--overwrite")
    code, _, err = run(capsys, "export", image_run, "--out", tmp_path / "afile")
    one_error(code, err, "is a file")
    assert snapshot(tmp_path) == before and not list(tmp_path.glob(".*tmp*"))
    code, _, err = run(capsys, "export", image_run, "--out", tmp_path / "exp")
    code2, _, err2 = run(capsys, "export", image_run, "--out", tmp_path / "exp")  # over an earlier export
    assert code == code2 == 0, err + err2


# --------------------------------------------------------------------------------- one-line errors
def test_inpaint_output_errors_are_one_line(capsys, tmp_path, inpaint_run):  # noqa: F811
    image = write_pngs(tmp_path / "in", n=1) / "in0.png"
    (tmp_path / "adir").mkdir()
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "inpaint", inpaint_run["run"], image, "--outpaint", "4,4,4,4", "--out", tmp_path / "x.xyz")
    one_error(code, err, "--out must be an image file")
    code, _, err = run(capsys, "inpaint", inpaint_run["run"], image, "--outpaint", "4,4,4,4", "--out", tmp_path / "adir")
    one_error(code, err, "is a folder")
    code, _, err = run(capsys, "inpaint", inpaint_run["run"], image, "--outpaint", "4,4,4,4", "--out", image)
    one_error(code, err, "is the input")
    assert snapshot(tmp_path) == before


def test_outpainting_a_one_pixel_image_works(capsys, tmp_path, inpaint_run):  # noqa: F811
    Image.new("RGB", (1, 1), "blue").save(tmp_path / "dot.png")
    code, out, err = run(capsys, "inpaint", inpaint_run["run"], tmp_path / "dot.png", "--outpaint", "8,8,8,8",
                         "--out", tmp_path / "big.png", "--no-watermark")
    assert code == 0, err
    big = np.asarray(Image.open(tmp_path / "big.png"))
    assert big.shape == (17, 17, 3) and tuple(big[8, 8]) == (0, 0, 255)


def test_sample_seed_and_truncation_are_checked_up_front(capsys, tmp_path, image_run):
    code, _, err = run(capsys, "sample", image_run, "--seed", 2**63, "--out", tmp_path / "x.png")
    one_error(code, err, "--seed")
    code, _, err = run(capsys, "sample", image_run, "--truncation", "nan", "--out", tmp_path / "x.png")
    one_error(code, err, "--truncation")
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------- folders with bad files
@pytest.mark.parametrize("command", ["translate", "upscale"])
def test_bad_files_in_a_folder_are_skipped_and_counted_unless_strict(capsys, caplog, tmp_path, translation_runs,
                                                                      sr_run, command):
    model = translation_runs["pix2pix"] if command == "translate" else sr_run
    inputs = write_pngs(tmp_path / "in")
    (inputs / "broken.png").write_bytes(b"not a png")
    code, out, err = run(capsys, command, model, inputs, "--out", tmp_path / "out")
    assert code == 0 and out.startswith("3 images"), err
    assert "skipped 1 of 4 inputs" in caplog.text and "broken.png" in caplog.text
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["in0.png", "in1.png", "in2.png"]
    code, _, err = run(capsys, command, model, inputs, "--out", tmp_path / "strict", "--strict")
    one_error(code, err, "broken.png")


def test_eval_of_folders_with_bad_files_skips_them_and_names_no_missing_option(capsys, caplog, tmp_path, monkeypatch):
    monkeypatch.setattr("ganforge.metrics.compute.get_extractor", lambda *a, **k: PoolFeatures())
    real, fake = write_pngs(tmp_path / "real", n=6), write_pngs(tmp_path / "fake", n=6)
    (real / "bad.png").write_bytes(b"junk")
    code, out, err = run(capsys, "eval", "--real", real, "--fake", fake, "--json")
    assert code == 0, err
    assert "skipped 1 of 7 images" in caplog.text and "--strict" not in caplog.text + err


# ----------------------------------------------------------------------------------------------- training
def test_networks_too_wide_for_memory_are_refused_before_building(capsys, tmp_path):
    code, _, err = run(capsys, "train", "image", "--model", "stylegan2", "--data", "digits", "--resolution", 16,
                       "--width", 1_000_000, "--kimg", 0.01, "--runs-dir", tmp_path)
    one_error(code, err, "parameters", "smaller --width")
    assert not any(tmp_path.iterdir())


def test_a_run_name_naming_a_folder_of_the_users_files_is_refused(capsys, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "train", "image", "--data", "digits", "--resolution", 16, "--width", 4, "--kimg", 0.01,
                       "--runs-dir", tmp_path, "--name", "mine")
    one_error(code, err, "not a ganforge run")
    assert snapshot(tmp_path) == before
