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
    with pytest.raises(GanforgeError, match="ganspace:K"):
        parse_direction("ganspace:x", pipe.generator)
    with pytest.raises(GanforgeError, match="directions"):
        parse_direction("sefa:999", pipe.generator)


def test_latents_round_trip_and_belong_to_their_model(runs: dict[str, Path | str], tmp_path: Path) -> None:
    pipe = ganforge.load(runs["stylegan2"])
    result = invert(pipe, pipe(seeds=[1], output_type="np", watermark=False)[0], steps=2)
    path = save_latent(result, pipe, tmp_path / "w.safetensors")
    latent, space, generator = load_latent(path, pipe)
    assert space == "w+" and torch.equal(latent, result.latent) and generator is pipe.generator
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
    assert main(["invert", str(run), str(source), "--out", str(latent), "--method", "magic"]) != 0
    assert main(["edit", str(run), "--direction", "sefa:0", "--out", str(tmp_path / "n.png")]) != 0
    users = tmp_path / "mine.png"
    Image.new("L", (4, 4)).save(users)
    assert main(["edit", str(run), "--latent", str(latent), "--direction", "sefa:0", "--out", str(users)]) != 0
    assert Image.open(users).size == (4, 4)


def test_pti_tunes_a_copy_that_travels_with_the_latent(runs: dict[str, Path | str], tmp_path: Path) -> None:
    pipe = ganforge.load(runs["stylegan2"])
    from ganforge.data.split import resolve_split_images

    target = resolve_split_images("digits", 16, split="test")[1][0]  # a held-out digit, not the generator's own
    own = {k: v.clone() for k, v in pipe.generator.state_dict().items()}
    plain = invert(pipe, target, steps=30, perceptual_weight=0.0)
    tuned = invert(pipe, target, steps=30, perceptual_weight=0.0, method="pti", tune_steps=60)
    assert len(tuned.losses) == 90 and tuned.generator is not None and tuned.generator is not pipe.generator
    assert psnr(tuned.reconstruction, target) > psnr(plain.reconstruction, target) + 3
    assert all(torch.equal(v, pipe.generator.state_dict()[k]) for k, v in own.items())  # the model is untouched
    path = save_latent(tuned, pipe, tmp_path / "pti.safetensors")
    latent, space, generator = load_latent(path, pipe)
    assert generator is not pipe.generator
    redrawn = edited(pipe, latent, torch.zeros_like(latent[0]), [0.0], generator)
    from ganforge.imaging import tensor_to_uint8

    assert np.array_equal(tensor_to_uint8(redrawn)[0], tuned.reconstruction)
    assert load_latent(save_latent(plain, pipe, tmp_path / "w.safetensors"), pipe)[2] is pipe.generator


def test_strokes_pull_the_painted_pixels_and_keep_the_rest(runs: dict[str, Path | str]) -> None:
    from ganforge.editing.inversion import follow_strokes

    pipe = ganforge.load(runs["stylegan2"])
    latent = pipe.generator.mapping.w_avg[None].repeat(pipe.generator.num_ws, 1)
    before = edited(pipe, latent, torch.zeros_like(latent[0]), [0.0])[0, 0]  # [16, 16] in [-1, 1]
    strokes = np.zeros((32, 32, 4), dtype=np.uint8)  # any size: scaled to the model's
    strokes[8:16, 8:24] = (255, 255, 255, 255)  # paint white over the top middle
    result = follow_strokes(pipe, latent, strokes, steps=60, lr=0.05)
    after = torch.from_numpy(result.reconstruction[:, :, 0].astype(np.float32) / 127.5 - 1)
    painted = (after[4:8, 4:12] - 1).abs().mean()
    assert painted < 0.8 * (before[4:8, 4:12] - 1).abs().mean() and result.losses[-1] < result.losses[0]
    with pytest.raises(GanforgeError, match="RGBA"):
        follow_strokes(pipe, latent, strokes[:, :, :3], steps=1)
    with pytest.raises(GanforgeError, match="no painted"):
        follow_strokes(pipe, latent, np.zeros((8, 8, 4), dtype=np.uint8), steps=1)


def test_a_linear_boundary_is_found_and_edits_land_where_asked() -> None:
    from ganforge.editing.directions import linear_boundary, move_to

    g = torch.Generator().manual_seed(0)
    latents = torch.randn(800, 6, generator=g) * 2 + 1
    truth = torch.nn.functional.normalize(torch.tensor([1.0, -2.0, 0.5, 0, 0, 0]), dim=0)
    labels = ((latents @ truth - 0.7) > 0).numpy().astype(np.float32)
    boundary = linear_boundary(latents, labels, "synthetic")
    assert float(boundary.normal @ truth) > 0.98 and boundary.accuracy > 0.95
    moved = move_to(latents[0], boundary, [-1.0, 2.0])
    assert torch.allclose(boundary.distance(moved), torch.tensor([-1.0, 2.0]) * boundary.scale, atol=1e-4)
    layers = move_to(latents[:3], boundary, [1.5])[0]  # a w+ latent: every layer lands on its own
    assert torch.allclose(boundary.distance(layers), torch.full((3,), 1.5 * boundary.scale), atol=1e-4)
    other = linear_boundary(latents, (latents[:, 0] > 1).numpy().astype(np.float32), "other")
    kept = boundary.conditioned([other])
    assert abs(float(kept.direction @ other.normal)) < 1e-5
    moved = move_to(latents[0], kept, [2.0])  # still lands at the asked distance, along the conditioned direction
    assert torch.allclose(boundary.distance(moved), torch.tensor([2.0 * boundary.scale]), atol=1e-4)
    with pytest.raises(GanforgeError, match="at least 10"):
        linear_boundary(latents, np.zeros(800, dtype=np.float32), "never")


def test_attribute_edits_move_the_classifier_towards_the_target() -> None:
    from ganforge.editing.attributes import classify, parse_attribute
    from ganforge.editing.directions import resolve_direction, sample_latents
    from ganforge.imaging import tensor_to_uint8

    pipe = ganforge.load("zoo:emoji-32")
    boundary = resolve_direction("skin-tone:dark", pipe, samples=600)
    assert boundary.accuracy > 0.7 and min(boundary.counts) >= 10
    latents, images = sample_latents(pipe.generator, 32, seed=5)
    after = np.stack([tensor_to_uint8(edited(pipe, z, boundary, [3.0]))[0] for z in latents])
    dark = parse_attribute("skin-tone:dark").index
    assert classify(after, "skin-tone")[:, dark].mean() > classify(images, "skin-tone")[:, dark].mean() + 0.2
    darker = resolve_direction("skin-tone", pipe, samples=600)  # the issue's `--direction skin-tone`: ordered
    assert darker.attribute == "skin-tone:darker" and min(darker.counts) >= 10
    tones = [classify(np.stack([tensor_to_uint8(edited(pipe, z, darker, [s]))[0] for z in latents[:16]]), "skin-tone")
             for s in (-3.0, 3.0)]
    assert tones[1][:, 4:].sum(1).mean() > tones[0][:, 4:].sum(1).mean() + 0.2  # medium-dark and dark
    with pytest.raises(GanforgeError, match="skin-tone:dark"):
        parse_attribute("skin-tone:purple")
    with pytest.raises(GanforgeError, match="unknown attribute"):
        parse_attribute("smile:yes")
    with pytest.raises(GanforgeError, match="not a value to edit towards"):
        resolve_direction("skin-tone:none", pipe, samples=100)
    with pytest.raises(GanforgeError, match="not to SeFa"):
        resolve_direction("sefa:0", pipe, keep=["category:flags"])


def test_the_shipped_digit_and_gender_classifiers_read_held_out_images() -> None:
    from ganforge.data.captions import resolve_captioned
    from ganforge.editing.attributes import classify, parse_attribute
    from ganforge.metrics.gender import GENDERS, gender_label
    from ganforge.tasks.attribute.data import attribute_set

    digits = attribute_set("mnist", "class", 32, "test")
    read = classify(digits.sources[:300], "digit").argmax(1)
    assert (read == digits.source_labels[:300]).mean() > 0.95
    emoji = resolve_captioned("emoji", 64, split="test")
    labels = np.array([gender_label(item["name"]) for item in emoji.items])
    probabilities = classify(emoji.images, "gender")
    assert probabilities.shape == (len(emoji.images), len(GENDERS))
    people = labels > 0
    assert people.sum() > 50 and (probabilities.argmax(1)[people] == labels[people]).mean() > 0.6  # chance: 1/3
    assert [gender_label(n) for n in ("WOMAN RAISING HAND", "OLDER MAN", "PERSON GOLFING", "RED APPLE",
                                      "FAMILY: MAN, WOMAN, GIRL", "BABY")] == [2, 1, 3, 0, -1, -1]
    assert parse_attribute("gender:woman").index == 2 and parse_attribute("digit:7").index == 7
    with pytest.raises(GanforgeError, match="digit:0, digit:1"):
        parse_attribute("digit:12")


def test_a_digit_boundary_turns_a_dcgans_digits_into_the_target(runs: dict[str, Path | str]) -> None:
    from ganforge.editing.attributes import classify
    from ganforge.editing.directions import fit_boundaries, resolve_direction, sample_latents
    from ganforge.imaging import tensor_to_uint8

    pipe = ganforge.load(runs["dcgan"])
    boundary = resolve_direction("digit:7", pipe, samples=600)
    assert boundary.accuracy > 0.8 and min(boundary.counts) >= 10 and boundary.normal.shape == (pipe.generator.z_dim,)
    latents, images = sample_latents(pipe.generator, 32, seed=5)
    after = np.stack([tensor_to_uint8(edited(pipe, z, boundary, [3.0]))[0] for z in latents])
    assert classify(after, "digit")[:, 7].mean() > classify(images, "digit")[:, 7].mean() + 0.3
    with pytest.raises(GanforgeError, match="colour"):
        resolve_direction("gender:woman", pipe, samples=100)  # a grey model: the gender probe reads colour emoji
    emoji = ganforge.load("zoo:emoji-32")
    with pytest.raises(GanforgeError, match="not a value to edit towards"):
        resolve_direction("gender:none", emoji, samples=100)
    man = resolve_direction("gender:man", emoji, samples=600, keep=["gender:none"])  # none as a condition: allowed
    _, drawn = fit_boundaries(emoji, ["gender:man"], samples=600, conditions=["gender:none"])
    assert drawn.attribute == "gender:none" and abs(float(man.direction @ drawn.normal)) < 1e-5


def test_pti_strokes_and_attribute_commands(runs: dict[str, Path | str], tmp_path: Path) -> None:
    run = runs["stylegan2"]
    source = tmp_path / "digit.png"
    Image.fromarray(ganforge.load(run)(seeds=[3], output_type="np", watermark=False)[0][:, :, 0]).save(source)
    latent = tmp_path / "pti.safetensors"
    assert main(["invert", str(run), str(source), "--out", str(latent), "--method", "pti", "--steps", "3",
                 "--tune-steps", "3"]) == 0
    assert main(["edit", str(run), "--latent", str(latent), "--direction", "sefa:0", "--out",
                 str(tmp_path / "e.png")]) == 0
    paint = tmp_path / "paint.png"
    strokes = np.zeros((16, 16, 4), dtype=np.uint8)
    strokes[2:5, 2:5] = 255
    Image.fromarray(strokes, "RGBA").save(paint)
    assert main(["edit", str(run), "--latent", str(latent), "--strokes", str(paint), "--steps", "3", "--out",
                 str(tmp_path / "painted.png")]) == 0
    with Image.open(tmp_path / "painted.png") as im:
        assert json.loads(im.text["ganforge"])["settings"]["strokes"] == "paint.png"
    assert main(["edit", str(run), "--latent", str(latent), "--strokes", str(paint), "--direction", "sefa:0",
                 "--out", str(tmp_path / "both.png")]) != 0
    assert main(["edit", str(run), "--latent", str(latent), "--strokes", str(paint), "--out",
                 str(tmp_path / "s.gif")]) != 0
    assert main(["invert", str(run), str(source), "--out", str(tmp_path / "x.safetensors"), "--method",
                 "encoder"]) != 0  # no --encoder
    emoji = tmp_path / "emoji.png"
    Image.fromarray(ganforge.load("zoo:emoji-32")(seeds=[2], output_type="np", watermark=False)[0]).save(emoji)
    assert main(["edit", "zoo:emoji-32", str(emoji), "--direction", "skin-tone:medium", "--samples", "400",
                 "--keep", "category:people-body", "--steps", "3", "--out", str(tmp_path / "tone.gif"),
                 "--frames", "3"]) == 0
    assert main(["edit", str(run), "--latent", str(latent), "--direction", "skin-tone:dark", "--samples", "60",
                 "--out", str(tmp_path / "grey.png")]) != 0  # a grey model: the emoji classifier reads colour
    digit = tmp_path / "digit32.png"
    Image.fromarray(ganforge.load("zoo:mnist-32")(seeds=[1], output_type="np", watermark=False)[0][:, :, 0]).save(digit)
    assert main(["edit", "zoo:mnist-32", str(digit), "--direction", "digit:3", "--samples", "300", "--steps", "3",
                 "--out", str(tmp_path / "three.png")]) == 0


def test_stroke_style_reads_slant_and_thickness() -> None:
    from ganforge.editing.scores import stroke_style

    digits = np.zeros((4, 32, 32), np.uint8)
    digits[0, 4:28, 14:16] = 255  # upright, 2 px
    digits[1, 4:28, 12:18] = 255  # upright, 6 px
    for r in range(4, 28):
        digits[2, r, 26 - r // 2 : 28 - r // 2] = 255  # top further right: leans right
    style = stroke_style(digits[..., None])
    assert abs(style["slant"][0]) < 1e-9 and style["slant"][2] > 0.3
    assert 1.5 < style["thickness"][0] < 3 and style["thickness"][1] > 2.5 * style["thickness"][0]
    assert np.isnan(style["slant"][3]) and np.isnan(style["thickness"][3])  # no ink
    colour = stroke_style(np.repeat(digits[..., None], 3, axis=3))  # grey digits drawn in RGB read the same
    assert np.allclose(colour["slant"][:3], style["slant"][:3]) and np.allclose(colour["thickness"][:3], style["thickness"][:3])


def test_ganspace_directions_are_the_principal_axes_of_w(runs: dict[str, Path | str]) -> None:
    from ganforge.editing.directions import ganspace_directions

    generator = ganforge.load(runs["stylegan2"]).generator
    vectors, spread = ganspace_directions(generator, 4, samples=2000)
    assert torch.allclose(vectors @ vectors.T, torch.eye(4), atol=1e-4) and (spread[:-1] >= spread[1:]).all()
    w = generator.mapping(torch.randn(2000, generator.z_dim, generator=torch.Generator().manual_seed(1)), None)
    along = (w - w.mean(0)) @ vectors[0]
    assert abs(float(along.std()) / float(spread[0]) - 1) < 0.1  # fresh samples spread alike along the first axis
    first, scale = ganspace_directions(generator, 1)  # parse_direction's: GANSPACE_SAMPLES of them
    assert torch.allclose(parse_direction("ganspace:0", generator), first[0] * scale[0], atol=1e-5)
