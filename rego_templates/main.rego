# METADATA
# title: sesrego
# description: |
#   Every finding of the SES data-perimeter rules, after waivers: data.sesrego.findings for
#   scanners, data.sesrego.report for an OPA server decision. This package defines no deny or
#   warn of its own, so conftest --all-namespaces reports each finding once, from its rule.
#   It reads every rule package under data.sesrego.rules that defines findings, with no list of
#   them, as Regal's main.rego does: a new rule needs no change here.
# scope: package
package sesrego

import rego.v1

import data.sesrego.lib.config
import data.sesrego.lib.plan

# findings are all findings of all rules, after severity overrides and waivers. Only the findings
# rule of each package under data.sesrego.rules is evaluated, never a whole package, and it counts
# only as a set: JSON data put under data.sesrego.rules cannot hold one, so it adds no finding.
findings contains result if {
	some name
	results := data.sesrego.rules[name].findings
	is_set(results)
	some result in results
}

# waived are the findings a waiver covers, with that waiver.
waived contains result if {
	some name
	results := data.sesrego.rules[name].waived
	is_set(results)
	some result in results
}

_count(severity) := count([result | some result in findings; result.severity == severity])

# report is the decision for an OPA server: allow is false when any finding is deny-level.
report := {
	"allow": _count("deny") == 0,
	"deny": _count("deny"),
	"warn": _count("warn"),
	"info": _count("info"),
	"waived": count(waived),
	"findings": [result | some result in findings],
}

# checked says what was read: the policy attributes (one attribute of one resource instance),
# and how many of them could not be verified (an SES-007 finding, before waivers).
checked := {
	"policies": count(plan.policies),
	"unverifiable": count(_unverifiable),
}

_unverifiable contains [result.resource, result.attribute] if {
	some result in findings
	result.rule_id == "SES-007"
}

_unverifiable contains [result.resource, result.attribute] if {
	some result in waived
	result.rule_id == "SES-007"
}

# waivers_used are the waivers that covered a finding.
waivers_used contains result.waiver if {
	some result in waived
}

# waivers_expired are the waivers whose expiry has passed: they cover nothing any more.
waivers_expired contains waiver if {
	some waiver in config.waivers
	config.expired(waiver)
}

# waivers_unused are the waivers in force that covered no finding.
waivers_unused contains waiver if {
	some waiver in config.waivers
	not config.expired(waiver)
	not waiver in waivers_used
}
