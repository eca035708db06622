"""Network families; importing this package registers them."""

from ganforge.nets import dcgan  # noqa: F401
