"""Real servers for tests, on loopback and free ports: redis-server, `streamlit run app.py`, haproxy.

Each is started by a test or fixture and stopped after it. A missing program is a skip on a
developer's machine and a failure under CI (``./dev.sh test`` installs them from Debian's
packages), so a broken install never passes quietly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def program(name: str, package: str) -> str:
    """The path of ``name``; skip without it (fail under CI)."""
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)),
                                       None)
    if found is None:
        message = f"{name} is not installed; the README's test command installs it (apt-get install {package})."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def wait_until(check, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.1)


def _answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


class RedisServer:
    """A throwaway redis-server (no persistence) that a test can kill and bring back on the same port."""

    def __init__(self) -> None:
        self.binary = program("redis-server", "redis-server")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port), 20, "redis-server", self.process)
        return self

    def kill(self) -> None:
        """Stop it at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
        return response.status == 200


def start_app(port: int, env: dict[str, str] | None = None, cookie_secret: str | None = None,
              log: Path | None = None) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:``port``, warmed up by one headless run (as ./dev.sh does).

    ``log``: a file for the server's output (kept for a failed test to be read), else none."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    env = {**(env or {}), **({"STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret} if cookie_secret else {})}
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the server writes it until it stops
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url), 60, "streamlit", server)
        with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=120) as response:
            assert response.status == 200, "app.py failed its headless run"
    except BaseException:
        stop(server)
        raise
    return server


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_haproxy(config: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    """haproxy in the foreground on ``config`` (its addresses from ``env``), once it answers on ``port``."""
    balancer = subprocess.Popen([program("haproxy", "haproxy"), "-db", "-f", str(config)],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), 30, "haproxy", balancer)
    except BaseException:
        stop(balancer)
        raise
    return balancer
