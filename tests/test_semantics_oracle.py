"""The rules against an independent IAM simulator (tests/iam_oracle.py), on generated policies.

Soundness: whenever the simulator finds an escape (an untrusted recipient reached, a custom
verification email sent by a principal no exemption names), the rules report it: SES-001 or SES-002
on an Allow that grants the escaping request, SES-003 for verification email; for SCPs beside a
resource perimeter, SES-004 and SES-006. Precision: where the simulator proves that no escape is
possible, the rules report no SES-001, SES-003, SES-004, SES-005 or SES-006: the generators stay in
the classes the rules decide exactly (issue 10: ANDed conditions, exact and glob operators,
exemptions, resource scope, API versions, unconditional Denies, recipient patterns).
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import iam_oracle as oracle
from conftest import FIXTURES, identity, plan, scp

# SESREGO_ORACLE_EXAMPLES=5000 runs a deeper search locally; the suite keeps it small.
SETTINGS = settings(max_examples=int(os.environ.get("SESREGO_ORACLE_EXAMPLES", "70")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ACTIONS = ["ses:SendEmail", "ses:sendrawemail", "SES:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:Send*",
           "SES:SEND*", "ses:*", "*", "ses:Send?mail", "ses:*Email", "ses:SendCustomVerificationEmail",
           "s3:GetObject", "ses:Get*", "ses:CreateTemplate", "sesv2:SendEmail", "s*:Send*", "ses:Send*Email*",
           "*:SendEmail"]
RESOURCES = ["*", "arn:aws:ses:*:*:identity/*", "arn:aws:ses:*:*:*", "arn:*:ses:*:*:identity/*", "arn:aws:ses:*",
             "arn:aws:ses:us-east-1:111122223333:identity/example.com", "arn:aws:ses:*:111122223333:identity/*",
             "arn:aws:ses:us-east-1:*:identity/*", "arn:aws:ses:*:*:identity/example.com", "arn:aws:s3:::bucket/*",
             "arn:aws:ses:*:*:custom-verification-email-template/*", "arn:aws:ses:*:*:configuration-set/*"]
RECIPIENT_PATTERNS = ["*@example.com", "ops@example.com", "*@*.example.com", "*@example.org", "*@example.com*",
                      "*@example.*", "*@*example.com", "*@exampl?.com", "*example.com", "*@*.com", "*", "*@*",
                      "?*@example.com", "*@EXAMPLE.com", "ops@*"]
EXACT_ADDRESSES = ["ops@example.com", "OPS@example.com", "a@example.org"]

values = lambda options: st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True)  # noqa: E731

recipients_key = st.sampled_from(["ses:Recipients", "SES:recipients"])
recipient_condition = st.one_of(
    st.tuples(st.sampled_from(["ForAllValues:StringLike", "ForAnyValue:StringNotLike", "StringLike",
                               "ForAnyValue:StringLike", "ForAllValues:StringNotLike", "ForAllValues:StringLikeIfExists",
                               "ForAnyValue:StringNotLikeIfExists"]),
              recipients_key, values(RECIPIENT_PATTERNS)),
    st.tuples(st.sampled_from(["ForAllValues:StringEquals", "ForAllValues:StringEqualsIgnoreCase",
                               "ForAnyValue:StringNotEquals", "ForAnyValue:StringNotEqualsIgnoreCase"]),
              recipients_key, values(EXACT_ADDRESSES)),
    st.tuples(st.just("Null"), recipients_key, st.sampled_from(["true", "false"])),
)
version_condition = st.tuples(
    st.sampled_from(["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase",
                     "StringEqualsIfExists", "StringNotEqualsIfExists", "ForAnyValue:StringEquals"]),
    st.sampled_from(["ses:ApiVersion", "SES:apiversion"]), values(["1", "2", "*", "?"]))
principal_condition = st.one_of(
    st.builds(lambda operator, tag: (operator, *tag),
              st.sampled_from(["StringEquals", "StringNotEquals", "StringNotEqualsIfExists", "StringLike",
                               "StringNotLike", "StringEqualsIgnoreCase"]),
              st.sampled_from([("aws:PrincipalTag/team", ["interns"]),
                               ("aws:PrincipalTag/dp:exclude:resource", "true")])),
    st.tuples(st.sampled_from(["StringLike", "StringNotLike", "StringNotLikeIfExists"]),
              st.just("aws:PrincipalTag/team"), st.just("in*")),
    st.tuples(st.sampled_from(["ArnLike", "ArnNotLike", "ArnNotLikeIfExists", "StringNotLike", "ArnEquals"]),
              st.just("aws:PrincipalArn"), values(["arn:aws:iam::*:role/admin*", "arn:aws:iam::*:role/app"])),
    st.tuples(st.sampled_from(["StringEquals", "StringNotEquals"]), st.just("aws:PrincipalAccount"),
              values(["111122223333"])),
    st.just(("StringNotEquals", "aws:PrincipalOrgID", oracle.ORG)),
    st.just(("ForAnyValue:StringNotLike", "aws:PrincipalOrgPaths", [f"{oracle.ORG}/*"])),
    st.tuples(st.sampled_from(["Bool", "BoolIfExists"]), st.just("aws:PrincipalIsAWSService"),
              st.sampled_from(["false", False])),
)
other_condition = st.one_of(
    st.builds(lambda operator, pair: (operator, *pair), st.sampled_from(["StringEquals", "StringNotEquals"]),
              st.sampled_from([("aws:RequestedRegion", ["us-east-1"]), ("ses:FromAddress", ["noreply@example.com"])])),
    st.tuples(st.sampled_from(["StringLike", "StringNotLike"]), st.just("aws:RequestedRegion"), st.just("us-*")))
condition_part = st.one_of(recipient_condition, recipient_condition, version_condition, principal_condition,
                           other_condition)


def _condition(parts) -> dict:
    condition: dict = {}
    for operator, key, value in parts:
        keys = condition.setdefault(operator, {})
        if key.lower() not in {k.lower() for k in keys}:  # one key once per operator, as IAM requires
            keys[key] = value
    return condition


def _statement(effect, action_element, actions, resource_element, resources, parts) -> dict:
    statement = {"Effect": effect, action_element: actions if len(actions) > 1 else actions[0],
                 resource_element: resources if len(resources) > 1 else resources[0]}
    condition = _condition(parts)
    if condition:
        statement["Condition"] = condition
    return statement


statement = st.builds(
    _statement, st.sampled_from(["Allow", "Deny"]), st.sampled_from(["Action", "Action", "Action", "NotAction"]),
    values(ACTIONS), st.sampled_from(["Resource", "Resource", "Resource", "NotResource"]), values(RESOURCES),
    st.lists(condition_part, max_size=3))
deny = statement.map(lambda s: dict(s, Effect="Deny"))


def _with_sids(statements: list[dict]) -> list[dict]:
    return [dict(s, Sid=f"S{i}") for i, s in enumerate(statements)]


def _findings(evaluate, *changes) -> list[dict]:
    return evaluate(plan(*changes))["findings"]


def _conditions_on(statement: dict, prefix: str) -> int:
    return sum(1 for keys in statement.get("Condition", {}).values() for key in keys
               if key.lower().startswith(prefix))


_DENY_OPERATORS = {"ForAnyValue:StringNotLike", "ForAnyValue:StringNotEquals", "ForAnyValue:StringNotEqualsIgnoreCase",
                   "ForAnyValue:StringNotLikeIfExists", "Null"}


_ALLOW_OPERATORS = {"ForAllValues:StringLike", "ForAllValues:StringEquals", "ForAllValues:StringEqualsIgnoreCase",
                    "ForAllValues:StringLikeIfExists", "Null", "StringLike", "ForAnyValue:StringLike"}


def _other_keys(statements: list[dict]) -> set[str]:
    return {key.lower() for s in statements for keys in s.get("Condition", {}).values() for key in keys
            if not key.lower().startswith(("ses:recipients", "ses:apiversion", "aws:principal"))}


def _decidable(statements: list[dict]) -> bool:
    """Precision is claimed where no Allow ANDs two tests of one key, or two on the principal, which may
    contradict each other (the rules do not solve an Allow's conditions: they take it to grant what its
    actions, resources and API versions allow), and where a statement tests ses:Recipients with an
    operator meant for its effect (ForAllValues:StringLike ["*"] in a Deny holds for every request, and
    ForAnyValue:StringNotLike ["*"] in an Allow for none: tautologies the rules do not look for)."""
    def recipient_operators(statement):
        return {operator for operator, keys in statement.get("Condition", {}).items()
                for key in keys if key.lower() == "ses:recipients"}

    def one_test_per_key(statement):  # two tests of one key may contradict (ses:ApiVersion is solved)
        keys = [key.lower() for keys in statement.get("Condition", {}).values() for key in keys
                if key.lower() != "ses:apiversion"]
        return len(keys) == len(set(keys))

    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    # An Allow for some principals beside a Deny that selects or exempts principals: the Deny may hit or
    # spare exactly the Allow's grantees, which the rules do not work out.
    principals_on_both = any(_conditions_on(s, "aws:principal") for s in allows) and \
        any(_conditions_on(s, "aws:principal") for s in denies)
    # Likewise a Deny that tests another key an Allow tests: it may fire exactly where the Allow applies.
    others_on_both = bool(_other_keys(allows) & _other_keys(denies))
    # Denies that only cover everything together: one names what another's NotResource leaves, or they
    # test one key both ways (ses:FromAddress equal to a value, and not equal to it).
    joint_resources = len(denies) > 1 and any(
        not str(p).startswith("arn:aws:s3") for s in denies for p in oracle._as_list(s.get("NotResource", [])))
    other_keys = [key for s in denies for key in _other_keys([s])]
    joint_conditions = len(other_keys) != len(set(other_keys))
    # A statement that tests the region beside a Resource that names one: the request's region is the ARN's.
    region_against_arn = any("aws:requestedregion" in {k.lower() for k in keys}
                             for s in statements for keys in s.get("Condition", {}).values())
    return (all(_conditions_on(s, "aws:principal") <= 1 and one_test_per_key(s) for s in allows)
            and all(recipient_operators(s) <= _DENY_OPERATORS for s in denies)
            and all(recipient_operators(s) <= _ALLOW_OPERATORS for s in allows)
            and not (principals_on_both or others_on_both or joint_resources or joint_conditions
                     or region_against_arn))


@SETTINGS
@given(st.lists(statement, min_size=1, max_size=4))
def test_identity_policies_agree_with_the_simulator(evaluate, statements):
    statements = _with_sids(statements)
    findings = _findings(evaluate, identity("aws_iam_policy.p", *statements))
    flagged = {(f["rule_id"], f["statement"]) for f in findings}
    by_rule = {rule for rule, _ in flagged}

    escape = oracle.send_escape(statements)
    if escape:  # soundness: an Allow that grants the escaping request is reported
        reported = {sid for rule, sid in flagged if rule in ("SES-001", "SES-002")}
        assert reported & {f"S{i}" for i in escape.allows}, (escape.request, findings)
        ses_001 = [f for f in findings if f["rule_id"] == "SES-001" and f["statement"] in
                   {f"S{i}" for i in escape.allows}]
        if ses_001 and not any(f["rule_id"] == "SES-002" and f["statement"] in {f"S{i}" for i in escape.allows}
                               for f in findings):
            assert any(escape.request.action in f["actions"] for f in ses_001), (escape.request, findings)
    elif _decidable(statements):  # precision: nothing can reach an untrusted recipient
        assert "SES-001" not in by_rule, findings

    verify = oracle.verify_escape(statements)
    if verify:
        assert {("SES-003", f"S{i}") for i in verify.allows} & flagged, (verify.request, findings)
    elif _decidable(statements):
        assert "SES-003" not in by_rule, findings


def _perimeter() -> dict:
    return scp("aws_organizations_policy.perimeter", (FIXTURES / "policies" / "resource_perimeter_scp.json").read_text())


@SETTINGS
@given(st.lists(deny, min_size=1, max_size=4))
def test_scps_agree_with_the_simulator(evaluate, statements):
    statements = _with_sids(statements)
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    findings = _findings(evaluate, _perimeter(), scp("aws_organizations_policy.ses", document))
    by_rule = {f["rule_id"] for f in findings}

    if oracle.send_escape(statements, scp=True):
        assert "SES-004" in by_rule, findings
    elif _decidable(statements):
        assert not {"SES-004", "SES-005"} & by_rule, findings

    if oracle.verify_escape(statements, scp=True):
        assert "SES-006" in by_rule, findings
    elif _decidable(statements):
        assert "SES-006" not in by_rule, findings
