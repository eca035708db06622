"""Evaluation of an attribute editor on the held-out split: `ganforge eval ATTRIBUTE_RUN`.

Skin tone (emoji pairs of the test split: whole emoji names never trained on, each in two tones): each source is
edited into its pair's tone and scored against the true counterfactual: `target_share`, the share the alignment
evaluator's tone head (metrics/alignment.py; 0.99 on held-out real emoji) reads as the target tone; `l1_ratio`, the
edited image's L1 to the counterfactual over the source's L1 to it (the median; below 1 is closer than doing
nothing, the issue's bar is 0.5); PSNR to the counterfactual. The `unchanged` column scores the sources themselves.
Classes (no counterfactuals): the cycle's L1 (edited to another class and back) and the identity edit's L1 (edited to
its own class), which say how much else an edit keeps; whether the class changed needs a classifier of that set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganforge.errors import GanforgeError
from ganforge.metrics.compute import subset_indices
from ganforge.metrics.harness import EVALUATORS, Evaluator, Progress, run_data
from ganforge.metrics.image import l1, psnr


def edit_all(pipe: Any, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Each image edited into its own target attribute (index), in batches of one target."""
    out = np.zeros_like(images)
    for value in np.unique(targets):
        rows = np.flatnonzero(targets == value)
        for start in range(0, len(rows), 64):
            chunk = rows[start : start + 64]
            out[chunk] = pipe(images[chunk], int(value), output_type="np", watermark=False)
    return out


def counterfactual_scores(edited: np.ndarray, sources: np.ndarray, targets: np.ndarray,
                          target_labels: np.ndarray) -> dict[str, float]:
    from ganforge.editing.attributes import classify

    base = l1(sources, targets)
    ratio = l1(edited, targets) / np.maximum(base, 1e-6)
    return {"target_share": float((classify(edited, "skin-tone").argmax(1) == target_labels).mean()),
            "l1_ratio": float(np.median(ratio)), "l1_ratio_mean": float(ratio.mean()),
            "psnr": float(psnr(edited, targets, data_range=255.0, max_db=100.0).mean())}


def evaluate_attribute(pipe: Any, data: str | None = None, n: int | None = None, inception: str | None = None,
                       device: str = "cpu", progress: Progress | None = None) -> dict[str, Any]:
    """Held-out scores of an AttributePipeline (see the module doc)."""
    from ganforge.tasks.attribute.data import attribute_set

    if pipe.config.get("pipeline") != "attribute":
        raise GanforgeError("evaluate_attribute takes an attribute editor (ganforge train attribute)")
    _, data = run_data(pipe, data)
    attribute = pipe.config.get("attribute", "skin-tone")
    found = attribute_set(data, attribute, pipe.resolution, "test")
    idx = subset_indices(len(found.sources), n)
    sources, labels = found.sources[idx], found.source_labels[idx]
    pipe.to(device)
    result: dict[str, Any] = {"task": "attribute", "split": "test", "data": str(data), "attribute": attribute,
                              "resolution": pipe.resolution, "n": int(len(idx))}
    if found.paired:
        targets, target_labels = found.targets[idx], found.target_labels[idx]
        result["model"] = counterfactual_scores(edit_all(pipe, sources, target_labels), sources, targets, target_labels)
        result["unchanged"] = counterfactual_scores(sources, sources, targets, target_labels)
        result["emoji"] = len({found.names[i] for i in idx})
    else:
        classes = len(pipe.class_names)
        shifted = (labels + 1 + np.random.default_rng(0).integers(0, classes - 1, len(labels))) % classes
        edited = edit_all(pipe, sources, shifted)
        back = edit_all(pipe, edited, labels)
        same = edit_all(pipe, sources, labels)
        result["model"] = {"cycle_l1": float(l1(back, sources).mean()), "identity_l1": float(l1(same, sources).mean()),
                           "edit_l1": float(l1(edited, sources).mean())}
    return result


@EVALUATORS.register("attribute")
class AttributeEvaluator(Evaluator):
    """Attribute editor: held-out sources edited, against their true counterfactuals where the data hold them."""

    runs = "attribute runs"
    min_n = 1
    stage = "editing the held-out images"
    columns = ("model", "unchanged")

    run = evaluate_attribute

    def headline(self, result: dict[str, Any]) -> str:
        what = ("l1_ratio: edited over source L1 to the true counterfactual, median" if "unchanged" in result else
                "L1 in [0, 1] of the cycle back, of the edit into its own class, and of the edit to its source")
        return (f"attribute editor ({result['attribute']}) on the {result['split']} split of {result['data']} at "
                f"{result['resolution']} px: n = {result['n']} ({what})")
