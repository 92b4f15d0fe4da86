# METADATA
# title: Tests of sesrego.lib.scp
# description: |
#   What the plan's SCPs enforce together: resource perimeters, the send pairs they deny to untrusted
#   recipients per API version, the administrator control, and what unknown values leave undecided.
# scope: package
package sesrego.lib.scp_test

import rego.v1

import data.sesrego.lib.scp

_policy(address, type, statements) := {
	"address": address,
	"mode": "managed",
	"type": "aws_organizations_policy",
	"name": split(address, ".")[1],
	"change": {
		"actions": ["create"],
		"after": {"type": type, "content": json.marshal({"Version": "2012-10-17", "Statement": statements})},
		"after_unknown": {},
	},
}

_scp(address, statements) := _policy(address, "SERVICE_CONTROL_POLICY", statements)

_perimeter := {"Sid": "Perimeter", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
	"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-1", "aws:PrincipalTag/dp:exclude:resource": "true"},
}}

_recipients(version, actions) := {"Effect": "Deny", "Action": actions, "Resource": "*", "Condition": {
	"ForAnyValue:StringNotLike": {"ses:Recipients": ["*@example.com"]},
	"StringEquals": {"ses:ApiVersion": version},
}}

_v1 := _recipients("1", ["ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail"])

_v2 := _recipients("2", ["ses:SendEmail"])

_admin := {"Effect": "Deny", "Action": "ses:SendCustomVerificationEmail", "Resource": "*", "Condition": {
	"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"},
}}

_send_pairs := {
	["ses:sendbulktemplatedemail", "1"], ["ses:sendemail", "1"], ["ses:sendrawemail", "1"],
	["ses:sendtemplatedemail", "1"], ["ses:sendemail", "2"],
}

_input(changes) := {"resource_changes": changes}

test_a_resource_perimeter_alone_covers_no_send_pair if {
	changes := [_scp("aws_organizations_policy.perimeter", [_perimeter])]
	[policy] := [policy | some policy in scp.perimeter_scps] with input as _input(changes)
	policy.address == "aws_organizations_policy.perimeter"
	scp.uncovered_send_actions == _send_pairs with input as _input(changes)
	not scp.admin_only_controlled with input as _input(changes)
}

test_the_recommended_statements_cover_every_send_pair_and_the_admin_action if {
	changes := [
		_scp("aws_organizations_policy.perimeter", [_perimeter]),
		_scp("aws_organizations_policy.ses", [_v1, _v2, _admin]),
	]
	admin_pairs := {["ses:sendcustomverificationemail", "1"], ["ses:sendcustomverificationemail", "2"]}
	scp.recipient_coverage == _send_pairs | admin_pairs with input as _input(changes) # the admin Deny blocks
	scp.uncovered_send_actions == set() with input as _input(changes)
	scp.admin_only_controlled with input as _input(changes)
	scp.admin_only_possibly_controlled with input as _input(changes)
}

test_an_scp_unknown_as_a_whole_may_hold_every_control if {
	unknown := json.patch(_scp("aws_organizations_policy.ses", []), [
		{"op": "remove", "path": "/change/after/content"},
		{"op": "add", "path": "/change/after_unknown/content", "value": true},
	])
	changes := [_scp("aws_organizations_policy.perimeter", [_perimeter]), unknown]
	scp.uncovered_send_actions == set() with input as _input(changes)
	scp.admin_only_possibly_controlled with input as _input(changes)
	not scp.admin_only_controlled with input as _input(changes)
	count(scp.undecided) == 0 with input as _input(changes) # its own SES-007 says so
}

test_a_guard_limited_to_one_version_misses_the_other if {
	changes := [_scp("aws_organizations_policy.ses", [_v1])]
	[guard] := scp.guards with input as _input(changes)
	guard.versions == {"1"}
	scp.missing_versions(guard, scp.recipient_coverage) == {["ses:sendemail", "2"]} with input as _input(changes)
	both := [_scp("aws_organizations_policy.ses", [_v1, _v2])]
	every guard in scp.guards {
		scp.missing_versions(guard, scp.recipient_coverage) == set()
	} with input as _input(both)
}

test_a_deny_on_some_resources_covers_nothing_in_an_scp if {
	scoped := object.union(_v1, {"Resource": "arn:aws:ses:us-east-1:*:identity/*"})
	changes := [_scp("aws_organizations_policy.ses", [scoped])]
	scp.recipient_coverage == set() with input as _input(changes)
}

test_resource_control_policies_never_count if {
	changes := [
		_scp("aws_organizations_policy.perimeter", [_perimeter]),
		_policy("aws_organizations_policy.rcp", "RESOURCE_CONTROL_POLICY", [_v1, _v2, _admin]),
	]
	scp.uncovered_send_actions == _send_pairs with input as _input(changes)
	scp.guards == [] with input as _input(changes)
}

test_an_organization_policy_of_unknown_type_may_be_an_scp if {
	unknown := object.union(_policy("aws_organizations_policy.maybe", null, [_v1, _v2]), {"change": {
		"after": {"type": null},
		"after_unknown": {"type": true},
	}})
	changes := [_scp("aws_organizations_policy.perimeter", [_perimeter]), unknown]
	scp.possible_coverage == _send_pairs with input as _input(changes)
	scp.recipient_coverage == set() with input as _input(changes)
	scp.uncovered_send_actions == set() with input as _input(changes) # not certainly uncovered
	rules := {item.rule | some item in scp.undecided} with input as _input(changes)
	"SES-004" in rules
	items := [item | some item in scp.undecided; item.rule == "SES-004"] with input as _input(changes)
	every item in items {
		item.policy.address == "aws_organizations_policy.maybe"
		item.expressions == {"aws_organizations_policy.maybe.type"}
	}
}

test_undecided_items_name_the_only_uncertain_statement_and_skip_attested_rules if {
	marked := object.union(_policy("aws_organizations_policy.ses", "SERVICE_CONTROL_POLICY", []), {
		"change": {"after": {"content": null}, "after_unknown": {"content": true}},
		"sesrego": {"documents": {"content": {"Statement": [
			object.union(_admin, {"Sid": "Admin", "Effect": {"$unknown": ["var.effect"]}}),
			_v1,
			_v2,
		]}}},
	})
	changes := [_scp("aws_organizations_policy.perimeter", [_perimeter]), marked]
	[item] := [item | some item in scp.undecided] with input as _input(changes)
	item.rule == "SES-006"
	item.statement == "Admin"
	count(scp.undecided) == 0 with input as _input(changes) with data.sesrego.config as {"scp_attested": true}
}

test_an_uncertain_scp_is_named_only_for_the_verdicts_it_may_change if {
	recipients := object.union(_policy("aws_organizations_policy.b", "SERVICE_CONTROL_POLICY", []), {
		"change": {"after": {"content": null}, "after_unknown": {"content": true}},
		"sesrego": {"documents": {"content": {"Statement": [object.union(_v1, {
			"Sid": "V1",
			"Resource": {"$unknown": ["var.resource"]},
		})]}}},
	})
	changes := [_scp("aws_organizations_policy.perimeter", [_perimeter, _admin]), recipients]
	rules := {item.rule | some item in scp.undecided} with input as _input(changes)
	rules == {"SES-004", "SES-005"} # a guard of send pairs cannot change SES-006
	every item in scp.undecided {
		item.policy.address == "aws_organizations_policy.b"
		item.statement == "V1"
	} with input as _input(changes)
}
