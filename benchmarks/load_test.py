"""A classroom against one server: N students at once on the Feature maps page, then one student walking every network.

    python benchmarks/load_test.py [--students 10] [--arch resnet18] [--walk] [--out benchmarks/LOAD.md]

Starts its own ``streamlit run app.py`` on a free port and drives Debian's Chromium
(Playwright's async API, one browser context per student, all at once):

1. **Load.** Every student opens the Feature maps page, switches to "Upload a picture",
   uploads a picture of their own (its own size and colour), waits for the channel grid,
   then steps to the next layer and waits for that layer's grid. Recorded: how many
   finished, time from upload to the grid (p50/p95), time to redraw the next layer,
   and the server's peak resident memory (the process and its children, read from
   /proc every 0.2 s). Each student's page must show *their* picture: the caption
   under the uploaded picture names its unique size, and the picture the network
   receives (fetched from the server) has the student's colour.
2. **Memory walk** (``--walk``). One student picks all twenty architectures in turn in
   the sidebar, twice over, on the Feature maps page (every one builds a model and
   runs a capture). Server memory after each architecture is recorded; the second
   round must not end higher than the first by more than a small margin, i.e.
   nothing accumulates (caches have limits; torchinfo's model cache is cleared).

Results go to a markdown file (default benchmarks/LOAD.md). Linux only (/proc).
Not part of the test suite: ten students take minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import colorsys
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.core.registry import ARCH_IDS, get_spec  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

TIMEOUT_MS = 240_000  # ten students on two cores: a slow page is a result, not a failure


# --- the server and its memory -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("streamlit did not start") from None
            time.sleep(0.3)
    with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=180):
        pass  # imports torch once, as ./dev.sh does before the first student arrives
    return server


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, StopIteration):
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (including their reaped children)."""
    total, todo = 0.0, [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime, stime, cutime, cstime
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return total


class MemoryWatch:
    """Samples the server tree's RSS in a thread; ``peak`` since the last ``reset``."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak, self._stop = pid, every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            time.sleep(self.every)

    def now(self) -> int:
        return tree_rss(self.pid)

    def reset(self) -> None:
        self.peak = self.now()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


# --- one student ------------------------------------------------------------------------------------


def student_colour(i: int, n: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(i / n, 0.85, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def student_picture(i: int, n: int) -> tuple[bytes, tuple[int, int]]:
    """Student i's picture: their own colour with a little texture, and a size no one else has."""
    size = (300 + 7 * i, 200 + 5 * i)
    rng = np.random.default_rng(i)
    pixels = np.array(student_colour(i, n)) + rng.integers(-12, 13, (size[1], size[0], 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), size


async def settle(page) -> None:
    await page.wait_for_timeout(300)
    await page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=TIMEOUT_MS)


async def mean_colour_of_image(page, base_url: str, index: int) -> np.ndarray:
    src = await page.locator('[data-testid="stImage"] img').nth(index).get_attribute("src")
    response = await page.request.get(src if src.startswith("http") else base_url + src)
    pixels = np.asarray(Image.open(io.BytesIO(await response.body())).convert("RGB"), dtype=np.float64)
    return pixels.reshape(-1, 3).mean(axis=0)


@dataclass
class StudentResult:
    index: int
    finished: bool = False
    seconds_to_grid: float | None = None
    seconds_next_layer: float | None = None
    own_picture: bool = False
    problem: str = ""


async def one_student(browser, base_url: str, arch: str, i: int, n: int, ready: list[int],
                      start: asyncio.Event) -> StudentResult:
    result = StudentResult(i)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{base_url}/feature-maps?arch={arch}")
        await page.wait_for_selector("h1")
        await settle(page)
        await page.get_by_text("Upload a picture", exact=True).click()
        await settle(page)
        title = await page.locator("h1").first.inner_text()
        if get_spec(arch).name not in title:  # the link's architecture must survive the first clicks
            raise RuntimeError(f"the page opened with {arch} in its link shows {title!r}")
        data, (width, height) = student_picture(i, n)
        ready.append(i)
        print(f"  student {i}: ready to upload", flush=True)
        await start.wait()  # everyone uploads at the same moment
        began = time.perf_counter()
        await page.locator('[data-testid="stFileUploader"]').filter(has_text="A photo").locator(
            'input[type="file"]').set_input_files({"name": f"student{i}.png", "mimeType": "image/png", "buffer": data})
        await page.get_by_text(f"PNG, {width}×{height} pixels.").wait_for()
        caption = page.get_by_text(re.compile(r"channels of .+, left to right"))
        await caption.wait_for()
        await settle(page)
        result.seconds_to_grid = time.perf_counter() - began
        print(f"  student {i}: grid after {result.seconds_to_grid:.1f} s", flush=True)
        first_layer = re.search(r"channels of (\S+),", await caption.inner_text()).group(1)

        began = time.perf_counter()
        await page.get_by_role("button", name="▶").click()
        await page.get_by_text(re.compile(r"channels of (?!" + re.escape(first_layer) + r",)\S+, left to right")).wait_for()
        await settle(page)
        result.seconds_next_layer = time.perf_counter() - began

        # Their own picture: the caption names its unique size (checked above), and what the
        # network receives (the second image) has their colour, nearest among all students'.
        received = await mean_colour_of_image(page, base_url, 1)
        distances = [np.abs(received - np.array(student_colour(j, n))).sum() for j in range(n)]
        result.own_picture = int(np.argmin(distances)) == i
        errors = await page.locator('[data-testid="stAlertContentError"]').count()
        exceptions = await page.locator('[data-testid="stException"]').count()
        result.finished = result.own_picture and errors == 0 and exceptions == 0
        if not result.finished:
            result.problem = f"own picture {result.own_picture}, {errors} errors, {exceptions} exceptions"
    except Exception as error:  # a student who never got there is counted, not fatal
        result.problem = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
        print(f"  student {i}: {result.problem}", flush=True)
        try:
            await page.screenshot(path=f"{tempfile.gettempdir()}/load_test_student{i}.png", full_page=True)
        except Exception:
            pass
    finally:
        await context.close()
    return result


async def classroom(base_url: str, arch: str, n: int) -> list[StudentResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        start, ready = asyncio.Event(), []
        tasks = [asyncio.create_task(one_student(browser, base_url, arch, i, n, ready, start)) for i in range(n)]
        # Every student reaches the upload step (or fails on the way) before the bell rings.
        while len(ready) + sum(task.done() for task in tasks) < n:
            await asyncio.sleep(0.2)
        start.set()
        results = await asyncio.gather(*tasks)
        await browser.close()
    return results


# --- the memory walk -------------------------------------------------------------------------------


async def pick_architecture(page, arch_id: str) -> None:
    spec = get_spec(arch_id)
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    for attempt in range(4):
        await box.click()
        await box.get_by_role("combobox").fill(spec.name)
        option = page.get_by_role("option", name=spec.label, exact=True)
        try:
            await option.wait_for(timeout=15_000)
        except Exception:
            if attempt == 3:
                raise
            await page.keyboard.press("Escape")
            continue
        await option.click()
        return


async def walk(base_url: str, memory: MemoryWatch, rounds: int = 2) -> list[list[tuple[str, int, float]]]:
    from playwright.async_api import async_playwright

    walked = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{base_url}/feature-maps")
        await page.wait_for_selector("h1")
        await settle(page)
        for _ in range(rounds):
            steps = []
            for arch_id in ARCH_IDS:
                began = time.perf_counter()
                await pick_architecture(page, arch_id)
                await page.get_by_role("heading", name=f"Feature maps · {get_spec(arch_id).name}").wait_for()
                await page.get_by_role("heading", name="Inside one layer").wait_for()
                await settle(page)
                steps.append((arch_id, memory.now(), time.perf_counter() - began))
                print(f"  {arch_id:<18} {mb(steps[-1][1]):>10}  {steps[-1][2]:5.1f} s", flush=True)
            walked.append(steps)
        await browser.close()
    return walked


# --- report ------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines += lines
        for line in lines:
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--walk", action="store_true", help="also walk all twenty architectures in one session")
    parser.add_argument("--rounds", type=int, default=3, help="how many times the walk goes through all twenty")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "LOAD.md"))
    args = parser.parse_args()

    port = free_port()
    server = start_server(port)
    base_url = f"http://127.0.0.1:{port}"
    memory = MemoryWatch(server.pid)
    report = Report()
    try:
        idle = memory.now()
        report.add(f"# Load test ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, CPU only)", "",
                   f"Server after start-up (torch imported, no student yet): {mb(idle)}.", "")
        if args.students:
            memory.reset()
            cpu_before = tree_cpu_seconds(server.pid)
            results = asyncio.run(classroom(base_url, args.arch, args.students))
            peak = memory.peak
            server_cpu = tree_cpu_seconds(server.pid) - cpu_before
            time.sleep(10)  # sessions end when their browser contexts close
            after = memory.now()
            finished = [r for r in results if r.finished]
            grid = [r.seconds_to_grid for r in finished]
            redraw = [r.seconds_next_layer for r in finished]
            report.add(
                f"## {args.students} students at once, Feature maps, {get_spec(args.arch).name} at its default size", "",
                "| measure | value |", "|---|---|",
                f"| finished with their own picture, no error | {len(finished)} of {args.students} |",
                f"| upload → grid, p50 / p95 | {percentile(grid, .5):.1f} s / {percentile(grid, .95):.1f} s |" if grid else "| upload → grid | none finished |",
                f"| next layer → grid, p50 / p95 | {percentile(redraw, .5):.1f} s / {percentile(redraw, .95):.1f} s |" if redraw else "| next layer | none finished |",
                f"| peak server RSS | {mb(peak)} |",
                f"| server CPU time for the whole class (open, upload, grid, next layer) | {server_cpu:.1f} s, "
                f"{server_cpu / args.students:.1f} s per student |",
                f"| server RSS 10 s after the students left | {mb(after)} |", "",
            )
            for r in results:
                if not r.finished:
                    report.add(f"- student {r.index}: {r.problem}")
        if args.walk:
            memory.reset()
            print("memory walk:", flush=True)
            rounds = asyncio.run(walk(base_url, memory, args.rounds))
            ends = [steps[-1][1] for steps in rounds]
            report.add(
                f"## Memory walk: one session, all twenty architectures on Feature maps, {args.rounds} rounds", "",
                "| architecture | " + " | ".join(f"RSS after, round {k + 1}" for k in range(args.rounds))
                + " | page time, round 1 |",
                "|---|" + "---:|" * (args.rounds + 1),
                *(f"| {steps[0][0]} | " + " | ".join(mb(m) for _, m, _ in steps) + f" | {steps[0][2]:.1f} s |"
                  for steps in zip(*rounds)),
                "", f"Peak server RSS during the walk: {mb(memory.peak)}. At the end of each round: "
                + ", ".join(mb(end) for end in ends) + ".", "",
            )
    finally:
        memory.stop()
        server.terminate()
        server.wait(timeout=30)
    Path(args.out).write_text("\n".join(report.lines) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
