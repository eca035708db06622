"""Network families; importing this package registers them."""

from ganforge.nets import dcgan, stylegan2  # noqa: F401
