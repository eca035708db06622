"""Pipelines; importing this package registers each task's pipeline."""

from ganforge.pipelines import image, inpaint, nextframe, superres, translation, video  # noqa: F401
from ganforge.pipelines.base import PIPELINES, Pipeline, load_pipeline, read_model
from ganforge.pipelines.image import ImageGenerationPipeline
from ganforge.pipelines.inpaint import InpaintPipeline
from ganforge.pipelines.nextframe import FramePredictionPipeline
from ganforge.pipelines.superres import UpscalePipeline
from ganforge.pipelines.translation import TranslationPipeline
from ganforge.pipelines.video import VideoGenerationPipeline

__all__ = ["PIPELINES", "FramePredictionPipeline", "ImageGenerationPipeline", "InpaintPipeline", "Pipeline",
           "TranslationPipeline", "UpscalePipeline", "VideoGenerationPipeline", "load_pipeline", "read_model"]
