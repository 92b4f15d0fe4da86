"""A large plan is evaluated in parts on several cores: the parts' findings, merged, are the plan's."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import pytest

from sesrego.engine import Embedded, data_document
from sesrego.plan import plan_parts, split_plan
from sesrego.scan import ScanOptions, _input_result, _merge, scan

from conftest import ROOT, identity, plan, policy_json, resource, scp

EXAMPLES = sorted((ROOT / "terraform_examples").glob("*/plan.json"))


def _generated(size: int) -> dict:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(size)


@pytest.fixture(scope="module")
def evaluator(compiled):
    _, tree = compiled
    return Embedded(tree.files, data_document(tree.facts))


def _in_parts(evaluator, document: dict, parts: int) -> tuple:
    results = []
    for i, part in enumerate(plan_parts(json.dumps(document).encode(), "p", parts)):
        result = evaluator.evaluate(part, shared=True)
        if i:  # every part holds the shared policies; the scan counts them in the first part only
            result = dataclasses.replace(result, policies=result.policies - result.shared_policies)
        results.append(_input_result("p", "plan", result))
    merged = _merge(results)
    return merged.findings, merged.waived, merged.policies, merged.unverifiable


def _cases():
    cases = [(path.parent.name, json.loads(path.read_text())) for path in EXAMPLES]
    cases.append(("generated-300", _generated(300)))
    # An SCP whose findings every part reports, and identities split across parts.
    cases.append(("scp-and-identities", plan(
        scp("aws_organizations_policy.perimeter", policy_json({
            "Sid": "Perimeter", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-123"}}})),
        *(identity(f"aws_iam_policy.p{i}", {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"})
          for i in range(5)),
        resource("aws_iam_policy.unknown", "aws_iam_policy", {}, unknown={"policy": True}))))
    return cases


@pytest.mark.parametrize("name,document", _cases(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_parts_give_the_same_findings_as_the_whole_plan(evaluator, name, document, parts):
    whole = evaluator.evaluate(json.dumps(document).encode())
    assert _in_parts(evaluator, document, parts) == \
        (whole.findings, whole.waived, whole.policies, whole.unverifiable)


def test_every_part_keeps_shared_changes_and_the_rest_of_the_plan():
    document = _generated(50)
    parts = split_plan(document, 3)
    organization = [c for c in document["resource_changes"] if c["type"] == "aws_organizations_policy"]
    assert organization, "the generator writes SCPs"
    own = [c for c in document["resource_changes"] if c not in organization and c.get("mode") == "managed"]
    for part in parts:
        assert all(c in part["resource_changes"] for c in organization)
        assert {k: v for k, v in part.items() if k != "resource_changes"} == \
            {k: v for k, v in document.items() if k != "resource_changes"}
    spread = [c for part in parts for c in part["resource_changes"] if c in own]
    assert len(spread) == len(own)  # each non-shared change in exactly one part


def test_scan_splits_a_large_plan_across_workers(compiled, tmp_path):
    program, tree = compiled
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_generated(200)))
    whole = scan([str(path)], program, tree, ScanOptions(jobs=1))
    split = scan([str(path)], program, tree, ScanOptions(jobs=2, split_bytes=1))
    assert split.inputs == whole.inputs and whole.findings


def test_a_broken_large_plan_is_reported_once(compiled, tmp_path):
    program, tree = compiled
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": "1.2", "resource_changes": [' + "1," * 100)
    report = scan([str(path)], program, tree, ScanOptions(jobs=2, split_bytes=1))
    assert len(report.inputs) == 1 and "not valid JSON" in report.inputs[0].error
    assert report.exit_status == 2


def test_the_shipped_examples_are_covered():
    assert len(EXAMPLES) >= 8  # every example folder has a plan.json
