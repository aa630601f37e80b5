"""What a channel looks for, in Debian's Chromium: LeNet-5 with its digit weights, one channel of its second
convolution rendered with a short recipe, shown beside its nine dataset examples and the two numbers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, pick_option, served_app, settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def channel_app(tmp_path_factory):
    """A server of its own whose render cache is an empty temporary folder."""
    folder = tmp_path_factory.mktemp("renders")
    with served_app(env={"CNN_EXPLORER_MICROSCOPE_CACHE": str(folder)}) as url:
        yield url, folder


def test_a_channel_rendered_with_a_short_recipe_beside_its_nine_examples(page, channel_app):
    url, folder = channel_app
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(FIRST_RENDER_MS)
    expect.set_options(timeout=FIRST_RENDER_MS)
    page.goto(f"{url}/what-a-channel-looks-for?arch=lenet5&weights=digits")
    expect(page.get_by_role("heading", name="What a channel looks for · LeNet-5")).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", name="features.3: the channels named")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Rendering channel 0 takes (about \d+ s|less than a second) on this server"))).to_be_visible()

    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Render recipe"), "16",
                "16 steps (a glimpse)")
    settle(page)
    page.get_by_role("button", name="Render channel 0").click()
    settle(page)
    tile = page.locator('[data-testid="stMain"]')
    expect(tile.get_by_text("A picture made to excite channel 0 (16 steps).")).to_be_visible()
    expect(tile.locator('[data-testid="stImage"] img')).to_have_count(10)  # the render and nine examples
    expect(tile.get_by_text(re.compile(r"^\d+\.\d\d · scan \d+ \(a \d\)$"))).to_have_count(9)
    expect(tile.get_by_text(re.compile(r"^Render: -?\d+\.\d\d"))).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert list(folder.glob("*.json")), "the render was not kept in the cache"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "channel_lenet5.png"), full_page=True)
