"""Where the network looks, as a student sees it in Debian's Chromium: a CAM over the picture, a receptive-field
click on Feature maps, and an intervention beside the untouched run."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, pick_option, settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2800})  # the page scrolls inside the app, not the window
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / name), timeout=120_000)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_class_activation_map_over_the_digit_with_its_own_resolution_beside_it(open_app):
    page = open_app("/where-the-network-looks?arch=lenet5&weights=digits")
    expect(page.get_by_role("heading", name="Where it looks · LeNet-5")).to_be_visible()
    expect(page.get_by_role("heading", name="Where it looks for a class")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)
    expect(page.get_by_text(re.compile(r"^LeNet-5 answers 0 \(\d+\.\d%\); the map is for 0"))).to_be_visible()
    expect(page.get_by_text("Grad-CAM at features, stretched over the picture")).to_be_visible()
    # .first: while a fragment reruns, Streamlit may still show the previous chart beside the new one.
    expect(page.get_by_text("features at its own resolution, 5×5").first).to_be_visible()

    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Method"), "Layer", "LayerCAM")
    settle(page)
    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Layer ("), "features.3",
                re.compile(r"^features\.3 · "))
    settle(page)
    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Class"), "7", "7: 7")
    settle(page)
    expect(page.get_by_text("LayerCAM at features.3, stretched over the picture")).to_be_visible()
    expect(page.get_by_text("features.3 at its own resolution, 10×10").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"the map is for 7 \("))).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    screenshot(page, "where_it_looks_lenet5_layercam.png")


def test_clicking_the_enlarged_channel_outlines_the_patch_it_sees_and_its_gradient(open_app):
    page = open_app("/feature-maps?arch=resnet18&layer=layer3.0.conv2")
    expect(page.get_by_role("heading", name="Inside one layer")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)
    expect(page.get_by_text("Click a square to see the patch")).to_be_visible()
    plot = page.locator('[data-testid="stPlotlyChart"]').last.locator(".nsewdrag").first
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = plot.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.02, box["y"] + box["height"] * 0.02)  # the top-left square
    settle(page)
    sentence = page.get_by_text(re.compile(r"^Row 0, column 0 of layer3\.0\.conv2 sees input rows -73 to 73"))
    expect(sentence).to_be_visible()
    expect(sentence).to_contain_text("73 pixels above the top edge, 73 pixels left of the left edge")
    expect(page.get_by_text("The theoretical receptive field, outlined.")).to_be_visible()
    expect(page.get_by_text(re.compile("^The effective receptive field"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d+% of the gradient falls in the middle quarter"))).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    screenshot(page, "feature_maps_receptive_field_click.png")


def test_switching_off_lenets_last_convolution_beside_the_untouched_run(open_app):
    page = open_app("/where-the-network-looks?arch=lenet5&weights=digits")
    expect(page.get_by_role("heading", name="What if a channel or a shortcut were not there?")).to_be_visible(
        timeout=FIRST_RENDER_MS)
    settle(page)
    channels = page.get_by_label("Channels (such as 0,3,8-15; empty: all)")
    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Switch off channels of"),
                "features.3", re.compile(r"^features\.3 · "))
    channels.fill("0-99")
    page.get_by_role("button", name="Run with these changes").click()
    settle(page)
    expect(page.get_by_text("features.3 has channels 0 to 15; 99 is not one of them.")).to_be_visible()

    channels.fill("")
    page.get_by_role("button", name="Run with these changes").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"features\.3: 0-15 switched off\. The answer"))).to_be_visible()
    expect(page.get_by_text("Untouched", exact=True)).to_be_visible()
    expect(page.get_by_text("With the changes", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("How much each later layer's output changed"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"with the changes: the same channels"))).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    screenshot(page, "where_it_looks_lenet5_intervention.png")
