"""Starting weights for a new run from an earlier one (`train --init`): a run, a checkpoint, an export or `zoo:NAME`.

A run's checkpoint holds every training network (G, its EMA copy, D); an export holds the EMA generator and, when
written with `--with-discriminator`, the training networks it names in its config (`training_networks`), so that
a shipped model can be trained on rather than only sampled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.engine.checkpoint import enclosing_run_dir, latest_checkpoint, load_checkpoint, load_export
from ganforge.errors import CheckpointError, ConfigError

TRAINING_NETWORKS_KEY = "training_networks"  # an export config's list of the training networks it also holds
TRAINING_STATE_KEY = "training_state"  # and what else training on needs from the run (ADA's p), as JSON


@dataclass
class InitWeights:
    """What `--init` read: where from, the inference components' specs, and the training networks' weights."""

    origin: str  # the checkpoint or export folder read
    components: dict[str, Any]  # component name -> spec, as an export's config.json has them
    nets: dict[str, dict[str, torch.Tensor]]  # training network name (G, G_ema, D) -> state dict
    state: dict[str, Any] = field(default_factory=dict)  # training state worth carrying on: {"augment_p": p}


def check_init_source(source: str | Path) -> Path:
    """The folder `source` names; an unknown zoo name or a missing path is a one-line ConfigError, before any work."""
    from ganforge.zoo import resolve_model_path

    try:
        path = resolve_model_path(source)
    except CheckpointError as exc:
        raise ConfigError(f"--init {source}: {exc}") from exc
    if not path.exists():
        raise ConfigError(f"--init {source}: no such run or exported model")
    return path


def read_init_weights(source: str | Path) -> InitWeights:
    """The weights under `source`; a missing or unreadable one is a one-line ConfigError naming it."""
    path = check_init_source(source)
    try:
        return read_training_weights(path)
    except CheckpointError as exc:
        raise ConfigError(f"--init {source}: {exc}") from exc


def is_export(path: Path) -> bool:
    return (path / "model.safetensors").is_file() and (path / "config.json").is_file()


def read_training_weights(path: Path) -> InitWeights:
    """The training networks an export or a run's latest checkpoint holds (CheckpointError when unreadable)."""
    return _from_export(path) if is_export(path) else _from_run(path)


def _from_export(path: Path) -> InitWeights:
    config, weights = load_export(path)
    nets: dict[str, dict[str, torch.Tensor]] = {}
    for name, spec in config["components"].items():
        network = spec.get("network", "G")
        nets[network + "_ema"] = weights[name]  # an export's generator is the EMA copy
    for network in config.get(TRAINING_NETWORKS_KEY, []):
        if network not in weights:
            raise CheckpointError(f"{path} names {network} among its training networks but does not hold it")
        nets[network] = weights[network]
    state = config.get(TRAINING_STATE_KEY)
    p = state.get("augment_p") if isinstance(state, dict) else None
    if p is not None and not (isinstance(p, (int, float)) and 0 < p <= 1):
        raise CheckpointError(f"{path}/config.json: training_state.augment_p must be a number in (0, 1], got {p!r}")
    return InitWeights(origin=str(path), components=config["components"], nets=nets,
                       state={"augment_p": float(p)} if p is not None else {})


def _from_run(path: Path) -> InitWeights:
    run_dir = enclosing_run_dir(path)
    if run_dir is None:
        raise CheckpointError("not a run directory (no model.json) nor an export (config.json + model.safetensors)")
    components = json.loads((run_dir / "model.json").read_text())["components"]
    ckpt = latest_checkpoint(path)
    nets, state = load_checkpoint(ckpt)
    return InitWeights(origin=str(ckpt), components=components, nets=nets, state=carried_state(state))


def carried_state(checkpoint_state: dict[str, Any]) -> dict[str, Any]:
    """What of a checkpoint's training state a run started from it takes on: ADA's p, which the discriminator was
    last trained at (starting again from p = 0 shows it un-augmented images it has not seen for a long while)."""
    augment = (checkpoint_state.get("task_state") or {}).get("augment") or {}
    p = augment.get("p")
    return {"augment_p": round(float(p), 6)} if isinstance(p, (int, float)) and p > 0 else {}


def load_init_networks(init: InitWeights, networks: dict[str, nn.Module], generator_spec: dict[str, Any]) -> list[str]:
    """Load `init` into a new run's G (its raw weights, else the EMA copy's) and D (when held); returns the names
    loaded. The generator must be built as the source's was (network and arguments), else a one-line error."""
    source_spec = next(iter(init.components.values()))
    for key in ("class", "kwargs"):
        if source_spec.get(key) != generator_spec.get(key):
            theirs, ours = source_spec.get(key), generator_spec.get(key)
            if key == "kwargs":
                theirs, ours = theirs or {}, ours or {}
                diff = sorted(k for k in {**theirs, **ours} if theirs.get(k) != ours.get(k))
                detail = ", ".join(f"{k} {theirs.get(k)!r} there, {ours.get(k)!r} here" for k in diff)
            else:
                detail = f"{theirs!r} there, {ours!r} here"
            raise ConfigError(f"--init {init.origin} was built otherwise than this run's generator: {detail}")
    loaded = []
    state = init.nets.get("G", init.nets.get("G_ema"))
    if state is None:
        raise ConfigError(f"--init {init.origin} holds no generator weights")
    plan = [("G", state)] + ([("D", init.nets["D"])] if "D" in init.nets and "D" in networks else [])
    for name, weights in plan:
        try:
            networks[name].load_state_dict(weights)
        except RuntimeError as exc:
            mine = networks[name].state_dict()
            bad = sorted(set(mine) ^ set(weights)) or [k for k in mine if mine[k].shape != weights[k].shape]
            raise ConfigError(f"--init {init.origin}: its {name} does not fit this run's ({len(bad)} tensors differ, "
                              f"first {bad[0] if bad else '?'}): build {name} as the source did (--d-norm, --width, "
                              "--loss)") from exc
        loaded.append(name)
    return loaded
