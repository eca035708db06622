"""The swap task's step, over aligned crops with their visible-face masks (tasks/swap/data.py).

A crop's targets are its frame drawn at the crop's resolution (its clean twin, X_clean) and the exact swap drawn so
(X_swap), where the data have them (faceclips; a folder's crops are their own targets and have no swap): the networks
read the blurred aligned crop x, as they will in a video, and learn to draw the sharp face; D's real images and the
background a drawing is blended over are the clean twins.
`autoencoder` (faceswap): each face's crops redrawn by its own decoder from the shared code: L1 over the face and
L1 of the blend mask to the clean twin's (`rec_weight`); each swap (A's code through B's decoder, and back) judged by
that face's PatchGAN against that face's clean crops (`adv_weight`, LSGAN), and L1 to the exact swap (`truth_weight`;
0 is faceswap's losses alone).
`simswap`: G(x, e) draws the face whose embedding is e in crop x's place; for each crop with chance 1/2 e is its own
face (SimSwap's reconstruction: L1 to the clean twin over the face and on the mask, `rec_weight`), for the others
another face's, whose exact swap the data draw (L1 to it and its mask, `truth_weight`; 0 leaves SimSwap's losses
alone). On all of them: the identity loss 1 - cos(embed(swap), e) through the frozen encoder (`id_weight`), hinge
against one PatchGAN (`adv_weight`), and weak feature matching, L1 between D's last features of the swap and of the
clean twin (`fm_weight`).
The embeddings e are the encoder's reading of each face's reference crop (`swap.crops.reference_faces`), what
`ganforge swap --identity B` reads too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ganforge.config import TrainConfig
from ganforge.engine.phases import Phase, PhaseRunner, StepContext
from ganforge.errors import ConfigError
from ganforge.imaging import to_signed
from ganforge.losses.adversarial import AdversarialLoss
from ganforge.nets.patchgan import PatchGANDiscriminator
from ganforge.nets.swap import FaceswapAutoencoder, SimSwapGenerator, blend
from ganforge.registry import LOSSES, TASKS
from ganforge.tasks.base import DataInfo, Task, TrainData
from ganforge.tasks.image.task import gan_optimizers
from ganforge.tasks.swap.data import CLEAN, LABEL_BASE, SWAP
from ganforge.tasks.translation.base import check_discriminator_fits, pick_fixed

GRID_ROWS = 6
GRID_FACES = (0, 40, 80)  # simswap's grid: each crop swapped to these faces


def face_l1(drawn: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 between a drawing's face [N, 4, H, W] and a crop [N, 3, H, W] where the face shows (`mask` [N, 1, H, W] in
    0..1), plus L1 between the drawing's blend mask and `mask`."""
    face = ((drawn[:, :3].float() - target.float()).abs() * mask).sum() / (3 * mask.sum()).clamp(min=1.0)
    return face + (drawn[:, 3:].float() - mask).abs().mean()


def split_rgba(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A training array's [N, 4, H, W] in [-1, 1] -> the crop [N, 3, H, W] and its face mask [N, 1, H, W] in 0..1."""
    return x[:, :3], (x[:, 3:] + 1) / 2


def crop_and_targets(batch: dict[str, torch.Tensor], key: str) -> dict[str, Any]:
    """A batch's crops `key` (x, the networks' input), their targets (clean, clean_mask: the crop itself where the
    data draw none) and their exact swaps (swap, swap_mask; None where the data draw none)."""
    x, mask = split_rgba(batch[key])
    clean, clean_mask = split_rgba(batch[key + CLEAN]) if key + CLEAN in batch else (x, mask)
    swap, swap_mask = split_rgba(batch[key + SWAP]) if key + SWAP in batch else (None, None)
    return dict(x=x, clean=clean, clean_mask=clean_mask, swap=swap, swap_mask=swap_mask)


@TASKS.register("swap")
class SwapTask(Task):
    """Face swap over aligned crops (see the module doc)."""

    name = "swap"
    loss_names = ("Loss/G/rec", "Loss/G/truth", "Loss/G/id", "Loss/G/adv", "Loss/G/fm", "Loss/D/adv", "D/real",
                  "D/fake")
    ema_network = None

    @classmethod
    def load_data(cls, config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> TrainData:
        from ganforge.tasks.swap.data import swap_training_data

        return swap_training_data(config, progress)

    def __init__(self, config: TrainConfig, data: DataInfo) -> None:
        super().__init__(config, data)
        self.loss: AdversarialLoss = LOSSES.get(config.loss)()
        self.crop = config.resolution

        def patchgan() -> PatchGANDiscriminator:
            d = PatchGANDiscriminator(3, width=2 * config.width, d_layers=config.d_layers, norm="instance")
            check_discriminator_fits(d, config.resolution, config)
            return d

        if config.model == "autoencoder":
            self.g_class = "swap.autoencoder"
            self.g_kwargs = dict(identities=2, width=config.width, code=config.code, crop=self.crop)
            self.G = FaceswapAutoencoder(**self.g_kwargs)
            self.D = nn.ModuleList([patchgan(), patchgan()])  # one per face, as each face has its decoder
            g_params: Any = self.G.parameters()
            forward, g_loss, d_loss = self._ae_forward, self._ae_g_loss, self._ae_d_loss
            self.grid_columns = 3  # a crop, its reconstruction, its swap
        elif config.model == "simswap":
            from ganforge.swap.identity import EMBED_DIM, load_identity_encoder

            self.g_class = "swap.simswap"
            self.g_kwargs = dict(embed_dim=EMBED_DIM, width=config.width, blocks=config.blocks,
                                 decoder_injection=bool(config.decoder_injection))
            self.G = SimSwapGenerator(**self.g_kwargs)
            if not next(self.G.parameters()).is_meta:  # the trainer sizes a task on the meta device first
                self.G.identity.load_state_dict(load_identity_encoder().state_dict())
            self.D = patchgan()
            g_params = self.G.trainable()
            forward, g_loss, d_loss = self._sim_forward, self._sim_g_loss, self._sim_d_loss
            self.grid_columns = 1 + len(GRID_FACES)
        else:
            raise ConfigError(f"task swap takes --model autoencoder or simswap, got {config.model!r}")
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = gan_optimizers(config, g_params, self.D.parameters())
        self.runner = PhaseRunner(self, forward=forward, phases=[
            Phase("Dmain", "D", self.D, loss=d_loss),
            Phase("Gmain", "G", self.G, loss=g_loss, frozen=(self.D,)),
        ])
        self._grid_data: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------------------ autoencoder
    def _ae_forward(self, ctx: StepContext) -> None:
        a, b = ctx.a, ctx.b
        code_a, code_b = self.G.encode(a["x"]), self.G.encode(b["x"])  # each crop encoded once, drawn by both decoders
        ctx.rec_a, ctx.rec_b = self.G.decode(code_a, 0), self.G.decode(code_b, 1)
        ctx.drawn_ab, ctx.drawn_ba = self.G.decode(code_a, 1), self.G.decode(code_b, 0)
        ctx.swap_ab, ctx.swap_ba = blend(a["clean"], ctx.drawn_ab), blend(b["clean"], ctx.drawn_ba)

    def _ae_d_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d_a, d_b = self.D[0], self.D[1]
        real = [d_a(ctx.a["clean"]).float(), d_b(ctx.b["clean"]).float()]
        fake = [d_a(ctx.swap_ba.detach()).float(), d_b(ctx.swap_ab.detach()).float()]
        loss = self.loss.d_loss(real[0], fake[0]) + self.loss.d_loss(real[1], fake[1])
        ctx.d_real = torch.stack([r.detach().mean() for r in real]).mean()
        ctx.d_fake = torch.stack([f.detach().mean() for f in fake]).mean()
        return loss, {"Loss/D/adv": loss.detach()}

    def _ae_g_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        a, b = ctx.a, ctx.b
        rec = face_l1(ctx.rec_a, a["clean"], a["clean_mask"]) + face_l1(ctx.rec_b, b["clean"], b["clean_mask"])
        adv = (self.loss.g_loss(self.D[0](ctx.swap_ba).float()) + self.loss.g_loss(self.D[1](ctx.swap_ab).float()))
        loss = cfg.rec_weight * rec + cfg.adv_weight * adv
        stats = {"Loss/G/rec": rec.detach(), "Loss/G/adv": adv.detach()}
        if cfg.truth_weight and a["swap"] is not None:
            truth = face_l1(ctx.drawn_ab, a["swap"], a["swap_mask"]) + face_l1(ctx.drawn_ba, b["swap"], b["swap_mask"])
            loss = loss + cfg.truth_weight * truth
            stats["Loss/G/truth"] = truth.detach()
        return loss, stats

    # ------------------------------------------------------------------------------ simswap
    def references(self, device: torch.device) -> torch.Tensor:
        """[faces, D]: every face's reference crop as G's own identity encoder reads it (the checkpoint's, once a
        run resumes), computed on first use."""
        if getattr(self, "_references", None) is None or self._references.device != device:
            from ganforge.swap.crops import reference_faces

            crops = to_signed(torch.from_numpy(reference_faces(self.config.style, self.crop)).permute(0, 3, 1, 2))
            with torch.no_grad():
                self._references = self.G.embed(crops.to(device)).float()
        return self._references

    def _same_face(self, n: int, step: int, device: torch.device) -> torch.Tensor:
        """bool [n]: which crops are redrawn as their own face this step (each with chance 1/2, seeded by the step
        and the process)."""
        rank = self.runtime.rank if self.runtime is not None else 0
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + step + rank * 999_999_937)
        return (torch.rand(n, generator=g) < 0.5).to(device)

    def _sim_forward(self, ctx: StepContext) -> None:
        ctx.drawn = self.G(ctx.x["x"], ctx.e)
        ctx.swap = blend(ctx.x["clean"], ctx.drawn)

    def _sim_d_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, fake = self.D(ctx.x["clean"]).float(), self.D(ctx.swap.detach()).float()
        loss = self.loss.d_loss(real, fake)
        ctx.d_real, ctx.d_fake = real.detach().mean(), fake.detach().mean()
        return loss, {"Loss/D/adv": loss.detach()}

    def _sim_g_loss(self, ctx: StepContext) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        same = ctx.same
        stats: dict[str, torch.Tensor] = {}
        identity = (1 - (self.G.embed(ctx.swap) * ctx.e).sum(1)).mean()
        x = ctx.x
        fake, fake_features = self.D(ctx.swap, return_features=True)
        _, real_features = self.D(x["clean"], return_features=True)
        adv = self.loss.g_loss(fake.float())
        fm = (fake_features[-1].float() - real_features[-1].detach().float()).abs().mean()
        loss = cfg.id_weight * identity + cfg.adv_weight * adv + cfg.fm_weight * fm
        stats.update({"Loss/G/id": identity.detach(), "Loss/G/adv": adv.detach(), "Loss/G/fm": fm.detach()})
        if same.any():
            rec = face_l1(ctx.drawn[same], x["clean"][same], x["clean_mask"][same])
            loss = loss + cfg.rec_weight * rec * same.float().mean()
            stats["Loss/G/rec"] = rec.detach()
        other = ~same
        if cfg.truth_weight and other.any():
            truth = face_l1(ctx.drawn[other], x["swap"][other], x["swap_mask"][other])
            loss = loss + cfg.truth_weight * truth * other.float().mean()
            stats["Loss/G/truth"] = truth.detach()
        return loss, stats

    # ------------------------------------------------------------------------------ step
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        if self.config.model == "autoencoder":
            ctx = StepContext(step, a=crop_and_targets(batch, "A"), b=crop_and_targets(batch, "B"))
        else:
            x = crop_and_targets(batch, "A")
            label = batch["label"]
            own, other = label // LABEL_BASE, label % LABEL_BASE
            same = self._same_face(len(label), step, label.device)
            face = torch.where(same, own, other)
            ctx = StepContext(step, x=x, same=same, e=self.references(label.device)[face])
        stats = self.runner.run(ctx)
        stats["D/real"], stats["D/fake"] = ctx.d_real, ctx.d_fake
        return stats

    # ------------------------------------------------------------------------------ grids and export
    def attach_data(self, arrays: dict[str, torch.Tensor]) -> None:
        self._grid_data = arrays

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        crops = {k: v for k, v in self._grid_data.items() if k in ("A", "B")}  # the inputs, not their targets
        picked = pick_fixed(crops, max(1, min(n, GRID_ROWS) // len(crops)), seed, paired=False)
        return {k: to_signed(v[:, :3]) for k, v in picked.items()}

    def visuals(self, networks: dict[str, nn.Module], inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        G = networks["G"]
        device = next(G.parameters()).device
        rows = []
        if self.config.model == "autoencoder":
            for x, own, other in ((inputs["A"], 0, 1), (inputs["B"], 1, 0)):
                x = x.to(device)
                rows.append(torch.stack([x, blend(x, G(x, own)), blend(x, G(x, other))], dim=1))
        else:
            x = inputs["A"].to(device)
            faces = self.references(device)[list(GRID_FACES)]
            rows.append(torch.stack([x] + [blend(x, G(x, e.expand(len(x), -1))) for e in faces], dim=1))
        return torch.cat(rows).flatten(0, 1).float().clamp(-1, 1)

    def export_spec(self) -> dict[str, Any]:
        return {
            "pipeline": "swap",
            "task": "swap",
            "model": self.config.model,
            "components": {"swapper": {"class": self.g_class, "kwargs": self.g_kwargs, "network": "G"}},
            "resolution": self.crop,
            "channels": 3,
            "faces": list(self.data.class_names),  # autoencoder: its two decoders' faces; simswap: every face
            "style": self.config.style,
            "data": str(self.config.data),
        }
