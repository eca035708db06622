"""Pipelines: what users call on a trained model. `ganforge.load(path)` returns one."""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.engine.checkpoint import (
    enclosing_run_dir,
    export_model,
    latest_checkpoint,
    load_checkpoint,
    load_export,
)
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.imaging import tensor_to_uint8, to_pil
from ganforge.registry import NETWORKS, Registry


def run_config(pipe: Any) -> dict[str, Any] | None:
    """The training config of the run a pipeline was loaded from; None for an exported model."""
    run = pipe.config.get("source", {}).get("run")
    path = Path(run) / "config.json" if run else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None

PIPELINES: Registry = Registry("pipeline")
OUTPUT_TYPES = ("pil", "np", "pt")


def build_component(spec: dict[str, Any], state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Rebuild a network from its registry name and constructor arguments, then load its weights."""
    import ganforge.nets  # noqa: F401  (registers network classes)

    cls = NETWORKS.get(spec["class"])
    check_weights_fit(spec, state)
    module = cls(**spec["kwargs"])
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit network {spec['class']}: {exc}") from exc
    return module.eval().requires_grad_(False)


def check_weights_fit(spec: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    """Build the network on the meta device (no memory) and compare it with the weights before allocating it, so a
    config asking for widths its weights do not have is one line, not an allocation of hundreds of GB."""
    try:
        with torch.device("meta"):
            skeleton = NETWORKS.get(spec["class"])(**spec["kwargs"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the model config does not describe a {spec['class']} network: {exc}") from None
    except Exception:  # a network whose constructor needs real tensors: the load below still checks the weights
        return
    expected = skeleton.state_dict()
    # Only shapes: keys a network's own loader tolerates (buffers older exports lack) are left to load_state_dict.
    wrong = [f"{k} {tuple(v.shape)} (weights: {tuple(state[k].shape)})"
             for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise CheckpointError(f"weights do not fit network {spec['class']} as its config describes it: "
                              f"{len(wrong)} tensors differ, e.g. {wrong[0]}")


_REQUIRED = object()


class config_value:  # noqa: N801  (used like `property`)
    """A pipeline property read from its config.json: `frames = config_value("frames", int)`; `default` where the
    key may be missing (exports written before it existed)."""

    def __init__(self, key: str, cast: Any = int, default: Any = _REQUIRED) -> None:
        self.key, self.cast, self.default = key, cast, default

    def __get__(self, pipe: Any, owner: type | None = None) -> Any:
        if pipe is None:
            return self
        if self.default is _REQUIRED or self.key in pipe.config:
            return self.cast(pipe.config[self.key])
        return self.default


class component:  # noqa: N801  (used like `property`)
    """A pipeline's network by its component name: `generator = component("generator")`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, pipe: Any, owner: type | None = None) -> Any:
        return self if pipe is None else pipe.components[self.name]


class Pipeline:
    """Base: holds named components on one device and the export config that rebuilds them.

    Every pipeline's `__call__` returns watermarked images (issue 29): a subclass's `__call__` is wrapped on
    definition (`__init_subclass__`) so that it takes `watermark=True` and its output, whatever its type ("pil",
    "np" or "pt"; clips too), is marked with the model's fingerprint (`model_hash`) before it is returned;
    `watermark=False` returns exactly what the pipeline made. A `__call__` run inside another pipeline's `__call__`
    leaves the marking to the outer one.
    """

    resolution = config_value("resolution", int)  # side of the images (frames) it makes or takes, in pixels
    channels = config_value("channels", int, 3)

    def __init__(self, components: dict[str, torch.nn.Module], config: dict[str, Any]) -> None:
        self.components = components
        self.config = config
        self.device = torch.device("cpu")
        self.origin: str | None = None  # the path it was loaded from (`load_pipeline`): named in outputs' metadata
        self._model_hash: str | None = None

    MARKED_METHODS: tuple[str, ...] = ()  # public methods besides __call__ that return pictures: marked as well
    runtime = "torch"  # or "onnx": its networks run in ONNX Runtime (pipelines/onnx.py)

    def onnx_graphs(self) -> dict[str, Any]:
        """Each component as the ONNX graph it exports to ({name: pipelines.onnx.OnnxGraph})."""
        raise GanforgeError(f"{type(self).__name__} has no ONNX export yet; export it with --format safetensors")

    @classmethod
    def onnx_feeds(cls, config: dict[str, Any]) -> dict[str, Any]:
        """How this pipeline's calls of its components map onto their graphs' inputs ({name: OnnxFeed})."""
        raise GanforgeError(f"{cls.__name__} has no ONNX runtime yet; load it with runtime='torch'")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("__call__", *cls.MARKED_METHODS):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_marks_outputs", False):
                setattr(cls, name, _marking(method))

    def provenance(self, settings: dict[str, Any] | None = None, watermark: bool = True,
                   command: str | None = None) -> Any:
        """What a file this pipeline writes carries (`provenance.metadata.Provenance`): the watermark, when on,
        and the metadata naming this model, its task and `settings`."""
        from ganforge.provenance.metadata import provenance_for

        return provenance_for(self, settings, watermark, command)

    @property
    def model_hash(self) -> str:
        """sha256 of the networks' weights (`provenance.metadata.weights_digest`), computed once: what identifies
        the model in its outputs' watermark and metadata; the same for a run and its export."""
        if getattr(self, "_model_hash", None) is None:
            from ganforge.provenance.metadata import weights_digest

            self._model_hash = weights_digest(self.components)
        return self._model_hash  # type: ignore[return-value]

    def to(self, device: str | torch.device) -> Pipeline:
        self.device = torch.device(device)
        for module in self.components.values():
            module.to(self.device)
        return self

    @classmethod
    def from_components(cls, config: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]]) -> Pipeline:
        specs = config["components"]
        missing = sorted(set(specs) - set(weights))
        if missing:
            raise CheckpointError(f"model weights lack components: {', '.join(missing)}")
        return cls({name: build_component(spec, weights[name]) for name, spec in specs.items()}, config)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> Pipeline:
        return load_pipeline(Path(path), expected=cls)

    def save_pretrained(self, out_dir: str | Path, overwrite: bool = False,
                        training_networks: dict[str, dict[str, torch.Tensor]] | None = None,
                        training_state: dict[str, Any] | None = None) -> Path:
        """Write `config.json` + `model.safetensors`, loadable by `ganforge.load`, into a new or empty folder or
        over an earlier export; a folder of anything else needs `overwrite` (its two files are replaced).
        `training_networks` (D, ...) are stored beside the components, and `training_state` (ADA's p) in the config,
        so that `train --init` can go on training."""
        from ganforge.engine.init_weights import TRAINING_NETWORKS_KEY, TRAINING_STATE_KEY
        from ganforge.outputs import folder_is_ours

        out_dir = Path(out_dir)
        if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite and not folder_is_ours(out_dir):
            raise GanforgeError(f"{out_dir} is a folder that holds something other than a ganforge export: export "
                                "into a new or empty folder, or give --overwrite to replace its config.json and "
                                "model.safetensors")
        weights = {name: m.state_dict() for name, m in self.components.items()}
        config = {k: v for k, v in self.config.items() if k not in (TRAINING_NETWORKS_KEY, TRAINING_STATE_KEY)}
        if training_networks:
            clash = sorted(set(training_networks) & set(weights))
            if clash:
                raise GanforgeError(f"training networks named as components: {', '.join(clash)}")
            weights.update(training_networks)
            config[TRAINING_NETWORKS_KEY] = sorted(training_networks)
            if training_state:
                config[TRAINING_STATE_KEY] = dict(training_state)
        return export_model(out_dir, config, weights)

    @staticmethod
    def format_output(images: torch.Tensor, output_type: str) -> Any:
        """[N, C, H, W] in [-1, 1] -> list of PIL images, uint8 NHWC array, or the tensor itself."""
        if output_type == "pt":
            return images
        array = tensor_to_uint8(images)
        if output_type == "np":
            return array
        if output_type == "pil":
            return [to_pil(a) for a in array]
        check_output_type(output_type)


_MARKING: contextvars.ContextVar[bool] = contextvars.ContextVar("ganforge_pipeline_marking", default=False)


UNMARKED_KEYS = frozenset({"mask"})  # entries of a returned dict that are data, not pictures (a stream's mask)


def _marking(call: Any) -> Any:
    """A pipeline's `__call__` (or another of its `MARKED_METHODS`) with `watermark=True` added: its output comes
    back marked (see `Pipeline`)."""

    @functools.wraps(call)
    def __call__(self: Pipeline, *args: Any, watermark: bool = True, **kwargs: Any) -> Any:
        if _MARKING.get():  # inside another pipeline's call: the outer one marks what it returns
            return call(self, *args, **kwargs)
        token = _MARKING.set(True)
        try:
            out = call(self, *args, **kwargs)
        finally:
            _MARKING.reset(token)
        if not watermark:
            return out
        from ganforge.provenance.metadata import utc_now

        inputs = [a for a in [*args, *kwargs.values()] if isinstance(a, (np.ndarray, torch.Tensor))]
        return mark_output(out, self.model_hash, utc_now(), inputs)

    signature = inspect.signature(call)
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    params.insert(at, inspect.Parameter("watermark", inspect.Parameter.KEYWORD_ONLY, default=True, annotation=bool))
    __call__.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    __call__._marks_outputs = True  # type: ignore[attr-defined]
    return __call__


def mark_output(out: Any, model_id: str, when: Any, inputs: list[Any] | tuple[Any, ...] = ()) -> Any:
    """A pipeline's output with every image in it watermarked, in its own type: uint8 arrays [..., H, W, C] (marked
    in place unless they may share memory with an input array), float tensors [..., C, H, W] in [-1, 1] (marked
    as the uint8 images they round to, and turned back, so the mark survives saving), PIL images, and lists,
    tuples and dicts of those (a dict's UNMARKED_KEYS left alone). Anything else is returned as it is."""
    from ganforge.provenance.bands import mark_in_place

    if isinstance(out, np.ndarray):
        if out.dtype != np.uint8 or out.ndim < 2:
            return out
        shared = not out.flags.writeable or any(
            np.may_share_memory(out, a) for a in inputs if isinstance(a, np.ndarray))
        return mark_in_place(out.copy() if shared else out, model_id, when)
    if isinstance(out, torch.Tensor):
        return _mark_tensor(out, model_id, when)
    if isinstance(out, Image.Image):
        if out.mode not in ("L", "LA", "RGB", "RGBA"):
            return out
        return Image.fromarray(mark_in_place(np.array(out), model_id, when))  # the same mode: L, LA, RGB, RGBA
    if isinstance(out, (list, tuple)):
        return type(out)(mark_output(o, model_id, when, inputs) for o in out)
    if isinstance(out, dict):
        return {k: v if k in UNMARKED_KEYS else mark_output(v, model_id, when, inputs) for k, v in out.items()}
    return out


def _mark_tensor(out: torch.Tensor, model_id: str, when: Any) -> torch.Tensor:
    """Float images [..., C, H, W] in [-1, 1] (uint8 ones as they are) marked image by image into a new tensor."""
    from ganforge.imaging import to_signed, to_unsigned
    from ganforge.provenance.bands import mark_in_place

    if out.ndim < 3 or not (out.is_floating_point() or out.dtype == torch.uint8):
        return out
    marked = torch.empty_like(out)
    for index in np.ndindex(*out.shape[:-3]):  # each [C, H, W] image
        image = out[index]
        pixels = image if image.dtype == torch.uint8 else to_unsigned(image)
        array = mark_in_place(pixels.permute(1, 2, 0).cpu().numpy().copy(), model_id, when)  # [H, W, C]
        back = torch.from_numpy(array).permute(2, 0, 1)
        marked[index] = back if image.dtype == torch.uint8 else to_signed(back).to(image.dtype)
    return marked


def stream_png(path: str | Path, bands: Any, shape: tuple[int, int, int], provenance: Any) -> None:
    """Write (first row, uint8 rows) bands of an image of `shape` (H, W, C) into a PNG as they come, each marked as
    the whole image would be, with the metadata of `provenance` (`provenance.metadata.Provenance`)."""
    from ganforge.imaging import PngStreamWriter

    h, w, c = shape
    with PngStreamWriter(path, w, h, c, metadata=provenance.metadata()) as png:
        for top, band in bands:
            png.write_rows(provenance.mark_rows(band, top, h))


def image_items(images: Any, verb: str) -> tuple[list[Any], bool]:
    """A pipeline's image argument as a list, and whether it was one image (a path, PIL image or one array) rather
    than a list or a batch [N, H, W, C]; an empty list is a one-line error naming what was asked (`verb`)."""
    single = isinstance(images, (str, Path, Image.Image, np.ndarray)) and not (
        isinstance(images, np.ndarray) and images.ndim == 4)
    items = [images] if single else list(images)
    if not items:
        raise GanforgeError(f"no images to {verb}")
    return items, single


def check_output_type(output_type: str) -> None:
    """A one-line error for an output_type no pipeline knows, before any work is done."""
    if output_type not in OUTPUT_TYPES:
        raise GanforgeError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")


def _weights_from_run(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    run_dir = enclosing_run_dir(path) or path
    spec_path = run_dir / "model.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{path} has no model.json: is it a ganforge run directory?")
    config = json.loads(spec_path.read_text())
    ckpt = latest_checkpoint(path)
    nets, _ = load_checkpoint(ckpt)
    weights = {}
    for name, spec in config["components"].items():
        candidates = [spec.get("network", "G") + "_ema", spec.get("network", "G")]
        found = next((c for c in candidates if c in nets), None)
        if found is None:
            raise CheckpointError(f"checkpoint {ckpt} has none of {candidates} for component {name!r}")
        weights[name] = nets[found]
    config = dict(config, source={"run": str(run_dir), "checkpoint": ckpt.name})
    return config, weights


def run_discriminators(path: str | Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """The discriminators (D, D_A, ...) of a run's latest checkpoint, or those an export was written with, and the
    training state that goes with them (ADA's p), for an export that can be trained on."""
    from ganforge.engine.init_weights import is_export, read_training_weights

    path = Path(path)
    held = read_training_weights(path)
    found = {name: state for name, state in held.nets.items() if name.startswith("D")}
    if found:
        return found, held.state
    if is_export(path):
        raise CheckpointError(f"{path} is an export without its discriminator: export the run it came from")
    raise CheckpointError(f"checkpoint {held.origin} holds no discriminator")


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    """Config and component weights from an export dir, a run dir or a checkpoint dir."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"model path {path} does not exist: give a run directory or an exported model")
    if (path / "model.safetensors").is_file() and (path / "config.json").is_file():
        return load_export(path)
    return _weights_from_run(path)


def load_pipeline(path: Path, expected: type | None = None) -> Pipeline:
    from ganforge.tasks.spec import import_parts

    import_parts("pipelines")  # each task's pipeline modules register their classes

    config, weights = read_model(path)
    cls = PIPELINES.get(config.get("pipeline", "?"))
    if expected is not None and expected is not Pipeline and not issubclass(cls, expected):
        raise GanforgeError(f"{path} holds a {config.get('pipeline')} model, not a {expected.__name__}")
    pipe = cls.from_components(config, weights)
    pipe.origin = str(path)
    return pipe
