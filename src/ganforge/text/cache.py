"""Caption embeddings computed once and kept under the data cache, keyed by the encoder and the captions' text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ganforge.engine.atomic import cached_npy
from ganforge.paths import cache_home
from ganforge.text.encoder import EMBED_DIM, NAME, WEIGHTS_SHA256, shared_encoder


def captions_fingerprint(captions: Sequence[str]) -> str:
    """A digest of the encoder's identity and every caption in order (a changed caption is a new entry)."""
    digest = hashlib.sha256(f"{NAME}:{WEIGHTS_SHA256}\n".encode())
    for caption in captions:
        digest.update(caption.encode("utf-8") + b"\0")
    return digest.hexdigest()


def text_cache_dir() -> Path:
    """Where arrays derived from captions live (embeddings, nearest captions), under the data cache."""
    folder = cache_home() / "text"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def embeddings_path(captions: Sequence[str]) -> Path:
    return text_cache_dir() / f"{NAME}-{captions_fingerprint(captions)[:20]}.npy"


def caption_embeddings(captions: Sequence[str]) -> np.ndarray:
    """float32 [N, 384] unit vectors of `captions`, from the cache when these captions were encoded before."""
    vectors, _ = cached_npy(embeddings_path(captions), lambda: shared_encoder().encode(list(captions)).numpy(),
                            shape=(len(captions), EMBED_DIM), dtype=np.float32)
    return vectors
