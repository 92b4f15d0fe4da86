"""IAM semantics of SES-001 ... SES-008, evaluated in OPA's engine on plans in the documented shape."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, identity, ids, plan, policy_json, resource, scp

ALLOW_SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
RESTRICTED = {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}}


def rules_of(result, address="aws_iam_policy.p"):
    return {f["rule_id"] for f in result["findings"] if f["resource"] == address}


def test_done_when_send_email_on_star_is_ses_001(evaluate):
    result = evaluate(plan(identity("aws_iam_policy.p", ALLOW_SEND)))
    finding = next(f for f in result["findings"] if f["rule_id"] == "SES-001")
    assert finding["resource"] == "aws_iam_policy.p"
    assert finding["severity"] == "warn"
    assert finding["policy_kind"] == "identity"
    assert finding["statement"] == "Send"
    assert finding["actions"] == ["ses:SendEmail"]
    assert finding["consideration"] == ["ses-v1#2", "ses-v2#1"]
    assert finding["msg"] and finding["remediation"] and finding["resource_type"] == "aws_iam_policy"


@pytest.mark.parametrize("action", ["ses:Send*", "SES:SENDEMAIL", "ses:*Email", "ses:Send?mail", "*", "ses:*",
                                    ["s3:GetObject", "ses:sendrawemail"]])
def test_actions_match_case_insensitively_with_wildcards(evaluate, action):
    statement = dict(ALLOW_SEND, Action=action)
    assert "SES-001" in rules_of(evaluate(plan(identity("aws_iam_policy.p", statement))))


@pytest.mark.parametrize("action", ["ses:SendBounce", "ses:Get*", "s3:*", "ses:List*", "sesv2:SendEmail"])
def test_non_send_actions_are_not_ses_001(evaluate, action):
    statement = dict(ALLOW_SEND, Action=action)
    assert "SES-001" not in rules_of(evaluate(plan(identity("aws_iam_policy.p", statement))))


def test_not_action_grants_everything_it_does_not_exclude(evaluate):
    statement = {"Effect": "Allow", "NotAction": ["s3:*", "iam:*"], "Resource": "*"}
    result = evaluate(plan(identity("aws_iam_policy.p", statement)))
    assert {"SES-001", "SES-003"} <= rules_of(result)
    excluded = {"Effect": "Allow", "NotAction": ["ses:*"], "Resource": "*"}
    assert not {"SES-001", "SES-003"} & rules_of(evaluate(plan(identity("aws_iam_policy.p", excluded))))


def test_statement_as_object_and_strings(evaluate):
    document = json.dumps({"Version": "2012-10-17", "Statement": ALLOW_SEND})
    change = resource("aws_iam_policy.p", "aws_iam_policy", {"policy": document})
    assert "SES-001" in rules_of(evaluate(plan(change)))


@pytest.mark.parametrize("operator", ["ForAllValues:StringLike", "ForAllValues:StringEquals",
                                      "ForAllValues:StringLikeIfExists"])
def test_effective_allow_restriction_passes(evaluate, operator):
    statement = dict(ALLOW_SEND, Condition={operator: {"SES:recipients": ["*@example.com", "ops@example.org"]}})
    assert rules_of(evaluate(plan(identity("aws_iam_policy.p", statement)))) == set()


@pytest.mark.parametrize("condition", [
    {"StringLike": {"ses:Recipients": ["*@example.com"]}},
    {"ForAnyValue:StringLike": {"ses:Recipients": ["*@example.com"]}},
    {"ForAllValues:StringLike": {"ses:Recipients": ["*"]}},
    {"ForAllValues:StringLike": {"ses:Recipients": "*@*"}},
    {"ForAllValues:StringLike": {"ses:Recipients": ["*@<trusted_email_domain>"]}},
])
def test_ineffective_allow_restriction_is_ses_002_not_ses_001(evaluate, condition):
    statement = dict(ALLOW_SEND, Condition=condition)
    result = evaluate(plan(identity("aws_iam_policy.p", statement)))
    assert rules_of(result) == {"SES-002"}
    assert next(f for f in result["findings"] if f["rule_id"] == "SES-002")["severity"] == "deny"


def test_deny_in_same_policy_counts_as_control(evaluate):
    deny = {"Effect": "Deny", "Action": "ses:Send*", "Resource": "*",
            "Condition": {"ForAnyValue:StringNotLike": {"ses:Recipients": ["*@example.com"]}}}
    assert rules_of(evaluate(plan(identity("aws_iam_policy.p", ALLOW_SEND, deny)))) == set()
    v1_only = dict(deny, Condition=dict(deny["Condition"], StringEquals={"ses:ApiVersion": "1"}))
    result = evaluate(plan(identity("aws_iam_policy.p", ALLOW_SEND, v1_only)))
    assert rules_of(result) == {"SES-001"}  # API v2 SendEmail is still unrestricted


def test_ineffective_deny_does_not_count(evaluate):
    deny = {"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*",
            "Condition": {"ForAllValues:StringNotLike": {"ses:Recipients": ["*@example.com"]}}}
    assert rules_of(evaluate(plan(identity("aws_iam_policy.p", ALLOW_SEND, deny)))) == {"SES-001", "SES-002"}


def test_deny_statement_itself_is_not_flagged(evaluate):
    deny = {"Effect": "Deny", "Action": "ses:*", "Resource": "*"}
    assert rules_of(evaluate(plan(identity("aws_iam_policy.p", deny)))) == set()


def test_custom_verification_email_warns_unless_administrator(evaluate):
    statement = {"Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}
    change = resource("aws_iam_role_policy.admin", "aws_iam_role_policy",
                      {"role": "platform-admin", "policy": policy_json(statement)})
    assert "SES-003" in rules_of(evaluate(plan(change)), "aws_iam_role_policy.admin")
    configured = evaluate(plan(change), {"administrators": ["platform-*"]})
    assert "SES-003" not in rules_of(configured, "aws_iam_role_policy.admin")


def test_resource_policy_for_another_account(evaluate):
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": ["SES:SendEmail", "ses:SendRawEmail"], "Resource": "*"}
    change = resource("aws_ses_identity_policy.p", "aws_ses_identity_policy", {"policy": policy_json(statement)})
    result = evaluate(plan(change))
    finding = next(f for f in result["findings"] if f["resource"] == "aws_ses_identity_policy.p")
    assert finding["rule_id"] == "SES-001" and finding["policy_kind"] == "resource"
    assert finding["actions"] == ["ses:SendEmail", "ses:SendRawEmail"]


def _reference_scp(domain: str | None) -> str:
    text = (FIXTURES / "policies" / "restrict_untrusted_endpoints_scp.json").read_text()
    return text.replace("<trusted_email_domain>", domain) if domain else text


def _perimeter() -> dict:
    return scp("aws_organizations_policy.perimeter",
               (FIXTURES / "policies" / "resource_perimeter_scp.json").read_text())


def test_recommended_scp_with_real_domain_passes(evaluate):
    result = evaluate(plan(_perimeter(), scp("aws_organizations_policy.ses", _reference_scp("example.com"))))
    assert result["findings"] == []


def test_recommended_scp_with_placeholder_fails(evaluate):
    result = evaluate(plan(_perimeter(), scp("aws_organizations_policy.ses", _reference_scp(None))))
    assert ("SES-002", "aws_organizations_policy.ses") in ids(result)
    assert ("SES-004", "aws_organizations_policy.perimeter") in ids(result)


def test_perimeter_without_ses_controls_is_ses_004_and_006(evaluate):
    result = evaluate(plan(_perimeter()))
    assert ids(result) == {("SES-004", "aws_organizations_policy.perimeter"),
                           ("SES-006", "aws_organizations_policy.perimeter")}
    ses_004 = next(f for f in result["findings"] if f["rule_id"] == "SES-004")
    assert ses_004["actions"] == ["ses:SendBulkTemplatedEmail", "ses:SendEmail", "ses:SendRawEmail",
                                  "ses:SendTemplatedEmail"]
    assert "(API v2)" in ses_004["msg"]


def test_without_perimeter_ses_004_and_006_do_not_apply(evaluate):
    assert evaluate(plan(identity("aws_iam_policy.q", dict(ALLOW_SEND, Condition=RESTRICTED))))["findings"] == []


def test_rcp_never_counts_as_scp_control(evaluate):
    rcp = scp("aws_organizations_policy.rcp", _reference_scp("example.com"), kind="RESOURCE_CONTROL_POLICY")
    result = evaluate(plan(_perimeter(), rcp))
    assert {"SES-004", "SES-006"} <= {rule for rule, _ in ids(result)}


def test_api_version_limited_control_is_ses_005(evaluate):
    document = json.loads(_reference_scp("example.com"))
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "PreventUntrustedSESv2Emails"]
    result = evaluate(plan(scp("aws_organizations_policy.ses", json.dumps(document))))
    assert ids(result) == {("SES-005", "aws_organizations_policy.ses")}
    assert next(f for f in result["findings"])["statement"] == "PreventUntrustedSESv1Emails"


def test_admin_exemption_by_principal_arn_counts_for_ses_006(evaluate):
    document = json.loads(_reference_scp("example.com"))
    for statement in document["Statement"]:
        if statement.get("Sid") == "PreventUntrustedSESVerificationEmails":
            statement["Condition"] = {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}
    result = evaluate(plan(_perimeter(), scp("aws_organizations_policy.ses", json.dumps(document))))
    assert result["findings"] == []


@pytest.mark.parametrize("after,unknown,reason", [
    ({}, {"policy": True}, "not known until apply"),
    ({"policy": "{not json"}, {}, "not valid JSON"),
    ({"policy": json.dumps({"Statement": [{"Effect": "Allow"}]})}, {}, "neither Action nor NotAction"),
    ({"policy": json.dumps(["x"])}, {}, "not a JSON object"),
])
def test_unverifiable_policies_are_ses_007(evaluate, after, unknown, reason):
    result = evaluate(plan(resource("aws_iam_policy.p", "aws_iam_policy", after, unknown=unknown)))
    findings = [f for f in result["findings"] if f["rule_id"] == "SES-007"]
    assert len(findings) == 1 and reason in findings[0]["msg"]


def test_policy_document_read_during_apply_is_evaluated_from_its_statements(evaluate):
    document = resource("data.aws_iam_policy_document.send", "aws_iam_policy_document", {
        "statement": [{"sid": "", "effect": "Allow", "actions": ["ses:SendEmail"], "not_actions": [],
                       "resources": [], "not_resources": [], "principals": [], "not_principals": [],
                       "condition": []}]}, unknown={"json": True, "statement": [{"resources": True}]},
        actions=("read",), mode="data")
    policy = resource("aws_iam_policy.p", "aws_iam_policy", {"name": "p"}, unknown={"policy": True})
    configuration = {"root_module": {"resources": [
        {"address": "aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy", "name": "p",
         "expressions": {"policy": {"references": ["data.aws_iam_policy_document.send.json",
                                                   "data.aws_iam_policy_document.send"]}}}]}}
    result = evaluate(plan(document, policy, configuration=configuration))
    finding = next(f for f in result["findings"] if f["resource"] == "aws_iam_policy.p")
    assert finding["rule_id"] == "SES-001"
    assert finding["evaluated_from"] == "data.aws_iam_policy_document.send"
    assert "read during apply" in finding["msg"]


def test_sparse_policy_document_blocks_are_still_evaluated(evaluate):
    """A statement block without effect or resources allows, as the provider's defaults do."""
    document = resource("data.aws_iam_policy_document.send", "aws_iam_policy_document", {
        "statement": [{"actions": ["ses:SendEmail"]}]}, unknown={"json": True}, actions=("read",), mode="data")
    policy = resource("aws_iam_policy.p", "aws_iam_policy", {"name": "p"}, unknown={"policy": True})
    configuration = {"root_module": {"resources": [
        {"address": "aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy", "name": "p",
         "expressions": {"policy": {"references": ["data.aws_iam_policy_document.send.json"]}}}]}}
    result = evaluate(plan(document, policy, configuration=configuration))
    assert [f["rule_id"] for f in result["findings"] if f["resource"] == "aws_iam_policy.p"] == ["SES-001"]


def test_unknown_action_names_are_ses_008(evaluate):
    statement = dict(ALLOW_SEND, Action=["ses:SendEmal", "ses:Foo*"], Condition=RESTRICTED)
    result = evaluate(plan(identity("aws_iam_policy.p", statement)))
    finding = next(f for f in result["findings"] if f["rule_id"] == "SES-008")
    assert finding["actions"] == ["ses:Foo*", "ses:SendEmal"]


@pytest.mark.parametrize("action", ["ses:SendBulkEmail", "ses:CreateContactList", "ses:ListAddonInstances",
                                    "ses:PutDedicatedIpWarmupAttributes", "ses:Get*"])
def test_valid_v2_mail_manager_pinpoint_actions_are_not_ses_008(evaluate, action):
    statement = dict(ALLOW_SEND, Action=action)
    assert "SES-008" not in rules_of(evaluate(plan(identity("aws_iam_policy.p", statement))))


@pytest.mark.parametrize("actions,evaluated", [
    (["no-op"], True), (["update"], True), (["delete", "create"], True), (["create", "delete"], True),
    (["create", "forget"], True), (["delete"], False), (["forget"], False)])
def test_only_removed_resources_are_skipped(evaluate, actions, evaluated):
    result = evaluate(plan(identity("aws_iam_policy.p", ALLOW_SEND, actions=actions)))
    assert ("SES-001" in rules_of(result)) is evaluated


def test_module_addresses_and_inline_policies(evaluate):
    role = resource('module.mail.aws_iam_role.app["k"]', "aws_iam_role", {
        "name": "app", "inline_policy": [{"name": "send", "policy": policy_json(ALLOW_SEND)}]},
        module="module.mail", index="k")
    result = evaluate(plan(role))
    finding = next(f for f in result["findings"])
    assert finding["resource"] == 'module.mail.aws_iam_role.app["k"]'
    assert finding["attribute"] == "inline_policy[0].policy"


def test_configuration_severity_waivers_and_attestation(evaluate):
    changes = plan(identity("aws_iam_policy.p", ALLOW_SEND), _perimeter())
    raised = evaluate(changes, {"severity": {"SES-001": "deny"}})
    assert next(f for f in raised["findings"] if f["rule_id"] == "SES-001")["severity"] == "deny"
    waived = evaluate(changes, {"waivers": [{"rule_id": "SES-001", "resource": "aws_iam_policy.*",
                                             "reason": "legacy", "expires": "2999-01-01"}]})
    assert "SES-001" not in rules_of(waived)
    assert waived["report"]["waived"] == 1
    expired = evaluate(changes, {"waivers": [{"rule_id": "SES-001", "resource": "aws_iam_policy.p",
                                              "reason": "legacy", "expires": "2001-01-01"}]})
    assert "SES-001" in rules_of(expired)
    attested = evaluate(changes, {"scp_attested": True})
    rules = {f["rule_id"]: f["severity"] for f in attested["findings"]}
    assert rules == {"SES-001": "info"}


def test_trusted_recipients_configuration(evaluate):
    statement = dict(ALLOW_SEND, Condition={"ForAllValues:StringLike": {"ses:Recipients": ["*@gmail.com"]}})
    changes = plan(identity("aws_iam_policy.p", statement))
    assert evaluate(changes)["findings"] == []
    assert rules_of(evaluate(changes, {"trusted_recipients": ["*@example.com"]})) == {"SES-002"}


def test_report_entry_point(evaluate):
    report = evaluate(plan(_perimeter()), document="sesrego.report")
    assert report["allow"] is False and report["deny"] == 2 and report["warn"] == 0
    assert len(report["findings"]) == 2


def test_per_rule_packages_for_conftest(evaluate):
    changes = plan(identity("aws_iam_policy.p", ALLOW_SEND), _perimeter())
    assert [f["rule_id"] for f in evaluate(changes, document="sesrego.rules.ses_001.warn")] == ["SES-001"]
    assert evaluate(changes, document="sesrego.rules.ses_001.deny") == []
    assert len(evaluate(changes, document="sesrego.rules.ses_004.deny")) == 1


def test_order_and_key_case_do_not_change_findings(evaluate):
    a = dict(ALLOW_SEND, Sid="A")
    b = {"Sid": "B", "Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"}
    forward = evaluate(plan(identity("aws_iam_policy.p", a, b)))["findings"]
    backward = evaluate(plan(identity("aws_iam_policy.p", b, a)))["findings"]
    assert forward == backward
    upper = dict(ALLOW_SEND, Condition={"ForAllValues:StringLike": {"SES:RECIPIENTS": ["*@example.com"]}})
    assert evaluate(plan(identity("aws_iam_policy.p", upper)))["findings"] == []
