"""bf16 against fp32, network by network, at the shapes each task really trains on: one step's weight gradients
(and the discriminators' input gradients) must agree within a tolerance on any CPU, since bf16 autocast runs on
every CPU. The 3D layers are checked unpinned as well, to show the video networks avoid the shapes where
PyTorch's CPU bf16 weight gradients go wrong (2 frames under a temporal kernel of 3)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
import torch
from torch import nn

import ganforge.tasks  # noqa: F401  (registers tasks and models)
from ganforge.config import TrainConfig
from ganforge.engine.precision import (
    PROBE_TOLERANCE,
    PrecisionPolicy,
    attach_standalone_runtime,
    compare_step_gradients,
    keep_fp32,
    runs_in_fp32,
    worst_relative_error,
)
from ganforge.registry import TASKS
from ganforge.tasks.base import DataInfo

VIDEO_TOLERANCE = 0.25  # worst per-kernel relative error in bf16 of the fixed 3D networks (measured 0.05-0.21)
INPUT_TOLERANCE = 0.4  # image discriminators' input gradients in bf16 (measured: dcgan 0.05, stylegan2 0.27, r3gan 0.01)
N = 4  # clips or images per batch


def _image(c: int, r: int) -> torch.Tensor:
    return torch.rand(N, c, r, r) * 2 - 1


def _clip(t: int, c: int, r: int) -> torch.Tensor:
    return torch.rand(N, t, c, r, r) * 2 - 1


# (id, task settings, DataInfo fields, batch): every network family at its task's shapes, tiny widths.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = [
    ("dcgan", dict(task="image", model="dcgan", resolution=32, width=8, z_dim=16, cond=True),
     dict(channels=3, class_names=["a", "b"]), lambda: {"image": _image(3, 32), "label": torch.arange(N) % 2}),
    ("stylegan2", dict(task="image", model="stylegan2", resolution=32, width=8, z_dim=16),
     dict(channels=3), lambda: {"image": _image(3, 32)}),
    ("r3gan", dict(task="image", model="r3gan", resolution=32, width=8, z_dim=16),
     dict(channels=3), lambda: {"image": _image(3, 32)}),
    ("unet", dict(task="pix2pix", model="unet", resolution=32, width=8, d_layers=2), dict(channels=3, in_channels=3),
     lambda: {"A": _image(3, 32), "B": _image(3, 32)}),
    ("spade", dict(task="pix2pix", model="spade", resolution=32, width=8, d_layers=2), dict(channels=3, in_channels=1, num_labels=4),
     lambda: {"A": torch.randint(0, 4, (N, 32, 32)), "B": _image(3, 32)}),
    ("cyclegan", dict(task="cyclegan", model="resnet", resolution=32, width=8, d_layers=2), dict(channels=3, in_channels=3),
     lambda: {"A": _image(3, 32), "B": _image(3, 32)}),
    ("lama", dict(task="inpaint", model="lama", resolution=32, width=8, n_blocks=1), dict(channels=3),
     lambda: {"image": _image(3, 32)}),
    ("srresnet", dict(task="superres", model="srresnet", resolution=32, scale=4, width=8, n_blocks=2, pretrain_kimg=0.0),
     dict(channels=3), lambda: {"hr": _image(3, 32)}),
    ("rrdb", dict(task="superres", model="rrdb", resolution=32, scale=4, width=8, n_blocks=1, pretrain_kimg=0.0),
     dict(channels=3), lambda: {"hr": _image(3, 32)}),
    ("simvp-20f-64", dict(task="nextframe", model="simvp", resolution=64, frames=20, context_frames=10, width=4,
                          n_blocks=1, loss="adv", pretrain_kimg=0.0), dict(channels=1, frames=20),
     lambda: {"clip": _clip(20, 1, 64)}),
    ("vgan-16f-64", dict(task="video", model="vgan", resolution=64, frames=16, width=4, z_dim=8), dict(channels=3, frames=16),
     lambda: {"clip": _clip(16, 3, 64)}),
    ("vgan-resize-16f-32", dict(task="video", model="vgan", resolution=32, frames=16, width=4, z_dim=8, upsample="resize"),
     dict(channels=3, frames=16), lambda: {"clip": _clip(16, 3, 32)}),
]


def _input_gradient_error(net: nn.Module, x: torch.Tensor) -> float:
    """Relative error of d mean(net(x)^2) / dx in bf16 autocast against fp32."""
    x = x.detach().requires_grad_(True)
    grads = []
    for bf16 in (False, True):
        x.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        out.float().square().mean().backward()
        grads.append(x.grad.clone())
    return worst_relative_error([grads[1]], [grads[0]])


def _task(settings: dict[str, Any], info: dict[str, Any], pin: bool) -> Any:
    torch.manual_seed(0)
    cfg = TrainConfig(**dict(settings, data="digits", batch=N)).validate().for_dataset(100)
    data = DataInfo(name="synthetic", resolution=cfg.resolution, count=100, **info)
    task = TASKS.get(cfg.task)(cfg, data)
    attach_standalone_runtime(task, "bf16", pin)
    return task


@pytest.mark.parametrize(("settings", "info", "batch"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bf16_step_gradients_match_fp32_under_the_policy(settings, info, batch):
    """What `--precision auto` checks at a run's start, for every family: bf16 is kept for all of them."""
    task = _task(settings, info, pin=True)
    torch.manual_seed(1)
    result = compare_step_gradients(task, batch(), step=0)
    assert result.errors and result.agrees, result.errors
    assert result.tolerance == PROBE_TOLERANCE


VIDEO = [c for c in CASES if c[1]["task"] in ("nextframe", "video")] + [
    ("vgan-resize-16f-64", dict(task="video", model="vgan", resolution=64, frames=16, width=4, z_dim=8, upsample="resize"),
     dict(channels=3, frames=16), lambda: {"clip": _clip(16, 3, 64)}),
]


@pytest.mark.parametrize(("settings", "info", "batch"), [c[1:] for c in VIDEO], ids=[c[0] for c in VIDEO])
def test_video_networks_are_right_in_bf16_even_unpinned(settings, info, batch):
    """With no kernel longer than the frames it sees, the 3D layers' bf16 gradients are right at the real clip
    shapes (16 and 20 frames) without the fp32 pin: the networks before this change gave 0.48 to inf here."""
    task = _task(settings, info, pin=False)
    assert not any(runs_in_fp32(m) for net in task.networks.values() for m in net.modules())
    torch.manual_seed(1)
    result = compare_step_gradients(task, batch(), step=0)
    assert result.errors and max(result.errors.values()) < VIDEO_TOLERANCE, result.errors
    assert _input_gradient_error(task.networks["D"], batch()["clip"]) < VIDEO_TOLERANCE  # what G's step uses


@pytest.mark.parametrize(("model", "resolution"), [("dcgan", 32), ("stylegan2", 32), ("r3gan", 32)])
def test_image_discriminator_input_gradients_match_fp32(model, resolution):
    """R1/R2 penalise D's input gradient: in bf16 it must be the fp32 one."""
    task = _task(dict(task="image", model=model, resolution=resolution, width=8, z_dim=16), dict(channels=3), pin=True)
    assert _input_gradient_error(task.networks["D"], _image(3, resolution)) < INPUT_TOLERANCE


def test_policy_pins_3d_layers_on_the_cpu_and_describes_each_network():
    case = next(c for c in CASES if c[0] == "vgan-16f-64")
    task = _task(case[1], case[2], pin=False)
    policy = PrecisionPolicy("bf16", "test")
    policy.apply(task.networks, torch.device("cpu"))
    assert policy.pinned == ("Conv3d", "ConvTranspose3d")
    assert policy.networks["D"] == "fp32"  # every weight layer of the clip discriminator is 3D
    assert policy.networks["G"] == "bf16, fp32 in 5 of 10 layers (ConvTranspose3d)"  # the background is 2D
    keys = set(task.networks["D"].state_dict())
    copy = deepcopy(task.networks["D"])  # what the EMA does: the pin survives, the weights' names do not change
    assert set(copy.state_dict()) == keys and runs_in_fp32(next(m for m in copy.modules() if isinstance(m, nn.Conv3d)))
    fp32 = PrecisionPolicy("fp32", "test")
    fp32.apply(task.networks, torch.device("cpu"))
    assert fp32.networks == {"G": "fp32", "D": "fp32"}


def test_pinned_layer_runs_in_fp32_under_autocast_and_gives_fp32_out():
    conv = keep_fp32(nn.Conv3d(2, 3, 3, padding=1))
    x = torch.randn(1, 2, 4, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(x.bfloat16())
    assert out.dtype == torch.float32
    assert torch.allclose(out, nn.functional.conv3d(x.bfloat16().float(), conv.weight, conv.bias, padding=1), atol=1e-6)
