"""The EMA generator's standing batch-norm statistics: its own, averaged over fixed inputs, not the live G's."""

from __future__ import annotations

import torch
from safetensors.torch import load_file
from torch import nn

import ganforge
from ganforge.engine.ema import EMA, batch_norms, recompute_batch_norm


def test_recompute_averages_batches_equally_and_restores_the_layers():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=0.1)).eval()
    batches = [torch.randn(16, 3) + i for i in range(4)]
    recompute_batch_norm(net, lambda i: net(batches[i]), 4)
    bn = net[1]
    with torch.no_grad():
        means = torch.stack([net[0](b).mean(0) for b in batches])
        variances = torch.stack([net[0](b).var(0, unbiased=True) for b in batches])
    assert torch.allclose(bn.running_mean, means.mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, variances.mean(0), atol=1e-4)
    assert bn.momentum == 0.1 and not net.training  # as it was
    assert batch_norms(nn.Linear(2, 2)) == []


def test_ema_shadow_is_saved_with_its_own_statistics(tmp_path, tiny):
    """The old trainer copied G's live running statistics into the averaged weights; now they are recomputed
    for the shadow's weights, from the task's fixed inputs, before every grid, evaluation and checkpoint."""
    result = ganforge.train(**tiny, kimg=0.5, precision="fp32", out=str(tmp_path), name="r")
    g = load_file(str(result.checkpoint / "G.safetensors"))
    ema = load_file(str(result.checkpoint / "G_ema.safetensors"))
    keys = [k for k in g if k.endswith("running_mean")]
    assert keys and all(torch.isfinite(ema[k]).all() for k in keys)
    assert any(not torch.allclose(g[k], ema[k]) for k in keys)
    # Recomputing from the same fixed inputs gives the same statistics: sampling, evaluation and export agree.
    trainer_shadow = result.task.networks["G"]  # the task's G is live; rebuild the shadow from the checkpoint
    shadow = EMA(trainer_shadow, 10.0).shadow
    shadow.load_state_dict(ema)
    before = {k: v.clone() for k, v in shadow.state_dict().items() if k.endswith("running_mean")}
    fixed = result.task.fixed_inputs(32, 987654321)
    recompute_batch_norm(shadow, lambda i: result.task.visuals({"G_ema": shadow, "G": shadow},
                                                               result.task.fixed_inputs(32, 987654321 + i)), 8)
    after = {k: v for k, v in shadow.state_dict().items() if k.endswith("running_mean")}
    assert fixed["z"].shape[0] == 32 and all(torch.allclose(before[k], after[k], atol=1e-6) for k in before)
