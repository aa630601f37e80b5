"""The parameters and compare pages in a real browser: plotly draws every chart."""

import pytest

from tests.browser.conftest import FIRST_RENDER_MS

PLOT = ".js-plotly-plot"


@pytest.mark.parametrize(("arch_id", "heading"), [("lenet5", "Parameters · LeNet-5"), ("vgg16", "Parameters · VGG-16")])
def test_parameters_page_draws_its_charts(open_app, arch_id, heading):
    page = open_app(f"/parameter-breakdown?arch={arch_id}")
    assert page.locator("h1").first.inner_text() == heading
    page.wait_for_selector(f"{PLOT} >> nth=3", timeout=FIRST_RENDER_MS)
    assert page.locator(PLOT).count() == 4
    # plotly's toolbar is always on, with its "download as png" camera button.
    assert page.locator('[data-title^="Download plot as a" i]').count() >= 4
    assert page.locator(".treemap").count() == 1


def test_compare_page_draws_its_charts(open_app):
    page = open_app("/compare-architectures?arch=lenet5")
    assert page.locator("h1").first.inner_text() == "Compare architectures"
    page.wait_for_selector(f"{PLOT} >> nth=3", timeout=FIRST_RENDER_MS)
    assert page.locator(PLOT).count() == 4
    assert page.get_by_text("VGG-16: 138,357,544 parameters").count() >= 1
