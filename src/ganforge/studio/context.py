"""What every tab shares: where models are found, the model cache, the upload limits, the device and a private
folder for the files a tab returns (GIFs); a tab asks it for a pipeline of its own kind."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import GanforgeError
from ganforge.studio.cache import ModelCache
from ganforge.studio.catalogue import ModelEntry, given_entry, scan_models
from ganforge.studio.limits import Limits


@dataclass
class StudioContext:
    """Settings of one studio and its shared state; `ganforge studio` builds it from its options."""

    runs_dir: Path = Path("runs")
    models_dir: Path = Path("models")
    given: list[str] = field(default_factory=list)  # models named on the command line
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    cache_size: int = 3

    def __post_init__(self) -> None:
        self.given_entries = [given_entry(v) for v in self.given]  # checked now: a bad path is a one-line error
        self.cache = ModelCache(self._load, self.cache_size)
        self.workdir = Path(tempfile.mkdtemp(prefix="ganforge-studio-"))  # ours alone: no user file is written
        self.app: Any = None  # the gr.Blocks being built, for tabs' page-load events (set by app.build_app)
        self.jobs: dict[str, Any] = {}  # what outlives a request (the Train tab's process); each .close()d by close()

    def _load(self, value: str) -> Any:
        from ganforge.api import load
        from ganforge.devices import resolve_device

        return load(value, device=resolve_device(self.device))

    def models(self, pipelines: tuple[str, ...] | None = None,
               accept: Callable[[ModelEntry], bool] | None = None) -> list[ModelEntry]:
        """The models found now, only those that load as one of `pipelines` when given (and that `accept`, a tab's
        own test on the entry, takes)."""
        entries = scan_models(self.runs_dir, self.models_dir, self.given_entries)
        return [e for e in entries if (pipelines is None or e.pipeline in pipelines) and (accept is None or accept(e))]

    def pipeline(self, value: str | None, pipelines: tuple[str, ...], tab: str) -> Any:
        """The loaded (cached) pipeline of a picker's value, which must be a listed model of this tab's kind."""
        if not value:
            raise GanforgeError(f"pick a model for the {tab} tab first (none is listed? train one, or start the "
                                "studio with a run or model path)")
        entries = {e.value: e for e in self.models()}
        entry = entries.get(str(value))
        if entry is None:
            raise GanforgeError(f"{value} is not one of the studio's models (runs in {self.runs_dir}, exports in "
                                f"{self.models_dir}, zoo:NAME, or paths given to `ganforge studio`); refresh the list")
        if entry.pipeline not in pipelines:
            trained = f" (task {entry.task})" if entry.task else ""
            raise GanforgeError(f"{entry.label} holds a model for {entry.pipeline}{trained}; the {tab} tab takes "
                                f"{' or '.join(pipelines)} models")
        return self.cache.get(entry.value)

    def output_path(self, name: str) -> Path:
        """A fresh file in the studio's own folder (never a user's file)."""
        folder = Path(tempfile.mkdtemp(dir=self.workdir))
        return folder / name

    def close(self) -> None:
        """End the tabs' jobs (a training process checkpoints and exits), then remove the studio's own files."""
        for job in self.jobs.values():
            job.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
