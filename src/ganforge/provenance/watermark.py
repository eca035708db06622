"""The invisible watermark: a learned, tiled luminance pattern that carries 48 bits, and the decoder that reads it.

Embedding adds a 32 x 32 tile (a pilot plus one learned pattern per bit, signed by the bit) to the luminance of
every pixel, repeated over the image, at the strength that puts the marked image `TARGET_PSNR` dB from the original
(stronger on pixels near black or white, where clipping takes part of it; `calibrated_mark` then corrects it per image
until the image's own PSNR lands just above `MIN_PSNR`), so any crop of at least one tile holds
the whole mark and a large image holds many copies. Images of 512 px and more both ways carry the tile at twice its
size, so a 0.5x shrink still leaves it whole. Reading undoes what an edit may have done: it tries a range of scales
(a resize changes the tile's period), filters the luminance, folds the image onto one tile (the copies add up, the
picture does not; a pixel counts the less the more picture is around it), finds the tile's shift from the pilot (a
crop moves it) and hands the aligned tile to a small CNN that gives 48 logits. Patterns, filter and CNN are trained
together through simulated edits (`provenance.training`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.imaging import luma  # noqa: F401  (training and readers take it from here too)
from ganforge.provenance.payload import N_BITS

TILE = 32
PILOT_SHARE = 0.3  # of the tile's energy: what finds the shift
TARGET_PSNR = 38.5  # dB of a marked image against the unmarked one, 8-bit rounding included (issue 29: at least 38)
# Rounding and clipping move each image's own PSNR off the nominal strength's (at 64 px by up to a dB, mostly above
# it: budget unspent), so where the whole image is at hand the strength is corrected until its PSNR lands just above:
MIN_PSNR = 38.05
PSNR_AIM = 0.02  # dB above MIN_PSNR the correction aims for
CALIBRATION_TRIES = 4  # marks tried per image (secant steps in dB), then weakened in steps if still below the floor
MAX_GAIN = 1.5  # how much stronger than elsewhere the mark may be on pixels at black or white (clipping halves it)
LARGE_SIDE = 512  # images at least this large both ways carry the tile at LARGE_FACTOR times its size (at 256 px
# the enlarged tile fitted too few times: grids of small emoji read at 0.94 clean)
LARGE_FACTOR = 2
MAX_DECODE_SIDE = 256  # larger images are read from their centre 256 x 256 (memory and time bounded)
NOISE_WINDOW = 5  # px: the window the picture's local energy is measured over, for the fold's weights
NOISE_FLOOR = 0.25  # x the image's median local energy: added to every pixel's before it is inverted
SCALES = (0.45, 1.6 * LARGE_FACTOR)  # the tile periods (in tiles) reading searches: resizes of either tile size


def tile_factor(height: int, width: int) -> int:
    """How many times the tile's size an image of height x width carries it at (a large image: LARGE_FACTOR)."""
    return LARGE_FACTOR if min(height, width) >= LARGE_SIDE else 1


def tile_over(tile: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Repeat tiles [B, P, P] over height x width from the top-left corner: [B, height, width]."""
    period = tile.shape[-1]
    reps_h, reps_w = math.ceil(height / period), math.ceil(width / period)
    return tile.repeat(1, reps_h, reps_w)[:, :height, :width]


def enlarge_tiles(tiles: torch.Tensor, factor: int) -> torch.Tensor:
    """Tiles [B, T, T] enlarged `factor` times as periodic patterns (bilinear across the wrap)."""
    if factor == 1:
        return tiles
    padded = F.pad(tiles[:, None], (1, 1, 1, 1), mode="circular")
    large = F.interpolate(padded, scale_factor=factor, mode="bilinear", align_corners=False)[:, 0]
    return large[:, factor:-factor, factor:-factor]  # one padded pixel became `factor`


def strength_for_psnr(psnr: float = TARGET_PSNR) -> float:
    """The RMS change (8-bit levels) that puts an unclipped image `psnr` dB from the original once rounded."""
    return math.sqrt(255.0**2 / 10 ** (psnr / 10) - 1 / 12)  # rounding to 8 bits adds about 1/12 level^2


@cache
def clip_compensation(strength: float) -> torch.Tensor:
    """[256]: for a pixel of each value, how much to scale a mark of RMS `strength` there so that its expected
    squared change, once clipped to 0..255, is still strength^2 (1 away from black and white, about sqrt(2) at
    them): mostly black or white images keep the PSNR the others have, and a pixel needs only its own value."""
    u = np.linspace(-4.0, 4.0, 801)
    weight = np.exp(-u * u / 2)
    weight /= weight.sum()
    values = np.arange(256.0)[:, None]
    unclipped = (strength * strength * u * u * weight).sum()
    factors = np.full(256, MAX_GAIN)
    for factor in np.linspace(MAX_GAIN, 1.0, 101):  # from strong to weak: the weakest that keeps the change
        change = np.clip(values + factor * strength * u[None], 0, 255) - values
        enough = (change * change * weight).sum(axis=1) >= unclipped * (1 - 1e-9)
        factors[enough] = factor
    return torch.tensor(factors, dtype=torch.float32)


def fold(images: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Average every pixel of [B, C, H, W] with the pixels a whole number of tiles away: [B, C, T, T]. `weights`
    [B, 1, H, W]: a weighted average instead (`noise_weights`)."""
    b, c, h, w = images.shape
    ph, pw = (-h) % TILE, (-w) % TILE
    weights = images.new_ones(1, 1, h, w) if weights is None else weights
    padded = F.pad(images * weights, (0, pw, 0, ph))
    padded_weights = F.pad(weights, (0, pw, 0, ph))
    nh, nw = padded.shape[2] // TILE, padded.shape[3] // TILE
    total = padded.view(b, c, nh, TILE, nw, TILE).sum(dim=(2, 4))
    count = padded_weights.view(padded_weights.shape[0], 1, nh, TILE, nw, TILE).sum(dim=(2, 4))
    return total / count.clamp(min=1e-12)


def noise_weights(filtered: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W]: how much each pixel of pre-filtered images [B, F, H, W] should count in the fold, the inverse of
    the picture's local energy there (what drowns the mark: edges count little, flat areas much), with a floor of
    NOISE_FLOOR x the image's median energy so no pixel dominates. Without it, 64-px images read 0.933 of their bits
    after JPEG 75; with it 0.967, before any retraining."""
    energy = filtered.detach().pow(2).mean(dim=1, keepdim=True)
    pad = NOISE_WINDOW // 2
    energy = box_mean(F.pad(energy, (pad, pad, pad, pad), mode="replicate"), NOISE_WINDOW).clamp(min=0)  # sums round
    floor = NOISE_FLOOR * energy[:, :, ::4, ::4].flatten(1).median(dim=1).values.view(-1, 1, 1, 1)  # a 1/16 sample
    return 1.0 / (energy + floor + 1e-6)


def box_mean(x: torch.Tensor, k: int) -> torch.Tensor:
    """The mean over every k x k window of [B, C, H, W] (valid windows: [B, C, H - k + 1, W - k + 1]), by running
    sums: five times faster than avg_pool2d on a CPU, which reading does at every scale it tries."""
    rows = F.pad(x.cumsum(dim=2), (0, 0, 1, 0))
    x = (rows[:, :, k:] - rows[:, :, :-k]) / k
    cols = F.pad(x.cumsum(dim=3), (1, 0))
    return (cols[:, :, :, k:] - cols[:, :, :, :-k]) / k


def weighted_fold(filtered: torch.Tensor) -> torch.Tensor:
    """The fold of pre-filtered images, each pixel weighted by `noise_weights`: what reading and training align."""
    return fold(filtered, noise_weights(filtered))


def pilot_pattern(seed: int = 20261206) -> torch.Tensor:
    """The fixed pilot: smoothed seeded noise on the torus, zero mean, unit RMS, [T, T]."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, 1, TILE, TILE, generator=g)
    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 16).view(1, 1, 3, 3)
    smooth = F.conv2d(F.pad(noise, (1, 1, 1, 1), mode="circular"), kernel)[0, 0]
    smooth = smooth - smooth.mean()
    return smooth / smooth.pow(2).mean().sqrt()


def circular_correlation(folded: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    """Correlation of folded tiles [B, T, T] with `pattern` [T, T] at every cyclic shift: [B, T, T].

    Entry (dy, dx) is high when the folded tile is the pattern moved down dy and right dx.
    """
    spectrum = torch.fft.rfft2(folded) * torch.conj(torch.fft.rfft2(pattern))
    return torch.fft.irfft2(spectrum, s=(TILE, TILE))


def roll_tiles(folded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Each tile of [B, C, T, T] rolled up by dy[b] and left by dx[b] (cyclically): undoes a shift per image."""
    steps = torch.arange(TILE, device=folded.device)
    rows = (steps[None, :] + dy[:, None]) % TILE
    cols = (steps[None, :] + dx[:, None]) % TILE
    batch = torch.arange(folded.shape[0], device=folded.device)[:, None, None]
    return folded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


class WatermarkCodec(nn.Module):
    """Patterns (one per bit), a pre-filter and a decoder CNN: all that embedding and reading need, ~0.3 M numbers."""

    def __init__(self, n_bits: int = N_BITS, filters: int = 4, width: int = 32) -> None:
        super().__init__()
        self.n_bits = n_bits
        self.patterns = nn.Parameter(torch.randn(n_bits, TILE, TILE) * 0.1)
        self.pilot = nn.Parameter(pilot_pattern())  # learned too: trained to be found through the edits
        # the pre-filter removes the picture before folding; its first channel is also what the pilot is sought in
        self.prefilter = nn.Conv2d(1, filters, 5, padding=2, padding_mode="reflect")
        self.decoder = nn.Sequential(
            nn.Conv2d(filters, width, 3, padding=1, padding_mode="circular"), nn.GELU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, padding_mode="circular"), nn.GELU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1, padding_mode="circular"), nn.GELU(),
            nn.Flatten(), nn.Linear(2 * width * (TILE // 4) ** 2, n_bits),
        )

    def tile(self, bits: torch.Tensor) -> torch.Tensor:
        """The unit-RMS tile [B, T, T] for bits [B, n_bits] (0/1)."""
        signs = bits.float() * 2 - 1
        payload = torch.einsum("bn,nhw->bhw", signs, self.patterns)
        payload = payload - payload.mean(dim=(1, 2), keepdim=True)
        payload = payload / payload.pow(2).mean(dim=(1, 2), keepdim=True).add(1e-8).sqrt()
        return math.sqrt(PILOT_SHARE) * self.unit_pilot() + math.sqrt(1 - PILOT_SHARE) * payload

    def unit_pilot(self) -> torch.Tensor:
        """The pilot at zero mean and unit RMS."""
        pilot = self.pilot - self.pilot.mean()
        return pilot / pilot.pow(2).mean().add(1e-8).sqrt()

    def mark(self, images: torch.Tensor, bits: torch.Tensor, psnr: float = TARGET_PSNR,
             factor: int | None = None) -> torch.Tensor:
        """Images [B, C, H, W] in 0..255 (float) with the mark added to every channel at `psnr` dB, clipped to
        0..255; `factor`: the tile's enlargement (default: by the image's size, `tile_factor`)."""
        h, w = images.shape[2:]
        tiles = enlarge_tiles(self.tile(bits), factor or tile_factor(h, w))
        tiles = tiles / tiles.pow(2).mean(dim=(1, 2), keepdim=True).add(1e-8).sqrt()  # unit RMS: pilot and payload overlap
        unit = tile_over(tiles, h, w)[:, None]
        strength = strength_for_psnr(psnr)
        levels = images.detach().round().clamp(0, 255).long()
        return (images + strength * clip_compensation(strength).to(images.device)[levels] * unit).clamp(0, 255)

    def filtered(self, y: torch.Tensor) -> torch.Tensor:
        """The pre-filter on luminance [B, 1, H, W] in 0..255."""
        return self.prefilter((y - 128.0) / 64.0)

    def align(self, folded: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Folded filtered tiles [B, F, T, T] rolled back by the pilot's k likeliest shifts: (aligned [B, k, F, T, T],
        peak [B, k] in standard deviations of the correlation, shift [B, k, 2])."""
        corr = circular_correlation(folded[:, 0], self.pilot_filtered())
        flat = corr.flatten(1)
        peaks, index = flat.topk(k, dim=1)
        peaks = peaks / flat.std(dim=1, keepdim=True).clamp(min=1e-8)
        dy, dx = index // TILE, index % TILE
        aligned = torch.stack([roll_tiles(folded, dy[:, j], dx[:, j]) for j in range(k)], dim=1)
        return aligned, peaks, torch.stack([dy, dx], dim=2)

    def pilot_filtered(self) -> torch.Tensor:
        """The pilot as the pre-filter's first channel sees it (circularly): what is sought in the folded tile."""
        weight = self.prefilter.weight[:1]
        padded = F.pad(self.unit_pilot().view(1, 1, TILE, TILE), (2, 2, 2, 2), mode="circular")
        return F.conv2d(padded, weight)[0, 0]

    def read_aligned(self, aligned: torch.Tensor) -> torch.Tensor:
        """48 logits from aligned folded tiles (positive = bit 1)."""
        return self.decoder(aligned)


@dataclass(frozen=True)
class Reading:
    """What reading one image found: the 48 logits, the scale and shift of the mark, and the pilot's strength."""

    logits: np.ndarray
    scale: float
    shift: tuple[int, int]
    pilot_peak: float

    @property
    def bits(self) -> np.ndarray:
        return (self.logits > 0).astype(np.uint8)


COMMON_SCALES = (0.5, 0.6, 2 / 3, 0.75, 0.8, 1.25, 4 / 3, 1.5)  # resizes people make, tried exactly


def candidate_scales(side: int) -> list[float]:
    """Tile periods (in tiles) to try for an image `side` pixels across: the common resizes of either tile size, and
    a geometric grid fine enough that the fold over the restored image (at most MAX_DECODE_SIDE) drifts by about a
    pixel at most."""
    lo, hi = SCALES
    restored_tiles = min(side / lo, MAX_DECODE_SIDE) / TILE
    step = min(0.04, 0.125 / max(restored_tiles, 1.0))
    n = int(math.ceil(math.log(hi / lo) / math.log1p(step)))
    common = {f * c for f in (1, LARGE_FACTOR) for c in (1.0, *COMMON_SCALES)}
    return sorted({*common, *(lo * (1 + step) ** i for i in range(n + 1))})


def centre_crop(y: torch.Tensor, side: int = MAX_DECODE_SIDE, align: int = 1) -> torch.Tensor:
    """The centre side x side of [B, 1, H, W] when it is larger: reading needs no more. `align` rounds the corner
    down to a multiple of it (TILE keeps the tile where embedding put it, for the as-written reading)."""
    h, w = y.shape[2:]
    top, left = max(0, (h - side) // 2) // align * align, max(0, (w - side) // 2) // align * align
    return y[:, :, top : top + side, left : left + side]


def image_luma(image: np.ndarray) -> torch.Tensor:
    """Luminance [1, 1, H, W] (float, 0..255) of a uint8 image [H, W] or [H, W, C] (C 1, 2, 3 or 4)."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    colour = array[:, :, :3] if array.shape[2] >= 3 else array[:, :, :1]
    return luma(torch.from_numpy(colour.astype(np.float32)).permute(2, 0, 1)[None])


TOP_SHIFTS = 3  # the pilot's likeliest shifts read at scale 1, and over all scales
HYPOTHESES = 1 + 2 * TOP_SHIFTS  # alignments read per image


def _keep_best(best: tuple[torch.Tensor, ...] | None, new: tuple[torch.Tensor, ...], k: int) -> tuple[torch.Tensor, ...]:
    """The k highest-peak candidates of two sets (aligned [B, k, ...], peak [B, k], shift [B, k, 2], scale [B, k])."""
    if best is None:
        return new
    merged = [torch.cat([a, b], dim=1) for a, b in zip(best, new, strict=True)]
    order = merged[1].topk(k, dim=1).indices
    return tuple(m[torch.arange(m.shape[0])[:, None], order] for m in merged)


@torch.no_grad()
def read_luma(codec: WatermarkCodec, y: torch.Tensor) -> list[list[Reading]]:
    """Read the marks of same-sized luminance images [B, 1, H, W], under `HYPOTHESES` alignments each.

    First the tile where embedding put it (at the size `tile_factor` gives an image this large: right for an image
    only re-encoded by JPEG, a GIF palette or noise), then the pilot's `TOP_SHIFTS` likeliest shifts at that size
    (a crop), then its likeliest (period, shift) pairs over every period tried (a resize, of either tile size). The
    caller keeps whichever decodes closest to a codeword, so the false-positive rate is multiplied by `HYPOTHESES`
    (payload.false_positive_rate). A reading's `scale` is the tile's period found, in tiles.
    """
    factor = float(tile_factor(y.shape[2], y.shape[3]))
    y = centre_crop(y, int(MAX_DECODE_SIDE * SCALES[1]), align=TILE * LARGE_FACTOR)
    b, k = y.shape[0], TOP_SHIFTS

    def folded_at(scale: float) -> torch.Tensor:
        restored = y
        if scale != 1.0:
            size = (max(8, round(y.shape[2] / scale)), max(8, round(y.shape[3] / scale)))
            restored = F.interpolate(y, size=size, mode="bilinear", align_corners=False, antialias=scale > 1.0)
        return weighted_fold(codec.filtered(centre_crop(restored, align=TILE)))

    folded = folded_at(factor)
    aligned, peak, shift = codec.align(folded, k)
    at_size = (aligned, peak, shift, torch.full((b, k), factor))
    best = at_size
    for scale in candidate_scales(max(y.shape[2:])):
        if scale == factor or min(y.shape[2:]) / scale < TILE:  # restored smaller than one tile: nothing to fold
            continue
        best = _keep_best(best, (*codec.align(folded_at(scale), k), torch.full((b, k), scale)), k)
    as_written = (folded[:, None], torch.zeros(b, 1), torch.zeros(b, 1, 2, dtype=torch.long), torch.full((b, 1), factor))
    tiles, peaks, shifts, scales = (torch.cat(parts, dim=1) for parts in zip(as_written, at_size, best, strict=True))
    logits = codec.read_aligned(tiles.flatten(0, 1)).view(b, HYPOTHESES, -1).numpy()
    return [[Reading(logits[i, j], float(scales[i, j]), (int(shifts[i, j, 0]), int(shifts[i, j, 1])),
                     float(peaks[i, j])) for j in range(HYPOTHESES)] for i in range(b)]


def read_image(codec: WatermarkCodec, image: np.ndarray) -> list[Reading]:
    """The `HYPOTHESES` readings of one uint8 image [H, W] or [H, W, C]."""
    return read_luma(codec, image_luma(image))[0]


def mark_array(codec: WatermarkCodec, image: np.ndarray, bits: np.ndarray, psnr: float = TARGET_PSNR,
               factor: int | None = None) -> np.ndarray:
    """One uint8 image [H, W, C] (C 1, 3 or 4; alpha kept) with the mark: luminance change on the colour channels.
    `factor`: the tile's enlargement when the array is part of a larger image (default: `tile_factor` of its size)."""
    array = np.asarray(image)
    squeeze = array.ndim == 2
    if squeeze:
        array = array[:, :, None]
    colour = colour_of(array)
    with torch.no_grad():
        tensor = torch.from_numpy(np.ascontiguousarray(colour)).permute(2, 0, 1)[None].float()
        marked = codec.mark(tensor, torch.from_numpy(np.asarray(bits, dtype=np.uint8))[None], psnr, factor)
    out = array.copy()
    out[:, :, : colour.shape[2]] = marked[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
    return out[:, :, 0] if squeeze else out


def colour_of(array: np.ndarray) -> np.ndarray:
    """The channels of a uint8 image [H, W, C] the mark goes into: grey or RGB, never alpha."""
    return array[:, :, : min(3, array.shape[2])] if array.shape[2] != 2 else array[:, :, :1]


def marked_sse(original: np.ndarray, marked: np.ndarray) -> tuple[int, int]:
    """The exact sum of squared 8-bit differences over the colour channels, and how many values it sums: what a
    whole image's PSNR is made of, summed alike over its bands."""
    original, marked = np.asarray(original), np.asarray(marked)
    if original.ndim == 2:
        original, marked = original[:, :, None], marked[:, :, None]
    a, b = colour_of(original).astype(np.int64), colour_of(marked).astype(np.int64)
    return int(((a - b) ** 2).sum()), int(a.size)


def psnr_of_sse(sse: int, count: int) -> float:
    """PSNR (dB) from `marked_sse`'s sum and count; inf when nothing changed."""
    return math.inf if sse == 0 else 10 * math.log10(255.0**2 * count / sse)


def calibrate_strength(psnr_at: Callable[[float], float], psnr: float = TARGET_PSNR,
                       min_psnr: float = MIN_PSNR) -> float:
    """The nominal PSNR to mark one image at so that its own PSNR (`psnr_at(nominal)`: rounding and clipping
    included) lands just above `min_psnr`, never below: secant steps in dB from `psnr`, then weakening if need be."""
    aim = min_psnr + PSNR_AIM
    nominal, achieved = psnr, psnr_at(psnr)
    kept = (nominal, achieved) if achieved >= min_psnr else None
    for _ in range(CALIBRATION_TRIES - 1):
        if not math.isfinite(achieved) or abs(achieved - aim) < 0.01:
            break
        nominal = min(max(nominal + aim - achieved, psnr - 3.0), psnr + 3.0)
        achieved = psnr_at(nominal)
        if achieved >= min_psnr and (kept is None or achieved < kept[1]):
            kept = (nominal, achieved)
    while kept is None and nominal < psnr + 6.0:
        nominal += 0.25
        achieved = psnr_at(nominal)
        kept = (nominal, achieved) if achieved >= min_psnr else None
    return kept[0] if kept is not None else nominal


def calibrated_mark(codec: WatermarkCodec, image: np.ndarray, bits: np.ndarray, psnr: float = TARGET_PSNR,
                    min_psnr: float = MIN_PSNR, factor: int | None = None) -> np.ndarray:
    """`mark_array` at the strength `calibrate_strength` finds for this image: its PSNR just above `min_psnr`."""
    tried: dict[float, np.ndarray] = {}

    def psnr_at(nominal: float) -> float:
        tried[nominal] = mark_array(codec, image, bits, nominal, factor)
        return psnr_of_sse(*marked_sse(image, tried[nominal]))

    nominal = calibrate_strength(psnr_at, psnr, min_psnr)
    return tried[nominal] if nominal in tried else mark_array(codec, image, bits, nominal, factor)
