"""Trained weights in Chromium: LeNet-5 with its digit-trained weights reads a handwritten 7."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, pick_option, settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def test_lenet5_with_digit_weights_reads_a_handwritten_seven(open_app):
    page = open_app("/feature-maps?arch=resnet18&h=64&w=64")
    sidebar = page.locator('[data-testid="stSidebar"]')
    pick_option(page, sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Architecture"), "LeNet-5",
                "LeNet › LeNet-5")
    settle(page)
    expect(page.get_by_role("heading", name="Feature maps · LeNet-5")).to_be_visible(timeout=FIRST_RENDER_MS)
    expect(page.get_by_text(re.compile("random weights here"))).to_be_visible()

    pick_option(page, sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Weights"), "digits",
                "Trained on handwritten digits")
    settle(page)
    page.get_by_text("Handwritten digit", exact=True).click()  # ResNet-18's sample photo stays chosen until then
    settle(page)
    digit_picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Which one")
    expect(digit_picker).to_have_count(1)  # the photo picker has gone
    expect(page.get_by_text("Handwritten 0", exact=True).first).to_be_visible()  # the default digit is drawn
    pick_option(page, digit_picker, "7", "Handwritten 7")
    settle(page)

    expect(page.get_by_text(re.compile(r"LeNet-5 with weights trained on .*% correct on"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Most likely: 7 \(\d+\.\d%\)$"))).to_be_visible()
    expect(page.get_by_text(re.compile("random weights here"))).to_have_count(0)
    assert "weights=digits" in page.url and "arch=lenet5" in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(1000)  # the pictures load a moment after the text
    page.screenshot(path=str(ARTIFACTS / "weights_lenet5_digits.png"), timeout=120_000)
