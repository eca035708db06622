"""The detector of generated images: its one call's shapes and ranges, its two trainers, its weights files.

Tiny seeded networks and the stub extractor (tests/metric_stubs.py) in place of Inception: seconds, no weights read.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.metric_stubs import PoolFeatures

from ganforge.errors import GanforgeError
from ganforge.provenance import detector as det


@pytest.fixture(scope="module")
def tiny() -> dict:
    """A probe on the stub's 48 features and an untrained narrow CNN, both seeded."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 48))
    return {"probe": det.fit_probe(x, np.arange(20) % 2, steps=5), "cnn": det.DetectorCNN((4, 4, 4)).eval(),
            "extractor": PoolFeatures()}


@pytest.mark.parametrize("shape", [(32, 32, 3), (1, 32, 32, 3), (3, 32, 32, 1), (17, 23, 3), (2, 70, 41, 4), (9, 9)])
def test_probabilities_have_one_value_per_image_in_0_1(tiny: dict, shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    out = det.generated_probability(images, **tiny)
    n = shape[0] if len(shape) == 4 else 1
    assert set(out) == {"probe", "cnn"}
    for p in out.values():
        assert p.shape == (n,) and p.dtype == np.float64
        assert np.all((p >= 0) & (p <= 1)) and np.all(np.isfinite(p))


def test_a_batch_equals_its_images_one_by_one_and_mixed_sizes_are_read(tiny: dict) -> None:
    rng = np.random.default_rng(2)
    batch = rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
    together = det.generated_probability(batch, **tiny)
    apart = [det.generated_probability(im, **tiny) for im in batch]
    for name in ("probe", "cnn"):
        np.testing.assert_allclose(together[name], [a[name][0] for a in apart], rtol=1e-5, atol=1e-7)
    mixed = det.generated_probability([batch[0], batch[1][:33, :37], np.zeros((300, 20, 1), np.uint8)], **tiny)
    assert mixed["cnn"].shape == (3,) and mixed["probe"].shape == (3,)
    np.testing.assert_allclose(mixed["cnn"][0], together["cnn"][0], rtol=1e-5)


def test_grey_reads_as_its_three_channel_copy(tiny: dict) -> None:
    grey = np.random.default_rng(3).integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
    a = det.generated_probability(grey, **tiny)
    b = det.generated_probability(np.repeat(grey, 3, axis=3), **tiny)
    for name in a:
        np.testing.assert_allclose(a[name], b[name])


def test_one_detector_alone_and_bad_inputs_are_one_line_errors(tiny: dict) -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    assert set(det.generated_probability(image, detectors=["cnn"], cnn=tiny["cnn"])) == {"cnn"}
    with pytest.raises(GanforgeError, match="uint8"):
        det.generated_probability(image.astype(np.float32), **tiny)
    with pytest.raises(GanforgeError, match="C 1, 3 or 4"):
        det.generated_probability(np.zeros((32, 32, 2), np.uint8), **tiny)
    with pytest.raises(GanforgeError, match="unknown detector"):
        det.generated_probability(image, detectors=["oracle"], **tiny)
    with pytest.raises(GanforgeError, match="no images"):
        det.generated_probability([], **tiny)


def test_the_cnn_view_enlarges_small_images_and_crops_large_ones() -> None:
    assert det.cnn_view(np.zeros((8, 20, 3), np.uint8)).shape == (32, 80, 3)
    assert det.cnn_view(np.zeros((600, 100, 3), np.uint8)).shape == (det.CNN_MAX_SIDE, 100, 3)


def test_the_probe_separates_separable_features() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 10)) * np.linspace(1, 50, 10)  # unequal scales: the probe standardises
    score = x[:, 3] / 50 * 10 + x[:, 0]
    x, score = x[np.abs(score - 0.5) > 0.5], score[np.abs(score - 0.5) > 0.5]  # a margin either side
    y = (score > 0.5).astype(int)
    probe = det.fit_probe(x, y, l2=1e-4)
    with torch.no_grad():
        p = det.sigmoid(probe(torch.from_numpy(x)).numpy())
    assert det.accuracy(y, p) == 1.0
    assert det.average_precision(y, p) == pytest.approx(1.0)
    with pytest.raises(GanforgeError, match="both"):
        det.fit_probe(x, np.zeros(len(x)))


def _smooth(n: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour images, uint8 [n, 16, 16, 3]: bilinear blow-ups of 4 x 4 noise."""
    coarse = torch.from_numpy(rng.uniform(40, 215, (n, 3, 4, 4))).float()
    big = torch.nn.functional.interpolate(coarse, size=16, mode="bilinear", align_corners=False)
    return big.permute(0, 2, 3, 1).round().to(torch.uint8).numpy()


def test_the_cnn_training_lowers_its_loss_on_checkerboard_fakes() -> None:
    """Real = smooth images; generated = the same with a faint checkerboard (an upsampling trace)."""
    rng = np.random.default_rng(5)
    real = _smooth(64, rng)
    board = ((np.indices((16, 16)).sum(0) % 2) * 48 - 24)[None, :, :, None]
    fake = np.clip(_smooth(64, rng).astype(int) + board, 0, 255).astype(np.uint8)

    def draw(n: int, gen: torch.Generator):
        i = torch.randint(64, (n,), generator=gen).tolist()
        j = torch.randint(64, (n,), generator=gen).tolist()
        return [real[k] for k in i], [fake[k] for k in j]

    losses: list[float] = []
    model = det.train_cnn(draw, steps=60, batch=16, lr=1e-2, crop=12, seed=0, widths=(8, 8, 8), augmented=False,
                          progress=lambda step, loss: losses.append(loss))
    assert len(losses) == 1  # one report, at the last step
    x = torch.from_numpy(np.concatenate([real, fake])).permute(0, 3, 1, 2).float()
    y = torch.cat([torch.zeros(64), torch.ones(64)])
    with torch.no_grad():
        logits = model(x)
    after = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
    assert after < 0.5 < np.log(2)  # an untrained network sits near log 2
    assert det.accuracy(y.numpy(), det.sigmoid(logits.numpy())) > 0.9


def test_the_neighbour_residual_is_zero_on_nearest_upsampled_images_and_crops_keep_the_blocks() -> None:
    small = torch.rand(2, 3, 5, 6) * 255
    upsampled = small.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)[:, :, :9, :11]  # odd sides too
    assert torch.count_nonzero(det.neighbour_residual(upsampled)) == 0
    noisy = upsampled + torch.randn_like(upsampled)
    residual = det.neighbour_residual(noisy)
    assert residual.shape == noisy.shape and torch.count_nonzero(residual[:, :, ::2, ::2]) == 0
    images = [np.asarray(upsampled[0].permute(1, 2, 0).round().to(torch.uint8)) for _ in range(20)]
    crops = det.random_crops(images, 6, torch.Generator().manual_seed(0))  # start at even rows and columns
    assert torch.count_nonzero(det.neighbour_residual(crops)) == 0
    npr = det.DetectorCNN((4, 4, 4), reads="npr").eval()
    blocks = (torch.rand(20, 3, 3, 3) * 50).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    with torch.no_grad():  # content constant over 2 x 2 blocks is invisible to it
        assert npr(crops).shape == (20,) and torch.allclose(npr(crops + blocks), npr(crops), atol=1e-5)
    with pytest.raises(GanforgeError, match="reads one of"):
        det.DetectorCNN((4, 4, 4), reads="fft")


def test_one_cnn_step_lowers_the_loss_on_its_batch() -> None:
    torch.manual_seed(0)
    model = det.DetectorCNN((4, 4, 4))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.rand(8, 3, 16, 16) * 255
    y = torch.tensor([0.0, 1.0] * 4)
    first = det.cnn_step(model, opt, x, y)
    second = det.cnn_step(model, opt, x, y)
    assert second < first


def test_the_augmentation_keeps_shape_and_range_and_is_seeded() -> None:
    x = torch.rand(6, 3, 32, 32) * 255
    a = det.augment(x, torch.Generator().manual_seed(0))
    b = det.augment(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 255
    assert det.augment(torch.rand(2, 3, 8, 8) * 255, torch.Generator().manual_seed(1)).shape == (2, 3, 8, 8)


def test_average_precision_matches_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)  # ties included
    assert det.average_precision(y, s) == pytest.approx(metrics.average_precision_score(y, s), abs=1e-12)


def test_weights_round_trip_and_a_missing_file_is_one_line(tmp_path, tiny: dict) -> None:
    probe_path = det.save_probe(tiny["probe"], tmp_path / "p.safetensors", {"threshold": "0.5"})
    cnn_path = det.save_cnn(tiny["cnn"], tmp_path / "c.safetensors", {"trained": {"steps": 1}})
    npr_path = det.save_cnn(det.DetectorCNN((4, 4, 4), reads="npr"), tmp_path / "n.safetensors")
    assert det.load_cnn(npr_path)[0].reads == "npr" and det.load_cnn(cnn_path)[0].reads == "pixels"
    probe, meta = det.load_probe(probe_path)
    cnn, cmeta = det.load_cnn(cnn_path)
    assert meta["threshold"] == "0.5" and cmeta["trained"] == '{"steps": 1}' and cnn.widths == (4, 4, 4)
    image = np.random.default_rng(7).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    before = det.generated_probability(image, **tiny)
    after = det.generated_probability(image, probe=probe, cnn=cnn, extractor=tiny["extractor"])
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    with pytest.raises(GanforgeError, match="does not hold the detector's CNN"):
        det.load_cnn(probe_path)
    missing = tmp_path / "gone.safetensors"
    with pytest.raises(GanforgeError) as info:
        det.load_cnn(missing)
    assert "\n" not in str(info.value) and "missing" in str(info.value) and "train_detector.py" in str(info.value)


def test_the_shipped_weights_load() -> None:
    """Both files ship beside the module (scripts/train_detector.py makes them)."""
    probe, meta = det.load_probe()
    cnn, cmeta = det.load_cnn()
    assert probe.dim == 2048 and meta["threshold"] == cmeta["threshold"] == str(det.THRESHOLD)
    assert sum(t.numel() for t in cnn.state_dict().values()) * 4 < 1_000_000
    p = det.generated_probability(np.zeros((40, 40, 3), np.uint8), detectors=["cnn"])["cnn"]
    assert p.shape == (1,) and 0 <= p[0] <= 1
