"""The studio's Paint labels, Predict and Video tabs through their API (gradio_client against the app served in-process
on 127.0.0.1), on tiny SPADE, nextframe and VGAN runs trained once for this module: outputs match the pipelines and
writers they wrap, and bad input (wrong task, corrupt or oversized clips, too many frames) gets a sentence."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tests.nextframe_helpers import moving_square
from tests.studio.conftest import NF_RESOLUTION as R
from tests.studio.conftest import synthetic_mnist_home
from tests.studio.studio_helpers import free_port, read, refused, require_gradio, write_png

gr = require_gradio()
from gradio_client import Client, handle_file  # noqa: E402

import ganforge  # noqa: E402
from ganforge.data.video import read_video  # noqa: E402
from ganforge.imaging import save_animation  # noqa: E402
from ganforge.provenance.metadata import read_metadata  # noqa: E402
from ganforge.studio.app import build_app, launch  # noqa: E402
from ganforge.studio.context import StudioContext  # noqa: E402
from ganforge.studio.limits import Limits  # noqa: E402
from ganforge.tasks.nextframe.cli import predict_clip, prediction_strip  # noqa: E402
from ganforge.tasks.translation.studio_paint import class_colours, takes_label_maps  # noqa: E402
from ganforge.tasks.video.pipeline import streams_figure, tile_clips  # noqa: E402

MAX_PIXELS = 64 * 64  # small limits, so that the error paths need only small files
MAX_FRAMES = 12
MAX_CLIP_PIXELS = 20_000  # 10 frames of 48 x 40 pass, 12 do not
K, M = 2, 2  # the nextframe run (R px): 2 observed and 2 predicted frames


@pytest.fixture(scope="module")
def studio(tmp_path_factory, translation_runs, studio_clip_runs):
    """The studio on the tiny SPADE, nextframe and VGAN runs (conftest.py) plus the shared pix2pix run, given as
    paths; served until the module ends, in the clip runs' own cache (held-out clips are drawn from it)."""
    root = tmp_path_factory.mktemp("studio-more")
    with synthetic_mnist_home(studio_clip_runs["root"]):
        paths = {"spade": studio_clip_runs["spade"], "nf": studio_clip_runs["nf"], "vgan": studio_clip_runs["vgan"],
                 "pix2pix": translation_runs["pix2pix"]}
        limits = Limits(max_bytes=200_000, max_pixels=MAX_PIXELS, max_frames=MAX_FRAMES,
                        max_clip_pixels=MAX_CLIP_PIXELS, max_clips=4)
        ctx = StudioContext(runs_dir=root / "runs", models_dir=root / "models", given=[str(p) for p in paths.values()],
                            limits=limits)
        app = build_app(ctx)
        url = launch(app, ctx, port=free_port(), quiet=True)
        yield {"client": Client(url, verbose=False), "ctx": ctx, "paths": {k: str(v) for k, v in paths.items()},
               "tmp": root}
        app.close()
        ctx.close()


def test_the_tabs_and_their_pickers(studio):
    from ganforge.studio.tabs import studio_tabs

    titles = [t.title for t in studio_tabs()]
    assert titles == ["Generate", "Generate from text", "Translate", "Paint labels", "Inpaint", "Edit", "Upscale",
                      "Predict", "Video"]
    ctx, paths = studio["ctx"], studio["paths"]
    assert {e.value for e in ctx.models(("translation",), takes_label_maps)} == {paths["spade"]}  # not the unet
    assert {e.value for e in ctx.models(("nextframe",))} == {paths["nf"]}
    assert {e.value for e in ctx.models(("video",))} == {paths["vgan"]}


# ---------------------------------------------------------------------------------------------------- paint labels
def test_paint_labels_maps_strokes_to_the_nearest_class(studio):
    colours = class_colours(3)
    size = 40
    background = np.concatenate([np.broadcast_to(colours[0], (size, size, 3)), np.full((size, size, 1), 255, np.uint8)],
                                axis=2)
    stroke = np.zeros((size, size, 4), np.uint8)
    stroke[8:24, 10:30] = (*colours[2], 255)
    stroke[24, 10:30] = (*(colours[2] // 2 + colours[0] // 2 + 3), 255)  # an anti-aliased edge: off the palette
    stroke[30:36, 4:12] = (*colours[1], 255)
    tmp = studio["tmp"]
    editor = {"background": handle_file(str(write_png(tmp / "canvas.png", background))),
              "layers": [handle_file(str(write_png(tmp / "stroke.png", stroke)))], "composite": None}
    ids = np.zeros((size, size), np.uint8)
    ids[8:24, 10:30] = 2
    nearest_edge = int(np.argmin(((colours.astype(int) - (colours[2] // 2 + colours[0] // 2 + 3)) ** 2).sum(1)))
    ids[24, 10:30] = nearest_edge
    ids[30:36, 4:12] = 1
    out_path, used_path, status = studio["client"].predict(studio["paths"]["spade"], editor, True, False,
                                                           api_name="/paint_labels")
    expected = ganforge.load(studio["paths"]["spade"])(ids, resize=True, output_type="np", watermark=False)[0]
    out = read(out_path)
    assert out.shape == (size, size, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(read(used_path), colours[ids])
    assert "classes 0, 1, 2" in status and "20 pixels off the palette mapped to the nearest class colour" in status
    composite = np.where(stroke[..., 3:] > 0, stroke, background)  # what the browser sends: the flattened canvas
    flat = {"background": None, "layers": [], "composite": handle_file(str(write_png(tmp / "flat.png", composite)))}
    again, _, _ = studio["client"].predict(studio["paths"]["spade"], flat, True, False, api_name="/paint_labels")
    np.testing.assert_array_equal(read(again), expected)


def test_render_label_map_of_ids_palette_or_colours(studio):
    ids = np.zeros((20, 28), np.uint8)
    ids[4:12, 4:20] = 2
    ids[14:18, 2:6] = 1
    tmp, model = studio["tmp"], studio["paths"]["spade"]
    expected = ganforge.load(model)(ids, output_type="np", watermark=False)[0]  # at the map's own size (no resize)
    grey = write_png(tmp / "ids.png", ids)
    indexed = Image.fromarray(ids, "P")
    indexed.putpalette([255, 255, 255, 9, 9, 9, 200, 0, 0] + [0] * 759)  # indices are the ids, whatever the palette
    indexed.save(tmp / "ids-p.png")
    coloured = write_png(tmp / "colours.png", class_colours(3)[ids])
    for path in (grey, tmp / "ids-p.png", coloured):
        out_path, used_path, status = studio["client"].predict(model, handle_file(str(path)), False, False,
                                                               api_name="/render_label_map")
        np.testing.assert_array_equal(read(out_path), expected)
        np.testing.assert_array_equal(read(used_path), class_colours(3)[ids])
        assert "28x20 px, classes 0, 1, 2" in status and "off the palette" not in status


def test_paint_labels_refuses_bad_input(studio):
    tmp, model = studio["tmp"], studio["paths"]["spade"]
    seven = handle_file(str(write_png(tmp / "ids7.png", np.full((8, 8), 7, np.uint8))))
    said = refused(studio, model, seven, False, api_name="/render_label_map")
    assert "holds class id 7, but the model knows ids 0..2" in said
    ids = handle_file(str(write_png(tmp / "ids8.png", np.zeros((8, 8), np.uint8))))
    said = refused(studio, studio["paths"]["pix2pix"], ids, False, api_name="/render_label_map")
    assert "translates images, not label maps" in said
    said = refused(studio, studio["paths"]["nf"], ids, False, api_name="/render_label_map")
    assert "the Paint labels tab takes translation models" in said
    empty = {"background": None, "layers": [], "composite": None}
    assert "the canvas is empty" in refused(studio, model, empty, True, api_name="/paint_labels")
    corrupt = tmp / "corrupt-map.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    said = refused(studio, model, handle_file(str(corrupt)), False, api_name="/render_label_map")
    assert "cannot read the label map corrupt-map.png" in said
    big = handle_file(str(write_png(tmp / "big-map.png", np.zeros((100, 100), np.uint8))))
    assert "100x100" in refused(studio, model, big, False, api_name="/render_label_map")


# ---------------------------------------------------------------------------------------------------- predict
def gif_frames(path: str) -> np.ndarray:
    """[T, H, W, 3] as the project's reader plays a GIF (Pillow merges identical frames; it expands them again)."""
    return read_video(path)


def test_predict_held_out_clip_shows_observed_predicted_and_true(studio):
    model = studio["paths"]["nf"]
    gif, strip_path, status = studio["client"].predict(model, "test:7", 3, 0, 5, False, api_name="/predict_index")
    pipe = ganforge.load(model)
    observed, predicted, truth, _ = predict_clip(pipe, pipe.load_clip("test:7", min_frames=K + 3), 3)
    assert predicted.shape == (3, R, R, 1) and len(truth) == 3
    strip = read(strip_path)
    assert strip.shape == (2 + 2 * (R + 2), 2 + (K + 3) * (R + 2))  # two rows of k + 3 frames, grey
    np.testing.assert_array_equal(strip, prediction_strip(observed, predicted, truth)[..., 0])
    frames = gif_frames(gif)
    assert frames.shape == (K + 3, R, 2 * R + 2, 3)  # true | predicted, observed frames first
    np.testing.assert_array_equal(frames[K:, :, R + 2 :, 0], predicted[..., 0])  # grey GIFs read back exactly
    np.testing.assert_array_equal(frames[K:, :, :R, 0], truth[..., 0])
    assert "2 observed (from frame 0 of test:7) + 3 predicted frames of 32x32 px" in status
    assert "3 true frames shown" in status


def test_predict_uploaded_gif_and_mp4(studio):
    tmp, model = studio["tmp"], studio["paths"]["nf"]
    square = moving_square(6, 48, 12, (4, 8), (3, 2))[:, :, 4:44]  # grey frames of 40x48
    gif = save_animation(square, tmp / "upload.gif")
    out, strip_path, status = studio["client"].predict(model, handle_file(str(gif)), 0, 0, 5, False,
                                                       api_name="/predict_clip")
    expected = ganforge.load(model)(str(gif), output_type="np", watermark=False)[0]  # the pipeline reading the file
    frames = gif_frames(out)
    assert frames.shape == (K + M, R, 2 * R + 2, 3)
    np.testing.assert_array_equal(frames[K:, :, R + 2 :, 0], expected[..., 0])
    assert read(strip_path).shape == (2 + 2 * (R + 2), 2 + (K + M) * (R + 2))
    assert "its 40x48 px frames centre-cropped and resized" in status and "2 true frames shown" in status
    short = save_animation(square[:K], tmp / "short.gif")  # only the observed frames: no true ones
    out, strip_path, status = studio["client"].predict(model, handle_file(str(short)), 0, 0, 5,
                                                       api_name="/predict_clip")
    assert gif_frames(out).shape == (K + M, R, R, 3) and read(strip_path).shape == (2 + R + 2, 2 + (K + M) * (R + 2))
    assert "no true frames" in status
    assert read_metadata(out)["watermark"] == read_metadata(strip_path)["watermark"] == "on"  # the box's default
    mp4 = save_animation(np.repeat(square, 3, axis=3), tmp / "upload.mp4")  # the video extra: PyAV
    out, _, status = studio["client"].predict(model, handle_file(str(mp4)), 1, -3, 5, api_name="/predict_clip")
    assert gif_frames(out).shape == (K + 1, R, 2 * R + 2, 3) and "from frame 3 of upload.mp4" in status


def test_predict_refuses_bad_input(studio):
    tmp, model = studio["tmp"], studio["paths"]["nf"]
    square = moving_square(MAX_FRAMES + 1, 48, 12, (4, 8), (3, 2))[:, :, 4:44]
    long = handle_file(str(save_animation(square, tmp / "long.gif")))
    assert "has more than 12 frames" in refused(studio, model, long, 0, 0, 5, api_name="/predict_clip")
    many = handle_file(str(save_animation(square[:MAX_FRAMES], tmp / "many.gif")))  # 12 x 48 x 40 px > 20,000
    assert "in all); the studio takes at most" in refused(studio, model, many, 0, 0, 5, api_name="/predict_clip")
    wide = handle_file(str(save_animation(moving_square(3, 80, 8, (0, 0), (1, 1)), tmp / "wide.gif")))
    assert "is 80x80" in refused(studio, model, wide, 0, 0, 5, api_name="/predict_clip")
    corrupt = tmp / "corrupt.gif"
    corrupt.write_bytes(b"GIF89a" + bytes(40))
    assert "cannot read video corrupt.gif" in refused(studio, model, handle_file(str(corrupt)), 0, 0, 5,
                                                      api_name="/predict_clip")
    still = handle_file(str(write_png(tmp / "still.png", np.zeros((8, 8), np.uint8))))
    assert "Invalid file type" in refused(studio, model, still, 0, 0, 5, api_name="/predict_clip")
    assert "no clip given" in refused(studio, model, None, 0, 0, 5, api_name="/predict_clip")
    assert "greater than maximum value 12" in refused(studio, model, "test:1", 13, 0, 5, api_name="/predict_index")
    assert "clip index 'banana'" in refused(studio, model, "banana", 0, 0, 5, api_name="/predict_index")
    assert "'digits' is not a moving dataset" in refused(studio, model, "digits:test:0", 0, 0, 5,
                                                         api_name="/predict_index")
    assert "the model observes 2 frames" in refused(studio, model, "test:1", 0, 9, 5, api_name="/predict_index")
    said = refused(studio, studio["paths"]["vgan"], "test:1", 0, 0, 5, api_name="/predict_index")
    assert "holds a model for video (task video); the Predict tab takes nextframe models" in said


# ---------------------------------------------------------------------------------------------------- video
def test_sample_clips_gif(studio):
    model = studio["paths"]["vgan"]
    gif, status = studio["client"].predict(model, "0-3", 2, 8, False, api_name="/sample_clips")
    pipe = ganforge.load(model)
    expected = tile_clips(pipe(seeds=[0, 1, 2, 3], output_type="np", watermark=False), 2)  # [T, 38, 38, 3]
    frames = gif_frames(gif)
    assert frames.shape == expected.shape == (pipe.frames, 38, 38, 3)
    assert np.abs(frames.astype(int) - expected).mean() < 6  # a colour GIF's palette: close, not exact
    assert "4 clips of 4 frames of 16x16 px" in status
    gif, _ = studio["client"].predict(model, "5", 0, 8, api_name="/sample_clips")
    assert gif_frames(gif).shape == (pipe.frames, 20, 20, 3)
    assert read_metadata(gif)["watermark"] == "on" and read_metadata(gif)["model"]["sha256"] == pipe.model_hash


def test_streams_figure_is_the_cli_writers(studio):
    model = studio["paths"]["vgan"]
    png, status = studio["client"].predict(model, "0, 3", False, api_name="/streams")
    pipe = ganforge.load(model)
    expected = streams_figure(pipe.streams(seeds=[0, 3], output_type="np", watermark=False))
    figure = read(png)
    assert figure.shape == expected.shape == (2 + 8 * 18, 2 + 4 * 18, 3)  # per clip 4 rows of T = 4 frames
    np.testing.assert_array_equal(figure, expected)
    assert "2 clips of 4 frames" in status and "with their streams" in status


def test_video_refuses_bad_input(studio):
    model = studio["paths"]["vgan"]
    assert "at most 4" in refused(studio, model, "0-9", 0, 8, api_name="/sample_clips")
    assert "at most 4" in refused(studio, model, "0-9", api_name="/streams")
    assert "a seed (5), a range" in refused(studio, model, "x", 0, 8, api_name="/sample_clips")
    said = refused(studio, studio["paths"]["nf"], "0-1", 0, 8, api_name="/sample_clips")
    assert "the Video tab takes video models" in said
