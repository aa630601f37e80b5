"""One lesson with the keyboard alone, in Chromium: Tab to a control, Enter or the arrow keys to use it.

Nothing here is clicked: each control is reached by pressing Tab until it has the focus, and
the focus must be visible there (WCAG 2.1.1 Keyboard and 2.4.7 Focus Visible).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.classroom_helpers import sidebar
from tests.browser.conftest import settle

TABS = 250  # more than there are controls on any page; a control not reached by then is not reachable

# Whether the focus shows: the focused element or one of its nearest ancestors (Streamlit's widgets
# draw the ring on a wrapper: a box shadow on buttons, a border in the primary colour on a
# select box) looks different with the focus than without it. Transitions are switched off while
# it looks (only then: an expander opens at the end of its transition), and React redraws a
# widget's focus state in the next frames after blur().
FOCUS_SHOWN = """async element => {
    const focused = document.activeElement;
    if (!(element === focused || element.contains(focused))) return false;
    const still = document.createElement("style");
    still.textContent = "*, *::before, *::after { transition: none !important; animation: none !important; }";
    document.head.append(still);
    const chain = [];
    for (let node = focused; node && node !== document.body && chain.length < 8; node = node.parentElement) {
        chain.push(node);
    }
    const look = () => chain.map(node => {
        const s = getComputedStyle(node);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderTopColor,
                s.borderBottomColor, s.backgroundColor].join("|");
    });
    const frames = () => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    const focusedLook = look();
    focused.blur();
    await frames();
    const blurredLook = look();
    focused.focus();
    await frames();
    still.remove();
    return focusedLook.some((value, i) => value !== blurredLook[i]);
}"""


def tab_to(page, target, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has the focus, and check that the focus shows."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(TABS):
        if target.evaluate("e => e === document.activeElement || e.contains(document.activeElement)"):
            break
        page.keyboard.press(key)
    else:
        raise AssertionError(f"{TABS} presses of {key} never reached {target}")
    assert target.evaluate(FOCUS_SHOWN), f"{target} has the focus but shows no focus ring"


def start_from_the_top(page) -> None:
    """Put the keyboard focus at the start of the document, as a fresh page load does."""
    page.evaluate("() => { document.activeElement?.blur(); window.focus(); }")
    page.locator("body").focus()


def test_stepping_a_convolution_with_the_keyboard(open_app):
    page = open_app("/")
    expect(page.get_by_text("Window 0 of 16.")).to_be_visible()
    start_from_the_top(page)
    forward = page.get_by_role("button", name="Step forward ▶").first
    tab_to(page, forward)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Window 1 of 16.")).to_be_visible()
    settle(page)
    forward = page.get_by_role("button", name="Step forward ▶").first
    tab_to(page, forward)  # after the rerun, the focus is found again by Tab
    page.keyboard.press("Enter")
    expect(page.get_by_text("Window 2 of 16.")).to_be_visible()
    settle(page)
    back = page.get_by_role("button", name="◀ Step back").first
    tab_to(page, back, backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Window 1 of 16.")).to_be_visible()


def position(label: str) -> int:
    """The call number at the start of a layer's label ("5. features.3 · Conv2d · 16×10×10")."""
    return int(label.split(".", 1)[0])


def layer_picker(page):
    return page.locator('[data-testid="stSelectbox"]').filter(has_text="Layer (").get_by_role("combobox")


def test_feature_maps_layer_by_layer_with_the_keyboard(open_app):
    page = open_app("/feature-maps?arch=lenet5")
    expect(page.get_by_role("heading", name="Inside one layer")).to_be_visible()
    settle(page)
    first = layer_picker(page).input_value()
    start_from_the_top(page)
    tab_to(page, page.get_by_role("button", name="▶"))
    page.keyboard.press("Enter")
    expect(layer_picker(page)).not_to_have_value(first)
    settle(page)
    stepped = position(layer_picker(page).input_value())
    assert stepped == position(first) + 1  # ▶: the next call
    # The layer picker: Tab back to it, open it with the down arrow, go further down, take it with Enter.
    tab_to(page, layer_picker(page), backwards=True)
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(layer_picker(page)).not_to_have_value(re.compile(rf"^{stepped}\. "))
    settle(page)
    assert position(layer_picker(page).input_value()) > stepped
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_a_training_step_with_the_keyboard(open_app):
    page = open_app("/training-step?arch=lenet5")
    start_from_the_top(page)
    tab_to(page, page.get_by_role("button", name="Take one step"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("What step 1 did"))).to_be_visible()


def test_starting_a_class_with_the_keyboard(open_app):
    page = open_app("/layer-table?arch=lenet5")
    start_from_the_top(page)
    tab_to(page, sidebar(page).locator("summary").filter(has_text="Teach or join a class"))
    page.keyboard.press("Enter")
    start = sidebar(page).get_by_role("button", name="Start a class")
    expect(start).to_be_visible()
    tab_to(page, start)
    page.keyboard.press("Enter")
    expect(sidebar(page).locator('[data-testid="cl-code"]')).to_be_visible()
    settle(page)
    end = sidebar(page).get_by_role("button", name="End the class")
    expect(end).to_be_visible()
    start_from_the_top(page)
    tab_to(page, end)
    page.keyboard.press("Enter")
    expect(page.get_by_text("The class has ended")).to_be_visible()
    expect(sidebar(page).locator("summary").filter(has_text="Teach or join a class")).to_be_visible()
