"""Where a Streamlit server's CPU goes: ``streamlit`` run with a sampling profiler of all its threads.

    .venv/bin/python benchmarks/server_sampler.py OUT.json run app.py [streamlit's options]

Every 20 ms a thread in the server takes every other thread's Python stack (``sys._current_frames``);
a thread waiting (its innermost call a wait, select, sleep or lock) is not counted. Every two seconds
the counts so far are written to OUT.json: for each function (``file:line name``), the samples with it
anywhere on the stack (inclusive) and innermost (own). Two snapshots, subtracted, give one stretch
(see benchmarks/upload_profile.py). Python only: time in C (torch, Pillow, zlib) is its Python caller's,
and so is a sleep in C (the file watcher's, left out; others may remain): compare shares with the script's.
Sampling every 5 ms, the one run tried lost its tab's websocket mid-upload (not looked into); 20 ms did not.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

IDLE = {"wait", "select", "poll", "sleep", "acquire", "_worker", "epoll", "accept", "_wait_for_tstate_lock",
        "get", "readinto", "recv_into", "run_forever", "_run_once", "wait_for"}


def _where(frame) -> str:
    code = frame.f_code
    return f"{Path(code.co_filename).name}:{code.co_firstlineno} {code.co_name}"


def sample(out: Path, every_s: float = float(os.environ.get("SAMPLER_EVERY_S", "0.02")), dump_s: float = 2.0) -> None:
    inclusive, own, samples = Counter(), Counter(), 0
    me, next_dump = threading.get_ident(), time.monotonic() + dump_s
    while True:
        time.sleep(every_s)
        for ident, frame in sys._current_frames().items():
            if ident == me or frame.f_code.co_name in IDLE or frame.f_code.co_filename.endswith("path_watcher.py"):
                continue
            samples += 1
            own[_where(frame)] += 1
            seen = set()
            while frame is not None:
                seen.add(_where(frame))
                frame = frame.f_back
            inclusive.update(seen)
        if time.monotonic() > next_dump:
            next_dump += dump_s
            out.write_text(json.dumps({"samples": samples, "inclusive": inclusive, "own": own}))


def main() -> None:
    out = Path(sys.argv[1])
    threading.Thread(target=sample, args=(out,), daemon=True, name="sampler").start()
    sys.argv = ["streamlit", *sys.argv[2:]]
    from streamlit.web.cli import main as streamlit_main

    streamlit_main()


if __name__ == "__main__":
    main()
