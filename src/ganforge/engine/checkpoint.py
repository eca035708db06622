"""Training checkpoints and exports, never pickles.

A checkpoint is a folder `checkpoints/kimg-00012.288/` holding one safetensors file per network,
`state.safetensors` (optimizer, scaler and RNG tensors) and `state.json` (everything else). It is
written into a hidden temp folder, each file fsynced, then renamed into place: a reader (or a
resume after SIGKILL) sees complete checkpoints only.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganforge.engine.atomic import fsync_dir, fsync_file, temp_path
from ganforge.engine.serialize import join_tensors, split_tensors
from ganforge.errors import CheckpointError

CHECKPOINT_PREFIX = "kimg-"
STATE_JSON = "state.json"
# safetensors creates its files 0600 whatever the umask; ours get the mode any other file of the user's would.
# Read once at import (os.umask can only be read by setting it, which is not thread-safe later on).
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


def write_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """safetensors' save_file, then the user's usual file mode and an fsync: the file is complete and readable."""
    save_file(tensors, str(path), metadata=metadata)
    try:
        os.chmod(path, FILE_MODE)
    except OSError:  # file systems without modes (some network mounts): the file is written, keep it as it is
        pass
    fsync_file(path)


def replace_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> Path:
    """`write_safetensors` to a temporary file beside `path`, renamed over it: a reader sees the old file or the
    whole new one (weights saved again and again during training, then shipped)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    write_safetensors({k: v.detach().contiguous() for k, v in tensors.items()}, tmp, metadata)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def checkpoint_name(images_shown: int) -> str:
    return f"{CHECKPOINT_PREFIX}{images_shown / 1000:09.3f}"


def module_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors of a module's state dict (safetensors needs both)."""
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def save_checkpoint(
    ckpt_root: Path,
    images_shown: int,
    networks: dict[str, nn.Module],
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write one checkpoint atomically and prune all but the newest `keep`; returns its folder."""
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / checkpoint_name(images_shown)
    tmp = ckpt_root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name, module in networks.items():
        path = tmp / f"{name}.safetensors"
        write_safetensors(module_state(module), path, metadata={"network": name})
    tensors: dict[str, torch.Tensor] = {}
    json_state = split_tensors(state, tensors)
    if tensors:
        write_safetensors(tensors, tmp / "state.safetensors")
    (tmp / STATE_JSON).write_text(json.dumps(json_state, indent=1) + "\n")
    fsync_file(tmp / STATE_JSON)
    fsync_dir(tmp)
    if final.exists():  # the same kimg saved twice (e.g. end of run right after a periodic save)
        trash = ckpt_root / f".old-{final.name}-{os.getpid()}"
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync_dir(ckpt_root)
    prune_checkpoints(ckpt_root, keep)
    return final


def list_checkpoints(ckpt_root: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temp folders from interrupted saves are ignored)."""
    if not ckpt_root.is_dir():
        return []
    found = [p for p in ckpt_root.iterdir() if p.name.startswith(CHECKPOINT_PREFIX) and (p / STATE_JSON).is_file()]
    return sorted(found, key=lambda p: float(p.name[len(CHECKPOINT_PREFIX) :]))


def prune_checkpoints(ckpt_root: Path, keep: int) -> None:
    """Keep the newest `keep` checkpoints; clear leftovers of interrupted saves older than a minute."""
    for old in list_checkpoints(ckpt_root)[:-keep]:
        # Rename first: a crash mid-delete must not leave a folder that still looks complete.
        trash = ckpt_root / f".trash-{old.name}-{os.getpid()}"
        os.replace(old, trash)
        shutil.rmtree(trash, ignore_errors=True)
    for pattern in (".tmp-*", ".old-*", ".trash-*"):
        for leftover in ckpt_root.glob(pattern):
            if time.time() - leftover.stat().st_mtime > 60:
                shutil.rmtree(leftover, ignore_errors=True)


def enclosing_run_dir(path: Path) -> Path | None:
    """The run directory `path` is or lies in: the nearest folder holding model.json (path itself, or above a
    checkpoint); None when there is none."""
    path = Path(path)
    return next((p for p in [path, *path.parents][:4] if (p / "model.json").is_file()), None)


def latest_checkpoint(run_or_ckpt: Path) -> Path:
    """The newest complete checkpoint in a run directory, or the checkpoint folder itself."""
    path = Path(run_or_ckpt)
    if (path / STATE_JSON).is_file():
        return path
    found = list_checkpoints(path / "checkpoints") or list_checkpoints(path)  # a run, or e.g. checkpoints/best
    if not found:
        raise CheckpointError(f"no complete checkpoint in {path}: expected {path}/checkpoints/{CHECKPOINT_PREFIX}*/")
    return found[-1]


def load_checkpoint(ckpt: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Network state dicts by name, and the training state with its tensors restored."""
    try:
        json_state = json.loads((ckpt / STATE_JSON).read_text())
        tensors = load_file(str(ckpt / "state.safetensors")) if (ckpt / "state.safetensors").exists() else {}
        weights = {p.stem: load_file(str(p)) for p in ckpt.glob("*.safetensors") if p.name != "state.safetensors"}
    except (OSError, ValueError, json.JSONDecodeError, SafetensorError) as exc:
        raise CheckpointError(f"checkpoint {ckpt} is unreadable: {exc}") from exc
    return weights, join_tensors(json_state, tensors)


def export_model(out_dir: Path, config: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]]) -> Path:
    """A diffusers-like export: `config.json` and one `model.safetensors` with keys `<component>.<name>`.

    Both files are written into a temp folder first, so a crash never pairs new weights with an old config.
    """
    out_dir = Path(out_dir)
    if (out_dir / "checkpoints").exists() or (out_dir / "model.json").exists():
        raise CheckpointError(f"{out_dir} is a run directory: export into another folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise CheckpointError(f"{out_dir} is a file: export into a folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        flat = {f"{component}.{k}": v.detach().cpu().contiguous() for component, state in weights.items()
                for k, v in state.items()}
        write_safetensors(flat, tmp / "model.safetensors", metadata={"format": "ganforge", "components": ",".join(weights)})
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        fsync_file(tmp / "config.json")
        if out_dir.exists():  # re-export: swap the folder's two files, config last
            os.replace(tmp / "model.safetensors", out_dir / "model.safetensors")
            os.replace(tmp / "config.json", out_dir / "config.json")
        else:
            os.replace(tmp, out_dir)
    finally:  # on success only an emptied temp is left; on failure, the half-written one: never keep either
        shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(out_dir.parent)
    return out_dir


def load_export(model_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    """Read an export back: its config and the state dict of each component."""
    model_dir = Path(model_dir)
    try:
        config = json.loads((model_dir / "config.json").read_text())
        flat = load_file(str(model_dir / "model.safetensors"))
    except (OSError, ValueError, json.JSONDecodeError, SafetensorError) as exc:
        raise CheckpointError(f"{model_dir} is not a readable ganforge export: {exc}") from exc
    weights: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        component, _, name = key.partition(".")
        weights.setdefault(component, {})[name] = value
    return config, weights
