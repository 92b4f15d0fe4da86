"""main.rego, the aggregate package: every rule package that defines findings, with no list of them.

Regal's main.rego collects `data.regal.rules[category][title].report` the same way. A rule added to the
tree is aggregated without an edit to main.rego; data a user puts under data.sesrego.rules (conftest -d,
OPA's data API) is not a rule package and changes nothing.
"""

from __future__ import annotations

import json

import pytest

from conftest import identity, plan, resource, scp
from sesrego.engine import Engine, EngineError, data_document

_QUERY = ('{"findings": data.sesrego.findings, "waived": data.sesrego.waived, "checked": data.sesrego.checked, '
          '"report": data.sesrego.report, "waivers_used": data.sesrego.waivers_used}')
_SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
_FAKE = {"msg": "injected", "rule_id": "SES-001", "title": "t", "severity": "deny", "resource": "aws_iam_policy.x",
         "resource_type": "aws_iam_policy", "policy_kind": "identity", "attribute": "policy", "statement": None,
         "actions": [], "consideration": [], "remediation": "", "waiver": {"rule_id": "*", "resource": "*"}}

#: A plan with findings of several rules, an unverifiable policy (SES-007) and a waived finding.
_PLAN = plan(identity("aws_iam_policy.send", _SEND),
             identity("aws_iam_policy.typo", {**_SEND, "Action": "ses:SendEmal"}),
             resource("aws_iam_policy.later", "aws_iam_policy", {"name": "later"}, unknown={"policy": True}),
             scp("aws_organizations_policy.perimeter", json.dumps({"Statement": [{
                 "Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-1"}}}]})))
_CONFIG = {"waivers": [{"rule_id": "SES-008", "resource": "aws_iam_policy.typo", "reason": "r"}]}


def _answer(files, document) -> dict:
    engine = Engine(files, document)
    try:
        return engine.query(_QUERY, raw=json.dumps(_PLAN).encode())
    finally:
        engine.close()


@pytest.fixture(scope="module")
def expected(compiled):
    _, tree = compiled
    answer = _answer(tree.files, data_document(tree.facts, _CONFIG))
    rules = {f["rule_id"] for f in answer["findings"]}
    assert {"SES-001", "SES-004", "SES-006", "SES-007"} <= rules and answer["waived"]  # the plan exercises them
    assert answer["checked"] == {"policies": 4, "unverifiable": 1}
    return answer


def test_main_rego_names_no_rule_package(compiled):
    _, tree = compiled
    main = tree.files["sesrego/main.rego"].decode()
    assert "ses_00" not in main and "Code generated" not in main  # hand-written, copied verbatim
    assert "data.sesrego.rules[name].findings" in main


def test_findings_are_every_rule_packages_findings(compiled, expected):
    program, tree = compiled
    engine = Engine(tree.files, data_document(tree.facts, _CONFIG))
    raw = json.dumps(_PLAN).encode()
    each = [item for rule in program.rules for item in engine.query(f"data.{rule.package}.findings", raw=raw)]
    waived = [item for rule in program.rules for item in engine.query(f"data.{rule.package}.waived", raw=raw)]
    engine.close()
    key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
    assert sorted(map(key, expected["findings"])) == sorted(map(key, each))
    assert sorted(map(key, expected["waived"])) == sorted(map(key, waived))


def test_a_rule_package_added_to_the_tree_is_aggregated(compiled, expected):
    _, tree = compiled
    extra = (b'package sesrego.rules.extra\n\nimport rego.v1\n\n'
             b'findings contains {"rule_id": "SES-999", "severity": "deny", "resource": "r", "attribute": "a"} '
             b'if count(input.resource_changes) > 0\n\nwaived := set()\n')
    answer = _answer({**tree.files, "sesrego/rules/extra/extra.rego": extra}, data_document(tree.facts, _CONFIG))
    added = [f for f in answer["findings"] if f not in expected["findings"]]
    assert [f["rule_id"] for f in added] == ["SES-999"]
    assert answer["report"]["deny"] == expected["report"]["deny"] + 1


@pytest.mark.parametrize("rules", [
    {"evil": {"findings": [_FAKE], "waived": [_FAKE]}},  # JSON holds no set: not a rule package's findings
    {"evil": {"findings": {"x": _FAKE}, "waived": _FAKE}},
    {"evil": [_FAKE], "other": "findings"},
    {"ses_001": {"extra": [_FAKE]}, "ses_007": {"note": 1}},  # beside a rule package's own rules
])
def test_data_under_data_sesrego_rules_changes_nothing(compiled, expected, rules):
    _, tree = compiled
    document = data_document(tree.facts, _CONFIG)
    document["sesrego"]["rules"] = rules
    assert _answer(tree.files, document) == expected


def test_data_in_place_of_a_rules_findings_is_refused_not_merged(compiled):
    _, tree = compiled
    document = data_document(tree.facts, _CONFIG)
    document["sesrego"]["rules"] = {"ses_001": {"findings": [_FAKE]}}
    with pytest.raises(EngineError, match="conflicting rule"):
        _answer(tree.files, document)
