"""Pipelines; importing this package registers each task's pipeline."""

from ganforge.pipelines import image, inpaint, nextframe, superres, translation  # noqa: F401
from ganforge.pipelines.base import PIPELINES, Pipeline, load_pipeline, read_model
from ganforge.pipelines.image import ImageGenerationPipeline
from ganforge.pipelines.inpaint import InpaintPipeline
from ganforge.pipelines.nextframe import FramePredictionPipeline
from ganforge.pipelines.superres import UpscalePipeline
from ganforge.pipelines.translation import TranslationPipeline

__all__ = ["PIPELINES", "FramePredictionPipeline", "ImageGenerationPipeline", "InpaintPipeline", "Pipeline",
           "TranslationPipeline", "UpscalePipeline", "load_pipeline", "read_model"]
