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

# perimeter_scps are the SCPs that enforce a resource perimeter (a Deny on aws:ResourceOrgID).
perimeter_scps contains policy if {
	some policy in plan.scps
	some statement in policy.statements
	statement.effect == "Deny"
	some condition in iam.conditions(statement)
	condition.key == "aws:resourceorgid"
}

# recipient_coverage is every [action, api version] pair some SCP denies to untrusted recipients.
recipient_coverage contains pair if {
	some policy in plan.scps
	some statement in policy.statements
	some pair in iam.recipient_control_coverage(statement, plan.patterns)
}

uncovered_send_actions contains [action, version] if {
	some version, actions in iam.facts.send_actions
	some action in actions
	not [action, version] in recipient_coverage
}

# admin_only_controlled holds when some SCP denies every admin-only action to everyone
# but exempted principals.
admin_only_controlled if {
	every action in iam.admin_only_actions {
		_admin_only_denied(action)
	}
}

_admin_only_denied(action) if {
	some policy in plan.scps
	some statement in policy.statements
	statement.effect == "Deny"
	iam.all_resources(statement)
	action in iam.tracked_actions_of(statement, plan.patterns)
	_only_principal_conditions(statement)
}

_only_principal_conditions(statement) if {
	every condition in iam.conditions(statement) {
		iam.principal_condition(condition)
	}
}
