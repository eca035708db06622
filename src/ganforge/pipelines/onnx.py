"""ONNX: a pipeline's networks exported as ONNX graphs, and run by ONNX Runtime in place of PyTorch.

    ganforge export RUN --out DIR --format onnx      # DIR/config.json + DIR/<component>.onnx (+ model.safetensors)
    pipe = ganforge.load(DIR, runtime="onnx")        # the same pipeline; its networks run in ONNX Runtime

Each pipeline class declares what its graphs take and return: `onnx_graphs()` (an `OnnxGraph` per component: the
module traced, the input names, the dynamic axes, the tolerance its test holds it to) and `onnx_feeds(config)` (an
`OnnxFeed` per component: how the pipeline's call of the network maps onto the graph's inputs, and what else the
pipeline reads off the network). The pipeline's own code (batching, seeds, tiling, watermarking) runs unchanged
around an `OnnxComponent`, fed to ONNX Runtime (the CPU provider; others when installed). An export with
`--format onnx` holds config.json and the graphs only; `both` keeps model.safetensors too. Needs the `[onnx]` extra
(onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.errors import GanforgeError

OPSET = 18  # torch.onnx's exporter targets it; ONNX Runtime 1.16 and later run it
INSTALL = "pip install 'ganforge[onnx]' (or `make setup`)"
Feed = Callable[..., dict[str, torch.Tensor]]  # the component's call (args, kwargs) -> the graph's inputs by name


@dataclass
class OnnxGraph:
    """One component as an ONNX graph: a module whose forward takes exactly the graph's inputs, in order."""

    module: nn.Module
    example: tuple[torch.Tensor, ...]  # inputs to trace with (batch 2, so the batch axis is not specialised)
    inputs: tuple[str, ...]
    outputs: tuple[str, ...] = ("output",)  # several: the component returns a dict of them (video streams)
    dynamic: dict[str, dict[int, str | tuple[str, int]]] = field(default_factory=dict)  # input -> {axis: name}, or
    # (name, multiple) for a side that must stay a multiple of the network's stride
    tolerance: float = 1e-4  # the largest |ONNX - PyTorch| the tests allow, on outputs in [-1, 1]


@dataclass
class OnnxFeed:
    """How a pipeline calls one component, as the graph's inputs: `feed(*args, **kwargs)` -> {input name: tensor}."""

    feed: Feed
    attributes: dict[str, Any] = field(default_factory=dict)  # what the pipeline reads off the network besides calling it
    methods: dict[str, Callable[..., Any]] = field(default_factory=dict)  # methods it calls: fn(component, ...)


def require_onnx(what: str) -> None:
    """A one-line error naming the extra when onnx, onnxscript or onnxruntime is missing."""
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise GanforgeError(f"{what} needs {', '.join(missing)}: {INSTALL}")


def export_graph(graph: OnnxGraph, path: Path, opset: int = OPSET) -> dict[str, Any]:
    """Write `graph` to `path` (torch.onnx's exporter), check it with onnx.checker, and describe its inputs/outputs."""
    import logging
    import warnings

    import onnx

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # its notes on torchvision's ops, absent here

    def dim(spec: str | tuple[str, int]) -> Any:
        name, multiple = (spec, 1) if isinstance(spec, str) else spec
        if multiple == 1:
            return torch.export.Dim(name, min=1, max=1 << 16)
        return multiple * torch.export.Dim(f"{name}_over_{multiple}", min=1, max=(1 << 16) // multiple)

    dims = {spec: dim(spec) for axes in graph.dynamic.values() for spec in axes.values()}
    shapes = tuple({axis: dims[spec] for axis, spec in graph.dynamic.get(i, {}).items()} or None for i in graph.inputs)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(graph.module.eval(), graph.example, dynamo=True, dynamic_shapes=shapes,
                                        input_names=list(graph.inputs), output_names=list(graph.outputs),
                                        opset_version=opset, verbose=False)
        except Exception as exc:  # the exporter's errors are pages long: one line, from the deepest cause
            root: BaseException = exc
            while root.__cause__ is not None:
                root = root.__cause__
            first = (str(root).strip().splitlines() or [type(root).__name__])[0]
            raise GanforgeError(f"ONNX export of {type(graph.module).__name__} failed: {first[:300]}") from None
    program.save(str(path))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)

    def described(values: Any) -> list[dict[str, Any]]:
        out = []
        for v in values:
            t = v.type.tensor_type
            shape = [d.dim_param or d.dim_value for d in t.shape.dim]
            out.append({"name": v.name, "shape": shape, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name})
        return out

    return {"file": path.name, "opset": opset, "inputs": described(model.graph.input),
            "outputs": described(model.graph.output), "tolerance": graph.tolerance}


def export_onnx(pipe: Any, out_dir: Path, opset: int = OPSET) -> dict[str, Any]:
    """Every component of `pipe` as out_dir/<name>.onnx, described in out_dir/config.json's "onnx" entry (with the
    model's hash, which its outputs' watermark names whatever runs it); returns that entry."""
    require_onnx("ONNX export")
    graphs = pipe.onnx_graphs()
    out_dir.mkdir(parents=True, exist_ok=True)
    entry: dict[str, Any] = {"model_hash": pipe.model_hash, "graphs": {
        name: export_graph(graph, out_dir / f"{name}.onnx", opset) for name, graph in graphs.items()}}
    config_path = out_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else dict(pipe.config)
    config["onnx"] = entry
    tmp = config_path.with_name(".config.json.tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tmp.replace(config_path)
    return entry


def providers() -> list[str]:
    """ONNX Runtime's providers present here, CPU last (the one always there)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in available if p != "CPUExecutionProvider"] + ["CPUExecutionProvider"]


class OnnxComponent(nn.Module):
    """Stands in for a network: called as the pipeline calls it, it runs the ONNX graph and returns a tensor."""

    def __init__(self, path: Path, feed: Feed, attributes: dict[str, Any] | None = None,
                 methods: dict[str, Callable[..., Any]] | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = torch.get_num_threads()  # as many threads as PyTorch has (OMP_NUM_THREADS)
        self.session = ort.InferenceSession(str(path), options, providers=providers())
        self.feed = feed
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.register_buffer("_device_probe", torch.zeros(0), persistent=False)  # next(parameters()) callers
        self.output_names = [o.name for o in self.session.get_outputs()]
        for key, value in (attributes or {}).items():
            setattr(self, key, value)
        for key, fn in (methods or {}).items():
            setattr(self, key, functools.partial(fn, self))

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        named = self.feed(*args, **kwargs)
        inputs = {k: np.ascontiguousarray(v.detach().cpu().numpy()) for k, v in named.items() if k in self.input_names}
        outputs = [torch.from_numpy(o) for o in self.session.run(None, inputs)]
        return outputs[0] if len(outputs) == 1 else dict(zip(self.output_names, outputs))


def load_onnx_pipeline(folder: Path) -> Any:
    """The pipeline of an export folder with its networks run by ONNX Runtime (no model.safetensors needed)."""
    from ganforge.pipelines.base import PIPELINES
    from ganforge.tasks.spec import import_parts

    require_onnx("runtime='onnx'")
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise GanforgeError(f"{folder} is not an exported model (no config.json): export one with `ganforge export RUN "
                            f"--out {folder} --format onnx`")
    config = json.loads(config_path.read_text())
    entry = config.get("onnx") or {}
    import_parts("pipelines")
    cls = PIPELINES.get(config.get("pipeline", "?"))
    feeds = cls.onnx_feeds(config)
    components: dict[str, nn.Module] = {}
    for name, feed in feeds.items():
        graph = (entry.get("graphs") or {}).get(name)
        if graph is None or not (folder / graph["file"]).is_file():
            raise GanforgeError(f"{folder} has no ONNX graph of its {name}: export it with `ganforge export RUN --out "
                                f"{folder} --format onnx`")
        components[name] = OnnxComponent(folder / graph["file"], feed.feed, feed.attributes, feed.methods)
    pipe = cls(components, config)
    pipe.origin = str(folder)
    pipe._model_hash = entry.get("model_hash")
    pipe.runtime = "onnx"
    return pipe
