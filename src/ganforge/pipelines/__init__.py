"""Pipelines; importing this package registers each task's pipeline."""

from ganforge.pipelines import image  # noqa: F401
from ganforge.pipelines.base import PIPELINES, Pipeline, load_pipeline, read_model
from ganforge.pipelines.image import ImageGenerationPipeline

__all__ = ["PIPELINES", "ImageGenerationPipeline", "Pipeline", "load_pipeline", "read_model"]
