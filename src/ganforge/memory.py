"""Refuse, with one line, a request whose memory is known up front and cannot fit, instead of dying in the kernel."""

from __future__ import annotations

import os

from ganforge.errors import GanforgeError

HEADROOM = 0.8  # of the memory available now: the rest is for the model, the interpreter and the OS
LIMIT_ENV = "GANFORGE_MEMORY_LIMIT"  # bytes; a cap below what the machine has (tests, shared machines)


def available_bytes() -> int:
    """What this process may still allocate: the machine's available memory, capped by GANFORGE_MEMORY_LIMIT."""
    import psutil

    free = int(psutil.virtual_memory().available)
    limit = os.environ.get(LIMIT_ENV)
    return min(free, int(limit)) if limit and limit.isdigit() else free


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**28 else f"{nbytes / 2**20:.0f} MiB"


def check_fits(nbytes: float, what: str, hint: str = "") -> None:
    """A one-line error when `nbytes` would not fit in what is available (with headroom)."""
    budget = available_bytes() * HEADROOM
    if nbytes > budget:
        raise GanforgeError(f"{what} would need about {gib(nbytes)} of memory, more than the {gib(budget)} this "
                            f"machine can spare{'; ' + hint if hint else ''}")
