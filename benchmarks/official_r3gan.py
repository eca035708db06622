"""The R3GAN authors' official code (brownvc/R3GAN) on this CPU, with our probe's settings, read by digit coverage.

Our R3GAN (`--model r3gan`) collapses on 32-px mnist (collapse_probe.py); the paper reports full mode coverage on
StackedMNIST. Before blaming the recipe, the official code trains on the same data with the same settings: does it
collapse the same way? The script extracts that code into a scratch folder (--work; it never enters this
repository), patches it there to run on a CPU, trains it on our built-in mnist at 32 px (written there as greyscale
PNGs by official_stylegan2.py's helper) through its own train.py with a preset `ganforge` added to it, and then has
a launcher written into that folder draw --n samples of its final G_ema and G (seeds 0..n-1, z from
np.random.RandomState(seed) as their gen_images.py). Only the .npy arrays of those samples come back here; they are
labelled by `digit_coverage.py`'s classifier, as collapse_probe.py's runs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/official_r3gan.py [--official GIT_DIR_OR_FOLDER]
        [--work /tmp/official-r3gan] [--kimg 20] [--schedule matched|cifar] [--width 16] [--seed 0] [--n 2000]

Prints one JSON line: the settings, the official ones as their train.py resolved them, the commit, kimg reached,
train seconds, images/s (median of their logged ticks after the first), parameter counts, the coverage of both
generators and the machine. Their own output goes to stderr and the run folder.

--schedule matched (collapse_probe.py's `r3gan` at --width 16, i.e. our ImageOptions.MODELS["r3gan"]):
  WidthPerStage [4w, 4w, 4w, 2w] from 4 to 32 px (our stage_channels), one residual block per stage, expansion 2,
  cardinality = expanded channels / 16 (our group_width 16), noise dimension 64, one image channel, fp32 (no
  bfloat16 stages), batch 64, Adam lr 2e-4 for both, betas (0, 0.99), eps 1e-8, R1 = R2 gamma 0.05 every step,
  EMA half-life 10 kimg capped at 0.05 x the images shown (our ema_rampup; a patch adds the cap), no augmentation,
  no x-flips. All their schedules are held constant (base = final value).
--schedule cifar: their CIFAR10 preset's schedules (cosine over 20M images: lr 2e-4 -> 5e-5, beta2 0.9 -> 0.99,
  gamma 0.05 -> 0.005, EMA half-life 0 -> 5M images, ADA-style p 0 -> 0.55) with the same small networks and
  batch 64; augmentation stays off, as at 20 kimg their p would be 1.4e-6. Ours with beta2 0.9 is
  collapse_probe.py's `r3gan-b09`.
Not matched (differences the patches do not remove): their loop draws fresh latents and a fresh real batch for G's
phase (ours: G's step reuses the fakes D just saw and their paired reals); their convolutions have no bias where no
activation follows (ours: biases, zero-initialised), their 1x1 transitions, the G basis' linear map and D's last
layers are MSR-initialised with std 1/sqrt(fan_in) (ours: the leaky-ReLU gain sqrt(2/1.04) on the 1x1 convs,
PyTorch's default init on the linear map and D's basis); their resampling is the [1, 3, 3, 1] FIR with zero padding
(ours: bilinear, edge-clamped); their data order is their InfiniteSampler's.

Patches applied to the extracted copy (string replacements, each asserting its target text):
  train.py                  a `ganforge` preset (networks and schedules above, FP16Stages []), image channels 1,
                            a DataLoader without workers, pinned memory or prefetching (one process); Adam's
                            betas as floats (torch 2.13's Adam wants both floats or both tensors).
  training/training_loop.py the device is the CPU; conv2d_gradfix and grid_sample_gradfix stay off; no CUDA timing
                            events or peak-memory fields; the EMA half-life capped at ema_rampup x images shown
                            when the preset sets one; betas (0.0, beta2).
  R3GAN/Networks.py         G's output and D's input take ImageChannels (default 3, as theirs) instead of 3.
  torch_utils/misc.py       InfiniteSampler calls Sampler.__init__() without arguments (torch 2.13).
  dnnlib/util.py            `import requests` (not installed here; only used for URLs) may fail.
  torch_utils/ops/{conv2d,grid_sample}_gradfix.py  parse_version from packaging (no pkg_resources here).
Their custom ops need no patch: bias_act and upfirdn2d only build their CUDA plugin for CUDA tensors, so CPU
tensors take the reference code; metrics are off (--metrics=none).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from official_stylegan2 import extract, finished_run, patch, sample_coverage, tick_images_per_sec, write_mnist

HERE = Path(__file__).resolve().parent
DEFAULT_OFFICIAL = "/work/.mirror/brownvc+R3GAN/repo"

SAMPLER = '''"""Written by ganforge's benchmarks/official_r3gan.py: samples of a snapshot of this folder's own run."""
import sys

import numpy as np
import torch

import legacy

pkl, out_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(pkl, "rb") as f:
    nets = legacy.load_network_pkl(f)
counts = {}
for name in ("G_ema", "G", "D"):
    counts[name] = sum(p.numel() for p in nets[name].parameters())
for name in ("G_ema", "G"):
    G = nets[name].eval().requires_grad_(False)
    z = np.concatenate([np.random.RandomState(seed).randn(1, G.z_dim) for seed in range(n)])  # as gen_images.py
    chunks = []
    with torch.no_grad():
        for batch in torch.from_numpy(z).float().split(250):
            img = G(batch, torch.zeros([len(batch), G.c_dim])).float()
            chunks.append((img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy())
    np.save(f"{out_dir}/{name}.npy", np.concatenate(chunks))
print("PARAMS", counts)
'''


def stage_widths(width: int) -> list[int]:
    """Our stage_channels at 32 px, from 4 px up, as their WidthPerStage (G's order; D takes it reversed)."""
    from ganforge.nets.r3gan import stage_channels

    return [stage_channels(32, width)[r] for r in (4, 8, 16, 32)]


def preset_block(args: argparse.Namespace) -> str:
    """The `ganforge` preset inserted into their train.py before its common G_kwargs lines."""
    widths = stage_widths(args.width)
    cardinality = [2 * w // 16 for w in widths]  # expansion 2, our group_width 16
    if args.schedule == "matched":
        sched = dict(ema=(10_000, 10_000), aug=(0, 0), lr=(2e-4, 2e-4), gamma=(0.05, 0.05), beta2=(0.99, 0.99))
        total, rampup = 1e7, 0.05
    else:  # their CIFAR10 preset's schedules
        sched = dict(ema=(0, 5_000_000), aug=(0, 0.55), lr=(2e-4, 5e-5), gamma=(0.05, 0.005), beta2=(0.9, 0.99))
        total, rampup = 2e7, None
    lines = [
        "    if opts.preset == 'ganforge': # ganforge benchmark: collapse_probe.py's r3gan at --width",
        f"        WidthPerStage = {widths}",
        "        BlocksPerStage = [1, 1, 1, 1]",
        f"        CardinalityPerStage = {cardinality}",
        "        FP16Stages = []",
        "        NoiseDimension = 64",
        "        c.G_kwargs.ImageChannels = c.D_kwargs.ImageChannels = 1",
        f"        c.ema_rampup = {rampup!r}",
    ]
    for key, (base, final) in sched.items():
        lines.append(f"        c.{key}_scheduler = {{ 'base_value': {base!r}, 'final_value': {final!r}, "
                     f"'total_nimg': {total!r} }}")
    return "\n".join(lines) + "\n\n"


def apply_patches(code: Path, args: argparse.Namespace) -> None:
    """The CPU patches and the `ganforge` preset, listed in the module docstring."""
    train = code / "train.py"
    patch(train, "    c.G_kwargs.NoiseDimension = NoiseDimension\n",
          preset_block(args) + "    c.G_kwargs.NoiseDimension = NoiseDimension\n")
    patch(train, "    c.data_loader_kwargs.num_workers = opts.workers\n",
          "    c.data_loader_kwargs.num_workers = opts.workers\n"
          "    if opts.preset == 'ganforge': # one process on a CPU\n"
          "        c.data_loader_kwargs = dnnlib.EasyDict(pin_memory=False, num_workers=0)\n")
    patch(train, "betas=[0,0]", "betas=[0.0,0.0]", count=2)

    loop = code / "training" / "training_loop.py"
    patch(loop, "    gamma_scheduler         = None,\n",
          "    gamma_scheduler         = None,\n    ema_rampup              = None,\n")
    patch(loop, "device = torch.device('cuda', rank)", "device = torch.device('cpu')")
    patch(loop, "    conv2d_gradfix.enabled = True ", "    conv2d_gradfix.enabled = False")
    patch(loop, "grid_sample_gradfix.enabled = True ", "grid_sample_gradfix.enabled = False")
    patch(loop, "torch.cuda.Event(enable_timing=True)", "None", count=2)
    patch(loop, "torch.cuda.max_memory_allocated(device) / 2**30", "0.0")
    patch(loop, "torch.cuda.max_memory_reserved(device) / 2**30", "0.0")
    patch(loop, "        torch.cuda.reset_peak_memory_stats()\n", "")
    patch(loop, "g['betas'] = (0, cur_beta2)", "g['betas'] = (0.0, cur_beta2)")
    patch(loop, "            ema_beta = 0.5 ** (batch_size / max(cur_ema_nimg, 1e-8))\n",
          "            if ema_rampup is not None: # ganforge benchmark: as our EMA's ramp-up\n"
          "                cur_ema_nimg = min(cur_ema_nimg, (cur_nimg + batch_size) * ema_rampup)\n"
          "            ema_beta = 0.5 ** (batch_size / max(cur_ema_nimg, 1e-8))\n")

    nets = code / "R3GAN" / "Networks.py"
    patch(nets, "ConditionEmbeddingDimension=0, KernelSize=3, ResamplingFilter=[1, 2, 1]):",
          "ConditionEmbeddingDimension=0, KernelSize=3, ResamplingFilter=[1, 2, 1], ImageChannels=3):", count=2)
    patch(nets, "Convolution(WidthPerStage[-1], 3, KernelSize=1)", "Convolution(WidthPerStage[-1], ImageChannels, KernelSize=1)")
    patch(nets, "Convolution(3, WidthPerStage[0], KernelSize=1)", "Convolution(ImageChannels, WidthPerStage[0], KernelSize=1)")

    for name in ("conv2d_gradfix.py", "grid_sample_gradfix.py"):  # setuptools' pkg_resources is not installed here
        patch(code / "torch_utils" / "ops" / name, "\nfrom pkg_resources import parse_version\n",
              "\nfrom packaging.version import parse as parse_version # ganforge benchmark: no pkg_resources here\n")
    patch(code / "torch_utils" / "misc.py", "        super().__init__(None)\n", "        super().__init__()\n")
    patch(code / "dnnlib" / "util.py", "\nimport requests\n",
          "\ntry:\n    import requests\nexcept ImportError: # ganforge benchmark: only needed for URLs\n    requests = None\n")
    (code / "ganforge_sample.py").write_text(SAMPLER)


def our_param_counts(width: int) -> dict[str, int]:
    """Parameters of our r3gan networks at this width (mnist 32 px, one channel), for the JSON line."""
    from ganforge.nets.r3gan import R3GANDiscriminator, R3GANGenerator

    kw = dict(resolution=32, channels=1, width=width, blocks_per_stage=1, expansion=2, group_width=16)
    return {"G": sum(p.numel() for p in R3GANGenerator(z_dim=64, **kw).parameters()),
            "D": sum(p.numel() for p in R3GANDiscriminator(**kw).parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", default=DEFAULT_OFFICIAL, help="their repository: a git dir (HEAD) or a folder")
    parser.add_argument("--work", default="/tmp/official-r3gan", help="scratch folder for their code, data and runs")
    parser.add_argument("--kimg", type=int, default=20, help="their train.py takes whole kimg")
    parser.add_argument("--schedule", choices=("matched", "cifar"), default="matched")
    parser.add_argument("--width", type=int, default=16, help="as ours: 4 * width channels up to 16 px, 2 * width at 32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=2000, help="samples labelled per generator")
    parser.add_argument("--snap", type=int, default=None, help="network snapshots every K kimg (default: the end)")
    args = parser.parse_args()

    work = Path(args.work).resolve()
    code = work / "code"
    commit = extract(Path(args.official).resolve(), code)
    apply_patches(code, args)
    num_images = write_mnist(work / "data" / "mnist32")
    tag = f"w{args.width}-{args.kimg}k-{args.schedule}-s{args.seed}"
    outdir = work / "runs" / tag
    if outdir.exists():
        shutil.rmtree(outdir)
    command = [sys.executable, "train.py", f"--outdir={outdir}", f"--data={work / 'data' / 'mnist32'}", "--gpus=1",
               "--batch=64", "--preset=ganforge", "--aug=0", "--mirror=0", "--cond=0", "--metrics=none", "--tick=1",
               f"--snap={args.snap or args.kimg}", f"--kimg={args.kimg}", f"--seed={args.seed}"]
    started = time.perf_counter()
    subprocess.run(command, cwd=code, check=True, stdout=sys.stderr)  # their output is not our JSON line
    seconds = time.perf_counter() - started
    run_dir, options, rows, snapshot = finished_run(outdir)
    samples = work / "samples" / tag
    samples.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "ganforge_sample.py", str(snapshot), str(samples), str(args.n)], cwd=code,
                         check=True, capture_output=True, text=True).stdout
    params = json.loads(out.split("PARAMS", 1)[1].strip().replace("'", '"'))
    accuracy, rows_cov = sample_coverage(samples, args.n)
    sys.path.insert(0, str(HERE))
    from report import machine
    settings = {k: getattr(args, k) for k in ("kimg", "schedule", "width", "seed", "n", "snap")}
    official = {k: v for k, v in options.items() if k != "run_dir"}
    print(json.dumps({"benchmark": "official_r3gan", "official": str(args.official), "commit": commit,
                      "settings": settings, "official_settings": official, "num_images": num_images,
                      "kimg": round(rows[-1]["Progress/kimg"]["mean"], 3), "train_sec": round(seconds, 1),
                      "images_per_sec": tick_images_per_sec(rows), "snapshot": snapshot.name,
                      "params": {"official": params, "ours": our_param_counts(args.width)},
                      "sampling": {"seeds": f"0..{args.n - 1}"}, "classifier_accuracy": accuracy,
                      "coverage": rows_cov, "run": str(run_dir), "machine": machine(),
                      "threads_env": os.environ.get("OMP_NUM_THREADS")}), flush=True)


if __name__ == "__main__":
    main()
