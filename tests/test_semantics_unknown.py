"""Verdicts that hold for every value of the unknowns (issue 11 §2), through the compiled Rego.

Inputs are plan-shaped, with the documented extension (docs/plan-extension.md): a marked document in
resource_changes[].sesrego.documents, after_unknown marks in a deferred aws_iam_policy_document, and
input.sesrego.unread. A finding is reported when it holds whatever the unknowns are, none when it holds
for none of them, and SES-007 (naming the undecided statement, actions, rules and expressions) only when
the verdict depends on them.
"""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, identity, plan, policy_json, resource, scp

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
TRUSTED = {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}}
GUARD = {"Sid": "Guard", "Effect": "Deny", "Action": "ses:Send*", "Resource": "*",
         "Condition": {"ForAnyValue:StringNotLike": {"ses:Recipients": ["*@example.com"]}}}


def unknown(*expressions, like=None) -> dict:
    marker = {"$unknown": sorted(expressions)}
    if like:
        marker["like"] = like
    return marker


def marked(address, *statements, resource_type="aws_iam_policy", attribute="policy", after=None, **extension):
    """A resource change whose policy string is unknown, with its marked document."""
    change = resource(address, resource_type, after if after is not None else {"name": address.split(".")[-1]},
                      unknown={attribute: True})
    change["sesrego"] = {"documents": {attribute: {"Version": "2012-10-17", "Statement": list(statements)}},
                         **extension}
    return change


def findings(evaluate, *changes, config=None, configuration=None, document=None) -> list[dict]:
    input_ = plan(*changes, configuration=configuration)
    if document:
        input_.update(document)
    return sorted(evaluate(input_, config)["findings"], key=lambda f: (f["rule_id"], f["resource"]))


def verdicts(evaluate, *changes, **kwargs) -> set[tuple[str, object]]:
    return {(f["rule_id"], f["statement"]) for f in findings(evaluate, *changes, **kwargs)}


# --- decided whatever the unknown is -----------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    dict(SEND, Resource=unknown("var.identity_arn")),
    dict(SEND, Resource=[unknown("var.identity_arn")]),
    dict(SEND, Resource=unknown("var.account", like="arn:aws:ses:*:*:identity/*")),
    dict(SEND, Condition={"StringEquals": {"ses:FromAddress": unknown("var.from")}}),
    dict(SEND, Condition={"StringEquals": {"aws:RequestedRegion": [unknown("var.region")]}}),
    dict(SEND, Sid=unknown("var.sid")),
])
def test_a_finding_that_holds_for_every_value_is_reported(evaluate, statement):
    result = findings(evaluate, marked("aws_iam_policy.p", statement))
    assert [(f["rule_id"], f["actions"]) for f in result] == [("SES-001", ["ses:SendEmail"])]


def test_a_deny_on_a_principal_selection_is_no_guard_whatever_the_value(evaluate):
    deny = {"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalArn": unknown("var.admin_arn")}}}
    assert verdicts(evaluate, marked("aws_iam_policy.p", SEND, deny)) == {("SES-001", "Send")}


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": unknown("var.bucket")},
    {"Effect": unknown("var.effect"), "Action": "s3:*", "Resource": "*", "Condition": unknown("var.condition")},
    {"Effect": "Allow", "Action": [unknown("var.action", like="s3:*")], "Resource": "*"},
    dict(SEND, Resource=unknown("var.bucket", like="arn:aws:s3:::*")),
    dict(SEND, Resource=unknown("var.identity_arn"), Condition=TRUSTED),
    dict(SEND, Condition={"ForAllValues:StringLike": {"ses:Recipients": [unknown("var.user", like="*@example.com")]}}),
    dict(SEND, Condition={"StringEquals": {"ses:ApiVersion": "*"}, "StringLike": {"ses:FromAddress": unknown("x")}}),
])
def test_no_finding_when_none_is_possible(evaluate, statement):
    assert findings(evaluate, marked("aws_iam_policy.p", statement)) == []


def test_an_unknown_deny_beside_a_certain_guard_changes_nothing(evaluate):
    maybe = dict(GUARD, Sid="Maybe", Condition={"StringEquals": {"aws:RequestedRegion": unknown("var.region")}})
    assert findings(evaluate, marked("aws_iam_policy.p", SEND, GUARD, maybe)) == []


# --- undecided: SES-007 names what it depends on ---------------------------------------------------------

@pytest.mark.parametrize("statement,rules,actions", [
    (dict(SEND, Action=["s3:GetObject", unknown("var.action")]), "SES-001, SES-003",
     ["ses:SendBulkTemplatedEmail", "ses:SendCustomVerificationEmail", "ses:SendEmail", "ses:SendRawEmail",
      "ses:SendTemplatedEmail"]),
    (dict(SEND, Action=unknown("var.action", like="ses:SendT*")), "SES-001", ["ses:SendTemplatedEmail"]),
    (dict(SEND, Condition={"ForAllValues:StringLike": {"ses:Recipients": unknown("var.action")}}), "SES-002",
     ["ses:SendEmail"]),
    (dict(SEND, Condition={"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com", unknown("var.action")]}}),
     "SES-002", ["ses:SendEmail"]),
    (dict(SEND, Effect=unknown("var.action")), "SES-001", ["ses:SendEmail"]),
    (dict(SEND, Condition=unknown("var.action")), "SES-001, SES-002", ["ses:SendEmail"]),
    (dict(SEND, Condition={"StringEquals": {"ses:ApiVersion": unknown("var.action")}}), "SES-001", ["ses:SendEmail"]),
    ({"Sid": "Send", "Effect": "Allow", "NotAction": ["s3:*", unknown("var.action")], "Resource": "*"},
     "SES-001, SES-003", ["ses:SendBulkTemplatedEmail", "ses:SendCustomVerificationEmail", "ses:SendEmail",
                          "ses:SendRawEmail", "ses:SendTemplatedEmail"]),
])
def test_ses_007_names_the_statement_actions_rules_and_expressions(evaluate, statement, rules, actions):
    explain = {"var.action": "a root module variable with no value: give it one with --var action=VALUE"}
    result = findings(evaluate, marked("aws_iam_policy.p", statement, explain=explain))
    assert len(result) == 1
    finding = result[0]
    assert (finding["rule_id"], finding["statement"], finding["actions"]) == ("SES-007", "Send", actions)
    assert finding["policy_kind"] == "identity" and finding["attribute"] == "policy"
    assert f"cannot be verified: {rules} " in finding["msg"]
    assert "var.action (var.action: a root module variable with no value" in finding["msg"]


def test_an_unknown_deny_that_may_guard_leaves_the_allow_undecided(evaluate):
    maybe = dict(GUARD, Condition={"ForAnyValue:StringNotLike": {"ses:Recipients": unknown("var.domains")}})
    result = findings(evaluate, marked("aws_iam_policy.p", SEND, maybe))
    assert [(f["rule_id"], f["statement"]) for f in result] == [("SES-007", None)]  # two undecided statements
    assert "SES-001, SES-002 depend on var.domains" in result[0]["msg"]
    scoped = dict(GUARD, Resource=unknown("var.identity_arn"))
    assert [f["rule_id"] for f in findings(evaluate, marked("aws_iam_policy.p", SEND, scoped))] == ["SES-007"]


def test_an_unknown_deny_in_another_inline_policy_of_the_role_leaves_it_undecided(evaluate):
    allow = resource("aws_iam_role_policy.send", "aws_iam_role_policy",
                     {"name": "send", "role": "app", "policy": policy_json(SEND)})
    maybe = marked("aws_iam_role_policy.guard", dict(GUARD, Effect=unknown("var.effect")),
                   resource_type="aws_iam_role_policy", after={"name": "guard", "role": "app"})
    result = findings(evaluate, allow, maybe)
    # The unknown statement may also be an Allow of its own (with an ineffective condition).
    assert [(f["rule_id"], f["resource"], f["statement"]) for f in result] == [
        ("SES-007", "aws_iam_role_policy.guard", "Guard"), ("SES-007", "aws_iam_role_policy.send", "Send")]
    assert "SES-001 depends on var.effect" in result[1]["msg"]
    other_role = marked("aws_iam_role_policy.guard", dict(GUARD, Effect=unknown("var.effect")),
                        resource_type="aws_iam_role_policy", after={"name": "guard", "role": "other"})
    assert [(f["rule_id"], f["resource"]) for f in findings(evaluate, allow, other_role)] == [
        ("SES-001", "aws_iam_role_policy.send"), ("SES-007", "aws_iam_role_policy.guard")]


def test_a_document_unknown_as_a_whole_is_ses_007(evaluate):
    change = resource("aws_iam_policy.p", "aws_iam_policy", {"name": "p"}, unknown={"policy": True})
    change["sesrego"] = {"documents": {"policy": {"Version": "2012-10-17", "Statement": unknown("local.s")}},
                         "explain": {"local.s": "built from a module output"}}
    result = findings(evaluate, change)
    assert [(f["rule_id"], f["statement"]) for f in result] == [("SES-007", None)]
    assert "its statements depend on local.s (local.s: built from a module output)" in result[0]["msg"]


def test_a_statement_unknown_as_a_whole_may_be_anything(evaluate):
    result = findings(evaluate, marked("aws_iam_policy.p", unknown("var.statement")))
    assert [(f["rule_id"], f["statement"]) for f in result] == [("SES-007", 0)]
    assert "SES-001, SES-002, SES-003 depend on var.statement" in result[0]["msg"]


def test_evaluated_from_and_certain_findings_beside_undecided_ones(evaluate):
    change = marked("aws_iam_policy.p", SEND, dict(SEND, Sid="Other", Action=unknown("var.action")),
                    evaluated_from={"policy": "data.aws_iam_policy_document.send"})
    result = findings(evaluate, change)
    assert [(f["rule_id"], f["statement"]) for f in result] == [("SES-001", "Send"), ("SES-007", "Other")]
    assert all(f["evaluated_from"] == "data.aws_iam_policy_document.send" for f in result)


def test_resource_policy_principals_unknown(evaluate):
    verify = {"Sid": "Verify", "Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*",
              "Principal": {"AWS": [unknown("var.partner")]}}
    change = marked("aws_ses_identity_policy.s", verify, resource_type="aws_ses_identity_policy")
    admins = {"administrators": ["arn:aws:iam::*:role/admin"]}
    assert [f["rule_id"] for f in findings(evaluate, change)] == ["SES-003"]  # no administrator configured
    assert [f["rule_id"] for f in findings(evaluate, change, config=admins)] == ["SES-007"]
    known = dict(verify, Principal={"AWS": ["arn:aws:iam::111122223333:root", unknown("var.partner")]})
    changed = marked("aws_ses_identity_policy.s", known, resource_type="aws_ses_identity_policy")
    assert [f["rule_id"] for f in findings(evaluate, changed, config=admins)] == ["SES-003"]


# --- the deferred aws_iam_policy_document fallback ------------------------------------------------------

def _deferred(block, block_unknown, **after):
    return resource("data.aws_iam_policy_document.d", "aws_iam_policy_document", {"statement": [block], **after},
                    unknown={"json": True, "statement": [block_unknown]}, actions=("read",), mode="data")


_POLICY = resource("aws_iam_policy.p", "aws_iam_policy", {"name": "p"}, unknown={"policy": True})
_CONFIGURATION = {"root_module": {"resources": [
    {"address": "aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy", "name": "p",
     "expressions": {"policy": {"references": ["data.aws_iam_policy_document.d.json",
                                               "data.aws_iam_policy_document.d"]}}},
    {"address": "data.aws_iam_policy_document.d", "mode": "data", "type": "aws_iam_policy_document", "name": "d",
     "expressions": {"statement": [{"actions": {"references": ["var.actions"]},
                                    "resources": {"references": ["aws_ses_domain_identity.d.arn",
                                                                 "aws_ses_domain_identity.d"]}}]}}]}}
_BLOCK = {"sid": "", "effect": "Allow", "actions": ["ses:SendEmail"], "not_actions": None, "resources": ["*"],
          "not_resources": None, "principals": [], "not_principals": [], "condition": []}


@pytest.mark.parametrize("block,block_unknown,expected,expression", [
    (dict(_BLOCK, resources=None), {"resources": True}, "SES-001", None),
    (dict(_BLOCK, resources=[None]), {"resources": [True]}, "SES-001", None),
    (dict(_BLOCK, actions=None), {"actions": True}, "SES-007", "var.actions"),
    (dict(_BLOCK, actions=["s3:GetObject", None]), {"actions": [False, True]}, "SES-007", "var.actions"),
    (dict(_BLOCK, effect=None), {"effect": True}, "SES-007", "data.aws_iam_policy_document.d.statement[0].effect"),
    (dict(_BLOCK, condition=[{"test": "ForAllValues:StringLike", "variable": "ses:Recipients", "values": [None]}]),
     {"condition": [{"values": [True]}]}, "SES-007", "statement[0].condition[0].values"),
    (dict(_BLOCK, condition=[{"test": "StringEquals", "variable": "ses:FromAddress", "values": [None]}]),
     {"condition": [{"values": [True]}]}, "SES-001", None),
    (dict(_BLOCK, actions=["s3:GetObject"], resources=None), {"resources": True}, None, None),
])
def test_deferred_documents_mark_their_unknown_leaves(evaluate, block, block_unknown, expected, expression):
    result = findings(evaluate, _deferred(block, block_unknown), _POLICY, configuration=_CONFIGURATION)
    assert [f["rule_id"] for f in result] == ([expected] if expected else [])
    if expected:
        assert result[0]["evaluated_from"] == "data.aws_iam_policy_document.d"
    if expression:
        assert expression in result[0]["msg"]


def test_the_reader_names_the_expression_of_a_deferred_leaf(evaluate):
    document = _deferred(dict(_BLOCK, actions=None), {"actions": True})
    document["sesrego"] = {"unresolved": {"statement[0].actions": "local.actions"},
                           "explain": {"local.actions": "depends on var.actions, which has no value"}}
    result = findings(evaluate, document, _POLICY, configuration=_CONFIGURATION)
    assert [f["rule_id"] for f in result] == ["SES-007"] and "depend on local.actions" in result[0]["msg"]


# --- organization policies --------------------------------------------------------------------------------

def _perimeter() -> dict:
    return scp("aws_organizations_policy.perimeter", (FIXTURES / "policies" / "resource_perimeter_scp.json").read_text())


def _ses_scp(**edits) -> str:
    document = json.loads((FIXTURES / "policies" / "restrict_untrusted_endpoints_scp.json").read_text()
                          .replace("<trusted_email_domain>", "example.com"))
    return json.dumps(document)


def test_an_scp_guard_with_unknown_values_leaves_ses_004_undecided(evaluate):
    guard = dict(GUARD, Condition={"ForAnyValue:StringNotLike": {"ses:Recipients": unknown("var.domains")}})
    change = marked("aws_organizations_policy.ses", guard, resource_type="aws_organizations_policy",
                    attribute="content", after={"name": "ses", "type": "SERVICE_CONTROL_POLICY"})
    result = findings(evaluate, _perimeter(), change)
    assert [(f["rule_id"], f["resource"]) for f in result] == [
        ("SES-006", "aws_organizations_policy.perimeter"), ("SES-007", "aws_organizations_policy.ses")]
    assert result[1]["policy_kind"] == "scp" and "SES-002, SES-004 depend on var.domains" in result[1]["msg"]


def test_an_scp_guard_that_no_value_makes_a_guard_decides(evaluate):
    guard = dict(GUARD, Condition={"StringEquals": {"aws:RequestedRegion": unknown("var.region")}})
    change = marked("aws_organizations_policy.ses", guard, resource_type="aws_organizations_policy",
                    attribute="content", after={"name": "ses", "type": "SERVICE_CONTROL_POLICY"})
    assert {f["rule_id"] for f in findings(evaluate, _perimeter(), change)} == {"SES-004", "SES-006"}


_VERIFICATION_DENY = {"Sid": "Verify", "Effect": "Deny", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}


@pytest.mark.parametrize("statements,undecided,sid", [
    ([dict(GUARD, Resource=unknown("var.r")), _VERIFICATION_DENY], "SES-004 depends on var.r", "Guard"),
    ([GUARD, dict(_VERIFICATION_DENY, Effect=unknown("var.e"))], "SES-006 depends on var.e", "Verify"),
    ([dict(GUARD, Condition={**GUARD["Condition"], "StringEquals": {"ses:ApiVersion": unknown("var.v")}}),
      _VERIFICATION_DENY], "SES-004, SES-005 depend on var.v", "Guard"),
])
def test_scp_verdicts_left_undecided_name_the_statement_and_only_rules_that_can_report(evaluate, statements,
                                                                                       undecided, sid):
    change = marked("aws_organizations_policy.ses", *statements, resource_type="aws_organizations_policy",
                    attribute="content", after={"name": "ses", "type": "SERVICE_CONTROL_POLICY"})
    [result] = findings(evaluate, _perimeter(), change)
    assert result["rule_id"] == "SES-007" and undecided in result["msg"] and result["statement"] == sid
    # Attested SCPs turn SES-004 and SES-006 off: no value of the unknowns can then report them.
    attested = findings(evaluate, _perimeter(), change, config={"scp_attested": True})
    rules = [rule for rule in ("SES-004", "SES-005", "SES-006") for f in attested if rule in f["msg"]]
    assert rules == (["SES-005"] if "SES-005" in undecided else []), attested


def test_each_uncertain_scp_is_named_only_for_the_verdicts_its_statements_may_change(evaluate):
    def ses_scp(address, *statements):
        return marked(address, *statements, resource_type="aws_organizations_policy", attribute="content",
                      after={"name": address.split(".")[1], "type": "SERVICE_CONTROL_POLICY"})
    verification = ses_scp("aws_organizations_policy.a", dict(_VERIFICATION_DENY, Effect=unknown("var.e")))
    recipients = ses_scp("aws_organizations_policy.b", dict(GUARD, Resource=unknown("var.r")))
    result = {f["resource"]: f for f in findings(evaluate, _perimeter(), verification, recipients)}
    assert {address: f["rule_id"] for address, f in result.items()} == {
        "aws_organizations_policy.a": "SES-007", "aws_organizations_policy.b": "SES-007"}
    assert "SES-006 depends on var.e" in result["aws_organizations_policy.a"]["msg"]
    assert result["aws_organizations_policy.a"]["actions"] == ["ses:SendCustomVerificationEmail"]
    assert "SES-004 depends on var.r" in result["aws_organizations_policy.b"]["msg"]
    assert "ses:SendCustomVerificationEmail" not in result["aws_organizations_policy.b"]["actions"]
    # A guard limited to one API version with an unknown resource leaves its own SES-005 undecided.
    v1_only = ses_scp("aws_organizations_policy.c", dict(GUARD, Resource=unknown("var.r"), Condition={
        **GUARD["Condition"], "StringEquals": {"ses:ApiVersion": "1"}}))
    [undecided] = [f for f in findings(evaluate, v1_only) if f["rule_id"] == "SES-007"]
    assert "SES-005 depends on var.r" in undecided["msg"] and undecided["actions"] == ["ses:SendEmail"]


def test_an_organization_policy_of_unknown_type_may_be_an_scp(evaluate):
    def unknown_type(content):
        change = resource("aws_organizations_policy.x", "aws_organizations_policy", {"name": "x", "content": content},
                          unknown={"type": True})
        change["sesrego"] = {"unresolved": {"type": "var.policy_type"}}
        return change
    controls = unknown_type(_ses_scp())
    result = findings(evaluate, _perimeter(), controls)
    assert [(f["rule_id"], f["resource"]) for f in result] == [("SES-007", "aws_organizations_policy.x")]
    assert "SES-004, SES-006 depend on var.policy_type" in result[0]["msg"]
    unrelated = unknown_type(policy_json({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}))
    assert {f["rule_id"] for f in findings(evaluate, _perimeter(), unrelated)} == {"SES-004", "SES-006"}
    as_perimeter = unknown_type((FIXTURES / "policies" / "resource_perimeter_scp.json").read_text())
    assert [f["rule_id"] for f in findings(evaluate, as_perimeter)] == ["SES-007"]
    unknown_content = resource("aws_organizations_policy.x", "aws_organizations_policy", {"name": "x"},
                               unknown={"type": True, "content": True})
    assert [f["rule_id"] for f in findings(evaluate, unknown_content)] == ["SES-007"]


def test_a_resource_control_policy_never_gets_ses_007(evaluate):
    rcp = resource("aws_organizations_policy.r", "aws_organizations_policy",
                   {"name": "r", "type": "RESOURCE_CONTROL_POLICY"}, unknown={"content": True})
    assert findings(evaluate, rcp) == []
    invalid = scp("aws_organizations_policy.r", "{not json", kind="RESOURCE_CONTROL_POLICY")
    assert findings(evaluate, invalid) == []


# --- configuration that could not be read ------------------------------------------------------------------

def test_unread_configuration_is_ses_007_of_kind_unknown(evaluate):
    reason = "module source not installed: run `terraform init`, or scan the plan"
    result = findings(evaluate, identity("aws_iam_policy.q", dict(SEND, Condition=TRUSTED)),
                      document={"sesrego": {"unread": [{"address": "module.ses", "resource_type": "module",
                                                        "reason": reason}]}})
    assert [(f["rule_id"], f["resource"], f["resource_type"], f["policy_kind"], f["statement"]) for f in result] == [
        ("SES-007", "module.ses", "module", "unknown", None)]
    assert reason in result[0]["msg"]


# --- fully known policies never take the marked path ---------------------------------------------------------

def test_a_policy_string_holding_a_marker_is_an_invalid_policy(evaluate):
    change = identity("aws_iam_policy.p", dict(SEND, Action=[{"$unknown": ["var.x"]}]))
    result = findings(evaluate, change)
    assert [f["rule_id"] for f in result] == ["SES-007"] and "not an IAM policy" in result[0]["msg"]


def test_known_statements_of_a_marked_document_are_judged_as_known(evaluate):
    change = marked("aws_iam_policy.p", GUARD, SEND, {"Effect": "Allow", "Action": "s3:*", "Resource": unknown("x")})
    assert findings(evaluate, change) == []


# --- every value: the marked verdicts against the verdicts of each instantiation ---------------------------

import itertools  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from test_semantics_oracle import statement as concrete_statement  # noqa: E402

_VALUES = {
    "Effect": ["Allow", "Deny"],
    "Action": ["ses:SendEmail", "s3:GetObject", "ses:*", "ses:SendCustomVerificationEmail"],
    "Resource:Allow": ["*", "arn:aws:ses:*:*:*"],  # an unknown Resource in an Allow matches what it needs
    "Resource:Deny": ["*", "arn:aws:s3:::bucket", "arn:aws:ses:us-east-1:111122223333:identity/example.com"],
    "ses:recipients": ["*@example.com", "*"],
    "ses:apiversion": ["1", "2", "*"],
}


def _positions(statement: dict) -> list[tuple]:
    """Where a marker may go: the Effect, an Action element, the Resource, one condition key's values."""
    out = [("Effect",)]
    if "Action" in statement:
        out.append(("Action",))
    if "Resource" in statement:
        out.append(("Resource",))
    for operator, keys in statement.get("Condition", {}).items():
        for key in keys:
            out.append(("Condition", operator, key))
    return out


def _values(statement: dict, position: tuple) -> list:
    if position[0] == "Effect":
        return _VALUES["Effect"]
    if position[0] == "Action":
        return _VALUES["Action"]
    if position[0] == "Resource":
        return _VALUES["Resource:" + statement["Effect"]] if statement["Effect"] in ("Allow", "Deny") else ["*"]
    key = position[2].lower()
    original = statement["Condition"][position[1]][position[2]]
    return _VALUES.get(key, [original, "other-value"])


def _set(statement: dict, position: tuple, value) -> dict:
    changed = json.loads(json.dumps(statement))
    if position[0] == "Condition":
        changed["Condition"][position[1]][position[2]] = value
    elif position[0] == "Action":
        changed["Action"] = [value]
    else:
        changed[position[0]] = value
    return changed


@st.composite
def _marked_policies(draw):
    statements = draw(st.lists(concrete_statement, min_size=1, max_size=3))
    statements = [dict(s, Sid=f"S{i}") for i, s in enumerate(statements)]
    choices = [(i, p) for i, s in enumerate(statements) for p in _positions(s)]
    marks = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique=True))
    # An unknown Effect makes the Resource's value domain depend on it: leave the Resource known then.
    marks = [(i, p) for i, p in marks if not (p == ("Resource",) and (i, ("Effect",)) in marks)]
    return statements, marks


@settings(max_examples=int(__import__("os").environ.get("SESREGO_ORACLE_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_marked_policies())
def test_marked_verdicts_hold_for_every_instantiation(evaluate, case):
    statements, marks = case
    document = [dict(s) for s in statements]
    for n, (i, position) in enumerate(marks):
        document[i] = _set(document[i], position, unknown(f"var.v{n}"))
    marked_findings = findings(evaluate, marked("aws_iam_policy.p", *document))
    certain = {(f["rule_id"], f["statement"]) for f in marked_findings if f["rule_id"] != "SES-007"}
    undecided_rules = {rule for f in marked_findings if f["rule_id"] == "SES-007"
                       for rule in ("SES-001", "SES-002", "SES-003") if rule in f["msg"]}

    domains = [_values(statements[i], position) for i, position in marks]
    for values in itertools.product(*domains):
        instance = [dict(s) for s in statements]
        for (i, position), value in zip(marks, values):
            instance[i] = _set(instance[i], position, value)
        reported = {(f["rule_id"], f["statement"]) for f in findings(evaluate, identity("aws_iam_policy.p", *instance))}
        # A certain finding holds for this value too; a verdict left decided (no finding, no SES-007) too.
        assert certain <= reported, (values, instance, marked_findings)
        for rule, sid in reported:
            if rule in ("SES-001", "SES-002", "SES-003"):
                assert (rule, sid) in certain or rule in undecided_rules, (values, instance, marked_findings)


@settings(max_examples=int(__import__("os").environ.get("SESREGO_ORACLE_EXAMPLES", "20")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_marked_policies())
def test_marked_scp_verdicts_hold_for_every_instantiation(evaluate, case):
    statements, marks = case
    statements = [dict(s, Effect="Deny") for s in statements]
    marks = [(i, p) for i, p in marks if p != ("Effect",)] or [(0, ("Effect",))]
    document = [dict(s) for s in statements]
    for n, (i, position) in enumerate(marks):
        document[i] = _set(document[i], position, unknown(f"var.v{n}"))
    change = marked("aws_organizations_policy.ses", *document, resource_type="aws_organizations_policy",
                    attribute="content", after={"name": "ses", "type": "SERVICE_CONTROL_POLICY"})
    marked_findings = findings(evaluate, _perimeter(), change)
    certain = {f["rule_id"] for f in marked_findings if f["rule_id"] in ("SES-004", "SES-005", "SES-006")}
    undecided = {rule for f in marked_findings if f["rule_id"] == "SES-007"
                 for rule in ("SES-004", "SES-005", "SES-006") if rule in f["msg"]}

    domains = [_values(statements[i], position) for i, position in marks]
    for values in itertools.product(*domains):
        instance = [dict(s) for s in statements]
        for (i, position), value in zip(marks, values):
            instance[i] = _set(instance[i], position, value)
        content = json.dumps({"Version": "2012-10-17", "Statement": instance})
        reported = {f["rule_id"] for f in findings(evaluate, _perimeter(), scp("aws_organizations_policy.ses", content))}
        assert certain <= reported, (values, instance, marked_findings)
        assert reported & {"SES-004", "SES-005", "SES-006"} <= certain | undecided, (values, instance, marked_findings)


# --- principals named only during apply (SES-003) -------------------------------------------------

VERIFY = {"Sid": "Verify", "Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}
ADMINS = {"administrators": ["arn:aws:iam::*:role/admin-*", "aws_iam_role.ops"]}


def _configured(address, **references) -> dict:
    resource_type, name = address.split(".")
    return {"address": address, "mode": "managed", "type": resource_type, "name": name,
            "expressions": {key: {"references": value} for key, value in references.items()}}


def _unnamed_role(address="aws_iam_role.r", **after) -> dict:
    return resource(address, "aws_iam_role", {"name_prefix": "admin-", "path": "/", **after},
                    unknown={"name": True, "arn": True, "id": True, "unique_id": True})


_ROLE_POLICY = resource("aws_iam_role_policy.p", "aws_iam_role_policy",
                        {"name": "p", "policy": policy_json(VERIFY)}, unknown={"role": True})
_MANAGED = resource("aws_iam_policy.m", "aws_iam_policy", {"name": "m", "path": "/", "policy": policy_json(VERIFY)},
                    unknown={"arn": True})
_ATTACHMENT = resource("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment", {},
                       unknown={"role": True, "policy_arn": True})


@pytest.mark.parametrize("changes,configured,expression", [
    ([_unnamed_role(inline_policy=[{"name": "i", "policy": policy_json(VERIFY)}])], [], "aws_iam_role.r.name"),
    ([_unnamed_role(), _ROLE_POLICY],
     [_configured("aws_iam_role_policy.p", role=["aws_iam_role.r.id", "aws_iam_role.r"])], "aws_iam_role.r.name"),
    ([_ROLE_POLICY], [], "aws_iam_role_policy.p.role"),
    ([_unnamed_role(), _MANAGED, _ATTACHMENT],
     [_configured("aws_iam_role_policy_attachment.a", role=["aws_iam_role.r.name", "aws_iam_role.r"],
                  policy_arn=["aws_iam_policy.m.arn", "aws_iam_policy.m"])], "aws_iam_role.r.name"),
    ([_MANAGED, _ATTACHMENT],
     [_configured("aws_iam_role_policy_attachment.a", role=["var.role"],
                  policy_arn=["aws_iam_policy.m.arn", "aws_iam_policy.m"])], "aws_iam_role_policy_attachment.a.role"),
])
def test_a_principal_named_only_during_apply_may_be_an_administrator(evaluate, changes, configured, expression):
    configuration = {"root_module": {"resources": configured}}
    result = findings(evaluate, *changes, config=ADMINS, configuration=configuration)
    assert [f["rule_id"] for f in result] == ["SES-007"], result
    assert "SES-003 depends on" in result[0]["msg"] and expression in result[0]["msg"]
    assert result[0]["statement"] == "Verify" and result[0]["actions"] == ["ses:SendCustomVerificationEmail"]
    # Without administrators configured no principal is one, whatever its name.
    assert {f["rule_id"] for f in findings(evaluate, *changes, configuration=configuration)} == {"SES-003"}


def test_a_principal_named_only_during_apply_is_an_administrator_by_its_address(evaluate):
    role = _unnamed_role("aws_iam_role.ops", inline_policy=[{"name": "i", "policy": policy_json(VERIFY)}])
    assert findings(evaluate, role, config=ADMINS) == []
    other = resource("aws_iam_role.app", "aws_iam_role", {"name": "app", "inline_policy": [
        {"name": "i", "policy": policy_json(VERIFY)}]})
    assert verdicts(evaluate, other, config=ADMINS) == {("SES-003", "Verify")}
