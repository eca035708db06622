"""What the model pickers list: runs under the runs folder, exports under the models folder, the shipped models
(`zoo:NAME`) and the paths given on the command line, each with the pipeline it loads as, read from its small JSON
files only (nothing is loaded until a tab uses it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class ModelEntry:
    """One choice of a model picker: `value` is what `ganforge.load` takes (a path or zoo:NAME)."""

    value: str
    label: str  # what the picker shows: "run: NAME", "export: NAME", "zoo: NAME", "given: PATH"
    pipeline: str  # the pipeline it loads as (config.json's / model.json's "pipeline")
    task: str  # the task that trained it, where known ("" otherwise)


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def describe(path: str | Path) -> tuple[str, str] | None:
    """(pipeline, task) of a run directory or an export folder, from its JSON files; None when it is neither."""
    path = Path(path)
    if (path / "model.safetensors").is_file() and (path / "config.json").is_file():  # an export
        config = _read_json(path / "config.json")
        return (str(config["pipeline"]), str(config.get("task", ""))) if "pipeline" in config else None
    if (path / "model.json").is_file():  # a run: model.json is its export spec, config.json its training config
        spec = _read_json(path / "model.json")
        if "pipeline" not in spec:
            return None
        return str(spec["pipeline"]), str(_read_json(path / "config.json").get("task", spec.get("task", "")))
    return None


def model_spec(value: str) -> dict:
    """The small JSON that describes a listed model (an export's config.json, a run's model.json, a shipped model's
    config.json): what a tab reads to tell apart models of one pipeline (label maps or images in); {} if unreadable."""
    from ganforge.zoo import is_zoo_name, zoo_card

    try:
        path = Path(zoo_card(value).path) if is_zoo_name(value) else Path(value)
    except GanforgeError:
        return {}
    if (path / "model.safetensors").is_file():
        return _read_json(path / "config.json")
    return _read_json(path / "model.json")


def _folder_entries(root: Path, kind: str) -> list[ModelEntry]:
    if not root.is_dir():
        return []
    entries = []
    for child in sorted(root.iterdir()):
        found = describe(child) if child.is_dir() and not child.name.startswith(".") else None
        if found is not None:
            entries.append(ModelEntry(str(child), f"{kind}: {child.name}", *found))
    return entries


def given_entry(value: str) -> ModelEntry:
    """A model named on the command line, checked now: a one-line error when it is not one."""
    from ganforge.zoo import is_zoo_name, zoo_card

    if is_zoo_name(value):
        card = zoo_card(value)  # an unknown name is an error that lists the shipped ones
        found = describe(card.path)
        if found is None:
            raise GanforgeError(f"shipped model {value} has no readable config.json")
        return ModelEntry(value, f"zoo: {card.name}", found[0], card.task)
    path = Path(value)
    if not path.exists():
        raise GanforgeError(f"{value} does not exist: give a run directory, an exported model or zoo:NAME")
    found = describe(path)
    if found is None:
        raise GanforgeError(f"{value} is neither a ganforge run directory (model.json) nor an exported model "
                            "(config.json + model.safetensors)")
    return ModelEntry(str(path), f"given: {value}", *found)


def zoo_entries() -> list[ModelEntry]:
    from ganforge.zoo import PREFIX, model_cards

    entries = []
    for card in model_cards():
        found = describe(card.path)
        if found is not None:
            entries.append(ModelEntry(PREFIX + card.name, f"zoo: {card.name}", found[0], card.task))
    return entries


def scan_models(runs_dir: Path, models_dir: Path, given: list[ModelEntry] | None = None) -> list[ModelEntry]:
    """Every model the studio can offer, the given ones first; a path listed twice appears once."""
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for entry in [*(given or []), *_folder_entries(Path(runs_dir), "run"), *_folder_entries(Path(models_dir), "export"),
                  *zoo_entries()]:
        key = entry.value if entry.value.startswith("zoo:") else str(Path(entry.value).resolve())
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    return entries
