"""A Rich progress bar for training, silent when stderr is not a terminal (short CI logs)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

MAIN_LOSSES = ("Loss/D/adv", "Loss/G/adv")

err_console = Console(stderr=True, soft_wrap=True)  # one message, one line: logs stay greppable


def is_interactive() -> bool:
    return sys.stderr.isatty()


class TrainingProgress:
    """Context manager whose `update(progress)` is the trainer's on_progress callback."""

    def __init__(self, total_kimg: float | None, minutes: float | None, enabled: bool | None = None) -> None:
        self.enabled = is_interactive() if enabled is None else enabled
        self.total = total_kimg
        self.minutes = minutes
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> TrainingProgress:
        if self.enabled:
            self._bar = Progress(
                TextColumn("[bold]training"), BarColumn(), TextColumn("{task.fields[kimg]}"),
                TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=err_console, transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total or (self.minutes or 1) * 60,
                                            kimg="kimg 0", rate="", losses="")
        return self

    def update(self, p: Any) -> None:
        if self._bar is None:
            return
        losses = " ".join(f"{k.split('/')[1]}={p.losses[k]:.3f}" for k in MAIN_LOSSES if k in p.losses)
        completed = p.kimg if self.total else p.elapsed_sec
        total_txt = f"/{self.total:g}" if self.total else ""
        self._bar.update(self._task, completed=completed, kimg=f"kimg {p.kimg:.1f}{total_txt}",
                         rate=f"{p.images_per_sec:.0f} img/s", losses=losses)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


class DataProgress:
    """A bar for preparing a dataset (decode + resize), shown only on a terminal."""

    def __init__(self, description: str = "preparing", enabled: bool | None = None) -> None:
        self.enabled = is_interactive() if enabled is None else enabled
        self.description = description
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> DataProgress:
        if self.enabled:
            self._bar = Progress(TextColumn(f"[bold]{self.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                                 console=err_console, transient=True)
            self._bar.__enter__()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            return
        if self._task is None:
            self._task = self._bar.add_task("prep", total=total)
        self._bar.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
