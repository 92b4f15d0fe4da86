"""IAM-exact verdicts (issue 10), class by class, both sides, through the compiled Rego on plan-shaped inputs."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, identity, plan, policy_json, resource, scp

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
TRUSTED = {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}}
UNTRUSTED = {"ForAnyValue:StringNotLike": {"ses:Recipients": ["*@example.com"]}}
GUARD = {"Sid": "Guard", "Effect": "Deny", "Action": "ses:Send*", "Resource": "*", "Condition": UNTRUSTED}
VERIFY = {"Sid": "Verify", "Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}
ADMINS = {"administrators": ["platform-admin", "arn:aws:iam::*:role/admin-*", "aws_iam_role.ops", "ops-user"]}


def found(evaluate, *changes, config=None, configuration=None) -> set[tuple[str, str, object]]:
    """(rule, resource, statement) of every finding."""
    result = evaluate(plan(*changes, configuration=configuration), config)
    return {(f["rule_id"], f["resource"], f["statement"]) for f in result["findings"]}


def rules(evaluate, *changes, **kwargs) -> set[str]:
    return {rule for rule, _, _ in found(evaluate, *changes, **kwargs)}


def policy(*statements, address="aws_iam_policy.p") -> dict:
    return identity(address, *statements)


def with_condition(statement: dict, **operators) -> dict:
    return dict(statement, Condition={**statement.get("Condition", {}), **operators})


def _perimeter() -> dict:
    return scp("aws_organizations_policy.perimeter", (FIXTURES / "policies" / "resource_perimeter_scp.json").read_text())


def _reference(**edits) -> dict:
    """AWS's SES SCP for example.com; edits replace statements by Sid (None drops one)."""
    document = json.loads((FIXTURES / "policies" / "restrict_untrusted_endpoints_scp.json").read_text()
                          .replace("<trusted_email_domain>", "example.com"))
    statements = []
    for statement in document["Statement"]:
        edit = edits.get(statement["Sid"], statement)
        if callable(edit):
            edit = edit(json.loads(json.dumps(statement)))
        if edit is not None:
            statements.append(edit)
    document["Statement"] = statements
    return scp("aws_organizations_policy.ses", json.dumps(document))


# --- A1: conditions in one statement are ANDed ----------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringEquals": {"ses:FromAddress": "noreply@example.com"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"StringEquals": {"aws:PrincipalTag/team": "interns"}},
    {"Null": {"ses:Recipients": "true"}},
    {"StringLike": {"ses:Recipients": ["*@example.com"]}},
    {"NumericEquals": {"ses:ApiVersion": "1"}},
])
def test_a_deny_with_another_condition_anded_guards_nothing(evaluate, extra):
    guard = with_condition(GUARD, **extra)
    assert "SES-001" in rules(evaluate, policy(SEND, guard))
    ses = _reference(PreventUntrustedSESv1Emails=lambda s: with_condition(s, **extra),
                     PreventUntrustedSESv2Emails=lambda s: with_condition(s, **extra))
    assert "SES-004" in rules(evaluate, _perimeter(), ses)


@pytest.mark.parametrize("extra", [
    {},
    {"Null": {"ses:Recipients": "false"}},
    {"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}},
    {"StringNotEquals": {"ses:ApiVersion": "3"}},
    {"StringLike": {"ses:ApiVersion": "*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}, "Null": {"ses:Recipients": "false"}},
])
def test_a_deny_whose_other_conditions_are_exemptions_versions_or_null_false_guards(evaluate, extra):
    assert found(evaluate, policy(SEND, with_condition(GUARD, **extra))) == set()


def test_an_ineffective_recipients_condition_beside_an_effective_one_breaks_a_deny(evaluate):
    guard = with_condition(GUARD, **{"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}})
    assert found(evaluate, policy(SEND, guard)) == {("SES-001", "aws_iam_policy.p", "Send"),
                                                    ("SES-002", "aws_iam_policy.p", "Guard")}
    null_true = with_condition(GUARD, Null={"ses:Recipients": "true"})
    assert found(evaluate, policy(SEND, null_true)) == {("SES-001", "aws_iam_policy.p", "Send"),
                                                        ("SES-002", "aws_iam_policy.p", "Guard")}


def test_one_effective_condition_restricts_an_allow_whatever_else_is_anded(evaluate):
    allow = with_condition(SEND, **TRUSTED, StringLike={"ses:Recipients": ["*"]},
                           StringEquals={"aws:RequestedRegion": "eu-west-1"})
    assert found(evaluate, policy(allow)) == set()


def test_the_verification_deny_is_anded_too(evaluate):
    narrowed = _reference(PreventUntrustedSESVerificationEmails=lambda s: with_condition(
        s, StringEquals={"aws:RequestedRegion": "eu-west-1"}))
    assert rules(evaluate, _perimeter(), narrowed) == {"SES-006"}
    assert rules(evaluate, _perimeter(), _reference()) == set()


# --- A2: exact operators are exact ------------------------------------------------------------------------

def test_string_equals_star_matches_no_api_version(evaluate):
    star = {"ses:ApiVersion": "*"}
    assert "SES-001" in rules(evaluate, policy(SEND, with_condition(GUARD, StringEquals=star)))
    assert rules(evaluate, policy(with_condition(SEND, StringEquals=star))) == set()  # the Allow never applies
    assert rules(evaluate, policy(SEND, with_condition(GUARD, StringLike=star))) == set()  # Like globs
    versions = _reference(PreventUntrustedSESv1Emails=lambda s: with_condition(s, StringEquals={"ses:ApiVersion": "*"}))
    assert "SES-004" in rules(evaluate, _perimeter(), versions)


@pytest.mark.parametrize("allow_operator,values", [
    ("ForAllValues:StringEqualsIgnoreCase", ["Ops@Example.com"]),
    ("ForAllValues:StringEquals", ["ops@example.com", "alerts@example.com"]),
    ("ForAllValues:StringEqualsIgnoreCaseIfExists", ["ops@example.com"]),
])
def test_exact_and_ignore_case_forms_restrict_an_allow(evaluate, allow_operator, values):
    assert found(evaluate, policy(with_condition(SEND, **{allow_operator: {"ses:Recipients": values}}))) == set()


@pytest.mark.parametrize("deny_operator", ["ForAnyValue:StringNotEqualsIgnoreCase", "ForAnyValue:StringNotEquals",
                                           "ForAnyValue:StringNotEqualsIgnoreCaseIfExists"])
def test_exact_and_ignore_case_forms_guard_in_a_deny(evaluate, deny_operator):
    guard = dict(GUARD, Condition={deny_operator: {"ses:Recipients": ["ops@example.com"]}})
    assert found(evaluate, policy(SEND, guard)) == set()


@pytest.mark.parametrize("value", ["example.com", "*", "@example.com", "ops"])
def test_exact_operators_take_full_addresses(evaluate, value):
    allow = with_condition(SEND, **{"ForAllValues:StringEquals": {"ses:Recipients": [value]}})
    assert rules(evaluate, policy(allow)) == {"SES-002"}


# --- A3: what an exemption is -----------------------------------------------------------------------------

@pytest.mark.parametrize("exemption", [
    {"StringNotEquals": {"aws:PrincipalTag/role": "admin"}},
    {"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}},
    {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
    {"ArnNotEqualsIfExists": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/admin"}},
    {"StringNotEqualsIgnoreCase": {"aws:PrincipalAccount": "111122223333"}},
    {"Bool": {"aws:PrincipalIsAWSService": "false"}},
    {"BoolIfExists": {"aws:PrincipalIsAWSService": False}},
])
def test_negated_principal_conditions_and_aws_service_exemptions_keep_a_guard(evaluate, exemption):
    assert found(evaluate, policy(SEND, with_condition(GUARD, **exemption))) == set()
    both = _reference(PreventUntrustedSESv1Emails=lambda s: dict(s, Condition={**UNTRUSTED, **exemption,
                                                                               "StringEquals": {"ses:ApiVersion": "1"}}),
                      PreventUntrustedSESv2Emails=lambda s: dict(s, Condition={**UNTRUSTED, **exemption,
                                                                               "StringEquals": {"ses:ApiVersion": "2"}}),
                      PreventUntrustedSESVerificationEmails=lambda s: dict(s, Condition=exemption))
    assert rules(evaluate, _perimeter(), both) == set()


@pytest.mark.parametrize("selection", [
    {"StringEquals": {"aws:PrincipalTag/team": "interns"}},
    {"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app-*"}},
    {"Bool": {"aws:PrincipalIsAWSService": "true"}},
    {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"ForAnyValue:StringNotLike": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/*"]}},
])
def test_positive_principal_conditions_and_organization_exemptions_are_no_control(evaluate, selection):
    assert "SES-001" in rules(evaluate, policy(SEND, with_condition(GUARD, **selection)))
    scps = _reference(PreventUntrustedSESv1Emails=lambda s: with_condition(s, **selection),
                      PreventUntrustedSESVerificationEmails=lambda s: dict(s, Condition=selection))
    assert {"SES-004", "SES-006"} <= rules(evaluate, _perimeter(), scps)


# --- A4, A5, A6: aws_iam_policy_document read during apply ----------------------------------------------

def _document(address, *blocks, unknown=None, index=None, module=None, **after):
    return resource(address, "aws_iam_policy_document", {"statement": list(blocks), **after},
                    unknown=unknown or {"json": True}, actions=("read",), mode="data", index=index, module=module)


def _block(sid="", effect="Allow", actions=("ses:SendEmail",), condition=()):
    return {"sid": sid, "effect": effect, "actions": list(actions), "resources": ["*"], "not_actions": None,
            "not_resources": None, "principals": [], "not_principals": [], "condition": list(condition)}


def _configuration(address, expression, references, resource_type="aws_iam_policy"):
    name = address.split(".")[1].split("[")[0]
    return {"root_module": {"resources": [{"address": f"{resource_type}.{name}", "mode": "managed",
                                           "type": resource_type, "name": name,
                                           "expressions": {expression: {"references": references}}}]}}


_DEFERRED = resource("aws_iam_policy.p", "aws_iam_policy", {"name": "p"}, unknown={"policy": True})
_REFERS = _configuration("aws_iam_policy.p", "policy",
                         ["data.aws_iam_policy_document.d.json", "data.aws_iam_policy_document.d"])
_RESTRICTED_BLOCK = {"test": "ForAllValues:StringLike", "variable": "ses:Recipients", "values": ["*@example.com"]}


def test_source_documents_are_merged_with_the_statement_blocks(evaluate):
    guarded = _document("data.aws_iam_policy_document.d", _block(), source_policy_documents=[policy_json(GUARD)])
    assert found(evaluate, guarded, _DEFERRED, configuration=_REFERS) == set()
    alone = _document("data.aws_iam_policy_document.d", _block())
    assert rules(evaluate, alone, _DEFERRED, configuration=_REFERS) == {"SES-001"}


def test_overrides_replace_statements_with_the_same_sid_and_blocks_replace_sources(evaluate):
    restricted = with_condition(dict(SEND, Sid="S"), **TRUSTED)
    overridden = _document("data.aws_iam_policy_document.d", _block(sid="S"),
                           override_policy_documents=[policy_json(restricted)])
    assert found(evaluate, overridden, _DEFERRED, configuration=_REFERS) == set()
    replaced = _document("data.aws_iam_policy_document.d", _block(sid="S"),
                         source_policy_documents=[policy_json(restricted)])
    assert found(evaluate, replaced, _DEFERRED, configuration=_REFERS) == {("SES-001", "aws_iam_policy.p", "S")}


@pytest.mark.parametrize("field,unknown", [
    ("source_policy_documents", True), ("source_policy_documents", [True]),
    ("override_policy_documents", [False, True]),
])
def test_unknown_merged_documents_are_ses_007_never_the_blocks_alone(evaluate, field, unknown):
    document = _document("data.aws_iam_policy_document.d", _block(condition=[_RESTRICTED_BLOCK]),
                         unknown={"json": True, field: unknown}, **{field: [policy_json(GUARD), None]})
    result = evaluate(plan(document, _DEFERRED, configuration=_REFERS))
    assert [(f["rule_id"], f["resource"]) for f in result["findings"]] == [("SES-007", "aws_iam_policy.p")]
    assert field in result["findings"][0]["msg"]


def test_a_merged_document_that_is_not_a_policy_is_ses_007(evaluate):
    document = _document("data.aws_iam_policy_document.d", _block(), source_policy_documents=["{not json"])
    assert rules(evaluate, document, _DEFERRED, configuration=_REFERS) == {"SES-007"}


@pytest.mark.parametrize("key,index,other", [('["b"]', "b", "a"), ("[1]", 1, 0)])
def test_a_fixed_instance_reference_names_that_instance(evaluate, key, index, other):
    restricted = _document(f"data.aws_iam_policy_document.x{key}", _block(condition=[_RESTRICTED_BLOCK]), index=index)
    open_ = _document(f"data.aws_iam_policy_document.x[{json.dumps(other)}]", _block(), index=other)
    referring = resource(f"aws_iam_policy.p[{json.dumps(other)}]", "aws_iam_policy", {"name": "p"},
                         unknown={"policy": True}, index=other)
    fixed = _configuration("aws_iam_policy.p", "policy", [f"data.aws_iam_policy_document.x{key}.json",
                                                          f"data.aws_iam_policy_document.x{key}",
                                                          "data.aws_iam_policy_document.x"])
    assert found(evaluate, restricted, open_, referring, configuration=fixed) == set()
    same_key = _configuration("aws_iam_policy.p", "policy", ["data.aws_iam_policy_document.x.json",
                                                             "data.aws_iam_policy_document.x"])
    assert rules(evaluate, restricted, open_, referring, configuration=same_key) == {"SES-001"}


@pytest.mark.parametrize("role_unknown", [{"inline_policy": [{"policy": True}]}, {"inline_policy": True}])
def test_role_inline_policy_blocks_rendering_a_deferred_document_are_evaluated(evaluate, role_unknown):
    after = {"name": "app", "inline_policy": [{"name": "send", "policy": None}]} \
        if isinstance(role_unknown["inline_policy"], list) else {"name": "app"}
    role = resource("aws_iam_role.app", "aws_iam_role", after, unknown=role_unknown)
    configuration = {"root_module": {"resources": [{
        "address": "aws_iam_role.app", "mode": "managed", "type": "aws_iam_role", "name": "app",
        "expressions": {"inline_policy": [{"name": {"constant_value": "send"}, "policy": {
            "references": ["data.aws_iam_policy_document.d.json", "data.aws_iam_policy_document.d"]}}]}}]}}
    result = evaluate(plan(_document("data.aws_iam_policy_document.d", _block()), role, configuration=configuration))
    assert [(f["rule_id"], f["attribute"], f.get("evaluated_from")) for f in result["findings"]] == [
        ("SES-001", "inline_policy[0].policy", "data.aws_iam_policy_document.d")]
    restricted = _document("data.aws_iam_policy_document.d", _block(condition=[_RESTRICTED_BLOCK]))
    assert evaluate(plan(restricted, role, configuration=configuration))["findings"] == []


# --- A7: administrators are the principal a policy is attached to -------------------------------------

def _role_policy(role, name="platform-admin", address="aws_iam_role_policy.x", **unknown):
    after = {"name": name, "policy": policy_json(VERIFY)}
    if role is not None:
        after["role"] = role
    return resource(address, "aws_iam_role_policy", after, unknown=unknown or None)


def test_administrators_match_the_role_not_the_policy_name(evaluate):
    assert rules(evaluate, _role_policy("platform-admin", name="x"), config=ADMINS) == set()
    assert rules(evaluate, _role_policy("app", name="platform-admin"), config=ADMINS) == {"SES-003"}


def test_administrators_match_the_role_arn_even_before_it_is_known(evaluate):
    unknown_arn = resource("aws_iam_role.r", "aws_iam_role", {"name": "admin-deploy", "path": "/"},
                           unknown={"arn": True})
    assert rules(evaluate, unknown_arn, _role_policy("admin-deploy", name="p"), config=ADMINS) == set()
    one_account = {"administrators": ["arn:aws:iam::111122223333:role/admin-deploy"]}
    assert rules(evaluate, unknown_arn, _role_policy("admin-deploy", name="p"), config=one_account) == {"SES-003"}
    known_arn = resource("aws_iam_role.r", "aws_iam_role", {"name": "deploy",
                                                             "arn": "arn:aws:iam::111122223333:role/deploy"})
    assert rules(evaluate, known_arn, _role_policy("deploy", name="p"), config=one_account | {
        "administrators": ["arn:aws:iam::111122223333:role/deploy"]}) == set()


def test_administrators_match_the_principal_address_and_users_and_groups(evaluate):
    role = resource("aws_iam_role.ops", "aws_iam_role", {"name": "anything", "inline_policy": [
        {"name": "i", "policy": policy_json(VERIFY)}]})
    assert rules(evaluate, role, config=ADMINS) == set()
    user = resource("aws_iam_user_policy.u", "aws_iam_user_policy", {"name": "u", "user": "ops-user",
                                                                      "policy": policy_json(VERIFY)})
    group = resource("aws_iam_group_policy.g", "aws_iam_group_policy", {"name": "platform-admin", "group": "devs",
                                                                        "policy": policy_json(VERIFY)})
    assert found(evaluate, user, group, config=ADMINS) == {("SES-003", "aws_iam_group_policy.g", "Verify")}


def _managed(**unknown):
    return resource("aws_iam_policy.m", "aws_iam_policy", {"name": "platform-admin", "path": "/",
                                                           "policy": policy_json(VERIFY)}, unknown=unknown or None)


def _attached(address, resource_type, after, references=None, **unknown):
    change = resource(address, resource_type, after, unknown=unknown or None)
    expressions = {key: {"references": value} for key, value in (references or {}).items()}
    name = address.split(".")[1]
    return change, {"address": f"{resource_type}.{name}", "mode": "managed", "type": resource_type, "name": name,
                    "expressions": expressions}


@pytest.mark.parametrize("attachments,expected", [
    ([], {"SES-003"}),  # attached outside the plan, to anyone
    ([("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment", {"role": "platform-admin"},
       {"policy_arn": ["aws_iam_policy.m.arn", "aws_iam_policy.m"]}, {"policy_arn": True})], set()),
    ([("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment", {"role": "platform-admin"},
       {"policy_arn": ["aws_iam_policy.m.arn", "aws_iam_policy.m"]}, {"policy_arn": True}),
      ("aws_iam_user_policy_attachment.b", "aws_iam_user_policy_attachment",
       {"user": "app", "policy_arn": "arn:aws:iam::111122223333:policy/platform-admin"}, None, {})], {"SES-003"}),
    ([("aws_iam_policy_attachment.a", "aws_iam_policy_attachment",
       {"name": "a", "roles": ["platform-admin"], "users": ["ops-user"], "groups": [],
        "policy_arn": "arn:aws:iam::111122223333:policy/platform-admin"}, None, {})], set()),
    ([("aws_iam_role_policy_attachments_exclusive.a", "aws_iam_role_policy_attachments_exclusive",
       {"role_name": "intern"}, {"policy_arns": ["aws_iam_policy.m.arn", "aws_iam_policy.m"]},
       {"policy_arns": True})], {"SES-003"}),
    ([("aws_iam_role.admin", "aws_iam_role", {"name": "admin-2"},
       {"managed_policy_arns": ["aws_iam_policy.m.arn", "aws_iam_policy.m"]}, {"managed_policy_arns": True})], set()),
])
def test_a_managed_policy_is_exempt_only_when_every_attachment_is_to_an_administrator(evaluate, attachments, expected):
    changes, configured = [], []
    for address, resource_type, after, references, unknown in attachments:
        change, config_resource = _attached(address, resource_type, after, references, **unknown)
        changes.append(change)
        configured.append(config_resource)
    configuration = {"root_module": {"resources": configured}}
    assert rules(evaluate, _managed(arn=True), *changes, config=ADMINS, configuration=configuration) == expected


def test_a_resource_policy_is_exempt_only_when_every_grantee_is_an_administrator(evaluate):
    def ses_policy(*principals):
        statement = dict(VERIFY, Principal={"AWS": list(principals)})
        return resource("aws_ses_identity_policy.s", "aws_ses_identity_policy", {"policy": policy_json(statement)})
    assert rules(evaluate, ses_policy("arn:aws:iam::111122223333:role/admin-a"), config=ADMINS) == set()
    assert rules(evaluate, ses_policy("arn:aws:iam::111122223333:role/admin-a", "arn:aws:iam::444455556666:root"),
                 config=ADMINS) == {"SES-003"}


# --- A8: lookalike service prefixes -------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["sesv2:SendEmail", "ses-v2:*", "SES_V1:*", "ses2:*", "Ses-V22:Send*", "ses_2:x"])
def test_lookalike_prefixes_are_ses_008(evaluate, action):
    result = evaluate(plan(policy(dict(SEND, Action=[action]))))
    assert [(f["rule_id"], f["actions"]) for f in result["findings"]] == [("SES-008", [action])]
    assert "ses:" in result["findings"][0]["msg"]
    deny = evaluate(plan(policy(dict(GUARD, Action=action))))
    assert [f["rule_id"] for f in deny["findings"]] == ["SES-008"]


@pytest.mark.parametrize("action", ["ses:SendEmail", "sesame:Open", "sesv:Send", "s3:*", "sms-voice:Send*",
                                    "sesmail:Send", "v2ses:SendEmail"])
def test_other_prefixes_are_not_lookalikes(evaluate, action):
    assert "SES-008" not in rules(evaluate, policy(with_condition(dict(SEND, Action=action), **TRUSTED)))


# --- B9: resource scope of a Deny ------------------------------------------------------------------------------

IDENTITY = "arn:aws:ses:us-east-1:111122223333:identity/example.com"


@pytest.mark.parametrize("scope", [
    {"Resource": "*"}, {"Resource": "arn:aws:ses:*:*:identity/*"}, {"Resource": "arn:aws:ses:*:*:*"},
    {"Resource": ["arn:aws-cn:ses:*:*:identity/*"]}, {"Resource": "arn:*:ses:*:*:identity/*"},
    {"Resource": "arn:aws:ses:*"}, {"NotResource": ["arn:aws:s3:::bucket/*", "arn:aws:iam::aws:policy/*"]},
    {"NotResource": "arn:aws:ses:*:*:configuration-set/*"},
])
def test_a_deny_covering_every_identity_arn_guards(evaluate, scope):
    guard = {key: value for key, value in GUARD.items() if key != "Resource"} | scope
    assert found(evaluate, policy(SEND, guard)) == set()


@pytest.mark.parametrize("scope", [
    {"Resource": "arn:aws:ses:us-east-1:111122223333:identity/other.com"},
    {"Resource": "arn:aws:ses:us-*:*:identity/*"}, {"Resource": "arn:aws:s3:::bucket"},
    {"NotResource": ["arn:aws:ses:*:*:identity/vip.example.com"]}, {"NotResource": "*"},
    {"Resource": "arn:aws:ses:*:*:configuration-set/*"},
])
def test_a_deny_that_cannot_be_shown_to_cover_does_not_guard(evaluate, scope):
    guard = {key: value for key, value in GUARD.items() if key != "Resource"} | scope
    assert "SES-001" in rules(evaluate, policy(SEND, guard))


def test_a_deny_covers_what_the_allow_in_the_same_policy_can_reach(evaluate):
    allow = dict(SEND, Resource=IDENTITY)
    assert found(evaluate, policy(allow, dict(GUARD, Resource=IDENTITY))) == set()
    assert found(evaluate, policy(dict(allow, Resource="arn:aws:ses:*:111122223333:identity/*"),
                                  dict(GUARD, Resource="arn:aws:ses:*:111122223333:identity/*"))) == set()
    assert "SES-001" in rules(evaluate, policy(dict(allow, Resource="arn:aws:ses:*:*:identity/*"),
                                               dict(GUARD, Resource=IDENTITY)))


def test_the_standard_sending_authorization_policy_passes(evaluate):
    partner = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
               "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": IDENTITY}
    deny = {"Sid": "OnlyTrusted", "Effect": "Deny", "Principal": "*", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": IDENTITY, "Condition": UNTRUSTED}

    def identity_policy(*statements):
        return resource("aws_ses_identity_policy.p", "aws_ses_identity_policy",
                        {"identity": "example.com", "name": "p", "policy": policy_json(*statements)})
    assert found(evaluate, identity_policy(partner, deny)) == set()
    assert found(evaluate, identity_policy(partner, dict(deny, Principal={"AWS": "arn:aws:iam::444455556666:root"}))) \
        == set()
    assert rules(evaluate, identity_policy(partner, dict(deny, Principal={"AWS": "arn:aws:iam::777788889999:root"}))) \
        == {"SES-001"}
    assert rules(evaluate, identity_policy(partner)) == {"SES-001"}


def test_aws_scp_statements_written_with_not_resource_count(evaluate):
    def not_resource(statement):
        statement.pop("Resource")
        statement["NotResource"] = ["arn:aws:s3:::shared-bucket/*", "arn:aws:iam::aws:policy/*"]
        return statement
    ses = _reference(**{sid: not_resource for sid in ("PreventUntrustedSESv1Emails", "PreventUntrustedSESv2Emails",
                                                       "PreventUntrustedSESVerificationEmails")})
    assert found(evaluate, _perimeter(), ses) == set()


def test_custom_verification_templates_are_not_identities(evaluate):
    identities_only = _reference(PreventUntrustedSESVerificationEmails=lambda s: dict(
        s, Resource="arn:aws:ses:*:*:identity/*"))
    assert rules(evaluate, _perimeter(), identities_only) == {"SES-006"}
    manage_never_verify = policy({"Sid": "Manage", "Effect": "Allow", "Action": "ses:*", "Resource": "*"},
                                 {"Sid": "NoSend", "Effect": "Deny", "Action": "ses:Send*",
                                  "Resource": "arn:aws:ses:*:*:identity/*"})
    result = evaluate(plan(manage_never_verify))
    assert [(f["rule_id"], f["actions"]) for f in result["findings"]] == [
        ("SES-003", ["ses:SendCustomVerificationEmail"])]  # API v2 authorizes on the template


def test_an_allow_on_other_resources_grants_no_send(evaluate):
    assert found(evaluate, policy(dict(SEND, Action="ses:*", Resource=["arn:aws:s3:::bucket/*"]))) == set()
    assert rules(evaluate, policy(dict(SEND, Resource="arn:aws:ses:*:*:identity/*"))) == {"SES-001"}


# --- B10: an Allow limited by ses:ApiVersion --------------------------------------------------------------------

V2_GUARD = with_condition(GUARD, StringEquals={"ses:ApiVersion": "2"})


@pytest.mark.parametrize("allow_versions,expected", [
    ({"StringEquals": {"ses:ApiVersion": "2"}}, set()),
    ({"StringNotEquals": {"ses:ApiVersion": "1"}}, set()),
    ({"StringEqualsIgnoreCase": {"ses:ApiVersion": ["2"]}}, set()),
    ({"StringEquals": {"ses:ApiVersion": "1"}}, {"SES-001"}),
    ({}, {"SES-001"}),
])
def test_an_allow_grants_only_its_api_versions(evaluate, allow_versions, expected):
    assert rules(evaluate, policy(with_condition(SEND, **allow_versions), V2_GUARD)) == expected


# --- B11: an unconditional Deny in the same policy --------------------------------------------------------------

MANAGE = {"Sid": "Manage", "Effect": "Allow", "Action": "ses:*", "Resource": "*"}


@pytest.mark.parametrize("deny,expected", [
    ({"Effect": "Deny", "Action": "ses:Send*", "Resource": "*"}, set()),
    ({"Effect": "Deny", "NotAction": ["ses:Get*", "ses:List*"], "Resource": "*"}, set()),
    ({"Effect": "Deny", "Action": "ses:Send*", "Resource": "*",
      "Condition": {"StringNotEquals": {"aws:PrincipalTag/admin": "true"}}}, set()),
    ({"Effect": "Deny", "Action": ["ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail",
                                   "ses:SendBulkTemplatedEmail"], "Resource": "*"}, {"SES-003"}),
    ({"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*"}, {"SES-001", "SES-003"}),
    ({"Effect": "Deny", "Action": "ses:Send*", "Resource": "*",
      "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}, {"SES-001", "SES-003"}),
])
def test_an_unconditional_deny_removes_what_it_covers(evaluate, deny, expected):
    assert rules(evaluate, policy(MANAGE, dict(deny, Sid="Deny"))) == expected


# --- B12: Null {"ses:Recipients": "false"} ---------------------------------------------------------------------

def test_null_false_beside_for_all_values_is_aws_pairing(evaluate):
    assert found(evaluate, policy(with_condition(SEND, **TRUSTED, Null={"ses:Recipients": "false"}))) == set()
    assert found(evaluate, policy(with_condition(SEND, Null={"ses:Recipients": "false"}))) == {
        ("SES-002", "aws_iam_policy.p", "Send")}


# --- B13: the inline policies of one principal are evaluated together ------------------------------------------

def _inline(address, principal_argument, principal, *statements, unknown=None):
    resource_type = address.split(".")[0]
    after = {"name": address.split(".")[1], "policy": policy_json(*statements)}
    if principal is not None:
        after[principal_argument] = principal
    return resource(address, resource_type, after, unknown=unknown)


def test_a_guard_in_another_inline_policy_of_the_same_role_counts(evaluate):
    allow = _inline("aws_iam_role_policy.send", "role", "app", SEND)
    guard = _inline("aws_iam_role_policy.guard", "role", "app", GUARD)
    assert found(evaluate, allow, guard) == set()
    elsewhere = _inline("aws_iam_role_policy.guard", "role", "other", GUARD)
    assert rules(evaluate, allow, elsewhere) == {"SES-001"}
    role = resource("aws_iam_role.app", "aws_iam_role", {"name": "app", "inline_policy": [
        {"name": "guard", "policy": policy_json(GUARD)}, {"name": "send", "policy": policy_json(SEND)}]})
    assert found(evaluate, role) == set()
    assert found(evaluate, role, allow) == set()


def test_users_and_groups_join_their_inline_policies_too(evaluate):
    for resource_type, argument in (("aws_iam_user_policy", "user"), ("aws_iam_group_policy", "group")):
        allow = _inline(f"{resource_type}.send", argument, "team", SEND)
        assert found(evaluate, allow, _inline(f"{resource_type}.guard", argument, "team", GUARD)) == set()
        assert rules(evaluate, allow, _inline(f"{resource_type}.guard", argument, "ops", GUARD)) == {"SES-001"}


def test_inline_policies_join_through_a_configuration_reference(evaluate):
    allow = _inline("aws_iam_role_policy.send", "role", None, SEND, unknown={"role": True})
    role = resource("aws_iam_role.app", "aws_iam_role", {"name_prefix": "app-", "inline_policy": [
        {"name": "guard", "policy": policy_json(GUARD)}]}, unknown={"name": True})
    references = _configuration("aws_iam_role_policy.send", "role", ["aws_iam_role.app.id", "aws_iam_role.app"],
                                resource_type="aws_iam_role_policy")
    assert found(evaluate, role, allow, configuration=references) == set()
    assert rules(evaluate, role, allow) == {"SES-001"}  # unresolved: the guard does not count


def test_managed_policies_keep_the_same_policy_rule(evaluate):
    managed = identity("aws_iam_policy.send", SEND)
    inline = _inline("aws_iam_role_policy.guard", "role", "app", GUARD)
    attachment = resource("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment",
                          {"role": "app", "policy_arn": "arn:aws:iam::111122223333:policy/send"})
    assert rules(evaluate, managed, inline, attachment) == {"SES-001"}


# --- C14: recipient patterns that admit untrusted domains ------------------------------------------------------

@pytest.mark.parametrize("pattern", [
    "*@example.com*", "*@example.*", "*@*example.com", "*@exampl?.com", "*example.com", "*@*.com", "*.com",
    "*@co.uk", "*@*.co.uk", "*@*.github.io", "*@x.ck", "*@*.kawasaki.jp", "*@example", "*@*", "*", "?*@*.*",
    "*@example..com", "*@*.*.example.com",
])
def test_patterns_that_admit_domains_anyone_can_register_are_ses_002(evaluate, pattern):
    allow = with_condition(SEND, **{"ForAllValues:StringLike": {"ses:Recipients": ["ops@example.com", pattern]}})
    assert rules(evaluate, policy(allow)) == {"SES-002"}
    guard = dict(GUARD, Condition={"ForAnyValue:StringNotLike": {"ses:Recipients": [pattern]}})
    assert rules(evaluate, policy(SEND, guard)) == {"SES-001", "SES-002"}


@pytest.mark.parametrize("pattern", [
    "*@example.com", "ops@example.com", "*@*.example.com", "*@EXAMPLE.COM", "alerts-?@example.co.uk",
    "*@foo.github.io", "*@www.ck", "*@city.kawasaki.jp", "*@mail.example.xn--p1ai", "*@mail.пример.рф",
])
def test_patterns_with_a_registrable_literal_domain_are_effective(evaluate, pattern):
    allow = with_condition(SEND, **{"ForAllValues:StringLike": {"ses:Recipients": [pattern]}})
    assert found(evaluate, policy(allow)) == set()
    assert found(evaluate, policy(SEND, dict(GUARD, Condition={"ForAnyValue:StringNotLike": {
        "ses:Recipients": [pattern]}}))) == set()


# --- C15: what a resource perimeter is ---------------------------------------------------------------------------

def _perimeter_scp(**statement) -> dict:
    base = {"Sid": "Perimeter", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}}
    return scp("aws_organizations_policy.perimeter", policy_json({k: v for k, v in {**base, **statement}.items()
                                                                  if v is not None}))


@pytest.mark.parametrize("statement", [
    {},
    {"Action": None, "NotAction": ["iam:*", "sts:*"]},
    {"Action": ["s3:*", "sqs:*", "kms:*"]},
    {"Resource": None, "NotResource": ["arn:aws:iam::aws:policy/*"]},
    {"Condition": {"StringNotEquals": {"aws:ResourceAccount": ["111122223333"]}}},
    {"Condition": {"ForAllValues:StringNotLike": {"aws:ResourceOrgPaths": ["o-a1b2c3d4e5/*"]}}},
    {"Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-a1b2c3d4e5", "ec2:Owner": "amazon"}}},
])
def test_resource_perimeters_trigger_ses_004_and_006(evaluate, statement):
    result = evaluate(plan(_perimeter_scp(**statement)))
    assert {(f["rule_id"], f["statement"]) for f in result["findings"]} == {("SES-004", "Perimeter"),
                                                                            ("SES-006", None)}


@pytest.mark.parametrize("statement", [
    {"Action": "s3:*"},
    {"Action": ["s3:*", "sqs:*"]},
    {"Resource": ["arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-a/*"]},
    {"Action": None, "NotAction": ["ses:*"]},
    {"Condition": {"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}},
    {"Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}},
    {"Effect": "Allow"},
])
def test_targeted_guards_are_not_perimeters(evaluate, statement):
    assert evaluate(plan(_perimeter_scp(**statement)))["findings"] == []


# --- C16: the strongest control counts ----------------------------------------------------------------------------

@pytest.mark.parametrize("statement,expected", [
    ({"Effect": "Deny", "Action": "ses:*", "Resource": "*"}, set()),
    ({"Effect": "Deny", "Action": ["ses:Send*"], "Resource": "*",
      "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}}}, set()),
    ({"Effect": "Deny", "NotAction": ["ses:Get*"], "Resource": "*"}, set()),
    ({"Effect": "Deny", "Action": "ses:*", "Resource": "*",
      "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}, {"SES-004", "SES-006"}),
    ({"Effect": "Deny", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}, {"SES-004"}),
])
def test_an_unconditional_scp_deny_satisfies_the_controls(evaluate, statement, expected):
    assert rules(evaluate, _perimeter(), scp("aws_organizations_policy.ses", policy_json(statement))) == expected


# --- decided, for the record ------------------------------------------------------------------------------------

def test_an_allow_with_only_ineffective_recipient_conditions_is_ses_002_alone(evaluate):
    allow = with_condition(SEND, StringLike={"ses:Recipients": "*@example.com"},
                           **{"ForAnyValue:StringLike": {"ses:Recipients": "*@example.com"}})
    result = evaluate(plan(policy(allow)))
    assert {f["rule_id"] for f in result["findings"]} == {"SES-002"}
    assert all(f["severity"] == "deny" for f in result["findings"])


def test_ses_004_reports_per_api_version_next_to_ses_005(evaluate):
    v1_only = _reference(PreventUntrustedSESv2Emails=None)
    result = evaluate(plan(_perimeter(), v1_only))
    by_rule = {f["rule_id"]: f for f in result["findings"]}
    assert set(by_rule) == {"SES-004", "SES-005"}
    assert "ses:SendEmail (API v2)" in by_rule["SES-004"]["msg"] and "(API v1)" not in by_rule["SES-004"]["msg"]
    assert by_rule["SES-005"]["statement"] == "PreventUntrustedSESv1Emails"
