"""A detector of generated images (issue 29): two detectors behind one call.

    from ganforge.provenance.detector import generated_probability
    p = generated_probability(images)  # uint8 [N, H, W, C] or [H, W, C]; C 1, 3 (or 4, composited onto white)
    p["probe"], p["cnn"]                # float64 [N] in [0, 1]: the probability that each image is generated

- `probe`: a logistic regression on the frozen Inception pool features that the metrics use (UnivFD's idea,
  Ojha et al. 2023, with FID's Inception in place of CLIP): every image is resized to 299 px the metrics' way
  (`metrics.resize.clean_resize`) and its 2048 features standardised by the training set's mean and spread.
- `cnn`: a small convolutional network (about 72k weights) trained on 32 px crops with CNNDetection's
  augmentation (Wang et al. 2020: Gaussian blur, sigma 0-3, with p 0.5; JPEG quality 30-100 with p 0.5, on real
  and generated images alike). The shipped one reads each image's neighbour residual (NPR, Tan et al. 2024: every
  pixel less the top-left pixel of its 2 x 2 block, where upsampling layers leave their traces) and was trained
  against AutoGAN's simulated fakes too (real images redrawn by a DCGAN generator: Zhang et al. 2019). It is fully
  convolutional with a global average: an image is read at its own pixels, no resizing, except that one smaller
  than CNN_CROP on a side is enlarged (bicubic) to CNN_CROP and one larger than CNN_MAX_SIDE is centre-cropped to
  it at even offsets (resizing, or a shift by one pixel, would move the traces it looks for).

Both were trained on balanced classes and call an image generated at probability >= THRESHOLD (0.5). Their
weights ship as detector-probe.safetensors and detector-cnn.safetensors beside this file (never pickles), made by
scripts/train_detector.py, and load on first use. benchmarks/provenance_detector.py measures them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError

HERE = Path(__file__).resolve().parent
PROBE_FILE = HERE / "detector-probe.safetensors"
CNN_FILE = HERE / "detector-cnn.safetensors"
DETECTORS = ("probe", "cnn")
THRESHOLD = 0.5  # both detectors are trained on balanced classes; an image is called generated at p >= 0.5
CNN_CROP = 32  # the CNN's training crops; smaller images are enlarged to this side
CNN_MAX_SIDE = 256  # larger images are centre-cropped to this side before the CNN reads them
CNN_WIDTHS = (16, 32, 64)
NPR_GAIN = 4.0  # the neighbour residual's scale into the network (its spread is a few levels in 0..255)
# CNNDetection's augmentation (Wang et al. 2020, "blur+JPEG (0.5)"), applied to real and generated alike.
BLUR_P, BLUR_SIGMA = 0.5, (0.0, 3.0)
JPEG_P, JPEG_QUALITY = 0.5, (30, 100)

ImagesIn = np.ndarray | Sequence[np.ndarray]


# --- input -----------------------------------------------------------------------------------------------------


def as_rgb_list(images: ImagesIn) -> list[np.ndarray]:
    """uint8 [N, H, W, C], [H, W, C], [H, W] or a sequence of [H, W, C] (sizes may differ) -> uint8 [H, W, 3] each.

    Grey images are repeated to three channels; RGBA is composited onto white (as the pipelines read it).
    """
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            items = list(images)
        elif images.ndim in (2, 3):
            items = [images]
        else:
            raise GanforgeError(f"images must be [N, H, W, C], [H, W, C] or [H, W]; got an array of shape {images.shape}")
    else:
        items = [np.asarray(im) for im in images]
    if not items:
        raise GanforgeError("no images given to the detector")
    return [_rgb(im) for im in items]


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise GanforgeError(f"the detector reads uint8 images (0..255); got dtype {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise GanforgeError(f"an image must be [H, W, C] with C 1, 3 or 4; got shape {image.shape}")
    if min(image.shape[:2]) < 1:
        raise GanforgeError(f"an image has no pixels (shape {image.shape})")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        return np.round(image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return image


# --- the probe: logistic regression on frozen Inception features -------------------------------------------------


class LinearProbe(nn.Module):
    """Features [N, D] -> logits [N]: standardised by the training features' mean and spread, then linear."""

    def __init__(
        self,
        dim: int = 2048,  # feature size (Inception pool3: 2048)
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(dim, dtype=torch.float64))
        self.linear = nn.Linear(dim, 1)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        assert features.ndim == 2 and features.shape[1] == self.dim, features.shape  # [N, D]
        x = ((features.to(torch.float64) - self.mean) / self.scale).to(torch.float32)
        return self.linear(x).squeeze(1)  # [N]

    @torch.inference_mode()
    def probability(self, features: np.ndarray) -> np.ndarray:
        """float64 [N] in [0, 1], the probability that each image is generated, from its features [N, D]."""
        return sigmoid(self(torch.from_numpy(np.asarray(features))).double().numpy())


def fit_probe(
    features: np.ndarray,  # [N, D]
    labels: np.ndarray,  # [N], 1 = generated, 0 = real
    l2: float = 1e-3,  # L2 penalty on the weights (on standardised features), per sample
    steps: int = 100,  # L-BFGS iterations
) -> LinearProbe:
    """Class-balanced logistic regression by full-batch L-BFGS; the features' mean and spread are kept in the probe."""
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.float32).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise GanforgeError(f"features [N, D] and labels [N] must agree; got {tuple(x.shape)} and {tuple(y.shape)}")
    if not (0 < float(y.sum()) < len(y)):
        raise GanforgeError("the probe needs both real (0) and generated (1) examples")
    probe = LinearProbe(x.shape[1])
    probe.mean.copy_(x.mean(0))
    probe.scale.copy_(x.std(0).clamp_min(1e-6))
    nn.init.zeros_(probe.linear.weight)
    nn.init.zeros_(probe.linear.bias)
    pos = float(y.sum())
    weight = torch.where(y > 0, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))  # balanced classes
    opt = torch.optim.LBFGS(probe.linear.parameters(), lr=1.0, max_iter=steps, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(probe(x), y, weight=weight)
        loss = loss + l2 * probe.linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return probe.eval().requires_grad_(False)


def probe_features(images: ImagesIn, extractor: Any = None, batch_size: int = 16) -> np.ndarray:
    """Inception pool features [N, 2048] (float64) of any images, resized to 299 px as the metrics resize them.

    `extractor` defaults to the metrics' (`metrics.features.get_extractor`); anything that maps [B, 3, 299, 299]
    in 0..255 to [B, D] will do.
    """
    from ganforge.metrics.extract import extract_features

    items = as_rgb_list(images)
    if extractor is None:
        from ganforge.metrics.features import get_extractor

        extractor = get_extractor()
    batches = (items[i : i + batch_size] for i in range(0, len(items), batch_size))
    feats, _ = extract_features(batches, len(items), extractor)  # type: ignore[arg-type]  (lists of [H, W, 3])
    return np.asarray(feats, dtype=np.float64)


# --- the CNN -----------------------------------------------------------------------------------------------------


def neighbour_residual(x: torch.Tensor) -> torch.Tensor:
    """Each pixel less the top-left pixel of its 2 x 2 block (NPR, Tan et al. 2024): what an upsampling layer leaves
    between neighbours, with the picture's content mostly gone. [N, C, H, W] -> same shape."""
    h, w = x.shape[2:]
    corner = x[:, :, ::2, ::2].repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return x - corner[:, :, :h, :w]


INPUTS = ("pixels", "npr")  # what the CNN reads: the pixels, or their neighbour residual


class DetectorCNN(nn.Module):
    """uint8-range float images [N, 3, H, W] (0..255, any H, W >= 8) -> logits [N].

    Two 3x3 convolutions at full resolution (no early striding: the traces are in the finest pixels), then two
    stages that halve the resolution, a global average and a linear read-out. `reads="npr"`: the network sees
    `neighbour_residual` of the image (scaled up, the residual being small) instead of its pixels.
    """

    def __init__(
        self,
        widths: Sequence[int] = CNN_WIDTHS,  # channels of the full, half and quarter resolution stages
        reads: str = "pixels",  # one of INPUTS
    ) -> None:
        super().__init__()
        if reads not in INPUTS:
            raise GanforgeError(f"the detector's CNN reads one of {', '.join(INPUTS)}; got {reads!r}")
        self.reads = reads
        self.widths = tuple(int(w) for w in widths)
        layers: list[nn.Module] = []
        cin = 3
        for i, w in enumerate(self.widths):
            layers += [nn.Conv2d(cin, w, 3, stride=1 if i == 0 else 2, padding=1), nn.LeakyReLU(0.2, inplace=True),
                       nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, images_0_255: torch.Tensor) -> torch.Tensor:
        assert images_0_255.ndim == 4 and images_0_255.shape[1] == 3, images_0_255.shape  # [N, 3, H, W]
        x = images_0_255.to(torch.float32) / 127.5 - 1.0
        if self.reads == "npr":
            x = neighbour_residual(x) * NPR_GAIN
        x = self.features(x).mean(dim=(2, 3))  # [N, C]
        return self.head(x).squeeze(1)  # [N]


def cnn_view(image: np.ndarray) -> np.ndarray:
    """What the CNN reads of one uint8 [H, W, 3] image: enlarged (bicubic) to CNN_CROP if a side is shorter, and
    centre-cropped to at most CNN_MAX_SIDE x CNN_MAX_SIDE."""
    h, w = image.shape[:2]
    if min(h, w) < CNN_CROP:
        from PIL import Image

        s = CNN_CROP / min(h, w)
        size = (max(CNN_CROP, round(w * s)), max(CNN_CROP, round(h * s)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
        h, w = image.shape[:2]
    top, left = max(0, (h - CNN_MAX_SIDE) // 4 * 2), max(0, (w - CNN_MAX_SIDE) // 4 * 2)  # even: 2 x 2 blocks kept
    return image[top : top + CNN_MAX_SIDE, left : left + CNN_MAX_SIDE]


@torch.inference_mode()
def cnn_logits(model: DetectorCNN, images: ImagesIn, batch_size: int = 64) -> np.ndarray:
    """Logits [N] of the CNN for any images; images of one size are read in batches."""
    views = [cnn_view(im) for im in as_rgb_list(images)]
    out = np.zeros(len(views), dtype=np.float64)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, v in enumerate(views):
        by_shape.setdefault(v.shape, []).append(i)
    model.eval()
    for idx in by_shape.values():
        for j in range(0, len(idx), batch_size):
            part = idx[j : j + batch_size]
            x = torch.from_numpy(np.stack([views[i] for i in part])).permute(0, 3, 1, 2).float()
            out[part] = model(x).double().numpy()
    return out


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """CNNDetection's augmentation of a batch [B, C, H, W] in 0..255: per image, Gaussian blur (sigma uniform in
    0-3) with p 0.5, then JPEG (quality uniform in 30-100, Pillow) with p 0.5."""
    from ganforge.provenance.attacks import gaussian_blur, jpeg

    out = []
    for image in images.split(1):
        u = torch.rand(4, generator=generator).tolist()
        if u[0] < BLUR_P:
            sigma = BLUR_SIGMA[0] + u[1] * (BLUR_SIGMA[1] - BLUR_SIGMA[0])
            sigma = min(sigma, (min(image.shape[2:]) - 1) / 3)  # the reflect padding needs radius < side
            if sigma > 0.05:  # below that the kernel is the identity
                image = gaussian_blur(image, sigma)
        if u[2] < JPEG_P:
            image = jpeg(image, int(JPEG_QUALITY[0] + round(u[3] * (JPEG_QUALITY[1] - JPEG_QUALITY[0]))))
        out.append(image)
    return torch.cat(out)


def random_crops(images: np.ndarray | list[np.ndarray], size: int, generator: torch.Generator) -> torch.Tensor:
    """Random size x size crops (and horizontal flips) of uint8 [H, W, 3] images -> float [B, 3, size, size]; crops
    start at even rows and columns and flips keep even widths, so an upsampler's 2 x 2 blocks stay where they were."""
    out = []
    for image in images:
        h, w = image.shape[:2]
        if min(h, w) < size:
            raise GanforgeError(f"a training image of {h}x{w} px is smaller than the CNN's {size} px crops")
        top = int(torch.randint(0, (h - size) // 2 + 1, (1,), generator=generator)) * 2
        left = int(torch.randint(0, (w - size) // 2 + 1, (1,), generator=generator)) * 2
        crop = image[top : top + size, left : left + size]
        if float(torch.rand(1, generator=generator)) < 0.5 and size % 2 == 0:
            crop = crop[:, ::-1]
        out.append(np.ascontiguousarray(crop))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float()


def cnn_step(model: DetectorCNN, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    """One optimiser step of the logistic loss on a batch [B, 3, H, W] (0..255) with labels [B] (1 = generated)."""
    model.train()
    loss = F.binary_cross_entropy_with_logits(model(x), y.to(torch.float32))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train_cnn(
    draw: Callable[[int, torch.Generator], tuple[list[np.ndarray], list[np.ndarray]]],  # (n, gen) -> reals, fakes
    steps: int = 3000,  # optimiser steps
    batch: int = 64,  # images a step, half real and half generated
    lr: float = 1e-3,  # Adam learning rate (cosine decay to 0)
    crop: int = CNN_CROP,  # side of the training crops
    seed: int = 0,  # weights, crops and augmentation
    widths: Sequence[int] = CNN_WIDTHS,  # the network's stage widths
    reads: str = "pixels",  # what it reads: pixels, or their neighbour residual ("npr")
    augmented: bool = True,  # CNNDetection's blur and JPEG
    progress: Callable[[int, float], None] | None = None,  # (step, mean loss of the last steps)
) -> DetectorCNN:
    """Train a DetectorCNN; `draw(n, generator)` returns n real and n generated uint8 [H, W, 3] images (H, W >= crop)
    for each step, so the caller decides how sources are mixed."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = DetectorCNN(widths, reads)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    half = batch // 2
    recent: list[float] = []
    for step in range(steps):
        reals, fakes = draw(half, gen)
        x = random_crops(list(reals) + list(fakes), crop, gen)
        if augmented:
            x = augment(x, gen)
        y = torch.cat([torch.zeros(len(reals)), torch.ones(len(fakes))])
        recent.append(cnn_step(model, opt, x, y))
        sched.step()
        if progress is not None and ((step + 1) % 100 == 0 or step + 1 == steps):
            progress(step + 1, sum(recent) / len(recent))
            recent = []
    return model.eval().requires_grad_(False)


# --- weights: safetensors, loaded on first use -----------------------------------------------------------------


def _save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, Any]) -> Path:
    from ganforge.engine.checkpoint import replace_safetensors

    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    return replace_safetensors(tensors, path, meta)


def _load(path: Path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"the detector's {what} weights are missing ({path}): reinstall ganforge, or make them "
                            "with `python scripts/train_detector.py`")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
        return load_file(str(path)), metadata
    except Exception as exc:  # a damaged or foreign file
        raise GanforgeError(f"cannot read the detector's {what} weights from {path}: {exc}") from exc


def save_probe(probe: LinearProbe, path: Path = PROBE_FILE, metadata: dict[str, Any] | None = None) -> Path:
    return _save(probe.state_dict(), path, {"detector": "probe", "dim": str(probe.dim), **(metadata or {})})


def load_probe(path: Path = PROBE_FILE) -> tuple[LinearProbe, dict[str, str]]:
    state, metadata = _load(path, "probe")
    if metadata.get("detector") != "probe" or "mean" not in state:
        raise GanforgeError(f"{path} does not hold the detector's probe")
    probe = LinearProbe(int(state["mean"].shape[0]))
    probe.load_state_dict(state)
    return probe.eval().requires_grad_(False), metadata


def save_cnn(model: DetectorCNN, path: Path = CNN_FILE, metadata: dict[str, Any] | None = None) -> Path:
    return _save(model.state_dict(), path, {"detector": "cnn", "widths": list(model.widths), "reads": model.reads,
                                                **(metadata or {})})


def load_cnn(path: Path = CNN_FILE) -> tuple[DetectorCNN, dict[str, str]]:
    state, metadata = _load(path, "CNN")
    if metadata.get("detector") != "cnn":
        raise GanforgeError(f"{path} does not hold the detector's CNN")
    model = DetectorCNN(json.loads(metadata.get("widths", json.dumps(CNN_WIDTHS))), metadata.get("reads", "pixels"))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise GanforgeError(f"the detector's CNN weights in {path} do not fit the network: {exc}") from exc
    return model.eval().requires_grad_(False), metadata


@cache
def shipped_probe() -> LinearProbe:
    return load_probe(PROBE_FILE)[0]


@cache
def shipped_cnn() -> DetectorCNN:
    return load_cnn(CNN_FILE)[0]


# --- the one call ------------------------------------------------------------------------------------------------


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(logits, dtype=np.float64), -60.0, 60.0)))


def generated_probability(
    images: ImagesIn,  # uint8 [N, H, W, C], [H, W, C] or a sequence of [H, W, C]; C 1, 3 or 4
    detectors: Sequence[str] = DETECTORS,  # which to run: probe (needs the Inception network), cnn
    probe: LinearProbe | None = None,  # default: the shipped probe
    cnn: DetectorCNN | None = None,  # default: the shipped CNN
    extractor: Any = None,  # the probe's feature extractor; default: the metrics' Inception
) -> dict[str, np.ndarray]:
    """{"probe": p, "cnn": p}: float64 [N] in [0, 1], the probability that each image is generated (N = 1 for a
    single image). Call an image generated where p >= THRESHOLD."""
    unknown = [d for d in detectors if d not in DETECTORS]
    if unknown or not detectors:
        raise GanforgeError(f"unknown detector(s) {unknown or list(detectors)}; choose from {', '.join(DETECTORS)}")
    items = as_rgb_list(images)
    out: dict[str, np.ndarray] = {}
    if "probe" in detectors:
        model = probe if probe is not None else shipped_probe()
        feats = probe_features(items, extractor)
        if feats.shape[1] != model.dim:
            raise GanforgeError(f"the probe reads {model.dim} features but the extractor gives {feats.shape[1]}")
        out["probe"] = model.probability(feats)
    if "cnn" in detectors:
        out["cnn"] = sigmoid(cnn_logits(cnn if cnn is not None else shipped_cnn(), items))
    return out


# --- scores ------------------------------------------------------------------------------------------------------


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of `scores` for the positives (label 1), as scikit-learn's: sum over the ranked positives
    of (recall step) x (precision there), ties counted together."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.sum() == 0:
        raise GanforgeError("average precision needs at least one positive")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # the last index of each run of equal scores
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def accuracy(labels: np.ndarray, probabilities: np.ndarray, threshold: float = THRESHOLD) -> float:
    """The fraction of images called rightly (generated where p >= threshold)."""
    y = np.asarray(labels).reshape(-1) > 0.5
    return float(np.mean((np.asarray(probabilities).reshape(-1) >= threshold) == y))
