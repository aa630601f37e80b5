"""WCAG 2.1 AA in Chromium: axe-core on every page and in the states a lesson passes through.

axe-core comes inside the `axe-playwright-python` wheel (its axe.min.js is injected into
the page), so nothing is downloaded. Every rule axe runs by default is run; a critical or
serious violation fails the test, and every violation, of any impact, is printed as
"impact rule: target" so that the moderate and minor ones stay in sight (`pytest -s`).
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.classroom_helpers import (choose_architecture, expect_following, photo_png, sidebar, start_class,
                                             upload_picture)
from tests.browser.conftest import settle

BLOCKING = ("critical", "serious")
AXE = Axe()
PAGES_AT_LEAST = 9  # the navigation's pages when this test was written; pages added since are checked too


# True once no script run is under way, every picture has arrived, and the page's elements have
# stayed the same for four polls in a row (Streamlit sends a page's pictures after its run).
# The app's toolbarMode "minimal" hides the status widget, so the run's state is read from the
# attribute Streamlit keeps on its root element.
QUIET = """() => {
    const busy = document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]') === null
        || [...document.querySelectorAll('img')].some(i => !i.complete);
    const shape = document.querySelectorAll('[data-testid="stElementContainer"], img, .js-plotly-plot').length;
    const seen = window.__a11yQuiet ??= {shape: -1, same: 0};
    seen.same = !busy && shape === seen.shape ? seen.same + 1 : 0;
    seen.shape = shape;
    return seen.same >= 4;
}"""


def quiet(page) -> None:
    settle(page)
    page.evaluate("() => { window.__a11yQuiet = undefined; }")
    page.wait_for_function(QUIET, polling=500, timeout=60_000)


def described(node: dict) -> str:
    """A node as a person finds it: the tail of axe's selector and the start of its HTML."""
    selector = " ".join(map(str, node["target"])).split(" > ")[-1]
    return f"{selector} {node['html'][:90]!r}"


def findings(page) -> list[tuple[str, str, str]]:
    """(impact, rule, node) for every node axe-core finds at fault, once the page has finished drawing."""
    quiet(page)
    violations = AXE.run(page).response["violations"]
    return [(violation["impact"], violation["id"], described(node))
            for violation in violations for node in violation["nodes"]]


def check(page, where: str) -> list[tuple[str, str, str]]:
    """Print every finding on ``page``, and fail on a critical or serious one."""
    found = findings(page)
    for impact, rule, target in found:
        print(f"{where}: {impact} {rule}: {target}")
    blocking = [f"{impact} {rule}: {target}" for impact, rule, target in found if impact in BLOCKING]
    assert not blocking, f"{where}:\n" + "\n".join(blocking)
    return found


def navigation_paths(page) -> list[str]:
    """The address of every page in the sidebar's navigation, in its order."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    expect(links.nth(PAGES_AT_LEAST - 1)).to_be_visible()
    return [re.sub(r"^https?://[^/]+", "", href) for href in links.evaluate_all("links => links.map(l => l.href)")]


@pytest.mark.parametrize("arch", ["resnet18", "lenet5"])
def test_every_page_has_no_critical_or_serious_violation(open_app, app_url, arch):
    page = open_app(f"/?arch={arch}")
    failures = []
    for path in navigation_paths(page):
        page.goto(f"{app_url}{path.split('?')[0]}?arch={arch}")
        page.wait_for_selector("h1")
        try:
            check(page, f"{path} {arch}")
        except AssertionError as failure:  # every page is checked before the test fails
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)


def test_a_picture_chosen_and_a_layer_stepped_on_feature_maps(open_app):
    page = open_app("/feature-maps?arch=resnet18&h=64&w=64")
    upload_picture(page, photo_png(0))
    expect(page.get_by_text("Your picture", exact=True)).to_be_visible()
    check(page, "feature maps, a picture chosen")
    page.get_by_role("button", name="▶").click()
    settle(page)
    check(page, "feature maps, a layer stepped")


def test_a_class_activation_map_drawn(open_app):
    page = open_app("/where-the-network-looks?arch=lenet5&weights=digits")
    expect(page.get_by_text(re.compile("stretched over the picture")).first).to_be_visible()
    check(page, "where it looks, a CAM drawn")


def test_a_training_step_taken(open_app):
    page = open_app("/training-step?arch=lenet5")
    page.get_by_role("button", name="Take one step").click()
    expect(page.get_by_role("heading", name=re.compile("What step 1 did"))).to_be_visible()
    check(page, "training step, a step taken")


def test_a_design_on_build_a_network(open_app):
    """The design's table, its selected row's editor and a warning under it (the navigation sees the page empty)."""
    page = open_app("/build-a-network")
    page.get_by_role("button", name="Start from this preset").click()  # LeNet-5, the first preset shown
    editor = page.locator(".st-key-bn_editor")
    expect(editor.get_by_text("Row 1: layer")).to_be_visible()
    stride = editor.get_by_label("Stride", exact=True)
    stride.fill("2")  # (32 − 5) / 2 + 1 = 14.5: a warning under the row
    stride.press("Enter")
    expect(page.get_by_test_id("stAlertContentWarning").first).to_be_visible()
    check(page, "build a network, a design with a warning")


def test_a_class_started_and_joined(people, app_url):
    teacher = people(app_url + "/")
    code = start_class(teacher)
    choose_architecture(teacher, "ResNet-18", "ResNet › ResNet-18", 224, side=64)
    teacher.get_by_role("link", name="Feature maps").click()
    expect(teacher.get_by_role("heading", name="Inside one layer")).to_be_visible()
    check(teacher, "class, the teacher's panel")
    student = people(f"{app_url}/?class={code}")
    expect_following(student, "ResNet-18", "Feature maps · ResNet-18")
    expect(sidebar(student).get_by_text("Following the teacher")).to_be_visible()
    check(student, "class, a student following")
