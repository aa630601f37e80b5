"""What a new phone photo on Feature maps (ResNet-18) spends the server's CPU on, by function.

    .venv/bin/python benchmarks/upload_profile.py [--uploads 5] [--top 40]

Starts the app under benchmarks/server_sampler.py, opens one headless tab on Feature maps,
picks "Upload a picture", uploads one 12-megapixel JPEG as a warm-up and then ``--uploads``
new ones, each until the grid is drawn and the server is idle. Prints the functions seen in
most samples of the uploads (inclusive: anywhere on the stack; own: innermost), as a share of
the samples of busy threads, and the server's CPU per upload.
"""

from __future__ import annotations

import os

SHELL_ENV = dict(os.environ)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server_cpu import ROOT, cpu_seconds, free_port  # noqa: E402
from bench_upload import as_browser_sends, phone_jpegs  # noqa: E402
from stream_upload import connect  # noqa: E402
from upload_load import PAGE, QUERY, UPLOADER, grid_drawn, quiet  # noqa: E402


def snapshot(path: Path) -> dict:
    time.sleep(2.5)  # the sampler writes every two seconds
    return json.loads(path.read_text())


async def uploads(url: str, pid: int, pictures: list[bytes], counts: Path, caption: str) -> tuple[dict, dict, float]:
    client = await connect(url, PAGE, QUERY)
    await client.wait_for(lambda c: grid_drawn(c) and not c.script_running, 600)
    await client.choose("Picture", "Upload a picture")
    await client.wait_for(lambda c: bool(c.elements("file_uploader")) and not c.script_running, 600)
    for number, picture in enumerate(pictures):
        # Each upload starts on an idle server: sent while the last run still finishes, the socket was
        # seen to close under the sampler.
        await quiet(pid)
        if number == 1:
            first, cpu = await asyncio.to_thread(snapshot, counts), cpu_seconds(pid)
        await client.upload(UPLOADER, f"phone{number}.jpg", picture, "image/jpeg")
        await client.wait_for(lambda c: grid_drawn(c, caption) and not c.script_running, 600)
    cpu = await quiet(pid) - cpu
    await client.close()
    return first, await asyncio.to_thread(snapshot, counts), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--shrunk", action="store_true",
                        help="send the photos as Chromium sends them: 1600×1200 (ui/widgets/photo_shrink.py)")
    args = parser.parse_args()
    pictures = phone_jpegs(args.uploads + 1, first=300)
    caption = "JPEG, 4032×3024 pixels."
    if args.shrunk:
        pictures, caption = [as_browser_sends(p) for p in pictures], "JPEG, 1600×1200 pixels."
    counts, port = Path(tempfile.mkdtemp()) / "counts.json", free_port()
    print(f"server log: {counts.with_suffix('.log')}")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "server_sampler.py"), str(counts), "run", "app.py",
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=SHELL_ENV,
        stdout=subprocess.DEVNULL, stderr=open(counts.with_suffix(".log"), "w"))
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        first, last, cpu = asyncio.run(uploads(url, server.pid, pictures, counts, caption))
    finally:
        server.terminate()
        server.wait(30)
    samples = last["samples"] - first["samples"]
    print(f"server CPU per upload: {cpu / args.uploads * 1000:.0f} ms; {samples} busy samples")
    for kind in ("inclusive", "own"):
        counted = Counter(last[kind]) - Counter(first[kind])
        print(f"\n{kind}:")
        for where, n in counted.most_common(args.top):
            print(f"{100 * n / samples:5.1f}%  {where}")


if __name__ == "__main__":
    main()
