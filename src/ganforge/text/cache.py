"""Caption embeddings computed once and kept under the data cache, keyed by the encoder and the captions' text."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ganforge.paths import cache_home
from ganforge.text.encoder import NAME, WEIGHTS_SHA256, shared_encoder


def captions_fingerprint(captions: Sequence[str]) -> str:
    """A digest of the encoder's identity and every caption in order (a changed caption is a new entry)."""
    digest = hashlib.sha256(f"{NAME}:{WEIGHTS_SHA256}\n".encode())
    for caption in captions:
        digest.update(caption.encode("utf-8") + b"\0")
    return digest.hexdigest()


def embeddings_path(captions: Sequence[str]) -> Path:
    folder = cache_home() / "text"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{NAME}-{captions_fingerprint(captions)[:20]}.npy"


def caption_embeddings(captions: Sequence[str]) -> np.ndarray:
    """float32 [N, 384] unit vectors of `captions`, from the cache when these captions were encoded before."""
    path = embeddings_path(captions)
    if path.is_file():
        cached = np.load(path, allow_pickle=False)
        if cached.shape == (len(captions), shared_encoder().dim):
            return cached
    vectors = shared_encoder().encode(list(captions)).numpy().astype(np.float32)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")  # processes of one run may write it at once
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    return vectors
