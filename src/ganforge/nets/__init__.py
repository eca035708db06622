"""Network families; importing this package registers them."""

from ganforge.nets import dcgan, ffc, patchgan, r3gan, resnet_gen, spade, sr, stylegan2, unet  # noqa: F401  (registers the networks)
