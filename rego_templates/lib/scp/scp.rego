# METADATA
# title: Organization SCP coverage
# description: |
#   What the plan's service control policies, taken together, enforce for SES: which
#   send actions they deny to untrusted recipients per API version, and whether they keep
#   SendCustomVerificationEmail for administrators. Resource control policies never count.
# scope: package
package sesrego.lib.scp

import rego.v1

import data.sesrego.lib.iam
import data.sesrego.lib.plan

# perimeter_statements are the resource-perimeter statements of the SCPs (see iam.perimeter_statement),
# as [policy, statement] pairs.
perimeter_statements := [[policy, statement] |
	some policy in plan.scps
	some statement in policy.statements
	iam.perimeter_statement(statement, plan.patterns)
]

# perimeter_scps are the SCPs that hold a resource perimeter.
perimeter_scps contains policy if {
	some [policy, _] in perimeter_statements
}

# guards are what each SCP Deny controls (see iam.guard), limited to the pairs whose every resource
# it covers: an SCP stands alone, so its resource element must cover the whole resource type.
guards := [object.union(guard, {"pairs": pairs, "blocks": pairs & guard.blocks, "policy": policy}) |
	some policy in plan.scps
	some statement in policy.statements
	statement.effect == "Deny"
	guard := iam.guard(statement, iam.tracked_actions_of(statement, plan.patterns))
	pairs := {pair | some pair in guard.pairs; iam.guard_covers(guard, pair, null, "recipients")}
	count(pairs) > 0
]

# recipient_coverage is every [action, api version] pair some SCP denies to untrusted recipients:
# with an effective ses:Recipients condition, or altogether (the strongest control).
recipient_coverage contains pair if {
	some guard in guards
	some pair in guard.pairs
}

uncovered_send_actions contains pair if {
	some pair in iam.send_pairs
	not pair in recipient_coverage
}

# admin_only_controlled holds when SCPs deny every admin-only action, in every API version, to
# everyone but exempted principals.
admin_only_controlled if {
	every pair in iam.admin_only_pairs {
		_admin_only_denied(pair)
	}
}

_admin_only_denied(pair) if {
	some guard in guards
	pair in guard.blocks
}
