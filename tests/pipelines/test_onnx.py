"""ONNX export and ONNX Runtime pipelines: the same outputs as PyTorch (per task's tolerance, two batch sizes, two
image sizes for the convolutional ones), the watermark and its model hash kept, the CLI, and one-line errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)
from tests.gf_video import video_run  # noqa: F401  (session fixture)
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.cli.main import main
from ganforge.errors import GanforgeError
from ganforge.pipelines import onnx as gonnx

TINY = dict(task="image", data="digits", resolution=16, batch=8, width=8, z_dim=16, tick_kimg=0.008,
            sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0)


def exported(run: Path | str, out: Path, fmt: str = "both") -> Path:
    assert main(["export", str(run), "--out", str(out), "--format", fmt]) == 0
    return out


def tolerance(folder: Path) -> float:
    graphs = json.loads((folder / "config.json").read_text())["onnx"]["graphs"]
    return max(g["tolerance"] for g in graphs.values())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx-runs")
    out = {}
    out["stylegan2"] = ganforge.train(model="stylegan2", kimg=0.016, out=str(root), name="sg2", **TINY).run_dir
    out["cond"] = ganforge.train(model="dcgan", cond=True, augment="none", kimg=0.016, out=str(root), name="cond",
                                 **TINY).run_dir
    data = write_sr_folder(root / "sr-data")
    out["superres"] = ganforge.train(data=str(data), kimg=0.016, out=str(root), name="sr", **TINY_SR).run_dir
    return out


def test_a_zoo_generator_matches_pytorch_at_two_batch_sizes_marks_included(tmp_path: Path) -> None:
    folder = exported("zoo:emoji-32", tmp_path / "emoji")
    config = json.loads((folder / "config.json").read_text())["onnx"]
    graph = config["graphs"]["generator"]
    assert graph["file"] == "generator.onnx" and graph["opset"] == gonnx.OPSET
    assert [i["name"] for i in graph["inputs"]] == ["z"] and graph["inputs"][0]["shape"][0] == "batch"
    torch_pipe, onnx_pipe = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    assert onnx_pipe.runtime == "onnx" and onnx_pipe.model_hash == torch_pipe.model_hash == config["model_hash"]
    for n in (1, 5):
        a = torch_pipe(n=n, seed=3, output_type="pt", watermark=False)
        b = onnx_pipe(n=n, seed=3, output_type="pt", watermark=False)
        assert a.shape == b.shape and (a - b).abs().max() <= tolerance(folder)
    assert np.array_equal(torch_pipe(n=2, output_type="np"), onnx_pipe(n=2, output_type="np"))  # marked alike


def test_an_onnx_only_export_holds_no_weights_and_still_runs(tmp_path: Path) -> None:
    folder = exported("zoo:mnist-32", tmp_path / "mnist", "onnx")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "generator.onnx"]
    images = ganforge.load(folder, runtime="onnx")(n=3, output_type="np")
    assert images.shape == (3, 32, 32, 1) and images.dtype == np.uint8
    with pytest.raises(GanforgeError):  # without weights, PyTorch has nothing to run
        ganforge.load(folder)
    assert main(["sample", str(folder), "--runtime", "onnx", "--n", "4", "--out", str(tmp_path / "g.png")]) == 0


def test_stylegan2_with_truncation_and_a_conditional_dcgan(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = exported(runs["stylegan2"], tmp_path / "sg2")
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    for n, psi in ((1, 1.0), (3, 0.6)):
        x = a(n=n, seed=1, truncation=psi, output_type="pt", watermark=False)
        y = b(n=n, seed=1, truncation=psi, output_type="pt", watermark=False)
        assert (x - y).abs().max() <= tolerance(folder)
    folder = exported(runs["cond"], tmp_path / "cond")
    inputs = [i["name"] for i in json.loads((folder / "config.json").read_text())["onnx"]["graphs"]["generator"]["inputs"]]
    assert inputs == ["z", "label"]
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    for labels in ([7], [0, 1, 2, 3, 4, 5]):
        x = a(n=len(labels), class_label=labels, output_type="pt", watermark=False)
        y = b(n=len(labels), class_label=labels, output_type="pt", watermark=False)
        assert (x - y).abs().max() <= tolerance(folder)


def test_an_upscaler_matches_at_two_sizes_and_batches_and_upscale_runs_it(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = exported(runs["superres"], tmp_path / "sr")
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    rng = np.random.default_rng(0)
    for n, h, w in ((1, 12, 20), (3, 24, 16)):
        x = torch.from_numpy(rng.uniform(-1, 1, (n, 3, h, w)).astype(np.float32))
        assert (a.upscale_tensor(x) - b.upscale_tensor(x)).abs().max() <= tolerance(folder)
    from PIL import Image

    Image.fromarray(rng.integers(0, 256, (30, 26, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    assert main(["upscale", str(folder), str(tmp_path / "in.png"), "--runtime", "onnx", "--out",
                 str(tmp_path / "up.png")]) == 0
    assert Image.open(tmp_path / "up.png").size == (52, 60)


def test_one_line_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    plain = exported("zoo:emoji-32", tmp_path / "plain", "safetensors")
    with pytest.raises(GanforgeError, match="no ONNX graph") as info:
        ganforge.load(plain, runtime="onnx")
    assert "\n" not in str(info.value)
    with pytest.raises(GanforgeError, match="runtime must be"):
        ganforge.load(plain, runtime="tensorrt")
    assert main(["export", "zoo:emoji-32", "--out", str(tmp_path / "x"), "--format", "tflite"]) != 0
    assert main(["export", "zoo:emoji-32", "--out", str(tmp_path / "y"), "--format", "onnx",
                 "--with-discriminator"]) != 0
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(GanforgeError, match=r"ganforge\[onnx\]"):
        gonnx.require_onnx("ONNX export")


def test_translators_match_at_two_sizes_both_cyclegan_directions(translation_runs: dict[str, Path],
                                                                 tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name in ("pix2pix", "cyclegan"):
        folder = exported(translation_runs[name], tmp_path / name)
        a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
        stride = int(a.config.get("stride", 1))
        directions = ("AtoB",) if name == "pix2pix" else ("AtoB", "BtoA")
        for direction in directions:
            for n, side in ((1, 16), (3, 16 + 2 * stride)):
                x = torch.from_numpy(rng.uniform(-1, 1, (n, 3, side, side)).astype(np.float32))
                diff = (a.translate_tensor(x, direction) - b.translate_tensor(x, direction)).abs().max()
                assert diff <= tolerance(folder), (name, direction, side, float(diff))
        image = rng.integers(0, 256, (21, 19, 3), dtype=np.uint8)  # any size: padded to the stride, cropped back
        assert np.array_equal(a(image, output_type="np", watermark=False).shape,
                              b(image, output_type="np", watermark=False).shape)


def test_video_generators_and_predictors_match(video_run: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    from tests.nextframe_helpers import TINY_NF
    from tests.nextframe_helpers import write_video_folder as write_clips

    folder = exported(video_run["run"], tmp_path / "vgan")
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    for n in (1, 3):
        x = a.streams(n=n, seed=4, output_type="pt", watermark=False)
        y = b.streams(n=n, seed=4, output_type="pt", watermark=False)
        for key in ("video", "foreground", "mask", "background"):
            assert x[key].shape == y[key].shape and (x[key] - y[key]).abs().max() <= tolerance(folder), key
    data = write_clips(tmp_path / "clips")
    run = ganforge.train(data=str(data), kimg=0.016, out=str(tmp_path), name="nf", **TINY_NF).run_dir
    folder = exported(run, tmp_path / "nf-export")
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    rng = np.random.default_rng(2)
    for n, side, frames in ((1, 16, 2), (3, 24, 5)):  # one pass; then autoregressive beyond the native 2, larger
        context = torch.from_numpy(rng.uniform(-1, 1, (n, 2, a.channels, side, side)).astype(np.float32))
        diff = (a.predict_tensor(context, frames) - b.predict_tensor(context, frames)).abs().max()
        assert diff <= 3 * tolerance(folder), (frames, float(diff))


def test_an_inpainter_matches_inside_the_holes_and_keeps_known_pixels(inpaint_run: dict[str, Path],  # noqa: F811
                                                                      tmp_path: Path) -> None:
    folder = exported(inpaint_run["run"], tmp_path / "inpaint")
    a, b = ganforge.load(folder), ganforge.load(folder, runtime="onnx")
    rng = np.random.default_rng(3)
    stride = int(a.config.get("stride", 1))
    for n, side in ((1, 2 * stride), (2, 3 * stride)):
        images = rng.integers(0, 256, (n, side, side, a.channels), dtype=np.uint8)
        masks = rng.random((n, side, side)) > 0.6
        x, y = a.inpaint_batch(images, masks), b.inpaint_batch(images, masks)
        assert np.array_equal(y[~masks], images[~masks]) and np.abs(x.astype(int) - y.astype(int)).max() <= 1
