"""CycleGAN's image pool: fills, then swaps with probability 0.5; seeded; its state survives a checkpoint."""

from __future__ import annotations

import pytest
import torch

from ganforge.engine.serialize import join_tensors, split_tensors
from ganforge.errors import ConfigError
from ganforge.tasks.cyclegan.image_pool import ImagePool, history_size


def _batches(count: int, n: int = 2) -> list[torch.Tensor]:
    """Batches whose images are numbered by their value, so any returned image can be traced."""
    return [torch.arange(i * n, (i + 1) * n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()
            for i in range(count)]


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(v) for v in batch[:, 0, 0, 0]]


def test_fills_to_size_passing_images_through():
    pool = ImagePool(size=6, seed=0)
    for batch in _batches(3):
        assert torch.equal(pool.query(batch), batch)
    assert len(pool) == 6


def test_then_swaps_about_half_for_stored_images():
    pool = ImagePool(size=4, seed=0)
    batches = _batches(202)
    pool.query(batches[0])
    pool.query(batches[1])
    seen = set(range(4))
    old = 0
    for batch in batches[2:]:
        out = _ids(pool.query(batch))
        for got, new in zip(out, _ids(batch)):
            if got != new:
                assert got in seen  # an earlier image (possibly from this batch), never a made-up one
                old += 1
            seen.add(new)
        assert len(pool) == 4
    assert 0.4 < old / 400 < 0.6


def test_returned_batch_is_detached_and_on_the_input_device():
    pool = ImagePool(size=1, seed=0)
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    out = pool.query(x)
    assert not out.requires_grad and out.shape == x.shape and out.device == x.device


def test_size_zero_turns_the_pool_off():
    pool = ImagePool(size=0)
    x = torch.randn(2, 1, 2, 2)
    assert torch.equal(pool.query(x), x) and len(pool) == 0
    with pytest.raises(ConfigError, match="got -1"):
        ImagePool(size=-1)


def test_deterministic_by_seed_and_independent_of_the_global_rng():
    def run(seed: int) -> list[list[int]]:
        pool = ImagePool(size=3, seed=seed)
        torch.manual_seed(seed + 100)  # the global RNG must not matter
        return [_ids(pool.query(b)) for b in _batches(30)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_images_are_kept_in_float16_and_come_back_in_the_batch_dtype():
    # A pool of --pool-size batches holds thousands of images: float16 halves their memory.
    pool = ImagePool(size=4, seed=0)
    x = torch.rand(4, 3, 2, 2, dtype=torch.float64) * 2 - 1
    pool.query(x)
    assert all(image.dtype == torch.float16 for image in pool.images)
    out = pool.query(torch.zeros(64, 3, 2, 2, dtype=torch.float64))
    old = out[out.abs().sum((1, 2, 3)) > 0]
    assert out.dtype == torch.float64 and len(old) > 0
    assert all(any(torch.allclose(o, xi, atol=1e-3) for xi in x) for o in old)  # float16 spacing is 2^-11 below 1
    state = pool.state()
    assert isinstance(state["images"], torch.Tensor) and state["images"].shape == (4, 3, 2, 2)  # one checkpoint entry
    older = ImagePool(size=4)
    older.load_state({"images": [torch.ones(3, 2, 2)] * 3})  # a checkpoint from before: a list of float32 images
    assert len(older) == 3 and older.images[0].dtype == torch.float16


def test_history_size_is_steps_of_this_process_share_of_the_batch():
    assert history_size(50, 64) == 3200 and history_size(50, 1) == 50  # the paper's: 50 images at batch 1
    assert [history_size(10, 5, rank, 2) for rank in (0, 1)] == [30, 20] and history_size(0, 64) == 0


def test_state_round_trip_through_checkpoint_format_resumes_exactly():
    batches = _batches(40)
    unbroken = ImagePool(size=5, seed=3)
    want = [_ids(unbroken.query(b)) for b in batches]

    first = ImagePool(size=5, seed=3)
    got = [_ids(first.query(b)) for b in batches[:20]]
    tensors: dict[str, torch.Tensor] = {}
    saved = split_tensors(first.state(), tensors)  # what the trainer writes: JSON + safetensors
    resumed = ImagePool(size=5, seed=999)
    resumed.load_state(join_tensors(saved, tensors))
    got += [_ids(resumed.query(b)) for b in batches[20:]]
    assert got == want
    with pytest.raises(ConfigError, match="holds 5 images, more than its size 2"):
        ImagePool(size=2).load_state(first.state())
