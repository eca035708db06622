"""What every built-in dataset offers: fetch once into the cache, load natively, load at R x R.

A fetched dataset lives in `datasets_dir()/<name>/` as one prepared dataset directory at its
native resolution (or one per variant, in `<name>/<variant>/`) plus a README.md dataset card.
The whole folder is written atomically. Other resolutions are resized from it once and cached
in `prepared_dir()/<name>[-<variant>]-<R>/`, keyed by the native data's fingerprint so that a
forced re-fetch invalidates them.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

from ganforge.data.dataset import (
    ImageDataset,
    atomic_dir,
    is_prepared,
    load_prepared,
    save_prepared,
    write_prepared_files,
)
from ganforge.data.lock import cache_lock
from ganforge.data.resize import check_resolution, resize_dataset
from ganforge.errors import DataError
from ganforge.paths import datasets_dir, prepared_dir

log = logging.getLogger("ganforge.data")


class BuiltinDataset:
    """Base class: subclasses set the class attributes and implement `build`."""

    name: str = ""
    description: str = ""
    license: str = ""
    credit: str = ""  # who made the data, for the dataset card
    native_resolution: int = 0
    variants: tuple[str, ...] = ()  # empty: a single dataset
    default_variant: str | None = None
    stores_native: bool = True  # False when the cache holds sources, not a prepared dataset
    needs_network: bool = False

    # --- to implement -------------------------------------------------------------------------
    def build(self, from_path: Path | None, workdir: Path) -> dict[str | None, ImageDataset]:
        """Produce the native dataset(s): {variant: dataset}, or {None: dataset} without variants.

        Every built-in that stores a prepared native dataset overrides this; `photos` stores
        source photos instead and overrides the loading methods.
        """
        raise TypeError(f"built-in {self.name!r} stores no native dataset to build")

    def card(self) -> str:
        """README.md text for the cache folder."""
        return f"# {self.name}\n\n{self.description}\n\nLicence: {self.license}\n\n{self.credit}\n"

    # --- cache --------------------------------------------------------------------------------
    def cache_dir(self) -> Path:
        return datasets_dir() / self.name

    def check_variant(self, variant: str | None) -> str | None:
        if not self.variants:
            if variant not in (None, ""):
                raise DataError(f"built-in dataset {self.name!r} has no variants (got {variant!r})")
            return None
        variant = variant or self.default_variant
        if variant not in self.variants:
            raise DataError(
                f"built-in dataset {self.name!r} has no variant {variant!r}; choose one of: {', '.join(self.variants)}"
            )
        return variant

    def variant_dir(self, variant: str | None = None) -> Path:
        variant = self.check_variant(variant)
        return self.cache_dir() / variant if variant else self.cache_dir()

    def is_cached(self) -> bool:
        if self.variants:
            return all(is_prepared(self.cache_dir() / v) for v in self.variants)
        return is_prepared(self.cache_dir())

    def size_bytes(self) -> int:
        """Bytes on disk of the fetched data (0 when not cached)."""
        root = self.cache_dir()
        if not root.exists():
            return 0
        return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())

    def count(self) -> int | None:
        """Images in the (default variant of the) cached dataset, or None when not cached."""
        if not self.is_cached():
            return None
        meta = json.loads((self.variant_dir() / "dataset.json").read_text(encoding="utf-8"))
        return int(meta.get("count", 0))

    def cached_summary(self) -> str:
        """How many images the cache holds, for `data list`."""
        n = self.count()
        if n is None:
            return ""
        return f"{len(self.variants)} x {n:,} images" if self.variants else f"{n:,} images"

    # --- fetch --------------------------------------------------------------------------------
    def fetch(self, from_path: Path | None = None, force: bool = False) -> Path:
        """Fetch and convert into the cache (at once if already cached, unless `force`); return the folder."""
        if self.is_cached() and not force:
            return self.cache_dir()
        with cache_lock(f"dataset-{self.name}"):
            if self.is_cached() and not force:  # another process fetched it while we waited
                return self.cache_dir()
            workdir = Path(tempfile.mkdtemp(prefix=f"ganforge-{self.name}-"))
            try:
                built = self.build(Path(from_path).expanduser() if from_path is not None else None, workdir)
                with atomic_dir(self.cache_dir()) as tmp:
                    self.write_cache(built, tmp)
                    (tmp / "README.md").write_text(self.card(), encoding="utf-8")
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        log.info("%s is ready in %s", self.name, self.cache_dir())
        return self.cache_dir()

    def write_cache(self, built: dict[str | None, ImageDataset], folder: Path) -> None:
        """Write the built dataset(s) into the (temporary) cache folder."""
        for variant, ds in built.items():
            target = folder / variant if variant else folder
            target.mkdir(parents=True, exist_ok=True)
            ds.meta.setdefault("card", self.card())
            write_prepared_files(ds, target)

    def ensure_fetched(self) -> None:
        if not self.is_cached():
            # a network fetch is worth a visible line; the offline ones are quick and quiet
            level = logging.WARNING if self.needs_network else logging.INFO
            log.log(level, "built-in dataset %s is not cached yet; fetching it now", self.name)
            self.fetch()

    # --- load ---------------------------------------------------------------------------------
    def load_native(self, variant: str | None = None) -> ImageDataset:
        """The dataset at its native resolution (fetched first if needed)."""
        variant = self.check_variant(variant)
        self.ensure_fetched()
        return load_prepared(self.variant_dir(variant))

    def native_fingerprint(self, variant: str | None = None) -> str:
        meta = json.loads((self.variant_dir(variant) / "dataset.json").read_text(encoding="utf-8"))
        return str(meta.get("fingerprint", ""))

    def dataset_name(self, variant: str | None = None) -> str:
        variant = self.check_variant(variant)
        return self.name if variant in (None, self.default_variant) else f"{self.name}-{variant}"

    def make_at_resolution(self, resolution: int, variant: str | None) -> ImageDataset:
        """Build the dataset at `resolution` from the cache (default: resize the native arrays)."""
        return resize_dataset(self.load_native(variant), resolution)

    def at_resolution(self, resolution: int, variant: str | None = None) -> ImageDataset:
        """The dataset at resolution x resolution, resized once and cached under prepared_dir()."""
        resolution = check_resolution(resolution)
        variant = self.check_variant(variant)
        self.ensure_fetched()
        if self.stores_native and resolution == self.native_resolution:
            return self.load_native(variant)
        name = self.dataset_name(variant)
        out = prepared_dir() / f"{name}-{resolution}"
        fingerprint = self.native_fingerprint(variant)
        cached = self._cached_at(out, fingerprint)
        if cached is not None:
            return cached
        with cache_lock(f"prepared-{out.name}"):
            cached = self._cached_at(out, fingerprint)  # made by another process while we waited
            if cached is not None:
                return cached
            log.info("resizing %s to %dx%d (once; cached in %s)", name, resolution, resolution, out)
            ds = self.make_at_resolution(resolution, variant)
            ds.meta = dict(ds.meta, name=name, source_fingerprint=fingerprint, resolution=resolution)
            save_prepared(ds, out)
        return ds

    @staticmethod
    def _cached_at(out: Path, fingerprint: str) -> ImageDataset | None:
        if not is_prepared(out):
            return None
        try:
            cached = load_prepared(out)
        except DataError:
            return None
        return cached if cached.meta.get("source_fingerprint") == fingerprint else None
