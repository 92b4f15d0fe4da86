# METADATA
# title: Organization SCP coverage
# description: |
#   What the plan's service control policies, taken together, enforce for SES: which
#   send actions they deny to untrusted recipients per API version, and whether they keep
#   SendCustomVerificationEmail for administrators. Resource control policies never count.
#   Statements with unknown values, and the statements of an organization policy whose type is
#   unknown (it may be an SCP), only possibly count: a verdict they may change is undecided.
# scope: package
package sesrego.lib.scp

import rego.v1

import data.sesrego.lib.config
import data.sesrego.lib.iam
import data.sesrego.lib.plan

# perimeter_statements are the resource-perimeter statements of the SCPs (see iam.perimeter_statement),
# as [policy, statement] pairs.
perimeter_statements := [[policy, statement] |
	some policy in plan.scps
	some statement in policy.statements
	not statement.marked
	iam.perimeter_statement(statement, plan.patterns)
]

# perimeter_scps are the SCPs that hold a resource perimeter.
perimeter_scps contains policy if {
	some [policy, _] in perimeter_statements
}

# guards are what each SCP Deny controls (see iam.guard), limited to the pairs whose every resource
# it covers: an SCP stands alone, so its resource element must cover the whole resource type.
guards := [_covered(guard, policy) |
	some policy in plan.scps
	some statement in policy.statements
	statement.effect == "Deny"
	not statement.marked
	guard := iam.guard(statement, iam.tracked_actions_of(statement, plan.patterns))
]

_covered(guard, policy) := object.union(guard, {"pairs": pairs, "blocks": pairs & guard.blocks, "policy": policy}) if {
	pairs := {pair | some pair in guard.pairs; iam.guard_covers(guard, pair, null, "recipients")}
}

# recipient_coverage is every [action, api version] pair some SCP denies to untrusted recipients:
# with an effective ses:Recipients condition, or altogether (the strongest control).
recipient_coverage contains pair if {
	some guard in guards
	some pair in guard.pairs
}

# uncovered_send_actions are the send pairs that no SCP covers, whatever values are unknown.
uncovered_send_actions contains pair if {
	some pair in iam.send_pairs
	not pair in possible_coverage
}

# admin_only_controlled holds when SCPs deny every admin-only action, in every API version, to
# everyone but exempted principals.
admin_only_controlled if {
	every pair in iam.admin_only_pairs {
		_blocked(pair, guards)
	}
}

# admin_only_possibly_controlled holds when they may, for some value of the unknowns.
admin_only_possibly_controlled if {
	every pair in iam.admin_only_pairs {
		_blocked(pair, array.concat(guards, possible_guards))
	}
}

_blocked(pair, in_guards) if {
	some guard in in_guards
	pair in guard.blocks
}

# --- what unknown values may change ------------------------------------------------------------

# uncertain_statements are the SCP statements that only possibly count: those with unknown values,
# and those of an organization policy whose type is unknown.
uncertain_statements := [[policy, statement] |
	some policy in array.concat(plan.scps, plan.possible_scps)
	some statement in policy.statements
	_uncertain(policy, statement)
]

_uncertain(_, statement) if statement.marked

_uncertain(policy, _) if policy.type_unknown

possible_perimeter_statements := [[policy, statement] |
	some [policy, statement] in uncertain_statements
	_possible_perimeter(statement)
]

_possible_perimeter(statement) if iam.possible_perimeter(statement, plan.patterns)

_possible_perimeter(statement) if {
	not statement.marked
	iam.perimeter_statement(statement, plan.patterns)
}

possible_guards := array.concat(
	[object.union(_covered(guard, policy), {"with_policy": with_policy}) |
		some [policy, statement] in uncertain_statements
		guard := _possible_guard(statement)
		with_policy := object.get(statement, "marked", false) == false
	],
	_unknown_policy_guards,
)

# An SCP unknown as a whole (or an organization policy of unknown type and content) may hold any Deny.
# Its own SES-007 says so, so it adds no undecided item (see _guarding_policies).
_unknown_policy_guards := [object.union(_covered(iam.any_guard, policy), {"with_policy": false, "whole": true}) |
	some policy in plan.unknown_policies
	policy.kind == "scp"
]

_possible_guard(statement) := iam.possible_guard(statement, iam.tracked_may(statement, plan.patterns)) if {
	statement.marked
} else := iam.guard(statement, iam.tracked_actions_of(statement, plan.patterns))

# possible_coverage is what the SCPs may cover, for some value of the unknowns.
possible_coverage := recipient_coverage | {pair |
	some guard in possible_guards
	some pair in guard.pairs
}

# undecided are the SCP verdicts that some values of the unknowns change: {policy, statement, rule,
# actions, expressions}, for each policy whose uncertain statements are involved. Attested SCPs turn
# SES-004 and SES-006 off, so no value changes them then.
undecided contains item if {
	not config.scp_attested
	count(possible_perimeter_statements) + count(perimeter_statements) > 0
	pairs := {pair | some pair in iam.send_pairs; not pair in recipient_coverage} - _certainly_uncovered
	count(pairs) > 0
	some item in _undecided_items("SES-004", pairs, _perimeter_policies | _guarding_policies(pairs, "recipients"))
}

undecided contains item if {
	not config.scp_attested
	count(possible_perimeter_statements) + count(perimeter_statements) > 0
	not admin_only_controlled
	not _admin_only_certainly_uncontrolled
	policies := _perimeter_policies | _guarding_policies(iam.admin_only_pairs, "block")
	some item in _undecided_items("SES-006", iam.admin_only_pairs, policies)
}

undecided contains item if {
	some guard in guards
	missing := missing_versions(guard, recipient_coverage) - missing_versions(guard, possible_coverage)
	count(missing) > 0
	some item in _undecided_items("SES-005", missing, _guarding_policies(missing, "recipients"))
}

# A statement that may be a guard limited to some API versions may leave the others uncovered.
undecided contains item if {
	some guard in possible_guards
	missing := _possibly_missing(guard)
	count(missing) > 0
	policies := {policy | policy := guard.policy; not guard.whole} | _guarding_policies(missing, "recipients")
	some item in _undecided_items("SES-005", missing, policies)
}

_possibly_missing(guard) := {[action, version] |
	some version in iam.facts.api_versions
	some [action, _] in guard.pairs
	action in iam.facts.send_actions[version]
	not [action, version] in recipient_coverage
} if {
	guard.versions_unknown
} else := missing_versions(guard, recipient_coverage | _alongside(guard))

# The known statements of an organization policy of unknown type count together: if it is an SCP,
# all of them are.
_alongside(guard) := {pair |
	guard.with_policy
	some other in possible_guards
	other.with_policy
	other.policy.address == guard.policy.address
	some pair in other.pairs
}

_certainly_uncovered := uncovered_send_actions if count(perimeter_statements) > 0 else := set()

_admin_only_certainly_uncontrolled if {
	count(perimeter_statements) > 0
	not admin_only_possibly_controlled
}

# missing_versions are the send pairs of the API versions a guard leaves out that a coverage lacks.
missing_versions(guard, coverage) := {[action, version] |
	some version in iam.facts.api_versions
	not version in guard.versions
	some [action, _] in guard.pairs
	action in iam.facts.send_actions[version]
	not [action, version] in coverage
}

_undecided_items(rule, pairs, policies) := [{
	"policy": policy,
	"statement": _only_uncertain_statement(policy),
	"rule": rule,
	"actions": {action | some [action, _] in pairs},
	"expressions": _policy_expressions(policy),
} |
	some policy in policies
]

# _only_uncertain_statement names a policy's uncertain statement when it has one, else is null.
_only_uncertain_statement(policy) := refs[0] if {
	refs := [iam.ref(statement) |
		some [other, statement] in uncertain_statements
		other.address == policy.address
		other.attribute == policy.attribute
	]
	count(refs) == 1
} else := null

# The uncertain policies that may change a verdict on some pairs: those with a possible perimeter
# (for SES-004 and SES-006), and those with a possible guard of one of the pairs for a purpose
# ("recipients": it may restrict or block them; "block": it may block them).
_perimeter_policies := {policy | some [policy, _] in possible_perimeter_statements}

_guarding_policies(pairs, purpose) := {guard.policy |
	some guard in possible_guards
	not guard.whole
	count(iam.guard_pairs(guard, purpose) & pairs) > 0
}

_policy_expressions(policy) := {expression |
	some [other, statement] in uncertain_statements
	other.address == policy.address
	other.attribute == policy.attribute
	some expression in object.get(statement, "expressions", set())
} | {expression | some expression in object.get(policy, "type_unknown", [])}
