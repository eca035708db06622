"""`ganforge train TASK --data DATA ...`: builds a TrainConfig, validates it, runs the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ganforge.cli.options import as_typed, flush_notes, old_name, renamed
from ganforge.cli.progress import DataProgress, TrainingProgress, err_console
from ganforge.config import field_default as d


def _h(text: str, name: str) -> str:
    return f"{text} [default: {d(name)}]"


def train_command(
    task: str = typer.Argument(..., help="What to train: image (generation), pix2pix (paired translation), cyclegan (unpaired translation), inpaint (fill holes, outpaint), superres (super-resolution), nextframe (video prediction), video (clips from noise, VGAN)."),
    data: str | None = typer.Option(None, "--data", help=("Built-in name (mnist, emoji, emoji-twitter, photos, digits), prepared dataset dir, or folder/zip of images; pix2pix: emoji (google -> twitter), a folder with A/ and B/, A|B images, edges:SRC, gray:SRC, labels:FOLDER; cyclegan: emoji (disjoint halves) or a folder with A/ and B/; nextframe and video: moving-mnist, moving-emoji[-twitter] or a folder/zip of videos (GIF; MP4/WebM with the video extra). [default: emoji; nextframe: moving-mnist; video: moving-emoji]")),
    model: str | None = typer.Option(None, "--model", help="Network family: image: dcgan | stylegan2 | r3gan; pix2pix: unet | spade; cyclegan: resnet; inpaint: lama; superres: srresnet | rrdb; nextframe: simvp; video: vgan [default: the task's first]."),
    resolution: int | None = typer.Option(None, "--resolution", help="Image side in pixels (nextframe, video: frame side) [default: 32; nextframe and video: 64]."),
    batch: int | None = typer.Option(None, "--batch", help="Global batch size, split across processes [default: 64; superres: 16, as SRGAN and ESRGAN]."),
    kimg: float | None = typer.Option(None, "--kimg", help="Budget in thousands of real images shown [default: 100 when no --minutes]."),
    minutes: float | None = typer.Option(None, "--minutes", help="Budget in wall-clock minutes (the first budget reached ends the run)."),
    runs_dir: str | None = typer.Option(None, "--runs-dir", help=_h("Parent folder of run directories (old name: --out).", "out")),
    out: str | None = old_name("--out"),
    name: str | None = typer.Option(None, "--name", help="Run directory name [default: <task>-<model>-<data>-<res>, numbered]. A folder that holds a run with checkpoints is refused (continue it with --resume); one whose run was stopped before its first checkpoint is started again in place, from step 0."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue a run directory (or checkpoint) exactly; only budgets may change, and TASK (and --model) must be the run's own. A run stopped before its first checkpoint starts again from step 0 in place."),
    seed: int | None = typer.Option(None, "--seed", help=_h("Seed for weights, data order and noise.", "seed")),
    cond: bool | None = typer.Option(None, "--cond/--no-cond", help="Class-conditional (needs labels). [default: no-cond]"),
    loss: str | None = typer.Option(None, "--loss", help="Adversarial loss: ns | hinge | lsgan | wgan-gp | rpgan | ragan [default: the model's: rpgan for r3gan, ragan for superres, else ns]; nextframe: mse (L2 alone) | adv (L2 + gradient difference + clip discriminator) [default: adv]."),
    augment: str | None = typer.Option(None, "--augment", help=_h("Augment D's inputs, real and fake: none | diffaug (colour, translation, cutout) | ada (adaptive; p steered by D's overfitting) | auto (ada under 30k images, else none). With --cond on classes that flips or rotations change (digits), use none or diffaug.", "augment")),
    ada_target: float | None = typer.Option(None, "--ada-target", help=_h("ADA: target of E[sign(D(real))].", "ada_target")),
    ada_kimg: float | None = typer.Option(None, "--ada-kimg", help=_h("ADA: kimg for p to move from 0 to 1.", "ada_kimg")),
    r1_gamma: float | None = typer.Option(None, "--r1-gamma", help="R1 penalty weight on real images (0 = off) [default: the model's: 0 for dcgan, 0.05 otherwise]."),
    r2_gamma: float | None = typer.Option(None, "--r2-gamma", help="R2 penalty weight on generated images (0 = off) [default: the model's: 0.05 for r3gan, else 0]."),
    r1_interval: int | None = typer.Option(None, "--r1-interval", help="Apply R1/R2 every N steps, scaled by N, with Adam's lr and betas corrected as StyleGAN2-ADA (N > 1) or inside D's step (N = 1) [default: 1 for r3gan, as its paper; 16 otherwise]."),
    pl_weight: float | None = typer.Option(None, "--pl-weight", help="StyleGAN2 path-length regularisation weight (the paper: 2) [default: 0, off]."),
    lr_g: float | None = typer.Option(None, "--lr-g", help=_h("Generator learning rate.", "lr_g")),
    lr_d: float | None = typer.Option(None, "--lr-d", help=_h("Discriminator learning rate.", "lr_d")),
    z_dim: int | None = typer.Option(None, "--z-dim", help=_h("Latent size.", "z_dim")),
    width: int | None = typer.Option(None, "--width", help=_h("Channel width of the outer layers.", "width")),
    d_norm: str | None = typer.Option(None, "--d-norm", help=_h("Discriminator normalisation: auto | batch | none (superres: auto and batch are batch norm without spectral norm, as ESRGAN).", "d_norm")),
    ema_kimg: float | None = typer.Option(None, "--ema-kimg", help="Generator EMA half-life in kimg (0 = off) [default: 10; 0 for pix2pix's unet and spade, whose batch-norm statistics an EMA cannot average]."),
    sample_every: float | None = typer.Option(None, "--sample-every", help=_h("Sample grid every N kimg.", "sample_every_kimg")),
    checkpoint_every: float | None = typer.Option(None, "--checkpoint-every", help=_h("Checkpoint every N kimg.", "checkpoint_every_kimg")),
    keep: int | None = typer.Option(None, "--keep", help=_h("Checkpoints kept.", "keep_checkpoints")),
    tick: float | None = typer.Option(None, "--tick", help=_h("Log statistics every N kimg.", "tick_kimg")),
    eval_every: float | None = typer.Option(None, "--eval-every", help="Log FID/KID/precision/recall every N kimg and keep the best-FID checkpoint in checkpoints/best [default: never]."),
    eval_n: int | None = typer.Option(None, "--eval-n", help=_h("Images per evaluation.", "eval_n")),
    precision: str | None = typer.Option(None, "--precision", help=_h("auto | fp32 | bf16 | fp16 (GPU only). auto: bf16 on a GPU or a CPU with native bf16 if one step's gradients agree with fp32's, else fp32.", "precision")),
    compile: bool | None = typer.Option(None, "--compile/--no-compile", help="torch.compile the networks. [default: no-compile]"),
    strict: bool | None = typer.Option(None, "--strict/--no-strict", help="Bad image files are errors, not skipped. [default: no-strict]"),
    direction: str | None = typer.Option(None, "--direction", help=_h("pix2pix/cyclegan: AtoB translates --data's A side into B (emoji: google -> twitter); BtoA the reverse.", "direction")),
    data_b: str | None = typer.Option(None, "--data-b", help="cyclegan: the second domain's images when --data names only the first (folder, zip, built-in)."),
    l1_weight: float | None = typer.Option(None, "--l1-weight", help="pix2pix/superres: weight of L1 to the target [default: 100 for unet, 0 for spade, 1e-2 for superres]."),
    fm_weight: float | None = typer.Option(None, "--fm-weight", help="pix2pix: weight of discriminator feature matching [default: 10 for spade, 0 for unet]."),
    d_layers: int | None = typer.Option(None, "--d-layers", help="pix2pix/cyclegan/superres: strided layers of the PatchGAN discriminator (3 = 70x70 patches) [default: 3]."),
    residual: bool | None = typer.Option(None, "--residual/--no-residual", help="pix2pix (unet), cyclegan: the generator predicts a change to its input (output = input + last layer, zero at the start), so an untrained model is the identity and unchanged detail passes at full resolution; needs input and output of the same channels (not edges: or gray:). [default: no-residual, as the papers]"),
    cycle_weight: float | None = typer.Option(None, "--cycle-weight", help="cyclegan: cycle-consistency weight per direction [default: 10]."),
    identity_weight: float | None = typer.Option(None, "--identity-weight", help="cyclegan: identity loss weight, times --cycle-weight (0 = off) [default: 0.5]."),
    pool_size: int | None = typer.Option(None, "--pool-size", help="cyclegan: batches of generated images kept in each history pool for D, i.e. steps of history (0 = off) [default: 50, the paper's 50 images at batch 1]."),
    upsample: str | None = typer.Option(None, "--upsample", help="pix2pix (unet), cyclegan, video: the generator's x2 steps: transpose (transposed convolutions, the papers) or resize (nearest-neighbour resize then a 3x3 convolution, Odena et al., against checkerboard artefacts). [default: transpose]"),
    n_blocks: int | None = typer.Option(None, "--n-blocks", help="cyclegan/inpaint/superres/nextframe: residual blocks per generator [default: cyclegan 9 at >= 256 px, else 6; srresnet 16; rrdb 23; lama 4; simvp 4 (translator)]."),
    hole_weight: float | None = typer.Option(None, "--hole-weight", help="inpaint: L1 weight of hole pixels against 1 for known ones [default: 6]."),
    scale: int | None = typer.Option(None, "--scale", help="superres: upscaling factor, 2 or 4; --resolution is the high-resolution side [default: 4]."),
    degradation: str | None = typer.Option(None, "--degradation", help="superres: how inputs are made: bicubic (classic) | realistic (Real-ESRGAN-style blur, resize, noise, JPEG) [default: bicubic]."),
    pretrain_kimg: float | None = typer.Option(None, "--pretrain-kimg", help="superres, nextframe --loss adv: kimg of pixel-loss-only pre-training (L1; nextframe: L2) before the adversarial phase [superres default: half of --kimg; 0 with --init; with --minutes alone give --kimg or --pretrain-kimg. nextframe default: 0, as Mathieu et al.]."),
    adv_weight: float | None = typer.Option(None, "--adv-weight", help="superres: relativistic adversarial loss weight (0 = a pixel-loss model) [default: 5e-3, with --l1-weight 1e-2]; nextframe --loss adv: weight of the clip discriminator's loss against L2's 1 [default: 0.05]."),
    perceptual_weight: float | None = typer.Option(None, "--perceptual-weight", help="superres, pix2pix: weight of a perceptual L1 on the FID Inception network's first convolutions (ESRGAN's and SPADE's VGG term, whose weights are not available here; superres: in the adversarial phase); 0 = off [default: superres 1, or 0 for crops under 20 px; pix2pix 0]."),
    init: str | None = typer.Option(None, "--init", help="superres: start the generator from this (pixel-loss) run."),
    clip_frames: int | None = typer.Option(None, "--clip-frames", help="nextframe: frames per training clip, observed + predicted [default: 20]; video: frames per clip [default: 16]. (old name: --frames)"),
    frames: int | None = old_name("--frames"),
    context_frames: int | None = typer.Option(None, "--context-frames", help="nextframe: observed frames the prediction is conditioned on; the rest of each clip is predicted [default: 10]."),
    gdl_weight: float | None = typer.Option(None, "--gdl-weight", help="nextframe --loss adv: weight of the image gradient difference loss [default: 1]."),
    mask_weight: float | None = typer.Option(None, "--mask-weight", help="video: weight of VGAN's L1 sparsity penalty on the foreground mask [default: 0.1]."),
    lr_decay_start: float | None = typer.Option(None, "--lr-decay-start", help="Fraction of the --kimg budget after which learning rates fall linearly to 0 (1 = constant) [default: 0.5 for cyclegan, else 1]."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate, resolve the data and print the config; train nothing."),
) -> None:
    """Train a GAN. Writes config.json, checkpoints/, samples/, metrics.jsonl and report.html into the run dir."""
    from ganforge.api import train

    # The contract lists --out among train's options, so its old meaning stays accepted, with a note, until that changes.
    out, _ = renamed("train", "--runs-dir", runs_dir, "--out", out, until="the parent folder of run directories")
    frames, frames_flag = renamed("train", "--clip-frames", clip_frames, "--frames", frames)
    overrides = dict(
        task=task, data=data, model=model, resolution=resolution, batch=batch, kimg=kimg, minutes=minutes, out=out,
        name=name, seed=seed, cond=cond, loss=loss, augment=augment, ada_target=ada_target, ada_kimg=ada_kimg,
        r1_gamma=r1_gamma, r2_gamma=r2_gamma, r1_interval=r1_interval, pl_weight=pl_weight, lr_g=lr_g, lr_d=lr_d, z_dim=z_dim,
        width=width, d_norm=d_norm, ema_kimg=ema_kimg, sample_every_kimg=sample_every,
        checkpoint_every_kimg=checkpoint_every, keep_checkpoints=keep, tick_kimg=tick, precision=precision,
        compile=compile, strict=strict, eval_every_kimg=eval_every, eval_n=eval_n, direction=direction, data_b=data_b,
        l1_weight=l1_weight, fm_weight=fm_weight, d_layers=d_layers, residual=residual, upsample=upsample,
        cycle_weight=cycle_weight, identity_weight=identity_weight, pool_size=pool_size, n_blocks=n_blocks, lr_decay_start=lr_decay_start,
        hole_weight=hole_weight,
        scale=scale, degradation=degradation, pretrain_kimg=pretrain_kimg, adv_weight=adv_weight, init=init,
        perceptual_weight=perceptual_weight,
        frames=frames, context_frames=context_frames, gdl_weight=gdl_weight, mask_weight=mask_weight,
    )
    overrides = {k: v for k, v in overrides.items() if v is not None}  # with --resume, TASK must be the run's own
    # Resolve (fetch, prepare, cache) the data first under its own bar; the real run reuses what it loaded.
    data_memo: dict = {}
    with as_typed({"--frames": frames_flag}), DataProgress("preparing data") as data_bar:  # config says --frames
        plan = train(resume=resume, dry_run=True, on_data_progress=data_bar, data_memo=data_memo, **overrides)
    flush_notes()  # before a run that may take hours, not after it
    if dry_run:
        typer.echo(json.dumps(plan, indent=2))
        return
    resolved = plan["config"]  # budgets as the run will use them (a resumed run's own included)
    total = resolved["kimg"] if resolved["kimg"] is not None else (None if resolved["minutes"] else 100.0)
    minutes = resolved["minutes"]
    with as_typed({"--frames": frames_flag}), TrainingProgress(total, minutes) as bar:
        result = train(resume=resume, on_progress=bar.update, on_data_progress=None, data_memo=data_memo, **overrides)
    summary = (
        f"{result.status}: {result.kimg:.3f} kimg in {result.wall_sec:.0f} s ({result.images_per_sec:.0f} img/s); "
        f"run {result.run_dir}; checkpoint {result.checkpoint}; report {result.run_dir / 'report.html'}"
    )
    err_console.print(summary, highlight=False, soft_wrap=True)
    if result.status == "interrupted":
        err_console.print(f"resume with: ganforge train {task} --resume {result.run_dir}", highlight=False)
        raise typer.Exit(130)
