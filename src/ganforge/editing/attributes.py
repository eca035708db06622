"""Attribute classifiers that label a generator's samples, for InterFaceGAN's boundaries and for scoring edits.

Emoji skin tone and category are read by the frozen alignment evaluator's heads (metrics/alignment.py: trained on
real emoji of the train split, 0.99 tone and 0.88 category accuracy on held-out real ones), the gender variant by a
linear probe on its features (metrics/gender.py: 0.78 on held-out real emoji), mnist digits by the shipped digit
classifier (metrics/digits.py: 0.98 on held-out digits). An attribute is named `skin-tone:medium-dark`,
`category:flags`, `gender:woman` or `digit:7`; each value is one class of its classifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from ganforge.errors import GanforgeError


def slug(text: str) -> str:
    """'Animals & Nature' -> 'animals-nature'; 'medium-dark skin tone' -> 'medium-dark'."""
    text = text.lower().replace(" skin tone", "").replace("&", " ")
    return "-".join(text.replace("-", " ").split())


@dataclass
class Attribute:
    """One class of one classifier: `kind:value`, the class index, and the classifier's class names."""

    kind: str
    value: str
    index: int
    classes: list[str]

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.value}"


NONE_CLASS = {"skin-tone": 0, "gender": 0}  # the class of images without the attribute (no person)
# An attribute named without a value is an ordered one: its positive side's classes against its negative side's
# (`skin-tone` alone: the two darker tones against the two lighter, medium left out), so a strength reads as
# "darker" and a negative one as "lighter".
ORDERED = {"skin-tone": ("darker", (4, 5), (1, 2))}


def attribute_classes(kind: str) -> list[str]:
    """The class names of a classifier, as attribute values (slugs)."""
    from ganforge.metrics.alignment import TONES, load_evaluator
    from ganforge.metrics.gender import GENDERS

    if kind == "skin-tone":
        return [slug(t) for t in TONES]
    if kind == "category":
        return [slug(c) for c in json.loads(load_evaluator()[1]["categories"])]
    if kind == "gender":
        return list(GENDERS)
    if kind == "digit":
        return [str(d) for d in range(10)]
    raise GanforgeError(f"unknown attribute {kind!r}: give skin-tone:TONE, category:NAME, gender:man|woman|person "
                        "or digit:D")


def parse_attribute(text: str) -> Attribute:
    """`skin-tone:dark` / `category:flags` -> an Attribute, with a one-line error naming the choices; `skin-tone`
    alone (or `skin-tone:darker`) -> the ordered attribute (ORDERED), index -1."""
    kind, _, value = str(text).strip().partition(":")
    classes = attribute_classes(kind)
    value = slug(value)
    if kind in ORDERED and value in ("", ORDERED[kind][0]):
        return Attribute(kind, ORDERED[kind][0], -1, classes)
    if value not in classes:
        raise GanforgeError(f"{kind}:{value or '?'}: choose one of {', '.join(f'{kind}:{c}' for c in classes)}")
    return Attribute(kind, value, classes.index(value), classes)


@torch.inference_mode()
def classify(images: np.ndarray, kind: str) -> np.ndarray:
    """uint8 [N, H, W, C] -> [N, classes] probabilities of the `kind` classifier (RGB images, grey for digits)."""
    from ganforge.metrics.alignment import load_evaluator

    if kind == "digit":
        from ganforge.metrics.digits import digit_probabilities

        return digit_probabilities(images).numpy()
    if images.shape[-1] != 3:
        raise GanforgeError(f"the {kind} classifier reads colour emoji; this generator draws {images.shape[-1]} channel(s)")
    if kind == "gender":
        from ganforge.metrics.gender import gender_probabilities

        return gender_probabilities(images)
    net, _ = load_evaluator()
    head = {"skin-tone": "tone", "category": "category"}[kind]
    out = []
    for start in range(0, len(images), 128):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + 128])).permute(0, 3, 1, 2)
        out.append(net(chunk)[head].softmax(1).numpy())
    return np.concatenate(out)
