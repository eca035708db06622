"""`ganforge demo`: digits trained from scratch and emoji trained on from a shipped model, in a few minutes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from ganforge.cli.options import old_name, renamed
from ganforge.cli.progress import DataProgress, TrainingProgress, err_console
from ganforge.errors import DataError, GanforgeError

EMOJI_MODEL = "zoo:emoji-32"  # what the emoji part trains on from; without it, emoji start from scratch


@dataclass
class DemoPart:
    """One data set of the demo: what it trains and how it is introduced."""

    data: str
    resolution: int
    settings: dict[str, Any] = field(default_factory=dict)  # init=..., beyond the shared DCGAN settings
    intro: str = ""
    share: float = 1.0  # of the demo's minutes, relative to the other parts'


PART_HELP = {
    "mnist": "handwritten digits, a DCGAN from scratch",
    "emoji": f"emoji, training on from the shipped {EMOJI_MODEL}",
    "digits": "scikit-learn's 8x8 digits at 16 px (offline), a DCGAN from scratch",
}


def fetched(name: str) -> bool:
    """Whether built-in `name` is here, fetching it when it is not; False (with a note) when it cannot be had."""
    from ganforge.data import get_builtin

    try:
        builtin = get_builtin(name)
        if not builtin.is_cached():
            err_console.print(f"fetching the {name} dataset ({builtin.description})...")
            builtin.fetch()
        return True
    except DataError as exc:
        err_console.print(f"[yellow]cannot fetch {name} ({exc})[/yellow]")
        return False


def emoji_part() -> DemoPart:
    """Emoji: on from the shipped model when this install has it (with its discriminator), else from scratch."""
    from ganforge.zoo import model_cards

    card = next((c for c in model_cards() if f"zoo:{c.name}" == EMOJI_MODEL and c.model == "dcgan"), None)
    if card is None:
        return DemoPart("emoji", 32, intro="emoji from scratch (no shipped emoji model here)")
    fid = card.metrics.get("fid")
    shown = f", FID {fid:.1f} at n = {card.metrics.get('n')}" if fid is not None else ""
    # Training on starts ADA at the p the shipped D was trained at (0.83; from p = 0 the demo's emoji lost 20 FID
    # points in 60 kimg, with it 10: docs/benchmarks.md); Adam's moments and the EMA still start afresh.
    return DemoPart("emoji", 32, dict(init=EMOJI_MODEL), share=2.0,
                    intro=f"emoji, training on from the shipped {EMOJI_MODEL} ({card.kimg:.0f} kimg{shown})")


def plan_parts(names: list[str]) -> list[DemoPart]:
    """The parts to run, in order; a data set that cannot be fetched is dropped, and digits stand in when none is
    left (they need no network)."""
    parts = []
    for name in names:
        if name == "digits":
            parts.append(DemoPart("digits", 16, intro=PART_HELP["digits"]))
        elif fetched(name):
            # Digits keep their identity only without flips and rotations (ADA's): no augmentation, as zoo:mnist-32.
            parts.append(emoji_part() if name == "emoji" else
                         DemoPart(name, 32, dict(augment="none"), intro=f"{name} from scratch", share=3.0))
    if not parts:
        err_console.print("[yellow]using the built-in digits instead[/yellow]")
        parts.append(DemoPart("digits", 16, intro=PART_HELP["digits"]))
    return parts


def part_settings(part: DemoPart, minutes: float, out: Path, seed: int) -> dict[str, Any]:
    return dict(task="image", model="dcgan", data=part.data, resolution=part.resolution, batch=64, minutes=minutes,
                kimg=None, out=str(out), seed=seed, sample_every_kimg=20.0, checkpoint_every_kimg=50.0, tick_kimg=2.0,
                **part.settings)


def prepare_part(part: DemoPart, out: Path, seed: int) -> DemoPart:
    """Prepare the part's data and check its run can be built, before any part trains; a shipped model that cannot
    be trained on (changed defaults, a damaged file) leaves that part to start from scratch, with a note."""
    from ganforge.api import train

    for attempt in (part, DemoPart(part.data, part.resolution, intro=f"{part.data} from scratch", share=part.share)):
        try:
            with DataProgress(f"preparing {part.data}") as data_bar:
                train(dry_run=True, on_data_progress=data_bar, **part_settings(attempt, 1.0, out, seed))
            return attempt
        except GanforgeError as exc:
            if attempt is not part or "init" not in part.settings:
                raise
            err_console.print(f"[yellow]cannot train on from {part.settings['init']} ({exc}); {part.data} start "
                              "from scratch[/yellow]")
    raise AssertionError("unreachable")


def run_part(part: DemoPart, minutes: float, out: Path, seed: int) -> None:
    """Train one part for `minutes`, then write its grid and latent walk and say where they are."""
    from ganforge.api import load, train
    from ganforge.imaging import make_grid, save_animation, save_image

    settings = part_settings(part, minutes, out, seed)
    err_console.print(f"training {part.intro}: {minutes:g} minutes...")
    with TrainingProgress(None, minutes) as bar:
        result = train(on_progress=bar.update, **settings)
    pipe = load(result.run_dir)
    provenance = pipe.provenance({"seeds": "0-63"}, command="demo")  # each file marked as one picture
    grid = save_image(provenance.mark(make_grid(pipe(n=64, seed=0, output_type="np", watermark=False))),
                      result.run_dir / "demo-grid.png", metadata=provenance.metadata())
    walk = save_animation([provenance.mark(f) for f in pipe.latent_walk([0, 1, 2, 3], frames=60, watermark=False)],
                          result.run_dir / "demo-walk.gif", metadata=provenance.with_settings(seeds="0-3").metadata())
    typer.echo(f"{part.data}: trained {result.kimg:.1f} kimg in {result.wall_sec / 60:.1f} min "
               f"({result.images_per_sec:.0f} img/s); {part.intro}")
    typer.echo(f"  samples:  {grid}")
    typer.echo(f"  walk:     {walk}")
    typer.echo(f"  report:   {result.run_dir / 'report.html'}")
    typer.echo(f"  more:     ganforge sample {result.run_dir} --n 16 --out more.png")


def demo_command(
    minutes: float = typer.Option(5.0, "--minutes", help="Training time in all, shared by the data sets."),
    runs_dir: Path | None = typer.Option(None, "--runs-dir", help="Parent folder of the demo runs, as train's "
                                         "--runs-dir [default: runs]. (old name: --out)"),
    out: Path | None = old_name("--out"),
    data: str = typer.Option("mnist,emoji", "--data", help="Data sets to show, comma-separated: " + "; ".join(
        f"{k}: {v}" for k, v in PART_HELP.items()) + ". One that cannot be fetched is left out (digits stand in)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the runs."),
) -> None:
    """Digits trained from scratch and emoji trained on from a shipped model: recognisable images in ~5 minutes."""
    out, _ = renamed("demo", "--runs-dir", runs_dir, "--out", out)
    out = Path("runs") if out is None else out
    names = [n.strip() for n in data.split(",") if n.strip()]
    unknown = [n for n in names if n not in PART_HELP]
    if unknown or not names:
        raise typer.BadParameter(f"{', '.join(unknown) or 'nothing'}: choose from {', '.join(PART_HELP)}",
                                 param_hint="--data")
    parts = [prepare_part(part, out, seed) for part in plan_parts(names)]
    total = sum(part.share for part in parts)
    for part in parts:
        run_part(part, minutes * part.share / total, out, seed)
