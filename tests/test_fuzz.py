"""Property-based: any policy document, any plan around it, evaluates without a Rego error.

Strict built-in errors are on in the embedded engine, so a rule that could raise on odd input
fails here. Unreadable policies must yield SES-007, and findings must not depend on statement
order or on the case of condition keys.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import plan, resource

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.one_of(st.text(max_size=12), st.sampled_from(["*", "ses:*", "ses:Send*", "SES:SENDEMAIL", "ses:SendEmail",
                                                        "ses:Send?mail", "ses:SendCustomVerificationEmail",
                                                        "*@example.com", "ses:Recipients", "s3:*", "[", "{", "\\"]))
scalar = st.one_of(text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False))
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(text, inner, max_size=3)), max_leaves=12)
strings = st.one_of(text, st.lists(text, max_size=4))
condition = st.dictionaries(
    st.sampled_from(["ForAllValues:StringLike", "ForAnyValue:StringNotLike", "StringLike", "StringEquals",
                     "ForAnyValue:StringLike", "Null", "Bool"]),
    st.one_of(st.dictionaries(st.sampled_from(["ses:Recipients", "SES:recipients", "ses:ApiVersion",
                                               "aws:ResourceOrgID", "aws:PrincipalArn"]),
                              st.one_of(strings, st.integers(), st.booleans()), max_size=2), json_value),
    max_size=3)
statement = st.fixed_dictionaries({}, optional={
    "Sid": st.one_of(text, st.integers()), "Effect": st.sampled_from(["Allow", "Deny", "allow", 1]),
    "Action": st.one_of(strings, json_value), "NotAction": strings, "Resource": st.one_of(strings, json_value),
    "Principal": st.one_of(st.just("*"), st.dictionaries(st.just("AWS"), strings), json_value),
    "Condition": st.one_of(condition, json_value)})
document = st.one_of(
    st.fixed_dictionaries({"Version": st.just("2012-10-17"),
                           "Statement": st.one_of(statement, st.lists(statement, max_size=4))}),
    json_value)
policy_text = st.one_of(document.map(json.dumps), text, st.just("{"), st.just(""))
resource_type = st.sampled_from(["aws_iam_policy", "aws_iam_role_policy", "aws_ses_identity_policy",
                                 "aws_organizations_policy", "aws_iam_role"])


def _change(kind: str, policy: str, i: int) -> dict:
    if kind == "aws_organizations_policy":
        after = {"type": "SERVICE_CONTROL_POLICY", "content": policy}
    elif kind == "aws_iam_role":
        after = {"name": "r", "inline_policy": [{"name": "x", "policy": policy}]}
    else:
        after = {"policy": policy}
    return resource(f"{kind}.r{i}", kind, after)


@SETTINGS
@given(st.lists(st.tuples(resource_type, policy_text), min_size=1, max_size=4))
def test_any_policy_evaluates_and_unreadable_ones_are_ses_007(evaluate, policies):
    changes = [_change(kind, text_, i) for i, (kind, text_) in enumerate(policies)]
    result = evaluate(plan(*changes))
    flagged = {f["resource"] for f in result["findings"] if f["rule_id"] == "SES-007"}
    for i, (kind, text_) in enumerate(policies):
        try:
            decoded = json.loads(text_)
        except ValueError:
            decoded = None
        readable = isinstance(decoded, dict) and "Statement" in decoded
        if not readable:
            assert f"{kind}.r{i}" in flagged, text_


@SETTINGS
@given(st.lists(statement, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_findings_do_not_depend_on_statement_order(evaluate, statements, rnd):
    def findings(order):
        doc = json.dumps({"Version": "2012-10-17", "Statement": order})
        found = evaluate(plan(resource("aws_iam_policy.p", "aws_iam_policy", {"policy": doc})))["findings"]
        return sorted((f["rule_id"], json.dumps(f["actions"]), f["severity"]) for f in found)

    shuffled = list(statements)
    rnd.shuffle(shuffled)
    forward, backward = findings(statements), findings(shuffled)
    if any(f[0] == "SES-007" for f in forward):  # the first bad statement is named; the verdict is the same
        assert [f[0] for f in forward] == [f[0] for f in backward]
    else:
        assert forward == backward


@SETTINGS
@given(st.sampled_from(["ses:Recipients", "SES:RECIPIENTS", "Ses:recipients"]),
       st.sampled_from(["ForAllValues:StringLike", "StringLike", "ForAnyValue:StringNotLike"]),
       st.sampled_from(["Allow", "Deny"]))
def test_condition_key_case_does_not_matter(evaluate, key, operator, effect):
    def findings(name):
        statement = {"Effect": effect, "Action": "ses:SendEmail", "Resource": "*",
                     "Condition": {operator: {name: ["*@example.com"]}}}
        doc = json.dumps({"Statement": [statement]})
        found = evaluate(plan(resource("aws_iam_policy.p", "aws_iam_policy", {"policy": doc})))["findings"]
        return sorted(f["rule_id"] for f in found)

    assert findings(key) == findings("ses:Recipients")


@SETTINGS
@given(json_value)
def test_any_plan_document_evaluates(evaluate, value):
    for candidate in (value, {"format_version": "1.2", "resource_changes": value},
                      {"format_version": "1.2", "resource_changes": [value],
                       "configuration": value}):
        evaluate(candidate)
