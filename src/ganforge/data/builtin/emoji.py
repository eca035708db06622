"""Emoji from the emoji-datasource npm packages: the same emoji drawn by Google (Noto) and Twitter.

Both tarballs hold 64x64 RGBA PNGs in `package/img/<vendor>/64/<file>.png` under the same file
name for the same emoji, and `package/emoji.json` describes each one (name, category,
subcategory, unified code points, skin variations with their own image). We keep the emoji
present in both vendors, ordered by file name, so index i is the same emoji in both variants
(an aligned pair for translation tasks). The 'Component' category (five flat skin-tone
swatches, not pictures) is left out, which leaves the nine picture categories as labels.
Alpha is composited onto white; the alpha channel is kept in alpha.npy.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from ganforge.data.builtin import npm
from ganforge.data.builtin.base import BuiltinDataset
from ganforge.data.dataset import ImageDataset
from ganforge.errors import DataError

VENDORS = ("google", "twitter")
SPECS = {v: f"emoji-datasource-{v}@16.0.0" for v in VENDORS}
SIDE = 64
EXCLUDED_CATEGORIES = ("Component",)
SKIN_TONES = {
    "1F3FB": "light skin tone",
    "1F3FC": "medium-light skin tone",
    "1F3FD": "medium skin tone",
    "1F3FE": "medium-dark skin tone",
    "1F3FF": "dark skin tone",
}
LICENSES = {
    "google": "Apache-2.0 (Noto Emoji images by Google)",
    "twitter": "CC-BY-4.0 (Twemoji graphics by Twitter, Inc and other contributors)",
}


def read_tarball(tarball: Path, vendor: str) -> tuple[dict[str, bytes], list[dict]]:
    """The vendor's 64x64 PNG bytes by file name, and the emoji.json records."""
    prefix = f"package/img/{vendor}/64/"
    pngs: dict[str, bytes] = {}
    records: list[dict] | None = None
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if (
                    member.name.startswith(prefix)
                    and member.name.endswith(".png")
                    and "/" not in member.name[len(prefix) :]
                ):
                    pngs[member.name[len(prefix) :]] = tar.extractfile(member).read()
                elif member.name == "package/emoji.json":
                    records = json.load(tar.extractfile(member))
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise DataError(f"cannot read {tarball} ({exc}); fetch it again with --force") from exc
    if not pngs or records is None:
        raise DataError(
            f"{tarball} has no {prefix}*.png or no package/emoji.json; it is not the expected {SPECS[vendor]}"
        )
    return pngs, records


def index_records(records: list[dict]) -> dict[str, dict]:
    """Per-image metadata keyed by image file name, skin variations included."""
    out: dict[str, dict] = {}
    for rec in records:
        base = {
            "name": rec.get("name") or (rec.get("short_name") or "").replace("_", " ").upper(),
            "short_name": rec.get("short_name"),
            "short_names": rec.get("short_names") or [],
            "category": rec.get("category"),
            "subcategory": rec.get("subcategory"),
            "sort_order": rec.get("sort_order"),
        }
        out[rec["image"]] = dict(base, file=rec["image"], unified=rec.get("unified"), skin_tone=None)
        for key, var in (rec.get("skin_variations") or {}).items():
            tones = ", ".join(SKIN_TONES.get(k, k) for k in key.split("-"))
            out[var["image"]] = dict(base, file=var["image"], unified=var.get("unified"), skin_tone=tones)
    for item in out.values():
        words = (item["name"] or "").lower()
        item["caption"] = f"{words}, {item['skin_tone']}" if item["skin_tone"] else words
    return out


def decode_rgba(data: bytes, name: str) -> np.ndarray:
    """uint8 [64, 64, 4] from PNG bytes (palette and grey+alpha PNGs included)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        rgba = np.asarray(im.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise DataError(f"emoji image {name} cannot be decoded ({exc}); fetch again with --force") from exc
    if rgba.shape != (SIDE, SIDE, 4):
        raise DataError(f"emoji image {name} is {rgba.shape[1]}x{rgba.shape[0]}, expected {SIDE}x{SIDE}")
    return rgba


def composite_white(rgba: np.ndarray) -> np.ndarray:
    """[..., 4] uint8 -> [..., 3] uint8 over a white background."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.rint(rgb).astype(np.uint8)


class Emoji(BuiltinDataset):
    name = "emoji"
    description = (
        "emoji, 64x64 RGB on white, 9 categories; variants google (Noto) and twitter (Twemoji), aligned"
    )
    license = "Apache-2.0 (google), CC-BY-4.0 (twitter)"
    credit = (
        "Images from the emoji-datasource-google and emoji-datasource-twitter npm packages (emoji-data by "
        "Cal Henderson, iamcal). Noto Emoji images: Copyright Google Inc., Apache License 2.0. "
        "Twemoji graphics: Copyright Twitter, Inc and other contributors, CC-BY 4.0."
    )
    native_resolution = SIDE
    variants = VENDORS
    default_variant = "google"
    needs_network = True

    def card(self) -> str:
        return (
            "# emoji\n\n"
            "The same emoji drawn by two vendors, 64x64, alpha composited onto white (alpha kept in alpha.npy), "
            "from the npm packages " + " and ".join(f"`{s}`" for s in SPECS.values()) + ".\n\n"
            "- `google/`: Noto Emoji images, Apache License 2.0, Copyright Google Inc.\n"
            "- `twitter/`: Twemoji graphics, CC-BY 4.0, Copyright Twitter, Inc and other contributors. "
            "Attribution is required when you share images made from them.\n\n"
            "Index i is the same emoji in both folders (only emoji drawn by both; ordered by file name). "
            "Labels are the emoji category (9 categories; the five skin-tone swatches of 'Component' are left out). "
            "items.json holds per-image metadata: name, caption, category, subcategory, unified code points, "
            "skin tone, file name.\n\n"
            "Metadata from emoji-data by Cal Henderson (MIT licence).\n"
        )

    def build(self, from_path: Path | None, workdir: Path) -> dict[str | None, ImageDataset]:
        specs = [SPECS[v] for v in VENDORS]
        tarballs = npm.obtain_tarballs(specs, self.name, workdir, from_path)
        pngs: dict[str, dict[str, bytes]] = {}
        meta_index: dict[str, dict] = {}
        for vendor in VENDORS:
            pngs[vendor], records = read_tarball(tarballs[SPECS[vendor]], vendor)
            if vendor == VENDORS[0]:
                meta_index = index_records(records)
        files = sorted(
            f
            for f in set.intersection(*(set(p) for p in pngs.values()))
            if f in meta_index and meta_index[f]["category"] not in EXCLUDED_CATEGORIES
        )
        if not files:
            raise DataError(
                "the emoji tarballs share no described images; they are not the expected packages"
            )
        items = [meta_index[f] for f in files]
        class_names = sorted({it["category"] for it in items})
        labels = np.array([class_names.index(it["category"]) for it in items], dtype=np.int64)
        digest = hashlib.sha256("".join(npm.PINNED_SHA256[s] for s in specs).encode()).hexdigest()
        out: dict[str | None, ImageDataset] = {}
        for vendor in VENDORS:
            rgb = np.empty((len(files), SIDE, SIDE, 3), dtype=np.uint8)
            alpha = np.empty((len(files), SIDE, SIDE), dtype=np.uint8)
            for i, f in enumerate(files):
                rgba = decode_rgba(pngs[vendor].pop(f), f)
                rgb[i], alpha[i] = composite_white(rgba), rgba[..., 3]
            pngs[vendor].clear()
            meta = {
                "name": self.name if vendor == self.default_variant else f"{self.name}-{vendor}",
                "variant": vendor,
                "source": f"npm package {SPECS[vendor]}",
                "license": LICENSES[vendor],
                "credit": self.credit,
                "fingerprint": f"{digest}:emoji-v1",
                "background": "white",
                "paired_with": [v for v in VENDORS if v != vendor],
            }
            out[vendor] = ImageDataset(rgb, labels.copy(), list(class_names), meta, alpha=alpha, items=items)
        return out
