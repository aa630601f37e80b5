"""Server CPU of showing a page of 16 cached channels on "What a channel looks for", beside a bare ResNet-18 pass.

    CNN_EXPLORER_MICROSCOPE_CACHE=DIR .venv/bin/python benchmarks/bench_channel_page.py [--repeats 5] [--shot FILE]

Fill ``DIR`` first (``python -m explorer microscope lenet5 --weights digits --layer features.3
--channels 0-15 --steps 64``, with the same variable set), so every render is cached. The script starts
``streamlit run app.py`` with that cache, opens the page on LeNet-5 with its digit weights in
Chromium, picks the 64-step recipe, and switches "Which channels" between one named channel and "The first 16": each
switch to the sixteen is one full run of the page reading sixteen renders from disk and
drawing them beside their 144 examples. The server's CPU seconds are read as
``bench_server_cpu.py`` reads them, and a bare ResNet-18 forward pass is timed in this
process before every switch, so each figure is also a multiple of that pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_server_cpu import TIMEOUT_MS, Server, bare_references, finished, typical  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, pick_option  # noqa: E402

PATH = "/what-a-channel-looks-for?arch=lenet5&weights=digits"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shot", help="save a screenshot of the sixteen channels here")
    args = parser.parse_args()
    if not os.environ.get("CNN_EXPLORER_MICROSCOPE_CACHE"):
        sys.exit("Set CNN_EXPLORER_MICROSCOPE_CACHE to a folder filled by the microscope command first.")
    server = Server("channel page", ROOT)
    server.start(dict(os.environ))
    sixteen, one, passes = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = server.page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url + PATH)
            page.get_by_role("heading", name="What a channel looks for · LeNet-5").wait_for()
            finished(page)
            pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Render recipe"), "64",
                        "64 steps (a preview)")
            finished(page)
            for repeat in range(args.repeats + 1):  # the first switch warms the corpus scan and examples
                passes.append(bare_references(rounds=5)[0])
                used = server.measure(("channels", "16"), lambda p: p.get_by_text("The first 16", exact=True).click())
                if page.get_by_text("No render yet.").count():
                    sys.exit("Some of the sixteen channels are not in the cache; fill it first (see above).")
                back = server.measure(("channels", "1"), lambda p: p.get_by_text("Channels I name", exact=True).click())
                if repeat:
                    sixteen.append(used)
                    one.append(back)
            if args.shot:
                page.get_by_text("The first 16", exact=True).click()
                finished(page)
                page.set_viewport_size({"width": 1400, "height": 2400})
                page.wait_for_timeout(800)
                page.screenshot(path=args.shot)
            browser.close()
    finally:
        server.stop()
    forward = typical(passes)
    print(f"bare ResNet-18 forward pass (1 thread, this process): {forward * 1000:.0f} ms CPU")
    for label, values in (("page of 16 cached channels", sixteen), ("back to one channel", one)):
        print(f"{label}: {typical(values) * 1000:.0f} ms server CPU = {typical(values) / forward:.1f} bare passes "
              f"(each run: {', '.join(f'{v * 1000:.0f}' for v in values)} ms)")


if __name__ == "__main__":
    main()
