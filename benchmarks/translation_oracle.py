"""What the CycleGAN target-domain KID gives a perfect translator, next to copying the input.

On a two-style built-in split into halves (emoji), each test input's real rendering in the other style
is the right answer (`held_out_counterparts`). Scoring those renderings against the other domain's test
split, as `ganforge eval` scores a CycleGAN's outputs, shows how low that score can go at all: the two
test splits hold different emoji, so even the right answer stays near the identity baseline.

    .venv/bin/python benchmarks/translation_oracle.py --resolution 32
    .venv/bin/python benchmarks/translation_oracle.py --resolution 32 --reference all --one-per-group

`--reference all` scores against the whole target domain (training images too) instead of its test split;
`--one-per-group` keeps one test input per emoji family (skin-tone variants travel together), so that
near-copies within the inputs do not weigh in. Prints one JSON row per direction: FID/KID of the identity
baseline and of the perfect translator.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ganforge.data import resolve_unpaired
from ganforge.data.unpaired import held_out_counterparts, load_domains
from ganforge.metrics.extract import array_batches, extract_features
from ganforge.metrics.features import get_extractor
from ganforge.tasks.translation.evaluate import distribution_scores


def features(images: np.ndarray, extractor) -> np.ndarray:
    return extract_features(array_batches(images, 16), len(images), extractor)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="emoji")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--inception", default=None)
    parser.add_argument("--reference", choices=("test", "all"), default="test",
                        help="the target domain's test split (as `ganforge eval`) or all of it")
    parser.add_argument("--one-per-group", action="store_true", help="one test input per emoji family")
    args = parser.parse_args()
    extractor = get_extractor(args.inception, "cpu")
    for direction in ("AtoB", "BtoA"):
        test = resolve_unpaired(args.data, args.resolution, split="test", direction=direction)
        keep = np.arange(len(test.a))
        if args.one_per_group:
            full = load_domains(args.data, args.resolution)
            names, groups = (full.names_a, full.groups_a) if direction == "AtoB" else (full.names_b, full.groups_b)
            group_of = dict(zip(names, groups or names))
            firsts: dict[str, int] = {}
            for i, name in enumerate(test.names_a):
                firsts.setdefault(group_of[name], i)
            keep = np.array(list(firsts.values()))
        inputs, names_a = test.a[keep], [test.names_a[i] for i in keep]
        perfect = held_out_counterparts(args.data, args.resolution, names_a, direction)
        if perfect is None:
            raise SystemExit(f"{args.data} has no held-out counterparts (a two-style built-in such as emoji has)")
        reference = test.b if args.reference == "test" else \
            resolve_unpaired(args.data, args.resolution, split="all", direction=direction).b
        target = features(reference, extractor)
        print(json.dumps({
            "data": args.data, "resolution": args.resolution, "direction": direction, "reference": args.reference,
            "n_inputs": len(inputs), "n_targets": len(reference),
            "identity": distribution_scores(target, features(inputs, extractor)),
            "perfect": distribution_scores(target, features(perfect, extractor)),
        }), flush=True)


if __name__ == "__main__":
    main()
