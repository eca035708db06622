"""A run directory's ownership and hygiene: one live process per run, restarts in place, and the leftovers of kills.

A run killed before its first checkpoint has nothing to resume, so it starts again from step 0 in its own folder;
one that holds a checkpoint is never started over. Either way the run's folder is locked first (flock: the kernel
drops the lock when its process dies, even on SIGKILL), so two processes never write one run.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ganforge.engine.checkpoint import list_checkpoints
from ganforge.errors import ConfigError

LOCK_NAME = ".lock"  # in the run directory; holds the owner's PID, for messages only
# Names this project's atomic writes give their temporary files and folders, each ending in the writer's PID:
# checkpoint.py's .tmp-/.old-/.trash-kimg-00001.024-PID folders, atomic.py's .NAME.tmp-PID files and
# imaging's .STEM.tmp-PID.SUFFIX images.
LEFTOVER_PATTERNS = (
    re.compile(r"^\.(?:tmp|old|trash)-kimg-\d+\.\d+-(\d+)$"),
    re.compile(r"^\..+\.tmp-(\d+)(?:\.[A-Za-z0-9]+)?$"),
)
LEFTOVER_FOLDERS = ("", "samples", "checkpoints", "checkpoints/best")  # where a run's atomic writes happen
# What a run writes before its first checkpoint, removed when it starts again from step 0 (config.json, data.json
# and model.json are rewritten anyway).
RESTART_OUTPUTS = ("metrics.jsonl", "report.html", "samples/reals.png", "samples/fakes-*.png",
                   "tensorboard/events.out.tfevents.*")


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """Every complete checkpoint a run holds, its best-FID one included: what a plain rerun must never replace."""
    root = Path(run_dir) / "checkpoints"
    return list_checkpoints(root) + list_checkpoints(root / "best")


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists (ours included: we may be the writer), so its files are in use."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except (OverflowError, ValueError):
        return False
    return True


def stale_leftovers(run_dir: Path) -> list[Path]:
    """Temporary files and folders of this project's atomic writes whose writer process is gone."""
    found = []
    for sub in LEFTOVER_FOLDERS:
        folder = Path(run_dir) / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            for pattern in LEFTOVER_PATTERNS:
                match = pattern.match(path.name)
                if match and not pid_alive(int(match.group(1))):
                    found.append(path)
                    break
    return sorted(found)


def remove_stale_leftovers(run_dir: Path) -> list[Path]:
    """Delete what stale_leftovers finds (a kill mid-save leaves them; nothing else reads them); returns them."""
    removed = stale_leftovers(run_dir)
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def clear_for_restart(run_dir: Path) -> None:
    """Remove the outputs of a run that never checkpointed, so its restart from step 0 logs and samples afresh."""
    run_dir = Path(run_dir)
    for pattern in RESTART_OUTPUTS:
        for path in run_dir.glob(pattern):
            if path.is_file():
                path.unlink()


def check_plain_rerun(run_dir: Path) -> bool:
    """For a new run into an existing `--name`: True when the folder holds a run that never checkpointed (it is
    started again in place); an error when it holds checkpoints; False when it holds no run."""
    run_dir = Path(run_dir)
    if complete_checkpoints(run_dir):
        raise ConfigError(f"run directory {run_dir} already holds a run: continue it with --resume {run_dir} or "
                          "choose another --name (it has checkpoints, so it is never started over)")
    is_run = (run_dir / "config.json").exists() or (run_dir / "checkpoints").exists()
    if not is_run and run_dir.is_dir() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        raise ConfigError(f"{run_dir} holds files that are not a ganforge run: choose another --name or --runs-dir "
                          "(a run never writes into a folder of someone else's files)")
    return is_run


class RunLock:
    """An exclusive lock on a run directory for as long as a process trains it (a no-op where fcntl is missing)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fh = None

    def acquire(self) -> RunLock:
        """Take the lock or say which process holds it; creates the run directory."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: writes stay atomic, runs are not guarded
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            fh.close()
            raise ConfigError(f"run directory {self.path.parent} is in use by another training process (PID "
                              f"{owner}): wait for it to end, or stop it, before starting or resuming this run") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        """Drop the lock (the file stays: removing it could race with another process taking it)."""
        if self._fh is not None:
            self._fh.close()  # closing the file releases the flock
            self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
