"""Training throughput of DCGAN: ganforge's task step vs a plain PyTorch loop of the same networks.

Prints one JSON object: images/s and achieved GFLOP/s per resolution for both loops, their ratio,
and this machine's float32 matrix-multiply rate as the ceiling. Run by hand:

    .venv/bin/python benchmarks/train_throughput.py [--resolutions 32 64] [--batch 64] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from timing import matmul_gflops, measure, step_flops

from ganforge.config import TrainConfig
from ganforge.engine.ema import EMA
from ganforge.engine.runtime import Runtime
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.tasks import DataInfo
from ganforge.tasks.image.task import ImageTask


class PlainLoop:
    """The textbook loop (PyTorch's DCGAN example): BCE, default Adam, NCHW, .item() each step."""

    def __init__(self, resolution: int, device: torch.device, z_dim: int = 100, width: int = 64) -> None:
        torch.manual_seed(0)
        self.G = DCGANGenerator(resolution, 3, z_dim, width).to(device)
        self.D = DCGANDiscriminator(resolution, 3, width).to(device)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optD = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.z_dim, self.device = z_dim, device

    def step(self, real: torch.Tensor) -> None:
        n = real.shape[0]
        ones = torch.ones(n, device=self.device)
        zeros = torch.zeros(n, device=self.device)
        self.D.zero_grad()
        err_real = F.binary_cross_entropy_with_logits(self.D(real), ones)
        err_real.backward()
        fake = self.G(torch.randn(n, self.z_dim, device=self.device))
        err_fake = F.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros)
        err_fake.backward()
        self.optD.step()
        self.G.zero_grad()
        err_g = F.binary_cross_entropy_with_logits(self.D(fake), ones)
        err_g.backward()
        self.optG.step()
        _ = (err_real + err_fake).item(), err_g.item()


class GanforgeLoop:
    """ganforge's ImageTask step with the trainer's settings (channels_last, fused Adam, EMA)."""

    def __init__(self, resolution: int, device: torch.device, batch: int, precision: str = "fp32",
                 compile: bool = False) -> None:
        torch.manual_seed(0)
        cfg = TrainConfig(resolution=resolution, batch=batch, augment="none").validate()  # as the plain loop
        self.task = ImageTask(cfg, DataInfo("bench", resolution, 3, 1000))
        self.channels_last = not compile  # as the trainer: compile picks its own layouts
        for net in self.task.networks.values():
            net.to(device=device, memory_format=torch.channels_last if self.channels_last else torch.preserve_format)
        self.runtime = Runtime(Accelerator(cpu=device.type == "cpu"), precision)
        if compile:
            for net in self.task.networks.values():
                net.compile()
        self.task.attach(self.runtime)
        self.runtime.register_optimizers(self.task.optimizers)
        self.ema = EMA(self.task.G, cfg.ema_kimg, cfg.ema_rampup)
        self.i = 0

    def step(self, real: torch.Tensor) -> None:
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        self.task.train_step({"image": real}, self.i)
        self.i += 1
        self.ema.update(real.shape[0], self.i * real.shape[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement time per loop and resolution")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two loops this many times")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], help="ganforge loops to run: fp32 bf16 fp16")
    parser.add_argument("--compile", action="store_true", help="also run the ganforge loop under torch.compile")
    args = parser.parse_args()
    device = torch.device(args.device)
    result = {
        "benchmark": "train_throughput", "device": str(device), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "batch": args.batch, "matmul_fp32_gflops": round(matmul_gflops(device), 1),
        "matmul_bf16_gflops": round(matmul_gflops(device, dtype=torch.bfloat16), 1), "resolutions": {},
    }
    for res in args.resolutions:
        real = torch.rand(args.batch, 3, res, res, device=device) * 2 - 1
        loops = {"plain": PlainLoop(res, device)}
        for precision in args.precisions:
            suffix = "" if precision == "fp32" else f"_{precision}"
            loops[f"ganforge{suffix}"] = GanforgeLoop(res, device, args.batch, precision)
            if args.compile:
                loops[f"ganforge{suffix}_compile"] = GanforgeLoop(res, device, args.batch, precision, compile=True)
        flops: dict[str, int] = {}
        for name, loop in loops.items():  # compiled loops do the same work as their eager twin
            flops[name] = flops[name.removesuffix("_compile")] if name.endswith("_compile") else step_flops(loop, real)
        rates: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(args.rounds):  # interleave so machine noise hits both alike
            for name, loop in loops.items():
                rates[name] += measure(loop, real, args.seconds / args.rounds, device)
        entry = {}
        for name in loops:
            ips = statistics.median(rates[name])
            entry[name] = {
                "images_per_sec": round(ips, 1),
                "gflop_per_step": round(flops[name] / 1e9, 3),
                "achieved_gflops": round(flops[name] / args.batch * ips / 1e9, 1),
            }
        entry["speedup_vs_plain"] = {
            name: round(entry[name]["images_per_sec"] / entry["plain"]["images_per_sec"], 3)
            for name in loops if name != "plain"
        }
        result["resolutions"][str(res)] = entry
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
