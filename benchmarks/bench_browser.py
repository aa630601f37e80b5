"""What a user waits for in a real browser: cold start, switching architectures, switching layers.

    .venv/bin/python benchmarks/bench_browser.py [--rounds 3] [--switches 4] [--out FILE.md]

Driven with Playwright in Debian's Chromium (launch arguments as in tests/browser/conftest.py):

- cold start: from starting ``streamlit run app.py`` to the first page (Convolution
  by hand) drawn and its script run finished, against the time a fresh Python
  takes to ``import torch, torchvision`` on the same machine, interleaved round by
  round (target: under 2×);
- switching between two cached architectures (ResNet-18 and AlexNet on the
  Feature maps page, each visited once before timing): from choosing one in the
  sidebar to its page drawn and the run finished;
- switching layers on the Feature maps page (the ▶ button): from the click to the
  new layer's grid on screen, and to the run finished (target: under 1 s).

The server runs with ``EXPLORER_PASS_LOG`` pointing at a file that gets one line
per forward pass (explorer/runs/capture.py), so the report shows how many passes each
kind of switch ran: it must be none for cached architectures and layer switches.
Medians are printed; nothing fails on slow numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.cli.bench import machine  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

TIMEOUT_MS = 180_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def import_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, torchvision"], check=True)
    return time.perf_counter() - start


def start_server(pass_log: str) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "EXPLORER_PASS_LOG": pass_log},
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url, started
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("streamlit did not start") from None
            time.sleep(0.05)


def finished(page) -> None:
    """The script run is over: no running indicator, no spinner, no element left over from the last run.

    Streamlit shows its running indicator only after a moment and keeps the last run's
    elements on screen (marked ``data-stale``) until the new run replaces them, so
    the indicator alone can report "done" too early.
    """
    page.wait_for_timeout(50)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-testid="stSpinner"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=TIMEOUT_MS, polling=20,
    )


def cold_start(browser, pass_log: str) -> float:
    server, url, started = start_server(pass_log)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/")
        page.wait_for_selector("h1", timeout=TIMEOUT_MS)
        finished(page)
        seconds = time.perf_counter() - started
        page.close()
        return seconds
    finally:
        server.terminate()
        server.wait(timeout=30)


def passes(pass_log: str) -> int:
    return len(Path(pass_log).read_text().splitlines()) if Path(pass_log).exists() else 0


def choose_architecture(page, name: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    for attempt in range(3):  # on a busy machine keystrokes can arrive before the dropdown has focus
        box.click()
        box.get_by_role("combobox").fill(name)
        option = page.get_by_role("option", name=re.compile(re.escape(name) + "$"))
        try:
            option.wait_for(timeout=10_000)
        except Exception:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
            continue
        option.click()
        return


def switch_architecture(page, name: str) -> float:
    start = time.perf_counter()
    choose_architecture(page, name)
    page.get_by_role("heading", name=f"Feature maps · {name}").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(re.compile(r"channels of .*, left to right")).wait_for(timeout=TIMEOUT_MS)
    finished(page)
    return time.perf_counter() - start


def grid_caption(page) -> str:
    return page.get_by_text(re.compile(r"channels of .*, left to right")).inner_text(timeout=TIMEOUT_MS)


def switch_layer(page) -> tuple[float, float]:
    """Seconds to the next layer's grid on screen, and to the end of the run."""
    before = grid_caption(page)
    start = time.perf_counter()
    page.get_by_role("button", name="▶").click()
    deadline = start + TIMEOUT_MS / 1000
    while grid_caption(page) == before:  # the old grid stays on screen until the new one replaces it
        if time.perf_counter() > deadline:
            raise TimeoutError("the layer did not change")
        page.wait_for_timeout(10)
    shown = time.perf_counter() - start
    finished(page)
    return shown, time.perf_counter() - start


def run(rounds: int, switches: int) -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    pass_log = tempfile.mktemp(suffix=".log", prefix="explorer-passes-")
    imports, colds = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for number in range(rounds):  # interleaved, so that a busy machine slows both alike
            imports.append(import_seconds())
            colds.append(cold_start(browser, pass_log))
            print(f"round {number + 1}: import {imports[-1]:.1f} s, cold start {colds[-1]:.1f} s", file=sys.stderr)
        server, url, _ = start_server(pass_log)
        try:
            # One headless run first, as tests/browser/conftest.py does: the very first deep link
            # on a fresh server otherwise meets Streamlit's legacy pages/ discovery ("Page not found").
            urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=TIMEOUT_MS / 1000).close()
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/feature-maps?arch=resnet18")
            page.get_by_role("heading", name="Feature maps · ResNet-18").wait_for(timeout=TIMEOUT_MS)
            grid_caption(page)
            finished(page)
            switch_architecture(page, "AlexNet")  # visited once: now both are cached
            switch_architecture(page, "ResNet-18")
            before = passes(pass_log)
            arch_times = [switch_architecture(page, name) for name in ["AlexNet", "ResNet-18"] * (switches // 2)]
            arch_passes = passes(pass_log) - before
            before = passes(pass_log)
            layer_times = [switch_layer(page) for _ in range(switches)]
            layer_passes = passes(pass_log) - before
            page.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
        browser.close()
    Path(pass_log).unlink(missing_ok=True)
    median = statistics.median
    return "\n".join([
        f"Machine: {machine()}; Chromium {executable}.",
        "",
        "| what | median | runs | forward passes |",
        "|---|---:|---:|---:|",
        f"| `import torch, torchvision` in a fresh Python | {median(imports):.2f} s | {rounds} | — |",
        f"| cold start: `streamlit run` to first page interactive | {median(colds):.2f} s "
        f"(**{median(colds) / median(imports):.2f}×** the imports) | {rounds} | — |",
        f"| switch between two cached architectures (Feature maps) | {median(arch_times):.2f} s | {len(arch_times)} "
        f"| {arch_passes} |",
        f"| switch layer (▶), to the new grid on screen | {median(t for t, _ in layer_times):.2f} s "
        f"| {len(layer_times)} | {layer_passes} |",
        f"| switch layer (▶), to the end of the run | {median(t for _, t in layer_times):.2f} s | {len(layer_times)} | |",
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="cold starts (and import timings)")
    parser.add_argument("--switches", type=int, default=4, help="timed architecture and layer switches")
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args()
    table = run(args.rounds, args.switches)
    if args.out:
        Path(args.out).write_text(table)
    print(table)


if __name__ == "__main__":
    main()
