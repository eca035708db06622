"""Each training caption's nearest captions of other images: the hard mismatches a matching-aware D learns from.

DF-GAN's mismatched pairs (an image with the next image's caption) almost never differ in one word, so D never has
to read one: on emoji half the captions name a skin tone, yet "thumbs up: light skin tone" and "... dark skin tone"
sit at cosine 0.94 in MiniLM's space, and a generator trained so draws the tones at random (issue 30). The nearest
captions of other images are mostly the same emoji in another tone or gender, the pairs D has to tell apart.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

NEIGHBOURS = 8  # kept per caption; a mismatch draws one of them
MAX_CANDIDATES = 50_000  # a larger set is searched in a seeded sample of this many captions (memory and time bounded)
SEARCH_VERSION = 1  # part of the cache key: raise it when the search's result changes


def nearest_other_captions(embeddings: np.ndarray, owners: np.ndarray, texts: list[str], k: int = NEIGHBOURS,
                           chunk: int = 256, seed: int = 0) -> torch.Tensor:
    """Unit caption embeddings [K, D], each caption's image [K] and text [K] -> int64 [K, k]: for each caption the
    rows of the k most similar captions that belong to other images and match none of its own image's captions'
    texts (two images captioned alike are not a mismatch); -1 where there are none (fewer than k: the nearest again).
    Memory: one [chunk, candidates] block at a time."""
    table = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
    owners_t = torch.as_tensor(np.asarray(owners), dtype=torch.int64)
    ids = {text: i for i, text in enumerate(dict.fromkeys(texts))}
    text_id = torch.tensor([ids[t] for t in texts], dtype=torch.int64)
    pairs = torch.unique(owners_t * len(ids) + text_id)  # every (image, text) the set has, as one key each
    candidates = torch.arange(len(table))
    if len(candidates) > MAX_CANDIDATES:
        g = torch.Generator().manual_seed(seed)
        candidates = torch.randperm(len(table), generator=g)[:MAX_CANDIDATES].sort().values
    k = min(k, len(candidates))
    pool, pool_owner, pool_text = table[candidates], owners_t[candidates], text_id[candidates]
    out = torch.empty(len(table), k, dtype=torch.int64)
    for start in range(0, len(table), chunk):
        rows = slice(start, start + chunk)
        owner = owners_t[rows][:, None]
        excluded = (pool_owner[None] == owner) | torch.isin(owner * len(ids) + pool_text[None], pairs)
        best = (table[rows] @ pool.T).masked_fill(excluded, -2.0).topk(k, dim=1)
        found = best.values > -2.0
        picked = torch.where(found, candidates[best.indices], candidates[best.indices[:, :1]])  # too few: the nearest
        out[rows] = torch.where(found[:, :1], picked, torch.full_like(picked, -1))  # none at all: -1
    return out


def cached_nearest_other_captions(embeddings: np.ndarray, owners: np.ndarray, texts: list[str], k: int = NEIGHBOURS,
                                  seed: int = 0) -> torch.Tensor:
    """`nearest_other_captions`, kept under the data cache: the search takes 16-38 s on emoji's 18,445 captions (2
    cores) and minutes on a large caption folder, and every start and resume of a run needs it. Keyed by everything
    the result depends on: the embeddings, the captions' texts, each caption's image, k, the candidate bound and (only
    when the set is sampled) the seed."""
    from ganforge.engine.atomic import cached_npy
    from ganforge.text.cache import captions_fingerprint, text_cache_dir

    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    owners = np.asarray(owners, dtype=np.int64)
    digest = hashlib.sha256(captions_fingerprint(texts).encode())
    for array in (embeddings, owners):
        digest.update(str(array.shape).encode() + array.tobytes())
    sampled = len(texts) > MAX_CANDIDATES
    digest.update(f"{SEARCH_VERSION}:{k}:{MAX_CANDIDATES}:{seed if sampled else ''}".encode())
    path = text_cache_dir() / f"neighbours-{digest.hexdigest()[:20]}.npy"
    shape = (len(texts), min(k, len(texts), MAX_CANDIDATES))
    near, _ = cached_npy(path, lambda: nearest_other_captions(embeddings, owners, texts, k=k, seed=seed).numpy(),
                         shape=shape, dtype=np.int64)
    return torch.from_numpy(near)
