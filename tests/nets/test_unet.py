"""pix2pix U-Net: depth from resolution, shapes at odd-but-valid sizes, clear size errors, dropout as noise."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.unet import UNetGenerator


def _unet(**kwargs) -> UNetGenerator:
    torch.manual_seed(0)
    return UNetGenerator(**{"in_channels": 1, "out_channels": 3, "width": 4, "max_channels": 16, **kwargs})


@pytest.mark.parametrize(("resolution", "depth"), [(256, 8), (64, 6), (16, 4)])
def test_depth_from_resolution(resolution, depth):
    G = UNetGenerator(resolution=resolution, width=2, max_channels=4)
    assert G.depth == depth and G.stride == resolution
    assert len(G.downs) == len(G.ups) == depth


def test_shape_range_and_non_square_size():
    G = _unet(depth=4)
    assert G.stride == 16
    y = G(torch.randn(2, 1, 48, 80))
    assert y.shape == (2, 3, 48, 80)
    assert y.min() >= -1 and y.max() <= 1


def test_fully_convolutional_at_training_size_and_beyond():
    G = _unet(resolution=16).eval()
    assert G(torch.randn(1, 1, 16, 16)).shape == (1, 3, 16, 16)  # 1x1 bottleneck at the training size
    assert G(torch.randn(1, 1, 32, 64)).shape == (1, 3, 32, 64)  # a bigger input, a proportionally bigger output


@pytest.mark.parametrize("size", [(40, 48), (48, 8)])
def test_invalid_size_names_the_multiple(size):
    G = _unet(depth=4)
    with pytest.raises(ValueError, match=r"multiples of 16.*got {}x{}".format(*size)):
        G(torch.randn(1, 1, *size))


def test_dropout_is_noise_in_train_mode_only():
    G = _unet(depth=4, norm="instance")
    x = torch.randn(2, 1, 16, 16)
    G.train()
    assert not torch.equal(G(x), G(x))
    G.eval()
    assert torch.equal(G(x), G(x))
    no_dropout = _unet(depth=4, norm="instance", dropout=0.0).train()
    assert torch.equal(no_dropout(x), no_dropout(x))


def test_dropout_sits_in_the_three_innermost_decoder_blocks():
    G = _unet(depth=6)
    with_dropout = [i for i, up in enumerate(G.ups) if any(isinstance(m, torch.nn.Dropout) for m in up)]
    assert with_dropout == [3, 4, 5]
    shallow = _unet(depth=2)  # never on the output layer
    assert [i for i, up in enumerate(shallow.ups) if any(isinstance(m, torch.nn.Dropout) for m in up)] == [1]


def test_channels_are_capped_and_skips_reach_the_output():
    G = _unet(depth=5, norm="none", dropout=0.0)
    assert max(m.out_channels for m in G.modules() if isinstance(m, torch.nn.Conv2d)) == 16
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    G(x)[0, :, 5, 7].sum().backward()
    # The outermost skip gives each output pixel a direct, local path to the input around it.
    assert x.grad[0, 0, 4:8, 6:10].abs().sum() > 0


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_norms_train_at_batch_one(norm):
    G = _unet(depth=4, norm=norm)
    G(torch.randn(1, 1, 16, 16)).mean().backward()


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="power-of-two resolution.*got 48"):
        UNetGenerator(resolution=48)
    with pytest.raises(ConfigError, match="depth >= 2, got 1"):
        UNetGenerator(depth=1)
    with pytest.raises(ConfigError, match="unknown normalisation 'layer'"):
        UNetGenerator(depth=3, norm="layer")


@pytest.mark.parametrize("network", ["unet", "resnet"])
def test_residual_generator_starts_as_the_identity_and_keeps_gradients(network):
    from ganforge.nets.resnet_gen import ResnetGenerator

    torch.manual_seed(0)
    G = (UNetGenerator(in_channels=3, out_channels=3, depth=3, width=4, max_channels=8, residual=True)
         if network == "unet" else ResnetGenerator(in_channels=3, out_channels=3, width=4, n_blocks=1, residual=True))
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    x[:, :, :4] = 1.0  # a white band: where a tanh output would saturate
    assert torch.equal(G(x), x)  # untrained: output = input, exactly
    target = -x
    opt = torch.optim.Adam(G.parameters(), lr=1e-2)
    first = None
    for _ in range(5):
        out = G(x)
        loss = (out - target).abs().mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = G(x)
    assert out.min() >= -1 and out.max() <= 1  # clamped forward, straight-through backward
    assert (out - target).abs().mean().item() < first  # it learns, white band included
    assert not torch.equal(out[:, :, :4], x[:, :, :4])


@pytest.mark.parametrize("network", ["unet", "resnet"])
def test_residual_generator_needs_matching_channels(network):
    from ganforge.nets.resnet_gen import ResnetGenerator

    cls = UNetGenerator if network == "unet" else ResnetGenerator
    with pytest.raises(ConfigError, match=r"needs as many input as output channels \(got 1 and 3\)"):
        cls(in_channels=1, out_channels=3, width=4, residual=True)


def test_resize_conv_paints_no_checkerboard_where_a_transposed_conv_does():
    from ganforge.nets.layers import upsample_layer

    torch.manual_seed(0)
    x = torch.ones(1, 4, 8, 8)  # a flat feature map: any pattern in the output comes from the layer itself
    transposed = upsample_layer("transpose", 4, 2, bias=False)(x)[..., 2:-2, 2:-2]
    resized = upsample_layer("resize", 4, 2, bias=False)(x)[..., 2:-2, 2:-2]  # interior: away from the padding
    assert transposed.shape == resized.shape == (1, 2, 12, 12)
    assert transposed.std(dim=(2, 3)).min() > 1e-3  # odd and even pixels from different taps: a period-2 pattern
    assert torch.allclose(transposed[..., ::2, ::2], transposed[..., 2::2, 2::2][..., :1, :1].expand(1, 2, 6, 6))
    assert resized.std(dim=(2, 3)).max() < 1e-6  # every output pixel sees the same taps: flat
    with pytest.raises(ConfigError, match="unknown upsampling 'pixelshuffle'; choose one of: transpose, resize"):
        upsample_layer("pixelshuffle", 4, 2, bias=False)


@pytest.mark.parametrize("network", ["unet", "resnet"])
def test_resize_conv_generators_keep_shapes_and_have_no_transposed_convolutions(network):
    from ganforge.nets.resnet_gen import ResnetGenerator

    torch.manual_seed(0)
    G = (UNetGenerator(in_channels=3, out_channels=3, depth=3, width=4, max_channels=8, upsample="resize")
         if network == "unet" else ResnetGenerator(in_channels=3, out_channels=3, width=4, n_blocks=1,
                                                   upsample="resize"))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    y = G(torch.randn(2, 3, 24, 40))  # fully convolutional at a non-square multiple of the stride
    assert y.shape == (2, 3, 24, 40) and y.min() >= -1 and y.max() <= 1
    residual = (UNetGenerator(in_channels=3, out_channels=3, depth=3, width=4, max_channels=8, upsample="resize",
                              residual=True)
                if network == "unet" else ResnetGenerator(in_channels=3, out_channels=3, width=4, n_blocks=1,
                                                          upsample="resize", residual=True))
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(residual(x), x)  # the zero-initialised head works through the resize-conv as well
