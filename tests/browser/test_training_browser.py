"""Real browser: one training step on LeNet-5 draws the before/after charts."""

from playwright.sync_api import expect

from tests.browser.conftest import settle


def test_one_step_on_lenet5_shows_the_before_and_after_charts(open_app):
    page = open_app("/training-step?arch=lenet5")
    expect(page.get_by_role("heading", name="Training step · LeNet-5")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    page.get_by_role("button", name="Take one step").click()
    settle(page)
    expect(page.get_by_text("Loss after")).to_be_visible()
    # Probabilities, gradient norms, relative updates, first filters and the loss curve.
    expect(page.locator(".js-plotly-plot")).to_have_count(5)
    expect(page.locator(".js-plotly-plot").first).to_contain_text("before the step")
