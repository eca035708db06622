"""Which torch device a command runs on: `auto` and the names users may give, checked against this machine."""

from __future__ import annotations

from ganforge.errors import GanforgeError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
DEVICE_HELP = ("auto (a CUDA GPU when this machine has one, else the CPU, as `train` does), cpu, cuda, cuda:N "
               "or mps (Apple GPUs).")


def resolve_device(device: str = "auto") -> str:
    """A device string torch understands and this machine has, or a one-line error.

    `auto` is `cuda` when a CUDA GPU is available, else `cpu`: what training picks (engine/runtime.make_accelerator
    runs on the CPU without CUDA). It never picks `mps`, which nothing here is tested on; `--device mps` asks for it.
    """
    import torch

    text = str(device).strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise GanforgeError(f"--device {device!r} is not a device: use {DEVICE_CHOICES}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanforgeError(f"--device {device} asked for, but this machine has no CUDA GPU: use --device cpu or auto")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise GanforgeError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) here (cuda:0 to "
                            f"cuda:{torch.cuda.device_count() - 1})")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise GanforgeError(f"--device {device} asked for, but this machine has no Apple GPU (MPS): use --device cpu "
                            "or auto")
    return text
