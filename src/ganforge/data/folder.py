"""Any folder or zip file of images is a dataset: list its images, find class labels, read bytes.

Labels come from first-level subfolders, as in torchvision's ImageFolder: when two or more
first-level subfolders hold images, each is a class (sorted names) and images lying directly at
the top level are ignored with a warning. With fewer than two such subfolders the dataset is
unlabelled and every image is used. Wrapper folders are looked through first: a zip holding one
folder `faces/` is read as if `faces/` were the top level. Hidden files and folders (names that
start with '.') and `__MACOSX` are ignored, as are files without an image extension.
"""

from __future__ import annotations

import logging
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ganforge.data.decode import IMAGE_EXTENSIONS, BadImage, decode_guard, decode_rgb
from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")


@dataclass(frozen=True)
class FileInfo:
    """One image-extension file: its name inside the source, size in bytes and a change stamp."""

    name: str  # relative POSIX path inside the folder or zip
    size: int
    stamp: int  # mtime in ns for folders, CRC-32 for zip members


@dataclass
class ScanResult:
    """What a scan found; entries are (relative name, label or -1), sorted by name."""

    entries: list[tuple[str, int]]
    class_names: list[str]
    root: Path
    ignored_top_level: list[str] = field(default_factory=list)
    prefix: str = ""  # wrapper folders looked through, e.g. "faces/"

    @property
    def labelled(self) -> bool:
        return bool(self.class_names)

    @property
    def total(self) -> int:
        return len(self.entries)


def _hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def _is_prepared_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "images.npy")) and os.path.isfile(
        os.path.join(path, "dataset.json")
    )


def is_zip(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)


def check_source(src: Path) -> Path:
    """The source as an absolute path; DataError when it is missing or neither a folder nor a zip."""
    src = Path(src).expanduser()
    if not src.exists():
        raise DataError(
            f"dataset path {src} does not exist; give a folder or zip file of images, or a built-in name"
        )
    if not (src.is_dir() or is_zip(src)):
        raise DataError(
            f"dataset path {src} is neither a folder nor a zip file; give a folder or zip of images "
            f"({', '.join(IMAGE_EXTENSIONS)})"
        )
    return src.resolve()


def list_files(src: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[FileInfo]:
    """Every non-hidden file with one of `extensions` (default: images) in the folder or zip, sorted by name."""
    src = check_source(src)
    out: list[FileInfo] = []
    if src.is_dir():
        for dirpath, dirnames, filenames in os.walk(src):
            # skip hidden folders and prepared datasets (an --out placed inside the source)
            dirnames[:] = [
                d for d in dirnames if not _hidden(d) and not _is_prepared_dir(os.path.join(dirpath, d))
            ]
            rel_dir = Path(dirpath).relative_to(src).as_posix()
            for fname in filenames:
                if _hidden(fname) or not fname.lower().endswith(extensions):
                    continue
                full = os.path.join(dirpath, fname)
                try:
                    st = os.stat(full)
                except OSError:
                    st = None
                name = fname if rel_dir == "." else f"{rel_dir}/{fname}"
                out.append(FileInfo(name, st.st_size if st else -1, st.st_mtime_ns if st else 0))
    else:
        try:
            with zipfile.ZipFile(src) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(
                f"cannot read zip file {src} ({exc}); check the file or unpack it into a folder"
            ) from exc
        for info in infos:
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if (
                info.filename.startswith("/")
                or any(_hidden(p) for p in parts)
                or not parts[-1].lower().endswith(extensions)
            ):
                continue
            out.append(FileInfo(info.filename, info.file_size, info.CRC))
    out.sort(key=lambda f: f.name)
    return out


def _strip_wrappers(names: list[str]) -> str:
    """The prefix of single folders that wrap everything, e.g. 'faces/' for a zip of one folder."""
    prefix = ""
    rest = names
    while rest and all("/" in n for n in rest):
        firsts = {n.split("/", 1)[0] for n in rest}
        if len(firsts) != 1:
            break
        head = firsts.pop()
        prefix += head + "/"
        rest = [n.split("/", 1)[1] for n in rest]
    return prefix


def scan_images(src: Path, strict: bool = False) -> ScanResult:
    """List the images of a folder or zip and their labels; decoding (and finding bad files) is prepare's job.

    With `strict`, a zero-byte file is already an error here. A source without images is an error.
    """
    root = check_source(src)
    files = list_files(root)
    if not files:
        raise DataError(
            f"no images found in {root} (looked for {', '.join(IMAGE_EXTENSIONS)}, skipping hidden files); "
            "point to a folder or zip that holds images"
        )
    prefix = _strip_wrappers([f.name for f in files])
    rel = {f.name: f.name[len(prefix) :] for f in files}
    classes = sorted({r.split("/", 1)[0] for r in rel.values() if "/" in r})
    labelled = len(classes) >= 2
    index = {c: i for i, c in enumerate(classes)}
    result = ScanResult(entries=[], class_names=classes if labelled else [], root=root, prefix=prefix)
    for f in files:
        r = rel[f.name]
        label = -1
        if labelled:
            if "/" not in r:
                result.ignored_top_level.append(f.name)
                continue
            label = index[r.split("/", 1)[0]]
        if f.size == 0 and strict:
            raise bad_file_error(root, f.name, BadImage("zero-byte", "empty file"))
        result.entries.append((f.name, label))
    if result.ignored_top_level:
        log.warning(
            "ignored %d image(s) at the top level of %s because its subfolders define classes (%s); "
            "move them into a class folder to use them",
            len(result.ignored_top_level),
            root,
            ", ".join(classes),
        )
    return result


def bad_file_error(root: Path, name: str, bad: BadImage) -> DataError:
    """The strict-mode error for one bad file."""
    return DataError(
        f"bad image {name!r} in {root}: {bad}; fix or remove it, or leave out --strict to skip bad files"
    )


class ImageSource:
    """Reads the bytes of named files from a folder or a zip (kept open; safe across threads)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self.root) if self.root.is_file() else None
        self._lock = threading.Lock()

    def read(self, name: str) -> bytes:
        """The file's bytes; BadImage('unreadable') when the OS or the zip refuses."""
        try:
            if self._zip is None:
                return (self.root / name).read_bytes()
            with self._lock:
                return self._zip.read(name)
        except (OSError, RuntimeError, zipfile.BadZipFile, KeyError, NotImplementedError) as exc:
            raise BadImage("unreadable", str(exc) or type(exc).__name__) from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_image(src_root: Path, name: str) -> Image.Image:
    """One image of a folder or zip as RGB (alpha on white, 16-bit scaled); DataError if unusable."""
    root = check_source(src_root)
    with ImageSource(root) as source, decode_guard():
        try:
            return decode_rgb(source.read(name))
        except BadImage as bad:  # no --strict hint: the callers of one image (metrics) have no such option
            raise DataError(f"bad image {name!r} in {root}: {bad}") from None
