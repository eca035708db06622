"""A cross-process lock for cache writes: when several processes (DDP ranks, parallel runs) want the
same dataset, one fetches or prepares it and the others wait, then reuse it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ganforge.paths import cache_home

log = logging.getLogger("ganforge.data")


@contextmanager
def cache_lock(key: str, poll_s: float = 0.2) -> Iterator[None]:
    """Hold an exclusive lock named `key` under the cache (a no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no cross-process lock, writes stay atomic
        yield
        return
    folder = cache_home() / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".lock")
    with open(path, "a+") as fh:
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    log.info("waiting for another process that is preparing %s", key)
                    told = True
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
