"""Every Terraform example gives the findings its expected.json states, as a plan and as .tf files."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import ROOT
from sesrego.scanner import ScanOptions, scan

EXAMPLES = sorted(p for p in (ROOT / "terraform_examples").iterdir() if (p / "expected.json").exists())


def found(report) -> list[dict]:
    return sorted(({"rule_id": f["rule_id"], "resource": f["resource"]} for _, f in report.findings),
                  key=lambda f: (f["resource"], f["rule_id"]))


def unique(entries) -> list[dict]:
    return sorted({(e["resource"], e["rule_id"]): e for e in entries}.values(),
                  key=lambda f: (f["resource"], f["rule_id"]))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_plan_form_matches_expectation(example, compiled):
    program, tree = compiled
    expected = json.loads((example / "expected.json").read_text())
    report = scan([str(example / "plan.json")], program, tree, ScanOptions(jobs=1))
    assert not report.failed_inputs, report.failed_inputs
    assert unique(found(report)) == unique(expected["plan"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_tf_form_matches_expectation(example, compiled):
    pytest.importorskip("hcl2")
    program, tree = compiled
    expected = json.loads((example / "expected.json").read_text())
    report = scan([str(example)], program, tree, ScanOptions(jobs=1))
    assert not report.failed_inputs, report.failed_inputs
    assert unique(found(report)) == unique(expected["tf"])


def test_examples_cover_the_issue_list():
    names = {p.name for p in EXAMPLES}
    assert len(names) >= 8
    fixed = [p for p in EXAMPLES if not json.loads((p / "expected.json").read_text())["plan"]]
    assert len(fixed) >= 2  # the fixed application role and the fixed organization


@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform binary is not on PATH")
def test_examples_are_terraform_fmt_clean():
    proc = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(ROOT / "terraform_examples")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
