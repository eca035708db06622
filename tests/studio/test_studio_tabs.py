"""The studio's tabs through their API (gradio_client against the app served in-process on 127.0.0.1), on tiny
runs of every task it shows: outputs match the pipelines they wrap, and bad input gets a sentence, not a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.studio.studio_helpers import free_port, read, refused, require_gradio, smooth_image, write_png

gr = require_gradio()
from gradio_client import Client, handle_file  # noqa: E402

import ganforge  # noqa: E402
from ganforge.imaging import make_grid  # noqa: E402
from ganforge.provenance import watermark_images  # noqa: E402
from ganforge.provenance.metadata import read_metadata  # noqa: E402
from ganforge.studio.app import build_app, launch  # noqa: E402
from ganforge.studio.context import StudioContext  # noqa: E402
from ganforge.studio.limits import Limits  # noqa: E402

MAX_PIXELS = 64 * 64  # small limits, so that the error paths need only small files
MAX_BYTES = 200_000




@pytest.fixture(scope="module")
def studio(tmp_path_factory, studio_runs):
    """The studio on the tiny runs (conftest.py): two image runs in its runs folder, an export in its models folder,
    and the translation, inpaint and superres runs given as paths; served until the module ends."""
    root = tmp_path_factory.mktemp("studio")
    given = [studio_runs[k] for k in ("pix2pix", "cyclegan", "inpaint", "sr", "t2i", "attr")]
    ctx = StudioContext(runs_dir=studio_runs["runs"], models_dir=studio_runs["models"], given=[str(p) for p in given],
                        limits=Limits(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS))
    app = build_app(ctx)
    url = launch(app, ctx, port=free_port(), quiet=True)
    client = Client(url, verbose=False)
    paths = {k: str(studio_runs[k]) for k in ("dcgan", "cond", "export", "sr", "pix2pix", "cyclegan", "inpaint", "t2i",
                                              "attr")}
    yield {"client": client, "ctx": ctx, "url": url, "app": app, "paths": paths, "tmp": root}
    app.close()
    ctx.close()


# ---------------------------------------------------------------------------------------------------- pickers
def test_pickers_list_each_tab_its_own_models(studio):
    from ganforge.zoo import PREFIX, model_cards

    ctx, paths = studio["ctx"], studio["paths"]
    image = {e.value for e in ctx.models(("image",))}
    assert {paths["dcgan"], paths["cond"], paths["export"]} <= image
    assert {PREFIX + c.name for c in model_cards() if c.task == "image"} <= image
    assert {e.value for e in ctx.models(("translation",))} == {paths["pix2pix"], paths["cyclegan"]}
    assert {e.value for e in ctx.models(("inpaint",))} == {paths["inpaint"]}
    assert {e.value for e in ctx.models(("superres",))} == {paths["sr"]}
    assert {e.value for e in ctx.models(("text2image",))} == {paths["t2i"]}


def test_tabs_come_from_the_task_folders():
    from ganforge.studio.tabs import studio_tabs

    tabs = studio_tabs()
    assert [t.title for t in tabs] == ["Generate", "Generate from text", "Translate", "Paint labels", "Inpaint",
                                       "Edit", "Upscale", "Predict",
                                       "Video"]
    assert [t.title for t in tabs].count("Translate") == 1  # pix2pix and cyclegan share translation's


# ---------------------------------------------------------------------------------------------------- generate
def test_generate_grid_is_the_pipelines(studio):
    paths, ctx = studio["paths"], studio["ctx"]
    grid_path, status = studio["client"].predict(paths["dcgan"], "0-3", None, 1.0, 2, False, api_name="/generate")
    grid = read(grid_path)
    pipe = ganforge.load(paths["dcgan"])
    expected = make_grid(pipe(seeds=[0, 1, 2, 3], output_type="np", watermark=False), nrow=2)
    assert grid.shape[:2] == expected.shape[:2] == (38, 38)  # 2 x 2 images of 16 px, 2 px padding
    np.testing.assert_array_equal(grid.reshape(expected.shape), expected)
    assert "4 images of 16x16 px" in status and read_metadata(grid_path)["watermark"] == "off"
    # the Watermark box is on unless unticked: the grid is marked as one picture and says so in its metadata
    marked_path, _ = studio["client"].predict(paths["dcgan"], "0-3", None, 1.0, 2, api_name="/generate")
    metadata = read_metadata(marked_path)
    assert metadata["watermark"] == "on" and metadata["model"]["sha256"] == pipe.model_hash
    when = dt.datetime.strptime(metadata["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    np.testing.assert_array_equal(read(marked_path).reshape(expected.shape),
                                  watermark_images(expected, pipe.model_hash, when))
    loads = ctx.cache.loads
    studio["client"].predict(paths["dcgan"], "7, 9", None, 1.0, 0, api_name="/generate")
    assert ctx.cache.loads == loads  # loaded once, then served from the cache


def test_generate_class(studio):
    path = studio["paths"]["cond"]
    pipe = ganforge.load(path)
    name = pipe.class_names[3]
    grid_path, _ = studio["client"].predict(path, "0-1", name, 1.0, 0, False, api_name="/generate")
    expected = make_grid(pipe(seeds=[0, 1], class_label=name, output_type="np", watermark=False))
    np.testing.assert_array_equal(read(grid_path).reshape(expected.shape), expected)


def test_interpolate_writes_a_gif(studio):
    gif = studio["client"].predict(studio["paths"]["dcgan"], 0, 5, 6, 10, None, api_name="/interpolate")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.size == (16, 16) and im.n_frames == 6


@pytest.mark.parametrize(("args", "said"), [
    (("dcgan", "a-b", None, 1.0, 0), "a seed (5), a range (0-15)"),
    (("dcgan", "0-999", None, 1.0, 0), "at most 256"),
    (("dcgan", "0-3", None, 0.5, 0), "truncation needs a style-based model"),
    (("sr", "0-3", None, 1.0, 0), "holds a model for superres (task superres); the Generate tab takes image models"),  # a model of another task
    (("/no/such/run", "0-3", None, 1.0, 0), "is not one of the studio's models"),
])
def test_generate_refuses_bad_input(studio, args, said):
    model = studio["paths"].get(args[0], args[0])
    assert said in refused(studio, model, *args[1:], api_name="/generate")


# ---------------------------------------------------------------------------------------------------- translate
def test_translate_upload_any_size(studio):
    src = write_png(studio["tmp"] / "in20x28.png", smooth_image(28)[:20])
    out_path, status = studio["client"].predict(studio["paths"]["pix2pix"], handle_file(str(src)), "AtoB", False,
                                                False, api_name="/translate")
    expected = ganforge.load(studio["paths"]["pix2pix"])(str(src), output_type="np", watermark=False)[0]
    np.testing.assert_array_equal(read(out_path), expected)
    assert read(out_path).shape == (20, 28, 3) and "28x20 px" in status


def test_translate_directions(studio):
    src = handle_file(str(write_png(studio["tmp"] / "in16.png", smooth_image(16, seed=1))))
    out_path, status = studio["client"].predict(studio["paths"]["cyclegan"], src, "BtoA", False, api_name="/translate")
    assert read(out_path).shape == (16, 16, 3) and "BtoA" in status
    assert "translates one way only" in refused(studio, studio["paths"]["pix2pix"], src, "BtoA", False,
                                                api_name="/translate")


def test_translate_sketch(studio):
    drawing = np.full((64, 64, 4), 255, dtype=np.uint8)
    drawing[20:44, 30:34, :3] = 0  # one black stroke on white
    sketch = write_png(studio["tmp"] / "sketch.png", drawing)
    editor = {"background": None, "layers": [], "composite": handle_file(str(sketch))}
    out_path, _ = studio["client"].predict(studio["paths"]["pix2pix"], editor, "AtoB", False,
                                           api_name="/translate_sketch")
    assert read(out_path).shape == (64, 64, 3)


def test_translate_refuses_corrupt_large_and_missing_uploads(studio):
    client_args = (studio["paths"]["pix2pix"],)
    corrupt = studio["tmp"] / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    said = refused(studio, *client_args, handle_file(str(corrupt)), "AtoB", False, api_name="/translate")
    assert "cannot read the image corrupt.png" in said
    big = write_png(studio["tmp"] / "big.png", np.zeros((100, 100, 3), dtype=np.uint8))  # small file, many pixels
    said = refused(studio, *client_args, handle_file(str(big)), "AtoB", False, api_name="/translate")
    assert "100x100" in said and "at most" in said
    assert "no image given" in refused(studio, *client_args, None, "AtoB", False, api_name="/translate")
    huge = studio["tmp"] / "huge.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(huge)
    assert huge.stat().st_size > MAX_BYTES
    with pytest.raises(ValueError, match="maximum file size"):  # refused before it is sent
        studio["client"].predict(*client_args, handle_file(str(huge)), "AtoB", False, api_name="/translate")


# ---------------------------------------------------------------------------------------------------- inpaint
def inpaint_editor(tmp: Path, size: int = 24, hole: tuple[slice, slice] = (slice(8, 16), slice(6, 14))) -> tuple:
    image = smooth_image(size, seed=2)
    layer = np.zeros((size, size, 4), dtype=np.uint8)
    layer[hole] = (255, 0, 255, 255)
    mask = np.zeros((size, size), dtype=bool)
    mask[hole] = True
    editor = {"background": handle_file(str(write_png(tmp / "bg.png", image))),
              "layers": [handle_file(str(write_png(tmp / "layer.png", layer)))], "composite": None}
    return editor, image, mask


def test_inpaint_keeps_known_pixels(studio):
    editor, image, mask = inpaint_editor(studio["tmp"])
    out_path, used_path, status = studio["client"].predict(studio["paths"]["inpaint"], editor, None, 0, 0, 0, 0,
                                                           False, api_name="/inpaint")
    out = read(out_path)
    assert out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])  # known pixels exact
    np.testing.assert_array_equal(read(used_path) > 127, mask)
    expected = ganforge.load(studio["paths"]["inpaint"])(image, mask=mask, output_type="np", watermark=False)[0]
    np.testing.assert_array_equal(out, expected)
    assert f"{int(mask.sum())} pixels filled" in status


def test_outpaint_bands(studio):
    editor, image, _ = inpaint_editor(studio["tmp"], hole=(slice(0, 0), slice(0, 0)))  # nothing brushed
    out_path, _, _ = studio["client"].predict(studio["paths"]["inpaint"], editor, None, 4, 0, 8, 0, False,
                                              api_name="/inpaint")
    out = read(out_path)
    assert out.shape == (24, 24 + 12, 3)
    np.testing.assert_array_equal(out[:, 4:28], image)


def test_inpaint_refuses_bad_input(studio):
    editor, _, _ = inpaint_editor(studio["tmp"])
    small_mask = handle_file(str(write_png(studio["tmp"] / "mask8.png", np.full((8, 8), 255, dtype=np.uint8))))
    model = studio["paths"]["inpaint"]
    assert "the mask is 8x8 but the image is 24x24" in refused(studio, model, editor, small_mask, 0, 0, 0, 0,
                                                               api_name="/inpaint")
    empty, _, _ = inpaint_editor(studio["tmp"], hole=(slice(0, 0), slice(0, 0)))
    assert "nothing to fill" in refused(studio, model, empty, None, 0, 0, 0, 0, api_name="/inpaint")
    assert "outpainted canvas" in refused(studio, model, empty, None, 64, 64, 64, 64, api_name="/inpaint")
    assert "the Inpaint tab takes inpaint models" in refused(studio, studio["paths"]["pix2pix"], editor, None, 0, 0, 0, 0,
                                              api_name="/inpaint")


# ---------------------------------------------------------------------------------------------------- upscale
def test_upscale_before_and_after(studio):
    src = write_png(studio["tmp"] / "small.png", smooth_image(12, seed=3))
    (before, after), status = studio["client"].predict(studio["paths"]["sr"], handle_file(str(src)), 8, 2, False,
                                                       api_name="/upscale")
    expected = ganforge.load(studio["paths"]["sr"])(str(src), tile=8, tile_overlap=2, output_type="np",
                                                     watermark=False)[0]
    np.testing.assert_array_equal(read(after), expected)
    assert read(before).shape == read(after).shape == (24, 24, 3)
    assert "12x12 -> 24x24 px (x2)" in status


def test_upscale_refuses_bad_input(studio):
    src = handle_file(str(write_png(studio["tmp"] / "small2.png", smooth_image(12, seed=4))))
    assert "less than minimum value 0" in refused(studio, studio["paths"]["sr"], src, -1, 0, api_name="/upscale")
    assert "holds a model for image" in refused(studio, studio["paths"]["dcgan"], src, 8, 2, api_name="/upscale")


# ---------------------------------------------------------------------------------------------------- the page
def test_page_is_local_and_fetches_nothing_from_elsewhere(studio):
    import httpx

    url = studio["url"]
    assert url.startswith("http://127.0.0.1:")
    config = httpx.get(url + "config", timeout=10).json()
    assert config["analytics_enabled"] is False and not studio["app"].share
    css = httpx.get(url + "theme.css", timeout=10).text
    assert "@font-face" in css and "fonts.googleapis" not in css and "url('http" not in css
    page = httpx.get(url, timeout=10).text
    for tag in ("<script", "<link"):
        for piece in page.split(tag)[1:]:
            head = piece.split(">", 1)[0]
            assert "http://" not in head and "https://" not in head, head


# ---------------------------------------------------------------------------------------------- generate from text
def test_generate_from_text_is_the_pipelines_grid(studio):
    paths = studio["paths"]
    grid_path, status = studio["client"].predict(paths["t2i"], "a red square\n\na blue square", 3, 5, False,
                                                 api_name="/generate_text")
    grid = read(grid_path)
    images = ganforge.load(paths["t2i"])(["a red square", "a blue square"], n=3, seed=5, output_type="np",
                                          watermark=False)
    assert np.array_equal(grid[..., :3], make_grid(images, nrow=3)) and "2 sentences x 3: 6 images of 16x16" in status
    assert "one per line" in refused(studio, paths["t2i"], "  \n ", 2, 0, api_name="/generate_text")
    assert "more than" in refused(studio, paths["t2i"], "\n".join(["a square"] * 17), 16, 0,
                                  api_name="/generate_text")


# ---------------------------------------------------------------------------------------------------- edit
def test_edit_inverts_then_moves_or_follows_strokes(studio):
    tmp, paths = studio["tmp"], studio["paths"]
    digit = ganforge.load(paths["dcgan"])(seeds=[4], output_type="np", watermark=False)[0][:, :, 0]
    background = handle_file(str(write_png(tmp / "digit.png", np.stack([digit] * 3, axis=2))))
    plain = {"background": background, "layers": [], "composite": None}
    recon_path, edited_path, status = studio["client"].predict(paths["dcgan"], plain, "sefa:0", 3.0, "optimize", 5,
                                                               False, api_name="/edit")
    assert read(recon_path).shape[:2] == read(edited_path).shape[:2] == (16, 16)
    assert "inverted (optimize, 5 steps) and sefa:0 at 3" in status
    layer = np.zeros((16, 16, 4), np.uint8)
    layer[2:6, 2:12] = (255, 255, 255, 255)
    painted = {"background": background, "layers": [handle_file(str(write_png(tmp / "strokes.png", layer)))],
               "composite": None}
    _, _, status = studio["client"].predict(paths["dcgan"], painted, "sefa:0", 2.0, "pti", 3, True, api_name="/edit")
    assert "inverted (pti, 3 steps) and strokes followed" in status
    person = handle_file(str(write_png(tmp / "person.png", smooth_image(16, seed=4))))
    recon_path, edited_path, status = studio["client"].predict(
        paths["attr"], {"background": person, "layers": [], "composite": None}, "dark", 2.0, "optimize", 5, True,
        api_name="/edit")
    assert recon_path is None and read(edited_path).shape == (16, 16, 3) and "skin-tone dark" in status
    said = refused(studio, paths["attr"], {"background": person, "layers": [], "composite": None}, "purple", 2.0,
                   "optimize", 5, True, api_name="/edit")
    assert "none, light" in said
    said = refused(studio, paths["dcgan"], {"background": None, "layers": [], "composite": None}, "sefa:0", 2.0,
                   "optimize", 5, True, api_name="/edit")
    assert "upload an image" in said
    said = refused(studio, paths["dcgan"], plain, "smile", 2.0, "optimize", 5, True, api_name="/edit")
    assert "sefa:K" in said
