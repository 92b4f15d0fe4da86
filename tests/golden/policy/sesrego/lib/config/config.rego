# METADATA
# title: sesrego configuration
# description: |
#   Reads data.sesrego.config (loaded with conftest --data, OPA data or sesrego scan --data):
#   administrator principal patterns, severity overrides, waivers, trusted recipient patterns and
#   the attestation that the organization's SCPs enforce the SES controls elsewhere.
#   Every key is optional; a value of the wrong type is ignored rather than trusted.
# scope: package
package sesrego.lib.config

import rego.v1

import data.sesrego.lib.iam

config := data.sesrego.config if is_object(data.sesrego.config) else := {}

administrators := [lower(pattern) |
	some pattern in _list("administrators")
	is_string(pattern)
]

waivers := [waiver |
	some waiver in _list("waivers")
	is_object(waiver)
	is_string(waiver.rule_id)
	is_string(waiver.resource)
]

# scp_attested holds when the organization's SCPs enforce the SES controls outside this plan.
scp_attested if config.scp_attested == true

_list(key) := config[key] if is_array(config[key]) else := []

# is_administrator holds when one of the names a policy applies to matches an administrator pattern.
is_administrator(names) if {
	some name in names
	some pattern in administrators
	glob.match(iam.glob_escape(pattern), null, lower(name))
}

# severity is the configured severity of a rule, else its default.
severity(rule_id, fallback) := config.severity[rule_id] if {
	config.severity[rule_id] in {"deny", "warn", "info"}
} else := fallback

# waiver_for is the first waiver that applies to a finding, if any.
waiver_for(finding) := applicable[0] if {
	applicable := [waiver |
		some waiver in waivers
		waiver.rule_id in {finding.rule_id, "*"}
		covers(waiver, finding.resource)
		not expired(waiver)
	]
	count(applicable) > 0
}

# covers holds when a waiver's resource names an address. A configuration waiver's resource is a glob
# over addresses (only * and ? are wildcards). An inline suppression's (source "inline") is the
# configuration address of the block the comment is on, module.a.aws_iam_policy.p (or module.a.* for
# a module call): it covers every instance (module.a["k"].aws_iam_policy.p[0]) and nothing in
# another module.
covers(waiver, address) if {
	not waiver.source == "inline"
	glob.match(iam.glob_escape(waiver.resource), null, address)
}

covers(waiver, address) if {
	waiver.source == "inline"
	regex.match(_instances_regex(waiver.resource), address)
}

# _instances_regex: each step of a configuration address may take an instance key ([0], ["k"]).
_instances_regex(resource) := concat("", ["^", concat(separator, steps), _instance_key, "$"]) if {
	separator := concat("", [_instance_key, `\.`])
	steps := [_step_regex(step) | some step in split(resource, ".")]
}

_instance_key := `(\[([0-9]+|"([^"\\]|\\.)*")\])?`

_step_regex("*") := ".*"

_step_regex(step) := regex.replace(step, `[\\.+*?()|\[\]{}^$]`, `\$0`) if step != "*"

# waiver_or_null is waiver_for, or null when no waiver applies.
waiver_or_null(finding) := waiver_for(finding) if {
	count(waivers) > 0
} else := null

# expired holds for a waiver whose expires date (YYYY-MM-DD, or an RFC 3339 time) is in the past.
# A waiver with an unreadable date never applies.
expired(waiver) if {
	"expires" in object.keys(waiver)
	not _valid_date(waiver.expires)
}

expired(waiver) if {
	_valid_date(waiver.expires)
	substring(waiver.expires, 0, 10) < today
}

_valid_date(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`, value)
}

today := sprintf("%04d-%02d-%02d", time.date(time.now_ns()))
