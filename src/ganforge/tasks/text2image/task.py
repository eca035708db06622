"""Task `text2image`: DF-GAN's generator and matching-aware discriminator, trained on captioned images.

Each image carries several captions, embedded once (`text.cache`); every step draws one caption per image (seeded by
the step and the item's batch position, so resume and process counts replay it). D's loss is DF-GAN's: real images
with their captions are real, generated ones and real images paired with another image's caption are fake (half
weight each), plus the matching-aware gradient penalty on real pairs. The sentence embedding is the only condition.
With `--hard-negatives p`, a share p of the mismatched pairs is a real image with one of the nearest captions of
other images instead (`text.neighbours`: on emoji, mostly its own emoji in another skin tone or gender).
With `--contrastive-weight`, XMC-GAN's image-sentence term is added: D's contrastive heads learn to pick each real
image's caption out of the batch's (InfoNCE), and G is asked the same of its images through them; with
`--contrastive-hard k`, out of the batch's and its caption's k nearest captions of other images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.augment import AUGMENTS
from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext, Term
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.losses.contrastive import contrastive_loss
from ganforge.losses.regularizers import matching_aware_penalty
from ganforge.nets.dfgan import DFGANDiscriminator, DFGANGenerator, sentence_condition
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData, batch_positions
from ganforge.tasks.image.task import gan_optimizers
from ganforge.text.encoder import EMBED_DIM, NAME, WEIGHTS_SHA256

CONTRASTIVE_DIM = 128  # D's shared image-sentence space (XMC-GAN's projection heads)
HARD_SEED = 0x4A5D  # offsets the seed of the hard-mismatch draws from the caption draws'


@lru_cache(maxsize=2)
def training_captions(data: str, resolution: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """(CaptionedImages of the train split, every caption's unit embedding [K, 384], each image's first row
    [N + 1]): what load_data hands the trainer and what the task draws captions from, read once per process."""
    from ganforge.data.captions import resolve_captioned
    from ganforge.text.cache import caption_embeddings

    captioned = resolve_captioned(data, resolution, split="train")
    texts, _ = captioned.flat()
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in captioned.captions])])
    return captioned, caption_embeddings(texts), offsets


def caption_draw(seed: int, step: int, global_batch: int, rank: int, world_size: int) -> torch.Tensor:
    """A uniform number in [0, 1) for each of this process's items in step `step`: which of its captions it gets.
    A function of (seed, step, batch position) only."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    u = torch.rand(global_batch, generator=g)
    start = step * global_batch
    return u[[p - start for p in batch_positions(step, global_batch, rank, world_size)]]


@TASKS.register("text2image")
class Text2ImageTask(Task):
    """DF-GAN: G(z, sentence); D's features judged with a sentence; hinge loss with mismatched pairs and MA-GP."""

    name = "text2image"
    loss_names = ("Loss/D/adv", "Loss/D/mismatch", "Loss/D/magp", "Loss/D/contrastive", "Loss/G/adv",
                  "Loss/G/contrastive", "D/real", "D/fake", "D/mismatch")

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        captioned, _, _ = training_captions(config.data, config.resolution)
        images = captioned.images
        if images.shape[3] == 1:
            images = np.repeat(images, 3, axis=3)
        info = DataInfo(name=str(captioned.meta.get("data", config.data)), resolution=int(images.shape[1]),
                        channels=3, count=len(images))
        # The item's index rides as its "label": train_step looks its captions up by it.
        return TrainData(arrays={"image": images}, info=info, labels=np.arange(len(images), dtype=np.int64))

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        self.g_kwargs = dict(resolution=data.resolution, channels=data.channels, z_dim=config.z_dim,
                             text_dim=EMBED_DIM, width=config.width)
        self.G = DFGANGenerator(**self.g_kwargs)
        self.D = DFGANDiscriminator(resolution=data.resolution, channels=data.channels, text_dim=EMBED_DIM,
                                    width=config.width, embed_dim=CONTRASTIVE_DIM if config.contrastive_weight else 0)
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, self.G.parameters(), self.D.parameters())
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.augment = AUGMENTS.get(config.augment)()
        _, table, offsets = training_captions(config.data, config.resolution)
        self.sentences = sentence_condition(torch.from_numpy(table))  # [K, 384] every training caption, as G takes it
        self.offsets = torch.from_numpy(offsets)  # [N + 1]: image i's captions are rows offsets[i]:offsets[i+1]
        self.neighbours: torch.Tensor | None = None  # [K, k]: nearest captions of other images, made by `attach`
        terms = [Term(self._d_main)]
        if config.ma_gp_weight > 0:
            terms.append(Term(self._ma_gp, autocast=False))  # its double backward stays fp32
        self.runner = PhaseRunner(self, forward=self._generate, sync=(self.G, self.D), phases=[
            Phase("Dmain", "D", self.D, loss=terms),
            Phase("Gmain", "G", self.G, loss=self._g_main, frozen=(self.D,)),
        ])

    def attach(self, runtime: Any) -> None:
        super().attach(runtime)
        self.sentences = self.sentences.to(runtime.device)
        self.offsets = self.offsets.to(runtime.device)
        # here, not in __init__: the trainer first sizes the task on the meta device
        if self.config.hard_negatives or self.config.contrastive_hard:
            from ganforge.text.neighbours import cached_nearest_other_captions

            captioned, table, _ = training_captions(self.config.data, self.config.resolution)
            texts, owners = captioned.flat()
            self.neighbours = cached_nearest_other_captions(table, owners, texts, seed=self.config.seed).to(runtime.device)

    def caption_rows(self, items: torch.Tensor, step: int) -> torch.Tensor:
        """One caption per item (training image indices [N]), drawn for this step: its rows in the table [N]."""
        rt, cfg = self.runtime, self.config
        u = caption_draw(cfg.seed, step, cfg.batch, rt.rank, rt.world_size).to(items.device)
        first, count = self.offsets[items], self.offsets[items + 1] - self.offsets[items]
        return first + (u * count).long().clamp(max=count - 1)

    def hard_mismatches(self, rows: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(which items take a hard mismatch this step [N] bool, a nearest caption of another image for each
        [N, 384]): drawn from (seed, step, batch position) only, as the captions are."""
        rt, cfg = self.runtime, self.config
        u, v = (caption_draw(cfg.seed + HARD_SEED + i, step, cfg.batch, rt.rank, rt.world_size).to(rows.device)
                for i in (0, 1))
        which = (v * self.neighbours.shape[1]).long().clamp(max=self.neighbours.shape[1] - 1)
        found, nearest = self.neighbour_sentences(self.neighbours[rows, which])  # none found: DF-GAN's shift stays
        return (u < cfg.hard_negatives) & found, nearest

    def neighbour_sentences(self, nearest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of `self.neighbours` (any shape; -1 where a caption had no other image's caption) -> (which were
        found, bool, same shape; their sentences [..., 384], an arbitrary one where none was found)."""
        return nearest >= 0, self.sentences[nearest.clamp(min=0)]

    # ----------------------------------------------------------------------------------- training
    def _generate(self, ctx: StepContext) -> None:
        z = torch.randn(ctx.real.shape[0], self.config.z_dim, device=self.runtime.device)
        ctx.fake = self.G(z, ctx.sentence)  # [N, C, H, W]

    def _d_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.D.features(self.augment(ctx.real))
        ctx.d_real = self.D.judge(features, ctx.sentence).float()
        # image i + 1 with caption i (DF-GAN's shift): a real image that does not match its sentence; or, where a hard
        # mismatch is drawn, image i with a nearest caption of another image
        mismatched, sentence = features.roll(-1, dims=0), ctx.sentence
        if ctx.hard is not None:
            hard, nearest = ctx.hard
            mismatched = torch.where(hard[:, None, None, None], features, mismatched)
            sentence = torch.where(hard[:, None], nearest.to(sentence.dtype), sentence)
        ctx.d_mismatch = self.D.judge(mismatched, sentence).float()
        ctx.d_fake = self.D(self.augment(ctx.fake.detach()), ctx.sentence).float()
        fake_term = self.loss.d_loss(ctx.d_real, ctx.d_fake)
        mismatch_term = self.loss.d_loss(ctx.d_real, ctx.d_mismatch)
        ctx.loss_d = 0.5 * (fake_term + mismatch_term)  # hinge: relu(1 - real) + (relu(1 + fake) + relu(1 + mis)) / 2
        stats = {"Loss/D/mismatch": mismatch_term.detach()}
        if self.config.contrastive_weight:
            term = self._contrastive(features, ctx.sentence, ctx.rows)
            stats["Loss/D/contrastive"] = term.detach()
            return ctx.loss_d + self.config.contrastive_weight * term, stats
        return ctx.loss_d, stats

    def _contrastive(self, features: torch.Tensor, sentence: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """InfoNCE of images (D's features) against their sentences (caption rows [N]) in D's space; a caption drawn
        twice in one batch is not its own negative; with `contrastive_hard`, each image's row also holds that many
        of its caption's nearest captions of other images."""
        image, text = self.D.embed(features, sentence)
        same = (sentence[:, None, :] == sentence[None, :, :]).all(dim=2)
        extra = valid = None
        if self.config.contrastive_hard:
            valid, nearest = self.neighbour_sentences(self.neighbours[rows, :self.config.contrastive_hard])  # [N, k]
            extra = self.D.embed_text(nearest.to(sentence.dtype))
        return contrastive_loss(image, text, math.log(1 / self.config.contrastive_temperature), same, extra, valid)

    def _ma_gp(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        gp = matching_aware_penalty(lambda x, s: self.D(self.augment(x), s).float(), ctx.real, ctx.sentence,
                                    cfg.ma_gp_power)
        return cfg.ma_gp_weight * gp, {"Loss/D/magp": gp.detach()}

    def _g_main(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.D.features(self.augment(ctx.fake))
        ctx.loss_g = self.loss.g_loss(self.D.judge(features, ctx.sentence).float())
        if self.config.contrastive_weight:
            term = self._contrastive(features, ctx.sentence, ctx.rows)
            return ctx.loss_g + self.config.contrastive_weight * term, {"Loss/G/contrastive": term.detach()}
        return ctx.loss_g, {}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        real = batch["image"]  # [N, C, H, W] in [-1, 1]
        rows = self.caption_rows(batch["label"], step)
        hard = self.hard_mismatches(rows, step) if self.config.hard_negatives else None
        ctx = StepContext(step, real=real, sentence=self.sentences[rows], rows=rows, hard=hard)
        stats = self.runner.run(ctx)
        stats["Loss/D/adv"] = ctx.loss_d.detach()
        stats["Loss/G/adv"] = ctx.loss_g.detach()
        stats["D/real"] = ctx.d_real.detach().mean()
        stats["D/fake"] = ctx.d_fake.detach().mean()
        stats["D/mismatch"] = ctx.d_mismatch.detach().mean()
        return stats

    # ----------------------------------------------------------------------------------- sampling
    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Noise from `seed` and the first caption of n training images spread over the set."""
        g = torch.Generator().manual_seed(seed)
        images = torch.linspace(0, len(self.offsets) - 2, n).round().long().cpu()
        return {"z": torch.randn(n, self.config.z_dim, generator=g),
                "sentence": self.sentences[self.offsets[images.to(self.offsets.device)]].cpu()}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks.get("G_ema", networks["G"])
        device = next(G.parameters()).device
        return G(inputs["z"].to(device), inputs["sentence"].to(device))

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "text2image",
            "components": {"generator": {"class": "dfgan.generator", "kwargs": self.g_kwargs, "network": "G"}},
            "z_dim": self.config.z_dim,
            "resolution": self.data.resolution,
            "channels": self.data.channels,
            "text_encoder": {"name": NAME, "sha256": WEIGHTS_SHA256, "dim": EMBED_DIM},
        }
