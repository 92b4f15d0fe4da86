"""Edge cases of the IAM-exact verdicts (issue 10) found in review, both sides, through the compiled Rego."""

from __future__ import annotations

import pytest

from conftest import plan, policy_json, resource
from test_semantics import GUARD, SEND, UNTRUSTED, _perimeter, _reference, found, policy, rules, with_condition

IDENTITY = "arn:aws:ses:us-east-1:111122223333:identity/example.com"


# --- A3: a negated principal condition whose values match every principal exempts everyone -----------------

@pytest.mark.parametrize("everyone", [
    {"StringNotLike": {"aws:PrincipalArn": "*"}},
    {"StringNotLikeIfExists": {"aws:PrincipalArn": ["arn:aws:iam::*:role/admin", "*"]}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:*:iam::*:*"}},
    {"ArnNotEquals": {"aws:PrincipalArn": "*"}},
    {"StringNotLike": {"aws:PrincipalAccount": "*"}},
    {"StringNotLike": {"aws:PrincipalAccount": "????????????"}},
    {"StringNotLike": {"aws:userid": "*"}},
])
def test_an_exemption_of_every_principal_is_no_control(evaluate, everyone):
    assert "SES-001" in rules(evaluate, policy(SEND, with_condition(GUARD, **everyone)))
    scps = _reference(PreventUntrustedSESv1Emails=lambda s: with_condition(s, **everyone),
                      PreventUntrustedSESVerificationEmails=lambda s: dict(s, Condition=everyone))
    assert {"SES-004", "SES-006"} <= rules(evaluate, _perimeter(), scps)


@pytest.mark.parametrize("some_principals", [
    {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:*"}},
    {"StringNotEquals": {"aws:PrincipalArn": "*"}},  # exact: a literal star names no principal
    {"StringNotLike": {"aws:PrincipalAccount": "1111*"}},
    {"StringNotLike": {"aws:PrincipalTag/dp:exclude:resource": "*"}},  # exempts only the tagged principals
])
def test_an_exemption_of_some_principals_keeps_the_guard(evaluate, some_principals):
    assert found(evaluate, policy(SEND, with_condition(GUARD, **some_principals))) == set()


# --- B9: in a resource policy, the Deny's Principal must cover the Allow's ---------------------------------

def _identity_policy(*statements):
    return resource("aws_ses_identity_policy.p", "aws_ses_identity_policy",
                    {"identity": "example.com", "name": "p", "policy": policy_json(*statements)})


_PARTNER = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": IDENTITY}
_ONLY_TRUSTED = {"Sid": "OnlyTrusted", "Effect": "Deny", "Principal": "*",
                 "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": IDENTITY, "Condition": UNTRUSTED}


@pytest.mark.parametrize("principal", [
    {"Service": "*"},
    {"Federated": "*"},
    {"Service": "arn:aws:iam::444455556666:root"},
    {"AWS": "arn:aws:iam::777788889999:root"},
])
def test_a_deny_on_other_kinds_of_principal_does_not_cover_an_aws_grant(evaluate, principal):
    assert rules(evaluate, _identity_policy(_PARTNER, dict(_ONLY_TRUSTED, Principal=principal))) == {"SES-001"}


@pytest.mark.parametrize("allowed,denied", [
    ("444455556666", "arn:aws:iam::444455556666:root"),
    ("arn:aws:iam::444455556666:root", "444455556666"),
    ("arn:aws:iam::444455556666:role/mailer", "444455556666"),
    ("arn:aws:iam::444455556666:role/mailer", "arn:aws:iam::444455556666:root"),
    (["arn:aws:iam::444455556666:role/mailer", "444455556666"], ["*"]),
])
def test_a_deny_on_the_account_covers_its_principals(evaluate, allowed, denied):
    partner = dict(_PARTNER, Principal={"AWS": allowed})
    assert found(evaluate, _identity_policy(partner, dict(_ONLY_TRUSTED, Principal={"AWS": denied}))) == set()


@pytest.mark.parametrize("allowed", [{"Service": "ses.amazonaws.com"}, {"Service": ["*"]},
                                     {"AWS": "444455556666", "Service": "ses.amazonaws.com"}])
def test_a_deny_on_an_account_does_not_cover_service_principals(evaluate, allowed):
    deny = dict(_ONLY_TRUSTED, Principal={"AWS": "444455556666"})
    assert rules(evaluate, _identity_policy(dict(_PARTNER, Principal=allowed), deny)) == {"SES-001"}
    assert found(evaluate, _identity_policy(dict(_PARTNER, Principal=allowed), _ONLY_TRUSTED)) == set()
    every_service = dict(_ONLY_TRUSTED, Principal={"AWS": "444455556666", "Service": "*"})
    assert found(evaluate, _identity_policy(dict(_PARTNER, Principal=allowed), every_service)) == set()


def test_a_deny_on_one_role_does_not_cover_its_account(evaluate):
    partner = dict(_PARTNER, Principal={"AWS": "444455556666"})
    deny = dict(_ONLY_TRUSTED, Principal={"AWS": "arn:aws:iam::444455556666:role/mailer"})
    assert rules(evaluate, _identity_policy(partner, deny)) == {"SES-001"}
    other_account = dict(_PARTNER, Principal={"AWS": "arn:aws:iam::777788889999:role/mailer"})
    assert rules(evaluate, _identity_policy(other_account, dict(_ONLY_TRUSTED, Principal={"AWS": "444455556666"}))) \
        == {"SES-001"}


# --- B9 with NotPrincipal, and issue 11 §2: an unknown principal in an Allow --------------------------------

_DENY_ONE = dict(_ONLY_TRUSTED, Principal={"AWS": "arn:aws:iam::444455556666:root"})


def test_an_allow_with_not_principal_is_covered_only_by_a_deny_on_every_principal(evaluate):
    everyone_else = {k: v for k, v in _PARTNER.items() if k != "Principal"}
    everyone_else["NotPrincipal"] = {"AWS": "arn:aws:iam::777788889999:root"}
    assert rules(evaluate, _identity_policy(everyone_else, _DENY_ONE)) == {"SES-001"}
    assert found(evaluate, _identity_policy(everyone_else, _ONLY_TRUSTED)) == set()


def _marked_identity_policy(*statements):
    change = resource("aws_ses_identity_policy.p", "aws_ses_identity_policy", {"identity": "example.com", "name": "p"},
                      unknown={"policy": True})
    change["sesrego"] = {"documents": {"policy": {"Version": "2012-10-17", "Statement": list(statements)}}}
    return change


_SOMEONE = {"$unknown": ["var.partner"]}


@pytest.mark.parametrize("principal", [{"AWS": _SOMEONE}, {"AWS": [_SOMEONE]},
                                       {"AWS": ["arn:aws:iam::444455556666:role/mailer", _SOMEONE]}])
def test_an_unknown_grantee_that_may_be_the_denied_principal_is_undecided(evaluate, principal):
    result = evaluate(plan(_marked_identity_policy(dict(_PARTNER, Principal=principal), _DENY_ONE)))
    assert [(f["rule_id"], f["statement"]) for f in result["findings"]] == [("SES-007", "Partner")]
    assert "var.partner" in result["findings"][0]["msg"]
    assert evaluate(plan(_marked_identity_policy(dict(_PARTNER, Principal=principal), _ONLY_TRUSTED)))["findings"] \
        == []


def test_a_known_grantee_outside_the_deny_is_decided_whatever_the_unknown_one_is(evaluate):
    principal = {"AWS": ["arn:aws:iam::777788889999:root", _SOMEONE]}
    result = evaluate(plan(_marked_identity_policy(dict(_PARTNER, Principal=principal), _DENY_ONE)))
    assert [(f["rule_id"], f["statement"]) for f in result["findings"]] == [("SES-001", "Partner")]


# --- issue 11 §2: a policy unknown as a whole may hold the Deny a verdict turns on ------------------------------

def _unknown_scp(kind="SERVICE_CONTROL_POLICY", **extension):
    change = resource("aws_organizations_policy.ses", "aws_organizations_policy", {"name": "ses", "type": kind},
                      unknown={"content": True})
    change["sesrego"] = {"unresolved": {"content": "var.trusted_domain"}, **extension}
    return change


@pytest.mark.parametrize("extension", [{}, {"documents": {"content": {"$unknown": ["var.trusted_domain"]}}}])
def test_an_scp_unknown_as_a_whole_leaves_the_perimeter_verdicts_undecided(evaluate, extension):
    result = evaluate(plan(_perimeter(), _unknown_scp(**extension)))
    assert [(f["rule_id"], f["resource"]) for f in result["findings"]] == [("SES-007", "aws_organizations_policy.ses")]
    assert "var.trusted_domain" in result["findings"][0]["msg"]


@pytest.mark.parametrize("kind", ["RESOURCE_CONTROL_POLICY", "TAG_POLICY"])
def test_an_unknown_policy_that_is_no_scp_decides_nothing(evaluate, kind):
    assert rules(evaluate, _perimeter(), _unknown_scp(kind)) == {"SES-004", "SES-006"}


def _role_policy(address, role, *statements):
    after = {"name": address.split(".")[1], "role": role}
    if statements:
        after["policy"] = policy_json(*statements)
    change = resource(address, "aws_iam_role_policy", after, unknown=None if statements else {"policy": True})
    if not statements:
        change["sesrego"] = {"unresolved": {"policy": "var.guard_policy"}}
    return change


def test_an_unknown_inline_policy_of_the_same_role_may_hold_the_guard(evaluate):
    allow = _role_policy("aws_iam_role_policy.send", "app", SEND)
    result = evaluate(plan(allow, _role_policy("aws_iam_role_policy.guard", "app")))
    assert sorted((f["rule_id"], f["resource"], f["statement"]) for f in result["findings"]) == [
        ("SES-007", "aws_iam_role_policy.guard", None), ("SES-007", "aws_iam_role_policy.send", "Send")]
    assert "SES-001 depends on var.guard_policy" in [f for f in result["findings"]
                                                     if f["resource"] == "aws_iam_role_policy.send"][0]["msg"]
    assert rules(evaluate, allow, _role_policy("aws_iam_role_policy.guard", "other")) == {"SES-001", "SES-007"}
    unknown_managed = resource("aws_iam_policy.m", "aws_iam_policy", {"name": "m"}, unknown={"policy": True})
    assert rules(evaluate, allow, unknown_managed) == {"SES-001", "SES-007"}  # managed: the same-policy rule


# --- B13: a name that two principals of the plan share names neither ---------------------------------------
# IAM names are unique in an account, so two roles of the plan with one name live in different accounts (a
# module instance per account, each with its own provider): their inline policies are not one principal's.

_ENVIRONMENTS = {"prod": (SEND, GUARD), "staging": (SEND,)}


def _environment(key, *statements, role_argument="app"):
    module = f'module.env["{key}"]'
    role = resource(f"{module}.aws_iam_role.app", "aws_iam_role", {"name": "app"}, module=module)
    policies = []
    for statement in statements:
        address = f"{module}.aws_iam_role_policy.{statement['Sid'].lower()}"
        after = {"name": statement["Sid"].lower(), "policy": policy_json(statement)}
        if role_argument is not None:
            after["role"] = role_argument
        policies.append(resource(address, "aws_iam_role_policy", after, module=module,
                                 unknown=None if role_argument is not None else {"role": True}))
    return [role, *policies]


def _module_references(*names):
    resources = [{"address": f"aws_iam_role_policy.{name}", "mode": "managed", "type": "aws_iam_role_policy",
                  "name": name, "expressions": {"role": {"references": ["aws_iam_role.app.name", "aws_iam_role.app"]}}}
                 for name in names]
    return {"root_module": {"module_calls": {"env": {"module": {"resources": resources}}}}}


def test_a_guard_of_a_same_named_role_in_another_account_does_not_count(evaluate):
    changes = [change for key, statements in _ENVIRONMENTS.items() for change in _environment(key, *statements)]
    assert found(evaluate, *changes) == {
        ("SES-001", 'module.env["staging"].aws_iam_role_policy.send', "Send"),
        ("SES-001", 'module.env["prod"].aws_iam_role_policy.send', "Send"),  # neither name resolves: no join
    }
    referenced = [change for key, statements in _ENVIRONMENTS.items()
                  for change in _environment(key, *statements, role_argument=None)]
    assert found(evaluate, *referenced, configuration=_module_references("send", "guard")) == {
        ("SES-001", 'module.env["staging"].aws_iam_role_policy.send', "Send")}


def test_inline_policies_of_one_role_still_join_beside_a_same_named_role(evaluate):
    guarded = [change for key in ("prod", "staging") for change in _environment(key, SEND, GUARD, role_argument=None)]
    assert found(evaluate, *guarded, configuration=_module_references("send", "guard")) == set()
    single = _environment("prod", SEND, GUARD)
    assert found(evaluate, *single) == set()
