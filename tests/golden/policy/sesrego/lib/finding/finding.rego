# METADATA
# title: Findings
# description: |
#   Builds the finding object every rule emits, applying the configured severity
#   overrides and waivers, so that data.sesrego.findings, data.sesrego.report and each
#   rule's deny/warn sets (for conftest) always agree.
# scope: package
package sesrego.lib.finding

import rego.v1

import data.sesrego.lib.config
import data.sesrego.lib.iam

# make is the finding for one violation of a rule, with the rule's configured severity.
make(rule, severity, violation) := object.union(
	{
		"msg": _message(violation),
		"rule_id": rule.id,
		"title": rule.title,
		"severity": severity,
		"resource": violation.policy.address,
		"resource_type": violation.policy.resource_type,
		"policy_kind": violation.policy.kind,
		"attribute": violation.policy.attribute,
		"statement": violation.statement,
		"actions": sort([iam.display(action) | some action in violation.actions]),
		"consideration": _considerations(rule, violation.actions),
		"remediation": rule.remediation,
	},
	_evaluated_from(violation.policy),
)

_message(violation) := sprintf("%s (evaluated from the statements of %s, which is read during apply)", [
	violation.msg,
	violation.policy.evaluated_from,
]) if {
	violation.policy.evaluated_from
} else := violation.msg

_evaluated_from(policy) := {"evaluated_from": policy.evaluated_from} if {
	policy.evaluated_from
} else := {}

# severity is a rule's configured severity: an override, else the lower severity that applies
# when the organization's SCPs are attested (for the rules that have one), else its default.
severity(rule) := config.severity(rule.id, rule.attested_severity) if {
	config.scp_attested
	is_string(rule.attested_severity)
} else := config.severity(rule.id, rule.severity)

# The guidance considerations behind the actions of a finding, else those of the rule.
_considerations(rule, actions) := refs if {
	refs := sort({ref |
		some action in actions
		some ref in object.get(iam.facts.considerations, action, [])
		ref in rule.considerations
	})
	count(refs) > 0
} else := rule.considerations

# facts_loaded holds when the catalog facts are in the data document. Without them every rule
# would pass silently, so each rule reports the missing data instead.
facts_loaded if is_object(iam.facts.actions)

data_missing(rule) := {
	"msg": "The sesrego data document is not loaded: pass the compiled data.json (conftest -d policy/) or use the bundle.",
	"rule_id": rule.id,
	"title": rule.title,
	"severity": "deny",
	"resource": "",
	"resource_type": "",
	"policy_kind": "",
	"attribute": "",
	"statement": null,
	"actions": [],
	"consideration": rule.considerations,
	"remediation": "Load data.json with the policies.",
}

# describe lists actions for a message: "ses:SendEmail, ses:SendRawEmail".
describe(actions) := concat(", ", sort([iam.display(action) | some action in actions]))

# statement_name is how a message names a statement: its Sid, else its position.
statement_name(statement) := sprintf("statement %q", [iam.ref(statement)]) if is_string(iam.ref(statement))

statement_name(statement) := sprintf("statement %d", [statement.index]) if not is_string(iam.ref(statement))
