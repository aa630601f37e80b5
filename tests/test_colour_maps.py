"""Colour maps a colour-blind student can read: lightness measured in CIELAB, deuteranopia simulated.

CIELAB is computed here from the sRGB and CIE formulas (D65 white), and deuteranopia with
Machado, Oliveira and Fernandes' 2009 matrix (severity 1) on linear RGB, so that nothing is
checked against the app's own colour code.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from explorer.figures import feature_maps, interventions, learning, training
from explorer.handconv.figures import grid_figure

ROUNDING = 0.1  # L*: one 8-bit step of one channel moves L* by up to about 0.4
SEQUENTIAL = [name for name in feature_maps.COLOUR_MAPS if name not in feature_maps.DIVERGING]
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                         [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])


def linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def encoded(lin: np.ndarray) -> np.ndarray:
    c = np.clip(lin, 0, 1)
    return 255 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def cielab(rgb: np.ndarray) -> np.ndarray:
    """(n, 3) sRGB 0–255 -> (n, 3) L*, a*, b*."""
    xyz = linear(rgb) @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def deuteranope(rgb: np.ndarray) -> np.ndarray:
    return encoded(linear(rgb) @ DEUTERANOPIA.T)


def test_the_formulas_give_known_values():
    """White is L* 100, black 0, mid grey (119) about 50; a grey stays a grey for a deuteranope."""
    lab = cielab(np.array([[255, 255, 255], [0, 0, 0], [119, 119, 119]]))
    assert lab[0] == pytest.approx([100, 0, 0], abs=0.05)
    assert lab[1] == pytest.approx([0, 0, 0], abs=0.05)
    assert lab[2, 0] == pytest.approx(50.0, abs=0.5)
    assert deuteranope(np.array([[119, 119, 119]]))[0] == pytest.approx([119, 119, 119], abs=0.5)
    # Pure red and pure green, far apart in colour, come out close for a deuteranope (the reason for this file).
    red_and_green = np.array([[200, 40, 40], [60, 160, 40]])
    seen, simulated = cielab(red_and_green), cielab(deuteranope(red_and_green))
    assert np.linalg.norm(seen[0] - seen[1]) > 3 * np.linalg.norm(simulated[0] - simulated[1])


@pytest.mark.parametrize("name", SEQUENTIAL)
def test_a_sequential_map_grows_lighter_from_low_to_high(name):
    lightness = cielab(feature_maps.colour_table(name))[:, 0]
    # Never darker by more than rounding to 8 bits can make it (viridis dips by 0.05 L* in four places).
    assert np.all(np.diff(lightness) > -ROUNDING), f"{name} turns darker somewhere"
    assert lightness[-1] - lightness[0] > 50


def test_viridis_is_the_default_everywhere_a_map_is_chosen():
    assert list(feature_maps.COLOUR_MAPS)[0] == "Viridis"  # the page's colour-map picker offers it first
    for drawing in (feature_maps.channel_grid, interventions.side_by_side):
        assert inspect.signature(drawing).parameters["colour_map"].default == "Viridis"


def test_the_signed_map_darkens_away_from_white_zero_on_each_side():
    table = feature_maps.colour_table(feature_maps.SIGNED_MAP)
    lightness = cielab(table)[:, 0]
    middle = len(table) // 2
    assert lightness[middle] > 95  # zero is (nearly) white
    assert np.all(np.diff(lightness[:middle + 1]) > -ROUNDING), "the negative half lightens away from zero"
    assert np.all(np.diff(lightness[middle:]) < ROUNDING), "the positive half lightens away from zero"


@pytest.mark.parametrize("seen_by", ["normal vision", "deuteranopia"])
def test_equal_values_of_opposite_sign_look_equally_strong_and_clearly_different(seen_by):
    table = feature_maps.colour_table(feature_maps.SIGNED_MAP).astype(float)
    if seen_by == "deuteranopia":
        table = deuteranope(table)
    lab = cielab(table)
    middle = len(table) // 2  # 256 entries: 127.5 is zero, so entry 127 - k pairs with 128 + k
    negative, positive = lab[:middle][::-1], lab[middle:]
    away = np.arange(1, middle + 1) / middle
    far_enough = away >= 0.2
    difference = np.linalg.norm(negative - positive, axis=1)[far_enough]
    # ΔE*ab of 20 or more: two clearly different colours at every magnitude beyond a fifth of the range.
    assert difference.min() >= 20, f"{seen_by}: +x and −x only {difference.min():.1f} ΔE apart"
    assert np.abs(negative[:, 0] - positive[:, 0]).max() < 6  # L* alike: neither sign looks stronger


def test_every_picture_of_signed_values_uses_the_signed_map():
    signed = feature_maps.plotly_scale(feature_maps.SIGNED_MAP)
    figure = grid_figure(np.array([[-1.0, 2.0], [0.5, -0.25]]))
    assert figure.data[0].colorscale == tuple(tuple(stop) for stop in signed)
    assert feature_maps.SIGNED_MAP in feature_maps.DIVERGING
    assert "SIGNED_MAP" in vars(learning) and "SIGNED_MAP" in vars(training)
