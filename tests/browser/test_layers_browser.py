"""The layer table as a student sees it, in Debian's Chromium."""

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def pick_architecture(page, label: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=label, exact=True).click()
    settle(page)


def set_height(page, value: int) -> None:
    box = page.locator('[data-testid="stSidebar"] input[aria-label="Height"]')
    box.fill(str(value))
    box.press("Enter")
    settle(page)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_pick_resnet18_see_table_and_totals_then_a_too_small_size(open_app):
    page = open_app("/layer-table")
    pick_architecture(page, "ResNet › ResNet-18")
    expect(page.get_by_role("heading", name="Layer table · ResNet-18")).to_be_visible()
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("11,689,512")
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
    assert "arch=resnet18" in page.url and "h=224" in page.url
    screenshot(page, "layers_resnet18.png")

    pick_architecture(page, "Inception › Inception v3")
    set_height(page, 64)
    expect(page.get_by_text("Inception v3 needs inputs of at least 75×75; you chose 64×64.")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(0)
    screenshot(page, "layers_too_small.png")

    set_height(page, 75)  # the app kept working: the smallest valid size brings the table back
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
    expect(page.get_by_text("needs inputs of at least")).to_have_count(0)


def test_a_pasted_link_opens_on_the_same_choice(open_app):
    page = open_app("/layer-table?arch=vgg16_bn&h=96&w=96&batch=1")
    expect(page.get_by_role("heading", name="Layer table · VGG-16 with batch norm")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"] input[aria-label="Height"]')).to_have_value("96")
    assert "/layer-table" in page.url
