"""Natural-image crops from the colour photos bundled with scikit-image (no network).

Fetching copies the photos (different sizes) into the cache as PNGs. A dataset at resolution R
is made of seeded random square crops: about 2,000 in all (fewer above 512 px so the array
stays under 1 GiB), spread evenly over the photos, with sides drawn log-uniformly between R and
the photo's short side, each resized to R x R. Crops are labelled by their photo (class names
are the photo names), which a conditional model can use or ignore.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ganforge.data.builtin.base import BuiltinDataset
from ganforge.data.dataset import ImageDataset, atomic_dir
from ganforge.data.lock import cache_lock
from ganforge.data.resize import square_resize
from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")

TOTAL_CROPS = 2000
MAX_BYTES = 1 << 30
DEFAULT_RESOLUTION = 256


def _motorcycle():
    import skimage.data

    return skimage.data.stereo_motorcycle()[0]


def _loader(fn: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, fn)()

    return load


# name, bundled file (checked before loading so nothing is ever downloaded), loader, licence note
PHOTOS: list[tuple[str, str, Callable[[], np.ndarray], str]] = [
    ("astronaut", "astronaut.png", _loader("astronaut"), "public domain (NASA; Eileen Collins)"),
    ("chelsea", "chelsea.png", _loader("chelsea"), "CC0 (photographer Stefan van der Walt)"),
    ("coffee", "coffee.png", _loader("coffee"), "CC0 (photographer Rachel Michetti)"),
    ("hubble_deep_field", "hubble_deep_field.jpg", _loader("hubble_deep_field"), "public domain (NASA)"),
    (
        "motorcycle",
        "motorcycle_left.png",
        _motorcycle,
        "Middlebury 2014 stereo benchmark (Scharstein et al., GCPR 2014) as redistributed by scikit-image; "
        "cite the paper",
    ),
    ("rocket", "rocket.jpg", _loader("rocket"), "public domain (SpaceX)"),
]


def available_photos() -> list[tuple[str, np.ndarray, str]]:
    """(name, RGB uint8 array, licence) for each listed photo that scikit-image has on disk."""
    import skimage.data

    out = []
    for name, fname, load, lic in PHOTOS:
        if not os.path.isfile(os.path.join(skimage.data.data_dir, fname)):
            log.info("scikit-image photo %s is not bundled here; skipping it", name)
            continue
        try:
            arr = np.asarray(load())
        except Exception as exc:  # noqa: BLE001 - any loader failure just drops that photo
            log.info("scikit-image photo %s could not be loaded (%s); skipping it", name, exc)
            continue
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        out.append((name, np.ascontiguousarray(arr[..., :3], dtype=np.uint8), lic))
    return out


def crop_plan(
    size: tuple[int, int], resolution: int, count: int, seed: int
) -> list[tuple[int, int, int, int]]:
    """`count` seeded square boxes inside a (width, height) image, sides log-uniform in [R, short side]."""
    w, h = size
    short = min(w, h)
    lo = min(resolution, short)
    rng = np.random.default_rng(seed)
    sides = np.exp(rng.uniform(math.log(lo), math.log(short), count)).round().astype(int).clip(lo, short)
    boxes = []
    for s in sides:
        x = int(rng.integers(0, w - s + 1))
        y = int(rng.integers(0, h - s + 1))
        boxes.append((x, y, x + int(s), y + int(s)))
    return boxes


class Photos(BuiltinDataset):
    name = "photos"
    description = (
        "seeded random crops of scikit-image's colour photos (astronaut, coffee, chelsea, ...), offline"
    )
    license = "public domain / CC0 (per photo; motorcycle: Middlebury 2014 stereo data, cite the paper)"
    credit = (
        "Photos bundled with scikit-image (see skimage.data docstrings for each photo's source and licence)."
    )
    native_resolution = DEFAULT_RESOLUTION
    stores_native = False

    def _index(self) -> Path:
        return self.cache_dir() / "photos.json"

    def is_cached(self) -> bool:
        return self._index().is_file()

    def photos(self) -> list[dict]:
        self.ensure_fetched()
        return json.loads(self._index().read_text(encoding="utf-8"))["photos"]

    def count(self) -> int | None:
        return len(self.photos()) if self.is_cached() else None

    def cached_summary(self) -> str:
        n = self.count()
        return "" if n is None else f"{n} photos"

    def native_fingerprint(self, variant: str | None = None) -> str:
        return str(json.loads(self._index().read_text(encoding="utf-8"))["fingerprint"])

    def card(self) -> str:
        lines = "\n".join(f"- {name}: {lic}" for name, _, _, lic in PHOTOS)
        return (
            "# photos\n\nColour photos bundled with scikit-image, stored here as PNGs at their own sizes. "
            "`ganforge` makes datasets at resolution R from seeded random square crops (about 2,000, sides "
            "between R and the photo's short side), labelled by photo.\n\nLicences:\n\n" + lines + "\n"
        )

    def fetch(self, from_path: Path | None = None, force: bool = False) -> Path:
        if from_path is not None:
            raise DataError("photos ships with scikit-image; it takes no --from path")
        if self.is_cached() and not force:
            return self.cache_dir()
        with cache_lock(f"dataset-{self.name}"):
            if self.is_cached() and not force:
                return self.cache_dir()
            photos = available_photos()
            if not photos:
                raise DataError(
                    "no scikit-image photos were found on disk; reinstall scikit-image (`pip install --force-reinstall "
                    "scikit-image`)"
                )
            digest = hashlib.sha256()
            with atomic_dir(self.cache_dir()) as tmp:
                (tmp / "images").mkdir()
                index = []
                for name, arr, lic in photos:
                    Image.fromarray(arr).save(tmp / "images" / f"{name}.png")
                    digest.update(name.encode() + arr.tobytes())
                    index.append(
                        {
                            "name": name,
                            "file": f"images/{name}.png",
                            "width": arr.shape[1],
                            "height": arr.shape[0],
                            "license": lic,
                        }
                    )
                doc = {
                    "photos": index,
                    "fingerprint": digest.hexdigest() + ":photos-v1",
                    "source": "skimage.data",
                    "license": self.license,
                    "credit": self.credit,
                }
                (tmp / "photos.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
                (tmp / "README.md").write_text(self.card(), encoding="utf-8")
        return self.cache_dir()

    def load_native(self, variant: str | None = None) -> ImageDataset:
        """Photos have no single native size: this is the crop dataset at 256 x 256."""
        return self.at_resolution(DEFAULT_RESOLUTION, variant)

    def make_at_resolution(self, resolution: int, variant: str | None) -> ImageDataset:
        photos = self.photos()
        total = min(TOTAL_CROPS, max(len(photos), MAX_BYTES // (resolution * resolution * 3)))
        per_photo = math.ceil(total / len(photos))
        jobs: list[tuple[Image.Image, tuple[int, int, int, int]]] = []
        labels: list[int] = []
        for label, p in enumerate(photos):
            im = Image.open(self.cache_dir() / p["file"]).convert("RGB")
            seed = zlib.crc32(f"{p['name']}-{resolution}".encode())
            for box in crop_plan(im.size, resolution, per_photo, seed):
                jobs.append((im, box))
                labels.append(label)
        images = np.empty((len(jobs), resolution, resolution, 3), dtype=np.uint8)

        def work(i: int) -> None:
            im, box = jobs[i]
            images[i] = np.asarray(square_resize(im, resolution, box=box))

        with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
            list(pool.map(work, range(len(jobs))))
        meta = {
            "name": self.name,
            "source": "skimage.data photos: " + ", ".join(p["name"] for p in photos),
            "license": self.license,
            "credit": self.credit,
            "crops": {
                "per_photo": per_photo,
                "side": "log-uniform in [R, short side]",
                "seed": "crc32(name-R)",
            },
        }
        return ImageDataset(images, np.array(labels, dtype=np.int64), [p["name"] for p in photos], meta)
