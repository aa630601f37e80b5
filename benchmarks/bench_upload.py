"""Server CPU of a new phone photo on Feature maps (ResNet-18), as multiples of a bare forward pass, in one run.

    .venv/bin/python benchmarks/bench_upload.py [--before DIR] [--floor] [--uploads 5] [--out FILE.md]

Makes six 12-megapixel JPEGs (4032×3024, about 3 MB each, like a phone's: skimage's
sample photos enlarged, with sensor-like grain), starts ``streamlit run app.py`` from
this checkout (and, with ``--before``, from another checkout, e.g.
``git archive main | tar -x -C DIR``; with ``--floor``, benchmarks/upload_floor, a page that only
receives the file), and in Chromium uploads them to Feature maps
on ResNet-18: the first as a warm-up, then the others, the servers taking turns
picture by picture. Each upload is a picture the server has never seen, so it decodes,
runs the network and draws the page. Chromium runs the app's own scripts: where the app makes
a photo smaller in the browser before sending it (ui/widgets/photo_shrink.py), the server
receives that; the floor page installs the same script. Counted: the server process's CPU seconds
(``/proc/PID/stat``) from just before the upload until it has been idle for half a
second, and the forward passes it logged (``EXPLORER_PASS_LOG``). A bare one-thread
ResNet-18 forward pass is timed in this process before every picture.
"""

from __future__ import annotations

import os

# Importing the app's library below sets OMP_WAIT_POLICY in this process; the servers get only what the
# shell had, so that each checkout decides for itself (the old one left OpenMP's threads spinning).
SHELL_ENV = dict(os.environ)

import argparse  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server_cpu import ROOT, TIMEOUT_MS, Server, bare_references, finished  # noqa: E402

from explorer.cli.bench import machine  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402

PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg")
PAGE = "/feature-maps?arch=resnet18"


def phone_jpegs(count: int = len(PHOTOS), first: int = 0) -> list[bytes]:
    """``count`` different 4032×3024 JPEGs of about 3 MB (the photos in turn, each with its own grain)."""
    import skimage.data

    folder = Path(skimage.data.__file__).parent  # the photos skimage ships: nothing is downloaded
    pictures = []
    for number in range(first, first + count):
        name = PHOTOS[number % len(PHOTOS)]
        photo = Image.open(folder / name).convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
        grain = np.random.default_rng(number).normal(0, 7, (3024, 4032, 3))
        pixels = np.clip(np.asarray(photo, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        pictures.append(buffer.getvalue())
    return pictures


def as_browser_sends(photo: bytes) -> bytes:
    """The photo as the app's browser script sends it (ui/widgets/photo_shrink.py's short side and quality)."""
    from ui.widgets.photo_shrink import QUALITY, SHORT_SIDE

    picture = Image.open(io.BytesIO(photo))
    scale = SHORT_SIDE / min(picture.size)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=round(QUALITY * 100))
    return buffer.getvalue()


def upload(picture: bytes, number: int):
    def go(page) -> None:
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            {"name": f"phone{number}.jpg", "mimeType": "image/jpeg", "buffer": picture})
        # The uploader lists the new file once it is sent (after the browser made it smaller, where it
        # does); then the picture's caption and the grid. ``measure`` counts on until the server is idle.
        page.locator('[data-testid="stFileUploader"]').get_by_text(f"phone{number}.jpg").wait_for(
            timeout=TIMEOUT_MS)
        page.get_by_text(re.compile(r"^JPEG, \d+×\d+ pixels\.")).first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_text(re.compile(r"channels of .*, left to right")).first.wait_for(timeout=TIMEOUT_MS)
    return go


def passes(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def run(servers: list[Server], pictures: list[bytes], logs: dict[str, Path]) -> tuple[dict, list[float]]:
    counted: dict[str, list[tuple[float, int]]] = {server.name: [] for server in servers}
    forwards = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for server in servers:
            server.new_tab(browser)
            server.page.goto(PAGE)
            finished(server.page)
            server.page.get_by_text("Upload a picture", exact=True).click()
            finished(server.page)
            server.measure(("upload", "warm-up"), upload(pictures[0], 0))
        for number, picture in enumerate(pictures[1:], 1):
            forwards.append(bare_references(rounds=5)[0])
            for server in servers:
                before = passes(logs[server.name])
                used = server.measure(("upload", str(number)), upload(picture, number))
                counted[server.name].append((used, passes(logs[server.name]) - before))
                print(f"  {server.name:>6} picture {number}: {used * 1e3:.0f} ms CPU, "
                      f"{counted[server.name][-1][1]} forward pass(es); bare forward {forwards[-1] * 1e3:.0f} ms",
                      flush=True)
        browser.close()
    return counted, forwards


def table(counted: dict[str, list[tuple[float, int]]], forwards: list[float]) -> str:
    forward = statistics.median(forwards)
    lines = [
        f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end.",
        f"Bare ResNet-18 forward pass (one torch thread, timed before each picture): median {forward * 1e3:.0f} ms "
        f"(from {min(forwards) * 1e3:.0f} to {max(forwards) * 1e3:.0f}).",
        "",
        "| server | CPU per upload, ms (each picture) | median ms | × forward: median (min–max) | passes per upload |",
        "|---|---|---:|---:|---:|",
    ]
    for name, rows in counted.items():
        used = [u for u, _ in rows]
        multiples = [u / f for u, f in zip(used, forwards)]
        lines.append(
            f"| {name} | {', '.join(f'{u * 1e3:.0f}' for u in used)} | {statistics.median(used) * 1e3:.0f} "
            f"| {statistics.median(multiples):.1f} ({min(multiples):.1f}–{max(multiples):.1f}) "
            f"| {', '.join(str(p) for _, p in rows)} |")
    if "floor" in counted and "after" in counted:
        above = [a - f for (a, _), (f, _) in zip(counted["after"], counted["floor"])]
        lines += ["", "The app above the floor (after − floor, picture by picture): "
                      f"median {statistics.median(above) * 1e3:.0f} ms, "
                      f"{statistics.median([a / f for a, f in zip(above, forwards)]):.1f} forward passes."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="another checkout of the app, measured side by side as 'before'")
    parser.add_argument("--floor", action="store_true",
                        help="also measure benchmarks/upload_floor: Streamlit receiving the same uploads, no app")
    parser.add_argument("--uploads", type=int, default=5, help="timed uploads per server (at most 5)")
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args()
    pictures = phone_jpegs()[: args.uploads + 1]
    print("pictures:", ", ".join(f"{len(p) / 1e6:.1f} MB" for p in pictures), flush=True)
    servers = ([Server("before", Path(args.before).resolve())] if args.before else []) + [Server("after", ROOT)]
    servers += [Server("floor", ROOT / "benchmarks" / "upload_floor")] if args.floor else []
    folder = Path(tempfile.mkdtemp(prefix="bench_upload_"))
    logs = {server.name: folder / f"{server.name}.log" for server in servers}
    try:
        for server in servers:
            server.start({**SHELL_ENV, "EXPLORER_PASS_LOG": str(logs[server.name])})
        counted, forwards = run(servers, pictures, logs)
    finally:
        for server in servers:
            server.stop()
    report = table(counted, forwards)
    if args.out:
        Path(args.out).write_text(report)
    print(report)


if __name__ == "__main__":
    main()
