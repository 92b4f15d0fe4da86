"""A large plan is evaluated in parts on several cores: the parts' findings, merged, are the plan's."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import pytest

from sesrego.engine import Embedded, data_document
from sesrego.plan import plan_parts, split_plan
from sesrego.scanner import ScanOptions, _input_result, _merge, scan

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


SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
GUARD = {"Sid": "Guard", "Effect": "Deny", "Action": "ses:Send*", "Resource": "*",
         "Condition": {"ForAnyValue:StringNotLike": {"ses:Recipients": ["*@example.com"]}}}
VERIFY = {"Sid": "Verify", "Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}


def _inline(resource_type: str, name: str, principal: str | None, *statements: dict) -> dict:
    argument = resource_type.split("_")[2]  # aws_iam_role_policy -> role
    after = {"name": name, "policy": policy_json(*statements)}
    if principal is not None:
        after[argument] = principal
    return resource(f"{resource_type}.{name}", resource_type, after,
                    unknown=None if principal is not None else {argument: True})


def _fillers(count: int) -> list[dict]:
    """Unrelated policies, so that the changes that belong together have others to be split from."""
    return [identity(f"aws_iam_policy.filler{i}", dict(SEND, Condition={
        "ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}})) for i in range(count)]


def _principal_cases() -> list[tuple[str, dict]]:
    """The rules join a principal's inline policies: splitting must keep them together."""
    role = resource("aws_iam_role.app", "aws_iam_role", {"name": "app", "inline_policy": [
        {"name": "send", "policy": policy_json(SEND)}]})
    together = plan(*_fillers(6), _inline("aws_iam_role_policy", "send", "app", SEND),
                    _inline("aws_iam_role_policy", "guard", "app", GUARD), role,
                    _inline("aws_iam_user_policy", "u_send", "team", SEND), *_fillers(3),
                    _inline("aws_iam_user_policy", "u_guard", "team", GUARD),
                    _inline("aws_iam_group_policy", "g_send", "devs", SEND),
                    _inline("aws_iam_role_policy", "other", "other-role", SEND))
    prefixed = resource("aws_iam_role.app", "aws_iam_role", {"name_prefix": "app-", "inline_policy": [
        {"name": "guard", "policy": policy_json(GUARD)}]}, unknown={"name": True})
    configuration = {"root_module": {"resources": [{
        "address": "aws_iam_role_policy.send", "mode": "managed", "type": "aws_iam_role_policy", "name": "send",
        "expressions": {"role": {"references": ["aws_iam_role.app.id", "aws_iam_role.app"]}}}]}}
    by_reference = plan(*_fillers(5), prefixed, *_fillers(2)[1:],
                        _inline("aws_iam_role_policy", "send", None, SEND), configuration=configuration)
    return [("inline-policies-of-one-principal", together), ("inline-policy-by-reference", by_reference)]


def _cases():
    cases = [(path.parent.name, json.loads(path.read_text())) for path in EXAMPLES]
    cases.extend(_principal_cases())
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


def test_a_principals_guard_and_attachments_reach_every_part_that_needs_them(compiled):
    """A managed policy is exempt when its attachments all go to administrators: every part sees them."""
    _, tree = compiled
    admins = Embedded(tree.files, data_document(tree.facts, {"administrators": ["platform-admin"]}))
    managed = resource("aws_iam_policy.m", "aws_iam_policy", {"name": "verify", "policy": policy_json(VERIFY)},
                       unknown={"arn": True})
    attachment = resource("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment",
                          {"role": "platform-admin"}, unknown={"policy_arn": True})
    admin_role = resource("aws_iam_role.admin", "aws_iam_role", {"name": "platform-admin"})
    configuration = {"root_module": {"resources": [{
        "address": "aws_iam_role_policy_attachment.a", "mode": "managed", "type": "aws_iam_role_policy_attachment",
        "name": "a", "expressions": {"policy_arn": {"references": ["aws_iam_policy.m.arn", "aws_iam_policy.m"]}}}]}}
    document = plan(admin_role, *_fillers(4), managed, *_fillers(3), attachment, configuration=configuration)
    whole = admins.evaluate(json.dumps(document).encode())
    assert not [f for f in whole.findings if f["rule_id"] == "SES-003"]  # exempt as a whole plan
    for parts in (2, 3, 5):
        assert _in_parts(admins, document, parts) == (whole.findings, whole.waived, whole.policies,
                                                      whole.unverifiable)


def test_a_principal_and_its_inline_policies_stay_in_one_part():
    document = _principal_cases()[0][1]
    for parts in (2, 3, 4):
        homes = {}
        for i, part in enumerate(split_plan(document, parts)):
            for change in part["resource_changes"]:
                after = change["change"]["after"]
                whole = change["type"] != "aws_iam_role" or "inline_policy" in after
                if whole and change["type"] != "aws_iam_policy":
                    homes.setdefault(after.get("role") or after.get("user") or after.get("group")
                                     or after.get("name"), set()).add(i)
        assert all(len(parts_of) == 1 for parts_of in homes.values()), homes
        # every other part sees the role, without its inline policies
        roles = [c for part in split_plan(document, parts) for c in part["resource_changes"]
                 if c["type"] == "aws_iam_role"]
        assert len(roles) == parts and sum("inline_policy" in c["change"]["after"] for c in roles) == 1


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
    principals = {"aws_iam_role", "aws_iam_user", "aws_iam_group"}
    spread = [c for part in parts for c in part["resource_changes"] if c in own]
    whole = [c for c in spread if c["type"] not in principals or "inline_policy" in c["change"]["after"]]
    assert sorted(map(json.dumps, whole)) == sorted(json.dumps(c) for c in own if c["type"] not in principals
                                                     or "inline_policy" in c["change"]["after"])


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
