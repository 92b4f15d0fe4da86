"""Every file sesrego reads by name is read under a byte bound and never waited on forever: configuration,
baselines, sources, keys, claims, certificates and bundles, as well as scan inputs. A FIFO that a program
writes is read (``--data <(…)``); one nobody writes, ``/dev/zero`` and ``/dev/urandom`` are one-line errors."""

from __future__ import annotations

import os
import re
import threading

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from sesrego import reading
from sesrego.cli import cli
from sesrego.sources import DEFAULT_CATALOGS

pytestmark = pytest.mark.usefixtures("fast_compile")

PLAN = str(FIXTURES / "plans" / "one-warning.json")
V1 = next(path for path in DEFAULT_CATALOGS if path.name == "ses-v1.md")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def small(monkeypatch):
    """Small bounds, so that tests drive them without reading much or waiting long."""
    monkeypatch.setattr(reading, "INPUT_TIMEOUT", 0.05)
    monkeypatch.setattr(reading, "MAX_DOCUMENT_BYTES", 100_000)  # the shipped sources still fit


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "nobody-writes.fifo"
    os.mkfifo(path)
    return path


def commands(path, tmp_path):
    """Every command line that reads ``path`` as a file other than a scan input."""
    out = tmp_path / "out"
    return [
        ["scan", PLAN, "--data", path, "--input-timeout", "0.05"],
        ["scan", PLAN, "--config", path, "--input-timeout", "0.05"],
        ["scan", PLAN, "--baseline", path, "--input-timeout", "0.05"],
        ["scan", PLAN, "--bundle", path, "--input-timeout", "0.05"],
        ["bundle", "-o", out / "b.tar.gz", "--data", path],
        ["bundle", "-o", out / "b.tar.gz", "--signing-key", path],
        ["compile", "-o", out / "policy", "--catalog", path],
        ["rules", "--guidance", path],
        ["bundle", "inspect", path],
        ["diff", "--new-catalog", path],
        ["push", "--opa-url", "http://127.0.0.1:9", "--data", path],
    ]


def _one_error_naming(result, path) -> bool:
    lines = [line for line in result.stderr.splitlines() if line.startswith(("Error:", "error:"))]
    return result.exit_code == 2 and len(lines) == 1 and str(path) in lines[0] and "Traceback" not in result.output


def test_scan_input_timeout_covers_every_file_it_reads(fifo, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "INPUT_TIMEOUT", 3600.0)  # the default would hang this test
    for option in ("--data", "--config", "--baseline"):
        result = run("scan", PLAN, option, fifo, "--input-timeout", "0.05")
        assert _one_error_naming(result, fifo) and "within 0.05 seconds" in result.stderr, (option, result.output)
    assert reading.INPUT_TIMEOUT == 3600.0  # restored after the scan


def test_a_fifo_nobody_writes_is_an_error_naming_it_never_a_hang(small, fifo, tmp_path):
    for args in commands(fifo, tmp_path):
        result = run(*args)
        assert _one_error_naming(result, fifo), (args, result.output)
        assert "no program opened this FIFO for writing within 0.05 seconds" in result.stderr, args
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_stops_at_the_bound(small, tmp_path, device):
    for args in commands(device, tmp_path):
        result = run(*args)
        assert _one_error_naming(result, device), (args, result.output)
        assert re.search(r"is more than (\d+) bytes, over the limit of \1", result.stderr), args


def _writer(path, body: bytes) -> threading.Thread:
    def write():
        with open(path, "wb") as handle:
            handle.write(body)
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fifo_a_program_writes_is_read_configuration_and_sources_alike(fifo, tmp_path):
    writer = _writer(fifo, b"sesrego:\n  config:\n    severity: {SES-001: deny}\n")
    result = run("scan", "-j", "1", PLAN, "--no-config", "--data", fifo)
    writer.join()
    assert result.exit_code == 1, result.output  # the configuration made the warning a deny
    # A source read from a FIFO is recorded in the bundle from what was read: the FIFO is not read again.
    writer = _writer(fifo, V1.read_bytes())
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--catalog", fifo)
    writer.join()
    assert result.exit_code == 0, result.output
    inspected = run("bundle", "inspect", tmp_path / "b.tar.gz", "--format", "json")
    assert fifo.name in inspected.stdout


def test_a_large_regular_file_is_refused_from_its_size(small, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"sesrego:\n  config: {}\n" + b"#" * 100_000)
    result = run("scan", PLAN, "--data", big)
    assert _one_error_naming(result, big) and "configuration file is 100022 bytes, over the limit" in result.stderr
    big.write_bytes(b"sesrego:\n  config: {}\n")
    assert run("scan", "-j", "1", PLAN, "--data", big).exit_code == 0


def test_certificates_that_are_no_regular_files_are_refused(fifo):
    for flag in ("--opa-ca-cert", "--opa-client-cert"):
        result = run("scan", PLAN, "--opa-url", "https://127.0.0.1:9", flag, fifo)
        assert result.exit_code == 2 and f"{flag}: not a regular file" in result.output, result.output
