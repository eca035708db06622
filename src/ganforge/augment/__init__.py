"""Augmentations for the discriminator; importing registers them."""

from ganforge.augment.ada import AdaptiveAugment
from ganforge.augment.base import AUGMENTS, Augment, NoAugment
from ganforge.augment.diffaug import DiffAugment

__all__ = ["AUGMENTS", "AdaptiveAugment", "Augment", "DiffAugment", "NoAugment"]
