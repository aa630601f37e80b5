"""Browser helpers for class tests: a tab of its own per person, starting a class, reading the sidebar."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, pick_option, settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def person(browser, url: str, cookies: list[dict] | None = None, opened: list | None = None):
    """A new browser (its own cookies) with one tab on ``url``, after its first full render.

    ``opened`` collects the browsers, for the ``people`` fixture to close after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if opened is not None:
        opened.append(context)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    # Four browsers and their server on two cores: everything is slow, so wait longer than elsewhere.
    page.set_default_timeout(2 * FIRST_RENDER_MS)
    expect.set_options(timeout=2 * FIRST_RENDER_MS)
    page.goto(url, wait_until="commit", timeout=2 * FIRST_RENDER_MS)  # "load" waits for every script: slow when busy
    page.wait_for_selector("h1", timeout=2 * FIRST_RENDER_MS)
    settle(page)
    return page


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def start_class(page) -> str:
    """Press "Start a class" in the sidebar; the code the panel shows."""
    sidebar(page).get_by_text("Teach or join a class").click()
    sidebar(page).get_by_role("button", name="Start a class").click()
    code = sidebar(page).locator('[data-testid="cl-code"]')
    expect(code).to_be_visible()
    settle(page)
    return code.inner_text().replace(" ", "")


def architecture_box(page):
    return sidebar(page).locator('[data-testid="stSelectbox"]').filter(has_text="Architecture")


def choose_architecture(page, name: str, option: str, height: int, side: int | None = None) -> None:
    """Pick a network in the sidebar and wait until its size has reset to ``height`` (a click before
    that would send the old size back with it, as any quick second click in Streamlit does); then
    make the input ``side``×``side`` if given."""
    pick_option(page, architecture_box(page), name, re.compile(f"^{re.escape(option)}$"))
    box = sidebar(page).get_by_role("spinbutton", name="Height")
    expect(box).to_have_value(str(height))
    settle(page)
    if side is not None:
        box.fill(str(side))
        box.press("Enter")
        expect(page).to_have_url(re.compile(f"h={side}&w={side}"))
        settle(page)


def expect_following(page, arch_label: str, heading: str | re.Pattern) -> None:
    """The tab shows the teacher's page and network, with the sidebar's controls followed (disabled)."""
    try:
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(sidebar(page).get_by_text("Following the teacher")).to_be_visible()
        expect(architecture_box(page).get_by_role("combobox")).to_have_value(re.compile(re.escape(arch_label)))
        expect(architecture_box(page).get_by_role("combobox")).to_be_disabled()
    except AssertionError:
        screenshot(page, "class_follower_failed.png")
        raise


def photo_png(seed: int = 0) -> bytes:
    """A made-up photo: a bright disc on a colour gradient (the seed moves the disc)."""
    y, x = np.mgrid[0:180, 0:240]
    disc = (x - 80 - 40 * seed) ** 2 + (y - 90) ** 2 < 45**2
    red, green = (x / 239 * 255).astype(np.uint8), (y / 179 * 255).astype(np.uint8)
    blue = np.where(disc, 255, 40).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([red, green, blue])).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_picture(page, data: bytes, name: str = "photo.png") -> None:
    """On Feature maps: choose "Upload a picture" and give it ``data`` (in place of a picture given before)."""
    page.get_by_text("Upload a picture", exact=True).click()
    settle(page)
    earlier = page.locator('[data-testid="stMain"] [data-testid="stFileUploaderDeleteBtn"]')
    if earlier.count():
        earlier.first.click()
        settle(page)
    page.locator('[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "image/png", "buffer": data})
    settle(page)


def passes(log) -> int:
    """Forward passes the server made so far (EXPLORER_PASS_LOG: one line each)."""
    return len(log.read_text().splitlines()) if log.exists() else 0


def screenshot(page, name: str) -> None:
    """Save the tab's view once its pictures have arrived (Streamlit sends them after the page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.wait_for_function("[...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)",
                               timeout=15_000)
    except Exception:  # a picture still missing is visible in the screenshot itself
        pass
    page.screenshot(path=str(ARTIFACTS / name))
