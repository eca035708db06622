"""`ganforge eval RUN` for inpaint runs: held-out split, fixed masks per bucket, model next to biharmonic.

Inception is replaced by a small pooling extractor, as in test_translation_eval.py: these tests check the
plumbing (which images and masks are compared with which), not the network.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)
from tests.metric_stubs import PoolFeatures

import ganforge
from ganforge.cli.main import main
from ganforge.data.masks import BUCKETS, fixed_test_masks, mask_areas
from ganforge.data.split import resolve_split_images
from ganforge.tasks.inpaint.evaluate import biharmonic_fill, evaluate_inpainting, fill_scores

KEYS = {"l1", "psnr", "ssim", "l1_hole", "psnr_hole", "ssim_hole", "kid", "kid_std"}


@pytest.fixture(autouse=True)
def stub_inception(monkeypatch):
    monkeypatch.setattr("ganforge.tasks.inpaint.evaluate.get_extractor", lambda *a, **k: PoolFeatures())


def test_eval_json_per_bucket(capsys, inpaint_run):  # noqa: F811
    code = main(["eval", str(inpaint_run["run"]), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    _, test = resolve_split_images(str(inpaint_run["images"]), 16, split="test")
    assert result["task"] == "inpaint" and result["split"] == "test" and result["n"] == len(test) == 2
    assert result["data"] == str(inpaint_run["images"]) and result["resolution"] == 16
    assert result["kid_subset"] == 2 and result["masks_per_bucket"] == 2 and result["extractor"] == "stub-pool4"
    assert [row["bucket"] for row in result["buckets"]] == ["0-10%", "10-20%", "20-40%", "40-60%"]
    for row, (lo, hi) in zip(result["buckets"], BUCKETS):
        assert lo <= row["mean_area"] < hi
        for method in ("model", "biharmonic"):
            assert set(row[method]) == KEYS and all(v is not None for v in row[method].values())
            assert row[method]["l1_hole"] >= row[method]["l1"]  # the error lives in the hole
    capsys.readouterr()
    assert main(["eval", str(inpaint_run["run"])]) == 0
    assert "biharmonic" in capsys.readouterr().out
    for flag in ("--direction", "--split"):  # they choose what a translation run is scored on
        assert main(["eval", str(inpaint_run["run"]), flag, "train"]) == 2
        assert f"{flag} applies to translation runs" in capsys.readouterr().err


def test_the_masks_are_the_fixed_test_masks(inpaint_run):  # noqa: F811
    pipe = ganforge.load(inpaint_run["run"])
    seen = []
    real = pipe.inpaint_batch
    pipe.inpaint_batch = lambda images, masks, **kw: seen.append(masks.copy()) or real(images, masks, **kw)
    result = evaluate_inpainting(pipe, extractor=PoolFeatures(), baseline=False)
    bank = fixed_test_masks(16, 2, 0)
    assert len(seen) == 4 and all(np.array_equal(m, bank[b]) for m, b in zip(seen, BUCKETS))
    assert all(set(row) == {"bucket", "lo", "hi", "mean_area", "model"} for row in result["buckets"])


def test_biharmonic_baseline_and_scores():
    yy, xx = np.mgrid[0:16, 0:16]
    ramp = np.stack([yy * 8, xx * 8, (yy + xx) * 4], axis=-1).astype(np.uint8)[None].repeat(2, 0)
    masks = np.zeros((2, 16, 16), bool)
    masks[:, 5:9, 6:10] = True
    filled = biharmonic_fill(ramp, masks)
    assert np.array_equal(filled[~masks], ramp[~masks])
    scores = fill_scores(filled, ramp, masks)
    assert scores["l1_hole"] < 0.02 and scores["l1"] <= scores["l1_hole"]  # a linear ramp is (nearly) exact
    noisy = fill_scores(np.where(masks[..., None], 0, ramp).astype(np.uint8), ramp, masks)
    assert noisy["l1_hole"] > 0.1 and noisy["l1"] == pytest.approx(noisy["l1_hole"] * 16 / 256)
    assert mask_areas(masks)[0] == pytest.approx(16 / 256)
