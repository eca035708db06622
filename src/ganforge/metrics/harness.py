"""One evaluation harness for every task, so `ganforge eval` needs no per-task code.

A task's evaluator (a subclass of `Evaluator`, registered in EVALUATORS under its pipeline's name, the
`"pipeline"` of its config.json) declares the `ganforge eval` options it reads, its evaluate function (held-out
split, the model's outputs and its baselines' scored alike by a `Scorer`) and its table; the harness checks
the options, runs it and renders every result with one table:

    @EVALUATORS.register("superres")
    class SuperresEvaluator(Evaluator):
        columns = ("model", "bicubic", "truth")  # score dicts of the result, the table's columns
        run = evaluate_superres                   # (pipe, data=, n=, inception=, device=, progress=) -> result
        def headline(self, result): ...

Every result has one schema: what was evaluated (task, data, split, resolution, n, ...), how features
were compared (`Scorer.fields`: extractor, resize, kid_subset, kid_subsets), then one score dict per
column: `model`, each baseline by name (`identity`, `bicubic`, `biharmonic`, `last_frame`), and the
truth's or real data's own figures (`truth`, `real`) where the scores have one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import count_label
from ganforge.metrics.extract import (
    array_batches,
    array_fingerprint,
    cache_key,
    cached_features,
    extract_features,
)
from ganforge.metrics.features import EXTRACTOR_NAME
from ganforge.metrics.fid import fid_from_features
from ganforge.metrics.image import PSNR_MAX_DB, SSIM_MIN_SIZE  # noqa: F401  (every evaluator's settings)
from ganforge.metrics.kid import KID_MAX_SUBSET, KID_SUBSETS, kernel_inception_distance, kid_subset_size
from ganforge.metrics.resize import RESIZE_MODE
from ganforge.pipelines.base import run_config
from ganforge.registry import Registry

Progress = Callable[[int, int], None]
KID_SUBSET = KID_MAX_SUBSET  # KID subsets of kid_subset_size(n, n, KID_SUBSET) = min(KID_SUBSET, n // 2) images
EVALUATORS: Registry = Registry("evaluator")
FLAGS = {"direction": "--direction", "split": "--split", "frames": "--predict-frames"}  # EvalOptions field -> flag


@dataclass(frozen=True)
class EvalOptions:
    """What `ganforge eval RUN` asks of an evaluator; None leaves the evaluator's default."""

    run: Path | None = None  # the RUN as given (image generators read its config.json for their data)
    data: str | None = None  # held-out data other than the run's own
    n: int | None = None  # --eval-n
    direction: str | None = None  # translation runs
    split: str | None = None  # translation runs
    frames: int | None = None  # nextframe runs: --predict-frames
    inception: str | None = None
    device: str = "cpu"


class Evaluator:
    """A task's evaluation, declared: the options it reads, how it scores, and the columns of its table."""

    runs = "these runs"  # how errors name the runs it evaluates: "--split applies to {runs} only"
    options: tuple[str, ...] = ()  # EvalOptions fields of FLAGS that it reads
    min_n: int | None = 2  # the smallest --eval-n (None: the evaluator checks it against its data)
    min_n_reason = "KID needs two images a side"
    stage = "evaluating"  # the progress bar's label
    columns: tuple[str, ...] = ("model",)  # score dicts of the result, in table order
    metric_width = 16  # the table's metric column
    table_on_stderr = False  # image generators print their table as log lines, leaving stdout for --json

    def check(self, opts: EvalOptions) -> None:
        """One-line errors for options this evaluator cannot use, before any work."""
        if opts.n is not None and self.min_n is not None and opts.n < self.min_n:
            raise GanforgeError(f"--eval-n must be at least {self.min_n} ({self.min_n_reason}), got {opts.n}")

    def stage_for(self, opts: EvalOptions) -> str:
        """The progress bar's label for these options."""
        return self.stage

    def arguments(self, opts: EvalOptions) -> dict[str, Any]:
        """Keyword arguments of `run` for these options."""
        return {"data": opts.data, "n": opts.n, "inception": opts.inception, "device": opts.device}

    def evaluate(self, pipe: Any, opts: EvalOptions, progress: Progress | None = None) -> dict[str, Any]:
        """The JSON-ready result (see the module doc): the task's evaluate_* function, called as `run`."""
        return type(self).run(pipe, **self.arguments(opts), progress=progress)

    run: Callable[..., dict[str, Any]]  # the task's evaluate_* function (pipe, **arguments, progress=...)

    @staticmethod
    def split_of(result: dict[str, Any]) -> str:
        """'the test split of ' for data with a split, '' for data without one (a folder of videos)."""
        return f"the {result['split']} split of " if result.get("split") else ""

    def headline(self, result: dict[str, Any]) -> str:
        """The table's first line: what was evaluated."""
        return f"{result.get('task', '?')}: n = {result.get('n', '?')}"

    def blocks(self, result: dict[str, Any]) -> list[tuple[str | None, dict[str, dict]]]:
        """Groups of rows, each (label or None, {column: scores}); one group unless the scores come in buckets."""
        return [(None, {column: result.get(column) or {} for column in self.columns})]

    def extra_lines(self, result: dict[str, Any]) -> list[str]:
        """Lines under the table (per-step figures, ratios)."""
        return []

    def rows(self, result: dict[str, Any]) -> list[tuple[str | None, str, list[str]]]:
        """(bucket or None, metric, a shown cell per column) for each row of the table: the CLI's and the studio's."""
        return [(name, key, [shown((scores.get(c) or {}).get(key)) for c in self.columns])
                for name, scores in self.blocks(result) for key in scores["model"]]

    def table(self, result: dict[str, Any]) -> str:
        """Metric rows, one column per score dict, under the headline."""
        rows = self.rows(result)
        label = 9 if rows and rows[0][0] is not None else 0
        head = f"{'bucket':<9}" if label else ""
        lines = [self.headline(result),
                 head + f"{'metric':<{self.metric_width}}" + "".join(f"{c.replace('_', ' '):>12}" for c in self.columns)]
        for name, key, cells in rows:
            first = f"{name:<{label}}" if label else ""
            lines.append(f"{first}{key:<{self.metric_width}}" + "".join(f"{cell:>12}" for cell in cells))
        return "\n".join(lines + self.extra_lines(result))


def shown(value: Any) -> str:
    """A table cell: '-' for None, four decimals for a float."""
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def register_builtin() -> None:
    """Import every task's evaluator modules (each registers its own; see tasks/spec.py)."""
    from ganforge.tasks.spec import import_parts

    import_parts("evaluators")


def evaluator_for(pipe: Any) -> Evaluator:
    """The registered evaluator of a pipeline, by the name its config.json gives it."""
    register_builtin()
    name = str(pipe.config.get("pipeline", "?"))
    if name not in EVALUATORS:
        raise GanforgeError(f"no evaluation is registered for {name} models")
    return EVALUATORS.get(name)()


def check_options(evaluator: Evaluator | None, opts: EvalOptions) -> None:
    """Refuse an option the evaluator does not read, naming the runs that do; then the evaluator's own checks."""
    register_builtin()
    for field, flag in FLAGS.items():
        if getattr(opts, field) is not None and (evaluator is None or field not in evaluator.options):
            readers = [ev.runs for ev in (EVALUATORS.get(n)() for n in EVALUATORS.names()) if field in ev.options]
            raise GanforgeError(f"{flag} applies to {' and '.join(readers)} only")
    if evaluator is not None:
        evaluator.check(opts)


def run_data(pipe: Any, data: str | None, what: str = "name its data with --data") -> tuple[dict[str, Any], str]:
    """(the run's training config or {}, the data to evaluate on): `data`, else the run's own (a shipped model's
    card names it)."""
    config = run_config(pipe) or {}
    data = data or config.get("data") or pipe.config.get("source", {}).get("data")
    if not data:
        raise GanforgeError(f"this model is an export without its run directory: {what}")
    return config, data


def features(images: np.ndarray, extractor: Any, batch_size: int, cache: bool, progress: Progress) -> np.ndarray:
    """Inception features of uint8 images; real images' features cached by content like compute_metrics'."""
    def compute() -> np.ndarray:
        return extract_features(array_batches(images, batch_size), len(images), extractor, progress)[0]
    if not cache or getattr(extractor, "name", None) != EXTRACTOR_NAME:  # the cache key names the real extractor
        return compute()
    feats, was_cached = cached_features(cache_key(array_fingerprint(images), len(images), extractor), compute)
    if was_cached:
        progress(len(images), len(images))
    return feats


def distribution_scores(target_feats: np.ndarray, feats: np.ndarray) -> dict[str, float]:
    """fid{n}, kid{n}, kid{n}_std of features against the target's, n the smaller count."""
    label = count_label(min(len(target_feats), len(feats)))
    mean, std = kernel_inception_distance(target_feats, feats, subset_size=KID_SUBSET)
    return {f"fid{label}": fid_from_features(target_feats, feats), f"kid{label}": mean, f"kid{label}_std": std}


def kid_scores(target_feats: np.ndarray, feats: np.ndarray) -> dict[str, float]:
    """kid, kid_std (no count in the names: a bucketed result states n once)."""
    mean, std = kernel_inception_distance(target_feats, feats, subset_size=KID_SUBSET)
    return {"kid": float(mean), "kid_std": float(std)}


class Scorer:
    """What the stages of one evaluation share: the feature extractor, the batch size and one progress total."""

    def __init__(self, extractor: Any, total: int, progress: Progress | None = None, batch_size: int = 16) -> None:
        self.extractor, self.batch_size = extractor, batch_size
        self.total, self.done, self.progress = total, 0, progress  # images to process over every stage

    def stage(self) -> Progress:
        """A progress callback for the next stage, counting on from what is done."""
        start = self.done

        def update(done: int, _total: int) -> None:
            self.done = start + done
            if self.progress is not None:
                self.progress(self.done, self.total)
        return update

    def add(self, count: int) -> None:
        """Count a stage done in one go (the model run on a whole batch)."""
        self.stage()(count, count)

    def features(self, images: np.ndarray, cache: bool = True) -> np.ndarray:
        """Features of uint8 images [N, H, W, C]; `cache` for real or deterministic ones."""
        return features(images, self.extractor, self.batch_size, cache, self.stage())

    def fields(self, n_a: int, n_b: int) -> dict[str, Any]:
        """How the result's feature distances were made: extractor, resize mode, KID subset size and count."""
        return {"extractor": getattr(self.extractor, "name", EXTRACTOR_NAME), "resize": RESIZE_MODE,
                "kid_subset": kid_subset_size(n_a, n_b, KID_SUBSET), "kid_subsets": KID_SUBSETS}

    def compare(
        self,
        outputs: dict[str, np.ndarray | None],  # method -> uint8 images [N, H, W, C] (None: no such baseline)
        pixel: Callable[[str, np.ndarray], dict[str, Any]],  # method, outputs -> full-reference scores
        truth_feats: np.ndarray,  # features the outputs' distribution is compared with
        distances: Callable[[np.ndarray, np.ndarray], dict[str, float]] = distribution_scores,
        cache: Callable[[str], bool] = lambda method: method != "model",  # baselines are deterministic
        feats: dict[str, np.ndarray] | None = None,  # outputs' features by method: reused if there, else stored
    ) -> dict[str, dict[str, Any] | None]:
        """The model and each baseline scored alike: full-reference scores, then feature distances to the truth."""
        feats = {} if feats is None else feats
        scores: dict[str, dict[str, Any] | None] = {}
        for method, images in outputs.items():
            if images is None:
                scores[method] = None
                continue
            if method not in feats:
                feats[method] = self.features(images, cache(method))
            scores[method] = {**pixel(method, images), **distances(truth_feats, feats[method])}
        return scores
