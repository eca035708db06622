"""Inversion by optimisation and SeFa edits: a generator's own image is found again, directions are orthonormal and
move the image, the CLI writes marked files and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli.main import main
from ganforge.editing.directions import edited, parse_direction, sefa_directions
from ganforge.editing.inversion import invert, load_latent, save_latent, space_of
from ganforge.errors import GanforgeError

TINY = dict(task="image", data="digits", resolution=16, batch=8, width=8, z_dim=16, tick_kimg=0.008,
            sample_every_kimg=1.0, checkpoint_every_kimg=1.0, grid_size=4, ema_kimg=0.0, augment="none")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    root = tmp_path_factory.mktemp("editing")  # a tiny StyleGAN2, and the shipped DCGAN (a tiny one draws nothing)
    return {"stylegan2": ganforge.train(model="stylegan2", kimg=0.064, out=str(root), name="sg2", **TINY).run_dir,
            "dcgan": "zoo:mnist-32"}


@pytest.mark.parametrize("model", ["stylegan2", "dcgan"])
def test_a_generated_image_is_found_again(runs: dict[str, Path | str], model: str) -> None:
    pipe = ganforge.load(runs[model])
    target = pipe(seeds=[7], output_type="np", watermark=False)[0]
    result = invert(pipe, target, steps=150, perceptual_weight=0.0, lr=0.05)
    assert result.space == ("w+" if model == "stylegan2" else "z") == space_of(pipe.generator)
    assert result.reconstruction.shape == target.shape and result.losses[-1] <= result.losses[0]
    start = invert(pipe, target, steps=1, perceptual_weight=0.0).reconstruction
    if model == "stylegan2":  # from the average w: far from the target at first
        assert result.losses[-1] < 0.5 * result.losses[0]
        assert psnr(result.reconstruction, target) > psnr(start, target) + 3
    else:  # from the best of eight random starts
        assert psnr(result.reconstruction, target) > psnr(start, target) + 3


def test_the_perceptual_term_and_any_input_size(runs: dict[str, Path | str]) -> None:
    pipe = ganforge.load(runs["stylegan2"])
    photo = np.random.default_rng(0).integers(0, 256, (40, 30, 4), dtype=np.uint8)  # RGBA, another size
    result = invert(pipe, photo, steps=3, perceptual_weight=1.0)
    assert result.reconstruction.shape == (16, 16, 1) and len(result.losses) == 3
    with pytest.raises(GanforgeError, match="uint8"):
        invert(pipe, photo.astype(np.float32), steps=1)


def test_sefa_directions_are_orthonormal_and_move_the_image(runs: dict[str, Path | str]) -> None:
    for model in ("stylegan2", "dcgan"):
        pipe = ganforge.load(runs[model])
        d = sefa_directions(pipe.generator, 5)
        assert torch.allclose(d @ d.T, torch.eye(5), atol=1e-4), model
        latent = torch.randn(pipe.z_dim) if model == "dcgan" else pipe.generator.mapping.w_avg[None].repeat(
            pipe.generator.num_ws, 1)
        images = edited(pipe, latent, d[0], [0.0, 0.0, 4.0])
        assert torch.equal(images[0], images[1]) and (images[2] - images[0]).abs().mean() > 1e-3, model
    with pytest.raises(GanforgeError, match="sefa:K"):
        parse_direction("smile", pipe.generator)
    with pytest.raises(GanforgeError, match="directions"):
        parse_direction("sefa:999", pipe.generator)


def test_latents_round_trip_and_belong_to_their_model(runs: dict[str, Path | str], tmp_path: Path) -> None:
    pipe = ganforge.load(runs["stylegan2"])
    result = invert(pipe, pipe(seeds=[1], output_type="np", watermark=False)[0], steps=2)
    path = save_latent(result, pipe, tmp_path / "w.safetensors")
    latent, space = load_latent(path, pipe)
    assert space == "w+" and torch.equal(latent, result.latent)
    with pytest.raises(GanforgeError, match="another model"):
        load_latent(path, ganforge.load(runs["dcgan"]))


def test_invert_and_edit_commands(runs: dict[str, Path | str], tmp_path: Path) -> None:
    run = runs["stylegan2"]
    source = tmp_path / "digit.png"
    Image.fromarray(ganforge.load(run)(seeds=[3], output_type="np", watermark=False)[0][:, :, 0]).save(source)
    latent = tmp_path / "w.safetensors"  # its picture, w.png: digit.safetensors would write over the input
    assert main(["invert", str(run), str(source), "--out", str(latent), "--steps", "5"]) == 0
    with Image.open(latent.with_suffix(".png")) as im:
        assert im.size == (16, 16) and json.loads(im.text["ganforge"])["watermark"] == "on"
    assert main(["edit", str(run), "--latent", str(latent), "--direction", "sefa:0", "--out",
                 str(tmp_path / "e.png")]) == 0
    assert main(["edit", str(run), str(source), "--direction", "sefa:1", "--strength", "3", "--frames", "4",
                 "--steps", "3", "--out", str(tmp_path / "sweep.gif")]) == 0
    with Image.open(tmp_path / "sweep.gif") as gif:
        assert gif.n_frames == 4
    assert main(["invert", str(run), str(source), "--out", str(tmp_path / "x.npy")]) != 0
    assert main(["invert", str(run), str(source), "--out", str(tmp_path / "digit.safetensors")]) != 0  # digit.png!
    assert main(["invert", str(run), str(source), "--out", str(latent), "--method", "pti"]) != 0
    assert main(["edit", str(run), "--direction", "sefa:0", "--out", str(tmp_path / "n.png")]) != 0
    users = tmp_path / "mine.png"
    Image.new("L", (4, 4)).save(users)
    assert main(["edit", str(run), "--latent", str(latent), "--direction", "sefa:0", "--out", str(users)]) != 0
    assert Image.open(users).size == (4, 4)
