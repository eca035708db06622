"""The studio's tabs come from the tasks: each task folder's `studio.py` holds `TABS`, a list of StudioTab, found
through the task specs as the CLI's verbs are, so that a new task (or a plugin) brings its own tab."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StudioTab:
    """One tab: its title, the pipelines whose models it takes, and `build(ctx)`, which lays out its components
    and wires its events inside the open gr.Tab (api names of its events are its public API)."""

    title: str
    pipelines: tuple[str, ...]
    build: Callable[[Any], None]
    order: int = 100  # tabs are shown by order, then title


def studio_tabs() -> list[StudioTab]:
    """Every task's tabs, each once (pix2pix and cyclegan share translation's), in order."""
    from ganforge.tasks.spec import import_guarded, task_specs

    tabs: list[StudioTab] = []
    for spec in task_specs():
        for module in spec.studio:
            loaded = import_guarded(spec, module)
            for tab in getattr(loaded, "TABS", None) or []:
                if not isinstance(tab, StudioTab):
                    raise TypeError(f"{module}.TABS must hold StudioTab records, got {tab!r}")
                if tab not in tabs:
                    tabs.append(tab)
    titles = [t.title for t in tabs]
    clash = sorted({t for t in titles if titles.count(t) > 1})
    if clash:
        raise ValueError(f"two tasks define the studio tab {clash[0]!r}")
    return sorted(tabs, key=lambda t: (t.order, t.title))


def own_tabs() -> list[StudioTab]:
    """The studio's own tabs, which belong to no task (Evaluate runs every task's evaluator, Train any task's
    training), shown after the tasks' tabs."""
    from ganforge.studio.evaluate_tab import TABS as EVALUATE
    from ganforge.studio.train_tab import TABS as TRAIN

    return sorted([*EVALUATE, *TRAIN], key=lambda t: (t.order, t.title))
