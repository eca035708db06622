"""Edit directions in a generator's latent space, and moving a latent along one.

SeFa (Shen & Zhou, 2021), closed form and without labels: the directions a generator's first projection of the
latent stretches most are the eigenvectors of A^T A, A the weights that read the latent. For StyleGAN2, A stacks
every layer's style affine (w -> the channels it modulates), so a direction moves all layers' styles; for a DCGAN,
A is the first transposed convolution's weight (z -> the 4 x 4 features).

GANSpace (Harkonen et al., 2020), without labels either: the principal components of the generator's w over many
samples; `ganspace:K` moves along the K-th, one unit of strength being one standard deviation of w along it.

InterFaceGAN (Shen et al., 2020), from labels: the generator's samples are labelled by an attribute classifier
(editing/attributes.py), a linear classifier separates the attribute in W (z for generators without one), and its
unit normal is the direction; an edit moves a latent to a chosen signed distance from that boundary. Conditional
manipulation removes other boundaries' normals from the direction, so the edit leaves those attributes alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ganforge.editing.inversion import draw, generator_of, space_of
from ganforge.errors import GanforgeError


def latent_reading_weight(generator: torch.nn.Module) -> torch.Tensor:
    """A [outputs, latent_dim]: the weights that first read the latent (see the module doc)."""
    if space_of(generator) == "w+":
        affines = [m.affine for m in generator.modules() if hasattr(m, "affine") and hasattr(m.affine, "weight")]
        return torch.cat([a.weight.detach().float() * getattr(a, "scale", 1.0) for a in affines])
    first = next((m for m in generator.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear))), None)
    if first is None:
        raise GanforgeError("this generator has no first linear or transposed-convolution layer to read SeFa from")
    weight = first.weight.detach().float()
    if isinstance(first, torch.nn.ConvTranspose2d):  # [z_dim, C, k, k]: each latent component's output pattern
        return weight.flatten(1).T
    return weight  # Linear: [out, z_dim]


def sefa_directions(generator: torch.nn.Module, k: int = 10) -> torch.Tensor:
    """The k unit directions [k, latent_dim] the generator's latent reading stretches most, strongest first."""
    a = latent_reading_weight(generator)
    a = a / a.norm(dim=0, keepdim=True).clamp(min=1e-8)  # SeFa normalises each latent component's column
    values, vectors = torch.linalg.eigh(a.T @ a)
    order = values.argsort(descending=True)[:k]
    return vectors[:, order].T.contiguous()


@dataclass
class Boundary:
    """A linear boundary in the latent space: signed distance d(w) = normal . w + offset, with `direction` the way
    an edit moves (the normal, or what is left of it once other boundaries' normals are removed). `scale` is the
    standard deviation of d over the generator's samples, the unit of an edit's strength."""

    attribute: str
    normal: torch.Tensor  # unit [latent_dim]
    offset: float
    scale: float
    accuracy: float  # of the linear classifier on a fifth of the samples held out from its fit
    counts: tuple[int, int]  # samples labelled positive, negative
    direction: torch.Tensor | None = None

    def distance(self, latent: torch.Tensor) -> torch.Tensor:
        return latent.float() @ self.normal + self.offset

    def conditioned(self, others: Sequence[Boundary]) -> Boundary:
        """InterFaceGAN's conditional manipulation: the direction orthogonal to every other boundary's normal."""
        d = self.normal.clone()
        basis: list[torch.Tensor] = []
        for other in others:  # Gram-Schmidt, so several conditions are removed exactly
            v = other.normal.clone()
            for b in basis:
                v = v - (v @ b) * b
            if v.norm() > 1e-6:
                basis.append(v / v.norm())
        for b in basis:
            d = d - (d @ b) * b
        if d.norm() < 1e-3:
            raise GanforgeError(f"{self.attribute}'s boundary is parallel to the conditions': nothing is left to move")
        return Boundary(self.attribute, self.normal, self.offset, self.scale, self.accuracy, self.counts, d / d.norm())


@torch.no_grad()
def sample_latents(generator: torch.nn.Module, n: int, seed: int, batch: int = 250) -> tuple[torch.Tensor, np.ndarray]:
    """n seeded samples: their latents [n, dim] (w for StyleGAN2, z otherwise) and images uint8 [n, R, R, C]."""
    from ganforge.imaging import tensor_to_uint8

    space = space_of(generator)
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    codes, images = [], []
    for start in range(0, n, batch):
        chunk = z[start : start + batch]
        if space == "w+":
            w = generator.mapping(chunk, None)  # [B, w_dim]
            codes.append(w.float().cpu())
            picture = draw(generator, w[:, None].repeat(1, generator.num_ws, 1), space)
        else:
            codes.append(chunk.float().cpu())
            picture = draw(generator, chunk, space)
        images.append(tensor_to_uint8(picture.float().clamp(-1, 1).cpu()))
    return torch.cat(codes), np.concatenate(images)


def linear_boundary(latents: torch.Tensor, labels: np.ndarray, attribute: str, l2: float = 1e-3,
                    seed: int = 0) -> Boundary:
    """Logistic regression (L-BFGS, L2) of labels {0, 1} on latents [n, dim]; accuracy on a held-out fifth."""
    labels_t = torch.from_numpy(np.asarray(labels, dtype=np.float32))
    counts = (int(labels_t.sum()), int(len(labels_t) - labels_t.sum()))
    if min(counts) < MIN_PER_SIDE:
        raise GanforgeError(f"the generator drew {counts[0]} samples with {attribute} and {counts[1]} without among "
                            f"{len(labels_t)}: at least {MIN_PER_SIDE} of each are needed to fit its boundary (draw more with "
                            "--samples, or this generator does not draw the attribute)")
    mean = latents.mean(0)
    std = float(latents.std()) or 1.0
    x = (latents - mean) / std
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    test, train = order[: len(x) // 5], order[len(x) // 5 :]

    def fit(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weight = torch.zeros(x.shape[1], requires_grad=True)
        bias = torch.zeros((), requires_grad=True)
        optimiser = torch.optim.LBFGS([weight, bias], max_iter=200, line_search_fn="strong_wolfe")
        positive = labels_t[rows].mean().clamp(1e-3, 1 - 1e-3)
        balance = torch.where(labels_t[rows] > 0, 0.5 / positive, 0.5 / (1 - positive))  # classes weigh the same

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            logits = x[rows] @ weight + bias
            loss = (balance * torch.nn.functional.binary_cross_entropy_with_logits(
                logits, labels_t[rows], reduction="none")).mean() + l2 * weight.pow(2).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        return weight.detach(), bias.detach()

    weight, bias = fit(train)
    predicted = (x[test] @ weight + bias) > 0
    accuracy = float((predicted == (labels_t[test] > 0)).float().mean())
    weight, bias = fit(order)
    norm = float(weight.norm()) or 1.0
    normal = weight / norm
    offset = float((bias * std - weight @ mean) / norm)
    distances = latents @ normal + offset
    return Boundary(attribute, normal, offset, float(distances.std()), accuracy, counts, normal)


MIN_PER_SIDE = 10  # samples of each label a boundary needs


def attribute_labels(probabilities: np.ndarray, attribute: Any, condition: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(rows kept, labels) for an attribute's boundary: a skin tone (gender variant) against the other tones
    (variants), samples with none left out so that the direction changes the tone, not whether a person is drawn,
    while the generator draws at least MIN_PER_SIDE of each, else against every other sample; a category or a
    digit against the rest; an ordered attribute (`skin-tone` alone) its positive classes against its negative.
    `none` (no person) is no value to edit towards, but as a `condition` (--keep gender:none) it is kept apart from
    every other sample, so an edit of the variant keeps a person drawn."""
    from ganforge.editing.attributes import NONE_CLASS, ORDERED

    predicted = probabilities.argmax(1)
    if attribute.index < 0:  # an ordered attribute: its positive classes against its negative ones
        _, positive, negative = ORDERED[attribute.kind]
        rows = np.flatnonzero(np.isin(predicted, positive + negative))
        return rows, np.isin(predicted[rows], positive).astype(np.float32)
    rows = np.arange(len(predicted))
    none = NONE_CLASS.get(attribute.kind)
    if none is not None:
        if attribute.index == none and condition:
            return rows, (predicted == none).astype(np.float32)
        if attribute.index == none:
            raise GanforgeError(f"{attribute.name} is not a value to edit towards; choose one of "
                                f"{', '.join(f'{attribute.kind}:{c}' for c in attribute.classes if c != 'none')}")
        toned = np.flatnonzero(predicted != none)
        positives = int((predicted[toned] == attribute.index).sum())
        if min(positives, len(toned) - positives) >= MIN_PER_SIDE:
            rows = toned
    return rows, (predicted[rows] == attribute.index).astype(np.float32)


def encoded_latents(encoder: Any, pipe: Any, samples: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Up to `samples` real images of the encoder's training data (its train split; seeded subset), uint8, and their
    encoded w (the mean of the encoder's w+ over layers)."""
    from ganforge.data.split import resolve_split_images
    from ganforge.metrics.compute import subset_indices
    from ganforge.metrics.harness import run_data

    encoder.check_generator(pipe)
    _, data = run_data(encoder, None)
    _, images = resolve_split_images(data, encoder.resolution, split="train")
    images = images[subset_indices(len(images), samples, seed)]
    return encoder.encode(images).mean(1).cpu(), images


def fit_boundaries(pipe: Any, attributes: Sequence[str], samples: int = 2000, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None, encoder: Any = None,
                   conditions: Sequence[str] = ()) -> list[Boundary]:
    """InterFaceGAN's boundary of each attribute (`skin-tone:dark`, `category:flags`, `gender:woman`, `digit:7`) in
    `pipe`'s latent space, from `samples` seeded samples labelled by the attributes' classifiers (drawn once for
    all of them); or, given an `encoder` (ganforge train encoder), from real images of its training split, encoded,
    which reach attributes a generator seldom draws by chance. The `conditions` (--keep) follow, as boundaries too."""
    from ganforge.editing.attributes import classify, parse_attribute

    targets = [parse_attribute(a) for a in [*attributes, *conditions]]
    generator = generator_of(pipe, "an attribute edit")
    if encoder is not None:
        latents, images = encoded_latents(encoder, pipe, samples, seed)
    else:
        latents, images = sample_latents(generator, samples, seed)
    if progress is not None:
        progress(1, 2)
    probabilities = {kind: classify(images, kind) for kind in dict.fromkeys(t.kind for t in targets)}
    boundaries = []
    for k, target in enumerate(targets):
        rows, labels = attribute_labels(probabilities[target.kind], target, condition=k >= len(attributes))
        boundaries.append(linear_boundary(latents[torch.from_numpy(rows)], labels, target.name, seed=seed))
    if progress is not None:
        progress(2, 2)
    return boundaries


def fit_boundary(pipe: Any, attribute: str, samples: int = 2000, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None, encoder: Any = None) -> Boundary:
    """One attribute's boundary (see `fit_boundaries`)."""
    return fit_boundaries(pipe, [attribute], samples, seed, progress, encoder)[0]


def move_to(latent: torch.Tensor, boundary: Boundary, strengths: Sequence[float]) -> torch.Tensor:
    """Latents [len(strengths), ...]: `latent` ([dim] or w+ [layers, dim]) moved along the boundary's direction until
    its signed distance is strength x the boundary's scale (each w+ layer on its own)."""
    direction = boundary.direction if boundary.direction is not None else boundary.normal
    base = latent.float()
    along = float(direction @ boundary.normal)
    moved = []
    for strength in strengths:
        step = (strength * boundary.scale - boundary.distance(base)) / along  # [] or [layers]
        moved.append(base + step[..., None] * direction if base.ndim > 1 else base + step * direction)
    return torch.stack(moved)


GANSPACE_SAMPLES = 10_000  # latents whose principal components GANSpace takes


@torch.no_grad()
def ganspace_directions(generator: torch.nn.Module, k: int = 10, samples: int = GANSPACE_SAMPLES,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace (Harkonen et al., 2020): the k principal directions [k, dim] of the generator's w (z for generators
    without a mapping, where PCA only finds the prior's axes), unit vectors, strongest first, with their standard
    deviations [k], so that a strength reads in standard deviations."""
    device = next(generator.parameters()).device
    z = torch.randn(samples, generator.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    codes = generator.mapping(z, None).float().cpu() if space_of(generator) == "w+" else z.float().cpu()
    centred = codes - codes.mean(0)
    _, singular, vectors = torch.linalg.svd(centred, full_matrices=False)
    return vectors[:k].contiguous(), singular[:k] / (len(codes) - 1) ** 0.5


def parse_direction(text: str, generator: torch.nn.Module) -> torch.Tensor:
    """`sefa:K` (the K-th strongest SeFa direction, from 0) or `ganspace:K` (the K-th principal component of w, scaled
    to one standard deviation) -> a vector [latent_dim]."""
    match = re.fullmatch(r"\s*(sefa|ganspace):(\d+)\s*", str(text))
    if match is None:
        raise GanforgeError(f"--direction {text!r}: give sefa:K or ganspace:K, the K-th strongest direction (0 first)")
    kind, index = match.group(1), int(match.group(2))
    dim = latent_reading_weight(generator).shape[1]
    if index >= dim:
        raise GanforgeError(f"--direction {kind}:{index}: this generator's latent has {dim} directions "
                            f"(0..{dim - 1})")
    if kind == "ganspace":
        vectors, spread = ganspace_directions(generator, index + 1)
        return vectors[index] * spread[index]
    return sefa_directions(generator, index + 1)[index]


@torch.no_grad()
def edited(pipe: Any, latent: torch.Tensor, direction: torch.Tensor | Boundary, strengths: Sequence[float],
           generator: torch.nn.Module | None = None) -> torch.Tensor:
    """Images [len(strengths), C, R, R] in [-1, 1]: the latent moved by each strength along a unit direction (in
    W+, on every layer), or to each strength (in units of its scale) from a boundary; drawn by `generator` (PTI's
    tuned copy) or the model's own."""
    generator = generator or pipe.generator
    space = space_of(generator)
    device = next(generator.parameters()).device
    if isinstance(direction, Boundary):
        moved = move_to(latent.cpu(), direction, strengths).to(device)
    else:
        steps = torch.tensor(list(strengths), dtype=torch.float32, device=device)
        base = latent.to(device).float()[None]
        shift = direction.to(device).float()
        moved = base + steps.view(-1, *([1] * latent.ndim)) * shift  # a w+ latent's layers all move alike
    return draw(generator, moved, space).float().clamp(-1, 1).cpu()


def resolve_direction(text: str, pipe: Any, samples: int = 2000, keep: Sequence[str] = (), seed: int = 0,
                      progress: Callable[[int, int], None] | None = None, encoder: Any = None
                      ) -> torch.Tensor | Boundary:
    """`sefa:K` -> SeFa's unit vector; `skin-tone:TONE` / `category:NAME` / `gender:G` / `digit:D` -> InterFaceGAN's
    boundary (from the generator's samples, or the `encoder`'s real images), its direction made orthogonal to the
    boundaries of the `keep` attributes (conditional manipulation)."""
    if str(text).strip().startswith(("sefa:", "ganspace:")):
        if keep:
            raise GanforgeError("--keep applies to attribute directions (skin-tone:..., category:..., gender:..., "
                                "digit:...), not to SeFa's or GANSpace's")
        return parse_direction(text, generator_of(pipe, "an edit"))
    from ganforge.editing.attributes import ORDERED

    if ":" not in str(text) and str(text).strip() not in ORDERED:
        raise GanforgeError(f"--direction {text!r}: give sefa:K, ganspace:K, skin-tone (darker; negative strengths "
                            "lighter), skin-tone:TONE, category:NAME, gender:G or digit:D")
    boundary, *others = fit_boundaries(pipe, [text], samples, seed, progress, encoder, conditions=keep)
    return boundary.conditioned(others) if others else boundary
