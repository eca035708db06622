"""The alignment evaluator's parts: InfoNCE, R-precision against closed-form cases, tone labels, weights' round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError
from ganforge.losses.contrastive import contrastive_loss
from ganforge.metrics import alignment as al


def unit(n: int, d: int = 384, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_r_precision_is_one_for_perfect_embeddings_and_about_one_in_a_hundred_by_chance() -> None:
    pool = unit(600)
    groups = np.arange(600)
    own = pool[:200]
    assert al.r_precision(own, own, pool, groups[:200], groups) == 1.0
    chance = al.r_precision(unit(200, seed=1), own, pool, groups[:200], groups)
    assert chance < 0.05
    with pytest.raises(GanforgeError, match="99 captions"):
        al.r_precision(own[:1], own[:1], pool[:50], groups[:1], groups[:50])


def test_r_precision_never_draws_the_images_own_group() -> None:
    pool = unit(300)
    groups = np.array([0] * 150 + list(range(1, 151)))  # half the pool shares image 0's group, and copies its caption
    pool[:150] = pool[0]
    assert al.r_precision(pool[:1], pool[:1] * 0.99, pool, groups[:1], groups) == 1.0


def test_contrastive_loss_falls_as_pairs_align_and_masks_off_diagonal_matches() -> None:
    text = torch.from_numpy(unit(8))
    scale = torch.tensor(float(np.log(1 / 0.07)))
    aligned = contrastive_loss(text, text, scale)
    noisy = contrastive_loss(F.normalize(text + torch.randn_like(text), dim=1), text, scale)
    assert aligned < 0.01 < noisy
    twice = torch.cat([text[:4], text[:4]])  # each pair twice: without the mask, the copies count as negatives
    same = torch.eye(4, dtype=torch.bool).repeat(2, 2)
    assert contrastive_loss(twice, twice, scale, same) < 0.01 < contrastive_loss(twice, twice, scale)


def test_hard_negatives_join_each_images_row_alone() -> None:
    text = torch.from_numpy(unit(8))
    scale = torch.tensor(float(np.log(1 / 0.07)))
    base = contrastive_loss(text, text, scale)
    near = F.normalize(text + 0.3 * torch.from_numpy(unit(8, seed=1)), dim=1)[:, None]  # [8, 1, D]: a close caption
    assert contrastive_loss(text, text, scale, extra_text=near) > base + 0.1  # a close negative costs
    far = -text[:, None]  # opposite captions: nothing to confuse, the batch's term again
    assert torch.allclose(contrastive_loss(text, text, scale, extra_text=far), base, atol=1e-4)
    off = torch.zeros(8, 1, dtype=torch.bool)  # none valid: the batch's term again
    assert torch.allclose(contrastive_loss(text, text, scale, extra_text=near, extra_valid=off), base)
    # the extras join the images' rows only: the captions' term (each caption against the batch's images) is unchanged
    images = F.normalize(text + 0.5 * torch.from_numpy(unit(8, seed=2)), dim=1)
    by_image = F.cross_entropy(scale.exp() * torch.cat([images @ text.T, (images[:, None] * near).sum(-1)], 1),
                               torch.arange(8))
    by_caption = F.cross_entropy(scale.exp() * text @ images.T, torch.arange(8))
    assert torch.allclose(contrastive_loss(images, text, scale, extra_text=near), 0.5 * (by_image + by_caption))


def test_tone_labels() -> None:
    assert al.tone_label(None) == 0 and al.tone_label("medium skin tone") == 3
    assert al.tone_label("light skin tone, dark skin tone") == -1


def test_heads_shapes_any_size_and_round_trip(tmp_path) -> None:
    net = al.AlignmentNet(categories=9).eval()
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    out = al.evaluate_images(net, images)
    assert out["embedding"].shape == (3, 384) and np.allclose(np.linalg.norm(out["embedding"], axis=1), 1, atol=1e-5)
    assert out["category"].shape == (3,) and out["tone"].max() < len(al.TONES)
    path = al.save_evaluator(net, tmp_path / "a.safetensors", {"categories": [str(i) for i in range(9)]})
    loaded, meta = al.load_evaluator(path)
    assert np.allclose(al.evaluate_images(loaded, images)["embedding"], out["embedding"], atol=1e-3)  # stored as fp16
    with pytest.raises(GanforgeError, match="train_alignment.py"):
        al.load_evaluator(tmp_path / "missing.safetensors")


def test_the_shipped_evaluator_loads_with_its_categories() -> None:
    import json

    net, meta = al.load_evaluator()
    assert len(json.loads(meta["categories"])) == 9 and "held_out" in meta
    assert all(p.dtype == torch.float32 for p in net.parameters())
