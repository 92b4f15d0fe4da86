"""A scan stopped by a signal leaves nothing running and nothing half-written.

SIGTERM (``kill``, a CI job's timeout, a container shutting down) stops a scan as Ctrl-C does: the
workers are stopped, no output file is written, one line, exit status 143. SIGKILL cannot be
handled, but the kernel then kills the workers too (Linux), so no orphan goes on evaluating.
The workers here stand in for a long evaluation: they note their pid and sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sesrego.engine import Embedded

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PLAN = {"format_version": "1.2", "resource_changes": [], "planned_values": {}}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the kernel's "
                                "parent-death signal is Linux's")


class Sleeps(Embedded):
    """Notes its worker's pid in ``directory``, then sleeps: an evaluation that is still running."""

    def __init__(self, directory: str) -> None:
        super().__init__({}, {})
        self.directory = directory

    def __getstate__(self):
        return {**super().__getstate__(), "directory": self.directory}

    def __setstate__(self, state):
        super().__setstate__(state)
        self.directory = state["directory"]

    def evaluate(self, raw, waivers=(), *, shared=False):
        Path(self.directory, str(os.getpid())).write_text("")
        time.sleep(120)


SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import sesrego.scanner as scan_module
from test_signals import Sleeps
pids, out, plans = sys.argv[2], sys.argv[3], sys.argv[4:]
scan_module.default_evaluator = lambda program, tree, options: Sleeps(pids)
sys.argv = ["sesrego", "scan", "--no-config", "-j", "2", "-f", "json", "-o", out, *plans]
from sesrego.cli import main
main()
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _start(tmp_path):
    pids, out = tmp_path / "pids", tmp_path / "report.json"
    pids.mkdir()
    plans = []
    for name in ("a", "b"):
        plans.append(tmp_path / f"{name}.json")
        plans[-1].write_text(json.dumps(PLAN))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(TESTS), str(pids), str(out), *map(str, plans)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = _wait(lambda: len(list(pids.iterdir())) == 2)
    workers = [int(p.name) for p in pids.iterdir()]
    if not started:
        proc.kill()
        pytest.fail(f"the workers did not start: {proc.communicate()[1].decode()[-2000:]}")
    return proc, workers, out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_scan_leaves_no_worker_running_and_no_file(tmp_path, signum):
    proc, workers, out = _start(tmp_path)
    try:
        assert all(_alive(pid) for pid in workers)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _wait(lambda: not any(_alive(pid) for pid in workers)), "a worker outlived the scan"
    assert not out.exists() and not list(tmp_path.glob(".report.json.*"))
    if signum == signal.SIGTERM:
        assert proc.returncode == 143
        assert stderr.decode() == "Error: terminated (SIGTERM)\n"
    else:
        assert proc.returncode == -signal.SIGKILL
