"""Real browser, bare server: the first link a freshly started `streamlit run app.py` is asked for opens cleanly.

No warm-up request here (unlike ./dev.sh and the shared ``app_url``): this is a teacher who
starts the server with the design card's own command and sends the class a deep link.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, served_app, settle


def first_visit(page, path: str):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(FIRST_RENDER_MS)
    expect.set_options(timeout=FIRST_RENDER_MS)
    with served_app(warm_up=False) as url:
        page.goto(url + path)
        page.wait_for_selector("h1", timeout=FIRST_RENDER_MS)
        settle(page)
        page.wait_for_timeout(1000)  # a "Page not found" dialog comes with the first run's first messages
        return (page.get_by_role("dialog").count(), page.locator("h1").first.inner_text(),
                page.locator('[data-testid="stSidebarNav"]').inner_text())


@pytest.mark.parametrize(("path", "heading"), [
    ("/layer-table?arch=resnet18", "Layer table · ResNet-18"),
    ("/convolution-by-hand", "Convolution by hand"),
])
def test_the_first_deep_link_on_a_bare_server_shows_its_page_and_no_dialog(page, path, heading):
    dialogs, shown, navigation = first_visit(page, path)
    assert shown == heading
    assert dialogs == 0
    # The app's own navigation, not the legacy list of the files in pages/.
    assert "Train on the digits" in navigation and "first visit" not in navigation and "caches" not in navigation
    # The legacy list would name each page after its file in pages/ ("train-on-digits").
    assert "train-on-digits" not in navigation and "layer-table" not in navigation


def test_an_address_that_does_not_exist_still_gets_the_dialog(page):
    # The check above can fail: an address no page answers meets Streamlit's dialog.
    dialogs, _, _ = first_visit(page, "/no-such-page")
    assert dialogs == 1
