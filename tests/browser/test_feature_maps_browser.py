"""Feature maps as a student sees them, in Debian's Chromium: upload a photo, pick a layer of ResNet-18."""

import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, pick_option, settle
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def photo_png() -> bytes:
    """A made-up 'photo': a bright disc on a colour gradient, so the maps have edges to find."""
    y, x = np.mgrid[0:180, 0:240]
    red = (x / 239 * 255).astype(np.uint8)
    green = (y / 179 * 255).astype(np.uint8)
    blue = np.where((x - 120) ** 2 + (y - 90) ** 2 < 50**2, 255, 40).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([red, green, blue])).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_a_photo_pick_a_middle_layer_of_resnet18_and_see_the_grid_and_top5(open_app):
    page = open_app("/feature-maps?arch=resnet18")
    expect(page.get_by_role("heading", name="Feature maps · ResNet-18")).to_be_visible()

    page.get_by_text("Upload a picture", exact=True).click()
    settle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": photo_png()}
    )
    settle(page)
    expect(page.get_by_role("heading", name="Inside one layer")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)  # the heading shows before the run that draws it has finished

    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Layer ("), "layer2.0.conv1",
                re.compile(r"^\d+\. layer2\.0\.conv1 · Conv2d"))
    settle(page)

    # The slider starts at the most the grid shows (a second "64" among its counts once put it at 1).
    grid_caption = page.get_by_text(re.compile(r"^64 of 128 channels of layer2\.0\.conv1, left to right"))
    expect(grid_caption).to_be_visible()
    # The uploaded picture, what the network receives, the path strip and the channel grid.
    assert page.locator('[data-testid="stImage"]').count() >= 4
    expect(page.get_by_role("heading", name="Prediction")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    expect(page.get_by_text(re.compile("random weights here"))).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 3000})  # the page scrolls inside the app, not the window
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "feature_maps_resnet18.png"), timeout=120_000)


def test_the_layer_picker_shows_the_new_shape_after_a_new_input_size(open_app):
    """The chosen layer stays chosen, and its label in the browser is the one for the new size."""
    page = open_app("/feature-maps?arch=resnet18&h=64&w=64")
    expect(page.get_by_role("heading", name="Inside one layer")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Layer (")
    pick_option(page, picker, "layer2.0.conv1", re.compile(r"^\d+\. layer2\.0\.conv1 · Conv2d"))
    settle(page)
    # Hand arithmetic: conv1 and the max pool halve the side twice (64 -> 16), layer2's first conv halves it again.
    expect(picker.locator("input")).to_have_value(re.compile(r"layer2\.0\.conv1 · Conv2d · 128×8×8$"))
    height = page.locator('[data-testid="stSidebar"]').get_by_role("spinbutton", name="Height")
    height.fill("96")
    height.press("Enter")
    settle(page)
    expect(page.get_by_text(re.compile(r"channels of layer2\.0\.conv1, left to right"))).to_be_visible()
    expect(picker.locator("input")).to_have_value(re.compile(r"layer2\.0\.conv1 · Conv2d · 128×12×12$"))


def phone_jpeg(orientation: int) -> bytes:
    """A 4032×3024 JPEG as a phone stores a portrait photo: sideways pixels and an EXIF orientation tag
    (6: turn 90° clockwise to show), with grain so that it weighs what a photo does (about 3 MB)."""
    y, x = np.mgrid[0:3024, 0:4032]
    base = np.dstack([x * 255 // 4031, y * 255 // 3023, np.full_like(x, 90)]).astype(np.float32)
    grain = np.random.default_rng(0).normal(0, 7, base.shape)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90,
                                                                       exif=exif.tobytes())
    return buffer.getvalue()


def sent_size_kb(page) -> float:
    """The size the uploader lists for the file it sent, in kB (Streamlit writes e.g. "315.9KB" or "2.9MB")."""
    text = page.locator('[data-testid="stFileUploader"]').inner_text()
    number, unit = re.search(r"([\d.]+)\s*(KB|MB)", text).groups()
    return float(number) * (1024 if unit == "MB" else 1)


def test_a_phone_photo_is_made_smaller_and_upright_in_the_browser_and_other_files_go_as_they_are(open_app):
    page = open_app("/feature-maps?arch=resnet18")
    page.get_by_text("Upload a picture", exact=True).click()
    settle(page)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    photo = phone_jpeg(orientation=6)
    assert len(photo) > 2_000_000

    uploader.set_input_files({"name": "portrait.jpg", "mimeType": "image/jpeg", "buffer": photo})
    # Upright, the photo is 3024×4032; its short side made 1200 px: 1200×1600 (ui/widgets/photo_shrink.py).
    expect(page.get_by_text("JPEG, 1200×1600 pixels.")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)
    assert sent_size_kb(page) < len(photo) / 1024 / 4
    expect(page.get_by_text(re.compile("made smaller in your browser"))).to_be_visible()

    # A PNG goes as it is, however large.
    y, x = np.mgrid[0:1500, 0:2000]
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([x % 256, y % 256, (x + y) % 256]).astype(np.uint8)).save(buffer, format="PNG")
    uploader.set_input_files({"name": "big.png", "mimeType": "image/png", "buffer": buffer.getvalue()})
    expect(page.get_by_text("PNG, 2000×1500 pixels.")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)

    # A file the browser cannot read as a JPEG (an iPhone's HEIC, renamed) goes as it is too, and the
    # server says in its own sentence what is wrong; the page carries on with the last good picture.
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(range(256)) * 4
    uploader.set_input_files({"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": heic})
    expect(page.get_by_text(re.compile("could not be read as an image"))).to_be_visible(timeout=FIRST_RENDER_MS)
    expect(page.get_by_text("PNG, 2000×1500 pixels.")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
