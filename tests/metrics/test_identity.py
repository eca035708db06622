"""The face-identity classifier (issue 32): it learns drawn faces, its weights round-trip, the shipped file loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.metrics import identity


def test_it_learns_to_tell_faces_apart_and_its_weights_round_trip(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    faces = torch.rand(5, 3, 4, 4, generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3)  # five patterns
    labels = torch.arange(5).repeat(40)
    crops = (faces[labels] + 0.05 * torch.randn(200, 3, 32, 32, generator=g)).clamp(0, 1)
    net = identity.train_identity_classifier(crops, labels, classes=5, epochs=4)
    p = identity.identity_probabilities(crops, net)
    assert p.shape == (200, 5) and float((p.argmax(1) == labels).float().mean()) > 0.95
    uint8 = (crops[:3] * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert torch.allclose(identity.identity_probabilities(uint8, net), p[:3], atol=0.02)  # uint8 HWC reads alike
    path = identity.save_identity_classifier(net, tmp_path / "id.safetensors", {"classes": 5})
    loaded, meta = identity.load_identity_classifier(path)
    assert meta["classes"] == "5" and torch.allclose(identity.identity_probabilities(crops[:4], loaded), p[:4],
                                                      atol=0.02)  # float16 weights
    with pytest.raises(GanforgeError, match="train_identity_classifier.py"):
        identity.load_identity_classifier(tmp_path / "missing.safetensors")


def test_the_shipped_classifier_loads_and_names_118_faces() -> None:
    net, meta = identity.load_identity_classifier()
    assert meta["classes"] == "118" and float(meta["fresh_accuracy"]) > 0.9
    out = identity.identity_probabilities(np.zeros((2, 32, 32, 3), np.uint8), net)
    assert out.shape == (2, 118)
