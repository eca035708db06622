"""scikit-learn's bundled 8x8 digits (1,797 images, labels 0-9): needs no network at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ganforge.data.builtin.base import BuiltinDataset
from ganforge.data.dataset import ImageDataset
from ganforge.errors import DataError


class Digits(BuiltinDataset):
    name = "digits"
    description = "1,797 handwritten digits, 8x8 greyscale, labelled 0-9 (scikit-learn, offline)"
    license = "BSD-3-Clause"
    credit = (
        "scikit-learn's load_digits (BSD-3-Clause), from the UCI Optical Recognition of Handwritten Digits "
        "data set (E. Alpaydin, C. Kaynak)."
    )
    native_resolution = 8

    def card(self) -> str:
        return (
            "# digits\n\n1,797 handwritten digits, 8x8, values 0..16 scaled to 0..255, labels 0-9, from "
            f"scikit-learn's `load_digits()`.\n\nLicence: {self.license}. {self.credit}\n"
        )

    def build(self, from_path: Path | None, workdir: Path) -> dict[str | None, ImageDataset]:
        if from_path is not None:
            raise DataError("digits ships with scikit-learn; it takes no --from path")
        from sklearn.datasets import load_digits

        bunch = load_digits()
        values = np.asarray(bunch.images, dtype=np.float64)  # [N, 8, 8] in 0..16
        images = np.rint(values * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)[..., None]
        labels = np.asarray(bunch.target, dtype=np.int64)
        meta = {
            "name": self.name,
            "source": "sklearn.datasets.load_digits",
            "license": self.license,
            "credit": self.credit,
            "fingerprint": hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest() + ":digits-v1",
        }
        return {None: ImageDataset(images, labels, [str(d) for d in range(10)], meta)}
