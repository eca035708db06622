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
