"""Evaluation of an image generator against its real images: FID, KID and precision/recall (no baseline).

    result = GeneratorEvaluator().evaluate(ganforge.load("runs/stylegan2-ffhq-64"), EvalOptions(n=1000))

What `ganforge eval RUN` runs for an `image` pipeline: `compute_metrics` of the run's dataset (or `data`)
against min(dataset, 1000) generated images; `ganforge eval --real DIR --fake DIR` compares two folders alike.
"""

from __future__ import annotations

from typing import Any

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import compute_metrics
from ganforge.metrics.harness import EVALUATORS, EvalOptions, Evaluator, Progress, run_data, shown

DEFAULT_N = 1000  # generated images unless told, at most the real set's size


@EVALUATORS.register("image")
class GeneratorEvaluator(Evaluator):
    """Image generators: the standard metrics against the run's own data."""

    runs = "image generators"
    min_n = 4
    min_n_reason = "precision/recall uses k = 3 neighbours"
    stage = "extracting features"
    table_on_stderr = True

    def evaluate(self, pipe: Any, opts: EvalOptions, progress: Progress | None = None) -> dict[str, Any]:
        from ganforge.data import resolve_dataset

        _, data = run_data(pipe, opts.data, "name the real images with --data")
        dataset = resolve_dataset(data, int(pipe.config["resolution"]), progress=progress)
        if dataset.channels != int(pipe.config["channels"]):
            raise GanforgeError(f"--data {data} has {dataset.channels} channels, the model makes {pipe.config['channels']}")
        count = opts.n or min(len(dataset), DEFAULT_N)
        if count > len(dataset):
            raise GanforgeError(f"--eval-n {count} is more than the {len(dataset)} real images of {data}")
        return compare_sources(dataset, pipe, count, opts, progress)

    def table(self, result: dict[str, Any]) -> str:
        """One line a figure: the result is flat (no baseline column)."""
        return "\n".join(f"{key:>24}  {shown(value)}" for key, value in result.items())


def compare_sources(real: Any, fake: Any, n: int | None, opts: EvalOptions,
                    progress: Progress | None = None) -> dict[str, Any]:
    """compute_metrics of two sources (datasets, folders, a generator), one progress bar over both sides."""
    return compute_metrics(real, fake, n=n, inception=opts.inception, device=opts.device,
                           progress=None if progress is None else lambda side, done, total: progress(done, total))
