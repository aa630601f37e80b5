"""The training budget in a real server and real browsers: a third student is refused plainly, a tab that
closes in the middle of a run frees its copy within about a minute, and nobody still there loses theirs.

The server gets a budget of two and a half ResNet-18 copies at 64×64 (EXPLORER_TRAINING_MEMORY_GB);
each student is a browser context of their own. Takes about a minute and a half: the sweeper frees a
closed tab's copy 45 s after its browser left (ui/caches/training_copies.py), checking every 10 s.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from explorer.analysis.summary import summarize
from explorer.classroom import budget
from explorer.core.sizes import InputSize
from ui.caches.training_copies import GONE_GRACE_S, SWEEP_EVERY_S
from tests.browser.conftest import FIRST_RENDER_MS, served_app, settle
from tests.conftest import ROOT

PATH = "/training-step?arch=resnet18&h=64&w=64"
RESNET18_PARAMETERS = 11_689_512  # torchvision's metadata for resnet18 (tests/test_registry.py checks it)
FULL = "The server's training memory is full"


def resnet18_copy_bytes() -> int:
    activations = summarize("resnet18", InputSize(64, 64, 2)).totals.forward_backward_bytes
    return budget.training_bytes(RESNET18_PARAMETERS * 4, "sgd", activations)


@pytest.fixture(scope="module")
def small_budget_url():
    gigabytes = 2.5 * resnet18_copy_bytes() / 1000**3
    with served_app({budget.ENVIRONMENT_VARIABLE: repr(gigabytes)}) as url:
        yield url


def student(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(FIRST_RENDER_MS)
    page.goto(url + PATH)
    expect(page.get_by_role("heading", name="Training step · ResNet-18")).to_be_visible(timeout=FIRST_RENDER_MS)
    settle(page)
    return context, page


def take_one_step(page) -> None:
    page.get_by_role("button", name="Take one step").click()
    settle(page)


def test_a_third_student_is_refused_a_closed_tab_frees_its_copy_and_the_others_keep_theirs(browser, small_budget_url):
    expect.set_options(timeout=FIRST_RENDER_MS)
    alice_context, alice = student(browser, small_budget_url)
    bob_context, bob = student(browser, small_budget_url)
    carol_context, carol = student(browser, small_budget_url)
    for page in (alice, bob):
        expect(page.get_by_text(FULL)).to_have_count(0)
    expect(carol.get_by_text(re.compile(FULL + r": 2 students hold .* ResNet-18 at 64×64 with SGD needs about"))).to_be_visible()
    expect(carol.get_by_role("button", name="Take one step")).to_be_disabled()
    ARTIFACTS = ROOT / "test-artifacts"
    ARTIFACTS.mkdir(exist_ok=True)
    carol.screenshot(path=str(ARTIFACTS / "training_budget_full.png"), full_page=True)

    take_one_step(bob)
    expect(bob.get_by_text("What step 1 did")).to_be_visible()

    # Alice starts a long run and closes her tab in the middle of it.
    count = alice.get_by_label("N (for “Take N steps”)")
    count.fill("100")
    count.press("Enter")
    settle(alice)
    alice.get_by_role("button", name="Take 100 steps").click()
    alice.get_by_text(re.compile(r"^(Taking 100 steps|Step \d+: loss)")).first.wait_for(timeout=FIRST_RENDER_MS)
    alice_context.close()
    left = time.monotonic()

    # Bob, still there, keeps his copy and its steps.
    take_one_step(bob)
    expect(bob.get_by_text("What step 2 did")).to_be_visible()

    # Carol asks again until Alice's copy is freed: within the grace, a sweep, and some slack.
    deadline = left + GONE_GRACE_S + 2 * SWEEP_EVERY_S + 30
    while carol.get_by_text(FULL).count():
        assert time.monotonic() < deadline, "the closed tab's copy was not freed within about a minute"
        try_again = carol.get_by_role("button", name="Try again")
        if try_again.count():  # not while a run redraws her page (the sentence can outlive its button there)
            try_again.click()
            settle(carol)
        carol.wait_for_timeout(3000)
    freed_after = time.monotonic() - left
    assert freed_after > GONE_GRACE_S - 5  # not before the grace: a network blip keeps a copy
    take_one_step(carol)
    expect(carol.get_by_text("What step 1 did")).to_be_visible()
    take_one_step(bob)
    expect(bob.get_by_text("What step 3 did")).to_be_visible()
    for page in (bob, carol):
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    bob_context.close()
    carol_context.close()
