"""Losses; importing this package registers the adversarial ones."""

from ganforge.losses import adversarial  # noqa: F401
