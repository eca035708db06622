"""GAN inversion (iGAN's projection): the latent whose image is closest to a given one.

StyleGAN2 is inverted in W+ (one w per layer, from the average w, as PTI's and e4e's baselines start, or from an
encoder's guess), with the fixed noise; generators without a w space (DCGAN, R3GAN) in z, from the best of a few
random starts. The loss is pixel MSE plus the L1 between the FID Inception stem's activations (`losses.perceptual`:
no LPIPS weights can be had here). Methods:

- optimize: Adam on the latent;
- pti (pivotal tuning, Roich et al. 2022): optimise the latent (the pivot), then tune a copy of the generator around
  it so the pivot draws the image; the tuned weights travel with the latent (edits use them);
- encoder: one forward pass of an encoder trained on the generator (`ganforge train encoder`), optionally refined;
  a feature encoder's (`--model fse`) residual for one layer's features travels with the latent as PTI's weights do.

    inversion = invert(ganforge.load(run), image, steps=300, method="pti")
    inversion.reconstruction        # uint8 [R, R, C]
    save_latent(inversion, pipe, "latent.safetensors")
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError

SPACES = ("w+", "z")
METHODS = ("optimize", "pti", "encoder")
TUNED_PREFIX = "generator."  # PTI's tuned generator weights in a latent file
RESIDUAL_KEY = "feature_residual"  # a feature encoder's residual in a latent file (its resolution in the metadata)
# PTI's tuning: the paper's 3e-4 and 350 steps are for a 1024-px StyleGAN2; our small ones reach more sooner at 1e-3
# (64-px emoji, 3 held-out images: 30.3 dB after 1,000 steps against 28.5 at 3e-4; 20 images: 29.4 dB after 2,000;
# docs/benchmarks.md)
TUNE_LR = 1e-3
PERCEPTUAL_SIDE = 64  # images are compared by the Inception stem at least this large (it needs 20 px and more)


@dataclass
class Inversion:
    """A latent, the space it lives in, what the generator draws from it, and the loss along the way."""

    latent: torch.Tensor  # w+: [num_ws, w_dim]; z: [z_dim]
    space: str
    reconstruction: np.ndarray  # uint8 [R, R, C]
    losses: list[float] = field(default_factory=list)
    generator: torch.nn.Module | None = None  # PTI: the generator tuned around the latent (None: the model's own)


def space_of(generator: torch.nn.Module) -> str:
    return "w+" if hasattr(generator, "mapping") else "z"


def generator_of(pipe: Any, action: str = "inversion") -> torch.nn.Module:
    """The pipeline's generator, with one-line errors for what inversion and edits cannot take."""
    generator = getattr(pipe, "generator", None)
    if generator is None or pipe.config.get("pipeline") != "image":
        raise GanforgeError(f"{action} takes an image generator (ganforge train image: dcgan, stylegan2, r3gan)")
    if getattr(pipe, "runtime", "torch") != "torch":
        raise GanforgeError(f"{action} needs the model's gradients: load it with runtime='torch'")
    if pipe.class_names:
        raise GanforgeError(f"{action} of class-conditional generators is not supported yet; use an unconditional one")
    return generator


def draw(generator: torch.nn.Module, latent: torch.Tensor, space: str) -> torch.Tensor:
    """Images [N, C, R, R] (about [-1, 1]) from latents [N, ...] of `space`; StyleGAN2 with its fixed noise."""
    if space == "w+":
        return generator.synthesis(latent, "const")
    return generator(latent, None)


def draw_encoded(generator: torch.nn.Module, ws: torch.Tensor, residual: torch.Tensor | None, res: int) -> torch.Tensor:
    """What the generator draws from an encoder's ws and feature residual (None: the ws alone), with its fixed noise."""
    return generator.synthesis(ws, "const", feature_residual=None if residual is None else (res, residual))


class FeatureResidualGenerator(torch.nn.Module):
    """A StyleGAN2 generator whose features at one resolution carry one image's fixed residual (an encoder's): it
    draws, edits and follows strokes as the generator does, with that image's detail kept (Feature-Style Encoder)."""

    def __init__(self, generator: torch.nn.Module, res: int, residual: torch.Tensor) -> None:
        super().__init__()
        self.generator, self.res = generator, int(res)
        self.register_buffer("residual", residual.detach())  # [1, C, res, res]

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random",
                  noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        return self.generator.synthesis(ws, noise_mode, noise, feature_residual=(self.res, self.residual))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                noise_mode: str | None = None, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        mode = noise_mode or ("random" if self.training else "const")
        return self.synthesis(self.generator.map(z, labels, truncation_psi), mode, noise)

    def __getattr__(self, name: str) -> Any:  # mapping, num_ws, w_dim, ...: the generator's
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["generator"], name)


def target_tensor(image: np.ndarray, resolution: int, channels: int) -> torch.Tensor:
    """uint8 [H, W] or [H, W, C] (alpha dropped, over white) -> [1, channels, R, R] in [-1, 1], resized (bicubic)."""
    from PIL import Image

    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.dtype != np.uint8:
        raise GanforgeError(f"invert takes a uint8 image [H, W] or [H, W, C], got {array.dtype} {array.shape}")
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255
        array = np.round(array[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array[:, :, :3])
    pil = pil.convert("L" if channels == 1 else "RGB")
    if pil.size != (resolution, resolution):
        pil = pil.resize((resolution, resolution), Image.BICUBIC)
    out = np.asarray(pil, dtype=np.float32).reshape(resolution, resolution, channels)
    return torch.from_numpy(out / 127.5 - 1).permute(2, 0, 1)[None]


class ReconstructionLoss(torch.nn.Module):
    """MSE + weight * the Inception stem's L1 (both images enlarged to PERCEPTUAL_SIDE when smaller)."""

    def __init__(self, perceptual_weight: float, device: torch.device) -> None:
        super().__init__()
        self.weight = perceptual_weight
        self.perceptual = None
        if perceptual_weight > 0:
            from ganforge.losses.perceptual import InceptionPerceptualLoss

            self.perceptual = InceptionPerceptualLoss(device=device)

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = F.mse_loss(image, target)
        if self.perceptual is not None:
            loss = loss + self.weight * self.perceptual(upsized(image), upsized(target))
        return loss


def upsized(images: torch.Tensor) -> torch.Tensor:
    """Images enlarged (bilinear) to PERCEPTUAL_SIDE when smaller, for the Inception stem's perceptual term."""
    if images.shape[-1] >= PERCEPTUAL_SIDE:
        return images
    return F.interpolate(images, size=(PERCEPTUAL_SIDE, PERCEPTUAL_SIDE), mode="bilinear", align_corners=False)


def starting_latent(generator: torch.nn.Module, space: str, target: torch.Tensor, starts: int, seed: int,
                    loss_fn: ReconstructionLoss) -> torch.Tensor:
    """W+: the average w on every layer. z: of `starts` seeded draws, the one whose image is closest."""
    if space == "w+":
        w_avg = generator.mapping.w_avg.detach().float()
        return w_avg[None, None].repeat(1, generator.num_ws, 1)
    g = torch.Generator().manual_seed(seed)
    candidates = torch.randn(starts, generator.z_dim, generator=g).to(target.device)
    with torch.no_grad():
        losses = [float(loss_fn(draw(generator, z[None], space), target)) for z in candidates]
    return candidates[int(np.argmin(losses))][None]


def adam_steps(params: list[torch.Tensor], loss_of: Callable[[], torch.Tensor], steps: int, lr: float,
               ramp_down: bool = False, progress: Callable[[int, int], None] | None = None, done: int = 0,
               total: int | None = None) -> list[float]:
    """`steps` of Adam on `params` minimising loss_of(); with `ramp_down`, the learning rate falls linearly over the
    last quarter (StyleGAN2's projector). Returns the losses."""
    optimiser = torch.optim.Adam(params, lr=lr)
    losses = []
    for step in range(steps):
        if ramp_down:
            for group in optimiser.param_groups:
                group["lr"] = lr * min(1.0, (steps - step) / max(1, steps // 4))
        loss = loss_of()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(done + step + 1, total or steps)
    return losses


def optimise_latent(generator: torch.nn.Module, latent: torch.Tensor, loss_of: Callable[[torch.Tensor], torch.Tensor],
                    steps: int, lr: float, progress: Callable[[int, int], None] | None = None,
                    done: int = 0, total: int | None = None) -> tuple[torch.Tensor, list[float]]:
    """Adam on `latent` ([1, ...]) for `steps`, minimising loss_of(latent) with the generator frozen."""
    latent = latent.detach().clone().requires_grad_(True)
    generator.requires_grad_(False)
    losses = adam_steps([latent], lambda: loss_of(latent), steps, lr, True, progress, done, total)
    return latent.detach(), losses


def tune_generator(generator: torch.nn.Module, latent: torch.Tensor, space: str, target: torch.Tensor,
                   loss_fn: torch.nn.Module, steps: int, lr: float = TUNE_LR,
                   progress: Callable[[int, int], None] | None = None, done: int = 0,
                   total: int | None = None) -> tuple[torch.nn.Module, list[float]]:
    """PTI's second phase: a copy of the generator tuned (Adam) so that the fixed pivot `latent` draws `target`; the
    model's own generator is left as it was."""
    tuned = copy.deepcopy(generator).train(False)
    tuned.requires_grad_(True)
    params = [p for p in tuned.parameters() if p.is_floating_point()]
    losses = adam_steps(params, lambda: loss_fn(draw(tuned, latent, space), target), steps, lr, False, progress,
                        done, total)
    return tuned.requires_grad_(False), losses


def invert(pipe: Any, image: np.ndarray, steps: int = 300, lr: float = 0.03, perceptual_weight: float = 1.0,
           starts: int = 8, seed: int = 0, progress: Callable[[int, int], None] | None = None,
           method: str = "optimize", tune_steps: int = 2000, encoder: Any = None,
           tune_lr: float = TUNE_LR) -> Inversion:
    """The latent of `pipe`'s generator whose image is closest to `image` (any size: resized to the model's).

    method "pti" adds `tune_steps` of generator tuning after the `steps` of latent optimisation; "encoder" starts
    from `encoder`'s guess (an `EncoderPipeline`) and refines it for `steps` (0: the encoder alone)."""
    generator = generator_of(pipe)
    if method not in METHODS:
        raise GanforgeError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if steps < (0 if method == "encoder" else 1) or tune_steps < 0:
        raise GanforgeError(f"steps must be at least {0 if method == 'encoder' else 1}, got {steps} "
                            f"(tune steps {tune_steps})")
    device = next(generator.parameters()).device
    space = space_of(generator)
    target = target_tensor(image, pipe.resolution, pipe.channels).to(device)
    loss_fn = ReconstructionLoss(perceptual_weight, device)
    if method == "encoder":
        if encoder is None:
            raise GanforgeError("method 'encoder' needs an encoder: train one with `ganforge train encoder "
                                "--generator RUN` and pass it (--encoder ENCODER_RUN)")
        encoder.check_generator(pipe)
        ws, residual = encoder.encode_features(image[None] if np.asarray(image).ndim in (2, 3) else image)
        start = ws[:1].to(device)
        if residual is not None:  # the image's detail rides on the generator from here on, refinement included
            generator = FeatureResidualGenerator(generator, encoder.encoder.feature_res, residual[:1].to(device))
    else:
        start = starting_latent(generator, space, target, starts, seed, loss_fn)
    total = steps + (tune_steps if method == "pti" else 0)
    latent, losses = optimise_latent(generator, start, lambda code: loss_fn(draw(generator, code, space), target),
                                     steps, lr, progress, total=total)
    tuned = None
    if method == "pti":
        tuned, tune_losses = tune_generator(generator, latent, space, target, loss_fn, tune_steps, lr=tune_lr,
                                            progress=progress, done=steps, total=total)
        losses += tune_losses
    with torch.no_grad():
        picture = draw(tuned or generator, latent, space).float().clamp(-1, 1)
        if not losses:  # the encoder alone: one loss, for the record
            losses.append(float(loss_fn(picture, target)))
    from ganforge.imaging import tensor_to_uint8

    if tuned is None and isinstance(generator, FeatureResidualGenerator):
        tuned = generator
    return Inversion(latent[0].cpu(), space, tensor_to_uint8(picture.cpu())[0], losses, tuned)


def stroke_target(strokes: np.ndarray, resolution: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 RGBA strokes [H, W, 4] (painted where alpha > 0) -> (colours [1, C, R, R] in [-1, 1], weights
    [1, 1, R, R] in [0, 1]: alpha, resized)."""
    from PIL import Image

    array = np.asarray(strokes)
    if array.ndim != 3 or array.shape[2] != 4 or array.dtype != np.uint8:
        raise GanforgeError("strokes are an RGBA image whose painted pixels are opaque and the rest transparent, got "
                            f"{array.dtype} {array.shape}")
    alpha = Image.fromarray(array[:, :, 3]).resize((resolution, resolution), Image.BILINEAR)
    weight = torch.from_numpy(np.asarray(alpha, dtype=np.float32) / 255)[None, None]
    if float(weight.sum()) == 0:
        raise GanforgeError("the strokes image has no painted (opaque) pixel")
    opaque = np.concatenate([array[:, :, :3], np.full_like(array[:, :, 3:], 255)], axis=2)
    return target_tensor(opaque, resolution, channels), weight


def follow_strokes(pipe: Any, latent: torch.Tensor, strokes: np.ndarray, generator: torch.nn.Module | None = None,
                   steps: int = 200, lr: float = 0.02, keep_weight: float = 0.1, prior_weight: float = 0.01,
                   progress: Callable[[int, int], None] | None = None) -> Inversion:
    """iGAN's constrained projection: from `latent` (an inversion's), the latent whose image takes the strokes'
    colours where they are painted, stays close to the latent's own image elsewhere (`keep_weight`) and to the
    latent itself (`prior_weight`), so the result stays on the generator's manifold."""
    generator = generator or generator_of(pipe, "stroke editing")
    device = next(generator.parameters()).device
    space = space_of(generator)
    colours, weight = stroke_target(strokes, pipe.resolution, pipe.channels)
    colours, weight = colours.to(device), weight.to(device)
    start = latent.to(device).float()[None]
    with torch.no_grad():
        before = draw(generator, start, space).float()

    def loss_of(code: torch.Tensor) -> torch.Tensor:
        image = draw(generator, code, space).float()
        painted = (weight * (image - colours) ** 2).sum() / (weight.sum() * image.shape[1])
        rest = ((1 - weight) * (image - before) ** 2).mean()
        return painted + keep_weight * rest + prior_weight * ((code - start) ** 2).mean()

    code, losses = optimise_latent(generator, start, loss_of, steps, lr, progress)
    with torch.no_grad():
        picture = draw(generator, code, space).float().clamp(-1, 1)
    from ganforge.imaging import tensor_to_uint8

    return Inversion(code[0].cpu(), space, tensor_to_uint8(picture.cpu())[0], losses, generator)


def save_latent(inversion: Inversion, pipe: Any, path: Path, settings: dict[str, Any] | None = None) -> Path:
    """The latent as safetensors ("latent"), with its space and the model's hash in the metadata."""
    from ganforge.engine.checkpoint import replace_safetensors

    meta = {"space": inversion.space, "model_hash": pipe.model_hash, "settings": json.dumps(settings or {})}
    tensors = {"latent": inversion.latent.contiguous()}
    if isinstance(inversion.generator, FeatureResidualGenerator):  # the encoder's residual, not a whole generator
        tensors[RESIDUAL_KEY] = inversion.generator.residual.detach().cpu().contiguous()
        meta["feature_res"] = str(inversion.generator.res)
    elif inversion.generator is not None and inversion.generator is not pipe.generator:
        tensors.update({TUNED_PREFIX + k: v.detach().cpu().contiguous()
                        for k, v in inversion.generator.state_dict().items()})
    return replace_safetensors(tensors, Path(path), meta)


def load_latent(path: Path, pipe: Any) -> tuple[torch.Tensor, str, torch.nn.Module]:
    """(latent, space, generator) from `save_latent`'s file: the generator is PTI's tuned copy when the file holds
    one, the model's own with a feature encoder's residual when it holds that, else the model's own; a one-line error
    when the file belongs to another model."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"latent file {path} does not exist (make one with `ganforge invert`)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            latent = f.get_tensor("latent")
            tuned = {k[len(TUNED_PREFIX):]: f.get_tensor(k) for k in f.keys() if k.startswith(TUNED_PREFIX)}
            residual = f.get_tensor(RESIDUAL_KEY) if RESIDUAL_KEY in f.keys() else None
    except Exception as exc:
        raise GanforgeError(f"cannot read latent file {path}: {exc}") from None
    if meta.get("model_hash") not in (None, pipe.model_hash):
        raise GanforgeError(f"{path} was inverted with another model (hash {meta['model_hash'][:12]}...)")
    space = meta.get("space", "")
    if space != space_of(pipe.generator):
        raise GanforgeError(f"{path} holds a {space or '?'} latent; this model's is {space_of(pipe.generator)}")
    generator = pipe.generator
    if tuned:
        generator = copy.deepcopy(pipe.generator)
        generator.load_state_dict(tuned)
        generator.requires_grad_(False)
    if residual is not None:
        device = next(pipe.generator.parameters()).device
        generator = FeatureResidualGenerator(generator, int(meta.get("feature_res", residual.shape[-1])),
                                             residual.to(device))
    return latent, space, generator
