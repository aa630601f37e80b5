"""Real browser: a giant step on LeNet-5 is flagged with its held-out collapse; a short learning run learns."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import settle

LAB_RATE_POSITION, GIANT_RATE_POSITION = 8, 15  # 0.1 and 1e6 on the page's log scale (explorer.runs.optimisers.RATES)


def test_a_giant_step_on_digit_trained_lenet5_shows_the_warning_and_the_held_out_collapse(open_app):
    page = open_app("/training-step?arch=lenet5&weights=digits")
    expect(page.get_by_role("heading", name="Training step · LeNet-5")).to_be_visible()
    page.get_by_role("slider").first.focus()
    for _ in range(GIANT_RATE_POSITION - LAB_RATE_POSITION):
        page.keyboard.press("ArrowRight")
    settle(page)
    expect(page.get_by_role("slider").first).to_have_attribute("aria-valuetext", "1e+06")
    page.get_by_role("button", name="Take one step").click()
    settle(page)
    warning = page.locator('[data-testid="stAlert"]').filter(has_text="more than their own size")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(re.compile(r"Held-out accuracy collapsed from 9\d% to \d+%"))
    expect(warning).to_contain_text("overshot")
    expect(page.locator(".js-plotly-plot").filter(has_text="held-out pictures").first).to_be_visible()


def test_a_short_learning_run_raises_the_held_out_accuracy(open_app):
    page = open_app("/train-on-digits?arch=lenet5")
    expect(page.get_by_role("heading", name="Train on the digits · LeNet-5")).to_be_visible()
    epochs = page.get_by_label("Epochs (passes over the training pictures)")
    epochs.fill("2")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start").click()
    # The thread trains while the page polls; when it ends the button offers more epochs.
    expect(page.get_by_role("button", name="Train 2 more epochs")).to_be_visible(timeout=240_000)
    settle(page)
    accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Held-out accuracy")
    value = float(re.search(r"([\d.]+)%", accuracy.inner_text())[1])
    assert value > 50, value  # from about 10% (random weights guess) after two epochs
    expect(page.get_by_role("img").first).to_be_visible()  # the first filters, start and now
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
