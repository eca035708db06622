"""`ganforge studio` on the command line, and the studio's parts that need no server: its help, the warning for
a host other than this machine, the one-line hint when the extra is missing, and the upload checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.studio.studio_helpers import require_gradio

from ganforge.cli.main import main
from ganforge.errors import GanforgeError

require_gradio()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_explains_the_studio(capsys):
    code, out, _ = run(capsys, "studio", "--help")
    text = " ".join(out.split())
    assert code == 0
    for said in ("web studio", "--port", "--host", "Only this machine can reach the default", "--runs-dir",
                 "--max-upload-mb", "--max-pixels", "zoo:NAME"):
        assert said in text, said


class FakeApp:
    """Stands in for the gr.Blocks: records how it was launched and returns at once (nothing is served)."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self.closed = False

    def launch(self, **kwargs: Any) -> tuple[None, str, None]:
        self.kwargs = kwargs
        return None, f"http://{kwargs['server_name']}:{kwargs['server_port']}/", None

    def block_thread(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_app(monkeypatch, tmp_path) -> FakeApp:
    import ganforge.studio.app as studio_app

    app = FakeApp()
    monkeypatch.setattr(studio_app, "build_app", lambda ctx, concurrency=1: app)
    monkeypatch.chdir(tmp_path)  # no runs/ or models/ here
    return app


def test_local_by_default_never_shared(capsys, fake_app):
    code, out, err = run(capsys, "studio", "--port", "7999")
    assert code == 0 and "http://127.0.0.1:7999/" in out and "warning" not in err
    kwargs = fake_app.kwargs
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False and fake_app.closed
    assert kwargs["max_file_size"] == 20 * 1024 * 1024 and kwargs["ssr_mode"] is False


def test_other_host_warns(capsys, fake_app):
    code, _, err = run(capsys, "studio", "--host", "0.0.0.0", "--port", "7999")
    assert code == 0 and fake_app.kwargs["server_name"] == "0.0.0.0" and fake_app.kwargs["share"] is False
    assert "warning:" in err and "0.0.0.0" in err and "no login" in err


@pytest.mark.parametrize(("args", "said"), [
    (["studio", "no/such/run"], "no/such/run does not exist"),
    (["studio", "zoo:nope"], "no shipped model zoo:nope"),
    (["studio", "--max-pixels", "0"], "--max-pixels must be > 0"),
    (["studio", "--port", "70000"], "--port must lie in 1..65535"),
])
def test_bad_options_are_one_line(capsys, fake_app, args, said):
    code, _, err = run(capsys, *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err


def test_missing_extra_says_how_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` now fails as if it were not installed
    code, _, err = run(capsys, "studio")
    assert code == 2 and err.strip() == "error: the studio needs the studio extra: pip install 'ganforge[studio]' " \
                                       "(make setup installs it)"


def test_a_folder_that_is_no_model_is_refused(tmp_path):
    from ganforge.studio.context import StudioContext

    (tmp_path / "photos").mkdir()
    with pytest.raises(GanforgeError, match="neither a ganforge run directory"):
        StudioContext(given=[str(tmp_path / "photos")])


def test_read_upload_checks_bytes_and_pixels_before_decoding(tmp_path: Path):
    from ganforge.studio.limits import Limits, read_upload

    path = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(path)
    assert read_upload(path, Limits()).shape == (40, 30, 3)
    with pytest.raises(GanforgeError, match=r"noise.png is 0.0 MB; the studio takes at most 0.0 MB"):
        read_upload(path, Limits(max_bytes=100))
    with pytest.raises(GanforgeError, match=r"30x40 \(0.0 Mpx\); the studio takes at most"):
        read_upload(path, Limits(max_pixels=1000))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(GanforgeError, match="cannot read the image truncated.png"):
        read_upload(truncated, Limits())


def test_every_model_request_waits_in_one_queue(tmp_path):
    """The concurrency limit holds across tabs: every event that runs a model (or an evaluation) shares one queue,
    so a Generate and an Upscale from two users never run at once with --concurrency 1."""
    from ganforge.studio.app import build_app
    from ganforge.studio.context import StudioContext
    from ganforge.studio.ui import MODEL_QUEUE

    ctx = StudioContext(runs_dir=tmp_path / "runs", models_dir=tmp_path / "models")
    try:
        app = build_app(ctx, concurrency=1)
        public = {fn.api_name: fn for fn in app.fns.values() if fn.api_name and fn.api_visibility == "public"}
        outside = {"train_start", "train_stop", "train_resume", "train_poll", "recorded_evaluation"}  # no model run
        running = sorted(set(public) - outside)
        assert {"generate", "inpaint", "upscale", "predict_clip", "translate", "paint_labels", "sample_clips",
                "evaluate"} <= set(running)
        assert {name: public[name].concurrency_id for name in running} == dict.fromkeys(running, MODEL_QUEUE)
    finally:
        ctx.close()
