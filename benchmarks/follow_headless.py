"""A class following its teacher, with the students' tabs played by headless clients: the server's own latency.

    .venv/bin/python benchmarks/follow_headless.py [--followers 30] [--presses 10] [--gap 5] [--arch lenet5|resnet18]
                                                   [--action layer|page|size] [--no-media] [--poll SECONDS] [--out FILE]

``--action page``: instead of ▶, the teacher opens Layer table and Feature maps in turn (every
follower's whole page reruns; the latency ends when its websocket has the new page's title).
``--action size``: the teacher types a new input size in the sidebar, a size not seen before (a
new forward pass for the teacher; a whole-page rerun for every follower, on the teacher's cached
capture); the latency ends when the follower's layer picker shows the layer at the new size.

benchmarks/follow_latency.py drives thirty Chromium tabs, and on a 2-core machine those tabs
take the cores from the server they measure (its browser-side figures are the renderers'
queue). Here the teacher is one Chromium tab, doing what a teacher does (Start a class, ▶ on
Feature maps), and each student is a ``benchmarks.stream_client.StreamClient``: one websocket
speaking Streamlit's protocol as its frontend does (its polls, page moves, widget values,
message cache, and one GET for each new picture), without drawing anything. So the cores are the server's, as in a classroom
where the students' browsers run on their own laptops.

Measured, with the same clock for all (this machine's ``Date.now()`` / ``time.time()``):

- **press → follower has the new layer**: from the teacher's ``pointerdown`` on ▶ to the moment
  the follower's websocket delivered the layer picker with the teacher's new layer (what a
  browser would then draw; drawing is the student's laptop's work);
- on the server (``EXPLORER_CLASS_LOG``): the change sent → each follower's run drawn, and how
  many of those runs a push started (the rest: a poll);
- server CPU (``/proc/PID/stat`` of the ``streamlit run`` process tree) per change and per
  second of idle polling, the clients' own CPU (this process), and forward passes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import stream_client  # noqa: E402
from benchmarks.follow_latency import (MISS_S, NAMES, PICKED, button, lead, measure, picked,  # noqa: E402
                                       spread, where)
from benchmarks.load_test import percentile, tree_cpu_seconds  # noqa: E402
from tests.browser.classroom_helpers import passes  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

LAYER = "Layer ("  # the Feature maps layer picker's label starts so
JOINING_AT_ONCE = 6
QUIET_S = 20.0


def stolen_seconds() -> float:
    """CPU seconds the host took from this virtual machine so far (all cores; /proc/stat's steal)."""
    with open("/proc/stat") as stat:
        return int(stat.readline().split()[8]) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def join(url: str, code: str, layer: str, gate: asyncio.Semaphore, joined: list[float], media: bool = True):
    async with gate:
        began = time.perf_counter()
        client = await stream_client.connect(url, "", f"class={code}", fetch_media=media)
        await client.wait_for(lambda c: c.widget_value(LAYER) == layer, 300)
        joined.append(time.perf_counter() - began)
        return client


async def quiet(pid: int, clients: list) -> tuple[float, float]:
    """Over a window in which nobody clicks: server CPU seconds per second, and reruns the clients asked per second."""
    cpu, sent, began = tree_cpu_seconds(pid), sum(c.reruns_sent for c in clients), time.perf_counter()
    await asyncio.sleep(QUIET_S)
    seconds = time.perf_counter() - began
    return (tree_cpu_seconds(pid) - cpu) / seconds, (sum(c.reruns_sent for c in clients) - sent) / seconds


def layer_picker(client) -> str:
    """The widget id of the client's layer picker (the same for every rerun of the page)."""
    for element in client.elements("selectbox"):
        if element.selectbox.label.startswith(LAYER):
            return element.selectbox.id
    raise LookupError("no layer picker")


async def press(teacher, clients: list, gap: float, act=None) -> tuple[float, str, list[float | None]]:
    """One ▶ (or ``act``): (the press's moment in s, the teacher's new layer, each follower's moment of having it, or None).

    A follower's moment is when its picker first left the old layer; it counts only if the picker then
    shows the teacher's new layer (a follower still on an older change would show another).
    """
    before = await picked(teacher)
    arrived: list[float | None] = [None] * len(clients)
    pickers = [layer_picker(client) for client in clients]

    def watch(index: int):
        def changed(client, at: float) -> None:  # after every message: cheap, or the clients' CPU is the delay
            held = client.widgets.get(pickers[index])
            if arrived[index] is None and held is not None and held[1] != before:
                arrived[index] = at
        return changed

    for index, client in enumerate(clients):
        client.on_change = watch(index)
    began = time.perf_counter()
    await (act() if act is not None else button(teacher, "fm_next", "▶").click())
    await teacher.wait_for_function(f"before => ({PICKED})() !== before", arg=before, timeout=MISS_S * 1000)
    target, pressed = await picked(teacher), (await teacher.evaluate("window.__pressed")) / 1000
    deadline = time.perf_counter() + MISS_S
    while time.perf_counter() < deadline and any(a is None for a in arrived):
        await asyncio.sleep(0.05)
    for client in clients:
        client.on_change = None
    moments = [a if a is not None and client.widget_value(LAYER) == target else None
               for a, client in zip(arrived, clients)]
    await asyncio.sleep(max(0.0, gap - (time.perf_counter() - began)))
    return pressed, target, moments


PAGES = (("layer-table", "Layer table"), ("feature-maps", "Feature maps"))  # what --action page goes between


async def page_press(teacher, clients: list, gap: float, arch: str, k: int) -> tuple[float, str, list[float | None]]:
    """The teacher opens the other page (a whole-page change for every follower): like ``press``."""
    path, title = PAGES[k % 2]
    heading = f"{title} · {NAMES[arch]}"
    arrived: list[float | None] = [None] * len(clients)

    def watch(index: int):
        def changed(client, at: float) -> None:
            if arrived[index] is None and client.url_path == path and any(heading in t for t in client.texts()):
                arrived[index] = at
        return changed

    for index, client in enumerate(clients):
        client.on_change = watch(index)
    began = time.perf_counter()
    await teacher.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    await teacher.get_by_role("heading", name=heading, level=1).wait_for(timeout=MISS_S * 1000)
    pressed = (await teacher.evaluate("window.__pressed")) / 1000
    deadline = time.perf_counter() + MISS_S
    while time.perf_counter() < deadline and any(a is None for a in arrived):
        await asyncio.sleep(0.05)
    for client in clients:
        client.on_change = None
    await asyncio.sleep(max(0.0, gap - (time.perf_counter() - began)))
    return pressed, title, arrived


SIZE_STEP = 8  # each action's side: the network's default plus k steps, so that every one is a new forward pass
ACTIONS = {"layer": "▶ on Feature maps", "page": "Layer table and Feature maps in turn",
           "size": f"a new input size on Feature maps, {SIZE_STEP} pixels more each time"}
ENTER_CLOCK = "document.addEventListener('keydown', e => { if (e.key === 'Enter') window.__pressed = Date.now(); }, true)"


async def size_press(teacher, clients: list, gap: float, k: int) -> tuple[float, str, list[float | None]]:
    """The teacher types a new height (the width follows) and presses Enter: like ``press``."""
    box = teacher.locator('[data-testid="stSidebar"]').get_by_role("spinbutton", name="Height")
    if k == 0:
        await teacher.evaluate(ENTER_CLOCK)
        teacher.default_side = int(await box.input_value())
    side = teacher.default_side + SIZE_STEP * (k + 1)

    async def type_it() -> None:
        await box.fill(str(side))
        await box.press("Enter")

    pressed, target, moments = await press(teacher, clients, gap, type_it)
    return pressed, f"{side}×{side}: {target}", moments


async def lesson(url: str, args, pid: int, log: Path) -> dict:
    from playwright.async_api import async_playwright

    figures: dict = {"passes": {}}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        teacher, code = await lead(browser, url, args.arch, args.presses)  # its ▶ presses are timed from here
        # The server and the teacher's browser started at the usual priority; from here this process (the
        # thirty clients) yields to them, as thirty laptops would take nothing from the server's cores.
        os.nice(args.nice)
        layer = await picked(teacher)
        figures["passes"]["teacher on Feature maps"] = passes(log)
        figures["idle alone"], _ = await quiet(pid, [])
        gate, joined, began = asyncio.Semaphore(JOINING_AT_ONCE), [], time.perf_counter()
        clients = await asyncio.gather(*(join(url, code, layer, gate, joined, args.media) for _ in range(args.followers)))
        figures["join"], figures["join wall"] = joined, time.perf_counter() - began
        figures["passes"][f"{args.followers} followers joined"] = passes(log)
        print(f"class {code}: {len(clients)} followers on {layer!r} in {figures['join wall']:.0f} s", flush=True)
        await asyncio.sleep(5)
        figures["idle class"], figures["polls"] = await quiet(pid, clients)
        presses, cpu, mine, began = [], tree_cpu_seconds(pid), own_cpu(), time.perf_counter()
        stolen = stolen_seconds()
        figures["press from"] = time.time()
        for k in range(args.presses):
            pressed, target, moments = (await press(teacher, clients, args.gap) if args.action == "layer" else
                                        await page_press(teacher, clients, args.gap, args.arch, k)
                                        if args.action == "page" else await size_press(teacher, clients, args.gap, k))
            presses.append((pressed, target, moments))
            late = [m - pressed for m in moments if m is not None]
            print(f"press {k + 1}: {target!r}; followers p50 {percentile(late, .5):.2f} s, max {max(late):.2f} s, "
                  f"{len(moments) - len(late)} missed" if late else f"press {k + 1}: nobody followed", flush=True)
        figures["press to"], figures["press wall"] = time.time(), time.perf_counter() - began
        figures["press cpu"], figures["client cpu"] = tree_cpu_seconds(pid) - cpu, own_cpu() - mine
        figures["stolen"] = stolen_seconds() - stolen
        figures["presses"] = presses
        figures["passes"][f"{args.presses} presses"] = passes(log)
        for client in clients:
            await client.close()
        await browser.close()
    return figures


def pushed_share(class_log: Path, began: float, ended: float) -> tuple[int, int]:
    """Of the followers' runs that drew a new version during the presses: (started by a push, all)."""
    lines = [line.split() for line in class_log.read_text().splitlines()]
    shown = [line for line in lines if line[1] == "shown" and began <= float(line[0]) <= ended]
    return sum(line[-1] == "pushed" for line in shown), len(shown)


def sent_after_press(class_log: Path, presses: list) -> list[float]:
    """For each press, the seconds until the teacher's run sent its change (the teacher's own share)."""
    sent = sorted(float(line.split()[0]) for line in class_log.read_text().splitlines() if " published " in line)
    return [next(t for t in sent if t >= pressed) - pressed for pressed, _, _ in presses
            if any(t >= pressed for t in sent)]


def report(args, figures: dict, loads: list) -> str:
    latencies = [m - pressed for pressed, _, moments in figures["presses"] for m in moments if m is not None]
    pairs = args.presses * args.followers
    server, missed_server = figures["server side"]
    pushed, drawn = figures["pushed"]
    idle_alone, idle_class = figures["idle alone"], figures["idle class"]
    per_change = figures["press cpu"] / args.presses
    beyond_idle = (figures["press cpu"] - idle_class * figures["press wall"]) / args.presses
    return "\n".join([
        *where(loads),
        f"{NAMES[args.arch]}; {args.followers} headless followers; {args.presses} teacher's actions "
        f"({ACTIONS[args.action]}), "
        f"{args.gap:g} s apart; pictures {'fetched as a browser does' if args.media else 'not fetched'}; EXPLORER_CLASS_POLL_S={args.poll or 'unset (2 s)'}.", "",
        "| measure | value |", "|---|---|",
        f"| **click → follower's websocket has what the teacher shows, p50 / p95 / max** | **{spread(latencies)}** |",
        f"| (press, follower) pairs on time / missed ({MISS_S:.0f} s) | {len(latencies)} / {pairs - len(latencies)} "
        f"of {pairs} |",
        f"| press → the teacher's run sent the change, p50 / p95 / max | {spread(figures['sent'])} |",
        f"| on the server: change sent → follower's run drawn, p50 / p95 / max ({missed_server} missed) | "
        f"{spread(server)} |",
        f"| follower runs that drew a change: started by a push / all | {pushed} / {drawn} |",
        f"| join link → the teacher's layer, p50 / max ({JOINING_AT_ONCE} at once) | "
        f"{percentile(figures['join'], .5):.1f} s / {max(figures['join']):.1f} s |",
        f"| server CPU per teacher change (press phase / presses); less idle polling | "
        f"{per_change:.2f} s; {beyond_idle:.2f} s |",
        f"| server CPU per second, idle: teacher alone / with {args.followers} followers | "
        f"{idle_alone:.3f} / {idle_class:.3f} s/s ({figures['polls'] / max(args.followers, 1):.2f} polls a second "
        "per follower) |",
        f"| the {args.followers} headless clients' own CPU over the presses; CPU the host stole meanwhile | "
        f"{figures['client cpu']:.2f} s; {figures['stolen']:.2f} s (of {2 * figures['press wall']:.0f} core-seconds) |",
        "| forward passes (EXPLORER_PASS_LOG), cumulative | "
        + ", ".join(f"{count} after {what}" for what, count in figures["passes"].items()) + " |",
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=30)
    parser.add_argument("--presses", type=int, default=10)
    parser.add_argument("--gap", type=float, default=5.0, help="seconds between the teacher's presses")
    parser.add_argument("--arch", choices=sorted(NAMES), default="lenet5")
    parser.add_argument("--action", choices=("layer", "page", "size"), default="layer",
                        help="what the teacher does: ▶ on Feature maps (a fragment), open the other page, "
                             "or type a new input size")
    parser.add_argument("--poll", help="EXPLORER_CLASS_POLL_S for the server (unset: the app's 2 s)")
    parser.add_argument("--no-media", dest="media", action="store_false",
                        help="the clients do not fetch the pictures (a browser does: one GET per new picture)")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the clients (this process, once set up)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.action == "size" and args.arch == "lenet5":
        parser.error("--action size needs --arch resnet18: LeNet-5 takes 32-35 pixels only")
    args.chromium = "/usr/bin/chromium"

    def more(figures: dict, class_log: Path) -> None:
        figures["sent"] = sent_after_press(class_log, figures["presses"])
        figures["pushed"] = pushed_share(class_log, figures["press from"], figures["press to"] + MISS_S)

    measure(args, lesson, report, more)


if __name__ == "__main__":
    main()
