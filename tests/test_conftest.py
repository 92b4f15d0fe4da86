"""The README's conftest commands, run with a real conftest where one is on PATH.

`sesrego compile -o policy/` then `conftest test --all-namespaces -p policy/ -d policy/data.json plan.json`
must report the same findings as `sesrego scan`, once each (the aggregate package defines no
deny or warn of its own).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sesrego.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PLANS = sorted((ROOT / "terraform_examples").glob("*/plan.json"))

pytestmark = pytest.mark.skipif(shutil.which("conftest") is None,
                                reason="the conftest binary is not on PATH; install conftest to run these")


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("policy")
    result = CliRunner().invoke(cli, ["compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _conftest(policy: Path, plan: Path, *namespaces: str) -> list[dict]:
    proc = subprocess.run(["conftest", "test", *(namespaces or ("--all-namespaces",)), "-p", str(policy), "-d",
                           str(policy / "data.json"), "--output", "json", "--no-fail", str(plan)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _scan(plan: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["scan", "--format", "json", str(plan)])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)["findings"]


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.parent.name)
def test_conftest_reports_what_sesrego_scan_reports(policy_dir, plan):
    results = _conftest(policy_dir, plan)
    reported = sorted((kind, item["msg"]) for result in results
                      for kind in ("failures", "warnings") for item in result.get(kind) or [])
    expected = sorted(({"deny": "failures", "warn": "warnings"}[f["severity"]], f["msg"])
                      for f in _scan(plan) if f["severity"] in ("deny", "warn"))
    assert reported == expected


def test_conftest_namespace_selects_one_rule(policy_dir):
    plan = ROOT / "terraform_examples" / "org-perimeter-missing-ses" / "plan.json"
    results = _conftest(policy_dir, plan, "--namespace", "sesrego.rules.ses_004")
    failures = [item for result in results for item in result.get("failures") or []]
    assert failures and all("SES-004" == item.get("metadata", {}).get("rule_id") for item in failures)
