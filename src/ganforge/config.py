"""Declarative training configuration: every default lives here, unknown keys are errors."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
RECORDED_KEYS = ("precision_used",)  # written into a run's config.json by the trainer: what the run really used


# Defaults that depend on the network family, filled in by TrainConfig.resolved() and then written
# to config.json: DCGAN follows Radford et al.; StyleGAN2 follows StyleGAN2-ADA's small-image setup.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dcgan": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0, r1_interval=16,
                  pl_weight=0.0, z_dim=100, width=64),
    "stylegan2": dict(loss="ns", lr_g=2.5e-3, lr_d=2.5e-3, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.0,
                      r1_interval=16, pl_weight=0.0, z_dim=128, width=32),
    # R3GAN (Huang et al. 2024) applies R1 and R2 every step, in D's step (no lazy regularisation).
    "r3gan": dict(loss="rpgan", lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.05,
                  r1_interval=1, pl_weight=0.0, z_dim=64, width=32),
    # Translation (no latent: z_dim 0). pix2pix (Isola et al.): vanilla GAN + 100 * L1, Adam 2e-4 (0.5, 0.999).
    # No EMA (ema_kimg 0) for the batch-norm generators: an EMA averages weights but would copy the live BN running
    # statistics, which do not belong to the averaged weights; the pipeline then uses G itself, as the paper's code.
    "unet": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0, r1_interval=16,
                 pl_weight=0.0, z_dim=0, width=64, l1_weight=100.0, fm_weight=0.0, d_layers=3, ema_kimg=0.0,
                 residual=False, upsample="transpose", perceptual_weight=0.0),
    # SPADE (Park et al.): hinge loss, feature matching 10, its two-time-scale Adam (G 1e-4, D 4e-4, betas 0, 0.9).
    "spade": dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, r1_gamma=0.0, r2_gamma=0.0, r1_interval=16,
                  pl_weight=0.0, z_dim=0, width=64, l1_weight=0.0, fm_weight=10.0, d_layers=3, ema_kimg=0.0,
                  residual=False, perceptual_weight=0.0),
    # CycleGAN (Zhu et al.): LSGAN, cycle 10, identity 0.5 (x cycle), pool of 50 batches (the paper's 50 images at
    # batch 1), Adam 2e-4 (0.5, 0.999), decay over half.
    "resnet": dict(loss="lsgan", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0,
                   r1_interval=16, pl_weight=0.0, z_dim=0, width=64, cycle_weight=10.0, identity_weight=0.5,
                   pool_size=50, d_layers=3, lr_decay_start=0.5, residual=False, upsample="transpose"),
    # LaMa-style (Suvorov et al.): FFC ResNet G (Adam 1e-3) against a spectrally normalised PatchGAN (1e-4), hinge loss,
    # feature matching 10. LaMa itself trains non-saturating + R1 (gamma 0.001, adversarial weight 10, FM 100, a
    # batch-norm PatchGAN): hinge is our choice, not measured against it. Hole-weighted L1 (PConv's 6:1) in place of
    # LaMa's high-receptive-field perceptual loss.
    "lama": dict(loss="hinge", lr_g=1e-3, lr_d=1e-4, beta1=0.9, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0,
                 r1_interval=16, pl_weight=0.0, z_dim=0, width=32, l1_weight=10.0, hole_weight=6.0, fm_weight=10.0,
                 d_layers=3, n_blocks=4),
    # Super-resolution (BasicSR's MSRResNet / ESRGAN's RRDBNet): relativistic average GAN, L1 1e-2 + adv 5e-3 as
    # ESRGAN, plus its perceptual term (weight 1; resolved() sets it by crop size) with the FID Inception's stem in
    # place of VGG (losses/perceptual.py), Adam (0.9, 0.99).
    "srresnet": dict(loss="ragan", lr_g=2e-4, lr_d=2e-4, beta1=0.9, beta2=0.99, r1_gamma=0.0, r2_gamma=0.0,
                     r1_interval=16, pl_weight=0.0, z_dim=0, width=64, n_blocks=16, l1_weight=1e-2, adv_weight=5e-3,
                     d_layers=3),
    "rrdb": dict(loss="ragan", lr_g=2e-4, lr_d=2e-4, beta1=0.9, beta2=0.99, r1_gamma=0.0, r2_gamma=0.0,
                 r1_interval=16, pl_weight=0.0, z_dim=0, width=64, n_blocks=23, l1_weight=1e-2, adv_weight=5e-3,
                 d_layers=3),
    # Next-frame prediction (task nextframe): a SimVP-style predictor (Adam 1e-3, SimVP's rate), trained on L2
    # (--loss mse) or, as Mathieu et al., L2 + GDL (1) + 0.05 x adversarial from a 3D-conv clip discriminator (adv).
    "simvp": dict(loss="adv", lr_g=1e-3, lr_d=2e-4, beta1=0.9, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0,
                  r1_interval=16, pl_weight=0.0, z_dim=0, width=32, n_blocks=4, adv_weight=0.05, gdl_weight=1.0),
    # VGAN (Vondrick et al.): two-stream generator, 3D-conv D, vanilla GAN, Adam 2e-4 (0.5, 0.999), z 100, mask L1 0.1.
    # Width 32 is half of VGAN's (64 channels in the last hidden layer, 512 at the first): see docs/architecture.md.
    "vgan": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0, r1_interval=16,
                 pl_weight=0.0, z_dim=100, width=32, mask_weight=0.1, upsample="transpose"),
}
# Per task: the default model, the models it takes, and defaults for fields its models leave open.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "image": dict(model="dcgan", lr_decay_start=1.0, ema_kimg=10.0, batch=64),
    "pix2pix": dict(model="unet", lr_decay_start=1.0, ema_kimg=10.0, batch=64),
    "cyclegan": dict(model="resnet", lr_decay_start=0.5, ema_kimg=10.0, batch=64),
    "inpaint": dict(model="lama", lr_decay_start=1.0, ema_kimg=10.0, batch=64),
    # SRGAN and ESRGAN train on 16 crops a step: on a per-pixel loss, 16 crops give as good a step as 64 (the loss
    # after 250 steps is the same), so 64 would spend four times the images per step (docs/benchmarks.md).
    "superres": dict(model="srresnet", lr_decay_start=1.0, ema_kimg=10.0, scale=4, degradation="bicubic", batch=16),
    # Srivastava et al.'s Moving MNIST protocol: 20-frame clips, 10 observed and 10 to predict.
    "nextframe": dict(model="simvp", lr_decay_start=1.0, ema_kimg=10.0, frames=20, context_frames=10, batch=64),
    "video": dict(model="vgan", lr_decay_start=1.0, ema_kimg=10.0, frames=16, batch=64),
}
TASK_MODELS: dict[str, tuple[str, ...]] = {
    "image": ("dcgan", "stylegan2", "r3gan"),
    "pix2pix": ("unet", "spade"),
    "cyclegan": ("resnet",),
    "inpaint": ("lama",),
    "superres": ("srresnet", "rrdb"),
    "nextframe": ("simvp",),
    "video": ("vgan",),
}
TRANSLATION_TASKS = ("pix2pix", "cyclegan")
# Fields whose default depends on the task, applied when a run is started without them (api.train): the video
# tasks' moving data is made for 64 px frames (28 px digits; 32 px emoji, half the frame at 32 px and less), and the image
# data sets are no clips.
TASK_FIELD_DEFAULTS: dict[str, dict[str, Any]] = {
    "nextframe": dict(data="moving-mnist", resolution=64),
    "video": dict(data="moving-emoji", resolution=64),
}
# Tasks conditioned on input images (nextframe: observed frames): no latent, no --cond, no augmentation, no
# --eval-every during training.
IMAGE_CONDITIONED_TASKS = (*TRANSLATION_TASKS, "inpaint", "superres", "nextframe")
NEXTFRAME_LOSSES = ("mse", "adv")  # nextframe's --loss: the L2 baseline, or L2 + GDL + adversarial (Mathieu et al.)
SUPERRES_SCALES = (2, 4)
SUPERRES_DEGRADATIONS = ("bicubic", "realistic")
SUPERRES_MIN_LR = 4  # pixels: the smallest low-resolution side a superres run trains on
PERCEPTUAL_MIN_SIDE = 20  # pixels: the smallest crop the perceptual loss's Inception stem takes (losses/perceptual.py)
# Options only some tasks read: giving one to another task is an error rather than silently ignored.
TASK_OPTIONS: dict[str, tuple[str, ...]] = {
    "l1_weight": ("pix2pix", "inpaint", "superres"),
    "fm_weight": ("pix2pix", "inpaint"),
    "d_layers": ("pix2pix", "cyclegan", "inpaint", "superres"),
    "residual": ("pix2pix", "cyclegan"),
    "upsample": ("pix2pix", "cyclegan", "video"),
    "cycle_weight": ("cyclegan",),
    "identity_weight": ("cyclegan",),
    "pool_size": ("cyclegan",),
    "n_blocks": ("cyclegan", "inpaint", "superres", "nextframe"),
    "hole_weight": ("inpaint",),
    "data_b": ("cyclegan",),
    "scale": ("superres",),
    "degradation": ("superres",),
    "pretrain_kimg": ("superres", "nextframe"),
    "adv_weight": ("superres", "nextframe"),
    "perceptual_weight": ("superres", "pix2pix"),
    "init": ("superres",),
    "frames": ("nextframe", "video"),
    "context_frames": ("nextframe",),
    "gdl_weight": ("nextframe",),
    "mask_weight": ("video",),
}
# Options only the image task (unconditional/class-conditional generation) reads: latent, regularisers, ADA,
# WGAN-GP and D normalisation. A task conditioned on an input image rejects a value that would change anything
# (one equal to what it resolves to anyway, like the 0 a saved config holds for --r1-gamma, is let through so
# resolved and resumed configs validate again). --cond and --augment have their own messages below.
IMAGE_ONLY_OPTIONS = ("r1_gamma", "r2_gamma", "r1_interval", "pl_weight", "pl_interval", "z_dim", "d_norm",
                      "gp_weight", "ada_target", "ada_kimg")
# The image-task options another task reads too: video generation has a latent, superres picks its D's normalisation.
IMAGE_OPTIONS_ALSO_READ: dict[str, tuple[str, ...]] = {"video": ("z_dim",), "superres": ("d_norm",)}
# Video generation (task video) has a latent (--z-dim) but none of the image task's regularisers or augmentations.
VIDEO_GENERATION_LOSSES = ("ns", "hinge", "lsgan", "rpgan", "ragan")  # wgan-gp's penalty is written for images
DIRECTIONS = ("AtoB", "BtoA")
UPSAMPLE_MODES = ("transpose", "resize")  # a decoder's x2 step: transposed convolution (the papers) or resize-conv
ADA_AUTO_LIMIT = 30_000  # `--augment auto` picks ADA for data sets smaller than this
# Seeds: numpy's legacy seeding takes 0..2**32-1, np.random.default_rng (inpaint masks, superres pairs) no negatives,
# torch.manual_seed < 2**64: 0..2**32-1 keeps every seed derived from it in all three ranges as well, seed * 1_000_003
# + epoch (data order), seed + 7919 * (rank + 1) + step (per-process noise), seed * 2 + 2 + 1000 * rank (cyclegan pools).
SEED_MAX = 2**32 - 1
KIMG_MAX = 1e9  # kimg-counted settings (budgets, intervals) become int(kimg * 1000) images: a sane, exact bound
INT_MAX = 2**63 - 1  # what torch and numpy take for a C long: a larger integer is an OverflowError deep inside them
# Fields whose command-line flag is not `--` + the field name in kebab case (renamed ones keep their old name here:
# the CLI's as_typed() puts the name the user typed into the message).
FLAGS = {"sample_every_kimg": "--sample-every", "checkpoint_every_kimg": "--checkpoint-every",
         "keep_checkpoints": "--keep", "tick_kimg": "--tick", "eval_every_kimg": "--eval-every"}


def flag(name: str) -> str:
    """The command-line flag of a TrainConfig field, for error messages."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


FALLBACK_DEFAULTS: dict[str, Any] = MODEL_DEFAULTS["dcgan"]


@dataclass
class TrainConfig:
    """One training run. The CLI fills it, validates it, and writes it to `config.json`."""

    task: str = "image"  # what is learned: image | pix2pix | cyclegan | inpaint (registry TASKS)
    model: str | None = None  # network family (registry MODELS); None -> the task's: dcgan, unet, resnet
    data: str = "emoji"  # built-in name, prepared dataset dir, or raw folder/zip
    resolution: int = 32  # square image side in pixels
    batch: int | None = None  # global batch size (split across processes); None -> the task's: superres 16, else 64
    kimg: float | None = None  # budget: thousands of real images shown to D; None with no minutes -> 100
    minutes: float | None = None  # budget: wall-clock minutes (whichever budget ends first)
    out: str = "runs"  # parent folder of run directories
    name: str | None = None  # run directory name; None -> numbered <task>-<model>-<data>
    seed: int = 0  # seeds weights, data order and noise
    cond: bool = False  # class-conditional (needs a labelled dataset)
    loss: str | None = None  # adversarial loss: ns | hinge | lsgan | wgan-gp | rpgan (nextframe: mse | adv); None -> the
    #                          model's default
    augment: str = "auto"  # D's inputs, real and fake alike: none | diffaug | ada (auto: ada under 30k images, else none)
    ada_target: float = 0.6  # ADA: target of r_t = E[sign(D(real))]
    ada_kimg: float = 100.0  # ADA: p can go from 0 to 1 within this many kimg
    r1_gamma: float | None = None  # R1 penalty weight on real images (0 = off); None -> the model's default
    r2_gamma: float | None = None  # R2 penalty weight on generated images (0 = off); None -> the model's default
    r1_interval: int | None = None  # lazy regularisation: apply R1/R2 every N steps, scaled by N; None -> model default
    pl_weight: float | None = None  # StyleGAN2 path-length regularisation weight (0 = off, the paper: 2)
    pl_interval: int = 4  # apply the path-length penalty every N steps, scaled by N
    gp_weight: float = 10.0  # WGAN-GP gradient penalty weight
    lr_g: float | None = None  # generator Adam learning rate; None -> the model's default
    lr_d: float | None = None  # discriminator Adam learning rate; None -> the model's default
    beta1: float | None = None  # Adam beta1; None -> the model's default
    beta2: float | None = None  # Adam beta2; None -> the model's default
    z_dim: int | None = None  # latent size; None -> the model's default
    width: int | None = None  # channel width (DCGAN: ngf/ndf; StyleGAN2: channels min(64w/res, 4w)); None -> model default
    d_norm: str = "auto"  # discriminator normalisation: auto | batch | none (auto: none for wgan-gp; superres: batch)
    ema_kimg: float | None = None  # half-life of the generator EMA in kimg (0 = no EMA); None -> the model's or
    #                                task's: 0 for pix2pix's batch-norm unet and spade, else 10
    ema_rampup: float = 0.05  # EMA half-life at most this fraction of images shown so far
    tick_kimg: float = 1.0  # statistics are averaged and logged every tick
    sample_every_kimg: float = 10.0  # sample grid from fixed latents every N kimg
    checkpoint_every_kimg: float = 50.0  # checkpoint every N kimg (and at the end, Ctrl-C, SIGTERM)
    keep_checkpoints: int = 3  # keep the last K checkpoints
    grid_size: int = 64  # images in each sample grid
    eval_every_kimg: float | None = None  # FID/KID/precision/recall every N kimg (None = never)
    eval_n: int = 1000  # generated (and real) images per evaluation
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (auto: bf16 on a GPU or an AMX/AVX512-BF16 CPU if checked, else fp32)
    compile: bool = False  # torch.compile the networks (GPU; slow first steps)
    channels_last: bool = True  # NHWC memory format for conv networks
    strict: bool = False  # bad image files in a raw folder are errors rather than skipped
    # Translation (pix2pix, cyclegan); None -> the model's default in MODEL_DEFAULTS.
    direction: str = "AtoB"  # AtoB: --data's A side is the input (emoji: google -> twitter); BtoA the reverse
    data_b: str | None = None  # cyclegan: the second domain, when --data names only the first
    l1_weight: float | None = None  # pix2pix: weight of L1 to the target (unet 100, spade 0)
    fm_weight: float | None = None  # pix2pix: weight of D's feature matching (spade 10, unet 0)
    d_layers: int | None = None  # strided layers of each PatchGAN discriminator (3: 70x70 patches)
    residual: bool | None = None  # pix2pix unet, cyclegan: G predicts a change to its input, starting as the
    #                               identity (False, as the papers; needs input and output of the same channels)
    upsample: str | None = None  # pix2pix unet, cyclegan, video: G's x2 steps, transpose (the papers) or resize-conv
    cycle_weight: float | None = None  # cyclegan: weight of each direction's cycle-consistency L1 (10)
    identity_weight: float | None = None  # cyclegan: identity loss weight, times cycle_weight (0.5)
    pool_size: int | None = None  # cyclegan: batches (steps) of fakes in each history pool, pool_size x the
    #                               per-process batch images (50: the paper's 50 images at batch 1; 0 = off)
    n_blocks: int | None = None  # cyclegan: residual blocks per generator (None: 9 at >= 256 px, else 6); inpaint: FFC blocks (4)
    hole_weight: float | None = None  # inpaint: L1 weight of hole pixels relative to known ones (6, as PConv)
    lr_decay_start: float | None = None  # fraction of the --kimg budget after which learning rates fall
    #                                      linearly to 0 (1 = constant); None -> the task's: cyclegan 0.5, else 1
    # Super-resolution (superres); None -> the task's or model's default.
    scale: int | None = None  # upscaling factor, 2 or 4 (4); --resolution is the high-resolution crop side
    degradation: str | None = None  # how low-resolution inputs are made: bicubic (classic) | realistic (Real-ESRGAN-style)
    pretrain_kimg: float | None = None  # kimg of pixel-loss-only pre-training before the adversarial phase
    #                                     (superres None: half the --kimg budget; 0 with --init; needs --kimg
    #                                     or --pretrain-kimg with --minutes. nextframe None: 0)
    adv_weight: float | None = None  # weight of the adversarial loss (superres 5e-3, nextframe 0.05; 0 = pixel losses only)
    perceptual_weight: float | None = None  # superres (1), pix2pix (0): Inception-stem perceptual L1 (adversarial phase)
    #                                         (None: 1 for crops of at least PERCEPTUAL_MIN_SIDE px, else 0)
    init: str | None = None  # superres: start G from this run's (pixel-loss) generator
    # Video (nextframe, video); None -> the task's default.
    frames: int | None = None  # frames per training clip (nextframe: context + predicted)
    context_frames: int | None = None  # nextframe: observed frames the predictor is conditioned on
    gdl_weight: float | None = None  # nextframe --loss adv: weight of the image gradient difference loss (1)
    mask_weight: float | None = None  # video: weight of VGAN's L1 sparsity penalty on the foreground mask (0.1)
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific options, validated by the task

    @property
    def kimg_budget(self) -> float | None:
        """The kimg budget in force: explicit, else 100 when no time budget is given."""
        if self.kimg is None and self.minutes is None:
            return 100.0
        return self.kimg

    def resolved(self) -> TrainConfig:
        """A copy with every model- and task-dependent default filled in (MODEL_DEFAULTS, TASK_DEFAULTS)."""
        task_defaults = TASK_DEFAULTS.get(self.task, TASK_DEFAULTS["image"])
        values = self.to_dict()
        if values["model"] is None:
            values["model"] = task_defaults["model"]
        for defaults in (MODEL_DEFAULTS.get(values["model"], FALLBACK_DEFAULTS), task_defaults):
            for key, value in defaults.items():
                if values[key] is None:
                    values[key] = value
        if values["model"] == "resnet" and values["n_blocks"] is None:
            values["n_blocks"] = 9 if values["resolution"] >= 256 else 6  # the CycleGAN paper: 6 at 128 px, 9 at 256
        if values["task"] in (*IMAGE_CONDITIONED_TASKS, "video") and values["augment"] == "auto":
            values["augment"] = "none"
        if values["task"] == "superres" and values["pretrain_kimg"] is None:
            budget = TrainConfig(kimg=values["kimg"], minutes=values["minutes"]).kimg_budget
            # No budget (--minutes alone) is rejected by validate() unless there is nothing to pre-train.
            values["pretrain_kimg"] = 0.0 if values["init"] or budget is None else budget / 2
        if values["task"] == "superres" and values["perceptual_weight"] is None:
            # ESRGAN's weight 1 where the Inception stem can take the crops; off below that.
            values["perceptual_weight"] = 1.0 if values["resolution"] >= PERCEPTUAL_MIN_SIDE else 0.0
        if values["task"] == "nextframe" and values["loss"] == "mse":
            values["adv_weight"] = values["gdl_weight"] = 0.0  # the L2 baseline: config.json says so
        if values["task"] == "nextframe" and values["pretrain_kimg"] is None:
            values["pretrain_kimg"] = 0.0  # Mathieu et al. train the full objective from the first step
        return TrainConfig(**values)

    def _check_task_options(self) -> None:
        """Options the task cannot use, and models it does not take, are errors before anything is resolved."""
        for name, tasks in TASK_OPTIONS.items():
            value = getattr(self, name)
            if value is not None and value is not False and self.task not in tasks:  # a switch left off changes nothing
                flag = "--" + name.replace("_", "-")
                named = tasks[0] if len(tasks) == 1 else f"{', '.join(tasks[:-1])} and {tasks[-1]}"
                raise ConfigError(f"{flag} applies to {named}, not to task {self.task!r}")
        if self.task in IMAGE_CONDITIONED_TASKS:
            self._check_image_only_options()
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"--direction must be AtoB or BtoA, got {self.direction!r}")
        if self.upsample is not None and self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"--upsample must be {' or '.join(UPSAMPLE_MODES)}, got {self.upsample!r}")
        if self.model == "spade" and self.upsample not in (None, "transpose"):  # transpose: left as the default
            raise ConfigError("--upsample applies to --model unet: spade already upsamples by resizing")
        if self.direction != "AtoB" and self.task not in TRANSLATION_TASKS:
            raise ConfigError(f"--direction applies to {' and '.join(TRANSLATION_TASKS)}, not to task {self.task!r}")
        models = TASK_MODELS.get(self.task)
        owner = next((t for t, ms in TASK_MODELS.items() if self.model in ms), None)
        if models and self.model is not None and owner is not None and owner != self.task:
            raise ConfigError(f"--model {self.model} belongs to task {owner}; task {self.task} takes "
                              f"--model {' or '.join(models)}")
        if self.task in IMAGE_CONDITIONED_TASKS:
            if self.cond:
                raise ConfigError(f"--cond is for class-conditional image generation; {self.task} is conditioned "
                                  "on its input image instead")
            if self.augment not in ("auto", "none"):
                raise ConfigError(f"--augment {self.augment} is not supported by {self.task} (use none)")
            if self.eval_every_kimg is not None:
                raise ConfigError(f"--eval-every is not available for {self.task} yet; evaluate the run afterwards")
        if self.perceptual_weight and self.resolution < PERCEPTUAL_MIN_SIDE:
            raise ConfigError(f"--perceptual-weight needs --resolution of at least {PERCEPTUAL_MIN_SIDE} (the Inception "
                              f"stem shrinks a crop about five times), got {self.resolution}")
        if self.task == "superres":
            self._check_superres_options()
        if self.task == "nextframe":
            self._check_nextframe_options()
        if self.task == "video":
            self._check_video_options()

    def _check_image_only_options(self) -> None:
        """A task other than image reads none of the image task's options but those IMAGE_OPTIONS_ALSO_READ
        names for it: a value given for another is an error."""
        model = self.model or TASK_DEFAULTS[self.task]["model"]
        defaults = MODEL_DEFAULTS.get(model, {})
        used = IMAGE_OPTIONS_ALSO_READ.get(self.task, ())
        for name in IMAGE_ONLY_OPTIONS:
            if name in used:
                continue
            value = getattr(self, name)
            unset = defaults.get(name, field_default(name))  # what the task resolves it to when not given
            if value is not None and value != unset:
                readers = ["image generation (task image)",
                           *(t for t, names in IMAGE_OPTIONS_ALSO_READ.items() if name in names)]
                raise ConfigError(f"--{name.replace('_', '-')} applies to {' and '.join(readers)}; "
                                  f"{self.task} does not use it")

    def _check_superres_options(self) -> None:
        if self.cond:
            raise ConfigError("--cond is for class-conditional image generation; superres is conditioned on its input")
        if self.augment not in ("auto", "none"):
            raise ConfigError(f"--augment {self.augment} is not supported by superres (use none)")
        if self.eval_every_kimg is not None:
            raise ConfigError("--eval-every is not available for superres yet; run `ganforge eval RUN` afterwards")
        if self.scale is not None and self.scale not in SUPERRES_SCALES:
            raise ConfigError(f"--scale must be 2 or 4, got {self.scale}")
        if self.degradation is not None and self.degradation not in SUPERRES_DEGRADATIONS:
            raise ConfigError(f"--degradation must be {' or '.join(SUPERRES_DEGRADATIONS)}, got {self.degradation!r}")
        if self.minutes is not None and self.kimg is None and self.pretrain_kimg is None and not self.init \
                and self.adv_weight != 0:
            raise ConfigError(
                "superres pre-trains on L1 for half of the --kimg budget, and --minutes alone gives no kimg to halve: "
                "give --kimg (with or without --minutes) or --pretrain-kimg"
            )
        scale = self.scale or TASK_DEFAULTS["superres"]["scale"]
        if self.resolution % scale or self.resolution // scale < SUPERRES_MIN_LR:
            raise ConfigError(
                f"--resolution {self.resolution} is the high-resolution crop side: it must be a multiple of --scale "
                f"{scale} and give low-resolution inputs of at least {SUPERRES_MIN_LR} px (e.g. --resolution "
                f"{scale * 16} for {scale * 16 // scale} -> {scale * 16})"
            )

    def _check_nextframe_options(self) -> None:
        if self.loss is not None and self.loss not in NEXTFRAME_LOSSES:
            raise ConfigError(f"nextframe takes --loss mse (the L2 baseline) or adv (L2 + gradient difference + "
                              f"adversarial), got {self.loss!r}")
        if self.loss == "mse":
            for name in ("adv_weight", "gdl_weight", "pretrain_kimg"):
                if getattr(self, name):
                    raise ConfigError(f"--{name.replace('_', '-')} applies to --loss adv; --loss mse trains on L2 alone")
        frames = self.frames if self.frames is not None else TASK_DEFAULTS["nextframe"]["frames"]
        context = self.context_frames if self.context_frames is not None else TASK_DEFAULTS["nextframe"]["context_frames"]
        if context < 1 or frames <= context:
            raise ConfigError(f"--frames {frames} must exceed --context-frames {context} (>= 1): each training clip "
                              "holds the observed frames followed by the frames to predict")
        if self.resolution % 4 or self.resolution < 8:
            raise ConfigError(f"nextframe needs --resolution a multiple of 4 and at least 8 (the predictor halves "
                              f"frames twice), got {self.resolution}")

    def _check_video_options(self) -> None:
        """Video generation: unconditional, no augmentation, no image regularisers, a loss without an image penalty."""
        self._check_image_only_options()
        if self.cond:
            raise ConfigError("--cond is for class-conditional image generation; video generation is unconditional")
        if self.augment not in ("auto", "none"):
            raise ConfigError(f"--augment {self.augment} is not supported by video (its augmentations are for "
                              "images; use none)")
        if self.eval_every_kimg is not None:
            raise ConfigError("--eval-every is not available for video yet; run `ganforge eval RUN` afterwards")
        if self.loss is not None and self.loss not in VIDEO_GENERATION_LOSSES:
            raise ConfigError(f"--loss {self.loss} is not supported by video (its gradient penalty is written for "
                              f"images); use one of {', '.join(VIDEO_GENERATION_LOSSES)}")
        if self.frames is not None and self.frames < 2:
            raise ConfigError(f"--frames must be at least 2 for video generation (one frame has no motion), "
                              f"got {self.frames}")

    def _check_numbers(self) -> None:
        """Every number finite and in the range the code that reads it takes (seeds, kimg counts, C longs): an
        `inf` or a 20-digit seed is a one-line error here, not an OverflowError once training has started."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= SEED_MAX:
            raise ConfigError(f"--seed must be an integer in 0..{SEED_MAX} (2**32 - 1, the range numpy's seeds take), "
                              f"got {self.seed!r}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{flag(f.name)} must be a finite number, got {value}")
            if "kimg" in f.name and abs(value) > KIMG_MAX:
                raise ConfigError(f"{flag(f.name)} must be at most {KIMG_MAX:g} kimg, got {value:g}")
            if isinstance(value, int) and abs(value) > INT_MAX:
                raise ConfigError(f"{flag(f.name)} is too large ({value}); it must be below 2**63")

    def validate(self) -> TrainConfig:
        """Reject impossible values before any work starts; returns the resolved config."""
        self._check_numbers()
        self._check_task_options()
        self = self.resolved()
        checks: list[tuple[bool, str]] = [
            (self.resolution >= 4, f"--resolution must be at least 4, got {self.resolution}"),
            (self.batch >= 1, f"--batch must be positive, got {self.batch}"),
            (self.kimg is None or self.kimg > 0, f"--kimg must be positive, got {self.kimg}"),
            (self.minutes is None or self.minutes > 0, f"--minutes must be positive, got {self.minutes}"),
            (self.r1_gamma >= 0, f"--r1-gamma must be >= 0, got {self.r1_gamma}"),
            (self.r2_gamma >= 0, f"--r2-gamma must be >= 0, got {self.r2_gamma}"),
            (self.r1_interval >= 1, f"--r1-interval must be >= 1, got {self.r1_interval}"),
            (self.pl_weight >= 0, f"--pl-weight must be >= 0, got {self.pl_weight}"),
            (self.pl_interval >= 1, f"--pl-interval must be >= 1, got {self.pl_interval}"),
            (0 < self.ada_target < 1, f"--ada-target must lie in (0, 1), got {self.ada_target}"),
            (self.ada_kimg > 0, f"--ada-kimg must be positive, got {self.ada_kimg}"),
            (self.lr_g > 0 and self.lr_d > 0, "learning rates must be positive"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must lie in [0, 1)"),
            (self.z_dim >= 1 or self.task in IMAGE_CONDITIONED_TASKS, f"--z-dim must be positive, got {self.z_dim}"),
            (self.width >= 1, f"--width must be positive, got {self.width}"),
            (self.d_norm in ("auto", "batch", "none"), f"--d-norm must be auto, batch or none, got {self.d_norm!r}"),
            (self.ema_kimg >= 0, f"--ema-kimg must be >= 0, got {self.ema_kimg}"),
            (self.tick_kimg > 0, f"--tick must be positive, got {self.tick_kimg}"),
            (self.sample_every_kimg > 0, f"--sample-every must be positive, got {self.sample_every_kimg}"),
            (self.checkpoint_every_kimg > 0, f"--checkpoint-every must be positive, got {self.checkpoint_every_kimg}"),
            (self.keep_checkpoints >= 1, f"--keep must be at least 1, got {self.keep_checkpoints}"),
            (self.grid_size >= 1, f"--grid-size must be positive, got {self.grid_size}"),
            (self.eval_every_kimg is None or self.eval_every_kimg > 0,
             f"--eval-every must be positive, got {self.eval_every_kimg}"),
            (self.eval_n >= 4, f"--eval-n must be at least 4, got {self.eval_n}"),
            (self.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"),
        ]
        checks += self._translation_checks()
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.lr_decay_start < 1 and self.kimg_budget is None:
            default = f" ({self.task}'s default)" if self.lr_decay_start == TASK_DEFAULTS.get(self.task, {}).get(
                "lr_decay_start") else ""
            raise ConfigError(
                f"--lr-decay-start {self.lr_decay_start:g}{default} decays learning rates over the --kimg budget, and "
                "--minutes alone gives none: give --kimg (with or without --minutes) or --lr-decay-start 1"
            )
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ConfigError("--loss wgan-gp needs a discriminator without batch norm: use --d-norm none")
        return self

    def _translation_checks(self) -> list[tuple[bool, str]]:
        def nonneg(name: str) -> tuple[bool, str]:
            value = getattr(self, name)
            return value is None or value >= 0, f"--{name.replace('_', '-')} must be >= 0, got {value}"

        return [
            *(nonneg(n) for n in ("l1_weight", "fm_weight", "cycle_weight", "identity_weight", "pool_size",
                                  "pretrain_kimg", "adv_weight", "perceptual_weight", "gdl_weight",
                                  "mask_weight")),
            (self.d_layers is None or 1 <= self.d_layers <= 8, f"--d-layers must lie in 1..8, got {self.d_layers}"),
            (self.n_blocks is None or self.n_blocks >= 0, f"--n-blocks must be >= 0, got {self.n_blocks}"),
            (self.hole_weight is None or self.hole_weight > 0, f"--hole-weight must be positive, got {self.hole_weight}"),
            (0 <= self.lr_decay_start <= 1, f"--lr-decay-start must lie in [0, 1], got {self.lr_decay_start}"),
        ]

    def for_dataset(self, count: int) -> TrainConfig:
        """A copy with data-dependent defaults filled in: `--augment auto` becomes ada under 30k images."""
        if self.augment != "auto":
            return self
        return dataclasses.replace(self, augment="ada" if count < ADA_AUTO_LIMIT else "none")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys are an error that names them (facts a run records beside its settings in
        config.json, RECORDED_KEYS, are not settings and are left out)."""
        values = {k: v for k, v in values.items() if k not in RECORDED_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        return cls(**values)

    def save(self, path: Path) -> None:
        from ganforge.engine.atomic import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        return cls.from_dict(values)


def field_default(name: str) -> Any:
    """The default of one TrainConfig field, for help texts."""
    for f in dataclasses.fields(TrainConfig):
        if f.name == name:
            return f.default
    raise KeyError(name)
