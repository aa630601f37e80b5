"""Thirty students upload a phone photo in the same second to Feature maps (ResNet-18) on one server.

    .venv/bin/python benchmarks/upload_load.py [--students 30] [--scorecam] [--turns 2]

Starts ``streamlit run app.py`` from this checkout, opens ``--students`` headless tabs
(benchmarks/stream_upload.py) on Feature maps with ResNet-18, picks "Upload a picture" in each,
waits until the server is idle, and then every tab uploads a different 12-megapixel JPEG
(4032×3024, about 3 MB: benchmarks/bench_upload.py's maker) at once. Measured: seconds from
a tab's upload until its page shows the new picture's caption and a grid from the run that
followed; the places in line each tab was told; the server's CPU seconds (``/proc/PID/stat``)
from before the uploads until it is idle again, per upload and as multiples of a bare one-thread
ResNet-18 forward pass timed in this process; the server's peak RSS; the load average. A tab
showing an exception or an error counts as an error page. With ``--scorecam`` another tab starts
a Score-CAM on Where it looks first, and the uploads begin while it runs.
"""

from __future__ import annotations

import os

SHELL_ENV = dict(os.environ)  # the server gets the shell's environment, not what importing the app sets here

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server_cpu import ROOT, Server, bare_references, cpu_seconds  # noqa: E402
from bench_upload import as_browser_sends, phone_jpegs  # noqa: E402
from stream_upload import UploadingClient, connect  # noqa: E402

PAGE, QUERY = "feature-maps", "arch=resnet18"
UPLOADER = "A p"  # "A photo from your computer…" here, "A picture (JPEG…" elsewhere
IN_LINE = " in line; the server works on "


def shown_this_run(client: UploadingClient) -> list:
    return [n.proto for n in client.nodes.values() if not n.is_block and n.run == client.run_id]


def grid_drawn(client: UploadingClient, caption: str | None = None) -> bool:
    """The run now shown has drawn a channel grid (and, if given, the picture caption that starts so)."""
    elements = shown_this_run(client)
    grid = any("channels of" in i.caption for e in elements if e.WhichOneof("type") == "imgs" for i in e.imgs.imgs)
    return grid and (caption is None or any(
        e.WhichOneof("type") == "markdown" and e.markdown.body.startswith(caption) for e in elements))


def error_page(client: UploadingClient) -> str | None:
    """The first exception or error shown, if any."""
    for element in client.elements():
        kind = element.WhichOneof("type")
        if kind == "exception":
            return f"{element.exception.type}: {element.exception.message}"
        if kind == "alert" and element.alert.format == element.alert.ERROR:
            return element.alert.body
    return None


async def arrive(url: str, gate: asyncio.Semaphore) -> UploadingClient:
    """A tab on Feature maps with its sample photo drawn, then with the uploader chosen."""
    async with gate:
        client = await connect(url, PAGE, QUERY, fetch_media=True)  # as a browser: its pictures fetched
        await client.wait_for(lambda c: grid_drawn(c) and not c.script_running, 600)
        await client.choose("Picture", "Upload a picture")
        await client.wait_for(lambda c: bool(c.elements("file_uploader")) and not c.script_running, 600)
        return client


async def upload(client: UploadingClient, picture: bytes, name: str) -> tuple[float, int, str | None]:
    """Seconds from the upload to the new grid, the farthest place in line it was told, and any error shown."""
    told = [0]

    def done(c: UploadingClient) -> bool:
        for text in c.texts():
            if IN_LINE in text:
                told[0] = max(told[0], int("".join(ch for ch in text.split(" is ")[1].split(" ")[0] if ch.isdigit())))
        return grid_drawn(c, "JPEG, ") or error_page(c) is not None

    began = time.monotonic()
    await client.upload(UPLOADER, name, picture, "image/jpeg")
    await client.wait_for(done, 600)
    return time.monotonic() - began, told[0], error_page(client)


async def rss_peak(pid: int, stop: asyncio.Event) -> int:
    """The server's largest resident set (bytes) while ``stop`` is not set."""
    peak = 0
    while not stop.is_set():
        with open(f"/proc/{pid}/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        peak = max(peak, kb * 1024)
        await asyncio.sleep(0.1)
    return peak


async def quiet(pid: int, window_s: float = 1.0) -> float:
    """The server's CPU seconds once it has used less than 2% of a core for ``window_s``."""
    last = cpu_seconds(pid)
    while True:
        await asyncio.sleep(window_s)
        now = cpu_seconds(pid)
        if now - last < 0.02 * window_s:
            return now
        last = now


async def start_scorecam(url: str) -> UploadingClient:
    """A tab on Where it looks that asks for Score-CAM and presses its button; returns once it runs."""
    client = await connect(url, "where-the-network-looks", QUERY)
    await client.wait_for(lambda c: not c.script_running and bool(c.elements("selectbox")), 600)
    await client.choose("Method", "Score-CAM")
    await client.wait_for(lambda c: any(b.button.label.startswith("Run Score-CAM") for b in c.elements("button"))
                          and not c.script_running, 600)
    await client.click("Run Score-CAM")
    await client.wait_for(lambda c: c.script_running, 60)
    return client


async def lesson(url: str, pid: int, pictures: list[bytes], scorecam: bool) -> dict:
    gate = asyncio.Semaphore(4)  # tabs open a few at a time, as a class does over a minute
    clients = await asyncio.gather(*(arrive(url, gate) for _ in pictures))
    await quiet(pid)
    cam = await start_scorecam(url) if scorecam else None
    stop = asyncio.Event()
    peak = asyncio.create_task(rss_peak(pid, stop))
    load_before, cpu_before, began = os.getloadavg(), cpu_seconds(pid), time.monotonic()
    results = await asyncio.gather(*(upload(c, p, f"phone{i}.jpg") for i, (c, p) in enumerate(zip(clients, pictures))))
    last_grid = time.monotonic() - began
    cam_done = None
    if cam is not None:
        await cam.wait_for(lambda c: not c.script_running, 600)
        cam_done, cam_error = time.monotonic() - began, error_page(cam)
    cpu_after = await quiet(pid)
    stop.set()
    figures = {"results": results, "cpu": cpu_after - cpu_before, "peak_rss": await peak, "last_grid": last_grid,
               "load_before": load_before, "load_after": os.getloadavg(), "cam_done": cam_done,
               "cam_error": cam_error if cam is not None else None}
    for client in clients + ([cam] if cam else []):
        await client.close()
    return figures


def report(figures: dict, forward_s: float, turns: int, scorecam: bool) -> str:
    times = sorted(r[0] for r in figures["results"])
    n = len(times)
    p95 = times[min(n - 1, max(0, round(0.95 * n) - 1))]
    errors = [r[2] for r in figures["results"] if r[2]]
    per_upload = figures["cpu"] / n
    lines = [
        f"{n} uploads at once{' while a Score-CAM runs' if scorecam else ''}; {turns} captures at a time.",
        f"upload → new grid: p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, max {times[-1]:.2f} s "
        f"(last grid {figures['last_grid']:.1f} s after the uploads began)",
        f"farthest place told: {max(r[1] for r in figures['results'])}; tabs told a place: "
        f"{sum(1 for r in figures['results'] if r[1])}",
        f"server CPU: {figures['cpu']:.2f} s in all, {per_upload * 1000:.0f} ms per upload"
        f"{' (the Score-CAM included)' if scorecam else ''}; bare forward pass {forward_s * 1000:.1f} ms: "
        f"{per_upload / forward_s:.1f} passes per upload",
        f"server peak RSS: {figures['peak_rss'] / 2**20:,.0f} MiB",
        f"error pages: {len(errors)} {errors[:3]}",
        "load average (1/5/15 min) before: {:.1f} / {:.1f} / {:.1f}; after: {:.1f} / {:.1f} / {:.1f}".format(
            *figures["load_before"], *figures["load_after"]),
    ]
    if scorecam:
        lines.append(f"Score-CAM finished {figures['cam_done']:.1f} s after the uploads began; "
                     f"error: {figures['cam_error']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--turns", type=int, default=2, help="EXPLORER_PICTURE_TURNS for the server")
    parser.add_argument("--scorecam", action="store_true")
    parser.add_argument("--first", type=int, default=100, help="the first picture's grain seed (a new one: uncached)")
    parser.add_argument("--shrunk", action="store_true",
                        help="send each photo as Chromium sends it: made smaller by ui/widgets/photo_shrink.py")
    args = parser.parse_args()
    pictures = phone_jpegs(args.students, args.first)
    pictures = [as_browser_sends(p) for p in pictures] if args.shrunk else pictures
    forward_s, _ = bare_references()
    server = Server("this", ROOT)
    server.start({**SHELL_ENV, "EXPLORER_PICTURE_TURNS": str(args.turns)})
    try:
        figures = asyncio.run(lesson(server.url, server.process.pid, pictures, args.scorecam))
        alive = server.process.poll() is None
    finally:
        server.stop()
    print(report(figures, forward_s, args.turns, args.scorecam))
    print(f"server alive at the end: {alive}")


if __name__ == "__main__":
    main()
