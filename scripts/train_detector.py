"""Train the detector of generated images that ships as src/ganforge/provenance/detector-{probe,cnn}.safetensors.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_detector.py --work /tmp/det

From scratch, in WORK (everything reused when there from an earlier call):
1. generators: the zoo's DCGANs (zoo:emoji-32, zoo:mnist-32) and two StyleGAN2 runs trained here (emoji and
   photos, 32 px, width 16, --sg2-kimg each: 20 kimg, about 6-8 minutes on one thread) into WORK/runs; and AutoGAN's
   simulator (Zhang et al. 2019): a DCGAN generator drawing real images back from an encoder's code (3,000 L1 steps,
   about 3 minutes; WORK/autoencoder.safetensors), whose outputs are the real pictures with a generator's traces;
2. images, by domain so that content alone tells nothing: each generator's own training set is the real side of
   its domain (emoji: DCGAN, StyleGAN2 and the simulator; mnist: DCGAN and the simulator; photos at 32 px: StyleGAN2
   and the simulator), and domains weigh the same. Real images come from each set's train split only (`data.split`:
   the test split, emoji and photos held out by group, is what benchmarks/provenance_detector.py measures on);
   generated ones from seeds 0.., the benchmark's from seeds TEST_SEED..; the simulator redraws the train split's
   real images. Pipelines are called with watermark=False: the detector must not learn our own watermark;
3. the probe: Inception features of --probe-n real and --probe-n generated images per domain (cached in
   WORK/features), the L2 penalty chosen by leaving each domain out in turn (the best mean AP on the domain
   left out), then fitted on everything;
4. the CNN: --cnn-steps steps of 64 crops (32 px, at even offsets) drawn domain by domain, half real, with
   CNNDetection's blur and JPEG, reading the crops' neighbour residual (NPR, Tan et al. 2024; --cnn-reads pixels for
   the pixels themselves); 10% of every source held out to report its validation AP and accuracy.
Writes both files (--out-dir) with what made them in their metadata, and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganforge
from ganforge.provenance import detector as det

ROOT = Path(__file__).resolve().parents[1]
TEST_SEED = 100_000  # the benchmark's generated images start here; training uses seeds below it
SG2 = dict(task="image", model="stylegan2", resolution=32, width=16, seed=0)
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # the probe's L2 penalties tried (per sample, standardised features)

# domain -> (real sources, generators trained on them); a real source is (dataset, resolution). Real images are
# only those of the generators' own training sets: a real-only set (a style no generator imitates) would teach
# "this style is real", and a second real set of a domain "the generators' style is fake" (both measured: the
# CNN then called 90% of real mnist generated and every `digits` image real).
# Each domain also holds AutoGAN's simulated fakes ("autoencoder-DOMAIN", see `train_autoencoder`): its real images
# drawn back by a DCGAN generator, the same pictures differing only by what a generator leaves.
Domains = dict[str, tuple[list[tuple[str, int]], list[str]]]
DOMAINS: Domains = {
    "emoji": ([("emoji", 32)], ["dcgan-emoji", "stylegan2-emoji", "autoencoder-emoji"]),
    "mnist": ([("mnist", 32)], ["dcgan-mnist", "autoencoder-mnist"]),
    "photos": ([("photos", 32)], ["stylegan2-photos", "autoencoder-photos"]),
}
AUTOENCODER = dict(width=32, z_dim=256, steps=3000, batch=64, lr=2e-4)  # AutoGAN's simulator, DCGAN-sized


def without_simulator(domains: Domains) -> Domains:
    """The domains with only the trained generators as the generated side."""
    return {d: (reals, [g for g in gens if not g.startswith("autoencoder-")]) for d, (reals, gens) in domains.items()}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- shared with benchmarks/provenance_detector.py -----------------------------------------------------------------


def ensure_run(work: Path, name: str, minutes: float | None, **settings: Any) -> Path:
    """WORK/runs/NAME trained with `settings` to its kimg; a run that stopped short of it (a --minutes budget, a
    kill) is resumed to it (resume is exact), one that reached it is reused."""
    from ganforge.engine.checkpoint import latest_checkpoint

    run = work / "runs" / name
    kimg = settings.pop("kimg")
    done = 0.0
    if run.is_dir() and any((run / "checkpoints").glob("*")):
        done = float(latest_checkpoint(run).name.split("-")[-1])
        if done >= kimg - 0.1:
            log(f"reusing {run} ({done:g} kimg)")
            return run
    budget = dict(kimg=kimg, minutes=minutes, checkpoint_every_kimg=kimg, keep_checkpoints=1, sample_every_kimg=kimg)
    log(f"training {name} from {done:g} to {kimg:g} kimg" + (f" (at most {minutes:g} min)" if minutes else ""))
    if done:  # a resume keeps the run's own time budget unless given one: None would keep it
        result = ganforge.train(resume=run, **{**budget, "minutes": minutes or 1e6})
    else:
        result = ganforge.train(**settings, **budget, out=str(work / "runs"), name=name)
    log(f"{name}: {result.kimg:.1f} kimg, {result.wall_sec:.0f} s this call ({result.status})")
    return run


def train_split_folder(work: Path, data: str, resolution: int) -> Path:
    """WORK/data/DATA-train-R: a built-in's train split as PNG files, for a generator to train on. A generator that
    saw the test split draws its look as "generated" while the real side never shows it: a StyleGAN2 trained on all
    six photos drew the held-out Hubble field's dark speckle, and the probe learned to call that photo generated."""
    from PIL import Image

    images = real_images(data, resolution, split="train")
    folder = work / "data" / f"{data}-train-{resolution}"
    if folder.is_dir() and len(list(folder.glob("*.png"))) == len(images):
        return folder
    tmp = folder.with_name(f".{folder.name}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(tmp / f"{i:05d}.png")
    if folder.is_dir():  # a stale copy (another split seed or data version): ours to replace
        shutil.rmtree(folder)
    tmp.replace(folder)
    return folder


def generator_pipes(work: Path, sg2_kimg: float, sg2_minutes: float | None) -> dict[str, Any]:
    """The trained-against generators by name, StyleGAN2 runs trained first where missing (on the train splits;
    the zoo's DCGANs, trained for hours, saw all of their sets)."""
    runs = {f"stylegan2-{data}": ensure_run(work, f"stylegan2-{data}-train-32", sg2_minutes,
                                            data=str(train_split_folder(work, data, 32)), kimg=sg2_kimg, **SG2)
            for data in ("emoji", "photos")}
    return {"dcgan-emoji": ganforge.load("zoo:emoji-32"), "dcgan-mnist": ganforge.load("zoo:mnist-32"),
            **{k: ganforge.load(v) for k, v in runs.items()}}


def train_autoencoder(work: Path, reals: dict, seed: int = 0) -> torch.nn.Module:
    """AutoGAN's simulator (Zhang, Karaman & Chang 2019): a DCGAN generator that draws real images back from an
    encoder's code (CAAE's `BottleneckEditor` with one class), trained by L1 on the real train images of every
    domain. Its outputs share their pictures with real ones, so a detector trained against them learns what a
    generator's upsampling leaves rather than what generated pictures show. Cached as WORK/autoencoder.safetensors."""
    from safetensors.torch import load_file, save_file

    from ganforge.nets.attribute import BottleneckEditor

    cfg = AUTOENCODER
    model = BottleneckEditor(channels=3, classes=1, resolution=32, width=cfg["width"], z_dim=cfg["z_dim"])
    path = work / "autoencoder.safetensors"
    if path.is_file():
        model.load_state_dict(load_file(str(path)))
        return model.eval().requires_grad_(False)
    if not reals:
        raise SystemExit(f"no simulator in {work}: run scripts/train_detector.py --work {work} first")
    images = torch.from_numpy(np.concatenate([rgb(v) for v in reals.values()])).permute(0, 3, 1, 2)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], betas=(0.5, 0.999))
    started = time.perf_counter()
    model.train()
    for step in range(cfg["steps"]):
        x = images[torch.randint(len(images), (cfg["batch"],), generator=gen)].float() / 127.5 - 1
        loss = (model(x, torch.zeros(len(x), dtype=torch.long)) - x).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 500 == 0:
            log(f"autoencoder step {step + 1}/{cfg['steps']}: L1 {float(loss.detach()):.4f}")
    log(f"autoencoder: {time.perf_counter() - started:.0f} s")
    save_file(model.state_dict(), str(path))
    return model.eval().requires_grad_(False)


@torch.inference_mode()
def reconstruct(model: torch.nn.Module, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """uint8 [N, 32, 32, C] -> the autoencoder's uint8 drawings of them, with C channels: grey images come back
    grey (the mean of its three), so colour never tells the two apart."""
    out = []
    for start in range(0, len(images), batch):
        x = torch.from_numpy(rgb(images[start : start + batch])).permute(0, 3, 1, 2).float() / 127.5 - 1
        y = model(x, torch.zeros(len(x), dtype=torch.long))
        if images.shape[3] == 1:
            y = y.mean(dim=1, keepdim=True)
        out.append(((y + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)


def simulated_fakes(work: Path, reals: dict, domains: Domains = DOMAINS) -> dict[str, np.ndarray]:
    """{"autoencoder-DOMAIN": the autoencoder's drawings of that domain's real images} (`reals` by source)."""
    model = train_autoencoder(work, reals)
    return {g: reconstruct(model, np.concatenate([reals[s] for s in real_sources]))
            for real_sources, gens in domains.values() for g in gens if g.startswith("autoencoder-")}


def sample(pipe: Any, n: int, seed: int) -> np.ndarray:
    """uint8 [n, H, W, C] from seeds seed..seed+n-1, fresh noise per seed, unwatermarked."""
    return pipe(seeds=list(range(seed, seed + n)), output_type="np", noise_mode="random", watermark=False)


def real_images(data: str, resolution: int, split: str) -> np.ndarray:
    """uint8 [N, R, R, C] of a built-in's split; emoji-twitter is the paired set's B side, so its split is the one
    pix2pix uses."""
    if data == "emoji-twitter":
        from ganforge.data import resolve_paired

        return np.asarray(resolve_paired("emoji", resolution, split=split).b)
    from ganforge.data.split import resolve_split_images

    return np.asarray(resolve_split_images(data, resolution, split=split)[1])


def subset(images: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    from ganforge.metrics.compute import subset_indices

    return images[subset_indices(len(images), n, seed)]


def cached_features(images: np.ndarray, work: Path, tag: str) -> np.ndarray:
    """Inception features of `images`, cached in WORK/features by tag and content."""
    from ganforge.metrics.extract import array_fingerprint

    folder = work / "features"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tag}-{array_fingerprint(images)[:16]}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    started = time.perf_counter()
    feats = det.probe_features(images)
    log(f"features of {tag}: {len(images)} images in {time.perf_counter() - started:.0f} s")
    tmp = path.with_name(f".{path.name}.tmp.npy")
    np.save(tmp, feats, allow_pickle=False)
    tmp.replace(path)
    return feats


def rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images, 3, axis=3) if images.shape[3] == 1 else images


# --- training ------------------------------------------------------------------------------------------------------


def train_probe(work: Path, reals: dict, fakes: dict, per_domain: int,
                domains_: Domains = DOMAINS) -> tuple[det.LinearProbe, dict]:
    """The L2 penalty is the one whose probes, each fitted without one domain, rank that domain's real and generated
    images best (mean AP): a stand-in for generators and content it never saw. An in-distribution check (a random
    15% held out) is reported beside it."""
    feats, labels, domains = [], [], []
    for domain, (real_sources, gens) in domains_.items():
        for sources, label, pool in ((real_sources, 0, reals), (gens, 1, fakes)):
            for src in sources:
                images = subset(pool[src], per_domain // len(sources))
                tag = src if isinstance(src, str) else "-".join(map(str, src))
                feats.append(cached_features(images, work, f"train-{tag}"))
                labels.append(np.full(len(images), label))
                domains.append(np.full(len(images), domain))
    x, y, d = np.concatenate(feats), np.concatenate(labels), np.concatenate(domains)

    def scored(train: np.ndarray, test: np.ndarray, l2: float) -> dict[str, float]:
        probe = det.fit_probe(x[train], y[train], l2=l2)
        p = probe.probability(x[test])
        return {"ap": det.average_precision(y[test], p), "accuracy": det.accuracy(y[test], p)}

    grid = {}
    for l2 in L2_GRID:
        grid[l2] = {domain: scored(d != domain, d == domain, l2) for domain in domains_}
        grid[l2]["mean_ap"] = float(np.mean([grid[l2][domain]["ap"] for domain in domains_]))
        log(f"probe l2={l2:g}, each domain left out: {grid[l2]}")
    best = max(L2_GRID, key=lambda k: grid[k]["mean_ap"])
    val = np.zeros(len(y), dtype=bool)
    val[np.random.default_rng(0).choice(len(y), int(0.15 * len(y)), replace=False)] = True
    probe = det.fit_probe(x, y, l2=best)
    info = {"l2": best, "validation": scored(~val, val, best), "left_out_domain": grid[best],
            "l2_grid_mean_ap": {str(k): v["mean_ap"] for k, v in grid.items()},
            "n_real": int((y == 0).sum()), "n_generated": int((y == 1).sum())}
    return probe, info


def train_cnn(reals: dict, fakes: dict, steps: int, seed: int, reads: str = "pixels",
              augmented: bool = True, domains_: Domains = DOMAINS) -> tuple[det.DetectorCNN, dict]:
    """Sources split 90/10 (train/validation); each crop's domain, then source, then image drawn uniformly."""
    def split(pool: dict) -> tuple[dict, dict]:
        train, val = {}, {}
        for key, images in pool.items():
            idx = np.random.default_rng(1).permutation(len(images))
            cut = max(1, len(images) // 10)
            train[key], val[key] = rgb(images[idx[cut:]]), rgb(images[idx[:cut]])
        return train, val

    real_train, real_val = split(reals)
    fake_train, fake_val = split(fakes)
    domains = list(domains_)

    def pick(pool: dict, which: int, n: int, gen: torch.Generator) -> list[np.ndarray]:
        out = []
        for _ in range(n):
            sources = domains_[domains[int(torch.randint(len(domains), (1,), generator=gen))]][which]
            images = pool[sources[int(torch.randint(len(sources), (1,), generator=gen))]]
            out.append(images[int(torch.randint(len(images), (1,), generator=gen))])
        return out

    def draw(n: int, gen: torch.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return pick(real_train, 0, n, gen), pick(fake_train, 1, n, gen)

    started = time.perf_counter()
    model = det.train_cnn(draw, steps=steps, seed=seed, reads=reads, augmented=augmented,
                          progress=lambda s, loss: log(f"cnn step {s}/{steps}: loss {loss:.4f}"))
    train_sec = time.perf_counter() - started
    val_real = [im for v in real_val.values() for im in v]
    val_fake = [im for v in fake_val.values() for im in v]
    p = det.sigmoid(det.cnn_logits(model, val_real + val_fake))
    y = np.r_[np.zeros(len(val_real)), np.ones(len(val_fake))]
    by_domain = {}
    for domain, (real_sources, gens) in domains_.items():
        pr = det.sigmoid(det.cnn_logits(model, [im for s in real_sources for im in real_val[s]]))
        pf = det.sigmoid(det.cnn_logits(model, [im for g in gens for im in fake_val[g]]))
        yd = np.r_[np.zeros(len(pr)), np.ones(len(pf))]
        by_domain[domain] = {"ap": det.average_precision(yd, np.r_[pr, pf]), "accuracy": det.accuracy(yd, np.r_[pr, pf])}
    info = {"steps": steps, "batch": 64, "crop": det.CNN_CROP, "seed": seed, "reads": reads, "augmented": augmented, "train_sec": round(train_sec, 1),
            "validation": {"ap": det.average_precision(y, p), "accuracy": det.accuracy(y, p),
                           "n_real": len(val_real), "n_generated": len(val_fake), "by_domain": by_domain},
            "n_real_train": sum(len(v) for v in real_train.values()),
            "n_generated_train": sum(len(v) for v in fake_train.values()),
            "parameters": sum(t.numel() for t in model.parameters())}
    return model, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/det"))
    parser.add_argument("--out-dir", type=Path, default=ROOT / "src" / "ganforge" / "provenance")
    parser.add_argument("--sg2-kimg", type=float, default=20.0)
    parser.add_argument("--sg2-minutes", type=float, default=None, help="a time budget besides --sg2-kimg")
    parser.add_argument("--probe-n", type=int, default=400, help="real and generated images per domain for the probe")
    parser.add_argument("--cnn-n", type=int, default=3000, help="images per source at most for the CNN")
    parser.add_argument("--cnn-steps", type=int, default=6000)
    parser.add_argument("--cnn-reads", choices=det.INPUTS, default="npr",
                        help="what the CNN reads: the pixels, or their neighbour residual (NPR)")
    parser.add_argument("--no-augment", action="store_true", help="train the CNN without CNNDetection's blur and JPEG")
    parser.add_argument("--no-simulator", action="store_true",
                        help="train against the DCGANs and StyleGAN2s alone, without AutoGAN's simulated fakes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["probe", "cnn"], default=None, help="train one detector only")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    pipes = generator_pipes(args.work, args.sg2_kimg, args.sg2_minutes)
    reals = {src: subset(real_images(*src, split="train"), args.cnn_n) for real_sources, _ in DOMAINS.values()
             for src in real_sources}
    fakes = {name: sample(pipe, args.cnn_n, seed=0) for name, pipe in pipes.items()}
    domains = without_simulator(DOMAINS) if args.no_simulator else DOMAINS
    if not args.no_simulator:
        fakes.update(simulated_fakes(args.work, reals, domains))
    log("images: " + ", ".join(f"{k}: {v.shape}" for k, v in {**reals, **fakes}.items()))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from report import machine

    common = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
              "domains": {d: {"real": [f"{s}@{r} (train split)" for s, r in rs], "generated": g}
                          for d, (rs, g) in domains.items()},
              "generated_seeds": f"0..{args.cnn_n - 1}", "watermark_off": {k: True for k in pipes}}
    summary: dict[str, Any] = {}
    if args.only in (None, "probe"):
        t = time.perf_counter()
        probe, info = train_probe(args.work, reals, fakes, args.probe_n, domains)
        info["train_sec"] = round(time.perf_counter() - t, 1)
        path = det.save_probe(probe, args.out_dir / det.PROBE_FILE.name,
                              {"threshold": str(det.THRESHOLD), "extractor": "tf-inception-v3-pool3 (clean-bicubic 299)",
                               "trained": {**common, **info}})
        summary["probe"] = {**info, "file": str(path), "bytes": path.stat().st_size}
    if args.only in (None, "cnn"):
        model, info = train_cnn(reals, fakes, args.cnn_steps, args.seed, args.cnn_reads, not args.no_augment, domains)
        augmentation = "none" if args.no_augment else "blur sigma 0-3 p 0.5, JPEG 30-100 p 0.5"
        path = det.save_cnn(model, args.out_dir / det.CNN_FILE.name,
                            {"threshold": str(det.THRESHOLD), "augmentation": augmentation,
                             "trained": {**common, **info}})
        summary["cnn"] = {**info, "file": str(path), "bytes": path.stat().st_size}
    summary["total_sec"] = round(time.perf_counter() - started, 1)
    print(json.dumps({**common, **summary}, indent=2))


if __name__ == "__main__":
    main()
