"""`ganforge eval RUN` and `ganforge upscale` for superres runs (a stub stands in for Inception)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from tests.metric_stubs import PoolFeatures
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.cli.main import main
from ganforge.data.superres import resolve_superres


@pytest.fixture(autouse=True)
def stub_inception(monkeypatch):
    monkeypatch.setattr("ganforge.tasks.superres.evaluate.get_extractor", lambda *a, **k: PoolFeatures())


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sr-eval")
    data = write_sr_folder(root / "imgs", n=30, size=48)
    ganforge.train(**dict(TINY_SR, resolution=24), data=str(data), kimg=0.008, out=str(root), name="run")
    return root / "run", data


def test_eval_json_on_the_held_out_images(capsys, sr_run):
    run, data = sr_run
    code = main(["eval", str(run), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    n = len(resolve_superres(str(data), 24, "test"))
    assert n == 3 and result["n"] == n and result["kid_subset"] == 2 and result["kid_subsets"] == 100  # at least 2
    assert (result["task"], result["scale"], result["shave"], result["resolution"]) == ("superres", 2, 2, 24)
    assert result["degradation"] == "bicubic" and result["split"] == "test" and result["data"] == str(data)
    keys = {"psnr_y", "ssim_y", "sharpness", f"fid{n}", f"kid{n}", f"kid{n}_std"}
    assert set(result["model"]) == keys == set(result["bicubic"]) and set(result["truth"]) == {"sharpness"}
    assert all(np.isfinite(v) for side in ("model", "bicubic") for v in result[side].values())
    assert 15 < result["bicubic"]["psnr_y"] < 60 and result["truth"]["sharpness"] > result["bicubic"]["sharpness"]


def test_eval_table(capsys, sr_run):
    assert main(["eval", str(sr_run[0]), "--n", "2"]) == 0
    out = capsys.readouterr().out
    assert "bicubic" in out and "psnr_y" in out and "n = 2" in out


def test_upscale_command_file_and_folder(capsys, tmp_path, sr_run):
    img = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (13, 17, 4), dtype=np.uint8)).save(img)
    assert main(["upscale", str(sr_run[0]), str(img), "--out", str(tmp_path / "big.png"), "--tile", "8",
                 "--tile-overlap", "2"]) == 0
    big = Image.open(tmp_path / "big.png")
    assert big.size == (34, 26) and big.mode == "RGBA"
    assert main(["upscale", str(sr_run[0]), str(img), "--out", str(tmp_path / "outdir")]) == 0
    assert Image.open(tmp_path / "outdir" / "in.png").size == (34, 26)
    capsys.readouterr()
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tiny)
    assert main(["upscale", str(sr_run[0]), str(tiny), "--out", str(tmp_path / "t.png")]) != 0
    assert "at least 2x2" in capsys.readouterr().err
