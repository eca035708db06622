"""`ganforge eval RUN` for pix2pix and CycleGAN runs: test split, identity baseline, JSON and table.

The Inception network is replaced by a small pooling extractor: these tests check the plumbing (which
images are compared with which), not the 90 MB network, which tests/metrics/test_eval.py covers.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import TINY_TRANSLATION
from tests.metric_stubs import PoolFeatures

import ganforge
from ganforge.cli.main import main
from ganforge.data import get_builtin, resolve_paired, resolve_unpaired
from ganforge.data.builtin import npm
from ganforge.data.unpaired import held_out_counterparts
from ganforge.metrics.image import l1


@pytest.fixture(autouse=True)
def stub_inception(monkeypatch):
    monkeypatch.setattr("ganforge.tasks.translation.evaluate.get_extractor", lambda *a, **k: PoolFeatures())


def eval_json(capsys, *args: str) -> dict:
    code = main(["eval", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _same_pairs(root, n=40):
    """A pairs folder whose targets equal their inputs: the identity baseline is perfect on it."""
    from tests.conftest import write_translation_folder

    write_translation_folder(root, n_a=n)
    shutil.rmtree(root / "B")
    shutil.copytree(root / "A", root / "B")
    return root


def test_pix2pix_eval_json_on_the_test_split(capsys, translation_runs):
    result = eval_json(capsys, str(translation_runs["pix2pix"]))
    test = resolve_paired(str(translation_runs["pairs"]), 16, split="test")
    n = len(test)
    assert result["task"] == "pix2pix" and result["split"] == "test" and result["direction"] == "AtoB"
    assert result["n"] == n == result["n_target"] and result["paired"] and result["kid_subset"] == max(2, n // 2)
    assert result["data"] == str(translation_runs["pairs"]) and result["resolution"] == 16
    for side in ("model", "identity"):
        assert set(result[side]) == {"l1", "psnr", "ssim", f"fid{n}", f"kid{n}", f"kid{n}_std"}
        assert all(np.isfinite(v) for v in result[side].values())
    # On these pairs B is A with its colour channels reversed, so copying A is far from B.
    assert result["identity"]["l1"] > 0.05 and result["identity"]["psnr"] < 30


def test_cyclegan_eval_reports_cycle_l1_both_ways(capsys, translation_runs):
    pairs = str(translation_runs["pairs"])
    test = resolve_unpaired(pairs, 16, split="test")
    for direction in ("AtoB", "BtoA"):
        result = eval_json(capsys, str(translation_runs["cyclegan"]), "--direction", direction)
        n = len(test.a) if direction == "AtoB" else len(test.b)
        assert result["task"] == "cyclegan" and result["direction"] == direction and result["n"] == n
        assert 0 <= result["model"]["cycle_l1"] <= 1 and result["identity"]["cycle_l1"] == 0.0
        assert f"kid{n}" in result["model"] and f"fid{n}" in result["identity"]
        # The A/B fixture folder names its images alike in both domains, so the paired figures come too.
        assert result["paired"] and "psnr" in result["model"]


def test_cyclegan_on_emoji_halves_is_also_scored_against_each_inputs_held_out_counterpart(
        capsys, tmp_path, monkeypatch, translation_runs):
    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    from gf_data_helpers import make_many_emoji_tarballs

    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    tgzs = make_many_emoji_tarballs(tmp_path / "tarballs", bases=24, toned=6)
    for vendor, path in tgzs.items():
        monkeypatch.setitem(npm.PINNED_SHA256, f"emoji-datasource-{vendor}@16.0.0", npm.sha256_file(path))
    get_builtin("emoji").fetch(from_path=tmp_path / "tarballs")
    for trained in ("AtoB", "BtoA"):
        ganforge.train(task="cyclegan", data="emoji", direction=trained, kimg=0.008, out=str(tmp_path),
                       name=f"cg-{trained}", pool_size=4, **TINY_TRANSLATION)
        for direction in ("AtoB", "BtoA"):
            result = eval_json(capsys, str(tmp_path / f"cg-{trained}"), "--direction", direction)
            n = result["n"]
            keys = {f"counterpart_{k}" for k in ("l1", "psnr", "ssim", f"fid{n}", f"kid{n}", f"kid{n}_std")}
            assert keys <= set(result["model"]) and keys <= set(result["identity"])
            assert result["counterpart_kid_subset"] == max(2, n // 2)
            # The inputs, in the data's own terms: google when the run's and the generator's directions agree.
            data_direction = "AtoB" if trained == direction else "BtoA"
            test = resolve_unpaired("emoji", 16, split="test", direction=data_direction)
            counter = held_out_counterparts("emoji", 16, test.names_a, data_direction)
            # The helper draws google emoji with blue 100 and twitter ones with blue 200: the other style.
            assert set(test.a[:, 8, 8, 2]) == {100 if data_direction == "AtoB" else 200}
            assert set(counter[:, 8, 8, 2]) == {200 if data_direction == "AtoB" else 100}
            assert result["identity"]["counterpart_l1"] == pytest.approx(float(l1(test.a, counter).mean()))
    # An A/B folder has no held-out counterparts: no such keys.
    plain = eval_json(capsys, str(translation_runs["cyclegan"]))
    assert not any(key.startswith("counterpart_") for key in [*plain["model"], *plain])


def test_identity_baseline_of_an_identity_mapping_is_perfect(capsys, tmp_path, translation_runs):
    same = _same_pairs(tmp_path / "same")
    n_test = len(resolve_paired(str(same), 16, split="test"))
    result = eval_json(capsys, str(translation_runs["pix2pix"]), "--data", str(same))
    base = result["identity"]
    assert result["n"] == n_test == 4
    assert base["l1"] == 0.0 and base["psnr"] == result["psnr_max_db"] == 100.0 and base["ssim"] == pytest.approx(1.0)
    assert abs(base[f"fid{n_test}"]) < 1e-6
    capped = eval_json(capsys, str(translation_runs["pix2pix"]), "--data", str(same), "--n", "3")
    assert capped["n"] == 3 and "fid3" in capped["model"] and capped["kid_subset"] == 2


def test_only_the_test_split_is_evaluated(translation_runs):
    import ganforge
    from ganforge.tasks.translation.evaluate import load_test_split

    pairs = str(translation_runs["pairs"])
    loaded = load_test_split(ganforge.load(translation_runs["pix2pix"]))
    test, train = resolve_paired(pairs, 16, split="test"), resolve_paired(pairs, 16, split="train")
    assert loaded["names"] == test.names and not set(loaded["names"]) & set(train.names)
    assert np.array_equal(loaded["inputs"], test.a) and np.array_equal(loaded["targets"], test.b)


def test_split_train_scores_the_images_it_trained_on(capsys, translation_runs):
    pairs = str(translation_runs["pairs"])
    train = resolve_paired(pairs, 16, split="train")
    result = eval_json(capsys, str(translation_runs["pix2pix"]), "--split", "train")
    assert result["split"] == "train" and result["n"] == len(train) == result["n_target"]
    assert result["identity"]["l1"] == pytest.approx(float(l1(train.a, train.b).mean()))
    cyclegan = eval_json(capsys, str(translation_runs["cyclegan"]), "--split", "TRAIN")
    domains = resolve_unpaired(pairs, 16, split="train")
    assert cyclegan["split"] == "train" and (cyclegan["n"], cyclegan["n_target"]) == (len(domains.a), len(domains.b))


def test_eval_table_shows_model_and_identity(capsys, translation_runs):
    code = main(["eval", str(translation_runs["cyclegan"])])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert "test split" in lines[0] and lines[1].split() == ["metric", "model", "identity"]
    assert any(line.split()[0] == "cycle_l1" for line in lines[2:])


@pytest.mark.parametrize(("model", "args", "message"), [
    ("pix2pix", ["--direction", "BtoA"], "translates one way only"),
    ("cyclegan", ["--direction", "up"], "direction must be one of AtoB"),
    ("pix2pix", ["--n", "1"], "--n must be at least 2"),
    ("pix2pix", ["--split", "all"], "--split takes test or train"),
])
def test_translation_eval_errors(capsys, translation_runs, model, args, message):
    code = main(["eval", str(translation_runs[model]), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error: ")


@pytest.mark.parametrize("flag", ["--direction", "--split"])
def test_direction_and_split_are_for_translation_runs_only(capsys, tmp_path, flag):
    code = main(["eval", "--real", str(tmp_path), "--fake", str(tmp_path), flag, "train"])
    assert code == 2 and f"{flag} applies to translation runs" in capsys.readouterr().err
