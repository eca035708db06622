"""Pipelines; importing this package registers each task's pipeline."""

from ganforge.pipelines import image, inpaint, translation  # noqa: F401
from ganforge.pipelines.base import PIPELINES, Pipeline, load_pipeline, read_model
from ganforge.pipelines.image import ImageGenerationPipeline
from ganforge.pipelines.inpaint import InpaintPipeline
from ganforge.pipelines.translation import TranslationPipeline

__all__ = ["PIPELINES", "ImageGenerationPipeline", "InpaintPipeline", "Pipeline", "TranslationPipeline", "load_pipeline", "read_model"]
