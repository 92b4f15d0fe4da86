# METADATA
# title: Tests of sesrego.lib.finding
# description: Findings carry every documented field, the configured severity and the considerations behind them.
# scope: package
package sesrego.lib.finding_test

import rego.v1

import data.sesrego.lib.finding

_rule := {
	"id": "SES-001",
	"title": "A rule",
	"severity": "warn",
	"attested_severity": "info",
	"considerations": ["ses-v1#2", "ses-v2#1"],
	"remediation": "Fix it.",
}

_policy := {"address": "aws_iam_policy.p", "resource_type": "aws_iam_policy", "kind": "identity", "attribute": "policy"}

_violation := {"policy": _policy, "statement": "Send", "actions": {"ses:sendrawemail", "ses:sendemail"}, "msg": "m"}

test_make_has_every_finding_field if {
	result := finding.make(_rule, "warn", _violation)
	object.keys(result) == {
		"msg", "rule_id", "title", "severity", "resource", "resource_type", "policy_kind", "attribute",
		"statement", "actions", "consideration", "remediation",
	}
	result.rule_id == "SES-001"
	result.resource == "aws_iam_policy.p"
	result.policy_kind == "identity"
	result.statement == "Send"
	result.actions == ["ses:SendEmail", "ses:SendRawEmail"] # catalog spelling, sorted
	result.remediation == "Fix it."
}

test_considerations_are_those_behind_the_actions if {
	finding.make(_rule, "warn", _violation).consideration == ["ses-v1#2"] with data.sesrego.facts.considerations as {
		"ses:sendemail": ["ses-v1#2", "ses-v1#9"],
		"ses:sendrawemail": ["ses-v1#9"],
	}
	no_actions := object.union(_violation, {"actions": set()})
	finding.make(_rule, "warn", no_actions).consideration == ["ses-v1#2", "ses-v2#1"]
}

test_a_policy_evaluated_from_a_document_says_so if {
	policy := object.union(_policy, {"evaluated_from": "data.aws_iam_policy_document.send"})
	result := finding.make(_rule, "warn", object.union(_violation, {"policy": policy}))
	result.evaluated_from == "data.aws_iam_policy_document.send"
	endswith(result.msg, concat("", [
		"(evaluated from the statements of data.aws_iam_policy_document.send, ",
		"which is read during apply)",
	]))
	not "evaluated_from" in object.keys(finding.make(_rule, "warn", _violation))
}

test_severity_is_the_override_else_attested_else_default if {
	finding.severity(_rule) == "warn" with data.sesrego.config as {}
	finding.severity(_rule) == "info" with data.sesrego.config as {"scp_attested": true}
	finding.severity(_rule) == "deny" with data.sesrego.config as {"scp_attested": true, "severity": {"SES-001": "deny"}}
	unattested := object.union(_rule, {"severity": "deny", "attested_severity": null})
	finding.severity(unattested) == "deny" with data.sesrego.config as {}
	finding.severity(unattested) == "deny" with data.sesrego.config as {"scp_attested": true}
	overridden := {"scp_attested": true, "severity": {"SES-001": "warn"}}
	finding.severity(unattested) == "warn" with data.sesrego.config as overridden
}

test_statement_name_is_the_sid_else_the_index if {
	finding.statement_name({"index": 2, "raw": {"Sid": "Send"}}) == `statement "Send"`
	finding.statement_name({"index": 2, "raw": {"Sid": ""}}) == "statement 2"
	finding.statement_name({"index": 0, "raw": {}}) == "statement 0"
}

test_describe_lists_actions_as_the_catalogs_spell_them if {
	finding.describe({"ses:sendrawemail", "ses:sendemail"}) == "ses:SendEmail, ses:SendRawEmail"
	finding.describe({"ses:unknownaction"}) == "ses:unknownaction"
}

test_missing_facts_are_a_finding_of_their_own if {
	finding.facts_loaded
	not finding.facts_loaded with data.sesrego.facts as {}
	missing := finding.data_missing(_rule)
	missing.severity == "deny"
	missing.rule_id == "SES-001"
}
