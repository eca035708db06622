"""Declarative training configuration: every default lives here, unknown keys are errors."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


# Defaults that depend on the network family, filled in by TrainConfig.resolved() and then written
# to config.json: DCGAN follows Radford et al.; StyleGAN2 follows StyleGAN2-ADA's small-image setup.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dcgan": dict(loss="ns", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, r1_gamma=0.0, r2_gamma=0.0, r1_interval=16,
                  pl_weight=0.0, z_dim=100, width=64),
    "stylegan2": dict(loss="ns", lr_g=2.5e-3, lr_d=2.5e-3, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.0,
                      r1_interval=16, pl_weight=0.0, z_dim=128, width=16),
    "r3gan": dict(loss="rpgan", lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99, r1_gamma=0.05, r2_gamma=0.05,
                  r1_interval=16, pl_weight=0.0, z_dim=64, width=32),
}
ADA_AUTO_LIMIT = 30_000  # `--augment auto` picks ADA for data sets smaller than this

FALLBACK_DEFAULTS: dict[str, Any] = MODEL_DEFAULTS["dcgan"]


@dataclass
class TrainConfig:
    """One training run. The CLI fills it, validates it, and writes it to `config.json`."""

    task: str = "image"  # what is learned: image | ... (registry TASKS)
    model: str = "dcgan"  # network family for the task (registry MODELS)
    data: str = "emoji"  # built-in name, prepared dataset dir, or raw folder/zip
    resolution: int = 32  # square image side in pixels
    batch: int = 64  # global batch size (split across processes)
    kimg: float | None = None  # budget: thousands of real images shown to D; None with no minutes -> 100
    minutes: float | None = None  # budget: wall-clock minutes (whichever budget ends first)
    out: str = "runs"  # parent folder of run directories
    name: str | None = None  # run directory name; None -> numbered <task>-<model>-<data>
    seed: int = 0  # seeds weights, data order and noise
    cond: bool = False  # class-conditional (needs a labelled dataset)
    loss: str | None = None  # adversarial loss: ns | hinge | lsgan | wgan-gp | rpgan; None -> the model's default
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
    d_norm: str = "auto"  # discriminator normalisation: auto | batch | none (auto: none for wgan-gp)
    ema_kimg: float = 10.0  # half-life of the generator EMA in kimg (0 = no EMA)
    ema_rampup: float = 0.05  # EMA half-life at most this fraction of images shown so far
    tick_kimg: float = 1.0  # statistics are averaged and logged every tick
    sample_every_kimg: float = 10.0  # sample grid from fixed latents every N kimg
    checkpoint_every_kimg: float = 50.0  # checkpoint every N kimg (and at the end, Ctrl-C, SIGTERM)
    keep_checkpoints: int = 3  # keep the last K checkpoints
    grid_size: int = 64  # images in each sample grid
    eval_every_kimg: float | None = None  # FID/KID/precision/recall every N kimg (None = never)
    eval_n: int = 1000  # generated (and real) images per evaluation
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (auto: bf16 on a GPU or an AMX/AVX512-BF16 CPU, else fp32)
    compile: bool = False  # torch.compile the networks (GPU; slow first steps)
    channels_last: bool = True  # NHWC memory format for conv networks
    strict: bool = False  # bad image files in a raw folder are errors rather than skipped
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific options, validated by the task

    @property
    def kimg_budget(self) -> float | None:
        """The kimg budget in force: explicit, else 100 when no time budget is given."""
        if self.kimg is None and self.minutes is None:
            return 100.0
        return self.kimg

    def resolved(self) -> TrainConfig:
        """A copy with every model-dependent default filled in from MODEL_DEFAULTS."""
        defaults = MODEL_DEFAULTS.get(self.model, FALLBACK_DEFAULTS)
        values = self.to_dict()
        for key, value in defaults.items():
            if values[key] is None:
                values[key] = value
        return TrainConfig(**values)

    def validate(self) -> TrainConfig:
        """Reject impossible values before any work starts; returns the resolved config."""
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
            (self.z_dim >= 1, f"--z-dim must be positive, got {self.z_dim}"),
            (self.width >= 1, f"--width must be positive, got {self.width}"),
            (self.d_norm in ("auto", "batch", "none"), f"--d-norm must be auto, batch or none, got {self.d_norm!r}"),
            (self.ema_kimg >= 0, f"--ema-kimg must be >= 0, got {self.ema_kimg}"),
            (self.tick_kimg > 0, f"--tick-kimg must be positive, got {self.tick_kimg}"),
            (self.sample_every_kimg > 0, f"--sample-every must be positive, got {self.sample_every_kimg}"),
            (self.checkpoint_every_kimg > 0, f"--checkpoint-every must be positive, got {self.checkpoint_every_kimg}"),
            (self.keep_checkpoints >= 1, f"--keep must be at least 1, got {self.keep_checkpoints}"),
            (self.grid_size >= 1, f"--grid-size must be positive, got {self.grid_size}"),
            (self.eval_every_kimg is None or self.eval_every_kimg > 0,
             f"--eval-every must be positive, got {self.eval_every_kimg}"),
            (self.eval_n >= 4, f"--eval-n must be at least 4, got {self.eval_n}"),
            (self.precision in PRECISIONS, f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ConfigError("--loss wgan-gp needs a discriminator without batch norm: use --d-norm none")
        return self

    def for_dataset(self, count: int) -> TrainConfig:
        """A copy with data-dependent defaults filled in: `--augment auto` becomes ada under 30k images."""
        if self.augment != "auto":
            return self
        return dataclasses.replace(self, augment="ada" if count < ADA_AUTO_LIMIT else "none")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys are an error that names them."""
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
