"""Two students on one server at the same time, in two Chromium contexts: neither sees the other's picture or results.

Student A trains ResNet-18 on a red picture while student B looks at ResNet-18's
feature maps of a blue one; their uploads and reruns are in flight together. Each
page must show its own picture (checked on the served image bytes) and only its own
results. Both file names carry a unique marker, and afterwards no file with that
marker in its name exists under the repository, the temporary directory or
Streamlit's folders: uploads stay in memory and their names are never used.
(That the shared model stays bit-identical is checked in-process by tests/test_isolation.py.)
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import FIRST_RENDER_MS, settle
from tests.conftest import ROOT

QUERY = "?arch=resnet18&h=64&w=64"
RED, BLUE = (210, 40, 40), (40, 40, 210)


def coloured_png(colour: tuple[int, int, int], seed: int) -> bytes:
    """A picture of one dominant colour with a little noise, so its maps are not flat."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-25, 26, (90, 120, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def open_page(context, url: str):
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(FIRST_RENDER_MS)
    page.goto(url)
    page.wait_for_selector("h1", timeout=FIRST_RENDER_MS)
    settle(page)
    return page


def uploader_input(page, label: str):
    return page.locator('[data-testid="stFileUploader"]').filter(has_text=label).locator('input[type="file"]')


def shown_colours(page, base_url: str, first: int) -> list[tuple[float, float, float]]:
    """Mean RGB of the first ``first`` images the page shows, read from the bytes the server sends."""
    colours = []
    for img in page.locator('[data-testid="stImage"] img').all()[:first]:
        src = img.get_attribute("src")
        body = page.request.get(src if src.startswith("http") else base_url + src).body()
        pixels = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.float64)
        colours.append(tuple(pixels.reshape(-1, 3).mean(axis=0)))
    return colours


def is_mostly(colour: tuple[float, float, float], channel: int) -> bool:
    return colour[channel] > 150 and all(colour[c] < 100 for c in range(3) if c != channel)


def files_named_with(marker: str) -> list[str]:
    home = Path.home()
    roots = {ROOT, Path(tempfile.gettempdir()), home / ".streamlit", home / ".cache" / "streamlit"}
    found = []
    for root in roots:
        for folder, subfolders, names in os.walk(root, onerror=lambda error: None):
            subfolders[:] = [s for s in subfolders if s not in (".venv", ".git", "node_modules")]
            found += [os.path.join(folder, n) for n in names + subfolders if marker in n]
    return found


def test_two_students_at_once_see_only_their_own_picture_and_results(browser, app_url):
    marker = f"isolation-{uuid.uuid4().hex}"
    student_a, student_b = browser.new_context(), browser.new_context()
    try:
        trainer = open_page(student_a, f"{app_url}/training-step{QUERY}")
        viewer = open_page(student_b, f"{app_url}/feature-maps{QUERY}")
        for page in (trainer, viewer):
            page.get_by_text("Upload a picture", exact=True).click()
        settle(trainer), settle(viewer)

        # Both uploads are sent before either page has finished: the server works on them together.
        uploader_input(trainer, "A picture").set_input_files(
            {"name": f"{marker}-a.png", "mimeType": "image/png", "buffer": coloured_png(RED, 1)})
        uploader_input(viewer, "A photo").set_input_files(
            {"name": f"{marker}-b.png", "mimeType": "image/png", "buffer": coloured_png(BLUE, 2)})
        settle(trainer), settle(viewer)
        trainer.get_by_role("button", name="Take one step").click()
        # One ▶ once the upload's run is drawn (for a moment the old layer view and the new one can both be there).
        expect(viewer.get_by_role("button", name="▶")).to_have_count(1)
        viewer.get_by_role("button", name="▶").click()  # the next layer, while the step runs
        settle(trainer), settle(viewer)

        expect(trainer.get_by_text("Loss after")).to_be_visible()
        expect(viewer.get_by_role("heading", name="Inside one layer")).to_be_visible()
        # Only one's own results: no feature-map sections on the training page, no training step on the viewer's.
        expect(trainer.get_by_role("heading", name="Inside one layer")).to_have_count(0)
        expect(viewer.get_by_text("Loss after")).to_have_count(0)
        for page in (trainer, viewer):
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)

        # The trainer's page shows what ResNet-18 receives: its own red picture.
        trainer_colours = shown_colours(trainer, app_url, first=1)
        assert trainer_colours and is_mostly(trainer_colours[0], 0), trainer_colours
        # The viewer's page shows the uploaded picture and what the network receives: both blue.
        viewer_colours = shown_colours(viewer, app_url, first=2)
        assert len(viewer_colours) == 2 and all(is_mostly(c, 2) for c in viewer_colours), viewer_colours
    finally:
        student_a.close()
        student_b.close()

    assert files_named_with(marker) == []
