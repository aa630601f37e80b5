"""Server CPU of a new phone photo on each page that takes a picture, as multiples of a bare forward pass.

    .venv/bin/python benchmarks/upload_pages.py [--uploads 4]

One ``streamlit run app.py`` from this checkout and one headless tab (benchmarks/stream_upload.py)
per page, on ResNet-18: Feature maps, Where it looks (its default: Grad-CAM on the default layer)
and Training step. Each tab picks "Upload a picture", uploads one 12-megapixel JPEG as a warm-up,
then ``--uploads`` new ones, the pages taking turns picture by picture. Counted: the server's CPU
seconds (``/proc/PID/stat``) from just before an upload until it has been idle for a second. On
Training step, after each upload, "Take one step" is pressed and counted on its own, against a bare
training step (batch 2, SGD). A bare one-thread ResNet-18 forward pass and training step are timed
in this process before every round.
"""

from __future__ import annotations

import os

SHELL_ENV = dict(os.environ)  # the server gets the shell's environment, not what importing the app sets here

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server_cpu import ROOT, Server, bare_references, cpu_seconds  # noqa: E402
from bench_upload import as_browser_sends, phone_jpegs  # noqa: E402
from stream_upload import UploadingClient, connect  # noqa: E402
from upload_load import UPLOADER, error_page, quiet  # noqa: E402

PAGES = {"feature-maps": "Feature maps", "where-the-network-looks": "Where it looks (Grad-CAM)",
         "training-step": "Training step"}


def idle(client: UploadingClient) -> bool:
    return not client.script_running


async def ran(client: UploadingClient, action) -> None:
    """Do ``action`` (a coroutine function) and wait for the run it starts to finish."""
    finished = client.runs_finished
    await action()
    await client.wait_for(lambda c: c.runs_finished > finished and idle(c), 600)
    if (error := error_page(client)) is not None:
        raise RuntimeError(f"{client.url_path}: {error}")


async def open_tab(url: str, page: str) -> UploadingClient:
    client = await connect(url, page, "arch=resnet18", fetch_media=True)  # as a browser: its pictures fetched
    await client.wait_for(lambda c: c.runs_finished > 0 and idle(c), 600)
    await ran(client, lambda: client.choose("Picture", "Upload a picture"))
    return client


async def measure(url: str, pid: int, pictures: list[bytes]) -> tuple[dict, list[tuple[float, float]]]:
    tabs = {page: await open_tab(url, page) for page in PAGES}
    counted: dict[str, list[float]] = {name: [] for name in [*PAGES, "step"]}
    references = []
    for number, picture in enumerate(pictures):
        references.append(bare_references(5))
        for page, client in tabs.items():
            await quiet(pid)
            before = cpu_seconds(pid)
            await ran(client, lambda: client.upload(UPLOADER, f"phone{number}.jpg", picture, "image/jpeg"))
            used = await quiet(pid) - before
            if page == "training-step":
                before = cpu_seconds(pid)
                await ran(client, lambda: client.click("Take one step"))
                step = await quiet(pid) - before
                if number:
                    counted["step"].append(step)
            if number:  # the first picture warms each page up
                counted[page].append(used)
    for client in tabs.values():
        await client.close()
    return counted, references[1:]


def report(counted: dict, references: list[tuple[float, float]]) -> str:
    forward = statistics.median(r[0] for r in references)
    step = statistics.median(r[1] for r in references)
    rows = ["| page, ResNet-18, a new 12 MP phone JPEG | server CPU per upload (median; min–max) | bare forward passes |",
            "|---|---:|---:|"]
    for page, name in PAGES.items():
        values = counted[page]
        rows.append(f"| {name} | {statistics.median(values) * 1000:.0f} ms; {min(values) * 1000:.0f}–"
                    f"{max(values) * 1000:.0f} | **{statistics.median(values) / forward:.1f}** "
                    f"({min(values) / forward:.1f}–{max(values) / forward:.1f}) |")
    values = counted["step"]
    rows.append(f"| Training step: then “Take one step” | {statistics.median(values) * 1000:.0f} ms; "
                f"{min(values) * 1000:.0f}–{max(values) * 1000:.0f} | {statistics.median(values) / forward:.1f} "
                f"(= {statistics.median(values) / step:.2f} bare training steps) |")
    rows.append(f"\nBare one-thread references (median of {len(references)} rounds): forward pass "
                f"{forward * 1000:.1f} ms, training step (batch 2, SGD) {step * 1000:.0f} ms. "
                f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--shrunk", action="store_true",
                        help="send each photo as Chromium sends it: made smaller by ui/widgets/photo_shrink.py")
    args = parser.parse_args()
    pictures = phone_jpegs(args.uploads + 1, first=200)
    pictures = [as_browser_sends(p) for p in pictures] if args.shrunk else pictures
    server = Server("this", ROOT)
    server.start(SHELL_ENV)
    try:
        counted, references = asyncio.run(measure(server.url, server.process.pid, pictures))
    finally:
        server.stop()
    print(report(counted, references))


if __name__ == "__main__":
    main()
