"""What the attribute-editing task trains and is scored on.

- `skin-tone` (the emoji set): every people emoji drawn in the default yellow and five skin tones, the attribute
  one of TONES (metrics/alignment.py). Items are ordered pairs of one emoji in two tones: the source, and its exact
  counterfactual in the target tone (the same emoji, the same style); the split holds out whole emoji names.
- `class` (any labelled set: mnist digits, a folder of class folders): the attribute is the class; there are no
  counterfactuals, so items are single images with their class (StarGAN's unpaired setting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganforge.errors import ConfigError

ATTRIBUTES = ("skin-tone", "class")


@dataclass
class AttributeSet:
    """Sources [N, R, R, C] uint8 with their attribute, and (paired sets) targets with theirs."""

    sources: np.ndarray
    source_labels: np.ndarray  # int64 [N]
    class_names: list[str]
    targets: np.ndarray | None = None  # the counterfactuals, or None (unpaired)
    target_labels: np.ndarray | None = None
    names: list[str] | None = None  # the emoji of each pair (skin-tone)

    @property
    def paired(self) -> bool:
        return self.targets is not None


def tone_pairs(data: str, resolution: int, split: str) -> AttributeSet:
    """Every ordered pair of tones of every people emoji of `split` (see the module doc)."""
    from ganforge.data.captions import resolve_captioned
    from ganforge.metrics.alignment import TONES

    if str(data).split(":")[0] not in ("emoji", "emoji-google"):
        raise ConfigError(f"--attribute skin-tone needs the emoji set (--data emoji), got {data!r}")
    captioned = resolve_captioned(data, resolution, split=split)
    by_name: dict[str, dict[int, int]] = {}
    for i, item in enumerate(captioned.items or []):
        tone = item.get("skin_tone") or "none"
        if tone in TONES:
            by_name.setdefault(item["name"], {})[TONES.index(tone)] = i
    sources, targets, names = [], [], []
    for name, tones in sorted(by_name.items()):
        if len(tones) < 2:
            continue
        for a in sorted(tones):
            for b in sorted(tones):
                if a != b:
                    sources.append((tones[a], a))
                    targets.append((tones[b], b))
                    names.append(name)
    if not sources:
        raise ConfigError(f"the {split} split of {data} holds no emoji in two skin tones")
    images = captioned.images
    return AttributeSet(images[[s for s, _ in sources]], np.array([a for _, a in sources], dtype=np.int64),
                        [t.replace(" skin tone", "") for t in TONES], images[[t for t, _ in targets]],
                        np.array([b for _, b in targets], dtype=np.int64), names)


def class_images(data: str, resolution: int, split: str) -> AttributeSet:
    """A labelled set's `split` with its classes (unpaired)."""
    from ganforge.data.resolve import resolve_dataset
    from ganforge.data.split import group_keys, pick, split_indices

    dataset = resolve_dataset(data, resolution)
    if dataset.labels is None or len(dataset.class_names) < 2:
        raise ConfigError(f"--attribute class needs a labelled set of two classes or more (mnist, a folder of class "
                          f"folders); {data} has none")
    idx = pick(split_indices(len(dataset), what=f"--data {data}", groups=group_keys(dataset, data)), split)
    idx = np.arange(len(dataset)) if idx is None else idx
    return AttributeSet(dataset.images[idx], np.asarray(dataset.labels)[idx], list(dataset.class_names))


def attribute_set(data: str, attribute: str, resolution: int, split: str) -> AttributeSet:
    if attribute not in ATTRIBUTES:
        raise ConfigError(f"--attribute must be one of {', '.join(ATTRIBUTES)}, got {attribute!r}")
    return (tone_pairs if attribute == "skin-tone" else class_images)(data, resolution, split)
