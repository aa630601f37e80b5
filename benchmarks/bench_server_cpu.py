"""Server CPU of every interaction a student makes, next to a bare ResNet-18 forward pass, in one run.

    .venv/bin/python benchmarks/bench_server_cpu.py [--before DIR] [--repeats 5] [--only PAGES] [--out FILE.md]

Starts ``streamlit run app.py`` from this checkout (and, with ``--before``, a second
server from another checkout of the app, e.g. ``git archive 5d8f874 | tar -x -C DIR``),
drives each with Debian's Chromium, and reads the server process's CPU seconds
(utime + stime from ``/proc/PID/stat``, as ``/work/shared/tools/server-cpu`` does)
just before an interaction and again once the server has been idle for half a second
after it (so the run, the pictures the browser fetches and anything that starts late
are all counted). The servers take turns, interaction by interaction and repeat
by repeat, so a busy machine slows both alike; a bare ResNet-18 forward pass (eval,
no_grad, 224×224) and a bare training step are timed in this
process (one torch thread: the work itself, which a crowded machine does not inflate)
before every interaction, and every figure is also given as a multiple of that pass.

Interactions: opening each page (its caches warm), every control on Feature maps
(◀/▶, the layer picker, channel count, order, colour map, brightness scale, enlarged
channel), a new picture (an upload nobody has sent before, so it runs the network),
the layer table's fold depth, the diagram's depth, collapse and node, Convolution by
hand's step button, the parameter chart's scale, and one training step on ResNet-18.
Each figure is the mean of the repeats without the highest and lowest (``/proc`` counts
in 10 ms ticks); nothing fails on slow numbers.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.cli.bench import machine  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

TIMEOUT_MS = 240_000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    root: Path
    process: subprocess.Popen | None = None
    url: str = ""
    page: object = None
    on: str = ""  # the group whose page is open
    times: dict[str, list[float]] = field(default_factory=dict)

    def start(self, env: dict) -> None:
        port = free_port()
        python = self.root / ".venv" / "bin" / "python"
        self.process = subprocess.Popen(
            [str(python if python.exists() else sys.executable), "-m", "streamlit", "run", "app.py",
             "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=self.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the {self.name} server did not start") from None
                time.sleep(0.2)
        urllib.request.urlopen(f"{self.url}/_stcore/script-health-check", timeout=300).close()

    def new_tab(self, browser) -> None:
        """A tab of its own in ``browser`` on this server, as wide as a teacher's laptop screen."""
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, base_url=self.url)
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def measure(self, what: tuple[str, str], action: Callable[[object], None]) -> float:
        before = cpu_seconds(self.process.pid)
        action(self.page)
        finished(self.page)
        used = self.quiet() - before
        self.times.setdefault(what, []).append(used)
        return used

    def quiet(self, window_s: float = 0.5, limit_s: float = 120) -> float:
        """The server's CPU seconds once it has used none for ``window_s``: everything the action set off
        (the run, the browser fetching what it drew, a run that starts late) is counted, whatever the page shows."""
        deadline = time.monotonic() + limit_s
        last = cpu_seconds(self.process.pid)
        while time.monotonic() < deadline:
            time.sleep(window_s)
            now = cpu_seconds(self.process.pid)
            if now - last < 1.5 / TICKS:
                return now
            last = now
        return last


def finished(page) -> None:
    """The run is over: no running indicator, no spinner, nothing left over from the previous run."""
    page.wait_for_timeout(150)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-testid="stSpinner"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=TIMEOUT_MS, polling=20)


# --- what a student does ------------------------------------------------------------------------------


def open_page(path: str, heading: str) -> Callable:
    def go(page) -> None:
        page.goto(path)  # relative to the context's base URL
        page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT_MS)
    return go


def click_button(name: str) -> Callable:
    def go(page) -> None:
        page.get_by_role("button", name=name, exact=True).first.click()
    return go


class Alternate:
    """``first``, then ``second``, then ``first`` again..., counted for each browser page on its own."""

    def __init__(self, first, second) -> None:
        self.values, self.turns = (first, second), {}

    def next(self, page):
        turn = self.turns.get(id(page), 0)
        self.turns[id(page)] = turn + 1
        return self.values[turn % 2]


def click_text(first: str, second: str) -> Callable:
    """Radio options and toggles: click ``first``, then ``second``, in turn."""
    turns = Alternate(first, second)

    def go(page) -> None:
        page.get_by_text(turns.next(page), exact=True).last.click()
    return go


def pick(label: str, first: str, second: str, layer: bool = False) -> Callable:
    """A selectbox found by its label: type to filter, then choose ``first`` and ``second`` in turn.

    Options are matched by their whole name, or with ``layer`` as the layer picker writes
    them ("21. layer2.0.conv1 · Conv2d · 128×28×28").
    """
    turns = Alternate(first, second)

    def go(page) -> None:
        wanted = turns.next(page)
        name = re.compile(r"^\d+\. " + re.escape(wanted) + " ") if layer else wanted
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).last
        for attempt in range(3):
            box.click()
            box.get_by_role("combobox").fill(wanted)
            option = page.get_by_role("option", name=name, exact=not layer)
            try:
                option.wait_for(timeout=10_000)
                break
            except Exception:
                page.keyboard.press("Escape")
                if attempt == 2:
                    raise
        option.click()
    return go


def nudge_slider(label: str) -> Callable:
    """A slider found by its label: one keyboard step left, then one right, in turn."""
    turns = Alternate("ArrowLeft", "ArrowRight")

    def go(page) -> None:
        slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).last.get_by_role("slider").first
        slider.focus()
        slider.press(turns.next(page))
    return go


def upload_new_picture() -> Callable:
    """A picture nobody has sent before (its own pattern), so the network really runs."""
    state = {"n": 0}

    def go(page) -> None:
        state["n"] += 1
        rng = np.random.default_rng(1000 + state["n"])
        y, x = np.mgrid[0:240, 0:320]
        pixels = np.dstack([(x * (1 + state["n"] % 5)) % 256, (y * 3) % 256, rng.integers(0, 256, (240, 320))])
        buffer = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            {"name": f"new{state['n']}.png", "mimeType": "image/png", "buffer": buffer.getvalue()})
        page.get_by_text(re.compile(r"^PNG, 320×240 pixels\.")).wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(re.compile(r"channels of .*, left to right")).wait_for(timeout=TIMEOUT_MS)
    return go


FEATURE_MAPS = "/feature-maps?arch=resnet18"
# (group, what, set-up run once per server before timing, the action timed)
PLAN = [
    ("Feature maps · ResNet-18", "open the page (capture cached)", None,
     open_page(FEATURE_MAPS, "Feature maps · ResNet-18")),
    ("Feature maps · ResNet-18", "next layer ▶", None, click_button("▶")),
    ("Feature maps · ResNet-18", "previous layer ◀", None, click_button("◀")),
    ("Feature maps · ResNet-18", "layer picker", None, pick("Layer (", "layer2.0.conv1", "layer3.1.bn2", layer=True)),
    ("Feature maps · ResNet-18", "channels shown", None, nudge_slider("Channels shown")),
    ("Feature maps · ResNet-18", "order", None, click_text("Strongest mean activation first", "Channel number")),
    ("Feature maps · ResNet-18", "colour map", None, pick("Colour map", "Grey", "Viridis")),
    ("Feature maps · ResNet-18", "brightness scale", None, click_text("Whole layer on one scale", "Each channel on its own")),
    ("Feature maps · ResNet-18", "enlarged channel", None, pick("Enlarge channel", "3", "5")),
    ("Feature maps · ResNet-18", "a new picture (upload; runs the network)",
     click_text("Upload a picture", "Upload a picture"), upload_new_picture()),
    ("Layer table · ResNet-18", "open the page", None, open_page("/layer-table?arch=resnet18", "Layer table · ResNet-18")),
    ("Layer table · ResNet-18", "fold depth", None, nudge_slider("Fold to depth")),
    ("Diagram · ResNet-18", "open the page", None,
     open_page("/architecture-diagram?arch=resnet18", "Architecture diagram · ResNet-18")),
    ("Diagram · ResNet-18", "depth", None, nudge_slider("Depth:")),
    ("Diagram · ResNet-18", "collapse repeated blocks", None,
     click_text("Collapse repeated blocks (× N)", "Collapse repeated blocks (× N)")),
    ("Diagram · ResNet-18", "selected node", None, pick("Selected node", "layer1", "layer2")),
    ("Convolution by hand", "open the page", None, open_page("/", "Convolution by hand")),
    ("Convolution by hand", "step forward ▶", None, click_button("Step forward ▶")),
    ("Parameters · ResNet-18", "open the page", None,
     open_page("/parameter-breakdown?arch=resnet18", "Parameters · ResNet-18")),
    ("Parameters · ResNet-18", "linear / log", None, click_text("Log", "Linear")),
    ("Training step · ResNet-18", "open the page (makes its copy)", None,
     open_page("/training-step?arch=resnet18", "Training step · ResNet-18")),
    ("Training step · ResNet-18", "take one step", None, click_button("Take one step")),
]


# --- the bare references --------------------------------------------------------------------------------


def bare_references(rounds: int = 10) -> tuple[float, float]:
    """CPU seconds of one bare ResNet-18 forward pass and of one bare training step (batch 2, SGD).

    With one torch thread: the work itself. With two on a crowded machine, OpenMP's waiting
    threads spin and the CPU time of the same pass grew six-fold (84 → 527 ms) while the
    server's redraws, which run no torch, did not.
    """
    import torch
    import torchvision

    torch.set_num_threads(1)
    model, x = torchvision.models.resnet18().eval(), torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for _ in range(3):
            model(x)
        start = time.process_time()
        for _ in range(rounds):
            model(x)
        forward = (time.process_time() - start) / rounds
    trained = torchvision.models.resnet18().train()
    optimizer = torch.optim.SGD(trained.parameters(), lr=0.1)
    batch, target = torch.randn(2, 3, 224, 224), torch.tensor([0, 0])
    steps = max(2, rounds // 3)
    for number in range(steps + 1):
        if number == 1:
            start = time.process_time()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(trained(batch), target).backward()
        optimizer.step()
    return forward, (time.process_time() - start) / steps


# --- the run ----------------------------------------------------------------------------------------------


def run(servers: list[Server], repeats: int, out: str | None) -> str:
    references: dict[tuple, tuple[float, float]] = {}  # (page, interaction) -> bare forward and step timed just before
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for server in servers:
            server.new_tab(browser)
        for group, name, setup, action in PLAN:
            what = (group, name)
            # The references are timed before every interaction, so that they see the machine as it is then.
            references[what] = bare_references()
            print(f"{group} | {name}: bare forward {references[what][0] * 1e3:.0f} ms, "
                  f"bare step {references[what][1] * 1e3:.0f} ms CPU", flush=True)
            for server in servers:
                if server.on != group:  # the page this interaction happens on, opened once
                    opening = next(a for g, w, _, a in PLAN if g == group and w.startswith("open"))
                    opening(server.page)
                    finished(server.page)
                    server.on = group
                if setup is not None:
                    setup(server.page)
                    finished(server.page)
                server.measure(what, action)  # warm-up: caches filled, the control touched once
            for _ in range(repeats):
                for server in servers:
                    used = server.measure(what, action)
                    print(f"  {server.name:>6} {group} | {name}: {used * 1e3:.0f} ms", flush=True)
            for server in servers:
                server.times[what] = server.times[what][1:]  # drop the warm-up
            report = table([s.name for s in servers], {s.name: s.times for s in servers}, references)
            if out:  # after every interaction: a run cut short keeps what it measured
                Path(out).write_text(report)
        browser.close()
    return report


def typical(values: list[float]) -> float:
    """The mean without the highest and lowest value: /proc counts CPU in 10 ms ticks, so a mean
    reads finer than a median, and dropping the extremes keeps one stray background tick out."""
    ordered = sorted(values)
    kept = ordered[1:-1] if len(ordered) >= 5 else ordered
    return sum(kept) / len(kept)


def table(names: list[str], times: dict[str, dict[tuple, list[float]]],
          references: dict[tuple, tuple[float, float]]) -> str:
    """One row per interaction measured: each server's CPU, and as a multiple of the forward pass timed before it."""
    cpu_cols = " | ".join(f"{name} ms" for name in names)
    ratio_cols = " | ".join(f"{name} × forward" for name in names)
    lines = [f"| page | interaction | bare forward ms | {cpu_cols} | {ratio_cols} |",
             "|---|---|---:|" + "---:|" * (2 * len(names))]
    for group, interaction, _, _ in PLAN:
        what = (group, interaction)
        if what not in references or not all(times[name].get(what) for name in names):
            continue
        forward = references[what][0]
        cpu = [typical(times[name][what]) for name in names]
        lines.append(f"| {group} | {interaction} | {forward * 1e3:.0f} | " + " | ".join(f"{c * 1e3:.0f}" for c in cpu)
                     + " | " + " | ".join(f"{c / forward:.2f}" for c in cpu) + " |")
    forwards = [f for f, _ in references.values()]
    steps = [s for _, s in references.values()]
    return "\n".join([
        f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} when this table was written.",
        f"Bare ResNet-18 forward pass, timed in this process before each interaction (one torch thread): "
        f"median {statistics.median(forwards) * 1e3:.0f} ms CPU (from {min(forwards) * 1e3:.0f} to "
        f"{max(forwards) * 1e3:.0f}); bare training step (batch 2, SGD): median {statistics.median(steps) * 1e3:.0f} ms.",
        "", *lines]) + "\n"


def from_log(path: str) -> str:
    """The table again from a run's printed log (what it had measured when it stopped)."""
    references, times, names = {}, {}, []
    for line in Path(path).read_text().splitlines():
        bare = re.match(r"^(.+?) \| (.+): bare forward (\d+) ms, bare step (\d+) ms CPU$", line)
        took = re.match(r"^ +(\S+) (.+?) \| (.+): (\d+) ms$", line)
        if bare:
            references[(bare.group(1), bare.group(2))] = (int(bare.group(3)) / 1e3, int(bare.group(4)) / 1e3)
        elif took:
            name = took.group(1)
            if name not in names:
                names.append(name)
            what = (took.group(2), took.group(3))
            times.setdefault(name, {}).setdefault(what, []).append(int(took.group(4)) / 1e3)
    return table(names, times, references)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="another checkout of the app, measured side by side as 'before'")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="only the pages whose name contains one of these comma-separated words")
    parser.add_argument("--out", help="also write the markdown table to this file (after every interaction)")
    parser.add_argument("--from-log", help="print the table of a run's log instead of measuring")
    args = parser.parse_args()
    global PLAN
    if args.from_log:
        print(from_log(args.from_log))
        return
    if args.only:
        words = [word.strip().lower() for word in args.only.split(",")]
        PLAN = [row for row in PLAN if any(word in row[0].lower() for word in words)]
    env = {**os.environ, "EXPLORER_TRAINING_MEMORY_GB": os.environ.get("EXPLORER_TRAINING_MEMORY_GB", "4")}
    servers = ([Server("before", Path(args.before).resolve())] if args.before else []) + [Server("after", ROOT)]
    try:
        for server in servers:
            server.start(env)
        report = run(servers, args.repeats, args.out)
    finally:
        for server in servers:
            server.stop()
    print(report)


if __name__ == "__main__":
    main()
