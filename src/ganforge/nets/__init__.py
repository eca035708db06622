"""Network families; importing this package registers them."""

from ganforge.nets import (  # noqa: F401  (registers the networks)
    dcgan,
    dfgan,
    ffc,
    patchgan,
    r3gan,
    resnet_gen,
    simvp,
    spade,
    sr,
    stylegan2,
    unet,
    vgan,
    video_disc,
)
