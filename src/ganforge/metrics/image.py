"""Full-reference image metrics: PSNR, SSIM, L1, the super-resolution Y-channel protocol, sharpness.

Used by the translation, restoration and video evaluations, which compare each output with its
target image by image. Conventions shared by every function here:

- Images are NumPy arrays `[N, H, W, C]`; a single `[H, W, C]` or `[H, W]` image is read as a batch
  of one. A 3-D array is always one HWC image, so a batch of grayscale frames must be `[N, H, W, 1]`.
- Values lie in `[0, data_range]` (255 for uint8, 1.0 for float images in [0, 1]); `pred` and
  `target` must share shape and dtype, because mixing a uint8 image with a [0, 1] float one is the
  classic silent bug of these metrics.
- Every metric returns a float64 array with one value per image, `[N]`, even for a single image.
- `mask` is a bool `[N, H, W]` (or one `[H, W]` for the whole batch), True where the metric counts,
  for example an inpainting hole. An image whose mask selects nothing is an error: its score is
  undefined, and a silent NaN would poison a batch mean.
- Identical images give PSNR (and sharpness difference) `inf`: the honest value, and the one the
  literature's code returns. Pass `max_db` (say 100) to clip it when a finite batch mean is needed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11x11 window: skimage's truncate=3.5 gives int(3.5 * 1.5 + 0.5) = 5
SSIM_MIN_SIZE = 2 * SSIM_RADIUS + 1  # images smaller than the window have no SSIM (reported as None)
PSNR_MAX_DB = 100.0  # the evaluations' per-image cap: an exact copy scores 100 dB rather than inf
SSIM_K1 = 0.01
SSIM_K2 = 0.03

# ITU-R BT.601 luma for R, G, B in [0, 1], giving Y in [16, 235] (MATLAB rgb2ycbcr, and so the SR
# literature: Set5/Set14/Urban100 tables and BasicSR's `bgr2ycbcr(y_only=True)`).
BT601_Y_WEIGHTS = (65.481, 128.553, 24.966)
BT601_Y_OFFSET = 16.0


def _as_nhwc(images: np.ndarray, name: str) -> np.ndarray:
    """View HW and HWC inputs as NHWC, checking the dtype; no copy."""
    images = np.asarray(images)
    if images.dtype == bool or not (np.issubdtype(images.dtype, np.integer)
                                    or np.issubdtype(images.dtype, np.floating)):
        raise ValueError(f"{name} must hold integer or float pixels, got dtype {images.dtype}")
    if images.ndim == 2:
        return images[None, :, :, None]
    if images.ndim == 3:
        if images.shape[-1] > 4:
            raise ValueError(
                f"{name} has shape {images.shape}: a 3-D array is read as one [H, W, C] image, but its "
                f"last axis has {images.shape[-1]} channels; pass a batch of grayscale images as [N, H, W, 1]"
            )
        return images[None]
    if images.ndim == 4:
        return images
    raise ValueError(f"{name} must be [N, H, W, C], [H, W, C] or [H, W], got shape {images.shape}")


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float64 NHWC after checking they match in shape and dtype."""
    pred_arr, target_arr = np.asarray(pred), np.asarray(target)
    if pred_arr.dtype != target_arr.dtype:
        raise ValueError(
            f"pred is {pred_arr.dtype} but target is {target_arr.dtype}; convert both to the same dtype "
            f"and value range (for example uint8 in [0, 255]) before comparing"
        )
    if pred_arr.shape != target_arr.shape:
        raise ValueError(f"pred and target differ in shape: {pred_arr.shape} vs {target_arr.shape}")
    return (_as_nhwc(pred_arr, "pred").astype(np.float64),
            _as_nhwc(target_arr, "target").astype(np.float64))


def _check_range(data_range: float) -> float:
    if not data_range > 0:
        raise ValueError(f"data_range must be positive (255 for uint8, 1.0 for [0, 1] floats), got {data_range}")
    return float(data_range)


def _as_mask(mask: np.ndarray | None, n: int, h: int, w: int) -> np.ndarray | None:
    """The mask as bool [N, H, W], broadcasting one [H, W] mask; every image must select a pixel."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask must be a bool array (True = counted), got dtype {mask.dtype}; "
                         f"for a 0/255 mask image use `mask > 127`")
    if mask.shape == (h, w):
        mask = np.broadcast_to(mask, (n, h, w))
    if mask.shape != (n, h, w):
        raise ValueError(f"mask has shape {mask.shape} but the images need [N, H, W] = {(n, h, w)} or [H, W]")
    empty = np.flatnonzero(~mask.reshape(n, -1).any(axis=1))
    if empty.size:
        raise ValueError(f"mask selects no pixel in image(s) {empty[:10].tolist()}; "
                         f"drop those images or pass mask=None")
    return mask


def _masked_mean(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Per-image mean of [N, H, W, C] values, over every channel of the masked pixels."""
    if mask is None:
        return values.reshape(values.shape[0], -1).mean(axis=1)
    weights = mask[..., None].astype(np.float64)
    total = (values * weights).reshape(values.shape[0], -1).sum(axis=1)
    return total / (weights.reshape(weights.shape[0], -1).sum(axis=1) * values.shape[-1])


def _to_db(signal_power: float, noise: np.ndarray, max_db: float | None) -> np.ndarray:
    """10 log10(signal / noise) with noise 0 giving inf (or max_db when a cap is asked for)."""
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(signal_power / noise)
    return db if max_db is None else np.minimum(db, max_db)


def psnr(
    pred: np.ndarray,
    target: np.ndarray,
    data_range: float = 255.0,
    mask: np.ndarray | None = None,
    max_db: float | None = None,
) -> np.ndarray:
    """Peak signal-to-noise ratio per image, 10 log10(data_range^2 / MSE), in dB.

    The MSE runs over all channels of all (or the masked) pixels. A perfect match gives inf unless
    `max_db` caps it.
    """
    data_range = _check_range(data_range)
    p, t = _pair(pred, target)
    mask = _as_mask(mask, *p.shape[:3])
    return _to_db(data_range**2, _masked_mean((p - t) ** 2, mask), max_db)


def l1(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None, data_range: float = 255.0
) -> np.ndarray:
    """Mean absolute error per image in [0, 1] units (divided by data_range), so uint8 and float agree."""
    data_range = _check_range(data_range)
    p, t = _pair(pred, target)
    mask = _as_mask(mask, *p.shape[:3])
    return _masked_mean(np.abs(p - t), mask) / data_range


def _gaussian_1d(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> torch.Tensor:
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim_map(pred: np.ndarray, target: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """The SSIM map [N, H, W], averaged over channels, at every pixel of the image.

    Wang et al.'s local statistics under an 11x11 Gaussian window (sigma 1.5, normalised), population
    (co)variances, C1 = (0.01 L)^2, C2 = (0.03 L)^2. The image is padded by 5 pixels with
    `np.pad(mode="symmetric")`, which is scipy's "reflect" and so equals skimage's full map.
    Computed with separable float64 convolutions over the whole batch at once.
    """
    data_range = _check_range(data_range)
    p, t = _pair(pred, target)
    n, h, w, c = p.shape
    if min(h, w) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least {2 * SSIM_RADIUS + 1}x{2 * SSIM_RADIUS + 1} pixels "
                         f"for its 11x11 window, got {h}x{w}")
    r = SSIM_RADIUS
    pad = ((0, 0), (r, r), (r, r), (0, 0))
    x = torch.from_numpy(np.pad(p, pad, mode="symmetric")).permute(0, 3, 1, 2)  # [N, C, H+2r, W+2r]
    y = torch.from_numpy(np.pad(t, pad, mode="symmetric")).permute(0, 3, 1, 2)
    # The five local moments of every channel as channels of one tensor: one grouped conv for all.
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1).contiguous()  # [N, 5C, H+2r, W+2r]
    groups = stack.shape[1]
    g = _gaussian_1d()
    stack = F.conv2d(stack, g.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)
    stack = F.conv2d(stack, g.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)  # [N, 5C, H, W]
    mu_x, mu_y, e_xx, e_yy, e_xy = stack.split(c, dim=1)
    var_x, var_y, cov = e_xx - mu_x**2, e_yy - mu_y**2, e_xy - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    smap = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return smap.mean(dim=1).numpy()


def ssim(
    pred: np.ndarray, target: np.ndarray, data_range: float = 255.0, mask: np.ndarray | None = None
) -> np.ndarray:
    """Structural similarity per image, averaged over channels; 1 for identical images.

    Without a mask: the mean of the SSIM map with a 5-pixel border left out, where the window would
    reach past the image. This is Wang et al.'s and skimage's convention
    (`gaussian_weights=True, sigma=1.5, use_sample_covariance=False`), so values are comparable
    with published ones. With a mask: the mean of the full map over the masked pixels, border ones
    included, so a hole touching the edge is still scored (its border values use reflected
    neighbours). An all-True mask therefore differs from mask=None by the border pixels only.
    """
    smap = ssim_map(pred, target, data_range)  # [N, H, W]
    n, h, w = smap.shape
    mask = _as_mask(mask, n, h, w)
    if mask is None:
        r = SSIM_RADIUS
        return smap[:, r:h - r, r:w - r].reshape(n, -1).mean(axis=1)
    return _masked_mean(smap[..., None], mask)


def rgb_to_y(images: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """BT.601 luma of RGB images in [0, data_range], as float64 in [16, 235] with the channel axis kept.

    Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1] (MATLAB's rgb2ycbcr; the
    weights sum to 219, so white is 235 and black 16). This is the Y on which super-resolution
    papers report PSNR/SSIM. MATLAB rounds Y to uint8 for uint8 input; like BasicSR we keep the
    unrounded value, which moves PSNR by hundredths of a dB at most.
    """
    data_range = _check_range(data_range)
    images = np.asarray(images)
    if images.ndim < 3 or images.shape[-1] != 3:
        raise ValueError(f"rgb_to_y needs RGB images [..., H, W, 3], got shape {images.shape}")
    rgb = images.astype(np.float64) / data_range
    y = rgb @ np.asarray(BT601_Y_WEIGHTS) + BT601_Y_OFFSET
    return y[..., None]


def shave(images: np.ndarray, border: int) -> np.ndarray:
    """Crop `border` pixels from every side: the SR protocol leaves out the `scale`-pixel frame.

    Takes [N, H, W, C], [H, W, C] or [H, W] and keeps the layout; the result is a view.
    """
    images = np.asarray(images)
    if images.ndim not in (2, 3, 4):
        raise ValueError(f"shave takes [N, H, W, C], [H, W, C] or [H, W], got shape {images.shape}")
    if int(border) != border or border < 0:
        raise ValueError(f"border must be a non-negative integer, got {border}")
    border = int(border)
    h_axis = 0 if images.ndim == 2 else images.ndim - 3
    h, w = images.shape[h_axis], images.shape[h_axis + 1]
    if 2 * border >= min(h, w):
        raise ValueError(f"shaving {border} pixels from each side leaves nothing of a {h}x{w} image")
    if border == 0:
        return images
    index = [slice(None)] * images.ndim
    index[h_axis] = index[h_axis + 1] = slice(border, -border)
    return images[tuple(index)]


def sr_psnr_ssim(
    pred: np.ndarray, target: np.ndarray, scale: int, data_range: float = 255.0
) -> tuple[np.ndarray, np.ndarray]:
    """PSNR and SSIM per image by the standard super-resolution protocol.

    RGB images go to BT.601 Y in [16, 235] (single-channel images are taken as Y already and only
    rescaled to [0, 255]), `scale` pixels are shaved from every side, and both metrics use a peak of
    255, as most SR papers report and BasicSR computes with `test_y_channel=True, crop_border=scale`.
    """
    data_range = _check_range(data_range)
    p, t = _pair(pred, target)
    channels = p.shape[-1]
    if channels == 3:
        p, t = rgb_to_y(p, data_range), rgb_to_y(t, data_range)
    elif channels == 1:
        p, t = p * (255.0 / data_range), t * (255.0 / data_range)
    else:
        raise ValueError(f"sr_psnr_ssim takes RGB or single-channel images, got {channels} channels")
    p, t = shave(p, scale), shave(t, scale)
    return psnr(p, t, data_range=255.0), ssim(p, t, data_range=255.0)


def _abs_gradients(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|I[i, j] - I[i-1, j]| and |I[i, j] - I[i, j-1]| on the [H-1, W-1] pixels where both exist."""
    dy = np.abs(np.diff(images, axis=1))[:, :, 1:]  # [N, H-1, W-1, C]
    dx = np.abs(np.diff(images, axis=2))[:, 1:]
    return dy, dx


def sharpness(images: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """Mean gradient magnitude per image in [0, 1] units: sqrt(dx^2 + dy^2) of backward differences.

    Averaged over the [H-1, W-1] pixels where both differences exist and over channels. 0 for a
    constant image; blur lowers it, so a blurry MSE prediction scores below its crisp target. Issue
    6's "relative to the true frames" is `sharpness(pred) / sharpness(target)`.
    """
    data_range = _check_range(data_range)
    x = _as_nhwc(images, "images").astype(np.float64) / data_range
    if min(x.shape[1:3]) < 2:
        raise ValueError(f"sharpness needs images of at least 2x2 pixels, got {x.shape[1]}x{x.shape[2]}")
    dy, dx = _abs_gradients(x)
    return np.sqrt(dx**2 + dy**2).reshape(x.shape[0], -1).mean(axis=1)


def sharpness_difference(
    pred: np.ndarray, target: np.ndarray, data_range: float = 255.0, max_db: float | None = None
) -> np.ndarray:
    """Mathieu et al.'s sharpness difference per image, in dB; higher means closer gradients.

    From "Deep multi-scale video prediction beyond mean square error" (Mathieu, Couprie, LeCun,
    ICLR 2016, arXiv:1511.05440), where it sits beside PSNR and SSIM in the results tables:

        10 log10( max^2 / ((1/N) sum_ij |(grad_i Y + grad_j Y) - (grad_i Yhat + grad_j Yhat)|) )

    with grad_i Y = |Y[i, j] - Y[i-1, j]|, grad_j Y = |Y[i, j] - Y[i, j-1]|, Y the true and Yhat the
    predicted frame, and max the largest possible intensity. Intensities are scaled to [0, 1] here
    (max = 1) so uint8 and float inputs agree; the same formula on a [0, 255] scale would read
    10 log10(255) = 24.1 dB higher. N counts the [H-1, W-1] pixels where both differences exist,
    times channels. Identical gradients give inf unless `max_db` caps it.
    """
    data_range = _check_range(data_range)
    p, t = _pair(pred, target)
    if min(p.shape[1:3]) < 2:
        raise ValueError(f"sharpness_difference needs images of at least 2x2 pixels, got {p.shape[1]}x{p.shape[2]}")
    p_dy, p_dx = _abs_gradients(p / data_range)
    t_dy, t_dx = _abs_gradients(t / data_range)
    diff = np.abs((t_dy + t_dx) - (p_dy + p_dx))
    return _to_db(1.0, diff.reshape(diff.shape[0], -1).mean(axis=1), max_db)
