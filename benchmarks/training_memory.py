"""Server memory while students train VGG-16 in real browsers, and how soon it comes back after they leave.

    .venv/bin/python benchmarks/training_memory.py [--root DIR] [--students 4] [--budget-gb 6] [--arch vgg16]

Starts ``streamlit run app.py`` from ``--root`` (default: this checkout) with
``EXPLORER_TRAINING_MEMORY_GB`` set, opens the training page in one browser context
per student, one after the other, and has each take one step. The server's resident
memory (its process tree, from /proc) is read before anyone comes, after each
student's step, and then every 15 s for three minutes after all the browsers closed. Each student's page is
read for the budget's sentence, so the report says who trained and who was told the
server is full. The issue's figures on main before the store (four VGG-16 students:
1.9 → 7.5 GB, still 8.5 GB a minute after they left, 2.3 GB after five minutes) are
what this compares with.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_server_cpu import Server, finished  # noqa: E402
from benchmarks.load_test import mb, tree_rss  # noqa: E402
from explorer.cli.bench import machine  # noqa: E402
from explorer.core.registry import get_spec  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

FULL = "The server's training memory is full"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(ROOT))
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--budget-gb", type=float, default=6.0)
    parser.add_argument("--arch", default="vgg16")
    parser.add_argument("--out")
    args = parser.parse_args()
    name = get_spec(args.arch).name
    server = Server("server", Path(args.root).resolve())
    server.start({**os.environ, "EXPLORER_TRAINING_MEMORY_GB": str(args.budget_gb)})
    lines = [f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start.",
             f"Server from `{args.root}`, EXPLORER_TRAINING_MEMORY_GB={args.budget_gb:g}; {args.students} students "
             f"each take one step on {name} at its default size.", "",
             "| moment | server RSS | what the student saw |", "|---|---:|---|"]
    try:
        pid = server.process.pid
        lines.append(f"| started, torch imported, nobody yet | {mb(tree_rss(pid))} | |")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            contexts = []
            for number in range(1, args.students + 1):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                contexts.append(context)
                page = context.new_page()
                page.set_default_timeout(300_000)
                page.goto(f"{server.url}/training-step?arch={args.arch}")
                page.get_by_role("heading", name=f"Training step · {name}").wait_for()
                finished(page)
                if page.get_by_text(FULL).count():
                    saw = "the budget's sentence: " + page.get_by_text(FULL).first.inner_text()[:160] + "…"
                else:
                    page.get_by_role("button", name="Take one step").click()
                    page.get_by_text("What step 1 did").wait_for()
                    finished(page)
                    saw = "trained: step 1 shown"
                lines.append(f"| student {number} after one step | {mb(tree_rss(pid))} | {saw} |")
                print(lines[-1], flush=True)
            for context in contexts:
                context.close()
            browser.close()
        left = time.monotonic()
        for seconds in range(15, 181, 15):
            time.sleep(max(0.0, left + seconds - time.monotonic()))
            lines.append(f"| {seconds} s after every browser closed | {mb(tree_rss(pid))} | |")
            print(lines[-1], flush=True)
    finally:
        server.stop()
    report = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
