"""Training throughput of pix2pix: ganforge's task step vs a plain PyTorch loop of the same networks.

Both loops train the same U-Net generator and PatchGAN discriminator (built by the pix2pix task's own
builder, same seed) with Adam (2e-4, betas 0.5/0.999) on BCE + 100 x L1, on the same random batch. The
plain loop follows the pix2pix authors' `optimize_parameters`: one G forward, D's phase on the detached
output with the D loss halved, D's requires_grad off in G's phase; NCHW, default Adam, `.item()` of both
losses every step. ganforge's loop is `Pix2PixTask.train_step` with the trainer's settings (channels_last,
fused Adam, no per-step syncs, EMA update). After --warmup untimed steps each loop runs --steps timed steps,
split over --rounds rounds that alternate the loops so machine noise hits both alike; the figure is the
median of per-step images/s. Prints one JSON object. Run by hand:

    .venv/bin/python benchmarks/translation_throughput.py [--resolution 128] [--batches 1 16] [--steps 20]
    .venv/bin/python benchmarks/translation_throughput.py --precisions fp32 bf16
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from functools import partial

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from timing import matmul_gflops, measure_steps, step_flops

from ganforge.config import TrainConfig
from ganforge.engine.ema import EMA
from ganforge.engine.runtime import Runtime
from ganforge.tasks import DataInfo
from ganforge.tasks.pix2pix.task import PIX2PIX_MODELS, Pix2PixTask


def bench_config(resolution: int, batch: int, width: int | None) -> tuple[TrainConfig, DataInfo]:
    cfg = TrainConfig(task="pix2pix", resolution=resolution, batch=batch,
                      **({"width": width} if width else {})).validate()
    return cfg, DataInfo("bench", resolution, 3, 1000, in_channels=3)


class PlainLoop:
    """pix2pix as its authors' code trains it, in plain PyTorch (see the module doc)."""

    def __init__(self, cfg: TrainConfig, data: DataInfo, device: torch.device) -> None:
        torch.manual_seed(0)
        G, _, D = PIX2PIX_MODELS["unet"](cfg, data, data.in_channels)
        self.G, self.D = G.to(device), D.to(device)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optD = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.l1_weight = cfg.l1_weight

    def step(self, a: torch.Tensor, b: torch.Tensor) -> None:
        fake = self.G(a)
        self.D.requires_grad_(True)
        self.optD.zero_grad()
        pred_fake = self.D(torch.cat([a, fake.detach()], 1))
        pred_real = self.D(torch.cat([a, b], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
                        + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real)))
        loss_d.backward()
        self.optD.step()
        self.D.requires_grad_(False)
        self.optG.zero_grad()
        pred = self.D(torch.cat([a, fake], 1))
        loss_g = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred)) + self.l1_weight * F.l1_loss(fake, b)
        loss_g.backward()
        self.optG.step()
        _ = loss_d.item(), loss_g.item()


class GanforgeLoop:
    """ganforge's Pix2PixTask step as the trainer runs it (channels_last, fused Adam, EMA)."""

    def __init__(self, cfg: TrainConfig, data: DataInfo, device: torch.device, precision: str = "fp32") -> None:
        torch.manual_seed(0)
        self.task = Pix2PixTask(cfg, data)
        for net in self.task.networks.values():
            net.to(device=device, memory_format=torch.channels_last)
        self.runtime = Runtime(Accelerator(cpu=device.type == "cpu"), precision)
        self.task.attach(self.runtime)
        self.runtime.register_optimizers(self.task.optimizers)
        self.ema = EMA(self.task.G, cfg.ema_kimg, cfg.ema_rampup) if cfg.ema_kimg > 0 else None
        self.i = 0

    def step(self, a: torch.Tensor, b: torch.Tensor) -> None:
        a = a.contiguous(memory_format=torch.channels_last)
        b = b.contiguous(memory_format=torch.channels_last)
        self.task.train_step({"A": a, "B": b}, self.i)
        self.i += 1
        if self.ema is not None:
            self.ema.update(a.shape[0], self.i * a.shape[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--width", type=int, default=None, help="U-Net/PatchGAN width [default: the task's]")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per loop and round")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per loop, over all rounds")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the loops this many times")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], help="ganforge loops to run: fp32 bf16 fp16")
    parser.add_argument("--no-flops", action="store_true", help="skip counting FLOPs (one extra step per loop)")
    args = parser.parse_args()
    device = torch.device(args.device)
    result = {
        "benchmark": "translation_throughput", "task": "pix2pix", "model": "unet", "device": str(device),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "resolution": args.resolution, "warmup": args.warmup, "steps": args.steps, "rounds": args.rounds,
        "matmul_fp32_gflops": round(matmul_gflops(device), 1), "batches": {},
    }
    per_round = max(1, args.steps // args.rounds)
    for batch in args.batches:
        cfg, data = bench_config(args.resolution, batch, args.width)
        g = torch.Generator().manual_seed(0)
        a = (torch.rand(batch, 3, args.resolution, args.resolution, generator=g) * 2 - 1).to(device)
        b = (torch.rand(batch, 3, args.resolution, args.resolution, generator=g) * 2 - 1).to(device)
        loops = {"plain": PlainLoop(cfg, data, device)}
        for precision in args.precisions:
            loops["ganforge" + ("" if precision == "fp32" else f"_{precision}")] = GanforgeLoop(cfg, data, device,
                                                                                               precision)
        flops = {} if args.no_flops else {name: step_flops(loop, a, b) for name, loop in loops.items()}
        rates: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(args.rounds):
            for name, loop in loops.items():
                rates[name] += measure_steps(partial(loop.step, a, b), batch, per_round, device, args.warmup)
        entry: dict = {"width": cfg.width}
        for name in loops:
            ips = statistics.median(rates[name])
            entry[name] = {"images_per_sec": round(ips, 2), "timed_steps": len(rates[name])}
            if flops:
                entry[name]["gflop_per_step"] = round(flops[name] / 1e9, 3)
                entry[name]["achieved_gflops"] = round(flops[name] / batch * ips / 1e9, 1)
        entry["speedup_vs_plain"] = {
            name: round(entry[name]["images_per_sec"] / entry["plain"]["images_per_sec"], 3)
            for name in loops if name != "plain"
        }
        result["batches"][str(batch)] = entry
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
