"""The one training loop for every task.

It counts images shown (kimg), owns devices and processes (Accelerate), precision, the generator
EMA, ticks of statistics, sample grids, checkpoints, budgets, signals and callbacks. Tasks own only
their networks, losses and step.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator  # noqa: F401  (type of the accelerator argument)

from ganforge import __version__
from ganforge.config import TrainConfig, budget
from ganforge.engine.checkpoint import checkpoint_name, load_checkpoint, save_checkpoint
from ganforge.engine.ema import EMA, batch_norms, recompute_batch_norm
from ganforge.engine.precision import (
    PRECISION_ENV,
    PROBE_TOLERANCE,
    PrecisionPolicy,
    compare_step_gradients,
    forced_precision,
)
from ganforge.engine.runtime import Runtime, all_finite, make_accelerator
from ganforge.engine.stats import Stats, truncate_metrics
from ganforge.errors import CheckpointError, TrainingError
from ganforge.imaging import make_grid, save_image, tensor_to_uint8
from ganforge.tasks.base import DataInfo, Task, TrainData, batch_positions
from ganforge.tasks.spec import task_spec

GRID_SEED = 123456789  # fixed latents for sample grids, identical across resumes
STANDING_SEED = 987654321  # fixed inputs for the EMA generator's standing batch-norm statistics
STANDING_BATCHES = 8  # batches of the training batch size (at most 64) those statistics average over
CLIP_ROWS = 8  # clips shown in reals.png of a video task, one row of frames each
STOP_POLL_STEPS = 10  # with several processes, stop requests are agreed on every this many steps


@dataclass
class Progress:
    """What callbacks and progress bars see at each tick."""

    kimg: float
    total_kimg: float | None
    images_per_sec: float
    elapsed_sec: float
    eta_sec: float | None
    losses: dict[str, float]
    step: int


@dataclass
class TrainResult:
    """How a run ended and where its outputs are."""

    run_dir: Path
    kimg: float
    steps: int
    status: str  # "finished" | "interrupted" | "stopped"
    checkpoint: Path | None
    last_grid: Path | None
    wall_sec: float
    images_per_sec: float
    extra: dict[str, Any] = field(default_factory=dict)
    task: Any = field(default=None, repr=False)  # the trained Task, networks in memory (API users)


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bf16 autocast runs convolutions much faster."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto -> bf16 on a GPU, or a CPU with native bf16 (AMX/AVX512-BF16: about 2x here), else fp32; the trainer
    then keeps bf16 only if one step's gradients agree with fp32 (`needs_precision_check`). GANFORGE_PRECISION
    forces what auto means, unchecked (tests run the whole suite so on any CPU).

    fp16 needs a GPU (and loss scaling, which the runtime adds).
    """
    from ganforge.errors import ConfigError

    if precision == "auto":
        precision = forced_precision() or "auto"
    if device.type == "cuda":
        if precision == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return precision
    if precision == "fp16":
        raise ConfigError("--precision fp16 needs a GPU; on a CPU use bf16 (fast on CPUs with AMX) or fp32")
    if precision == "auto":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return precision


def needs_precision_check(requested: str, resolved: str) -> bool:
    """True when `auto` picked bf16 from the hardware alone (not forced): the trainer checks it on one step first."""
    return requested == "auto" and forced_precision() is None and resolved == "bf16"


def _precision_reason(requested: str, resolved: str, device: torch.device) -> str:
    """Why a run computes in `resolved`, before any check: for config.json and report.html."""
    if requested != "auto":
        return f"--precision {requested}"
    if forced_precision():
        return f"auto, forced to {resolved} by {PRECISION_ENV}"
    if resolved == "fp32":
        return "auto: fp32, " + ("this GPU has no bf16" if device.type == "cuda" else "this CPU has no native bf16")
    return "auto: bf16, not yet checked"


MAX_SKIPPED_STEPS = 8  # consecutive steps with non-finite gradients before a run stops


class _Order:
    """A seeded permutation of n items per epoch; the item at global position i is a pure function of i."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self._epoch = -1
        self._perm: torch.Tensor | None = None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=g)
            self._epoch = epoch
        assert self._perm is not None
        return self._perm

    def indices(self, positions: range) -> torch.Tensor:
        out = []
        for i in positions:
            epoch, pos = divmod(i, self.n)
            out.append(self._permutation(epoch)[pos])
        return torch.stack(out)


class BatchStream:
    """Endless batches from in-memory arrays: a seeded permutation per epoch.

    The position is a function of the step, so resuming at step s replays exactly the same data.
    Each process takes its own slice of the global batch. Several named arrays (a translation task's
    "A" and "B") share one order when `paired`, else each has its own (unpaired domains of any sizes).
    Arrays named in `integer_keys` (label maps) come out as int64 ids [N, H, W], the rest as float
    [N, C, H, W] in [-1, 1].
    """

    def __init__(self, images: torch.Tensor | dict[str, torch.Tensor], labels: torch.Tensor | None,
                 global_batch: int, seed: int, rank: int, world_size: int, paired: bool = True,
                 integer_keys: tuple[str, ...] = ()) -> None:
        self.arrays = dict(images) if isinstance(images, dict) else {"image": images}  # uint8 [N, C, H, W] each
        self.images = next(iter(self.arrays.values()))  # the first array: what reals.png shows
        self.labels = labels  # int64 [N] or None
        self.n = self.images.shape[0]
        self.global_batch = global_batch
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.integer_keys = tuple(integer_keys)
        if paired:
            sizes = {k: int(v.shape[0]) for k, v in self.arrays.items()}
            if len(set(sizes.values())) != 1:
                raise ValueError(f"paired arrays must have the same length, got {sizes}")
            order = _Order(self.n, seed)
            self._orders = {k: order for k in self.arrays}
        else:  # the first array keeps the single-array order; the others get their own seeds
            self._orders = {k: _Order(int(v.shape[0]), seed + 104_729 * i) for i, (k, v) in enumerate(self.arrays.items())}

    def indices(self, step: int, key: str | None = None) -> torch.Tensor:
        positions = batch_positions(step, self.global_batch, self.rank, self.world_size)
        return self._orders[key or next(iter(self.arrays))].indices(positions)

    def batch(self, step: int, device: torch.device, channels_last: bool) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        cache: dict[int, torch.Tensor] = {}
        for key, array in self.arrays.items():
            order = self._orders[key]
            if id(order) not in cache:
                cache[id(order)] = self.indices(step, key)
            idx = cache[id(order)].to(array.device)
            x = array.index_select(0, idx).to(device, non_blocking=True)
            if key in self.integer_keys:
                batch[key] = x[:, 0].long()  # [N, H, W] ids
                continue
            x = x.float().div_(127.5).sub_(1.0)
            if channels_last and x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            batch[key] = x  # [N, C, H, W] (clips: [N, T, C, H, W]) in [-1, 1]
        if self.labels is not None:
            first = next(iter(cache.values()))
            batch["label"] = self.labels.index_select(0, first.to(self.labels.device)).to(device)
        return batch


def channels_first(array: torch.Tensor) -> torch.Tensor:
    """uint8 images [N, H, W, C] -> [N, C, H, W]; clips [N, T, H, W, C] -> [N, T, C, H, W]."""
    if array.ndim == 4:
        return array.permute(0, 3, 1, 2).contiguous()
    if array.ndim == 5:
        return array.permute(0, 1, 4, 2, 3).contiguous()
    raise ValueError(f"training arrays must be images [N, H, W, C] or clips [N, T, H, W, C], got {tuple(array.shape)}")


def place_network(net: torch.nn.Module, device: torch.device, channels_last: bool) -> torch.nn.Module:
    """Move `net` to `device`, its 4-D tensors (2-D convolution weights) in channels_last when asked.

    `Module.to(memory_format=channels_last)` refuses 5-D tensors, so a network with 3-D convolutions (the video
    tasks') keeps those weights contiguous; on this CPU channels_last_3d made a VGAN step no faster.
    """
    net.to(device)
    if channels_last:
        net._apply(lambda t: t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t)
    return net


def lr_scale(images_shown: int, total_images: int | None, decay_start: float) -> float:
    """Learning-rate multiplier: 1 until `decay_start` of the budget, then linear down to 0 at its end.

    CycleGAN's schedule (constant for the first half, linear decay over the second) with decay_start 0.5,
    counted in images rather than epochs; a pure function of the position, so resume is exact.
    """
    if total_images is None or decay_start >= 1.0:
        return 1.0
    start = decay_start * total_images
    if images_shown <= start:
        return 1.0
    return max(0.0, 1.0 - (images_shown - start) / max(total_images - start, 1.0))


class _SignalStop:
    """Turns the first Ctrl-C or SIGTERM into a polite stop; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _SignalStop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)



def check_task_fits(task_cls: Any, config: TrainConfig, data_info: Any) -> None:
    """Build the task's networks on the meta device (no memory) and refuse, in one line, widths whose weights,
    gradients, Adam moments and EMA copy cannot fit, instead of dying in an allocation."""
    from ganforge.memory import check_fits

    try:
        with torch.device("meta"):
            probe = task_cls(config, data_info)
        params = sum(p.numel() * p.element_size() for net in probe.networks.values() for p in net.parameters())
    except Exception:  # a task that needs real tensors to build: the real build below is the check
        return
    check_fits(5 * params, f"the networks of this {config.task} run ({params / 4 / 1e6:,.0f} M parameters)",
               "choose a smaller --width (or the model's channel options)")


@dataclass
class _Clock:
    """Wall time and images shown at the start of the run and of the current tick, and the time budget's end."""

    start_time: float
    start_images: int
    tick_time: float
    tick_images: int
    deadline: float | None


class Trainer:
    """Runs a task on a dataset into a run directory, resuming exactly from its latest checkpoint."""

    def __init__(
        self,
        config: TrainConfig,  # validated configuration
        images: np.ndarray | TrainData,  # uint8 [N, H, W, C] training images, or a task's named arrays
        labels: np.ndarray | None,  # int64 [N] class labels, or None (ignored with TrainData: its own)
        data_info: DataInfo,  # name, resolution, channels, classes
        run_dir: Path,  # where config, checkpoints, samples and logs go
        resume_from: Path | None = None,  # checkpoint folder to continue from exactly
        on_progress: Callable[[Progress], None] | None = None,  # called at each tick (rank 0)
        should_stop: Callable[[], bool] | None = None,  # polled each step; True ends the run cleanly
        accelerator: Accelerator | None = None,  # share one across runs in a process (tests)
        evaluator: Callable[[Trainer], dict[str, float]] | None = None,  # metrics every eval_every_kimg
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.evaluator = evaluator
        self.best_metric: float | None = None  # best FID so far; its checkpoint is kept in checkpoints/best
        self.accelerator = accelerator or make_accelerator()
        device = self.accelerator.device
        precision = resolve_precision(config.precision, device)
        self.runtime = Runtime(self.accelerator, precision)
        self.is_main = self.runtime.is_main
        self.skipped_steps = 0  # optimizer steps skipped for non-finite gradients over the whole run
        self._standing_step = -1  # the step whose EMA batch-norm statistics are standing ones (-1: none yet)
        self.stats: Stats | None = None  # the running tick's statistics, while fit() runs (checkpoints save them)
        self._stats_state: dict[str, Any] = {}  # what a resumed checkpoint held of its tick, for fit() to take back
        self._skips_in_a_row = 0

        self._build_task(data_info, device, precision, fresh=resume_from is None)
        self._load_data(images, labels, data_info, device)
        # Learning-rate schedule: every optimizer's groups scale from their initial rate (saved with them).
        for opt in self.task.optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])

        self.images_shown = 0
        self.step = 0
        # The kimg budget in images (None: --minutes alone); saved with each checkpoint, as the LR schedule's end.
        self.total_images = int(config.kimg_budget * 1000) if config.kimg_budget is not None else None
        self.fixed = self.task.fixed_inputs(min(config.grid_size, 256), GRID_SEED)
        saved_policy = None
        if resume_from is not None:
            saved_policy = self._restore(Path(resume_from))
        if needs_precision_check(config.precision, precision):
            self._check_bf16(saved_policy)

    def _build_task(self, data_info: DataInfo, device: torch.device, precision: Any, fresh: bool) -> None:
        """The task's networks, the same on every process, placed, averaged (EMA), registered and compiled."""
        config = self.config
        task_cls = task_spec(config.task).load_task()
        check_task_fits(task_cls, config, data_info)
        # Same initial weights on every process: seed before building, then per-process noise.
        _seed_everything(config.seed)
        self.task: Task = task_cls(config, data_info)
        if fresh:
            self.task.start_fresh()  # starting weights from elsewhere (superres --init), before the EMA copy
        # torch.compile chooses layouts itself, and (torch 2.11) trips over channels_last ConvTranspose weights.
        self.channels_last = config.channels_last and not config.compile
        for net in self.task.networks.values():
            place_network(net, device, self.channels_last)
        self.ema = (
            EMA(self.task.networks[self.task.ema_network], config.ema_kimg, config.ema_rampup)
            if self.task.ema_network and config.ema_kimg > 0
            else None
        )
        self.task.attach(self.runtime)
        self.runtime.register_optimizers(self.task.optimizers)
        self.runtime.register_networks(self.task.networks)
        self._set_policy(PrecisionPolicy(precision, _precision_reason(config.precision, precision, device)))
        if config.compile:
            for net in self.task.networks.values():
                net.compile()
        _seed_everything(config.seed + 7919 * (self.runtime.rank + 1))

    def _load_data(self, images: np.ndarray | TrainData, labels: np.ndarray | None, data_info: DataInfo,
                   device: torch.device) -> None:
        """The training arrays as uint8 tensors, on the device when they fit, and the stream of batches over them."""
        config = self.config
        data = images if isinstance(images, TrainData) else TrainData({"image": images}, data_info, labels)
        tensors = {}
        for key, array in data.arrays.items():
            tensor = channels_first(torch.from_numpy(np.ascontiguousarray(array)))
            if device.type == "cuda" and tensor.numel() < 2**31:
                tensor = tensor.to(device)
            tensors[key] = tensor
        tensor_labels = torch.from_numpy(np.asarray(data.labels, dtype=np.int64)) if data.labels is not None else None
        self.stream = BatchStream(tensors, tensor_labels, config.batch, config.seed, self.runtime.rank,
                                  self.runtime.world_size, paired=data.paired, integer_keys=data.integer_keys)
        self.task.attach_data(tensors)

    # ------------------------------------------------------------------------------- precision
    def _set_policy(self, policy: PrecisionPolicy) -> None:
        self.runtime.precision = policy.precision
        policy.apply(self._all_networks(), self.runtime.device)
        self.runtime.policy = policy

    def _check_bf16(self, saved: dict[str, Any] | None) -> None:
        """`auto` picked bf16 from the hardware: keep it only if one step's weight gradients agree with fp32 (on a
        resume, the run's own earlier verdict stands, so the continuation computes as before)."""
        if saved is not None and saved.get("autocast") in ("fp32", "bf16"):
            if saved["autocast"] == "fp32":
                self._set_policy(PrecisionPolicy("fp32", saved.get("reason", "auto: fp32, as the run started")))
            else:
                self.runtime.policy.reason = saved.get("reason", self.runtime.policy.reason)
            return
        step = self._first_adversarial_step()
        batch = self.stream.batch(step, self.runtime.device, self.channels_last)
        result = compare_step_gradients(self.task, batch, step, "bf16", PROBE_TOLERANCE)
        where, err = result.worst
        if result.agrees:
            self.runtime.policy.reason = (f"auto: bf16, its gradients agreed with fp32 on step {step} "
                                          f"(worst relative error {err:.3g}, {where}; tolerance {result.tolerance:g})")
            return
        logging.getLogger("ganforge").warning(
            "bf16 gradients of %s differ from fp32 by %.3g (tolerance %g) on this machine: training in fp32",
            where.split(":", 1)[-1], err, result.tolerance)
        self._set_policy(PrecisionPolicy("fp32", f"auto: fp32, bf16 gradients of {where} differed from fp32 by "
                                                 f"{err:.3g} on step {step} (tolerance {result.tolerance:g})"))

    def _first_adversarial_step(self) -> int:
        """The step the precision check runs: the first with every loss on (after pixel-loss pre-training)."""
        pretrain = getattr(self.config, "pretrain_kimg", None) or 0.0
        first = -(-int(pretrain * 1000) // self.config.batch) if pretrain else 0
        return max(self.step, first)

    # ------------------------------------------------------------------------------ checkpoints
    def _all_networks(self) -> dict[str, torch.nn.Module]:
        """The task's networks plus the EMA copy: what checkpoints hold and grids draw from."""
        nets = dict(self.task.networks)
        if self.ema is not None:
            nets[f"{self.task.ema_network}_ema"] = self.ema.shadow
        return nets

    def _state(self) -> dict[str, Any]:
        return {
            "images_shown": self.images_shown,
            "kimg": self.images_shown / 1000,
            "step": self.step,
            "optimizers": {name: opt.state_dict() for name, opt in self.task.optimizers.items()},
            "scalers": {name: s.state_dict() for name, s in self.runtime.scalers.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "numpy": _numpy_state_to_json(np.random.get_state()),
                "python": _python_state_to_json(random.getstate()),
            },
            "config": self.config.to_dict(),
            "task_state": self.task.extra_state(),
            "ganforge_version": __version__,
            "precision": self.runtime.precision,
            "precision_policy": self.runtime.policy.summary(),
            "skipped_steps": self.skipped_steps,
            "best_metric": self.best_metric,
            "world_size": self.runtime.world_size,
            "total_images": self.total_images,
            "stats": self.stats.state() if self.stats is not None else {},  # the tick so far: resumed lines are whole
        }

    def save_checkpoint(self) -> Path | None:
        """Checkpoint on rank 0 (all ranks hold the same weights), only of finite weights."""
        self.refresh_ema_statistics()
        self._check_weights_finite()
        if not self.is_main:
            return None
        return save_checkpoint(self.run_dir / "checkpoints", self.images_shown, self._all_networks(),
                               self._state(), self.config.keep_checkpoints)

    def _restore(self, ckpt: Path) -> dict[str, Any] | None:
        """Load everything a checkpoint holds; returns the precision policy the run used (None before it was saved)."""
        weights, state = load_checkpoint(ckpt)
        for name, module in self._all_networks().items():
            if name not in weights:
                raise CheckpointError(f"checkpoint {ckpt} has no weights for network {name!r}")
            try:
                module.load_state_dict(weights[name])
            except RuntimeError as exc:
                raise CheckpointError(f"checkpoint {ckpt} does not fit network {name!r}: {exc}") from exc
        for name, opt in self.task.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
            _match_state_layout(opt)
        for name, scaler in self.runtime.scalers.items():
            if name in state.get("scalers", {}):
                scaler.load_state_dict(state["scalers"][name])
        rng = state["rng"]
        if state.get("world_size", 1) == self.runtime.world_size and self.runtime.world_size == 1:
            torch.set_rng_state(rng["torch"])
            if torch.cuda.is_available() and rng["cuda"]:
                torch.cuda.set_rng_state_all(rng["cuda"])
            np.random.set_state(_numpy_state_from_json(rng["numpy"]))
            random.setstate(_python_state_from_json(rng["python"]))
        else:  # other processes cannot share rank 0's noise stream: reseed deterministically by step
            _seed_everything(self.config.seed + 7919 * (self.runtime.rank + 1) + state["step"])
        self.task.load_extra_state(state.get("task_state", {}))
        saved_precision = state.get("precision")
        if saved_precision and saved_precision != self.runtime.precision:
            logging.getLogger("ganforge").warning(
                "resuming a %s run in %s (this machine or --precision differs); the continuation is not bit-identical",
                saved_precision, self.runtime.precision,
            )
        self._warn_if_schedule_moved(state)
        self.best_metric = state.get("best_metric")
        self.images_shown = int(state["images_shown"])
        self.step = int(state["step"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self._stats_state = state.get("stats") or {}
        if self.is_main:
            truncate_metrics(self.run_dir / "metrics.jsonl", self.images_shown / 1000)
        return state.get("precision_policy")

    def _warn_if_schedule_moved(self, state: dict[str, Any]) -> None:
        """One warning when a resume changes the budget that a configured LR decay is measured against."""
        if "total_images" in state:
            saved = state["total_images"]
        else:  # checkpoints before the budget was saved: the budget of the config they were written with
            old = state.get("config") or {}
            kimg_budget = budget(old.get("kimg"), old.get("minutes")) if old else None
            saved = int(kimg_budget * 1000) if kimg_budget is not None else None
        decay_start = self.config.lr_decay_start if self.config.lr_decay_start is not None else 1.0
        if decay_start < 1.0 and saved is not None and saved != self.total_images:
            new = f"{self.total_images / 1000:g}" if self.total_images is not None else "none"
            logging.getLogger("ganforge").warning(
                "resuming with a --kimg budget of %s instead of the run's %g: the learning-rate decay from %g of the "
                "budget is re-timed against the new budget, so learning rates jump at this step",
                new, saved / 1000, decay_start,
            )

    # ---------------------------------------------------------------------------------- metrics
    def inference_network(self) -> torch.nn.Module:
        """The network a pipeline would use now: the EMA copy when there is one, in eval mode."""
        self.refresh_ema_statistics()
        net = self.ema.shadow if self.ema is not None else self.task.networks[self.task.ema_network or "G"]
        return net.eval()

    def refresh_ema_statistics(self) -> None:
        """Give the EMA generator batch-norm statistics of its own (standing statistics) before it is sampled,
        evaluated or saved, once per step; from the task's fixed inputs, so no training randomness is drawn."""
        if self.ema is None or self._standing_step == self.step or not batch_norms(self.ema.shadow):
            return
        nets = self._all_networks()
        n = min(self.config.batch, 64)

        def forward(i: int) -> None:
            with self.runtime.autocast():
                self.task.visuals(nets, self.task.fixed_inputs(n, STANDING_SEED + i))

        recompute_batch_norm(self.ema.shadow, forward, STANDING_BATCHES)
        self._standing_step = self.step

    def evaluate(self, stats: Stats) -> dict[str, float]:
        """Run the evaluator on rank 0, log its figures, and keep the checkpoint with the best FID."""
        results: dict[str, float] = {}
        if self.is_main and self.evaluator is not None:
            G = self.task.networks.get(self.task.ema_network or "G")
            was_training = G.training if G is not None else False
            try:
                results = self.evaluator(self)
            finally:
                if G is not None:
                    G.train(was_training)
            line = {"kimg": round(self.images_shown / 1000, 3), "step": self.step}
            line.update({f"Metrics/{k}": v for k, v in results.items()})
            stats.write_line(line)
            fid = next((v for k, v in results.items() if k.startswith("fid")), None)
            if fid is not None and (self.best_metric is None or fid < self.best_metric):
                self.best_metric = fid
                self._check_weights_finite()
                save_checkpoint(self.run_dir / "checkpoints" / "best", self.images_shown, self._all_networks(),
                                self._state(), keep=1)
        self.accelerator.wait_for_everyone()
        return results

    # ------------------------------------------------------------------------------------ grids
    @torch.no_grad()
    def save_grid(self, tag: str | None = None) -> Path | None:
        """A grid from the fixed latents with the EMA generator, eval mode, without touching RNG."""
        if not self.is_main:
            return None
        self.refresh_ema_statistics()
        nets = self._all_networks()
        was_training = {name: n.training for name, n in nets.items()}
        for n in nets.values():
            n.eval()
        try:
            with self.runtime.autocast():
                images = self.task.visuals(nets, self.fixed)
        finally:
            for name, n in nets.items():
                n.train(was_training[name])
        grid = make_grid(tensor_to_uint8(images.float()), nrow=self.task.grid_columns)
        name = tag or f"fakes-{self.images_shown / 1000:09.3f}"
        return save_image(grid, self.run_dir / "samples" / f"{name}.png")

    def save_reals(self) -> None:
        if not self.is_main or (self.run_dir / "samples" / "reals.png").exists():
            return
        n = min(self.config.grid_size, self.stream.n)
        g = torch.Generator().manual_seed(GRID_SEED)
        idx = torch.randperm(self.stream.n, generator=g)[:n].to(self.stream.images.device)
        reals = self.stream.images.index_select(0, idx).cpu()
        if reals.ndim == 5:  # clips [n, T, C, H, W]: one row of frames per clip
            reals = reals[:CLIP_ROWS]
            nrow = reals.shape[1]
            reals = reals.flatten(0, 1)
        else:
            nrow = None
        save_image(make_grid(reals.permute(0, 2, 3, 1).numpy(), nrow=nrow), self.run_dir / "samples" / "reals.png")

    # ------------------------------------------------------------------------------------- loop
    def fit(self) -> TrainResult:
        """Train until the kimg or minutes budget, a stop request or a signal; always checkpoint."""
        cfg = self.config
        deadline = time.monotonic() + cfg.minutes * 60 if cfg.minutes is not None else None
        stats = self.stats = Stats(self.run_dir if self.is_main else None)
        stats.load_state(self._stats_state)  # a resumed tick goes on from the values logged before the stop
        every = {name: max(1, int(kimg * 1000)) for name, kimg in (
            ("tick", cfg.tick_kimg), ("sample", cfg.sample_every_kimg), ("checkpoint", cfg.checkpoint_every_kimg))}
        eval_every = getattr(cfg, "eval_every_kimg", None)  # a task with periodic evaluation has the option
        eval_images = max(1, int(eval_every * 1000)) if eval_every and self.evaluator else None
        decay_start = cfg.lr_decay_start if cfg.lr_decay_start is not None else 1.0
        now = time.monotonic()
        clock = _Clock(now, self.images_shown, now, self.images_shown, deadline)
        last_ckpt: Path | None = None
        last_grid: Path | None = None
        status = "finished"

        self.save_reals()
        if self.images_shown == 0:
            last_grid = self.save_grid()

        with _SignalStop() as signals:
            while True:
                if self.total_images is not None and self.images_shown >= self.total_images:
                    break
                stop_reason = self._stop_reason(signals, deadline)
                if stop_reason:
                    status = {"time budget": "finished", "requested": "stopped"}.get(stop_reason, "interrupted")
                    break
                before = self._train_step(stats, decay_start)
                due = {name: before // n != self.images_shown // n for name, n in every.items()}
                if any(due.values()):
                    self._check_finite(stats)
                if due["tick"]:  # a tick the budget cuts short: after the loop
                    self._log_tick(stats, clock)
                if due["sample"]:
                    last_grid = self.save_grid() or last_grid
                if eval_images is not None and before // eval_images != self.images_shown // eval_images:
                    self.evaluate(stats)
                if due["checkpoint"]:
                    last_ckpt = self.save_checkpoint() or last_ckpt
            # Still inside the signal guard: a second SIGTERM must not kill the final save.
            last_ckpt, last_grid = self._finish(stats, clock, last_ckpt, last_grid)
        wall = time.monotonic() - clock.start_time
        self.accelerator.wait_for_everyone()
        if self.is_main:
            from ganforge.engine.report import write_report

            write_report(self.run_dir)
        return TrainResult(
            run_dir=self.run_dir, kimg=self.images_shown / 1000, steps=self.step, status=status,
            checkpoint=last_ckpt, last_grid=last_grid, wall_sec=wall,
            images_per_sec=(self.images_shown - clock.start_images) / max(wall, 1e-9), task=self.task,
        )

    def _train_step(self, stats: Stats, decay_start: float) -> int:
        """One step of the task on the next batch, with its schedule, EMA and statistics; returns the images shown
        before it."""
        batch = self.stream.batch(self.step, self.runtime.device, self.channels_last)
        if decay_start < 1.0 and self.total_images is not None:
            scale = self._schedule_learning_rates(self.total_images, decay_start)
            stats.report("Schedule/lr_scale", torch.tensor(scale), self.step)
        losses = self.task.train_step(batch, self.step)
        skipped = self._count_skipped()
        before = self.images_shown
        self.images_shown += self.config.batch
        if self.ema is not None:
            self.ema.update(self.config.batch, self.images_shown)
        if not skipped:  # a skipped step's losses are what made it non-finite: the tick's means leave it out
            for name, value in losses.items():
                stats.report(name, value, self.step)
        stats.report("Train/skipped", torch.tensor(float(bool(skipped))), self.step)  # the tick's fraction
        self.step += 1
        return before

    def _log_tick(self, stats: Stats, clock: _Clock, partial: int = 0) -> None:
        """One line of metrics.jsonl for the tick; a tick cut short (`partial` steps) keeps its values pending so
        that they are saved with the checkpoint and the resumed run completes it."""
        now = time.monotonic()
        ips = (self.images_shown - clock.tick_images) / max(now - clock.tick_time, 1e-9)
        record = {"kimg": round(self.images_shown / 1000, 3), "step": self.step,
                  "time_sec": round(now - clock.start_time, 3), "images_per_sec": round(ips, 2),
                  "skipped_steps": self.skipped_steps}
        if partial:
            record["partial_steps"] = partial
        line = stats.flush(record, keep=bool(partial))
        clock.tick_time, clock.tick_images = now, self.images_shown
        self._emit_progress(line, self.total_images, clock.start_time, clock.start_images, clock.deadline)

    def _finish(self, stats: Stats, clock: _Clock, last_ckpt: Path | None,
                last_grid: Path | None) -> tuple[Path | None, Path | None]:
        """The end of a run, however it ended: the tick cut short, a checkpoint and a grid of where it stopped."""
        self._check_finite(stats)
        partial = stats.pending_steps()
        if partial:
            self._log_tick(stats, clock, partial)
        stats.close()
        stepped = self.images_shown > clock.start_images
        saved_now = last_ckpt is not None and last_ckpt.name == checkpoint_name(self.images_shown)
        if stepped and not saved_now:
            last_ckpt = self.save_checkpoint() or last_ckpt
        if last_grid is None or not last_grid.name.endswith(f"{self.images_shown / 1000:09.3f}.png"):
            last_grid = self.save_grid() or last_grid
        return last_ckpt, last_grid

    def _schedule_learning_rates(self, total_images: int, decay_start: float) -> float:
        """Set every optimizer's rate for the coming step from the images shown so far (see lr_scale)."""
        scale = lr_scale(self.images_shown, total_images, decay_start)
        for opt in self.task.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * scale
        return scale

    def _stop_reason(self, signals: _SignalStop, deadline: float | None) -> str | None:
        reason = signals.requested
        if reason is None and deadline is not None and time.monotonic() >= deadline:
            reason = "time budget"
        if reason is None and self.should_stop is not None and self.should_stop():
            reason = "requested"
        if self.runtime.world_size > 1:  # every process must stop at the same step; poll, don't sync each step
            if self.step % STOP_POLL_STEPS:
                return None
            flag = torch.tensor([1.0 if reason else 0.0], device=self.runtime.device)
            torch.distributed.all_reduce(flag)
            if flag.item() > 0 and reason is None:
                reason = "another process stopped"
        return reason

    def _count_skipped(self) -> list[str]:
        """The optimizers whose step the runtime skipped for non-finite gradients in this step; stop the run when
        that has happened MAX_SKIPPED_STEPS steps in a row (nothing is saved: the weights never took those steps)."""
        skipped, self.runtime.skipped = self.runtime.skipped, []
        if not skipped:
            self._skips_in_a_row = 0
            return skipped
        self.skipped_steps += 1
        self._skips_in_a_row += 1
        if self._skips_in_a_row >= MAX_SKIPPED_STEPS:
            raise TrainingError(
                f"non-finite gradients ({', '.join(sorted(set(skipped)))}) in {self._skips_in_a_row} steps in a row, "
                f"up to step {self.step} (kimg {self.step * self.config.batch / 1000:.3f}); those steps were skipped and "
                f"training stopped without saving: the last good checkpoint in {self.run_dir / 'checkpoints'} is intact. "
                "Try a lower learning rate (--lr-g/--lr-d), R1 (--r1-gamma) or --precision fp32"
            )
        return skipped

    def _check_finite(self, stats: Stats) -> None:
        """Stop on a non-finite loss, on every process together, before anything is saved."""
        bad = stats.first_non_finite()
        if self.runtime.world_size > 1:
            flag = torch.tensor([0.0 if bad is None else 1.0], device=self.runtime.device)
            torch.distributed.all_reduce(flag)
            if flag.item() > 0 and bad is None:
                bad = ("a loss on another process", -1, float("nan"))
        if bad is not None:
            name, step, value = bad
            where = f"at step {step} (kimg {step * self.config.batch / 1000:.3f})" if step >= 0 else ""
            raise TrainingError(
                f"non-finite loss {name} = {value} {where}; "
                f"stopped without saving: the last good checkpoint in {self.run_dir / 'checkpoints'} is intact. "
                "Try a lower learning rate (--lr-g/--lr-d), R1 (--r1-gamma) or --precision fp32"
            )

    def _check_weights_finite(self) -> None:
        """Never write a checkpoint whose weights went non-finite (e.g. overflowing gradients)."""
        for name, net in self._all_networks().items():
            tensors = [t.detach() for t in net.state_dict().values() if t.is_floating_point()]  # weights and buffers
            if tensors and not all_finite(tensors):
                raise TrainingError(
                    f"network {name} has non-finite weights or statistics at step {self.step}; stopped without saving: the last "
                    f"good checkpoint in {self.run_dir / 'checkpoints'} is intact. Try a lower learning rate"
                )

    def _emit_progress(self, line: dict[str, Any], total_images: int | None, start_time: float, start_images: int,
                       deadline: float | None) -> None:
        if self.on_progress is None or not self.is_main:
            return
        elapsed = time.monotonic() - start_time
        rate = (self.images_shown - start_images) / max(elapsed, 1e-9)
        eta = None
        if total_images is not None and rate > 0:
            eta = (total_images - self.images_shown) / rate
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            eta = left if eta is None else min(eta, left)
        losses = {k: v for k, v in line.items() if "/" in k}
        self.on_progress(Progress(
            kimg=self.images_shown / 1000, total_kimg=total_images / 1000 if total_images else None,
            images_per_sec=line.get("images_per_sec", rate), elapsed_sec=elapsed, eta_sec=eta, losses=losses,
            step=self.step,
        ))


def _match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give per-parameter optimizer state its parameter's memory layout (channels_last) after a load.

    Checkpoints store contiguous tensors; fused kernels walk raw memory, so layouts must agree.
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _numpy_state_to_json(state: tuple) -> list:
    kind, keys, pos, has_gauss, cached = state
    return [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _numpy_state_from_json(values: list) -> tuple:
    kind, keys, pos, has_gauss, cached = values
    return kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached


def _python_state_to_json(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _python_state_from_json(values: list) -> tuple:
    version, internal, gauss = values
    return version, tuple(internal), gauss
