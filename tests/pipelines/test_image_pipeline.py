"""The image pipeline: save/load round trip, batch-vs-single equality, determinism, output types."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from tests.conftest import TINY

import ganforge
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.pipelines import ImageGenerationPipeline
from ganforge.tasks.image.pipeline import latent_for_seed


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipe")
    return ganforge.train(**TINY, kimg=1, cond=True, out=str(out), name="cond").run_dir


class PipelineTesterMixin:
    """Checks every pipeline must pass (diffusers' PipelineTesterMixin in spirit)."""

    # Subclasses define make(run_dir) -> pipeline and call(pipe, output_type, index=None) -> output.

    def test_save_load_round_trip(self, run_dir, tmp_path):
        pipe = self.make(run_dir)
        reloaded = ganforge.load(pipe.save_pretrained(tmp_path / "export"))
        assert type(reloaded) is type(pipe)
        assert torch.equal(self.call(pipe, output_type="pt"), self.call(reloaded, output_type="pt"))

    def test_batch_equals_single(self, run_dir):
        pipe = self.make(run_dir)
        batched = self.call(pipe, output_type="pt")
        singles = torch.cat([self.call(pipe, output_type="pt", index=i) for i in range(batched.shape[0])])
        assert torch.allclose(batched, singles, atol=1e-5)

    def test_deterministic(self, run_dir):
        pipe = self.make(run_dir)
        assert torch.equal(self.call(pipe, output_type="pt"), self.call(pipe, output_type="pt"))


class TestImagePipeline(PipelineTesterMixin):
    def make(self, run_dir):
        return ImageGenerationPipeline.from_pretrained(run_dir)

    def call(self, pipe, output_type="pil", index=None):
        seeds = [5, 6, 7, 8] if index is None else [[5, 6, 7, 8][index]]
        labels = [0, 1, 2, 3] if index is None else [[0, 1, 2, 3][index]]
        return pipe(seeds=seeds, class_label=labels, output_type=output_type)

    def test_output_types(self, run_dir):
        pipe = self.make(run_dir)
        pil = pipe(n=2, output_type="pil")
        arr = pipe(n=2, output_type="np")
        pt = pipe(n=2, output_type="pt")
        assert isinstance(pil[0], Image.Image) and pil[0].size == (16, 16)
        assert arr.dtype == np.uint8 and arr.shape == (2, 16, 16, 1)
        assert pt.shape == (2, 1, 16, 16) and pt.min() >= -1 and pt.max() <= 1
        with pytest.raises(GanforgeError, match="output_type must be one of"):
            pipe(n=1, output_type="jpeg")

    def test_seed_and_class_matter(self, run_dir):
        pipe = self.make(run_dir)
        assert not torch.equal(pipe(seeds=[1], class_label=0, output_type="pt"),
                               pipe(seeds=[2], class_label=0, output_type="pt"))
        assert pipe.class_names == [str(i) for i in range(10)]
        assert torch.equal(pipe(seeds=[1], class_label="3", output_type="pt"),
                           pipe(seeds=[1], class_label=3, output_type="pt"))
        with pytest.raises(GanforgeError, match="class must lie in 0..9"):
            pipe(n=1, class_label=10)

    def test_latent_walk_loops(self, run_dir):
        frames = self.make(run_dir).latent_walk([0, 1, 2], frames=6)
        assert len(frames) == 6 and frames[0].shape == (16, 16, 1)

    def test_bad_paths(self, tmp_path):
        with pytest.raises(CheckpointError, match="does not exist"):
            ganforge.load(tmp_path / "nope")
        with pytest.raises(CheckpointError, match="no model.json"):
            ganforge.load(tmp_path)


def _stylegan2_pipeline() -> ImageGenerationPipeline:
    """A small StyleGAN2 pipeline whose noise inputs matter (their strengths start at zero, as in the paper)."""
    from ganforge.nets.stylegan2 import StyleGAN2Generator

    kwargs = dict(resolution=8, channels=1, z_dim=8, w_dim=8, channel_base=128, channel_max=16, mapping_layers=2)
    torch.manual_seed(0)
    G = StyleGAN2Generator(**kwargs)
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.data.fill_(1.0)
    spec = {"pipeline": "image", "z_dim": 8, "class_names": [], "resolution": 8, "channels": 1,
            "components": {"generator": {"class": "stylegan2.generator", "kwargs": kwargs, "network": "G"}}}
    return ImageGenerationPipeline({"generator": G.eval().requires_grad_(False)}, spec)


def test_noise_modes_are_deterministic_per_seed():
    pipe = _stylegan2_pipeline()
    const = pipe(seeds=[3, 4, 5], output_type="pt")  # default: the fixed noise buffers
    assert torch.equal(const, pipe(seeds=[3, 4, 5], output_type="pt", noise_mode="const"))
    assert not torch.allclose(const, pipe(seeds=[3, 4, 5], output_type="pt", noise_mode="none"))
    random = pipe(seeds=[3, 4, 5], output_type="pt", noise_mode="random")
    assert not torch.allclose(random, const)
    # Random noise comes from each seed's own generator: the same for a seed, whatever its batch.
    assert torch.equal(random, pipe(seeds=[3, 4, 5], output_type="pt", noise_mode="random"))
    assert torch.allclose(random[1:2], pipe(seeds=[4], output_type="pt", noise_mode="random"), atol=1e-5)
    assert torch.allclose(random, pipe(seeds=[3, 4, 5], output_type="pt", noise_mode="random", batch_size=1),
                          atol=1e-5)
    # ... and the latent is still the seed's latent alone: the noise is drawn after it.
    z = torch.stack([latent_for_seed(3, 8), latent_for_seed(4, 8)])
    expected = pipe.generator(z, noise_mode="none").clamp(-1, 1)
    assert torch.allclose(pipe(seeds=[3, 4], output_type="pt", noise_mode="none", watermark=False), expected, atol=1e-5)
    with pytest.raises(GanforgeError, match="noise_mode must be one of const, random, none, got 'fixed'"):
        pipe(n=1, noise_mode="fixed")


def test_metrics_evaluate_the_generator_with_random_noise():
    # FID and the trainer's evaluator judge the generator as trained, which always saw fresh noise.
    from ganforge.metrics.extract import generator_batches

    pipe = _stylegan2_pipeline()
    batches = np.concatenate(list(generator_batches(pipe, 5, 2)))
    assert np.array_equal(batches, pipe(seeds=range(5), output_type="np", noise_mode="random", watermark=False))
    assert not np.array_equal(batches, pipe(seeds=range(5), output_type="np"))


def test_an_export_from_before_the_noise_buffers_loads(tmp_path):
    from safetensors.torch import load_file, save_file

    pipe = _stylegan2_pipeline()
    export = pipe.save_pretrained(tmp_path / "export")
    weights = load_file(str(export / "model.safetensors"))
    assert any(k.endswith("noise_const") for k in weights)
    save_file({k: v for k, v in weights.items() if not k.endswith("noise_const")}, str(export / "model.safetensors"))
    old = ganforge.load(export)
    assert torch.equal(old(seeds=[1, 2], output_type="pt", watermark=False),
                       pipe(seeds=[1, 2], output_type="pt", noise_mode="none", watermark=False))
