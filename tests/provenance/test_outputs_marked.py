"""Issue 29: everything the project writes carries the invisible watermark and metadata naming the model, by default.

Pipelines mark every output type (watermark=False gives exactly what they made before), band-marked streamed PNGs
equal the whole-image mark, and each command (sample, translate, inpaint, upscale, predict, video sampling) writes
files that differ from the unmarked output by a few levels and say so in their metadata; `--no-watermark` writes
the unmarked pixels and records that.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from tests.conftest import TINY
from tests.gf_inpaint import inpaint_run  # noqa: F401  (session fixture)
from tests.gf_video import video_run  # noqa: F401  (session fixture)
from tests.nextframe_helpers import TINY_NF
from tests.nextframe_helpers import write_video_folder as write_clip_folder
from tests.superres_helpers import TINY_SR, write_sr_folder

import ganforge
from ganforge.cli.main import main
from ganforge.imaging import PngStreamWriter, make_grid, save_animation, save_image, tensor_to_uint8
from ganforge.outputs import file_is_ours
from ganforge.pipelines import UpscalePipeline
from ganforge.pipelines.base import mark_output
from ganforge.provenance import bands as bands_module
from ganforge.provenance import watermark_images
from ganforge.provenance.bands import mark_in_place, mark_rows
from ganforge.provenance.metadata import read_metadata, seeds_text, weights_digest
from ganforge.provenance.watermark import MIN_PSNR, TARGET_PSNR, marked_sse, psnr_of_sse

WHEN = dt.datetime(2026, 3, 14, tzinfo=dt.timezone.utc)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def psnr(marked: np.ndarray, image: np.ndarray) -> float:
    """Over the colour channels (alpha is never marked)."""
    return psnr_of_sse(*marked_sse(image, marked))


def mean_change(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def created(metadata: dict) -> dt.datetime:
    return dt.datetime.strptime(metadata["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def check_pair(marked: Path, plain: Path, unmarked: np.ndarray, pipe, command: str) -> dict:
    """`marked` (default) and `plain` (--no-watermark) against the pipeline's unmarked output; the marked file's
    metadata, returned."""
    got, bare = pixels(marked), pixels(plain)
    np.testing.assert_array_equal(bare.reshape(unmarked.shape), unmarked)  # --no-watermark: the old output
    assert 0.5 <= mean_change(got.reshape(unmarked.shape), unmarked) <= 6
    on, off = read_metadata(marked), read_metadata(plain)
    assert on["watermark"] == "on" and off["watermark"] == "off"
    for md in (on, off):
        assert md["command"] == command and md["software"].startswith("ganforge ")
        assert md["model"]["sha256"] == pipe.model_hash and md["model"]["name"]
    assert file_is_ours(marked) or marked.suffix == ".png"
    return on


class Nearest(torch.nn.Module):
    """A stand-in upscaler: nearest-neighbour, with one parameter so the pipeline has weights to hash."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="nearest") + self.dummy


def stub_upscaler() -> UpscalePipeline:
    return UpscalePipeline({"generator": Nearest()}, {"scale": 2, "channels": 3, "resolution": 16})


def smooth(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(30, 220, (4, 4, c), dtype=np.uint8)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    return np.array(Image.fromarray(coarse[..., 0] if c == 1 else coarse, mode).resize((w, h), Image.BILINEAR))


# ------------------------------------------------------------------------------------------------ bands
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_band_marks_equal_the_whole_image_mark(channels, monkeypatch):
    image = smooth(100, 45, channels)
    nominal = watermark_images(image, "model-a", WHEN, psnr=TARGET_PSNR)
    cuts = [0, 5, 37, 38, 64, 99, 100]  # bands starting anywhere in the tile
    bands = np.concatenate([mark_rows(image[a:b], "model-a", a, WHEN, 100) for a, b in zip(cuts, cuts[1:])])
    np.testing.assert_array_equal(bands, nominal)  # streamed rows: the nominal strength
    whole = watermark_images(image, "model-a", WHEN)  # the whole image at hand: its PSNR just above the floor
    assert MIN_PSNR <= psnr(whole, image) < psnr(nominal, image)
    np.testing.assert_array_equal(mark_in_place(image.copy(), "model-a", WHEN), whole)
    monkeypatch.setattr(bands_module, "CHUNK_BYTES", 45 * channels * 32)  # 32 rows at a time: passes over bands
    np.testing.assert_array_equal(mark_in_place(image.copy(), "model-a", WHEN), whole)
    assert 0.5 <= mean_change(whole, image) <= 6


def test_band_marks_of_a_large_image_follow_its_enlarged_tile():
    image = smooth(530, 512)  # 512 px and more both ways: the tile is laid at twice its size
    whole = watermark_images(image, "model-a", WHEN, psnr=37.0)
    cuts = [0, 40, 64, 65, 200, 530]
    bands = np.concatenate([mark_rows(image[a:b], "model-a", a, WHEN, 530, psnr=37.0)
                            for a, b in zip(cuts, cuts[1:])])
    np.testing.assert_array_equal(bands, whole)
    assert MIN_PSNR <= psnr(mark_in_place(image.copy(), "model-a", WHEN), image) <= MIN_PSNR + 0.1
    with pytest.raises(ValueError, match="do not fit"):
        mark_rows(image[:50], "model-a", 500, WHEN, 530)


def test_stacks_are_marked_image_by_image():
    clips = np.stack([np.stack([smooth(20, 24, seed=s + t) for t in range(3)]) for s in range(2)])  # [2, 3, H, W, C]
    marked = mark_in_place(clips.copy(), "m", WHEN)
    for i in range(2):
        for t in range(3):
            np.testing.assert_array_equal(marked[i, t], watermark_images(clips[i, t], "m", WHEN))


def test_streamed_png_is_marked_band_by_band_like_the_whole_image(tmp_path):
    pipe = stub_upscaler()
    image = smooth(40, 37)
    out = tmp_path / "big.png"
    pipe.upscale_to_file(image, out, tile=8, tile_overlap=2)  # bands of 12 rows: every tile phase
    unmarked = pipe(image, tile=8, tile_overlap=2, output_type="np", watermark=False)[0]
    metadata = read_metadata(out)
    streamed = watermark_images(unmarked, pipe.model_hash, created(metadata), psnr=TARGET_PSNR)  # made band by band
    np.testing.assert_array_equal(pixels(out), streamed)
    assert metadata["watermark"] == "on" and metadata["settings"]["tile"] == 8
    pipe.upscale_to_file(image, out, tile=8, tile_overlap=2, watermark=False)
    np.testing.assert_array_equal(pixels(out), unmarked)
    assert read_metadata(out)["watermark"] == "off"


# --------------------------------------------------------------------------------------------- pipelines
def test_pipeline_outputs_are_marked_for_every_output_type():
    pipe = stub_upscaler()
    images = [smooth(20, 24), smooth(20, 24, seed=1)]
    before = np.stack([pipe.upscale_array(a) for a in images])  # what __call__ returned before issue 29
    plain = pipe(images, output_type="np", watermark=False)
    np.testing.assert_array_equal(plain, before)
    marked = pipe(images, output_type="np")
    assert marked.dtype == np.uint8 and 0.5 <= mean_change(marked, plain) <= 6
    tensor = pipe(images, output_type="pt")
    assert tensor.dtype == torch.float32 and tensor.shape == (2, 3, 40, 48)
    np.testing.assert_array_equal(tensor_to_uint8(tensor), marked)  # the mark survives the round trip to uint8
    torch.testing.assert_close(pipe(images, output_type="pt", watermark=False), torch.from_numpy(before).permute(
        0, 3, 1, 2).float() / 127.5 - 1)
    pil = pipe(images, output_type="pil")
    np.testing.assert_array_equal(np.stack([np.asarray(p) for p in pil]), marked)
    rgba = pipe(smooth(20, 24, 4), output_type="np")[0]
    np.testing.assert_array_equal(rgba[..., 3], pipe(smooth(20, 24, 4), output_type="np", watermark=False)[0][..., 3])
    assert "watermark" in str(__import__("inspect").signature(pipe.__call__))


def test_marking_never_changes_an_input_array():
    array = smooth(33, 33)
    kept = array.copy()
    out = mark_output(array, "m", WHEN, [array])  # an output that is the input itself
    np.testing.assert_array_equal(array, kept)
    assert 0.5 <= mean_change(out, kept) <= 6


def test_weights_digest_is_the_same_for_a_run_and_its_export(image_run, tmp_path):
    pipe = ganforge.load(image_run)
    pipe.save_pretrained(tmp_path / "export")
    exported = ganforge.load(tmp_path / "export")
    assert exported.model_hash == pipe.model_hash == weights_digest(pipe.components)
    assert len(pipe.model_hash) == 64


def test_seeds_text():
    assert seeds_text([0, 1, 2, 3, 10, 12, 13]) == "0-3,10,12-13"
    assert seeds_text(range(5, 6)) == "5"


# ------------------------------------------------------------------------------------------- metadata in files
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif", ".gif"])
def test_save_image_writes_metadata_every_format_reads_back(tmp_path, suffix):
    record = {"software": "ganforge 0.1.0", "watermark": "off", "settings": {"input": "ünïcode.png"}}
    path = save_image(smooth(16, 16), tmp_path / f"x{suffix}", metadata=record)
    assert read_metadata(path) == record and file_is_ours(path)
    plain = save_image(smooth(16, 16), tmp_path / f"plain{suffix}")  # no metadata: as before
    assert read_metadata(plain) is None and file_is_ours(plain)


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_save_animation_writes_metadata(tmp_path, suffix):
    pytest.importorskip("av")
    record = {"software": "ganforge 0.1.0", "watermark": "on", "model": {"sha256": "ab" * 32}}
    frames = np.stack([smooth(16, 16, seed=s) for s in range(3)])
    path = save_animation(frames, tmp_path / f"a{suffix}", fps=5, metadata=record)
    assert read_metadata(path) == record
    assert file_is_ours(path) or suffix == ".mp4"


def test_png_stream_writer_metadata(tmp_path):
    record = {"software": "ganforge 0.1.0", "watermark": "on"}
    image = smooth(10, 12)
    with PngStreamWriter(tmp_path / "s.png", 12, 10, 3, metadata=record) as png:
        png.write_rows(image)
    assert read_metadata(tmp_path / "s.png") == record and file_is_ours(tmp_path / "s.png")
    np.testing.assert_array_equal(pixels(tmp_path / "s.png"), image)


# ---------------------------------------------------------------------------------------------- commands
@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("marked-image")
    ganforge.train(**{**TINY, "grid_size": 4}, kimg=0.032, out=str(root), name="img")
    return root / "img"


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("marked-sr")
    ganforge.train(**TINY_SR, data=str(write_sr_folder(root / "imgs", n=8)), kimg=0.008, out=str(root), name="sr")
    return root / "sr"


@pytest.fixture(scope="module")
def nf_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("marked-nf")
    clips = write_clip_folder(root / "clips")
    ganforge.train(**TINY_NF, data=str(clips), kimg=0.008, out=str(root), name="nf")
    return {"run": root / "nf", "clip": clips / "clip0.gif"}


def test_image_pipeline_marks_by_default(image_run):
    pipe = ganforge.load(image_run)
    plain = pipe(seeds=[0, 1], output_type="np", watermark=False)
    latents = torch.stack([torch.randn(pipe.z_dim, generator=torch.Generator().manual_seed(s)) for s in (0, 1)])
    np.testing.assert_array_equal(plain, tensor_to_uint8(pipe.generate(latents, None)))  # the old output
    assert 0.5 <= mean_change(pipe(seeds=[0, 1], output_type="np"), plain) <= 6


def test_latent_walk_frames_are_marked_by_default(image_run):
    pipe = ganforge.load(image_run)
    plain = pipe.latent_walk([0, 1], frames=3, watermark=False)
    marked = pipe.latent_walk([0, 1], frames=3)
    assert len(marked) == 3 and all(0.5 <= mean_change(m, p) <= 6 for m, p in zip(marked, plain, strict=True))


def test_sample_grid_and_folder(tmp_path, image_run):
    pipe = ganforge.load(image_run)
    assert main(["sample", str(image_run), "--n", "4", "--out", str(tmp_path / "m.png")]) == 0
    assert main(["sample", str(image_run), "--n", "4", "--out", str(tmp_path / "p.png"), "--no-watermark"]) == 0
    unmarked = make_grid(pipe(n=4, output_type="np", watermark=False))
    on = check_pair(tmp_path / "m.png", tmp_path / "p.png", unmarked, pipe, "sample")
    assert on["settings"]["seeds"] == "0-3" and on["task"] == "image"
    # the grid is marked as one picture (its tiles line up over the whole grid)
    np.testing.assert_array_equal(pixels(tmp_path / "m.png").reshape(unmarked.shape),
                                  watermark_images(unmarked, pipe.model_hash, created(on)))
    assert main(["sample", str(image_run), "--seeds", "3,5", "--out", str(tmp_path / "dir") + "/"]) == 0
    md = read_metadata(tmp_path / "dir" / "seed000005.png")
    assert md["settings"]["seed"] == 5 and md["settings"]["seeds"] == "3,5" and md["watermark"] == "on"


def test_translate(tmp_path, translation_runs):
    run, src = translation_runs["pix2pix"], translation_runs["pairs"] / "A" / "000.png"
    pipe = ganforge.load(run)
    assert main(["translate", str(run), str(src), "--out", str(tmp_path / "m")]) == 0
    assert main(["translate", str(run), str(src), "--out", str(tmp_path / "p"), "--no-watermark"]) == 0
    unmarked = pipe(str(src), output_type="np", watermark=False)[0]
    on = check_pair(tmp_path / "m" / "000.png", tmp_path / "p" / "000.png", unmarked, pipe, "translate")
    assert on["settings"] == {"direction": "AtoB", "resize": False, "input": "000.png"}
    assert 0.5 <= mean_change(pipe(str(src), output_type="np")[0], unmarked) <= 6  # the pipeline's own default


def test_inpaint(tmp_path, inpaint_run):  # noqa: F811
    run, src = inpaint_run["run"], inpaint_run["images"] / "000.png"
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[5:12, 6:15] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    pipe = ganforge.load(run)
    for name, extra in (("m.png", []), ("p.png", ["--no-watermark"])):
        assert main(["inpaint", str(run), str(src), "--mask", str(tmp_path / "mask.png"), "--out",
                     str(tmp_path / name), *extra]) == 0
    unmarked = pipe(str(src), mask=mask > 127, output_type="np", watermark=False)[0]
    on = check_pair(tmp_path / "m.png", tmp_path / "p.png", unmarked, pipe, "inpaint")
    assert on["settings"]["mask"] == "mask.png"
    # tiled and streamed: bands marked as the whole image would be
    pipe.inpaint_to_file(str(src), tmp_path / "tiled.png", mask=mask > 127, tile=8, tile_overlap=2)
    tiled = pipe(str(src), mask=mask > 127, output_type="np", tile=8, tile_overlap=2, watermark=False)[0]
    np.testing.assert_array_equal(pixels(tmp_path / "tiled.png"), watermark_images(
        tiled, pipe.model_hash, created(read_metadata(tmp_path / "tiled.png")), psnr=TARGET_PSNR))


def test_upscale(tmp_path, sr_run):
    src = tmp_path / "in.png"
    Image.fromarray(smooth(36, 30)).save(src)
    pipe = ganforge.load(sr_run)
    for name, extra in (("m.png", []), ("p.png", ["--no-watermark"])):
        assert main(["upscale", str(sr_run), str(src), "--out", str(tmp_path / name), "--tile", "8",
                     "--tile-overlap", "2", *extra]) == 0
    unmarked = pipe(str(src), tile=8, tile_overlap=2, output_type="np", watermark=False)[0]
    on = check_pair(tmp_path / "m.png", tmp_path / "p.png", unmarked, pipe, "upscale")
    assert on["settings"] == {"scale": 2, "tile": 8, "tile_overlap": 2, "input": "in.png"}
    np.testing.assert_array_equal(pixels(tmp_path / "m.png"), watermark_images(  # tiled: streamed, nominal
        unmarked, pipe.model_hash, created(on), psnr=TARGET_PSNR))


def test_predict(tmp_path, nf_run):
    from ganforge.data.video import read_video
    from ganforge.tasks.nextframe.cli import predict_clip, prediction_frames

    run, clip = nf_run["run"], nf_run["clip"]
    pipe = ganforge.load(run)
    for name, extra in (("m.gif", []), ("p.gif", ["--no-watermark"])):
        assert main(["predict", str(run), str(clip), "--out", str(tmp_path / name), *extra]) == 0
    observed, predicted, truth, _ = predict_clip(pipe, pipe.load_clip(str(clip)), pipe.out_frames)
    # the unmarked frames as the GIF writer stores them (a colour GIF's palette is lossy)
    save_animation(prediction_frames(observed, predicted, truth), tmp_path / "expected.gif", fps=10)
    unmarked = read_video(tmp_path / "expected.gif")
    marked, plain = read_video(tmp_path / "m.gif"), read_video(tmp_path / "p.gif")
    np.testing.assert_array_equal(plain, unmarked)
    assert 0.5 <= mean_change(marked, unmarked) <= 6
    on, off = read_metadata(tmp_path / "m.gif"), read_metadata(tmp_path / "p.gif")
    assert (on["watermark"], off["watermark"]) == ("on", "off") and on["model"]["sha256"] == pipe.model_hash
    assert on["command"] == "predict" and on["settings"]["clip"] == "clip0.gif"
    assert file_is_ours(tmp_path / "m.gif")
    assert 0.5 <= mean_change(pipe(str(clip), output_type="np"), pipe(str(clip), output_type="np",
                                                                         watermark=False)) <= 6


def test_video_sampling(tmp_path, video_run):  # noqa: F811
    from ganforge.tasks.video.pipeline import clip_strip

    run = video_run["run"]
    pipe = ganforge.load(run)
    for name, extra in (("m.png", []), ("p.png", ["--no-watermark"])):
        assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / name), *extra]) == 0
    unmarked = clip_strip(pipe(seeds=[0, 1], output_type="np", watermark=False))
    check_pair(tmp_path / "m.png", tmp_path / "p.png", unmarked, pipe, "sample")
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "clips.gif")]) == 0
    md = read_metadata(tmp_path / "clips.gif")
    assert md["watermark"] == "on" and md["task"] == "video" and md["settings"]["fps"] == 20
    clips = pipe(seeds=[0], output_type="np")
    assert clips.shape[:2] == (1, pipe.frames)
    parts, plain = pipe.streams(seeds=[0]), pipe.streams(seeds=[0], watermark=False)
    for name in ("video", "foreground", "background"):  # pictures are marked, the mask is data and left alone
        assert 0.5 <= mean_change(parts[name], plain[name]) <= 6
    np.testing.assert_array_equal(parts["mask"], plain["mask"])
    assert 0.5 <= mean_change(clips, pipe(seeds=[0], output_type="np", watermark=False)) <= 6
