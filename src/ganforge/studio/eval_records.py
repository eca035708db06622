"""Evaluations kept with their run, so that the Evaluate tab shows a run's figures without computing them again:
the studio's own (run/evaluations/*.json, one per data and sample count), else the trainer's last `--eval-every`
figures (metrics.jsonl), else a shipped model's card. JSON only."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDS = "evaluations"  # the folder of a run directory that holds them


@dataclass(frozen=True)
class Recorded:
    """A result found on disk, the pipeline whose evaluator renders it, and where and when it came from."""

    pipeline: str
    result: dict[str, Any]
    source: str  # for the page: "recorded by the studio on ...", "logged by the trainer at ... kimg"


def is_run_dir(value: str) -> bool:
    return not value.startswith("zoo:") and (Path(value) / "model.json").is_file()


def record_path(run_dir: Path, data: str | None, n: int) -> Path:
    """One file per data and sample count: evaluating again with both the same replaces it."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(data).name if data and "/" in data else data or "own-data")
    return Path(run_dir) / RECORDS / f"{slug.strip('-') or 'data'}-n{n}.json"


def save_record(run_dir: Path, pipeline: str, data: str | None, n: int, result: dict[str, Any]) -> Path:
    """Write the result beside the run (atomically): what `latest_record` reads back."""
    from ganforge.engine.atomic import atomic_write_text

    path = record_path(run_dir, data, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"pipeline": pipeline, "data": data, "n": n, "recorded": time.strftime("%Y-%m-%d %H:%M:%S"),
            "result": result}
    atomic_write_text(path, json.dumps(body, indent=2, allow_nan=True) + "\n")
    return path


def _studio_record(run_dir: Path) -> Recorded | None:
    folder = Path(run_dir) / RECORDS
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    for path in files:
        try:
            body = json.loads(path.read_text())
            pipeline, result = str(body["pipeline"]), body["result"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a file that is not one of ours, or a torn one
        if isinstance(result, dict):
            return Recorded(pipeline, result, f"recorded by the studio on {body.get('recorded', '?')} "
                            f"({path.relative_to(run_dir)})")
    return None


def _trainer_record(run_dir: Path, pipeline: str) -> Recorded | None:
    """The last `Metrics/...` line of metrics.jsonl (train --eval-every)."""
    from ganforge.engine.stats import read_metrics

    for row in reversed(read_metrics(Path(run_dir) / "metrics.jsonl")):
        figures = {k[len("Metrics/"):]: v for k, v in row.items() if k.startswith("Metrics/")}
        if figures:
            return Recorded(pipeline, figures, f"logged by the trainer at {row.get('kimg', '?')} kimg (--eval-every)")
    return None


def latest_record(value: str, pipeline: str) -> Recorded | None:
    """What is on disk for a listed model (a run directory, an export or zoo:NAME), newest first; None if nothing."""
    from ganforge.errors import GanforgeError
    from ganforge.zoo import is_zoo_name, zoo_card

    if is_zoo_name(value):
        try:
            card = zoo_card(value)
        except GanforgeError:
            return None
        metrics = dict(getattr(card, "metrics", None) or {})
        return Recorded(pipeline, metrics, f"measured when it was shipped (its card, on {card.data})") if metrics else None
    path = Path(value)
    return _studio_record(path) or _trainer_record(path, pipeline)
