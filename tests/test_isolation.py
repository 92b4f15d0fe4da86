"""Every failure is exit status 2 with one line naming the input, and the other inputs still report.

Failures are injected, never provoked: an evaluator that kills its own worker process for one
input stands for the kernel's out-of-memory killer; one that raises stands for a bug or an
exhausted resource.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, identity, plan
from sesrego import scanner as scan_module
from sesrego.cli import cli
from sesrego.engine import Embedded, data_document
from sesrego.errors import EngineError
from sesrego.scanner import ScanOptions, scan

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

SEND = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
OTHER = str(FIXTURES / "plans" / "one-warning.json")


class KillsItsWorker(Embedded):
    """Dies (SIGKILL, as the OOM killer does) on any input naming ``aws_iam_policy.doomed``."""

    def evaluate(self, raw, waivers=(), *, shared=False):
        if b"aws_iam_policy.doomed" in raw:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().evaluate(raw, waivers, shared=shared)


class Raises(Embedded):
    """Raises ``error`` on any input naming ``aws_iam_policy.doomed``."""

    def __init__(self, files, data, error):
        super().__init__(files, data)
        self.error = error

    def __getstate__(self):
        return {**super().__getstate__(), "error": self.error}

    def __setstate__(self, state):
        super().__setstate__(state)
        self.error = state["error"]

    def evaluate(self, raw, waivers=(), *, shared=False):
        if b"aws_iam_policy.doomed" in raw:
            raise self.error
        return super().evaluate(raw, waivers, shared=shared)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    root = tmp_path_factory.mktemp("plans")
    paths = []
    for i, name in enumerate(["a", "doomed", "b", "c"]):
        path = root / f"{i}-{name}.json"
        path.write_text(json.dumps(plan(identity(f"aws_iam_policy.{name}", SEND))))
        paths.append(str(path))
    return paths


def _check_only_doomed_failed(report, plans, *words):
    by_path = {result.path: result for result in report.inputs}
    assert [result.path for result in report.inputs] == plans
    for path in plans:
        if "doomed" in path:
            assert by_path[path].error.startswith(f"{path}: ") and "\n" not in by_path[path].error
            for word in words:
                assert word in by_path[path].error
        else:
            assert by_path[path].error is None and len(by_path[path].findings) == 1
    assert report.exit_status == 2


@pytest.mark.parametrize("jobs", [2, 3])
def test_a_killed_worker_costs_only_its_own_input(compiled, plans, jobs):
    program, tree = compiled
    evaluator = KillsItsWorker(tree.files, data_document(tree.facts))
    report = scan(plans, program, tree, ScanOptions(jobs=jobs), evaluator=evaluator)
    _check_only_doomed_failed(report, plans, "process scanning this input died")


class _DiesWhileHandingOut(scan_module.ProcessPoolExecutor):
    """A pool whose worker dies while later sources are still being handed out (as on a loaded
    machine): after handing out the doomed source, the one-worker pool that finds the culprit
    waits for its worker to die, so that the next submit() breaks."""

    def submit(self, fn, source, *args, **kwargs):
        future = super().submit(fn, source, *args, **kwargs)
        if "doomed" in source.path and self._max_workers == 1:
            concurrent.futures.wait([future])
        return future


@pytest.mark.parametrize("jobs", [2, 3])
def test_a_worker_that_dies_while_sources_are_handed_out_costs_only_its_own(compiled, plans, jobs, monkeypatch):
    program, tree = compiled
    monkeypatch.setattr(scan_module, "ProcessPoolExecutor", _DiesWhileHandingOut)
    evaluator = KillsItsWorker(tree.files, data_document(tree.facts))
    report = scan(plans, program, tree, ScanOptions(jobs=jobs), evaluator=evaluator)
    _check_only_doomed_failed(report, plans, "process scanning this input died")


def test_a_killed_worker_on_a_part_of_a_split_plan_fails_that_plan_only(compiled, plans, tmp_path):
    program, tree = compiled
    big = tmp_path / "big.json"
    big.write_text(json.dumps(plan(*(identity(f"aws_iam_policy.p{i}", SEND) for i in range(6)),
                                   identity("aws_iam_policy.doomed", SEND))))
    evaluator = KillsItsWorker(tree.files, data_document(tree.facts))
    report = scan([str(big), OTHER], program, tree, ScanOptions(jobs=3, split_bytes=1000), evaluator=evaluator)
    assert [r.path for r in report.inputs] == [str(big), OTHER]
    assert "process scanning this input died" in report.inputs[0].error
    assert report.inputs[1].error is None and len(report.inputs[1].findings) == 1


@pytest.mark.parametrize("error,words,jobs", [
    (MemoryError(), ["out of memory"], 1),
    (MemoryError(), ["out of memory"], 2),  # raised in a worker process
    (RecursionError(), ["nested too deeply"], 1),
    (ValueError("boom"), ["internal error (ValueError: boom)"], 1),
    (EngineError("OPA engine: eval_conflict_error"), ["OPA engine: eval_conflict_error"], 1),
])
def test_an_error_in_one_input_is_that_inputs_error(compiled, plans, error, words, jobs):
    program, tree = compiled
    evaluator = Raises(tree.files, data_document(tree.facts), error)
    report = scan(plans, program, tree, ScanOptions(jobs=jobs), evaluator=evaluator)
    _check_only_doomed_failed(report, plans, *words)


def test_engine_errors_name_the_input_through_the_cli(plans, monkeypatch):
    original = Embedded.evaluate

    def failing(self, raw, waivers=(), *, shared=False):
        if b"doomed" in raw:
            raise EngineError("OPA engine: 1:1: rego_type_error: conflicting rules")
        return original(self, raw, waivers, shared=shared)

    monkeypatch.setattr(Embedded, "evaluate", failing)
    result = CliRunner().invoke(cli, ["scan", "-j", "1", *plans])
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {plans[1]}: OPA engine: 1:1: rego_type_error: conflicting rules"]
    assert result.stdout.splitlines()[-1].startswith("3 warn.")


# --- the command's error boundary ------------------------------------------------------------------


@pytest.mark.parametrize("error,words", [
    (MemoryError(), "out of memory"),
    (KeyError("x"), "internal error (KeyError: 'x'); please report it"),
    (RecursionError(), "input nested too deeply"),
])
def test_any_exception_in_a_command_is_one_line_and_exit_2(monkeypatch, error, words):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(scan_module, "scan", broken)
    result = CliRunner().invoke(cli, ["scan", OTHER])
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.startswith(f"Error: sesrego scan: {words}")
    assert result.stderr.count("\n") == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_boundary_names_the_file_being_read(monkeypatch, tmp_path):
    from sesrego import inspect as inspect_module

    def broken(files):
        raise TypeError("unexpected")

    build = CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "b.tar.gz")])
    assert build.exit_code == 0, build.output
    monkeypatch.setattr(inspect_module, "inspect", broken)
    result = CliRunner().invoke(cli, ["bundle", "inspect", str(tmp_path / "b.tar.gz")])
    assert result.exit_code == 2
    assert result.stderr == \
        f"Error: {tmp_path / 'b.tar.gz'}: internal error (TypeError: unexpected); please report it\n"


def test_keyboard_interrupt_in_process_is_exit_130(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_module, "scan", interrupted)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["scan", OTHER, "-o", str(out)])
    assert result.exit_code == 130 and result.stderr == "Error: interrupted\n"
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("jobs", ["1", "2"])  # in the process, and in a worker of the pool
def test_ctrl_c_during_a_scan_is_exit_130_one_line_and_no_partial_output(tmp_path, jobs):
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out" / "report.json"
    proc = subprocess.Popen([sys.executable, "-m", "sesrego", "scan", OTHER, str(fifo), "-j", jobs,
                             "--format", "json", "-o", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer = None
    try:
        while writer is None:  # a writer can connect once sesrego has the FIFO open for reading
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
        # sesrego now waits for data that never comes: it is mid-scan, past start-up.
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr == "Error: interrupted\n" and stdout == ""
    assert not out.parent.exists()


def test_an_unwritable_output_is_refused_before_scanning(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(scan_module, "scan", lambda *a, **k: calls.append(a))
    (tmp_path / "a-file.json").write_text("{}")
    assert CliRunner().invoke(cli, ["scan", OTHER, "-o", str(tmp_path)]).exit_code == 2  # a directory
    targets = [tmp_path / "a-file.json" / "report.json", "/proc/sesrego/report.json"]
    if os.geteuid() != 0:  # root may write into a read-only directory
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        targets.append(locked / "report.json")
    for target in targets:
        result = CliRunner().invoke(cli, ["scan", OTHER, "-o", str(target)])
        assert result.exit_code == 2 and calls == [], result.output
        assert result.stderr.startswith(f"Error: {target}: ") and result.stderr.count("\n") == 1


# --- the opa binary as the engine ------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("opa") is None, reason="the opa binary is not on PATH")
def test_the_opa_binary_gives_what_the_embedded_engine_gives(plans, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: aws_iam_policy.a, "
                      "reason: r}\n")
    embedded = CliRunner().invoke(cli, ["scan", "-j", "1", "--format", "json", "--data", str(config), *plans])
    binary = CliRunner().invoke(cli, ["scan", "-j", "1", "--format", "json", "--engine", "opa", "--data",
                                      str(config), *plans])
    assert embedded.exit_code == binary.exit_code == 0, binary.output
    assert json.loads(embedded.stdout) == json.loads(binary.stdout)


@pytest.mark.skipif(shutil.which("opa") is None, reason="the opa binary is not on PATH")
def test_sesrego_test_runs_opa_check_and_test():
    result = CliRunner().invoke(cli, ["test", "--opa"])
    assert result.exit_code == 0, result.output
    assert "$ opa check" in result.output and "$ opa test" in result.output


def test_without_the_opa_binary_the_opa_engine_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = CliRunner().invoke(cli, ["scan", OTHER, "--engine", "opa"])
    assert result.exit_code == 2 and "the opa binary is not on PATH" in result.stderr
    assert result.stderr.count("\n") == 1
