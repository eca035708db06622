"""Task text2image: DF-GAN's networks, the matching-aware penalty, training on a captioned folder (the loss falls,
resume is exact), the pipeline and `ganforge generate`, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from tests.gf_text2image import TINY, write_colour_folder

import ganforge
from ganforge.cli.main import main
from ganforge.errors import ConfigError, GanforgeError
from ganforge.losses.regularizers import matching_aware_penalty
from ganforge.nets.dfgan import DFGANDiscriminator, DFGANGenerator, TextAffine, level_widths
from ganforge.tasks.text2image.task import caption_draw


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("t2i")
    data = write_colour_folder(root / "squares")
    return ganforge.train(data=str(data), kimg=0.064, out=str(root), name="run", **TINY).run_dir


def test_networks_shapes_widths_and_starting_affines() -> None:
    assert level_widths(32, 64) == [256, 256, 128, 64, 32]  # 4, 8, 16, 32, 64 px: the paper's ngf * min(2^i, 8)
    G, D = DFGANGenerator(32, 3, z_dim=10, width=4), DFGANDiscriminator(32, 3, width=4)
    z, s = torch.randn(3, 10), torch.nn.functional.normalize(torch.randn(3, 384), dim=1)
    x = G(z, s)
    assert x.shape == (3, 3, 32, 32) and x.abs().max() < 10  # linear output, near [-1, 1] at the start
    assert D.features(x).shape == (3, 32, 4, 4) and D(x, s).shape == (3,)
    affine = TextAffine(7, 5)  # gamma 1 and beta 0 at the start: the identity
    h = torch.randn(2, 5, 3, 3)
    assert torch.equal(affine(h, torch.randn(2, 7)), h)
    with pytest.raises(ValueError, match="power-of-two"):
        DFGANGenerator(24)


def test_the_sentence_changes_the_image_and_the_judgement() -> None:
    torch.manual_seed(0)
    G, D = DFGANGenerator(16, 3, z_dim=8, width=4), DFGANDiscriminator(16, 3, width=4)
    for p in G.parameters():  # move the affines off their identity start
        torch.nn.init.normal_(p, std=0.2)
    z = torch.randn(1, 8).repeat(2, 1)
    s = torch.nn.functional.normalize(torch.randn(2, 384), dim=1)
    x = G(z, s)
    assert not torch.allclose(x[0], x[1])
    torch.nn.init.normal_(D.head[0].weight, std=0.2)
    assert not torch.allclose(D(x[:1].repeat(2, 1, 1, 1), s)[0], D(x[:1].repeat(2, 1, 1, 1), s)[1])


def test_matching_aware_penalty_is_the_norm_over_image_and_sentence() -> None:
    w_x, w_s = torch.randn(1, 3, 4, 4), torch.randn(1, 6)

    def d(x, s):  # a linear D: its gradient is (w_x, w_s) everywhere
        return (x * w_x).flatten(1).sum(1) + (s * w_s).sum(1)

    norm = torch.cat([w_x.flatten(), w_s.flatten()]).norm()
    gp = matching_aware_penalty(d, torch.randn(5, 3, 4, 4), torch.randn(5, 6), power=6)
    assert torch.allclose(gp, norm**6, rtol=1e-4)


def test_caption_draws_are_a_function_of_seed_step_and_position() -> None:
    whole = caption_draw(3, 7, 8, 0, 1)
    halves = torch.stack([caption_draw(3, 7, 8, r, 2) for r in (0, 1)], dim=1).flatten()
    assert torch.equal(whole, halves) and not torch.equal(whole, caption_draw(3, 8, 8, 0, 1))
    assert ((0 <= whole) & (whole < 1)).all()


def test_training_writes_a_run_whose_losses_are_finite(colour_run: Path) -> None:
    rows = [json.loads(line) for line in (colour_run / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(np.isfinite(rows[-1][k]) for k in ("Loss/D/adv", "Loss/D/mismatch", "Loss/D/magp", "Loss/G/adv"))
    config = json.loads((colour_run / "config.json").read_text())
    assert config["task"] == "text2image" and config["loss"] == "hinge" and config["augment"] == "diffaug-shape"
    assert config["contrastive_hard"] == 8 and config["hard_negatives"] == 0.5  # new runs read the skin tones


def test_d_learns_to_tell_matched_from_mismatched_pairs(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "squares")
    run = ganforge.train(data=str(data), kimg=0.8, out=str(tmp_path), name="r", hard_negatives=0.0,  # DF-GAN's pairs
                         contrastive_hard=0, **{**TINY, "tick_kimg": 0.08, "augment": "none"}).run_dir
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    gaps = [r["D/real"] - r["D/mismatch"] for r in rows]  # real images scored above the same images mis-captioned
    assert abs(gaps[0]) < 0.02 and np.mean(gaps[-5:]) > 0.05, gaps


def test_the_contrastive_term_learns_which_caption_is_whose(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "squares")
    run = ganforge.train(data=str(data), kimg=0.24, out=str(tmp_path), name="c", contrastive_weight=1.0,
                         **{**TINY, "batch": 8, "tick_kimg": 0.024, "augment": "none"}).run_dir
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    d_terms = [r["Loss/D/contrastive"] for r in rows]
    assert all(np.isfinite(r["Loss/G/contrastive"]) for r in rows)
    assert np.mean(d_terms[-3:]) < 0.5 * d_terms[0], d_terms  # real squares matched to their colour's caption
    assert "image_embed.weight" in load_file(str(sorted((run / "checkpoints").glob("kimg-*"))[-1] / "D.safetensors"))


def test_resume_is_exact_captions_and_hard_mismatches_included(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "squares")
    hard = dict(hard_negatives=0.5, contrastive_weight=1.0, contrastive_hard=2)
    ganforge.train(data=str(data), kimg=0.032, out=str(tmp_path), name="straight", **hard, **TINY)
    ganforge.train(data=str(data), kimg=0.016, out=str(tmp_path), name="split", **hard, **TINY)
    assert ganforge.train(resume=tmp_path / "split", kimg=0.032).steps == 8
    a, b = (sorted((tmp_path / n / "checkpoints").glob("kimg-*"))[-1] for n in ("straight", "split"))
    for net in ("G", "D"):
        wa, wb = load_file(str(a / f"{net}.safetensors")), load_file(str(b / f"{net}.safetensors"))
        assert all(torch.equal(wa[k], wb[k]) for k in wa), net
    # the hard negatives are what D learned from: without either kind the same seed trains another D
    plain = ganforge.train(data=str(data), kimg=0.032, out=str(tmp_path), name="plain", hard_negatives=0.0,
                           contrastive_hard=0, **TINY).run_dir
    wa, wp = (load_file(str(sorted((r / "checkpoints").glob("kimg-*"))[-1] / "D.safetensors"))
              for r in (tmp_path / "straight", plain))
    assert not all(torch.equal(wa[k], wp[k]) for k in wa)


def test_the_pipeline_draws_per_sentence_and_per_seed(colour_run: Path) -> None:
    pipe = ganforge.load(colour_run)
    two = pipe(["a red square", "a blue square"], seed=5, output_type="np", watermark=False)
    assert two.shape == (2, 16, 16, 3) and two.dtype == np.uint8
    again = pipe(["a blue square"], seeds=[6], output_type="np", watermark=False)
    assert np.array_equal(two[1], again[0])  # an image depends on its sentence and seed, not on its batch
    grid = pipe("a red square", n=3, output_type="pt", watermark=False)
    assert grid.shape == (3, 3, 16, 16) and grid.min() >= -1 and grid.max() <= 1
    for bad in ([], [""], ["x" * 2000]):
        with pytest.raises(GanforgeError):
            pipe(bad)
    with pytest.raises(GanforgeError, match="one seed per image"):
        pipe(["a red square"], n=2, seeds=[1])


def test_generate_writes_a_marked_grid_and_a_folder(colour_run: Path, tmp_path: Path) -> None:
    grid = tmp_path / "squares.png"
    assert main(["generate", str(colour_run), "a red square", "a green square", "--n", "3", "--out", str(grid)]) == 0
    with Image.open(grid) as im:
        assert im.size[0] > im.size[1]  # two rows of three
        meta = json.loads(im.text.get("ganforge", "{}"))
    assert meta["settings"]["prompts"] == ["a red square", "a green square"] and meta["watermark"] == "on"
    users = tmp_path / "mine.png"
    Image.new("RGB", (4, 4)).save(users)
    assert main(["generate", str(colour_run), "a red square", "--out", str(users)]) != 0  # a user's file is kept
    assert Image.open(users).size == (4, 4)
    folder = tmp_path / "out/"
    assert main(["generate", str(colour_run), "a blue square", "--n", "2", "--out", str(folder) + "/"]) == 0
    assert sorted(p.name for p in folder.glob("*.png")) == ["prompt000-seed000000.png", "prompt000-seed000001.png"]
    assert main(["sample", str(colour_run), "--out", str(tmp_path / "s.png")]) != 0  # sample points to generate


def test_config_errors(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "squares")
    with pytest.raises(ConfigError, match="loss"):
        ganforge.train(data=str(data), kimg=0.004, out=str(tmp_path), name="a", **{**TINY, "loss": "wgan-gp"})
    with pytest.raises(ConfigError, match="power-of-two"):
        ganforge.train(data=str(data), kimg=0.004, out=str(tmp_path), name="b", **{**TINY, "resolution": 24})
    with pytest.raises(ConfigError, match="contrastive"):
        ganforge.train(data=str(data), kimg=0.004, out=str(tmp_path), name="e", contrastive_hard=9, **TINY)
    plan = ganforge.train(data=str(data), kimg=0.004, out=str(tmp_path), name="f", contrastive_weight=0.0,
                          dry_run=True, **TINY)
    assert plan["config"]["contrastive_hard"] == 0  # no contrastive term to add its default negatives to
    with pytest.raises(GanforgeError, match="no captions"):
        ganforge.train(data="digits", kimg=0.004, out=str(tmp_path), name="c", **{**TINY, "resolution": 8})


def test_eval_of_a_folder_run_reports_fid_and_kid_per_split(colour_run: Path, capsys) -> None:
    assert main(["eval", str(colour_run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    held = result["held_out"]["model"]
    assert result["task"] == "text2image" and held["n"] == 2 and "kid2" in "".join(held) and "train" in result


def test_alignment_scores_name_ceiling_floor_tone_and_category(colour_run: Path, tmp_path: Path, monkeypatch) -> None:
    from ganforge.data.captions import CaptionedImages
    from ganforge.metrics import alignment as al
    from ganforge.tasks.text2image.evaluate import alignment_scores

    categories = ["Animals & Nature", "Objects"]
    path = al.save_evaluator(al.AlignmentNet(categories=2), tmp_path / "e.safetensors", {"categories": categories})
    monkeypatch.setattr(al, "EVALUATOR_FILE", path)
    monkeypatch.setattr(al.load_evaluator, "__defaults__", (path,))
    n = 120
    items = [{"name": f"THING {i}", "category": categories[i % 2], "skin_tone": "dark skin tone" if i % 3 else None}
             for i in range(n)]
    captions = [[f"thing {i}", f"{categories[i % 2].lower().replace('&', 'and')}: thing {i}"] for i in range(n)]
    images = np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    captioned = CaptionedImages(images, captions, "test", {}, items)
    pipe = ganforge.load(colour_run)
    texts = [c[0] for c in captions]
    scores = alignment_scores(pipe, captioned, texts, pipe(texts, seeds=list(range(n)), output_type="np"), seed=0)
    for side in ("model", "real"):
        s = scores[side]
        assert 0 <= s["r_precision"] <= 1 and 0 <= s["r_precision_shuffled"] <= 1
        assert 0 <= s["tone_accuracy"] <= 1 and 0 <= s["category_accuracy"] <= 1 and s["n_tone_named"] == 80


def test_onnx_export_draws_what_pytorch_draws(colour_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "onnx"
    assert main(["export", str(colour_run), "--out", str(folder), "--format", "onnx"]) == 0
    graph = json.loads((folder / "config.json").read_text())["onnx"]["graphs"]["generator"]
    assert [i["name"] for i in graph["inputs"]] == ["z", "sentence"]
    a, b = ganforge.load(colour_run), ganforge.load(folder, runtime="onnx")
    for texts in (["a red square"], ["a red square", "a blue square", "a green square"]):
        x = a(texts, seed=2, output_type="pt", watermark=False)
        y = b(texts, seed=2, output_type="pt", watermark=False)
        assert (x - y).abs().max() <= graph["tolerance"]
    assert main(["generate", str(folder), "a red square", "--runtime", "onnx", "--out", str(tmp_path / "g.png")]) == 0
