"""Checkpoint state without pickles: optimizer state round-trips through JSON + safetensors."""

from __future__ import annotations

import torch

from ganforge.engine.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from ganforge.engine.serialize import join_tensors, split_tensors


def test_optimizer_state_round_trip(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), betas=(0.5, 0.99))
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors: dict[str, torch.Tensor] = {}
    restored = join_tensors(split_tensors(opt.state_dict(), tensors), tensors)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(restored)
    assert fresh.param_groups[0]["betas"] == (0.5, 0.99)
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_save_is_atomic_and_pruned(tmp_path):
    net = torch.nn.Linear(2, 2)
    for images in (1000, 2000, 3000):
        save_checkpoint(tmp_path, images, {"G": net}, {"kimg": images / 1000, "rng": torch.get_rng_state()}, keep=2)
    (tmp_path / ".tmp-kimg-00004.000-999").mkdir()  # an interrupted save
    assert [p.name for p in list_checkpoints(tmp_path)] == ["kimg-00002.000", "kimg-00003.000"]
    weights, state = load_checkpoint(tmp_path / "kimg-00003.000")
    assert torch.equal(weights["G"]["weight"], net.weight.detach())
    assert torch.equal(state["rng"], torch.get_rng_state()) and state["kimg"] == 3.0
    assert not any(p.suffix in (".pt", ".pkl", ".pth") for p in tmp_path.rglob("*"))


def test_weights_files_get_the_users_usual_mode(tmp_path):
    # safetensors alone writes 0600: an export shared with a group, or served, would be unreadable to others.
    import os
    import stat

    from ganforge.engine.checkpoint import export_model

    umask = os.umask(0o027)
    os.umask(umask)
    net = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path / "ckpt", 1000, {"G": net}, {"rng": torch.get_rng_state()}, keep=1)
    export_model(tmp_path / "export", {"pipeline": "image", "components": {}}, {"generator": net.state_dict()})
    files = [*(tmp_path / "ckpt").rglob("*.safetensors"), tmp_path / "export" / "model.safetensors"]
    assert len(files) == 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
