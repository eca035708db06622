"""`ganforge models`: the pretrained models shipped with ganforge, each usable as `zoo:NAME` wherever a RUN goes."""

from __future__ import annotations

import json

import typer


def models_command(
    as_json: bool = typer.Option(False, "--json", help="Print the model cards as JSON instead of a table."),
) -> None:
    """List the pretrained models shipped with ganforge (use one as zoo:NAME: ganforge sample zoo:NAME ...)."""
    from ganforge.cli.data import _size
    from ganforge.zoo import PREFIX, model_cards

    cards = model_cards()
    if as_json:
        typer.echo(json.dumps([{k: (str(v) if k == "path" else v) for k, v in vars(c).items()} for c in cards],
                              indent=2))
        return
    if not cards:
        typer.echo("no pretrained models are shipped with this installation")
    for card in cards:  # one line each, then its description: readable at any terminal width
        figures = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in card.metrics.items()
                            if not isinstance(v, (dict, list)))
        typer.echo(f"{PREFIX + card.name}  {card.task}/{card.model}  {card.data} {card.resolution} px  "
                   f"{card.kimg:g} kimg  {_size(card.size_bytes)}  {figures}")
        if card.description:
            typer.echo(f"    {card.description}")
