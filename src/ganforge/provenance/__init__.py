"""Provenance: an invisible watermark on everything the project writes, its metadata, and a detector of generated
images (issue 29)."""

from ganforge.provenance.marking import MarkCheck, check_mark, watermark_images

__all__ = ["MarkCheck", "check_mark", "watermark_images"]
