"""Result helpers shared by the quality benchmarks: JSON rows at a readable precision, training rates from a run's log.

Run the benchmarks as scripts (`python benchmarks/X.py`): the script's folder is then on sys.path, so
they import this module as `report`.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ganforge.engine.stats import read_metrics


def rounded(value: Any) -> Any:
    """Floats to 5 decimals, inside dicts and lists too, so printed rows stay readable."""
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def tick_rate(run_dir: Path) -> float | None:
    """Median items/s of the logged ticks after the first (which holds start-up and the first grid)."""
    rates = [row["images_per_sec"] for row in read_metrics(Path(run_dir) / "metrics.jsonl") if "images_per_sec" in row]
    return statistics.median(rates[1:]) if len(rates) > 1 else None


def reuse_run(run_dir: Path, settings: dict) -> tuple[Path, object, dict]:
    """An earlier run of this benchmark in place of training: (run_dir, result-like, config). Its config must
    match `settings` on every key they share, so the comparison stays like for like."""
    config = json.loads((run_dir / "config.json").read_text())
    bookkeeping = ("checkpoint_every_kimg", "keep_checkpoints", "tick_kimg", "sample_every_kimg")  # not the model
    differ = {k: (config[k], v) for k, v in settings.items() if k in config and config[k] != v and k not in bookkeeping}
    if differ:
        sys.exit(f"{run_dir} was trained with other settings (run, asked): {differ}")
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    return run_dir, SimpleNamespace(kimg=last["kimg"], wall_sec=last["time_sec"]), config


def machine() -> dict[str, Any]:
    """Where a benchmark ran, printed with its figures: timings from another CPU (or one without bf16) differ."""
    import platform

    import torch

    from ganforge.engine.trainer import cpu_has_native_bf16

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_native_bf16": cpu_has_native_bf16(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
