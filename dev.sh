#!/usr/bin/env bash
# The two commands of the README, each setting up whatever is missing first:
#   ./dev.sh app  [streamlit options]   start the explorer (http://localhost:8501)
#   ./dev.sh test [pytest options]      run the whole test suite, browser tests included (it installs
#                                       Chromium, redis-server and haproxy from Debian's packages if missing)
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.requirements.sha256"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

find_python() {
  for candidate in python3.12 python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        echo "$candidate"; return
    fi
  done
  echo "Python 3.10 or newer is needed; install it and run this again." >&2
  exit 1
}

setup_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtual environment in $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  local wanted
  wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
    say "Installing requirements.txt (the first time takes a few minutes: PyTorch is large)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt
    echo "$wanted" >"$STAMP"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "Installing the test servers needs root; run: apt-get install chromium redis-server haproxy" >&2; exit 1
  fi
}

has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

setup_test_servers() {
  # Playwright's own browser download cannot be used offline; Debian's Chromium can. The class tests
  # run a real redis-server and haproxy (two replicas behind a load balancer), also from Debian.
  local missing=()
  has chromium || has chromium-browser || missing+=(chromium)
  has redis-server || missing+=(redis-server)
  has haproxy || missing+=(haproxy)
  [ ${#missing[@]} -eq 0 ] && return
  say "Installing ${missing[*]} from the system packages (for the tests)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

run_app() {
  "$VENV/bin/python" -m streamlit run app.py "$@" &
  local server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' INT TERM
  # One headless run of app.py as soon as the server answers: torch is imported before
  # the first visitor, so the first page opens as fast as the later ones.
  "$VENV/bin/python" - "$server" "$@" <<'PY' || true
import os, sys, time, urllib.request

server_pid, args = int(sys.argv[1]), sys.argv[2:]
port = "8501"
for i, arg in enumerate(args):
    if arg.startswith("--server.port="):
        port = arg.split("=", 1)[1]
    elif arg == "--server.port" and i + 1 < len(args):
        port = args[i + 1]
base = f"http://127.0.0.1:{port}/_stcore"
for _ in range(240):
    try:
        os.kill(server_pid, 0)
    except OSError:
        sys.exit(1)
    try:
        urllib.request.urlopen(f"{base}/health", timeout=2)
        break
    except OSError:
        time.sleep(0.5)
try:
    urllib.request.urlopen(f"{base}/script-health-check", timeout=300)
    print(f"\033[1m==> Ready: open http://localhost:{port} (Ctrl+C stops the server)\033[0m", file=sys.stderr)
except OSError:
    print("==> The warm-up run of app.py failed; the server log above says why.", file=sys.stderr)
PY
  wait "$server"
}

case "${1:-}" in
  app)
    shift
    setup_python
    run_app "$@"
    ;;
  test)
    shift
    setup_python
    setup_test_servers
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh app [streamlit options] | ./dev.sh test [pytest options]" >&2
    exit 2
    ;;
esac
