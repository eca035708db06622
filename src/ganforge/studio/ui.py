"""Gradio pieces every tab uses: handlers whose errors reach the page as a sentence, an image upload that reaches
the handler undecoded (so the studio, not Gradio's decoder, checks its size and reports a corrupt file), a model
picker, the editor whose layers are a brushed mask, and the Watermark checkbox with what its outputs carry."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr
import numpy as np

from ganforge.errors import GanforgeError
from ganforge.studio.catalogue import ModelEntry
from ganforge.studio.context import StudioContext

log = logging.getLogger("ganforge.studio")

# Every event that runs a model (or an evaluation) joins this one queue, so the studio's concurrency limit holds across
# tabs: a Generate and an Upscale from two users wait for each other instead of sharing the memory. Page loads,
# pickers and the training poll stay outside it.
MODEL_QUEUE = "model"


def user_error(message: str) -> gr.Error:
    """What the page shows for bad input: the message alone, and no traceback in the server's log either."""
    return gr.Error(message, print_exception=False)


def handler(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler: ganforge's one-line errors and out-of-memory become a message on the page; anything
    else is logged with its traceback on the server and shown as one line."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except gr.Error:
            raise
        except GanforgeError as exc:
            raise user_error(str(exc)) from None
        except MemoryError:
            raise user_error("out of memory: ask for fewer or smaller images") from None
        except Exception as exc:  # a bug: the page gets one line, the log the traceback
            log.exception("studio request failed")
            raise user_error(f"internal error ({exc.__class__.__name__}: {exc}); the server's log has the "
                             "details") from None

    return wrapped


def image_upload(**kwargs: Any) -> gr.Image:
    """A gr.Image whose upload arrives as the uploaded file's path, undecoded: `limits.read_upload` then checks its
    bytes and pixels from the header and says what is wrong with a corrupt file. (Its preprocess is replaced on
    the instance: a subclass would make Gradio write a .pyi stub beside this file.)"""
    upload = gr.Image(type="filepath", image_mode=None, **kwargs)
    decode = upload.preprocess

    def raw_path(payload: Any) -> str | None:
        if payload is None:
            return None
        if payload.path is None:  # a data: URL (webcam streaming): let Gradio decode it to a file
            try:
                return decode(payload)
            except Exception as exc:
                raise user_error(f"cannot read the uploaded image ({exc.__class__.__name__})") from None
        return str(payload.path)

    upload.preprocess = raw_path  # type: ignore[method-assign]
    return upload


def editor_background(editor: dict | None, hint: str) -> np.ndarray:
    """An image editor's uploaded background as uint8 [H, W, C] (its alpha composited away); a one-line error naming
    what to do (`hint`) when nothing was uploaded."""
    from ganforge.tasks.translation.pipeline import as_array, split_alpha

    background = (editor or {}).get("background")
    if background is None:
        raise GanforgeError(f"upload an image into the editor first{hint}")
    image = as_array(background)
    return split_alpha(image)[0] if image.shape[2] == 4 else image


def mask_editor(**kwargs: Any) -> gr.ImageEditor:
    """A gr.ImageEditor whose decoding errors (a corrupt background or layer sent through the API) are a sentence."""
    editor = gr.ImageEditor(**kwargs)
    decode = editor.preprocess

    def checked(payload: Any) -> Any:
        try:
            return decode(payload)
        except Exception as exc:
            raise user_error(f"cannot read the image or mask in the editor ({exc.__class__.__name__}: {exc})") from None

    editor.preprocess = checked  # type: ignore[method-assign]
    return editor


def watermark_box() -> gr.Checkbox:
    """The Watermark checkbox of a tab that makes images: on, every output carries the invisible mark; either way
    the files served carry metadata naming the model and whether the mark is on (issue 29). A tab passes it as the
    last input of its events, so API clients that leave it out get the mark."""
    return gr.Checkbox(True, label="Watermark", info="an invisible mark naming the model and the month, in every "
                       "output (recorded in the file's metadata)")


def studio_provenance(pipe: Any, settings: dict[str, Any], watermark: bool | None) -> Any:
    """What a tab's outputs carry (`provenance.metadata.Provenance`); a missing checkbox value counts as on."""
    return pipe.provenance(settings, watermark is not False, "studio")


def marked_picture(provenance: Any, array: Any) -> Any:
    """A uint8 image [H, W, C] as a PIL image, marked (when on) and holding the metadata, which Gradio writes into
    the PNG it serves."""
    from ganforge.imaging import to_pil
    from ganforge.provenance.metadata import pil_with_metadata

    return pil_with_metadata(to_pil(provenance.mark(array)), provenance.metadata())


def model_picker(ctx: StudioContext, pipelines: tuple[str, ...], label: str = "Model",
                 accept: Callable[[ModelEntry], bool] | None = None) -> gr.Dropdown:
    """A dropdown of the models this tab can use (of `pipelines`, and that `accept` takes where given) and a button
    that lists them again (after a new run)."""
    choices = [(e.label, e.value) for e in ctx.models(pipelines, accept)]
    with gr.Row():
        picker = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label=label,
                             allow_custom_value=True, scale=5,
                             info="runs, exports and shipped models of this kind" if choices else
                             "none found: train one (ganforge train ...) or start the studio with a model path")
        refresh = gr.Button("Refresh list", scale=1, size="sm")

    def relist(current: str | None) -> Any:
        fresh = [(e.label, e.value) for e in ctx.models(pipelines, accept)]
        values = [v for _, v in fresh]
        return gr.update(choices=fresh, value=current if current in values else (values[0] if values else None))

    refresh.click(relist, picker, picker, api_visibility="private")
    if ctx.app is not None:  # a page opened later lists the runs trained since the studio started
        ctx.app.load(relist, picker, picker, api_visibility="private")
    return picker
