"""A self-check of benchmarks/stream_client.py against a real `streamlit run app.py`, with a real teacher.

    .venv/bin/python benchmarks/stream_client_check.py [--students 3]

1. One headless tab opens ``/feature-maps?arch=lenet5``: it must show the page's title and a
   layer in the "Layer (…)" picker, and a rerun it asks for must keep every widget's value.
2. A teacher in Debian's Chromium (Playwright) opens Feature maps, starts a class and steps back
   two layers; ``--students`` headless tabs open the join link ``/?class=CODE``. Each must be
   moved to Feature maps (the server's ``st.switch_page``) with the teacher's layer, poll (its
   ``auto_rerun`` timer), and be counted by the teacher's sidebar ("N students following now").
3. The teacher presses ▶: every tab must show the teacher's new layer within 20 s (the server
   reruns its followers' sessions itself, ui.classroom.push; their polls are the fallback).
4. The teacher opens Layer table: every tab is moved there (``st.switch_page`` in a run the
   server started) and Feature maps' elements are gone from it.
5. The teacher's tab closes. Nothing announces that, so only each tab's own poll (the
   ``auto_rerun`` of ``_watch_teacher``, then ``st.rerun(scope="app")``) can show "The teacher has left".

Prints what it saw and exits 1 on the first failed check. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.follow_latency import PICKED, SETTLED  # noqa: E402
from benchmarks.stream_client import StreamClient, connect  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.servers import free_port, start_app, stop  # noqa: E402

LAYER = "Layer ("
QUIET_S = 8.0


def check(ok: bool, what: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        raise SystemExit(1)


def idle(client: StreamClient) -> bool:
    return client.runs_finished > 0 and not client.script_running


async def one_tab(url: str) -> None:
    print("1. one headless tab on /feature-maps?arch=lenet5", flush=True)
    began = time.perf_counter()
    tab = await connect(url, "/feature-maps?arch=lenet5")
    try:
        await tab.wait_for(lambda c: idle(c) and c.widget_value(LAYER) is not None, 180)
        layer = tab.widget_value(LAYER)
        print(f"     first run drawn in {time.perf_counter() - began:.1f} s; {len(tab.nodes)} elements and blocks, "
              f"{len(tab.widgets)} widget values; url {tab.url}")
        check(isinstance(layer, str) and bool(re.match(r"\d+\. ", layer)), f"layer picker shows {layer!r}")
        check("Feature maps · LeNet-5" in tab.texts(), "the page's title 'Feature maps · LeNet-5' is shown")
        check(tab.widget_value("Architecture") == "LeNet › LeNet-5", f"sidebar: {tab.widget_value('Architecture')!r}")
        held, runs = dict(tab.widgets), tab.runs_finished
        await tab.rerun()
        await tab.wait_for(lambda c: c.runs_finished > runs and not c.script_running, 120)
        check(tab.widgets == held and tab.widget_value(LAYER) == layer, "a rerun keeps every widget's value")
        check(not any("went wrong" in t for t in tab.texts()), "no error on the page")
    finally:
        await tab.close()


async def settle(page) -> None:
    await page.wait_for_timeout(300)  # a rerun announces itself a moment after the click
    await page.wait_for_function(SETTLED, timeout=180_000, polling=100)


def button(scope, key: str, name: str):
    return scope.locator(f".st-key-{key}").get_by_role("button", name=name, exact=True)


async def teacher_with_class(browser, url: str):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    teacher = await context.new_page()
    teacher.set_default_timeout(180_000)
    await teacher.goto(f"{url}/feature-maps?arch=lenet5", wait_until="commit")
    await teacher.wait_for_selector("h1")
    await settle(teacher)
    side = teacher.locator('[data-testid="stSidebar"]')
    await side.get_by_text("Teach or join a class").click()
    await button(side, "cl_start", "Start a class").click()
    code = (await side.locator('[data-testid="cl-code"]').inner_text()).replace(" ", "")
    await settle(teacher)
    for _ in range(2):  # so that ▶ below stays inside the network
        await button(teacher, "fm_prev", "◀").click()
        await settle(teacher)
    return teacher, code


async def a_class(url: str, students: int) -> None:
    from playwright.async_api import async_playwright

    print(f"2. a teacher in Chromium, {students} headless students", flush=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        tabs: list[StreamClient] = []
        try:
            teacher, code = await teacher_with_class(browser, url)
            layer = await picked(teacher)
            print(f"     class {code}; the teacher shows {layer!r}", flush=True)
            began = time.perf_counter()
            tabs = list(await asyncio.gather(*(connect(url, f"/?class={code}") for _ in range(students))))

            def following(c: StreamClient) -> bool:
                return (idle(c) and c.url_path == "feature-maps" and c.widget_value(LAYER) == layer
                        and any("Following the teacher" in t for t in c.texts()))

            await asyncio.gather(*(tab.wait_for(following, 180) for tab in tabs))
            print(f"     all {students} following after {time.perf_counter() - began:.1f} s", flush=True)
            for number, tab in enumerate(tabs, 1):
                check(tab.url_path == "feature-maps" and f"class={code}" in tab.query_string,
                      f"student {number} moved to {tab.url} showing {tab.widget_value(LAYER)!r}")
                check(bool(tab.timers), f"student {number} polls: auto-rerun timers {sorted(tab.timers.values())} s")
            side = teacher.locator('[data-testid="stSidebar"]')
            await side.get_by_text(re.compile(rf"{students} students?")).wait_for(timeout=60_000)
            check(True, f"the teacher's sidebar: {await side.get_by_text(re.compile('following now')).inner_text()!r}")

            sent, runs = [tab.reruns_sent for tab in tabs], [tab.runs_finished for tab in tabs]
            cpu, messages = time.process_time(), sum(tab.messages_received for tab in tabs)
            await asyncio.sleep(QUIET_S)
            cpu, messages = time.process_time() - cpu, sum(tab.messages_received for tab in tabs) - messages
            polls = [tab.reruns_sent - before for tab, before in zip(tabs, sent, strict=True)]
            answered = [tab.runs_finished - before for tab, before in zip(tabs, runs, strict=True)]
            print(f"     quiet {QUIET_S:.0f} s: polls sent per student {polls}, runs finished {answered}; "
                  f"{messages} messages received, this process's CPU {cpu * 1000:.0f} ms "
                  f"({cpu * 1000 / max(1, sum(polls)):.1f} ms a poll, Playwright's side included)", flush=True)
            check(all(n >= QUIET_S / 2.0 - 1 for n in polls), "every student's fragment timer keeps polling")

            print("3. the teacher presses ▶", flush=True)
            shown: dict[int, float] = {}  # student -> when (time.time()) its picker first left the old layer

            def seen(number: int):
                return lambda c, t: shown.setdefault(number, t) if c.widget_value(LAYER) != layer else None

            for number, tab in enumerate(tabs):
                tab.on_change = seen(number)
            pressed = time.time()
            await button(teacher, "fm_next", "▶").click()
            await settle(teacher)
            new = await picked(teacher)
            check(new != layer, f"the teacher now shows {new!r}")
            await asyncio.gather(*(tab.wait_for(lambda c: c.widget_value(LAYER) == new, 20) for tab in tabs))
            for number, tab in enumerate(tabs):
                check(tab.widget_value(LAYER) == new and not any("went wrong" in t for t in tab.texts()),
                      f"student {number + 1} shows it {shown[number] - pressed:.2f} s after the press")

            print("4. the teacher opens Layer table", flush=True)
            await teacher.get_by_role("link", name="Layer table").click()
            await settle(teacher)
            await asyncio.gather(*(tab.wait_for(lambda c: idle(c) and "Layer table · LeNet-5" in c.texts(), 30)
                                   for tab in tabs))
            for number, tab in enumerate(tabs, 1):
                check(tab.url_path == "layer-table" and tab.widget_value(LAYER) is None
                      and "Feature maps · LeNet-5" not in tab.texts(),
                      f"student {number} moved to {tab.url}, Feature maps' elements gone")

            print("5. the teacher's tab closes (never announced: only the students' polls can tell)", flush=True)
            began = time.perf_counter()
            await teacher.close()
            await asyncio.gather(*(tab.wait_for(lambda c: any("The teacher has left" in t for t in c.texts()), 60)
                                   for tab in tabs))
            check(all("Layer table · LeNet-5" in tab.texts() for tab in tabs),
                  f"every student says 'The teacher has left' after {time.perf_counter() - began:.1f} s "
                  "and keeps its page")
        finally:
            await asyncio.gather(*(tab.close() for tab in tabs))
            await browser.close()


async def picked(page) -> str | None:
    return await page.evaluate(PICKED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="stream-client-"))
    port = free_port()
    print(f"streamlit run app.py on port {port} (log: {folder / 'server.log'})", flush=True)
    server = start_app(port, log=folder / "server.log")
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(one_tab(url))
        asyncio.run(a_class(url, args.students))
        print("all checks passed")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
