"""PyTorch's waiting OpenMP threads sleep instead of spinning, unless the user asked otherwise."""

import subprocess
import sys

from tests.conftest import ROOT

CODE = "import os, explorer, torch; print(os.environ.get('OMP_WAIT_POLICY'))"


def run(env: dict) -> str:
    done = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_library_asks_for_the_passive_wait_policy_before_torch_starts():
    import os

    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    assert run(env) == "PASSIVE"


def test_a_policy_the_user_set_is_kept():
    import os

    assert run({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
