"""The first page a teacher opens, in a real browser: step the filter over the lab's zero three times."""

from playwright.sync_api import expect

from tests.browser.conftest import settle

WAIT_MS = 60_000  # generous: the test machine may be busy, and every click reruns the script


def _step(page, button: str, expected_caption: str) -> None:
    settle(page)
    page.get_by_role("button", name=button).first.click()
    page.get_by_text(expected_caption).wait_for(timeout=WAIT_MS)


def test_stepping_shows_the_arithmetic_and_fills_the_output(open_app):
    page = open_app("/")  # "Convolution by hand" is the default page
    expect(page.get_by_role("heading", name="Convolution by hand")).to_be_visible(timeout=WAIT_MS)
    page.get_by_text("Window 0 of 16.").wait_for(timeout=WAIT_MS)
    for done in (1, 2, 3):
        _step(page, "Step forward ▶", f"Window {done} of 16.")
    settle(page)

    # Third window of the 2×2 ones filter on the zero's top rows: 1+1+0+0.
    arithmetic = page.locator('[data-testid="stCode"]').first
    expect(arithmetic).to_have_text("1·1 + 1·1 + 0·1 + 0·1 = 2 → output (0, 2)", timeout=WAIT_MS)
    output_cells = page.locator(".st-key-conv_conv_output g.hm text")
    expect(output_cells).to_have_text(["2", "2", "2"], timeout=WAIT_MS)  # three windows, three cells filled

    _step(page, "◀ Step back", "Window 2 of 16.")
    expect(output_cells).to_have_text(["2", "2"], timeout=WAIT_MS)
    expect(arithmetic).to_have_text("1·1 + 1·1 + 0·1 + 0·1 = 2 → output (0, 1)", timeout=WAIT_MS)
