"""A class of thirty against one server: twenty on Feature maps stepping through layers, ten training.

    .venv/bin/python benchmarks/load_class.py [--maps 20] [--trainers 10] [--vgg 4] [--budget-gb 4] [--out FILE]

Starts ``streamlit run app.py`` from this checkout with a training budget that cannot
hold every trainer (``EXPLORER_TRAINING_MEMORY_GB``; a VGG-16 copy needs about 1.9 GB,
a ResNet-18 copy about 0.2 GB) and drives Debian's Chromium, one browser context per
student, all in one process (Playwright's async API). Three phases, each begun by
everyone at the same moment:

1. **Arrive.** The twenty open Feature maps on ResNet-18 and wait for the channel grid;
   the ten open the training page (``--vgg`` of them on VGG-16, the rest on ResNet-18)
   and wait for it to be drawn.
2. **Layers.** The twenty press ▶ five times, each time waiting for the next layer's grid;
   the trainers wait.
3. **Training.** The trainers take three steps each, waiting for "What step k did", or
   read the budget's sentence and stop there; the twenty meanwhile go on stepping
   (five more layers).

Recorded: p50/p95 of every action, who finished with a result and who with the
budget's sentence (everyone must end with one of the two, and no page may show an
exception), the server's CPU seconds per phase (its process tree, from /proc), its
peak memory against the bound "budget + models + caches", and its memory after
everyone has left. The server's CPU per layer switch and per training step come from
phases 2 and 3 (3 less its layer switches at phase 2's price), and give the server CPU
per student-minute at a class's pace and the students one core serves.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_test import MemoryWatch, free_port, mb, percentile, start_server, tree_cpu_seconds  # noqa: E402
from explorer.cli.bench import machine  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

TIMEOUT_MS = 600_000  # thirty browsers and the server on two cores: slow is a result, not a failure
FULL = "The server's training memory is full"
# A layer's name may hold a space: a module called again is "layer2.0.relu (call 2)".
GRID = re.compile(r"channels of (.+?), left to right")
SWITCHES = 5
SWITCH = "next layer ▶ (to the new grid)"
STEPS = 3
# A class's pace, for the capacity figure: a layer every 5 s, a training step every 15 s.
SWITCHES_PER_MINUTE, STEPS_PER_MINUTE = 12, 4
# What the rest of the server may hold besides training copies: the imports, four shared models
# (VGG-16's 0.55 GB the largest here) and the bounded page caches (ui/caches/networks.py, feature_drawings.py).
MODELS_AND_CACHES_BYTES = int(0.8e9 + 0.55e9 + 0.05e9 + 0.5e9)


@dataclass
class Student:
    index: int
    role: str  # "maps", "resnet18", "vgg16"
    times: dict[str, list[float]] = field(default_factory=dict)
    outcome: str = ""  # "result", "budget", or what went wrong
    page: object = None

    def took(self, action: str, seconds: float) -> None:
        self.times.setdefault(action, []).append(seconds)


async def finished(page) -> None:
    await page.wait_for_timeout(200)
    await page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')""", timeout=TIMEOUT_MS, polling=100)


async def arrive(student: Student, browser, url: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    student.page = page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    began = time.perf_counter()
    if student.role == "maps":
        await page.goto(f"{url}/feature-maps?arch=resnet18")
        await page.get_by_text(GRID).wait_for()
        await finished(page)
        student.took("open Feature maps (to the grid)", time.perf_counter() - began)
    else:
        name = "VGG-16" if student.role == "vgg16" else "ResNet-18"
        await page.goto(f"{url}/training-step?arch={student.role}")
        await page.get_by_role("heading", name=f"Training step · {name}").wait_for()
        await page.get_by_role("button", name="Take one step").wait_for()
        await finished(page)
        student.took(f"open Training ({name})", time.perf_counter() - began)


async def step_layers(student: Student, count: int) -> None:
    page = student.page
    for _ in range(count):
        before = GRID.search(await page.get_by_text(GRID).inner_text()).group(1)
        began = time.perf_counter()
        await page.get_by_role("button", name="▶", exact=True).click()
        await page.get_by_text(re.compile(r"channels of (?!" + re.escape(before) + r", left to right).+?, left to right")).wait_for()
        await finished(page)
        student.took(SWITCH, time.perf_counter() - began)


async def train(student: Student) -> None:
    page = student.page
    if await page.get_by_text(FULL).count():
        student.outcome = "budget"
        return
    name = "VGG-16" if student.role == "vgg16" else "ResNet-18"
    for step in range(1, STEPS + 1):
        began = time.perf_counter()
        await page.get_by_role("button", name="Take one step").click()
        await page.get_by_text(f"What step {step} did").wait_for()
        await finished(page)
        student.took(f"one training step ({name})", time.perf_counter() - began)
    student.outcome = "result"


async def guarded(student: Student, work) -> None:
    try:
        await work
    except Exception as error:  # counted in the report, never fatal to the class
        student.outcome = f"{type(error).__name__}: {str(error).splitlines()[0][:100]}"
        print(f"  student {student.index} ({student.role}): {student.outcome}", flush=True)


async def check(student: Student) -> None:
    if student.page is None or student.outcome not in ("", "result", "budget"):
        return
    if await student.page.locator('[data-testid="stException"]').count():
        student.outcome = "an exception on the page"
    elif student.role == "maps" and not student.outcome:
        student.outcome = "result"


def switches(students: list[Student]) -> int:
    return sum(len(s.times.get(SWITCH, [])) for s in students)


async def lesson(url: str, students: list[Student], server_pid: int, memory: MemoryWatch) -> dict:
    from playwright.async_api import async_playwright

    phases = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        maps = [s for s in students if s.role == "maps"]
        trainers = [s for s in students if s.role != "maps"]
        plan = [
            ("arrive", students, lambda s: arrive(s, browser, url)),
            ("layers", maps, lambda s: step_layers(s, SWITCHES)),
            ("training", trainers + maps, lambda s: train(s) if s.role != "maps" else step_layers(s, SWITCHES)),
        ]
        for name, who, work in plan:
            live = [s for s in who if s.outcome in ("", "result", "budget")]  # not those who already failed
            cpu, began, switched = tree_cpu_seconds(server_pid), time.perf_counter(), switches(students)
            await asyncio.gather(*(guarded(s, work(s)) for s in live))
            phases[name] = (tree_cpu_seconds(server_pid) - cpu, time.perf_counter() - began, switches(students) - switched)
            print(f"phase {name}: {phases[name][0]:.1f} s server CPU in {phases[name][1]:.0f} s; "
                  f"RSS {mb(memory.now())}, peak {mb(memory.peak)}", flush=True)
        for student in students:
            await check(student)
        await browser.close()
    return phases


def report(args, students: list[Student], phases: dict, idle: int, peak: int, after: list[tuple[int, int]]) -> str:
    actions: dict[str, list[float]] = {}
    for student in students:
        for action, seconds in student.times.items():
            actions.setdefault(action, []).extend(seconds)
    outcomes = {}
    for student in students:
        outcomes.setdefault((student.role, student.outcome), []).append(student.index)
    switches_layers = phases["layers"][2]  # the switches each phase finished, counted, not assumed
    per_switch = phases["layers"][0] / max(switches_layers, 1)
    steps = sum(len(s.times.get(a, [])) for s in students for a in s.times if a.startswith("one training step"))
    per_step = max(0.0, phases["training"][0] - per_switch * phases["training"][2]) / max(steps, 1)
    maps_minute = SWITCHES_PER_MINUTE * per_switch
    trainer_minute = STEPS_PER_MINUTE * per_step
    mix_minute = (args.maps * maps_minute + args.trainers * trainer_minute) / (args.maps + args.trainers)
    bound = int(args.budget_gb * 1e9) + MODELS_AND_CACHES_BYTES
    load = os.getloadavg()
    lines = [
        f"Machine: {machine()}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end.",
        f"EXPLORER_TRAINING_MEMORY_GB={args.budget_gb:g}; {args.maps} students on Feature maps (ResNet-18), "
        f"{args.trainers} training ({args.vgg} on VGG-16, {args.trainers - args.vgg} on ResNet-18).", "",
        "| who | how it ended | students |", "|---|---|---:|",
        *(f"| {role} | {outcome or 'unfinished'} | {len(who)} |" for (role, outcome), who in sorted(outcomes.items())),
        "", "| action | p50 | p95 | count |", "|---|---:|---:|---:|",
        *(f"| {action} | {percentile(v, .5):.1f} s | {percentile(v, .95):.1f} s | {len(v)} |"
          for action, v in sorted(actions.items())),
        "", "| phase | server CPU | wall |", "|---|---:|---:|",
        *(f"| {name} | {cpu:.1f} s | {wall:.0f} s |" for name, (cpu, wall, _) in phases.items()),
        "", f"- server CPU per layer switch (phase 2, {switches_layers} switches): {per_switch * 1e3:.0f} ms;",
        f"- per training step (phase 3 less its {phases['training'][2]} layer switches, {steps} steps): {per_step:.2f} s;",
        f"- per student-minute at a class's pace ({SWITCHES_PER_MINUTE} layers or {STEPS_PER_MINUTE} steps a minute): "
        f"Feature maps {maps_minute:.2f} s, training {trainer_minute:.1f} s, this class's mix {mix_minute:.2f} s;",
        f"- students per core: {60 / maps_minute:.0f} on Feature maps, {60 / trainer_minute:.1f} training, "
        f"{60 / mix_minute:.1f} in this mix.", "",
        f"Server RSS: {mb(idle)} before the class, peak {mb(peak)} (bound: the budget {args.budget_gb:g} GB + models and "
        f"caches {MODELS_AND_CACHES_BYTES / 1e9:.1f} GB = {mb(bound)}: {'within' if peak <= bound else 'OVER'}); after "
        "everyone left: " + ", ".join(f"{mb(rss)} at {seconds} s" for seconds, rss in after) + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=10)
    parser.add_argument("--vgg", type=int, default=4)
    parser.add_argument("--budget-gb", type=float, default=4.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    os.environ["EXPLORER_TRAINING_MEMORY_GB"] = str(args.budget_gb)
    server = start_server(free_port())
    url = server.args[server.args.index("--server.port") + 1]
    url = f"http://127.0.0.1:{url}"
    memory = MemoryWatch(server.pid)
    roles = ["maps"] * args.maps + ["vgg16"] * args.vgg + ["resnet18"] * (args.trainers - args.vgg)
    students = [Student(i, role) for i, role in enumerate(roles)]
    try:
        idle = memory.now()
        memory.reset()
        phases = asyncio.run(lesson(url, students, server.pid, memory))
        peak = memory.peak
        after = []
        left = time.monotonic()
        for seconds in (30, 60, 90):
            time.sleep(max(0.0, left + seconds - time.monotonic()))
            after.append((seconds, memory.now()))
        alive = server.poll() is None
    finally:
        memory.stop()
        server.terminate()
        server.wait(timeout=30)
    text = report(args, students, phases, idle, peak, after) + f"\nServer alive at the end: {alive}.\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
