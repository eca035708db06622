"""`--data` to an ImageDataset: a built-in name, a prepared dataset directory, or a raw folder/zip.

- Built-in names (`mnist`, `emoji`, `emoji-twitter` or `emoji:twitter`, `photos`, `digits`) are
  fetched when not cached and resized once to R, cached in `prepared_dir()/<name>-<R>/`. A built-in
  name wins over a folder of the same name in the current directory; write `./photos` for the folder.
- A prepared dataset directory at another resolution is resized in memory, with a warning that
  says how to prepare it at R instead (nothing is written next to the user's data).
- A raw folder or zip is prepared on the fly into `prepared_dir()/<name>-<fingerprint12>-<R>/`
  and reused while its files (names, sizes, mtimes; CRCs in a zip) stay the same.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ganforge.data.builtin import builtin_names, parse_builtin
from ganforge.data.dataset import ImageDataset, is_prepared, load_prepared
from ganforge.data.folder import check_source
from ganforge.data.lock import cache_lock
from ganforge.data.prepare import Progress, folder_fingerprint, prepare_folder
from ganforge.data.resize import check_resolution, resize_dataset
from ganforge.errors import DataError
from ganforge.paths import prepared_dir

log = logging.getLogger("ganforge.data")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "data"


def _check_strict_cache(ds: ImageDataset, strict: bool) -> None:
    """A cached preparation that skipped files still fails under --strict, as a fresh one would."""
    skipped = ds.meta.get("skipped_files") or []
    if strict and skipped:
        name, reason = skipped[0]
        raise DataError(
            f"bad image {name!r} in {ds.meta.get('source')}: {reason}; fix or remove it, or leave out --strict to "
            "skip bad files"
        )


def prepare_cached(
    src: Path, resolution: int, strict: bool = False, progress: Progress | None = None
) -> ImageDataset:
    """A raw folder or zip prepared at R, from the cache when its content has not changed."""
    root = check_source(src)
    fingerprint = folder_fingerprint(root)
    stem = root.stem if root.is_file() else root.name
    out = prepared_dir() / f"{_safe_name(stem)}-{fingerprint[:12]}-{resolution}"
    with cache_lock(f"prepared-{out.name}"):
        ds = _cached(out, fingerprint, resolution)
        if ds is not None:
            _check_strict_cache(ds, strict)
            log.info("using the cached preparation of %s in %s", root, out)
            return ds
        log.info("preparing %s at %dx%d into %s (done once, then reused)", root, resolution, resolution, out)
        return prepare_folder(root, out, resolution, strict=strict, progress=progress)


def _cached(out: Path, fingerprint: str, resolution: int) -> ImageDataset | None:
    if not is_prepared(out):
        return None
    try:
        ds = load_prepared(out)
    except DataError:
        return None
    return ds if ds.meta.get("fingerprint") == fingerprint and ds.resolution == resolution else None


def resolve_dataset(
    data: str | Path,
    resolution: int,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImageDataset:
    """The dataset `data` names, at resolution x resolution (see the module docstring for the rules)."""
    resolution = check_resolution(resolution)
    text = str(data).strip()
    path = Path(text).expanduser()
    hit = parse_builtin(text) if not isinstance(data, Path) else None
    if hit is not None:
        if path.exists():
            log.warning(
                "%r is a built-in dataset and also a path here; using the built-in (write ./%s for the path)",
                text,
                text,
            )
        builtin, variant = hit
        return builtin.at_resolution(resolution, variant)
    if not path.exists():
        raise DataError(
            f"--data {text!r} is neither a built-in dataset ({', '.join(builtin_names())}) nor an existing folder, "
            "zip file or prepared dataset"
        )
    if path.is_dir() and (is_prepared(path) or (path / "dataset.json").is_file()):
        ds = load_prepared(path)
        if ds.resolution != resolution:
            log.warning(
                "%s is prepared at %dx%d; resizing it to %dx%d in memory (run `ganforge data prepare SRC --out DIR "
                "--resolution %d` to prepare it at that size once)",
                path,
                ds.resolution,
                ds.resolution,
                resolution,
                resolution,
                resolution,
            )
            source = ds.path
            ds = resize_dataset(ds, resolution)
            ds.meta["resized_from"] = str(source)
        return ds
    return prepare_cached(path, resolution, strict=strict, progress=progress)
