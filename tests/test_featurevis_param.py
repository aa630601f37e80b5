"""The render's picture on its own: Fourier form and back, Lucid's colour matrix, the 1/frequency scale."""

from __future__ import annotations

import numpy as np
import torch

from explorer.runs.featurevis import param, transforms


def test_a_picture_goes_into_the_fourier_form_and_comes_back_the_same():
    generator = torch.Generator().manual_seed(3)
    for size, channels in ((32, 1), (31, 3), (128, 3)):  # an odd side keeps its own last column of frequencies
        image = param.FourierImage(size, channels, batch=2, generator=generator)
        wanted = torch.randn(2, channels, size, size, generator=generator, dtype=torch.float32)
        image.set_spatial(wanted)
        assert torch.allclose(image.spatial(), wanted, atol=1e-5)


def test_the_colour_matrix_is_lucids_published_one():
    # lucid/optvis/param/color.py: color_correlation_svd_sqrt
    published = [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]
    assert param.COLOR_CORRELATION_SVD_SQRT.tolist() == torch.tensor(published).tolist()
    # Lucid divides by the largest column norm: here the first column, √(0.26² + 0.27² + 0.27²).
    first_column = (0.26**2 + 0.27**2 + 0.27**2) ** 0.5
    assert torch.allclose(param.COLOR_MIX, torch.tensor(published) / first_column)


def test_colours_mix_back_exactly():
    pixels = torch.randn(1, 3, 4, 5)
    assert torch.allclose(param.rgb_to_decorrelated(param.decorrelated_to_rgb(pixels)), pixels, atol=1e-5)
    # One pixel by hand: RGB = COLOR_MIX @ (a, b, c).
    mixed = param.decorrelated_to_rgb(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).flatten()
    assert torch.allclose(mixed, param.COLOR_MIX[:, 0])


def test_the_scale_is_one_over_frequency():
    freqs = param.frequencies(4, 4)  # rows 0, 1/4, -1/2, -1/4 and columns 0, 1/4, 1/2 cycles per pixel
    assert freqs.shape == (4, 3)
    assert np.isclose(float(freqs[1, 1]), (1 / 16 + 1 / 16) ** 0.5)
    assert np.isclose(float(freqs[2, 2]), (1 / 4 + 1 / 4) ** 0.5)
    scale = param.spectrum_scale(4, 4)
    assert np.isclose(float(scale[0, 2]), 2 * 4)  # 1 / (1/2), times √16
    assert np.isclose(float(scale[0, 0]), 4 * 4)  # the constant term is treated as 1/4 cycle per pixel


def test_a_fresh_picture_starts_near_grey_in_range():
    picture = param.FourierImage(64, 3, generator=torch.Generator().manual_seed(0))().detach()
    assert picture.shape == (1, 3, 64, 64)
    assert float(picture.min()) > 0.3 and float(picture.max()) < 0.7


def test_the_transform_without_robustness_is_the_picture_itself_and_with_it_keeps_the_size():
    picture = torch.rand(2, 3, 40, 40)
    generator = torch.Generator().manual_seed(0)
    assert transforms.plan(transforms.NONE, 40, 2, 5, generator) is None
    assert torch.equal(transforms.apply(picture, None), picture)
    moves = transforms.plan(transforms.Robustness(), 40, 2, 5, generator)
    assert moves.shape == (5, 2, 2, 3)
    moved = transforms.apply(picture, moves[0])
    assert moved.shape == picture.shape and not torch.allclose(moved, picture)
    # No jitter, scale 1 and no turn: the identity map. A quarter turn at scale 1/2: rotation doubled.
    still = transforms.Robustness(pad=0, first_jitter=0, second_jitter=0, scales=(1.0,), angles=(0,))
    assert torch.allclose(transforms.random_affine(still, 40, 2, generator),
                          torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3))
    turned = transforms.random_affine(transforms.Robustness(0, 0, 0, (0.5,), (90,)), 40, 1, generator)
    assert torch.allclose(turned, torch.tensor([[[0.0, -2, 0], [2, 0, 0]]]), atol=1e-6)
    # Lucid's padding of 12 and jitters of 8 and 4 at 128 pixels leave a view 128 + 24 − 12 = 140 pixels wide.
    wide = transforms.Robustness(scales=(1.0,), angles=(0,))
    assert torch.allclose(transforms.random_affine(wide, 128, 1, generator)[0, :, :2], torch.eye(2) * 140 / 128)
