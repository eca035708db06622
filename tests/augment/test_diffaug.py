"""DiffAugment: shapes, differentiability, what each policy does, and training with it."""

from __future__ import annotations

import pytest
import torch
from tests.conftest import TINY

import ganforge
from ganforge.augment import AUGMENTS, DiffAugment
from ganforge.augment.diffaug import cutout, translate
from ganforge.errors import ConfigError


def test_policies_keep_shape_and_pass_gradients():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = DiffAugment()(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_content_and_fills_with_zero():
    torch.manual_seed(1)
    x = torch.ones(8, 1, 16, 16)
    y = translate(x)
    zero_rows = (y == 0).all(dim=3).sum() + (y == 0).all(dim=2).sum()
    assert zero_rows > 0 and ((y == 0) | (y == 1)).all()  # whole pixels moved, border zero


def test_cutout_zeros_a_square_of_half_the_size():
    torch.manual_seed(2)
    y = cutout(torch.ones(16, 1, 16, 16))
    zeros = (y == 0).flatten(1).sum(1)
    assert (zeros > 0).all() and (zeros <= 81).all()  # at most a 9x9 square (8 + 1 around the centre)


def test_shape_policy_keeps_every_colour():
    torch.manual_seed(4)
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    y = AUGMENTS.get("diffaug-shape")()(x)
    assert ((y == 0) | torch.isin(y, x)).all()  # pixels moved or cut out, never recoloured
    z = DiffAugment()(x)
    assert not ((z == 0) | torch.isin(z, x)).all()  # the full policy recolours


def test_same_seed_same_augmentation():
    x = torch.randn(2, 3, 8, 8)
    torch.manual_seed(3)
    a = DiffAugment()(x)
    torch.manual_seed(3)
    assert torch.equal(a, DiffAugment()(x))


def test_unknown_augmentation_is_an_error():
    with pytest.raises(ConfigError, match="unknown augmentation 'ada2'"):
        AUGMENTS.get("ada2")


def test_training_with_diffaugment(tmp_path):
    result = ganforge.train(**TINY, kimg=0.5, augment="diffaug", r1_gamma=1.0, r1_interval=2, out=str(tmp_path), name="da")
    assert result.status == "finished"
