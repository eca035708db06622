"""Images with captions for text-to-image: several captions per image, from the emoji metadata plus emojilib's
keywords, or from a folder's caption files; the test split holds out whole base names (and all their variants).

- `emoji` (and `emoji-twitter`): each emoji's name, its short names, its subcategory and category, emojilib
  keywords, its skin tone when it has one ("woman raising hand: medium skin tone"); skin-tone, gender and vendor variants are
  separate images with their own captions. The split is the emoji split (`data.split`: 10% of the names held out,
  with every skin-tone variant), so held-out captions name emoji training never saw.
- A folder or zip: `NAME.txt` beside `NAME.png` (one caption per line), or one `captions.jsonl` at the top with
  `{"file": "cats/tom.png", "caption": "..."}` (or `"captions": [...]`) per line; images without a caption are
  skipped with a warning, and the split is per image.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ganforge.errors import DataError

log = logging.getLogger("ganforge.data")

EMOJILIB = "emojilib@4.0.3"  # npm: emoji -> keywords (MIT)
EMOJILIB_FILE = "package/dist/emoji-en-US.json"
_IGNORED_CODE_POINTS = {0xFE0F, 0xFE0E}  # variation selectors: emojilib's keys and emoji.json's differ in them
_TONE_CODE_POINTS = range(0x1F3FB, 0x1F400)


@dataclass
class CaptionedImages:
    """Images and their captions (at least one each), as a split; what the text2image task trains on."""

    images: np.ndarray  # uint8 [N, R, R, C]
    captions: list[list[str]]  # [N][k]: every caption an image has
    split: str
    meta: dict = field(default_factory=dict)
    items: list[dict] | None = None  # per-image metadata (emoji: name, category, skin tone, ...)

    def __post_init__(self) -> None:
        if len(self.captions) != len(self.images) or any(not c for c in self.captions):
            raise ValueError("every image needs at least one caption")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx: np.ndarray) -> CaptionedImages:
        """The images at `idx` with their captions and items, same split and metadata."""
        items = [self.items[i] for i in idx] if self.items is not None else None
        return CaptionedImages(self.images[idx], [self.captions[i] for i in idx], self.split, self.meta, items)

    def flat(self) -> tuple[list[str], np.ndarray]:
        """(every caption, the index of its image): for encoding them all once."""
        texts = [c for caps in self.captions for c in caps]
        owners = np.repeat(np.arange(len(self.captions)), [len(c) for c in self.captions])
        return texts, owners


# --- emoji ------------------------------------------------------------------------------------------------------------


def emoji_key(text: str) -> str:
    """An emoji's characters without variation selectors or skin-tone modifiers: how emojilib and emoji.json meet."""
    return "".join(ch for ch in text if ord(ch) not in _IGNORED_CODE_POINTS and ord(ch) not in _TONE_CODE_POINTS)


def unified_to_text(unified: str) -> str:
    """emoji.json's '1F469-200D-1F9B0' -> the characters."""
    return "".join(chr(int(part, 16)) for part in str(unified).split("-") if part)


def read_emojilib(tarball: Path) -> dict[str, list[str]]:
    """{emoji_key: keywords} from emojilib's tarball."""
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.extractfile(EMOJILIB_FILE)
            if member is None:
                raise KeyError(EMOJILIB_FILE)
            table = json.load(member)
    except (tarfile.TarError, OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read {EMOJILIB_FILE} from {tarball} ({exc}); fetch it again") from exc
    return {emoji_key(k): [str(w) for w in v] for k, v in table.items()}


def emojilib_keywords(from_path: Path | None = None) -> dict[str, list[str]]:
    """emojilib's keywords, fetched once with `npm pack` (or from --from PATH) and cached as JSON."""
    from ganforge.data.builtin import npm
    from ganforge.paths import datasets_dir

    cached = datasets_dir() / "emojilib" / "keywords.json"
    if cached.is_file() and from_path is None:
        return json.loads(cached.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as work:
        tarball = npm.obtain_tarballs([EMOJILIB], "emojilib", Path(work), from_path)[EMOJILIB]
        table = read_emojilib(tarball)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".keywords.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    tmp.replace(cached)
    return table


def article(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"


def clean_keywords(words: list[str], name: str, limit: int = 4) -> list[str]:
    """Keywords worth a caption: words (underscores as spaces), not the name itself or its words, no emoticons."""
    seen = set(name.split())
    out = []
    for word in words:
        word = word.replace("_", " ").strip().lower()
        if not word or not any(ch.isalpha() for ch in word) or word == name or set(word.split()) <= seen:
            continue
        if word not in out:
            out.append(word)
    return out[:limit]


def category_words(category: str) -> str:
    """'Smileys & Emotion' -> 'smileys and emotion': how a caption names an emoji's category."""
    return str(category).lower().replace("&", "and")


def emoji_captions(item: dict, keywords: dict[str, list[str]]) -> list[str]:
    """Every caption of one emoji (an items.json record): each names its skin tone when it has one."""
    name = unicodedata.normalize("NFKC", str(item.get("name") or item.get("caption") or "")).lower().strip()
    tone = item.get("skin_tone")
    suffix = f": {tone}" if tone else ""
    with_tone = f" with {tone}" if tone else ""
    captions = [f"{name}{suffix}", f"{article(name)} {name} emoji{with_tone}"]
    for short in (item.get("short_names") or [])[:2]:
        phrase = str(short).replace("_", " ").replace("-", " ").lower()
        if phrase != name:
            captions.append(f"{phrase}{suffix}")
    if item.get("subcategory"):
        captions.append(f"{str(item['subcategory']).replace('-', ' ')}: {name}{with_tone}")
    if item.get("category"):
        captions.append(f"{category_words(item['category'])}: {name}{with_tone}")
    words = clean_keywords(keywords.get(emoji_key(unified_to_text(item.get("unified") or "")), []), name)
    if words:
        captions.append(f"{name}{suffix} ({', '.join(words)})")
    return list(dict.fromkeys(captions))  # in order, no repeats


def resolve_emoji_captions(data: str, resolution: int, split: str, keywords_from: Path | None = None
                           ) -> CaptionedImages:
    from ganforge.data.resolve import resolve_dataset
    from ganforge.data.split import group_keys, pick, split_indices

    dataset = resolve_dataset(data, resolution)
    if dataset.items is None:
        raise DataError(f"--data {data} has no per-image metadata to caption; fetch it again with --force")
    keywords = emojilib_keywords(keywords_from)
    idx = pick(split_indices(len(dataset), what=f"--data {data}", groups=group_keys(dataset, data)), split)
    idx = np.arange(len(dataset)) if idx is None else idx
    items = [dataset.items[i] for i in idx]
    captions = [emoji_captions(it, keywords) for it in items]
    matched = sum(bool(keywords.get(emoji_key(unified_to_text(it.get("unified") or "")))) for it in items)
    meta = {"data": data, "split": split, "split_by": "emoji name", "captions_per_image": round(
        sum(map(len, captions)) / max(1, len(captions)), 2), "emojilib_matched": matched, "source": EMOJILIB}
    return CaptionedImages(dataset.images[idx], captions, split, meta, items)


# --- folders ----------------------------------------------------------------------------------------------------------


def folder_captions(root: Path, files: list[str]) -> list[list[str]]:
    """The captions of each image file of a folder or zip (paths as the dataset recorded them)."""
    from ganforge.data.folder import ImageSource, list_files

    texts = {f.name: f for f in list_files(root, extensions=(".txt", ".jsonl"))}
    table: dict[str, list[str]] = {}
    with ImageSource(root) as source:
        jsonl = [name for name in texts if PurePosixPath(name).name == "captions.jsonl"]
        for name in jsonl:
            prefix = str(PurePosixPath(name).parent)
            for number, line in enumerate(source.read(name).decode("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    file = str(record["file"])
                    caps = record.get("captions") or [record["caption"]]
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(f"{root}/{name} line {number} is not {{\"file\": ..., \"caption\": ...}} "
                                    f"({exc})") from None
                key = file if prefix == "." else f"{prefix}/{file}"
                table.setdefault(key, []).extend(str(c).strip() for c in caps if str(c).strip())
        out = []
        for file in files:
            caps = list(table.get(file, []))
            sidecar = str(PurePosixPath(file).with_suffix(".txt"))
            if sidecar in texts:
                caps += [t.strip() for t in source.read(sidecar).decode("utf-8").splitlines() if t.strip()]
            out.append(caps)
    return out


def resolve_folder_captions(data: str, resolution: int, split: str) -> CaptionedImages:
    from ganforge.data.resolve import resolve_dataset
    from ganforge.data.split import pick, split_indices

    dataset = resolve_dataset(data, resolution)
    files = [str((it or {}).get("file") or "") for it in (dataset.items or [])]
    source = Path(str(dataset.meta.get("source") or data))
    if not files or not all(files) or not source.exists():
        raise DataError(f"--data {data}: captions are read from a folder or zip of images with a .txt beside each "
                        "image or a captions.jsonl; this data has no file names to match them to")
    captions = folder_captions(source, files)
    has = np.array([bool(c) for c in captions])
    if not has.any():
        raise DataError(f"no captions found in {source}: put NAME.txt (one caption per line) beside NAME.png, or "
                        'one captions.jsonl with {"file": "NAME.png", "caption": "..."} per line')
    if not has.all():
        log.warning("%d of %d images in %s have no caption and are skipped", int((~has).sum()), len(has), source)
    keep = np.flatnonzero(has)
    idx = pick(split_indices(len(keep), what=f"--data {data}"), split)
    keep = keep if idx is None else keep[idx]
    meta = {"data": data, "split": split, "split_by": "image", "source": str(source),
            "uncaptioned_skipped": int((~has).sum())}
    return CaptionedImages(dataset.images[keep], [captions[i] for i in keep], split, meta,
                           [dataset.items[i] for i in keep])


def resolve_captioned(data: str, resolution: int, split: str = "train", keywords_from: Path | None = None
                      ) -> CaptionedImages:
    """Captioned images of `data` (`emoji`, `emoji-twitter` or a folder/zip with caption files) at `resolution`."""
    from ganforge.data.builtin import parse_builtin
    from ganforge.data.split import check_split

    split = check_split(split)
    hit = parse_builtin(str(data).strip())
    if hit is not None:
        if hit[0].name != "emoji":
            raise DataError(f"--data {data} has no captions; text2image takes emoji, emoji-twitter or a folder of "
                            "images with caption files (NAME.txt beside NAME.png, or captions.jsonl)")
        return resolve_emoji_captions(data, resolution, split, keywords_from)
    return resolve_folder_captions(data, resolution, split)
