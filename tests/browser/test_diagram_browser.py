"""The architecture diagram in Debian's Chromium: the SVG the browser draws, and its node links."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHART = '[data-testid="stGraphVizChart"] svg'


def drawn_nodes(page):
    return page.locator(f"{CHART} g.node")


@pytest.mark.parametrize(
    ("arch", "title", "expected_node"),
    [
        ("resnet18", "ResNet-18", "add_() in layer1.0"),  # the skip connection's addition
        ("inception_v3", "Inception v3", "Mixed_5b.branch_pool"),  # one of Inception-A's four branches
    ],
)
def test_the_diagram_is_drawn_as_svg(open_app, arch, title, expected_node):
    page = open_app(f"/architecture-diagram?arch={arch}")
    expect(page.get_by_role("heading", name=f"Architecture diagram · {title}")).to_be_visible()
    expect(drawn_nodes(page).first).to_be_visible()
    assert drawn_nodes(page).count() > 20
    expect(page.locator(f"{CHART} g.node", has_text=expected_node).first).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"diagram_{arch}.png"))


def test_a_node_link_opens_that_layer_in_the_layer_table(open_app):
    page = open_app("/architecture-diagram?arch=resnet18")
    link = page.locator(f"{CHART} a", has_text="layer2.0.downsample.0").first
    expect(link).to_be_attached()
    link.click()
    page.wait_for_url("**/layer-table?**layer=layer2.0.downsample.0**")
    settle(page)
    expect(page.get_by_role("heading", name="Layer table · ResNet-18")).to_be_visible()
    # The linked row is shown first, above the table opened down to its depth.
    expect(page.get_by_text("layer2.0.downsample.0, the layer the link points to")).to_be_visible()
    expect(page.get_by_test_id("stSliderThumbValue")).to_have_text("4")


def test_clicking_a_row_of_the_node_table_selects_that_node_and_the_fold_is_in_the_link(open_app):
    page = open_app("/architecture-diagram?arch=resnet18&depth=2&collapse=0")
    expect(drawn_nodes(page).first).to_be_visible()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    # The grid is drawn on a canvas: rows are 35 px below a 35 px header, the row markers are at the left.
    # Rows: input, conv1, bn1, relu, maxpool, layer1.0, ...
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 5 * 35 + 17)
    settle(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Selected node")
    expect(picker.get_by_role("combobox")).to_have_value("layer1.0")
    assert "layer=layer1.0" in page.url and "depth=2" in page.url and "collapse=0" in page.url
    # The picked block is the one drawn with the thick frame.
    expect(page.locator(f"{CHART} g.node", has_text="layer1.0").first).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "diagram_row_selected.png"))

    page.get_by_text("Collapse repeated blocks (× N)").click()  # a control writes the fold into the link
    settle(page)
    page.wait_for_function("() => window.location.search.includes('collapse=1')")
    assert "depth=2" in page.url and "layer=layer1.0" in page.url
