"""Timing helpers shared by the throughput benchmarks (train_throughput.py, translation_throughput.py).

Run the benchmarks as scripts (`python benchmarks/X.py`): the script's folder is then on sys.path, so
they import this module as `timing`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """The machine's dense matrix-multiply rate: the ceiling to compare achieved GFLOP/s with."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_flops(loop, *batch: torch.Tensor) -> int:
    """FLOPs of one `loop.step(*batch)`, as torch.utils.flop_counter counts them."""
    with FlopCounterMode(display=False) as counter:
        loop.step(*batch)
    return counter.get_total_flops()


def measure(loop, real: torch.Tensor, seconds: float, device: torch.device) -> list[float]:
    """Images/s of successive one-second windows after warm-up."""
    for _ in range(3):
        loop.step(real)
    rates, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        _sync(device)
        t, steps = time.perf_counter(), 0
        while time.perf_counter() - t < 1.0:
            loop.step(real)
            steps += 1
        _sync(device)
        rates.append(steps * real.shape[0] / (time.perf_counter() - t))
    return rates


def measure_steps(step: Callable[[], None], images_per_step: int, steps: int, device: torch.device,
                  warmup: int = 3) -> list[float]:
    """Images/s of each of `steps` timed calls of `step()` after `warmup` untimed ones.

    For steps long enough (large images, batch 1 included) that one-second windows would hold one step
    or less: the median of per-step rates is then the robust figure.
    """
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(steps):
        _sync(device)
        t = time.perf_counter()
        step()
        _sync(device)
        rates.append(images_per_step / (time.perf_counter() - t))
    return rates
