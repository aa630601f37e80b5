"""Real browser: values copied from a shared link are shown as typed, never as a link, a picture or markup.

Streamlit renders warnings and notes as Markdown; a link made by someone else could otherwise put a
"log in again" link or an outside picture (which sees every student's address) on the class's screens.
"""

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from ui.widgets.text import ZERO_WIDTH_SPACE

LINK = "[Log in again](https://evil.example/login)"
PICTURE = "![](https://evil.example/t.png)"


@pytest.mark.parametrize(("path", "shown"), [
    (f"/layer-table?arch=lenet5&layer={quote(LINK)}", f"LeNet-5 has no layer called '{LINK}'"),
    (f"/parameter-breakdown?arch=lenet5&layer={quote(PICTURE)}", f"No layer with parameters is called '{PICTURE}'"),
    (f"/layer-table?arch={quote(LINK)}", f"There is no architecture called '{LINK[:40]}'"),  # cut at 40
])
def test_a_hostile_value_in_a_link_is_shown_as_plain_words(open_app, path, shown):
    page = open_app(path)
    main_text = page.locator('[data-testid="stMain"]').inner_text() + page.locator('[data-testid="stSidebar"]').inner_text()
    assert shown in main_text.replace(ZERO_WIDTH_SPACE, "")  # shown as typed (the zero-width spaces are invisible)
    # Nothing points there (the app's own links may carry the address's query, percent-encoded, which is harmless).
    links = page.locator('a[href^="https://evil.example"]')
    assert links.count() == 0, [links.nth(i).evaluate("a => a.parentElement.outerHTML") for i in range(links.count())]
    expect(page.get_by_role("heading", level=1)).to_be_visible()  # and the page works
    assert page.locator('img[src^="https://evil.example"]').count() == 0
