"""Commands that turn input images into output images one by one (`translate`, `upscale`): which inputs, where
each output goes, and a loop that skips and counts bad files (or stops at the first with `--strict`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ganforge.errors import GanforgeError
from ganforge.imaging import IMAGE_SUFFIXES
from ganforge.outputs import OUTPUT_MARKER

log = logging.getLogger("ganforge")


def _images_in(folder: Path) -> list[Path]:
    """Image files under `folder`, hidden entries and output folders of ours (re-runs into a subfolder) left out."""
    found = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES or any(part.startswith(".") for part in rel.parts):
            continue
        if any((folder / Path(*rel.parts[:i]) / OUTPUT_MARKER).is_file() for i in range(1, len(rel.parts))):
            continue
        found.append(p)
    return found


def collect_inputs(inputs: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """(input file, output PNG) pairs: files as given, folders searched recursively for images, the
    output keeping the stem (and, under a folder, the sub-path). Clashing outputs are an error."""
    jobs: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            found = _images_in(item)
            if not found:
                raise GanforgeError(f"no images found in {item} (looked for {', '.join(IMAGE_SUFFIXES)})")
            jobs += [(p, out / p.relative_to(item).with_suffix(".png")) for p in found]
        elif item.is_file():
            jobs.append((item, out / f"{item.stem}.png"))
        else:
            raise GanforgeError(f"input {item} does not exist: give image files or folders of images")
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        if dst in seen:
            raise GanforgeError(f"{seen[dst]} and {src} would both be written to {dst}: rename one or write "
                                "them into different --out folders")
        seen[dst] = src
    return jobs


def process_each(jobs: list[tuple[Path, Path]], work: Callable[[Path, Path], None], description: str,
                 strict: bool = False) -> int:
    """Run `work(src, dst)` on every job with a progress bar; returns how many succeeded. A bad input (one that
    raises a one-line error) is skipped and counted, with one warning at the end, unless `strict`; when every
    input fails, the first failure is the error."""
    from ganforge.cli.progress import DataProgress

    failures: list[str] = []
    with DataProgress(description) as bar:
        for i, (src, dst) in enumerate(jobs):
            try:
                work(src, dst)
            except GanforgeError as exc:
                if strict or len(jobs) == 1:
                    raise
                failures.append(str(exc))
            bar(i + 1, len(jobs))
    if failures and len(failures) == len(jobs):
        raise GanforgeError(f"none of the {len(jobs)} inputs could be used; the first: {failures[0]}")
    if failures:
        log.warning("skipped %d of %d inputs that could not be used (--strict makes this an error); the first: %s",
                    len(failures), len(jobs), failures[0])
    return len(jobs) - len(failures)
