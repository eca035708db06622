"""Augmentations for the discriminator; importing registers them."""

from ganforge.augment.diffaug import AUGMENTS, DiffAugment, NoAugment

__all__ = ["AUGMENTS", "DiffAugment", "NoAugment"]
