"""The theme's text at WCAG AA: Streamlit's faded text (captions at 60%, disabled labels lifted to 60%) keeps 4.5:1.

Contrast is worked out here from WCAG 2.1's definitions (relative luminance of sRGB, (L1 + 0.05) / (L2 + 0.05)).
"""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.conftest import ROOT
from ui.widgets.contrast import CSS

THEME = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


def luminance(colour) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, two) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def over(colour, background, alpha: float):
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(colour, background))


def test_the_formula_gives_wcags_own_examples():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)  # #767676, the AA grey


@pytest.mark.parametrize("background", ["backgroundColor", "secondaryBackgroundColor"])
def test_faded_text_reaches_aa_on_both_backgrounds(background):
    text, ground = rgb(THEME["textColor"]), rgb(THEME[background])
    assert contrast(over(text, ground, 0.6), ground) >= 4.5  # st.caption, help text, inline code in a caption
    assert contrast(over(rgb(THEME["codeTextColor"]), ground, 0.6), ground) >= 4.5


def test_the_disabled_label_style_uses_the_themes_text_colour_at_60_percent():
    red, green, blue, alpha = re.search(r"rgba\((\d+), (\d+), (\d+), ([\d.]+)\)", CSS).groups()
    assert (int(red), int(green), int(blue)) == rgb(THEME["textColor"])
    assert float(alpha) == 0.6
