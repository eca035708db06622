"""NVlabs' official StyleGAN2-ADA on this CPU, with our probe's settings, read by digit coverage.

A training recipe found with our StyleGAN2 (collapse_probe.py: e.g. two time-scales, G's lr 2.5e-4 and D's
2.5e-3) is checked on the official code (NVlabs/stylegan2-ada-pytorch): does it show the same benefit there?
The script extracts that code into a scratch folder (--work; it never enters this repository), patches it
there to run on a CPU, trains it on our built-in mnist at 32 px (written there as greyscale PNGs) through its
own train.py, with a config `ganforge` added to it that holds collapse_probe.py's StyleGAN2 settings, and then
has a launcher written into that folder draw --n samples of its final G_ema and G (seeds 0..n-1, z from
np.random.RandomState(seed) as their generate.py, truncation 1, noise_mode 'const' as our pipeline's eval
default). Only the .npy arrays of those samples come back here; they are labelled by `digit_coverage.py`'s
classifier, as collapse_probe.py's runs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/official_stylegan2.py [--official GIT_DIR_OR_FOLDER]
        [--work /tmp/official-sg2] [--kimg 20] [--lr-g 0.0025] [--lr-d 0.0025] [--gamma 0.05]
        [--mbstd-group 4] [--map 4] [--width 16] [--ema-rampup 0.05] [--seed 0] [--n 2000] [--snap-kimg K]

Prints one JSON line: our settings, the official ones as their train.py resolved them, the commit, kimg
reached, train seconds, images/s (median of their logged ticks after the first), the coverage of both
generators and the machine. Their own output (log, network summaries) goes to stderr and the run folder.

Matched to collapse_probe.py's stylegan2 (width 16, mnist 32 px, augment none, fp32): channel_base 64 * width,
channel_max 4 * width, z_dim = w_dim = 128, mapping depth 4, batch 64, Adam betas (0, 0.99) eps 1e-8, R1 gamma
0.05 lazily every 16 steps (D's Adam corrected by 16/17), no path-length penalty and so no lazy G phase (their
default G_reg_interval 4 would scale G's lr and betas by 4/5; ours is only corrected when --pl-weight > 0),
style mixing 0.9, EMA half-life 10 kimg with ramp-up 0.05 (our TrainConfig's default ema_rampup, which
collapse_probe.py keeps), minibatch-std group 4 with 1 channel, no augmentation or x-flips, no fp16 layers
(num_fp16_res 0, conv_clamp None). Not matched: their loop draws fresh latents for each phase and runs G's
step before D's in every iteration (ours: D first, then G on the same fakes); their G upsamples the skip
images with the [1, 3, 3, 1] FIR through zero padding (ours: bilinear, edge-clamped); their data order is
their InfiniteSampler's.

Patches applied to the extracted copy (string replacements, each asserting its target text):
  train.py                  --cfg accepts `ganforge`; cfg_specs gains a `ganforge` spec (kimg, batch 64, mbstd
                            group, gamma, EMA, ramp-up, mapping depth from the arguments); a block after the
                            cifar one sets z/w dims 128, channel_base/max, mbstd 1 channel, pl_weight 0, style
                            mixing 0.9, G_reg_interval None, D_reg_interval 16 (None at --gamma 0), separate G
                            and D learning rates, 1 kimg per tick, and a DataLoader without workers or pinned
                            memory (one process);
                            Adam's betas [0, 0.99] become [0.0, 0.99] (torch 2.13's Adam wants both floats or
                            both tensors; their lazy phases turned the 0 into 0.0 by raising it to mb_ratio).
  training/training_loop.py the device is the CPU (not cuda:rank); conv2d_gradfix and grid_sample_gradfix stay
                            off (plain torch ops); no CUDA timing events; no pin_memory() on the latents'
                            labels; the gpumem log field is 0 and the CUDA peak-memory reset is dropped.
  torch_utils/misc.py       InfiniteSampler calls Sampler.__init__() without the dataset (torch 2.13's Sampler
                            takes no arguments: "object.__init__() takes exactly one argument").
  dnnlib/util.py            `import requests` (not installed here; only used to open URLs) may fail.
Their custom ops need no patch: bias_act and upfirdn2d only try to build their CUDA plugin for CUDA tensors
(`impl == 'cuda' and x.device.type == 'cuda' and _init()`), so CPU tensors take the reference code, and
conv2d_gradfix falls back to torch's conv2d off CUDA; metrics are off (--metrics=none).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OFFICIAL = "/work/.mirror/NVlabs+stylegan2-ada-pytorch/repo"
RUN_PREFIX = "00000-"  # their first run folder in a fresh --outdir

SAMPLER = '''"""Written by ganforge's benchmarks/official_stylegan2.py: samples of a snapshot of this folder's own run."""
import sys

import numpy as np
import torch

import legacy

pkl, out_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(pkl, "rb") as f:
    nets = legacy.load_network_pkl(f)
for name in ("G_ema", "G"):
    G = nets[name].eval().requires_grad_(False)
    z = np.concatenate([np.random.RandomState(seed).randn(1, G.z_dim) for seed in range(n)])  # as generate.py
    chunks = []
    with torch.no_grad():
        for batch in torch.from_numpy(z).float().split(250):
            img = G(batch, torch.zeros([len(batch), G.c_dim]), truncation_psi=1, noise_mode="const")
            chunks.append((img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy())
    np.save(f"{out_dir}/{name}.npy", np.concatenate(chunks))
'''


def patch(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in one extracted file; their code changed if the text is not there `count` times."""
    text = path.read_text(encoding="utf-8-sig")
    found = text.count(old)
    assert found == count, f"{path.name}: expected {count} x {old!r}, found {found}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def extract(official: Path, code: Path) -> str:
    """A fresh copy of the official code in `code` (from a git dir's HEAD or a folder); returns its commit."""
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    if (official / "HEAD").is_file() and (official / "objects").is_dir():  # a (bare) git directory
        archive = subprocess.run(["git", f"--git-dir={official}", "archive", "HEAD"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
        commit = subprocess.run(["git", f"--git-dir={official}", "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        return commit
    shutil.copytree(official, code, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    return "unknown (a folder)"


def apply_patches(code: Path, args: argparse.Namespace) -> None:
    """The CPU patches and the `ganforge` config, listed in the module docstring."""
    train = code / "train.py"
    patch(train, "type=click.Choice(['auto', 'stylegan2', 'paper256', 'paper512', 'paper1024', 'cifar'])",
          "type=click.Choice(['auto', 'stylegan2', 'paper256', 'paper512', 'paper1024', 'cifar', 'ganforge'])")
    ramp = args.ema_rampup if args.ema_rampup > 0 else None
    spec = (f"        'ganforge':  dict(ref_gpus=1,  kimg={args.kimg!r}, mb=64, mbstd={args.mbstd_group}, "
            f"fmaps={64 * args.width}/32768, lrate={args.lr_d!r}, gamma={args.gamma!r}, ema=10, ramp={ramp!r}, "
            f"map={args.map}),\n")
    cifar_spec = ("        'cifar':     dict(ref_gpus=2,  kimg=100000, mb=64, mbstd=32, fmaps=1,   lrate=0.0025, gamma=0.01,"
                  " ema=500, ramp=0.05, map=2),\n")
    patch(train, cifar_spec, cifar_spec + spec)
    cifar_block = "        args.D_kwargs.architecture = 'orig' # disable residual skip connections\n"
    block = f"""
    if cfg == 'ganforge': # ganforge benchmark: collapse_probe.py's StyleGAN2 at width {args.width}
        args.G_kwargs.z_dim = args.G_kwargs.w_dim = 128
        args.G_kwargs.synthesis_kwargs.channel_base = args.D_kwargs.channel_base = {64 * args.width}
        args.G_kwargs.synthesis_kwargs.channel_max = args.D_kwargs.channel_max = {4 * args.width}
        args.D_kwargs.epilogue_kwargs.mbstd_num_channels = 1
        args.loss_kwargs.pl_weight = 0 # no path length regularization...
        args.G_reg_interval = None # ...so no lazy G phase, and G's Adam is not corrected for one
        args.D_reg_interval = {16 if args.gamma > 0 else None} # as ours: no lazy correction without R1
        args.loss_kwargs.style_mixing_prob = 0.9
        args.G_opt_kwargs.lr = {args.lr_g!r}
        args.D_opt_kwargs.lr = {args.lr_d!r}
        args.kimg_per_tick = 1
        args.data_loader_kwargs = dnnlib.EasyDict(pin_memory=False, num_workers=0) # one process on a CPU
"""
    patch(train, cifar_block, cifar_block + block)
    patch(train, "betas=[0,0.99]", "betas=[0.0,0.99]", count=2)  # torch 2.13's Adam: "both floats or both Tensors"

    loop = code / "training" / "training_loop.py"
    patch(loop, "device = torch.device('cuda', rank)", "device = torch.device('cpu')")
    patch(loop, "    conv2d_gradfix.enabled = True ", "    conv2d_gradfix.enabled = False")
    patch(loop, "grid_sample_gradfix.enabled = True ", "grid_sample_gradfix.enabled = False")
    patch(loop, "torch.cuda.Event(enable_timing=True)", "None", count=2)
    patch(loop, "torch.from_numpy(np.stack(all_gen_c)).pin_memory().to(device)",
          "torch.from_numpy(np.stack(all_gen_c)).to(device)")
    patch(loop, "torch.cuda.max_memory_allocated(device) / 2**30", "0.0")
    patch(loop, "        torch.cuda.reset_peak_memory_stats()\n", "")

    patch(code / "torch_utils" / "misc.py", "        super().__init__(dataset)\n", "        super().__init__()\n")
    patch(code / "dnnlib" / "util.py", "\nimport requests\n",
          "\ntry:\n    import requests\nexcept ImportError: # ganforge benchmark: only needed for URLs\n    requests = None\n")
    (code / "ganforge_sample.py").write_text(SAMPLER)


def write_mnist(folder: Path) -> int:
    """Our built-in mnist at 32 px as greyscale PNGs ('L': their ImageFolderDataset reads them as [1, 32, 32])."""
    import PIL.Image

    from ganforge.data import resolve_dataset

    images = resolve_dataset("mnist", 32).images  # uint8 [N, 32, 32, 1]
    done = folder / "complete"
    if done.exists() and done.read_text() == str(len(images)):
        return len(images)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        PIL.Image.fromarray(image[:, :, 0], "L").save(folder / f"img{i:05d}.png")
    done.write_text(str(len(images)))
    return len(images)


def read_stats(run_dir: Path) -> list[dict[str, Any]]:
    """Their stats.jsonl: one row per tick, each value {num, mean, std}."""
    return [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines() if line.strip()]


def tick_images_per_sec(rows: list[dict[str, Any]]) -> float | None:
    """Median images/s of the ticks after the first (which holds start-up and their first batch only)."""
    rates = [1000.0 / row["Timing/sec_per_kimg"]["mean"] for row in rows[1:] if row["Timing/sec_per_kimg"]["mean"] > 0]
    return round(statistics.median(rates), 2) if rates else None


def finished_run(outdir: Path) -> tuple[Path, dict[str, Any], list[dict[str, Any]], Path]:
    """The official run's folder in `outdir`, its training options, its statistics and its last snapshot (a pickle,
    unpickled only by their code, in their folder)."""
    run_dir = next(outdir.glob(f"{RUN_PREFIX}*"))
    options = json.loads((run_dir / "training_options.json").read_text())
    return run_dir, options, read_stats(run_dir), sorted(run_dir.glob("network-snapshot-*.pkl"))[-1]


def sample_coverage(samples: Path, n: int) -> tuple[float, dict[str, Any]]:
    """digit_coverage.py's classifier (its accuracy) and its coverage of the official G_ema's and G's n samples,
    saved by their sampling script as uint8 [n, 32, 32, 1] arrays under `samples`."""
    sys.path.insert(0, str(HERE))
    from digit_coverage import coverage, real_digits, trained_classifier

    from ganforge.imaging import uint8_to_tensor

    images, labels = real_digits()
    net, accuracy = trained_classifier(images, labels)
    rows_cov = {}
    for which in ("G_ema", "G"):
        fake = np.load(samples / f"{which}.npy")
        assert fake.shape == (n, 32, 32, 1) and fake.dtype == np.uint8, (fake.shape, fake.dtype)
        with torch.no_grad():
            rows_cov[which] = coverage(net, uint8_to_tensor(fake))
    return accuracy, rows_cov


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", default=DEFAULT_OFFICIAL, help="their repository: a git dir (HEAD) or a folder")
    parser.add_argument("--work", default="/tmp/official-sg2", help="scratch folder for their code, data and runs")
    parser.add_argument("--kimg", type=float, default=20.0)
    parser.add_argument("--lr-g", type=float, default=0.0025)
    parser.add_argument("--lr-d", type=float, default=0.0025)
    parser.add_argument("--gamma", type=float, default=0.05, help="R1 weight, lazily every 16 steps")
    parser.add_argument("--mbstd-group", type=int, default=4)
    parser.add_argument("--map", type=int, default=4, help="mapping network depth")
    parser.add_argument("--width", type=int, default=16, help="as ours: channel_base 64 * width, channel_max 4 * width")
    parser.add_argument("--ema-rampup", type=float, default=0.05, help="0 = none (ours: TrainConfig's 0.05)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=2000, help="samples labelled per generator")
    parser.add_argument("--snap-kimg", type=int, default=None, help="network snapshots every K kimg (default: the end)")
    args = parser.parse_args()

    work = Path(args.work).resolve()
    code = work / "code"
    commit = extract(Path(args.official).resolve(), code)
    apply_patches(code, args)
    num_images = write_mnist(work / "data" / "mnist32")
    tag = (f"w{args.width}-{args.kimg:g}k-lrg{args.lr_g:g}-lrd{args.lr_d:g}-g{args.gamma:g}-mb{args.mbstd_group}"
           f"-map{args.map}-ramp{args.ema_rampup:g}-s{args.seed}")
    outdir = work / "runs" / tag
    if outdir.exists():
        shutil.rmtree(outdir)
    snap = args.snap_kimg or max(1, math.ceil(args.kimg))  # ticks of 1 kimg; the last snapshot is always written
    command = [sys.executable, "train.py", f"--outdir={outdir}", f"--data={work / 'data' / 'mnist32'}", "--gpus=1",
               "--cfg=ganforge", f"--gamma={args.gamma!r}", "--aug=noaug", "--mirror=0", "--cond=0", "--fp32=1",
               "--metrics=none", f"--snap={snap}", f"--seed={args.seed}"]
    started = time.perf_counter()
    subprocess.run(command, cwd=code, check=True, stdout=sys.stderr)  # their output is not our JSON line
    seconds = time.perf_counter() - started
    run_dir, options, rows, snapshot = finished_run(outdir)
    samples = work / "samples" / tag
    samples.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "ganforge_sample.py", str(snapshot), str(samples), str(args.n)], cwd=code,
                   check=True, stdout=sys.stderr)
    accuracy, rows_cov = sample_coverage(samples, args.n)
    from report import machine
    settings = {k: getattr(args, k) for k in ("kimg", "lr_g", "lr_d", "gamma", "mbstd_group", "map", "width",
                                                "ema_rampup", "seed", "n", "snap_kimg")}
    official = {k: v for k, v in options.items() if k != "run_dir"}
    print(json.dumps({"benchmark": "official_stylegan2", "official": str(args.official), "commit": commit,
                      "settings": settings, "official_settings": official, "num_images": num_images,
                      "kimg": round(rows[-1]["Progress/kimg"]["mean"], 3), "train_sec": round(seconds, 1),
                      "images_per_sec": tick_images_per_sec(rows), "snapshot": snapshot.name,
                      "sampling": {"seeds": f"0..{args.n - 1}", "truncation_psi": 1, "noise_mode": "const"},
                      "classifier_accuracy": accuracy, "coverage": rows_cov, "run": str(run_dir),
                      "machine": machine(), "threads_env": os.environ.get("OMP_NUM_THREADS")}), flush=True)


if __name__ == "__main__":
    main()
