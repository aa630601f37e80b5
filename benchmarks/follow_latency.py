"""A class following its teacher: how soon the teacher's layer reaches every follower, and what it costs.

    .venv/bin/python benchmarks/follow_latency.py [--followers 30] [--presses 8] [--gap 6] [--arch lenet5|resnet18]
                                                  [--poll SECONDS] [--out FILE]

Starts ``streamlit run app.py`` from this checkout on loopback, with ``EXPLORER_PASS_LOG``
(one line per forward pass) in a temporary folder and, with ``--poll``, the followers' poll
interval ``EXPLORER_CLASS_POLL_S``. Debian's Chromium, one browser context per person, all
in one process (Playwright's async API, as benchmarks/load_class.py):

1. **The teacher** opens Feature maps (LeNet-5, or ``--arch resnet18``), starts a class
   ("Start a class" in the sidebar) and, alone, steps back up to ``--presses`` layers with ◀,
   so that the ▶ presses below stay inside the network. A quiet window (20 s) gives the
   server's idle CPU with the teacher alone.
2. **The followers** open the join link (six at a time, as a class drifts in) and wait until
   they show Feature maps with the teacher's layer in their (disabled) layer picker. A second
   quiet window gives the idle CPU of N polling followers.
3. **The presses.** The teacher presses ▶ ``--presses`` times, ``--gap`` seconds apart. Before
   each press every tab gets a watcher (a 50 ms timer in the page reading the layer picker);
   the press's moment is the teacher's pointerdown, read in the teacher's tab. Both clocks are
   this machine's wall clock (``Date.now()``), so no browser-to-Python delay enters a latency.
   A follower that does not show the new layer within 20 s missed it; one that shows another
   layer is counted as wrong.

The browsers run at ``--nice 19`` (a wrapper script around Chromium): in a class they run on the
students' laptops, so here they take only the CPU the server leaves. With ``EXPLORER_CLASS_LOG``
the server writes a line when the teacher's change goes out (``ui.classroom.follow.flush``) and when a
follower's run has drawn it (``ui.classroom.panel.finish``): the server's own share of the latency.

Reported: p50/p95/max of press → follower's picker shows the new layer (and → its page has
settled: no running indicator, nothing stale) over all (press, follower) pairs, the same on the
server (change sent → follower's rerun drawn), the teacher's
own rerun, misses, the server's CPU seconds (its process tree, /proc/PID/stat utime + stime)
per teacher change and per second of idle polling, forward passes per phase, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_test import percentile, tree_cpu_seconds  # noqa: E402
from explorer.cli.bench import machine  # noqa: E402
from tests.browser.classroom_helpers import passes  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.servers import free_port, start_app, stop  # noqa: E402

SETUP_MS = 600_000  # thirty browsers and the server on two cores: slow is a result, not a failure
MISS_S = 20.0
QUIET_S = 20.0
JOINING_AT_ONCE = 6
NAMES = {"lenet5": "LeNet-5", "resnet18": "ResNet-18"}
# The layer picker's shown value (the combobox input of the selectbox labelled "Layer (N calls, ...)").
PICKED = """() => {
  const box = [...document.querySelectorAll('[data-testid="stSelectbox"]')].find(b => b.innerText.includes('Layer ('));
  const input = box && box.querySelector('input');
  return input ? input.value : null;
}"""
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')"""
WATCH = f"""([before, limit]) => {{
  const picked = {PICKED}, settled = {SETTLED}, began = Date.now();
  window.__pressed = null;
  window.__seen = new Promise(resolve => {{
    let shown = null, value = null;
    const timer = setInterval(() => {{
      const now = Date.now();
      if (shown === null) {{ const v = picked(); if (v !== null && v !== before) {{ shown = now; value = v; }} }}
      if (shown !== null && now - shown >= 150 && settled()) {{
        clearInterval(timer); resolve({{shown, settled: now, value: picked()}});
      }} else if (now - began > limit) {{ clearInterval(timer); resolve({{shown, settled: null, value}}); }}
    }}, 50);
  }});
}}"""
PRESS_CLOCK = "document.addEventListener('pointerdown', () => { window.__pressed = Date.now(); }, true)"


async def settle(page) -> None:
    await page.wait_for_timeout(300)  # a rerun announces itself a moment after the click
    await page.wait_for_function(SETTLED, timeout=SETUP_MS, polling=100)


async def picked(page) -> str | None:
    return await page.evaluate(PICKED)


async def person(browser, link: str, sent: list[int] | None = None):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    if sent is not None:
        count_messages(page, sent)
    page.set_default_timeout(SETUP_MS)
    await page.goto(link, wait_until="commit")  # "load" waits for every script: slow when busy
    await page.wait_for_selector("h1")
    await settle(page)
    return page


def button(page, key: str, name: str):
    return page.locator(f".st-key-{key}").get_by_role("button", name=name, exact=True)


async def step(teacher, key: str, name: str) -> None:
    await button(teacher, key, name).click()
    await settle(teacher)


async def lead(browser, url: str, arch: str, back: int):
    """The teacher on Feature maps with a class started; stepped back up to ``back`` layers. (page, code)"""
    teacher = await person(browser, f"{url}/feature-maps?arch={arch}")
    side = teacher.locator('[data-testid="stSidebar"]')
    await side.get_by_text("Teach or join a class").click()
    await button(side, "cl_start", "Start a class").click()
    code = (await side.locator('[data-testid="cl-code"]').inner_text()).replace(" ", "")
    await settle(teacher)
    await teacher.get_by_role("heading", name=f"Feature maps · {NAMES[arch]}", level=1).wait_for()
    for _ in range(back):
        before = await picked(teacher)
        await step(teacher, "fm_prev", "◀")
        if await picked(teacher) == before:
            break  # the first layer
    await teacher.evaluate(PRESS_CLOCK)
    return teacher, code


def count_messages(page, sent: list[int]) -> None:
    """Count the messages this tab sends the server (each poll is one: a fragment's rerun request)."""
    page.on("websocket", lambda socket: socket.on("framesent", lambda _: sent.__setitem__(0, sent[0] + 1)))


async def join(browser, link: str, arch: str, layer: str, gate: asyncio.Semaphore, joined: list[float],
               sent: list[int]):
    async with gate:
        began = time.perf_counter()
        page = await person(browser, link, sent)
        await page.get_by_role("heading", name=f"Feature maps · {NAMES[arch]}", level=1).wait_for()
        await page.wait_for_function(f"layer => ({PICKED})() === layer", arg=layer, polling=200)
        joined.append(time.perf_counter() - began)
        return page


async def quiet(pid: int, sent: list[int]) -> tuple[float, float]:
    """Over a window in which nobody clicks: server CPU seconds per second, and the followers' messages per second."""
    cpu, messages, began = tree_cpu_seconds(pid), sent[0], time.perf_counter()
    await asyncio.sleep(QUIET_S)
    seconds = time.perf_counter() - began
    return (tree_cpu_seconds(pid) - cpu) / seconds, (sent[0] - messages) / seconds


async def press(teacher, followers: list, gap: float) -> tuple[float, str, dict, list[dict]]:
    """One ▶ by the teacher: (its moment in ms, the teacher's new layer, the teacher's watch, each follower's)."""
    before = await picked(teacher)
    tabs = [teacher, *followers]
    await asyncio.gather(*(tab.evaluate(WATCH, [before, MISS_S * 1000]) for tab in tabs))
    fallback = time.time() * 1000
    began = time.perf_counter()
    await button(teacher, "fm_next", "▶").click()
    seen = await asyncio.gather(*(tab.evaluate("window.__seen") for tab in tabs))
    pressed = await teacher.evaluate("window.__pressed") or fallback
    await asyncio.sleep(max(0.0, gap - (time.perf_counter() - began)))
    return pressed, await picked(teacher), seen[0], seen[1:]


async def lesson(url: str, args, pid: int, log: Path) -> dict:
    from playwright.async_api import async_playwright

    figures: dict = {"passes": {}}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        teacher, code = await lead(browser, url, args.arch, args.presses)
        layer = await picked(teacher)
        figures["passes"]["teacher on Feature maps"] = passes(log)
        print(f"class {code}, teacher on {layer!r}; {passes(log)} forward passes so far", flush=True)
        sent = [0]  # messages from the followers' tabs
        figures["idle alone"], _ = await quiet(pid, sent)

        joined: list[float] = []
        gate = asyncio.Semaphore(JOINING_AT_ONCE)
        link = f"{url}/?class={code}"
        began = time.perf_counter()
        followers = await asyncio.gather(*(join(browser, link, args.arch, layer, gate, joined, sent)
                                           for _ in range(args.followers)))
        figures["join"], figures["join wall"] = joined, time.perf_counter() - began
        figures["passes"][f"{args.followers} followers joined"] = passes(log)
        print(f"{len(followers)} followers joined in {figures['join wall']:.0f} s; {passes(log)} passes", flush=True)
        await asyncio.sleep(5)  # the last joins' own polls and beats settle down
        figures["idle class"], figures["messages"] = await quiet(pid, sent)
        print(f"idle: {figures['idle alone']:.3f} CPU s/s alone, {figures['idle class']:.3f} with the class",
              flush=True)

        presses, cpu, began, figures["press from"] = [], tree_cpu_seconds(pid), time.perf_counter(), time.time()
        for k in range(args.presses):
            pressed, target, own, seen = await press(teacher, followers, args.gap)
            presses.append((pressed, target, own, seen))
            late = [s["shown"] - pressed for s in seen if s["shown"] is not None]
            print(f"press {k + 1}: {target!r}, teacher {(own['shown'] or math.nan) - pressed:.0f} ms, followers "
                  f"max {max(late, default=math.nan):.0f} ms, {len(seen) - len(late)} missed", flush=True)
        figures["press to"] = time.time()
        figures["press cpu"] = tree_cpu_seconds(pid) - cpu
        figures["press wall"] = time.perf_counter() - began
        figures["presses"] = presses
        figures["passes"][f"{args.presses} presses"] = passes(log)
        await browser.close()
    return figures


def server_side(class_log: Path, began: float, ended: float, followers: int) -> tuple[list[float], int]:
    """From EXPLORER_CLASS_LOG: for each change the teacher published during the presses, the seconds until
    each follower's run on the server had drawn it (or a later one), and how many (change, follower) missed it."""
    lines = [line.split()[:4] for line in class_log.read_text().splitlines()] if class_log.exists() else []
    published = [(float(t), int(v)) for t, what, v, _ in lines if what == "published" and began <= float(t) <= ended]
    shown: dict[str, list[tuple[float, int]]] = {}
    for t, what, v, member in lines:
        if what == "shown":
            shown.setdefault(member, []).append((float(t), int(v)))
    latencies, missed = [], 0
    for at, version in published:
        for runs in shown.values():
            first = next((t for t, v in runs if t >= at and v >= version), None)
            if first is None or first - at > MISS_S:
                missed += 1
            else:
                latencies.append(first - at)
    missed += len(published) * max(0, followers - len(shown))
    return latencies, missed


def spread(values: list[float]) -> str:
    """p50 / p95 / max of seconds, as the reports write them."""
    if not values:
        return "none"
    return f"{percentile(values, .5):.2f} s / {percentile(values, .95):.2f} s / {max(values):.2f} s"


def where(loads: list[tuple[str, tuple]]) -> list[str]:
    """A report's first lines: the machine, and its load average when the run began and ended."""
    return [f"Machine: {machine()}.",
            "Load average (1 / 5 / 15 min): " + "; ".join(f"{when} {a:.1f} / {b:.1f} / {c:.1f}"
                                                            for when, (a, b, c) in loads) + "."]


def report(args, figures: dict, loads: list[tuple[str, tuple]]) -> str:
    shown, settled, own, own_settled, missed, wrong = [], [], [], [], 0, 0
    for pressed, target, teachers, seen in figures["presses"]:
        own += [(teachers["shown"] - pressed) / 1000] if teachers["shown"] else []
        own_settled += [(teachers["settled"] - pressed) / 1000] if teachers["settled"] else []
        for s in seen:
            if s["shown"] is None:
                missed += 1
            elif s["value"] != target:
                wrong += 1
            else:
                shown.append((s["shown"] - pressed) / 1000)
                if s["settled"] is not None:
                    settled.append((s["settled"] - pressed) / 1000)
    pairs = args.presses * args.followers
    idle_alone, idle_class = figures["idle alone"], figures["idle class"]
    per_change = figures["press cpu"] / args.presses
    beyond_idle = (figures["press cpu"] - idle_class * figures["press wall"]) / args.presses
    per_follower = (idle_class - idle_alone) / max(args.followers, 1)

    lines = [
        *where(loads),
        f"{NAMES[args.arch]} on Feature maps; {args.followers} followers; {args.presses} presses of ▶, "
        f"{args.gap:g} s apart; EXPLORER_CLASS_POLL_S={args.poll or 'unset (2 s)'}; the browsers ran at nice "
        f"{args.nice} (the server at 0).", "",
        "| measure | value |", "|---|---|",
        f"| press → follower's picker shows the new layer, p50 / p95 / max | {spread(shown)} |",
        f"| press → follower's page settled, p50 / p95 / max | {spread(settled)} |",
        f"| on the server: the teacher's change sent → each follower's rerun drawn, p50 / p95 / max "
        f"({len(figures['server side'][0])} pairs, {figures['server side'][1]} missed) | {spread(figures['server side'][0])} |",
        f"| press → the teacher's own picker; page settled, p50 / p95 / max | {spread(own)}; {spread(own_settled)} "
        f"({args.presses - len(own)} not within {MISS_S:.0f} s) |",
        f"| (press, follower) pairs: on time / missed (none in {MISS_S:.0f} s) / wrong layer | "
        f"{len(shown)} / {missed} / {wrong} of {pairs} |",
        f"| join link → teacher's layer shown, p50 / max ({JOINING_AT_ONCE} joining at once) | "
        f"{percentile(figures['join'], .5):.1f} s / {max(figures['join']):.1f} s "
        f"(all in {figures['join wall']:.0f} s) |",
        f"| server CPU per teacher change (press phase / presses) | {per_change:.2f} s |",
        f"| … less the idle polling over the same time | {beyond_idle:.2f} s |",
        f"| server CPU per second, idle: teacher alone / with {args.followers} followers | "
        f"{idle_alone:.3f} / {idle_class:.3f} s/s |",
        f"| idle polling per follower | {per_follower * 1000:.1f} ms per second; its tab sends "
        f"{figures['messages'] / max(args.followers, 1):.2f} messages a second |",
        "| forward passes (EXPLORER_PASS_LOG), cumulative | "
        + ", ".join(f"{count} after {what}" for what, count in figures["passes"].items()) + " |",
    ]
    return "\n".join(lines) + "\n"


def run_lesson(args, lesson, more: Callable[[dict, Path], None] | None = None) -> dict:
    """A server of its own with the pass and class logs; ``lesson(url, args, pid, pass_log)``'s figures.

    Then the server's side of the latency from the class log, and ``more(figures, class_log)`` for the rest.
    """
    with tempfile.TemporaryDirectory() as folder:
        log, class_log = Path(folder) / "passes.log", Path(folder) / "class.log"
        env = {"EXPLORER_PASS_LOG": str(log), "EXPLORER_CLASS_LOG": str(class_log),
               **({"EXPLORER_CLASS_POLL_S": args.poll} if args.poll else {})}
        port = free_port()
        server = start_app(port, env=env, log=Path(folder) / "server.log")
        try:
            figures = asyncio.run(lesson(f"http://127.0.0.1:{port}", args, server.pid, log))
        finally:
            stop(server)
        figures["server side"] = server_side(class_log, figures["press from"], figures["press to"], args.followers)
        if more is not None:
            more(figures, class_log)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=30)
    parser.add_argument("--presses", type=int, default=8)
    parser.add_argument("--gap", type=float, default=6.0, help="seconds between the teacher's presses")
    parser.add_argument("--arch", choices=sorted(NAMES), default="lenet5")
    parser.add_argument("--poll", help="EXPLORER_CLASS_POLL_S for the server (unset: the app's 2 s)")
    parser.add_argument("--nice", type=int, default=19,
                        help="niceness of the browsers: in a class they run on the students' laptops, not the server's cores")
    parser.add_argument("--out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        args.chromium = str(Path(folder) / "chromium")
        Path(args.chromium).write_text(f'#!/bin/sh\nexec nice -n {args.nice} {shutil.which("chromium")} "$@"\n')
        Path(args.chromium).chmod(0o755)
        measure(args, lesson, report)


def measure(args, lesson, report, more: Callable[[dict, Path], None] | None = None) -> None:
    """``run_lesson``, with the load average before and after; ``report``'s text printed and written to ``--out``."""
    loads = [("at the start", os.getloadavg())]
    figures = run_lesson(args, lesson, more)
    loads.append(("at the end", os.getloadavg()))
    text = report(args, figures, loads)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
