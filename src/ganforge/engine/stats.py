"""One place every statistic goes through: averaged per tick into metrics.jsonl (and TensorBoard)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch


class Stats:
    """Collects `report(name, value)` calls between ticks; `flush` writes their means."""

    def __init__(self, run_dir: Path | None, enabled: bool = True, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.jsonl" if run_dir is not None else None
        self.enabled = enabled and self.path is not None
        self._pending: dict[str, list[torch.Tensor]] = {}
        self._steps: list[int] = []
        self._writer = None
        if self.enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(run_dir / "tensorboard"))
            except Exception:  # tensorboard not installed: JSONL only
                self._writer = None

    def report(self, name: str, value: torch.Tensor | float, step: int) -> None:
        """Record one value of a statistic at a training step; kept on device until the tick."""
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        self._pending.setdefault(name, []).append((step, value.detach()))  # type: ignore[arg-type]

    def first_non_finite(self) -> tuple[str, int, float] | None:
        """(name, step, value) of the earliest non-finite value since the last tick, if any."""
        worst: tuple[str, int, float] | None = None
        for name, entries in self._pending.items():
            values = torch.stack([v.float().cpu() for _, v in entries])
            bad = (~torch.isfinite(values)).nonzero()
            if len(bad):
                i = int(bad[0])
                step = entries[i][0]
                if worst is None or step < worst[1]:
                    worst = (name, step, float(values[i]))
        return worst

    def means(self) -> dict[str, float]:
        return {
            name: float(torch.stack([v.float().cpu() for _, v in entries]).mean())
            for name, entries in self._pending.items()
        }

    def flush(self, fields: dict[str, Any], keep: bool = False) -> dict[str, Any]:
        """Write one JSON line with `fields` plus the mean of each statistic; returns the line. `keep` leaves the
        values pending: a tick cut short, whose values go into the checkpoint so the resumed run completes it."""
        line = dict(fields)
        line.update(self.means())
        if not keep:
            self._pending.clear()
        self.write_line(line)
        return line

    def pending_steps(self) -> int:
        """How many training steps the values reported since the last tick come from."""
        return len({step for entries in self._pending.values() for step, _ in entries})

    def state(self) -> dict[str, Any]:
        """The values reported since the last tick, for a checkpoint: the resumed run's first line then averages the
        same values as an uninterrupted run's (float32 on the CPU, as means() reads them)."""
        return {name: {"steps": [step for step, _ in entries],
                       "values": torch.stack([v.float().cpu() for _, v in entries])}
                for name, entries in self._pending.items()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Take back the values a checkpoint's state() saved, ahead of any reported since."""
        restored = {name: [(int(step), value) for step, value in zip(saved["steps"], saved["values"].unbind(0))]
                    for name, saved in state.items()}
        for name, entries in self._pending.items():
            restored.setdefault(name, []).extend(entries)
        self._pending = restored

    def write_line(self, line: dict[str, Any]) -> None:
        """Append one line to metrics.jsonl (and TensorBoard): tick means and evaluation results alike."""
        if not self.enabled:
            return
        assert self.path is not None
        with open(self.path, "a") as fh:
            fh.write(json.dumps(line, allow_nan=True) + "\n")
        if self._writer is not None:
            step = int(round(line.get("kimg", 0) * 1000))
            for key, value in line.items():
                if isinstance(value, (int, float)) and math.isfinite(value) and key not in ("step",):
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def truncate_metrics(path: Path, max_kimg: float) -> None:
    """Drop log lines past a resumed checkpoint so the resumed run does not log a tick twice, and the line of a tick
    cut short (`partial_steps`): its values are in the checkpoint, and the resumed run logs the whole tick."""
    if not path.exists():
        return
    kept = []
    for raw in path.read_text().splitlines():
        try:
            row = json.loads(raw)
            if float(row.get("kimg", 0)) <= max_kimg + 1e-9 and "partial_steps" not in row:
                kept.append(raw)
        except (json.JSONDecodeError, TypeError, ValueError):
            continue
    from ganforge.engine.atomic import atomic_write_text

    atomic_write_text(path, "".join(line + "\n" for line in kept))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All parseable lines of a metrics.jsonl (a torn last line is skipped)."""
    if not path.exists():
        return []
    rows = []
    for raw in path.read_text().splitlines():
        try:
            rows.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return rows
