"""Marking what the project writes, and reading a mark back: the functions commands, pipelines and the studio call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ganforge.provenance import payload as payload_codes
from ganforge.provenance.watermark import HYPOTHESES, Reading, calibrated_mark, mark_array, read_image
from ganforge.provenance.weights import shipped_codec


def watermark_images(images: np.ndarray, model_id: str, when: dt.datetime | None = None,
                     factor: int | None = None, psnr: float | None = None) -> np.ndarray:
    """A marked copy of uint8 images: one [H, W] or [H, W, C], or a stack [N, H, W, C] (frames too).

    The payload says ganforge, an 8-bit fingerprint of `model_id` (a model's hash or name) and the month. `factor`:
    the tile's enlargement when the images are bands of larger ones (default: by their own size). `psnr`: the
    nominal strength (bands of larger images are marked at their image's); None corrects it per image until the
    image's own PSNR lands just above `watermark.MIN_PSNR`.
    """
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(f"watermark_images takes uint8 images, got {array.dtype}")
    codec, _ = shipped_codec()
    bits = payload_codes.encode(payload_codes.Payload.for_model(model_id, when))

    def mark(image: np.ndarray) -> np.ndarray:
        if psnr is None:
            return calibrated_mark(codec, image, bits, factor=factor)
        return mark_array(codec, image, bits, psnr, factor)

    return np.stack([mark(image) for image in array]) if array.ndim == 4 else mark(array)


@dataclass(frozen=True)
class MarkCheck:
    """What one image's mark says: marked or not, the payload, bit matches, and the decision's false-positive rate."""

    marked: bool
    bit_matches: int
    n_bits: int
    false_positive_rate: float
    model_fingerprint: int | None
    month: str | None
    scale: float  # the tile period read, in tiles: 1 as written (2 on images of 512 px and up), else a resize
    pilot_peak: float

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


WRITTEN_CONFIDENCE = 0.9  # the as-written reading is kept unless another is this much more confident (1 / 0.9)


def choose_reading(readings: list[Reading], max_errors: int = payload_codes.MAX_BIT_ERRORS
                   ) -> tuple[int, payload_codes.Decoded]:
    """Which of one image's readings (its alignments) to report, and its decoding: the one that decodes closest to a
    codeword when one decodes as marked; otherwise the likeliest alignment, not the nearest codeword (among readings
    that are all wrong somewhere, the nearest codeword is as often a misaligned reading's as the right one's): the
    tile as written (first) unless another reading's logits are clearly more confident (a crop or a resize)."""
    best, decoded = payload_codes.best_of([r.bits for r in readings], max_errors)
    if decoded.marked:
        return best, decoded
    confidence = [float(np.abs(r.logits).mean()) for r in readings]
    chosen = 0 if confidence[0] >= WRITTEN_CONFIDENCE * max(confidence) else int(np.argmax(confidence))
    return chosen, payload_codes.decode(readings[chosen].bits, max_errors)


def check_mark(image: np.ndarray, max_errors: int = payload_codes.MAX_BIT_ERRORS) -> MarkCheck:
    """Read and decode the mark of one uint8 image; the payload fields are given only when it counts as marked."""
    codec, _ = shipped_codec()
    readings = read_image(codec, image)
    best, decoded = choose_reading(readings, max_errors)
    reading = readings[best]
    return MarkCheck(
        marked=decoded.marked,
        bit_matches=decoded.bit_matches,
        n_bits=payload_codes.N_BITS,
        false_positive_rate=payload_codes.false_positive_rate(max_errors, HYPOTHESES),
        model_fingerprint=decoded.payload.model_fingerprint if decoded.marked else None,
        month=decoded.payload.month_label() if decoded.marked else None,
        scale=round(reading.scale, 4),
        pilot_peak=round(reading.pilot_peak, 2),
    )
