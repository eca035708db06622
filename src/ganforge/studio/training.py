"""The Train tab's training process: `ganforge train` as a child process, so that Stop is the SIGTERM the trainer
answers with a checkpoint, Resume is `--resume`, and a training never blocks or crashes the studio. One at a time per
studio; what it shows is read from the run folder (metrics.jsonl, samples/), as report.html is."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ganforge.cli.train import STOP_WITH_PARENT
from ganforge.errors import GanforgeError

CLOSE_WAIT_S = 60.0  # what the studio waits, closing, for a stopped training to write its checkpoint
EXIT_INTERRUPTED = 130  # `ganforge train` after a SIGTERM or Ctrl-C: checkpointed, resumable


def train_argv(task: str, run_dir: Path, options: list[str], resume: bool = False) -> list[str]:
    """The command line of a new run named `run_dir` (its folder and name given, so the studio knows where it
    writes), or of `--resume run_dir`; `options` are further `ganforge train` options (budgets only on resume)."""
    base = [sys.executable, "-m", "ganforge.cli.main", "train", task]
    if resume:
        return [*base, "--resume", str(run_dir), *options]
    return [*base, "--runs-dir", str(run_dir.parent), "--name", run_dir.name, *options]


@dataclass
class Launch:
    """One process of the job: which run it trains and how it was started."""

    run_dir: Path
    process: subprocess.Popen
    log: Path  # its stdout and stderr, in the studio's own folder
    started: float
    resumed: bool
    stop_requested: bool = False


class TrainingJob:
    """The studio's one training process: start, stop (SIGTERM), resume, and how it is doing; `close` ends it."""

    def __init__(self, logs: Path) -> None:
        self.logs = Path(logs)
        self.current: Launch | None = None
        self._lock = threading.Lock()

    def running(self) -> bool:
        return self.current is not None and self.current.process.poll() is None

    def check_idle(self) -> None:
        """A one-line error while a training runs: one at a time per studio."""
        if self.running():
            assert self.current is not None
            raise GanforgeError(f"a training is already running (run {self.current.run_dir.name}, pid "
                                f"{self.current.process.pid}): stop it first, one runs at a time")

    def start(self, task: str, run_dir: Path, options: list[str], resume: bool = False) -> Launch:
        """Start `ganforge train` for `run_dir`; refused while another training runs."""
        with self._lock:
            self.check_idle()
            self.logs.mkdir(parents=True, exist_ok=True)
            log = self.logs / f"train-{run_dir.name}-{int(time.time() * 1000)}.log"
            # The child stops (with a checkpoint) if the studio dies without closing it (SIGKILL, a crash).
            env = {**os.environ, "PYTHONUNBUFFERED": "1", STOP_WITH_PARENT: str(os.getpid())}
            with open(log, "wb") as out:  # the child holds its own handle; ours closes now
                process = subprocess.Popen(train_argv(task, run_dir, options, resume), stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                           start_new_session=True)  # the terminal's Ctrl-C is the studio's alone
            self.current = Launch(Path(run_dir), process, log, time.monotonic(), resume)
            return self.current

    def stop(self) -> Launch:
        """Ask the running training to stop: SIGTERM, which it answers with a checkpoint and exit code 130."""
        with self._lock:
            if not self.running():
                raise GanforgeError("no training is running: start one, or resume a stopped run")
            assert self.current is not None
            self.current.stop_requested = True
            self.current.process.send_signal(signal.SIGTERM)
            return self.current

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Stop the training when the studio closes: SIGTERM and a wait for its checkpoint, then SIGKILL."""
        with self._lock:
            launch = self.current
            if launch is None or launch.process.poll() is not None:
                return
            launch.stop_requested = True
            launch.process.send_signal(signal.SIGTERM)
            try:
                launch.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                launch.process.kill()
                launch.process.wait()

    def launch_of(self, run_dir: Path) -> Launch | None:
        """The job's latest process if it trains `run_dir`."""
        current = self.current
        if current is None or current.run_dir.resolve() != Path(run_dir).resolve():
            return None
        return current


def last_line(log: Path) -> str:
    """The last non-empty line a process wrote (its one-line error when it failed), without progress-bar noise."""
    try:
        with open(log, "rb") as f:  # only its tail: a long run's log of progress bars can be large
            f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def list_runs(runs_dir: Path) -> list[Path]:
    """Run folders under `runs_dir` (those with a config.json), newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "config.json").is_file()]
    return sorted(found, key=lambda p: (p / "config.json").stat().st_mtime, reverse=True)


def run_metrics(run_dir: Path) -> list[dict]:
    """The run's metrics.jsonl rows, read again only when the file has changed (each open page polls it)."""
    path = Path(run_dir) / "metrics.jsonl"
    try:
        stat = path.stat()
    except OSError:
        return []
    return _read_metrics(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_metrics(path: str, mtime_ns: int, size: int) -> list[dict]:
    from ganforge.engine.stats import read_metrics

    return read_metrics(Path(path))


def loss_chart(run_dir: Path | None, max_points: int = 2000) -> str:
    """The run's `Loss/...` curves as report.html draws them (inline SVG), empty before its first figures."""
    from ganforge.engine.report import metric_series, svg_line_chart

    if run_dir is None:
        return ""
    return svg_line_chart(metric_series(run_metrics(run_dir), "Loss/", max_points), "Losses")


def latest_kimg(run_dir: Path) -> float | None:
    """How far the run's log has got, in kimg (None before its first tick)."""
    rows = run_metrics(run_dir)
    return max((float(r["kimg"]) for r in rows if isinstance(r.get("kimg"), (int, float))), default=None)


def latest_grid(run_dir: Path) -> Path | None:
    """The newest sample grid of the run (samples/fakes-KIMG.png, written atomically by the trainer)."""
    from ganforge.engine.report import sample_grids

    grids = sample_grids(run_dir)
    return grids[-1] if grids else None


def latest_checkpoint_name(run_dir: Path) -> str | None:
    from ganforge.engine.checkpoint import list_checkpoints

    found = list_checkpoints(Path(run_dir) / "checkpoints")
    return found[-1].name if found else None
