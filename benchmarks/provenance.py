"""Issue 29's watermark bars: PSNR, bit accuracy and detection through edits at 64 and 256 px, false positives on
every real set, and (with --dwtdct) invisible-watermark's dwtDct side by side at 256 px.

    .venv/bin/python benchmarks/provenance.py [--codec PATH] [--n64 200] [--n256 100] [--fpr [--fpr-sets S,...]]
        [--dwtdct DIR]

--codec: a trained codec (default: the shipped one). --fpr: read every image of the real sets (emoji google and
twitter, mnist, digits, photos) unmarked and count those called marked; --fpr-sets only some of them (to split the
pass over processes; --n64 0 --n256 0 skips the edits). --dwtdct DIR: a folder holding the
invisible-watermark package (`pip install --no-deps --target DIR invisible-watermark PyWavelets
opencv-python-headless`); it is imported from there, never from the project's environment. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.provenance import payload as codes
from ganforge.provenance.marking import choose_reading
from ganforge.provenance.watermark import (
    HYPOTHESES,
    MIN_PSNR,
    TARGET_PSNR,
    calibrated_mark,
    image_luma,
    read_luma,
)
from ganforge.provenance.weights import SHIPPED, load_codec_file

HERE = Path(__file__).resolve().parent


def pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def back(image: Image.Image, channels: int) -> np.ndarray:
    array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    return array[:, :, None] if array.ndim == 2 else array


def jpeg(quality: int) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def edit(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        buf = io.BytesIO()
        pil(array).save(buf, format="JPEG", quality=quality)
        return back(Image.open(io.BytesIO(buf.getvalue())), array.shape[2])
    return edit


def gif(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A GIF file written and read back as Pillow writes the project's GIFs (adaptive palette, dithered)."""
    buf = io.BytesIO()
    pil(array).save(buf, format="GIF")
    return back(Image.open(io.BytesIO(buf.getvalue())), array.shape[2])


def resize(scale: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def edit(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = array.shape[:2]
        return back(pil(array).resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC), array.shape[2])
    return edit


def crop(area: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def edit(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = array.shape[:2]
        ch, cw = round(h * math.sqrt(area)), round(w * math.sqrt(area))
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        return array[top : top + ch, left : left + cw]
    return edit


EDITS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "clean": lambda a, rng: a, "jpeg95": jpeg(95), "jpeg75": jpeg(75), "jpeg50": jpeg(50), "gif": gif,
    "resize0.5": resize(0.5), "resize1.5": resize(1.5), "crop50": crop(0.5),
}
BARS = {"clean": 0.995, "jpeg75": 0.95, "gif": 0.95, "jpeg50": 0.90, "resize0.5": 0.90, "crop50": 0.90}


def carriers(n64: int, n256: int, seed: int) -> dict[str, list[np.ndarray]]:
    """What gets marked: 64-px images of every real set, and 256-px photo crops plus 274-px grids of zoo:emoji-32."""
    import ganforge
    from ganforge.data.resolve import resolve_dataset

    rng = np.random.default_rng(seed)
    small = []
    for name in ("emoji", "emoji-twitter", "photos", "mnist"):
        images = resolve_dataset(name, 64).images
        small += [images[i] for i in rng.choice(len(images), n64 // 4, replace=False)]
    photos = resolve_dataset("photos", 256).images
    large = [photos[i] for i in rng.choice(len(photos), n256 - n256 // 2, replace=False)]
    pipe = ganforge.load("zoo:emoji-32")
    from ganforge.imaging import make_grid

    for i in range(n256 // 2):
        large.append(make_grid(pipe(n=64, seed=1000 + i, output_type="np", watermark=False)))
    return {"64px": small, "256px": large}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def read_all(codec, images: list[np.ndarray]) -> list:
    """Readings of a list of images, batched by size."""
    out: list = [None] * len(images)
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        by_size.setdefault(image.shape[:2], []).append(i)
    for indices in by_size.values():
        for start in range(0, len(indices), 256):
            chunk = indices[start : start + 256]
            y = torch.cat([image_luma(images[i]) for i in chunk])
            for i, reading in zip(chunk, read_luma(codec, y), strict=True):
                out[i] = reading
    return out


def watermark_rows(codec, sets: dict[str, list[np.ndarray]], seed: int) -> dict:
    rows = {}
    rng = np.random.default_rng(seed)
    for set_name, images in sets.items():
        if not images:  # --n64 0 or --n256 0
            continue
        payloads = [codes.Payload(int(rng.integers(256)), int(rng.integers(256))) for _ in images]
        bits = [codes.encode(p) for p in payloads]
        marked = [calibrated_mark(codec, im, b) for im, b in zip(images, bits, strict=True)]
        psnrs = [psnr(m, im) for m, im in zip(marked, images, strict=True)]
        row = {"n": len(images), "psnr_mean": float(np.mean(psnrs)), "psnr_min": float(np.min(psnrs))}
        for edit_name, edit in EDITS.items():
            edited = [edit(m, rng) for m in marked]
            readings = read_all(codec, edited)
            chosen = [choose_reading(rs) for rs in readings]
            acc = [float((rs[k].bits == b).mean()) for rs, (k, _), b in zip(readings, chosen, bits, strict=True)]
            decoded = [d for _, d in chosen]
            right = [d.marked and d.payload == p for d, p in zip(decoded, payloads, strict=True)]
            row[edit_name] = {"bit_acc": float(np.mean(acc)), "detected": float(np.mean([d.marked for d in decoded])),
                              "payload_right": float(np.mean(right)),
                              **({"bar": BARS[edit_name]} if edit_name in BARS else {})}
        rows[set_name] = row
        print(f"watermark, {set_name}: done", file=sys.stderr, flush=True)
    return rows


REAL_SETS = (("emoji", 64), ("emoji-twitter", 64), ("mnist", 32), ("digits", 32), ("photos", 64), ("photos", 256))


def false_positives(codec, only: set[str] | None = None) -> dict:
    """Every image of the real sets (or of those named NAME-RES in `only`) read unmarked, at the resolution each is
    kept at."""
    from ganforge.data.resolve import resolve_dataset

    rows, total, flagged = {}, 0, 0
    for name, res in REAL_SETS:
        if only is not None and f"{name}-{res}" not in only:
            continue
        images = list(resolve_dataset(name, res).images)
        started = time.perf_counter()
        readings = read_all(codec, images)
        decoded = [choose_reading(rs)[1] for rs in readings]
        hits = sum(d.marked for d in decoded)
        matches = np.array([d.bit_matches for d in decoded])
        rows[f"{name}-{res}"] = {"n": len(images), "flagged": int(hits), "max_bit_matches": int(matches.max()),
                                 "sec": round(time.perf_counter() - started, 1)}
        print(f"false positives, {name} at {res} px: {rows[f'{name}-{res}']}", file=sys.stderr, flush=True)
        total += len(images)
        flagged += hits
    rows["all"] = {"n": total, "flagged": flagged, "rate": flagged / total}
    return rows


def dwtdct_rows(folder: Path, sets: dict[str, list[np.ndarray]], seed: int) -> dict:
    """invisible-watermark's dwtDct (48 bits, its defaults) through the same edits, on the 256-px set."""
    sys.path.insert(0, str(folder))
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    rng = np.random.default_rng(seed)
    images = [im if im.shape[2] == 3 else np.repeat(im, 3, axis=2) for im in sets["256px"]]
    row = {}
    marked, bits = [], []
    for im in images:
        b = rng.integers(0, 2, 48).astype(np.uint8)
        enc = WatermarkEncoder()
        enc.set_watermark("bits", b.tolist())
        bgr = np.ascontiguousarray(im[:, :, ::-1])
        marked.append(np.ascontiguousarray(enc.encode(bgr, "dwtDct")[:, :, ::-1]))
        bits.append(b)
    row["psnr_mean"] = float(np.mean([psnr(m, im) for m, im in zip(marked, images, strict=True)]))
    for edit_name, edit in EDITS.items():
        acc = []
        for m, b in zip(marked, bits, strict=True):
            edited = edit(m, rng)
            dec = WatermarkDecoder("bits", 48)
            try:
                got = np.array(dec.decode(np.ascontiguousarray(edited[:, :, ::-1]), "dwtDct"), dtype=np.uint8)
            except RuntimeError as exc:  # its decoder refuses images under 256 x 256 (a crop, a shrink)
                row[edit_name] = {"bit_acc": None, "error": str(exc)}
                break
            acc.append(float((got == b).mean()))
        else:
            row[edit_name] = {"bit_acc": float(np.mean(acc))}
    return {"256px": row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", type=Path, default=SHIPPED)
    parser.add_argument("--n64", type=int, default=200)
    parser.add_argument("--n256", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fpr", action="store_true")
    parser.add_argument("--fpr-sets", default=None, help="with --fpr: only these real sets, e.g. photos-256,mnist-32 "
                        "(to split the pass over processes); default: all of " + ", ".join(f"{n}-{r}" for n, r in REAL_SETS))
    parser.add_argument("--dwtdct", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from report import machine, rounded

    codec, meta = load_codec_file(args.codec)
    started = time.perf_counter()
    sets = carriers(args.n64, args.n256, args.seed)
    result = {"codec": str(args.codec), "codec_steps": meta.get("steps"), "psnr_target": TARGET_PSNR, "psnr_floor": MIN_PSNR,
              "max_bit_errors": codes.MAX_BIT_ERRORS, "false_positive_rate_computed": codes.false_positive_rate(readings=HYPOTHESES),
              "watermark": watermark_rows(codec, sets, args.seed) if args.n64 or args.n256 else None}
    if args.fpr:
        only = set(args.fpr_sets.split(",")) if args.fpr_sets else None
        unknown = (only or set()) - {f"{n}-{r}" for n, r in REAL_SETS}
        if unknown:
            parser.error(f"unknown --fpr-sets {sorted(unknown)}")
        result["false_positives"] = false_positives(codec, only)
    if args.dwtdct:
        result["dwtdct"] = dwtdct_rows(args.dwtdct, sets, args.seed)
    print(json.dumps(rounded(result)), file=sys.stderr, flush=True)  # kept if a later part fails
    result["sec"] = round(time.perf_counter() - started, 1)
    result["machine"] = machine()
    print(json.dumps(rounded(result)), flush=True)


if __name__ == "__main__":
    main()
