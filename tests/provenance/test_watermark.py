"""The watermark codec: tiling and folding, marking's size and strength, reading through edits, training plumbing."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.provenance import attacks, check_mark, watermark_images
from ganforge.provenance import payload as codes
from ganforge.provenance.training import Edits, WatermarkTrainConfig, grid_of_four, step_loss, train_codec
from ganforge.provenance.watermark import (
    LARGE_FACTOR,
    LARGE_SIDE,
    MIN_PSNR,
    PSNR_AIM,
    TARGET_PSNR,
    TILE,
    WatermarkCodec,
    box_mean,
    calibrate_strength,
    calibrated_mark,
    candidate_scales,
    enlarge_tiles,
    fold,
    mark_array,
    read_image,
    roll_tiles,
    tile_factor,
    tile_over,
    weighted_fold,
)
from ganforge.provenance.weights import load_codec_file, shipped_codec


def smooth_image(size: int, seed: int, channels: int = 3) -> np.ndarray:
    """A photo-like test image: blurred noise with some edges, uint8 [size, size, channels]."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, channels, size // 8, size // 8, generator=g) * 255
    up = torch.nn.functional.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False)
    return up.clamp(0, 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_fold_of_a_tiled_pattern_gives_the_tile_back_and_roll_undoes_a_crop():
    tile = torch.randn(1, TILE, TILE)
    image = tile_over(tile, 100, 75)[:, None]
    assert torch.allclose(fold(image)[0, 0], tile, atol=1e-5)
    cropped = image[:, :, 5:, 17:]
    rolled = roll_tiles(fold(cropped), torch.tensor([(-5) % TILE]), torch.tensor([(-17) % TILE]))
    assert torch.allclose(rolled[0, 0], tile, atol=1e-5)


def test_weighted_fold_lets_a_busy_copy_count_less():
    """One of four copies of the tile lies under strong picture detail: the plain fold takes a quarter of it, the
    noise-weighted fold far less, and on a clean tiling both give the tile back."""
    g = torch.Generator().manual_seed(0)
    tile = torch.randn(1, TILE, TILE, generator=g)
    image = tile_over(tile, 2 * TILE, 2 * TILE)[:, None].clone()
    assert torch.allclose(weighted_fold(image)[0, 0], tile, atol=1e-4)
    image[:, :, :TILE, :TILE] += 20 * torch.randn(1, 1, TILE, TILE, generator=g)
    plain_error = (fold(image)[0, 0] - tile).pow(2).mean()
    weighted_error = (weighted_fold(image)[0, 0] - tile).pow(2).mean()
    assert weighted_error < plain_error / 20


def test_box_mean_is_the_windowed_average():
    x = torch.rand(2, 3, 20, 17, generator=torch.Generator().manual_seed(0)) * 100
    assert torch.allclose(box_mean(x, 5), torch.nn.functional.avg_pool2d(x, 5, stride=1), atol=1e-4)


def test_candidate_scales_hold_the_common_resizes_and_grow_finer_with_size():
    for side in (28, 64, 256):
        scales = candidate_scales(side)
        assert {1.0, 0.5, 1.5, LARGE_FACTOR, 1.5 * LARGE_FACTOR} <= set(scales)
    assert len(candidate_scales(256)) > len(candidate_scales(32))


@pytest.mark.parametrize("shape", [(64, 64, 3), (64, 48, 1), (40, 40), (70, 90, 4)])
def test_marking_keeps_shape_dtype_alpha_and_psnr(shape):
    image = smooth_image(max(shape[:2]), 0, 3)[: shape[0], : shape[1]]
    if len(shape) == 2:
        image = image[:, :, 0]
    elif shape[2] == 1:
        image = image[:, :, :1]
    elif shape[2] == 4:
        image = np.concatenate([image, np.full(shape[:2] + (1,), 7, np.uint8)], axis=2)
    marked = watermark_images(image, "model-a")
    assert marked.shape == image.shape and marked.dtype == np.uint8
    if image.ndim == 3 and image.shape[2] == 4:
        assert np.array_equal(marked[:, :, 3], image[:, :, 3])
    colour = (..., slice(0, 3)) if image.ndim == 3 else ...  # alpha is left alone
    # the strength is corrected per image until its PSNR lands just above the floor
    assert MIN_PSNR <= psnr(marked[colour], image[colour]) <= MIN_PSNR + 0.15
    assert not np.array_equal(marked, image)


def test_the_psnr_budget_is_spent_and_never_overdrawn():
    codec, _ = shipped_codec()
    bits = codes.encode(codes.Payload(3, 4))
    digit = np.zeros((64, 64), np.uint8)
    digit[20:44, 28:36] = 230
    white = np.full((32, 32, 3), 255, np.uint8)  # the mark's positive half clips away entirely
    for image in (smooth_image(64, 1, 3), smooth_image(100, 2, 3)[:70], digit, white):
        nominal = psnr(mark_array(codec, image, bits), image)  # TARGET_PSNR, give or take rounding and clipping
        marked = calibrated_mark(codec, image, bits)
        assert MIN_PSNR <= psnr(marked, image) <= MIN_PSNR + 0.1 < nominal  # stronger than nominal, never below
    assert psnr(calibrated_mark(codec, digit, bits, min_psnr=39.0), digit) >= 39.0
    assert calibrate_strength(lambda nominal: nominal - 2.0) == pytest.approx(MIN_PSNR + 2.0 + PSNR_AIM)


def test_black_pixels_get_a_stronger_mark_so_a_mostly_black_image_keeps_the_psnr():
    digit = np.zeros((64, 64), np.uint8)
    digit[20:44, 28:36] = 230  # an mnist-like stroke: most pixels clip the mark's negative half away
    codec, _ = shipped_codec()
    bits = codes.encode(codes.Payload(1, 2))
    marked = mark_array(codec, digit, bits)
    assert TARGET_PSNR - 0.3 <= psnr(marked, digit) <= TARGET_PSNR + 0.3
    grey = np.full((64, 64), 128, np.uint8)
    rms_grey = np.sqrt(np.mean((mark_array(codec, grey, bits) - 128.0) ** 2))
    rms_black = np.sqrt(np.mean(marked[digit == 0].astype(float) ** 2))  # clipping keeps only the positive half
    assert abs(rms_black / rms_grey - 1) < 0.15  # uncompensated it would be about 0.71


def test_large_images_carry_the_tile_enlarged_and_periodic():
    assert tile_factor(LARGE_SIDE - 1, 900) == 1 and tile_factor(LARGE_SIDE, LARGE_SIDE) == LARGE_FACTOR
    tiles = torch.randn(2, TILE, TILE)
    large = enlarge_tiles(tiles, LARGE_FACTOR)
    assert large.shape == (2, TILE * LARGE_FACTOR, TILE * LARGE_FACTOR)
    assert torch.allclose(large.mean(dim=(1, 2)), tiles.mean(dim=(1, 2)), atol=1e-4)  # the same pattern, larger
    # periodic: enlarging two tiles side by side gives the enlarged tile twice (no seam at the wrap)
    twice = enlarge_tiles(tiles.repeat(1, 1, 2)[:, :, :TILE].repeat(1, 2, 2), LARGE_FACTOR)
    assert torch.allclose(twice[:, :TILE * LARGE_FACTOR, :TILE * LARGE_FACTOR], large, atol=1e-4)


def test_a_large_image_is_read_at_its_tile_size_and_after_a_half_size_shrink():
    image = smooth_image(LARGE_SIDE, 4)
    codec, _ = shipped_codec()
    bits = codes.encode(codes.Payload(11, 12))
    marked = mark_array(codec, image, bits)
    readings = read_image(codec, marked)
    assert readings[0].scale == LARGE_FACTOR and (readings[0].bits == bits).mean() >= 0.95
    half = np.asarray(Image.fromarray(marked).resize((LARGE_SIDE // 2,) * 2, Image.BICUBIC))
    best, decoded = codes.best_of([r.bits for r in read_image(codec, half)])
    assert decoded.marked and decoded.payload == codes.Payload(11, 12)


def test_a_stack_of_frames_is_marked_frame_by_frame():
    frames = np.stack([smooth_image(64, s) for s in range(3)])
    marked = watermark_images(frames, "model-a")
    assert marked.shape == frames.shape
    assert np.array_equal(marked[1], watermark_images(frames[1], "model-a"))


def test_the_shipped_codec_reads_its_mark_clean_and_through_jpeg_at_256_px():
    image = smooth_image(256, 3)
    marked = watermark_images(image, "model-b")
    expected = codes.Payload.for_model("model-b")
    result = check_mark(marked)
    assert result.marked and result.model_fingerprint == expected.model_fingerprint
    assert result.month == expected.month_label()
    buf = io.BytesIO()
    Image.fromarray(marked).save(buf, format="JPEG", quality=85)
    assert check_mark(np.asarray(Image.open(io.BytesIO(buf.getvalue())))).marked
    assert result.false_positive_rate < 1e-4


def test_unmarked_images_are_not_called_marked():
    for seed in range(2):
        assert not check_mark(smooth_image(64, 100 + seed)).marked
    assert not check_mark(np.full((64, 64, 3), 255, np.uint8)).marked
    assert not check_mark(np.zeros((28, 28), np.uint8)).marked


def test_read_image_gives_every_hypothesis():
    codec, _ = shipped_codec()
    readings = read_image(codec, mark_array(codec, smooth_image(64, 1), codes.encode(codes.Payload(5, 6))))
    assert len(readings) == 7 and readings[0].scale == 1.0 and readings[0].shift == (0, 0)
    assert all(r.logits.shape == (48,) for r in readings)


def test_differentiable_jpeg_tracks_real_jpeg_on_a_smooth_image():
    image = torch.from_numpy(smooth_image(64, 2, 1)).permute(2, 0, 1)[None].float()
    real = attacks.jpeg(image, 60)
    soft = attacks.jpeg_luma_soft(image, 60)
    assert (real - soft).abs().mean() < 2.0
    assert torch.equal(attacks.jpeg_table(50), attacks._LUMA_Q50.clamp(min=1))
    assert torch.equal(attacks.gif_palette(image), image)  # greyscale GIFs are exact


def test_a_grid_of_four_has_white_borders():
    grid = grid_of_four(torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    assert grid.shape == (1, 3, 22, 22)
    assert float(grid[0, :, 0].min()) == 255.0 and float(grid[0, :, 2:10, 2:10].max()) == 0.0


def test_edit_shares_are_the_configured_ones(monkeypatch):
    """--jpeg-chance 1 makes every step's codec a real JPEG; the resize share is how often a resize is drawn."""
    image = torch.from_numpy(smooth_image(64, 3)).permute(2, 0, 1)[None].float()
    always = Edits(torch.Generator().manual_seed(0), jpeg_chance=1.0)
    assert all(not torch.equal(always.codec(image), image) for _ in range(5))
    resizes = []
    real_resize = attacks.resize
    monkeypatch.setattr(attacks, "resize", lambda y, scale: resizes.append(scale) or real_resize(y, scale))
    for share in (0.0, 1.0):
        resizes.clear()
        edits = Edits(torch.Generator().manual_seed(0), resize_chance=share)
        for _ in range(20):
            edits.luminance(image[:, :1])
        assert len(resizes) == 20 * share


class _NoEdits(Edits):
    def codec(self, images):
        return images

    def luminance(self, y):
        return y, (0, 0)


def test_training_steps_lower_the_loss_and_reach_every_part():
    torch.manual_seed(0)
    codec = WatermarkCodec(width=8)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(8, 3, 64, 64, generator=g) * 80 + 90
    config = WatermarkTrainConfig(psnr=36.0)
    optimiser = torch.optim.Adam(codec.parameters(), lr=3e-3)
    edits = _NoEdits(g)
    losses = []
    for _ in range(25):
        loss, stats = step_loss(codec, images, edits, config)
        optimiser.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in (codec.patterns, codec.pilot, codec.prefilter.weight))
        optimiser.step()
        losses.append(stats["loss"])
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])
    assert stats["pilot_found"] == 1.0  # unedited, the pilot's shift is always found


def test_train_codec_saves_a_loadable_codec_with_its_step_count(tmp_path):
    small = (torch.rand(8, 3, 64, 64) * 255).to(torch.uint8)
    large = (torch.rand(4, 3, 128, 128) * 255).to(torch.uint8)
    out = tmp_path / "codec.safetensors"
    train_codec(WatermarkTrainConfig(steps=2, batch=2), out, images=(small, large), log=lambda s: None)
    codec, meta = load_codec_file(out)
    assert meta["steps"] == "2" and isinstance(codec, WatermarkCodec)


def test_a_large_image_is_read_as_written_where_its_centre_is_cropped():
    image = np.concatenate([smooth_image(320, 5)] * 2, axis=0)[:600, :300]  # taller than reading keeps
    codec, _ = shipped_codec()
    bits = codes.encode(codes.Payload(9, 10))
    readings = read_image(codec, mark_array(codec, image, bits))
    assert (readings[0].bits == bits).mean() >= 0.95  # the as-written alignment, no pilot needed


def test_the_reported_reading_is_a_decoding_one_else_the_likeliest_alignment():
    from ganforge.provenance.marking import choose_reading
    from ganforge.provenance.watermark import Reading

    word = codes.encode(codes.Payload(5, 6)).astype(np.float32)
    rng = np.random.default_rng(0)

    def reading(bits: np.ndarray, confidence: float) -> Reading:
        return Reading((bits * 2 - 1) * confidence, 1.0, (0, 0), 3.0)

    noisy = word.copy()
    noisy[:6] = 1 - noisy[:6]  # six errors: no longer decodes as marked
    random = [rng.integers(0, 2, word.size).astype(np.float32) for _ in range(3)]
    index, decoded = choose_reading([reading(random[0], 1.0), reading(word, 0.5), reading(random[1], 2.0)])
    assert index == 1 and decoded.marked and decoded.payload == codes.Payload(5, 6)  # a decoding reading wins
    index, decoded = choose_reading([reading(noisy, 1.0), reading(random[0], 1.05), reading(random[1], 0.3)])
    assert index == 0 and not decoded.marked  # as written, unless another is clearly more confident
    index, _ = choose_reading([reading(noisy, 1.0), reading(random[2], 1.5)])
    assert index == 1
