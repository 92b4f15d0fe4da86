"""An engine is compiled once per process for the same policies and data, and never mixes them up."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT
from sesrego.engine import Embedded, data_document
from sesrego.scanner import ScanOptions, scan

PLAN = str(ROOT / "terraform_examples" / "app-role-sends-mail" / "plan.json")


def test_evaluators_of_the_same_rules_and_data_share_one_engine(compiled):
    _, tree = compiled
    first, second = Embedded(tree.files, data_document(tree.facts)), Embedded(tree.files, data_document(tree.facts))
    first.evaluate(Path(PLAN).read_bytes())
    second.evaluate(Path(PLAN).read_bytes())
    assert first._engine is second._engine
    other = Embedded(tree.files, data_document(tree.facts, {"severity": {"SES-001": "deny"}}))
    other.evaluate(Path(PLAN).read_bytes())
    assert other._engine is not first._engine


def test_a_shared_engine_answers_each_configuration_and_waiver_list_on_its_own(compiled):
    program, tree = compiled
    plain = scan([PLAN], program, tree, ScanOptions(jobs=1))
    raised = scan([PLAN], program, tree, ScanOptions(jobs=1, config={"severity": {"SES-001": "deny"}}))
    waived = scan([PLAN], program, tree, ScanOptions(jobs=1, config={"waivers": [
        {"rule_id": "SES-001", "resource": "*", "reason": "test"}]}))
    again = scan([PLAN], program, tree, ScanOptions(jobs=1))
    assert [f["severity"] for _, f in plain.findings] == ["warn"]
    assert [f["severity"] for _, f in raised.findings] == ["deny"]
    assert waived.findings == [] and len(waived.inputs[0].waived) == 1
    assert again.findings == plain.findings
