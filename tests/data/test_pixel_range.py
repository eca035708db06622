"""Stored uint8 pixels and the networks' [-1, 1] floats convert both ways without drift, in any layout."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.imaging import tensor_to_uint8, to_signed, to_unsigned, uint8_to_tensor


def test_every_byte_survives_the_round_trip():
    pixels = torch.arange(256, dtype=torch.uint8).reshape(1, 4, 4, 4, 4)  # a 5-D clip-shaped tensor
    signed = to_signed(pixels)
    assert signed.min() == -1 and signed.max() == 1
    assert torch.equal(to_unsigned(signed), pixels)


def test_out_of_range_values_clamp_and_round():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0, 2 / 255 - 1 + 0.003])
    assert to_unsigned(x).tolist() == [0, 0, 128, 255, 255, 1]  # 0 -> 127.5 rounds to even 128


def test_nhwc_array_helpers_agree_with_the_layout_free_ones():
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 3, 3), dtype=np.uint8)  # [N, H, W, C]
    t = uint8_to_tensor(images)
    assert t.shape == (2, 3, 5, 3)
    assert np.array_equal(tensor_to_uint8(t), images)


def test_read_only_arrays_convert_without_a_warning(recwarn):
    images = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    images.flags.writeable = False
    assert uint8_to_tensor(images).shape == (1, 3, 2, 2)
    assert not [w for w in recwarn if "not writable" in str(w.message)]
