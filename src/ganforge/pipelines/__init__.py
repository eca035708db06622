"""Pipelines: the shared base here, each task's own in its folder (tasks/<task>/pipeline.py).

The built-in pipeline classes stay importable from here by name, loaded on first use.
"""

from typing import Any

from ganforge.pipelines.base import PIPELINES, Pipeline, load_pipeline, read_model

_BUILTIN = {
    "ImageGenerationPipeline": "ganforge.tasks.image.pipeline",
    "TranslationPipeline": "ganforge.tasks.translation.pipeline",
    "InpaintPipeline": "ganforge.tasks.inpaint.pipeline",
    "UpscalePipeline": "ganforge.tasks.superres.pipeline",
    "FramePredictionPipeline": "ganforge.tasks.nextframe.pipeline",
    "VideoGenerationPipeline": "ganforge.tasks.video.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _BUILTIN:
        import importlib

        return getattr(importlib.import_module(_BUILTIN[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PIPELINES", "Pipeline", "load_pipeline", "read_model", *_BUILTIN]
