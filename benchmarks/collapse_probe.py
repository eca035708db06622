"""Mode-collapse probes (issue 27): a short mnist run of a StyleGAN2 or R3GAN variant, read by digit coverage.

Each variant changes a few settings of the stock model: training options (augmentation, R1, EMA, learning rates,
batch) and, through a model registered here for the run only, StyleGAN2's network options the CLI does not offer
(minibatch-std group, mapping depth), as the candidates from StyleGAN2-ADA's CIFAR configuration. The run is then
labelled by `digit_coverage.py`'s classifier (EMA G and raw G), as in docs/benchmarks.md's 20-kimg probes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/collapse_probe.py VARIANT [--kimg 20] [--width 16] [--out DIR]

Prints one JSON line: the variant, its settings, images/s, and the coverage of both generators.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

import ganforge
from ganforge.registry import MODELS
from ganforge.tasks.image.config import ImageOptions

HERE = Path(__file__).resolve().parent
VARIANTS: dict[str, dict[str, Any]] = {
    "sg2": dict(model="stylegan2"),
    "sg2-diffaug": dict(model="stylegan2", augment="diffaug"),
    "sg2-ada": dict(model="stylegan2", augment="ada"),
    "sg2-mbstd32": dict(model="stylegan2", net=dict(mbstd_group=32)),
    # StyleGAN2-ADA's cifar config: mbstd group 32, mapping depth 2, gamma 0.01, EMA 500 kimg (ramp-up 0.05).
    "sg2-cifar": dict(model="stylegan2", r1_gamma=0.01, ema_kimg=500.0, net=dict(mbstd_group=32, mapping_layers=2)),
    "sg2-cifar-diffaug": dict(model="stylegan2", augment="diffaug", r1_gamma=0.01, ema_kimg=500.0,
                              net=dict(mbstd_group=32, mapping_layers=2)),
    # Stronger R1 (Mescheder et al.: the regulariser is what makes the game converge), lazy or every step.
    "sg2-g1": dict(model="stylegan2", r1_gamma=1.0),
    "sg2-g10": dict(model="stylegan2", r1_gamma=10.0),
    "sg2-g1-every": dict(model="stylegan2", r1_gamma=1.0, r1_interval=1),
    "r3gan-g1": dict(model="r3gan", r1_gamma=1.0, r2_gamma=1.0),
    # Two time-scales: G ten times slower than D (the one change that helped in the first probes), with stronger R1.
    "sg2-ttur": dict(model="stylegan2", lr_g=2.5e-4),
    "sg2-ttur-g1": dict(model="stylegan2", lr_g=2.5e-4, r1_gamma=1.0),
    "sg2-slow": dict(model="stylegan2", lr_g=2.5e-4, lr_d=2.5e-4),
    # R3GAN's own presets (its train.py): Adam beta2 0.9 at the start, gamma 0.05 (CIFAR) to 2 (FFHQ-64).
    "r3gan-b09": dict(model="r3gan", beta2=0.9),
    # Style mixing off: StyleGAN2-ADA's cifar config also sets style_mixing_prob = 0 (and pl_weight 0, D 'orig'),
    # which sg2-cifar above left at 0.9. Alone, and with the rest of that config (D stays resnet here).
    "sg2-nomix": dict(model="stylegan2", net=dict(mixing_prob=0.0)),
    "sg2-cifar-nomix": dict(model="stylegan2", r1_gamma=0.01, ema_kimg=500.0,
                            net=dict(mbstd_group=32, mapping_layers=2, mixing_prob=0.0)),
    "sg2-ttur-nomix": dict(model="stylegan2", lr_g=2.5e-4, net=dict(mixing_prob=0.0)),
    # A wider gap between the time-scales: G 25 times slower than D (sg2-ttur's 10 went from one digit to four).
    "sg2-ttur25": dict(model="stylegan2", lr_g=1e-4),
    # Adam's second moment on a ten-step horizon (R3GAN's start value) for StyleGAN2, alone and with two time-scales.
    "sg2-b09": dict(model="stylegan2", beta2=0.9),
    "sg2-ttur-b09": dict(model="stylegan2", lr_g=2.5e-4, beta2=0.9),
    "r3gan-b09-g05": dict(model="r3gan", beta2=0.9, r1_gamma=0.5, r2_gamma=0.5),
    # PacGAN (Lin et al. 2018): D judges two samples at once, stacked on the channels, so a generator that draws one
    # mode gives itself away by the pair's sameness; alone and with two time-scales.
    "sg2-pac2": dict(model="stylegan2", net=dict(pack=2)),
    "sg2-ttur-pac2": dict(model="stylegan2", lr_g=2.5e-4, net=dict(pack=2)),
    "sg2-pac4": dict(model="stylegan2", net=dict(pack=4)),
    # PacGAN's remaining knobs (seventh probe set, 2026-12-07): a larger pack, pack 4 with two time-scales, with a
    # larger batch (32 packs a step), and with DiffAugment.
    "sg2-pac8": dict(model="stylegan2", net=dict(pack=8)),
    "sg2-ttur-pac4": dict(model="stylegan2", lr_g=2.5e-4, net=dict(pack=4)),
    "sg2-pac4-b128": dict(model="stylegan2", batch=128, net=dict(pack=4)),
    "sg2-pac4-diffaug": dict(model="stylegan2", augment="diffaug", net=dict(pack=4)),
    # Mode seeking (Mao et al. 2019, MSGAN): G's loss gains weight / (|G(z1) - G(z2)| / |z1 - z2|) over pairs of the
    # batch, so two latents drawing the same image cost G directly (patched into the image task for the run).
    "sg2-ms1": dict(model="stylegan2", diversity=1.0),
    "sg2-ms1-pac4": dict(model="stylegan2", diversity=1.0, net=dict(pack=4)),
    "sg2-ms01": dict(model="stylegan2", diversity=0.1),
    "sg2-ms3-pac4": dict(model="stylegan2", diversity=3.0, net=dict(pack=4)),
    "sg2-ms1-pac8": dict(model="stylegan2", diversity=1.0, net=dict(pack=8)),
    # The synthesis network's 4x4 input drawn from w by a linear map (as DCGAN's from z) instead of a learned constant:
    # the layout then follows the latent directly, where the constant leaves it to the styles' channel weights.
    "sg2-winput": dict(model="stylegan2", net=dict(w_input=True)),
    "sg2-winput-pac4": dict(model="stylegan2", net=dict(w_input=True, pack=4)),
    # what DCGAN's generator has and StyleGAN2's lacks: no demodulation (a style's scale reaches the output), and
    # batch normalisation after each modulated convolution (samples of a batch normalised together)
    "sg2-nodemod": dict(model="stylegan2", g_patch="nodemod"),
    "sg2-gbn": dict(model="stylegan2", g_patch="batchnorm"),
    "sg2-gbn-pac4": dict(model="stylegan2", g_patch="batchnorm", net=dict(pack=4)),
    # Experience replay (Shrivastava et al. 2017; CycleGAN's image pool): D is shown a history of `replay` steps, so it
    # keeps rejecting the digits G drew a while ago and G cannot hop back to one D has forgotten (the mode hopping of
    # the long two-time-scale run). Whole batches are swapped (about every other step D's fakes are one stored step's
    # batch), so the minibatch-std groups and the packs always hold samples of one step. The pool passes batches
    # through until it holds `replay` of them (3.2 kimg for 50, 12.8 for 200): run replay200 well past 20 kimg.
    "sg2-replay50": dict(model="stylegan2", replay=50),
    "sg2-replay50-pac4": dict(model="stylegan2", replay=50, net=dict(pack=4)),
    "sg2-replay200": dict(model="stylegan2", replay=200),
    "r3gan": dict(model="r3gan"),
    "r3gan-pac4": dict(model="r3gan", net=dict(pack=4, base="r3gan")),
    "r3gan-b09-pac4": dict(model="r3gan", beta2=0.9, net=dict(pack=4, base="r3gan")),
    "r3gan-diffaug": dict(model="r3gan", augment="diffaug"),
    "dcgan": dict(model="dcgan"),
}


class PackedDiscriminator(torch.nn.Module):
    """PacGAN's D: `pack` consecutive samples of a batch stacked on the channels and judged as one."""

    def __init__(self, D: torch.nn.Module, pack: int) -> None:
        super().__init__()
        self.D, self.pack = D, pack

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        return self.D(x.reshape(b // self.pack, c * self.pack, h, w), None if labels is None else labels[::self.pack])


class WInputGenerator:
    """Mixin for StyleGAN2's generator: the 4x4 input is a linear map of the first style's w, not a constant."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ganforge.nets.stylegan2 import EqualLinear

        super().__init__(*args, **kwargs)
        c4 = self.const.shape[0]
        del self.const
        self.w_to_input = EqualLinear(self.w_dim, c4 * 16)

    def synthesis_input(self, ws):
        return self.w_to_input(ws[:, 0]).reshape(ws.shape[0], -1, 4, 4)


def w_input_generator() -> type:
    """StyleGAN2's generator with WInputGenerator's input, registered as a network so its samples load."""
    from ganforge.nets.stylegan2 import StyleGAN2Generator
    from ganforge.registry import NETWORKS

    name = "probe.w-input-generator"
    if name not in NETWORKS.names():
        NETWORKS.register(name)(type("WInputStyleGAN2Generator", (WInputGenerator, StyleGAN2Generator), {}))
    return NETWORKS.get(name)


def register_variant(name: str, net: dict[str, Any]) -> str:
    """A StyleGAN2 whose networks take `net`'s keyword arguments, registered as a model for this process."""
    from ganforge.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
    from ganforge.tasks.image.task import NetworkPair

    model = f"probe-{name}"
    ImageOptions.MODELS[model] = dict(ImageOptions.MODELS["stylegan2"])
    g_extra = {k: v for k, v in net.items() if k in ("mapping_layers", "mixing_prob")}
    d_extra = {k: v for k, v in net.items() if k in ("mbstd_group",)}

    @MODELS.register(model)
    def build(config, data):  # as build_stylegan2, with the variant's network options
        num_classes = data.num_classes if config.cond else 0
        sizes = dict(channel_base=64 * config.width, channel_max=4 * config.width)
        g_kwargs = dict(resolution=config.resolution, channels=data.channels, z_dim=config.z_dim,
                        w_dim=config.z_dim, num_classes=num_classes, mapping_layers=4, mixing_prob=0.9, **sizes)
        g_kwargs.update(g_extra)
        G = (w_input_generator() if net.get("w_input") else StyleGAN2Generator)(**g_kwargs)
        pack = net.get("pack", 1)
        D = StyleGAN2Discriminator(resolution=config.resolution, channels=data.channels * pack,
                                   num_classes=num_classes, **sizes, **d_extra)
        if pack > 1:
            D = PackedDiscriminator(D, pack)
        g_class = "probe.w-input-generator" if net.get("w_input") else "stylegan2.generator"
        return NetworkPair(G=G, D=D, z_dim=config.z_dim,
                           generator_spec={"class": g_class, "kwargs": g_kwargs, "network": "G"})

    return model


def register_packed(name: str, base: str, pack: int) -> str:
    """Model `base` (r3gan, ...) with its stock networks, D built for `pack` x the channels and packed."""
    import dataclasses

    from ganforge.tasks.image.task import NetworkPair

    model = f"probe-{name}"
    ImageOptions.MODELS[model] = dict(ImageOptions.MODELS[base])
    builder = MODELS.get(base)

    @MODELS.register(model)
    def build(config, data):
        pair = builder(config, data)
        packed = builder(config, dataclasses.replace(data, channels=data.channels * pack))
        return NetworkPair(G=pair.G, D=PackedDiscriminator(packed.D, pack), z_dim=pair.z_dim,
                           generator_spec=pair.generator_spec)

    return model


def patch_style_conv(kind: str) -> None:
    """StyleGAN2's modulated convolutions for this process: `nodemod` leaves the weights undemodulated; `batchnorm`
    normalises each output channel over the batch and the pixels (batch statistics, in sampling too) before the
    noise and bias, as DCGAN's generator does."""
    import torch.nn.functional as F

    from ganforge.nets import stylegan2 as sg2

    def forward(self, x, w, noise_mode="random", noise=None):
        if self.up:
            x = sg2.upsample2(x)
        x = sg2.modulated_conv2d(x, self.weight * self.scale, self.affine(w), demodulate=kind != "nodemod")
        if kind == "batchnorm":
            x = F.batch_norm(x.float(), None, None, training=True).to(x.dtype)
        return self.noise_bias_activation(x, noise_mode, noise)

    sg2.StyleConv.forward = forward


def patch_mode_seeking(weight: float) -> None:
    """MSGAN's term in the image task's G loss: the batch's halves are pairs; the latents are kept on the context."""
    from ganforge.tasks.image.task import ImageTask

    g_main = ImageTask._g_main

    def _generate(self, ctx):
        ctx.z = self._latents(ctx.real.shape[0])
        ctx.fake = self.G(ctx.z, ctx.fake_labels)

    def _g_main(self, ctx):
        loss, stats = g_main(self, ctx)
        half = ctx.fake.shape[0] // 2
        image_gap = (ctx.fake[:half] - ctx.fake[half:2 * half]).float().abs().flatten(1).mean(1)
        z_gap = (ctx.z[:half] - ctx.z[half:2 * half]).abs().mean(1)
        ms = (1.0 / (image_gap / z_gap + 1e-5)).mean()
        return loss + weight * ms, {**stats, "Loss/G/ms": ms.detach()}

    ImageTask._generate, ImageTask._g_main = _generate, _g_main


def patch_replay(steps: int) -> None:
    """D's fakes pass through CycleGAN's image pool holding `steps` whole batches (one pool entry a batch, so every
    minibatch-std group and pack holds one step's samples); not checkpointed, as a probe runs in one go."""
    from ganforge.tasks.cyclegan.image_pool import ImagePool
    from ganforge.tasks.image.task import ImageTask

    d_main = ImageTask._d_main

    def _d_main(self, ctx):
        cfg = self.config
        assert not (cfg.r2_gamma or cfg.cond or self.loss.needs_gradient_penalty or self.loss.relativistic), "replay: R2, a gradient " \
            "penalty, labels or pairing would mix pooled and fresh fakes"
        if not hasattr(self, "replay_pool"):
            self.replay_pool = ImagePool(steps, seed=cfg.seed)
        fake = ctx.fake
        n, c, h, w = fake.shape
        ctx.fake = self.replay_pool.query(fake.reshape(1, n * c, h, w)).reshape(n, c, h, w)
        try:
            return d_main(self, ctx)
        finally:
            ctx.fake = fake  # G's phase trains on the newest fakes

    ImageTask._d_main = _d_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--kimg", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=2000, help="samples labelled per generator")
    parser.add_argument("--out", default="/tmp/collapse-probes")
    parser.add_argument("--checkpoint-every", type=float, default=None, help="kimg between checkpoints (default: "
                        "only the last); label each with digit_coverage.py afterwards")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    args = parser.parse_args()
    settings = dict(VARIANTS[args.variant])
    net = settings.pop("net", None)
    diversity = settings.pop("diversity", 0.0)
    g_patch = settings.pop("g_patch", None)
    replay = settings.pop("replay", 0)
    if replay:
        patch_replay(replay)
    if g_patch:
        patch_style_conv(g_patch)
    if diversity:
        patch_mode_seeking(diversity)
    if net and "base" in net:
        settings["model"] = register_packed(args.variant, net["base"], net["pack"])
    elif net:
        settings["model"] = register_variant(args.variant, net)
    settings.setdefault("augment", "none")
    name = f"{args.variant}-w{args.width}-{args.kimg:g}k-s{args.seed}"
    started = time.perf_counter()
    result = ganforge.train(task="image", data="mnist", resolution=32, width=args.width, seed=args.seed,
                            kimg=args.kimg, sample_every_kimg=5.0,
                            checkpoint_every_kimg=args.checkpoint_every or args.kimg, minutes=args.minutes,
                            out=args.out, name=name, precision="fp32", **settings)
    seconds = time.perf_counter() - started
    sys.path.insert(0, str(HERE))
    from digit_coverage import coverage, generated, real_digits, trained_classifier
    from report import machine

    images, labels = real_digits()
    net_cls, accuracy = trained_classifier(images, labels)
    rows = {}
    for which in ("G_ema", "G"):
        fake, _ = generated(result.run_dir, args.n, which)
        with torch.no_grad():
            rows[which] = coverage(net_cls, fake)
    print(json.dumps({"variant": args.variant, "settings": {**settings, **({"net": net} if net else {}),
                                                               **({"diversity": diversity} if diversity else {}),
                                                               **({"g_patch": g_patch} if g_patch else {}),
                                                               **({"replay": replay, "replay_unit": "batch"}
                                                                  if replay else {})},
                      "width": args.width, "kimg": result.kimg, "seed": args.seed, "train_sec": round(seconds, 1),
                      "images_per_sec": result.images_per_sec, "classifier_accuracy": accuracy,
                      "coverage": rows, "run": str(result.run_dir), "machine": machine()}), flush=True)


if __name__ == "__main__":
    main()
