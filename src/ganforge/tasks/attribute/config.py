"""The attribute-editing task's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ganforge.errors import ConfigError
from ganforge.options import option
from ganforge.tasks.attribute.data import ATTRIBUTES
from ganforge.tasks.options import PatchGANOptions


@dataclass
class AttributeOptions(PatchGANOptions):
    # pix2pix's networks and optimiser; pix2pix's L1 weight on the counterfactual where there is one; StarGAN's
    # cycle (10) and classification (1) weights; GANimation's composite.
    # caae: CAAE's bottleneck editor (nets/attribute.py) for shape changes such as digit classes, trained mostly by
    # CAAE's reconstruction (the source with its own attribute, `identity_weight`), StarGAN's classifier term at 5.
    MODELS: ClassVar[dict[str, dict[str, Any]]] = {
        "editor": dict(loss="lsgan", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, width=32, d_layers=3,
                       pair_weight=100.0, cycle_weight=10.0, cls_weight=1.0, composite=True, identity_weight=0.0),
        "caae": dict(loss="lsgan", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, width=32, d_layers=3,
                     pair_weight=100.0, cycle_weight=10.0, cls_weight=5.0, composite=False, identity_weight=30.0),
    }
    DEFAULTS: ClassVar[dict[str, Any]] = dict(lr_decay_start=1.0, ema_kimg=0.0, batch=16, attribute="skin-tone")
    DATA_HELP: ClassVar[str] = ("emoji (with --attribute skin-tone: pairs of one emoji in two tones), or a labelled "
                                "set (with --attribute class: mnist, a folder of class folders); its train split.")

    attribute: str | None = option(None, "What changes: skin-tone (emoji: none, light, medium-light, medium, "
                                   "medium-dark, dark) | class (a labelled set's classes).", choices=ATTRIBUTES)
    pair_weight: float | None = option(None, "Weight of L1 to the true counterfactual (skin-tone pairs).", minimum=0,
                                       default_help="the model's")
    cls_weight: float | None = option(None, "Weight of StarGAN's classification term: D's auxiliary classifier "
                                      "must read the target attribute in G's edit (0 = off).", minimum=0,
                                      default_help="the model's")
    composite: bool | None = option(None, "The generator draws colours and a mask, and keeps the input outside the "
                                    "mask (GANimation's attention): pixels the attribute does not touch pass "
                                    "through.", default_help="the model's")
    cycle_weight: float | None = option(None, "Weight of StarGAN's cycle L1: edited back to the source's attribute, "
                                        "the source again.", minimum=0, default_help="the model's")
    identity_weight: float | None = option(None, "Weight of CAAE's reconstruction: the source edited into its own "
                                           "attribute, L1 to itself.", minimum=0, default_help="the model's")

    def check(self, run: Any) -> None:
        super().check(run)
        if run.model == "caae" and self.composite:
            raise ConfigError("--composite keeps the input's pixels, which caae's bottleneck redraws: drop it, or "
                              "use --model editor")
