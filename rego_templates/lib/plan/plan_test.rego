# METADATA
# title: Tests of sesrego.lib.plan
# description: |
#   Which policy documents a plan holds and how each is read; the statements the rules examine; whose
#   Denies count together; who a policy applies to; and the verdicts per Allow statement.
# scope: package
package sesrego.lib.plan_test

import rego.v1

import data.sesrego.lib.plan

_change(address, type, after) := {
	"address": address,
	"mode": "managed",
	"type": type,
	"name": split(address, ".")[1],
	"change": {"actions": ["create"], "after": after, "after_unknown": {}},
}

_document(statements) := json.marshal({"Version": "2012-10-17", "Statement": statements})

_send := {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}

_deny_send := {"Sid": "NoSend", "Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*"}

_input(changes) := {"resource_changes": changes}

_by_address(policies) := {policy.address: policy | some policy in policies}

test_policies_of_every_kind if {
	changes := [
		_change("aws_iam_policy.identity", "aws_iam_policy", {"policy": _document([_send])}),
		_change("aws_ses_identity_policy.resource", "aws_ses_identity_policy", {"policy": _document([_send])}),
		_change("aws_organizations_policy.scp", "aws_organizations_policy", {
			"type": "SERVICE_CONTROL_POLICY",
			"content": _document([_deny_send]),
		}),
		_change("aws_organizations_policy.rcp", "aws_organizations_policy", {
			"type": "RESOURCE_CONTROL_POLICY",
			"content": _document([_deny_send]),
		}),
		_change("aws_s3_bucket.other", "aws_s3_bucket", {"policy": _document([_send])}),
	]
	policies := _by_address(plan.policies) with input as _input(changes)
	{address: policy.kind | some address, policy in policies} == {
		"aws_iam_policy.identity": "identity",
		"aws_ses_identity_policy.resource": "resource",
		"aws_organizations_policy.scp": "scp",
		"aws_organizations_policy.rcp": "rcp",
	}
	policies["aws_organizations_policy.scp"].attribute == "content"
	every policy in policies {
		policy.status == "ok"
	}
	[scp] := plan.scps with input as _input(changes)
	scp.address == "aws_organizations_policy.scp"
}

test_unverifiable_policies_say_why if {
	changes := [
		_change("aws_iam_policy.text", "aws_iam_policy", {"policy": "{not json"}),
		_change("aws_iam_policy.shape", "aws_iam_policy", {"policy": "[1]"}),
		object.union(_change("aws_iam_policy.later", "aws_iam_policy", {}), {"change": {
			"after_unknown": {"policy": true},
		}}),
		_change("aws_iam_policy.missing", "aws_iam_policy", {}),
	]
	reasons := {policy.address: policy.reason | some policy in plan.policies} with input as _input(changes)
	reasons == {
		"aws_iam_policy.text": "the policy is not valid JSON",
		"aws_iam_policy.shape": "it is not an IAM policy: the policy is not a JSON object",
		"aws_iam_policy.later": "its value is not known until apply",
		"aws_iam_policy.missing": "it has no value in the plan",
	}
	plan.readable_policies == [] with input as _input(changes)
	[unknown] := plan.unknown_policies with input as _input(changes) # only the one unknown until apply
	unknown.address == "aws_iam_policy.later"
	plan.unknown_expressions(unknown) == ["aws_iam_policy.later.policy"]
}

test_an_inline_policy_unknown_as_a_whole_may_guard_its_role if {
	send := _change("aws_iam_role_policy.send", "aws_iam_role_policy", {"role": "app", "policy": _document([_send])})
	later := object.union(_change("aws_iam_role_policy.later", "aws_iam_role_policy", {"role": "app"}), {
		"change": {"after_unknown": {"policy": true}},
		"sesrego": {"unresolved": {"policy": "var.guard"}},
	})
	[guard] := [g | some g in plan.possible_guards["aws_iam_role/app"]] with input as _input([send, later])
	guard.expressions == {"var.guard"}
	["ses:sendemail", "2"] in guard.blocks
	verdict := plan.send_verdicts[0] with input as _input([send, later])
	verdict == {"certain": set(), "possible": {["ses:sendemail", "1"], ["ses:sendemail", "2"]}}
}

test_deleted_and_data_resources_are_skipped if {
	deleted := object.union(_change("aws_iam_policy.gone", "aws_iam_policy", {"policy": _document([_send])}), {
		"change": {"actions": ["delete"]},
	})
	data_source := object.union(_change("aws_iam_policy.read", "aws_iam_policy", {"policy": _document([_send])}), {
		"mode": "data",
	})
	replaced := object.union(_change("aws_iam_policy.kept", "aws_iam_policy", {"policy": _document([_send])}), {
		"change": {"actions": ["delete", "create"]},
	})
	[policy] := plan.policies with input as _input([deleted, data_source, replaced])
	policy.address == "aws_iam_policy.kept"
	plan.policies == [] with input as {"resource_changes": "not a list"}
}

test_inline_policies_of_a_role if {
	role := _change("aws_iam_role.app", "aws_iam_role", {"name": "app", "inline_policy": [
		{"name": "send", "policy": _document([_send])},
		{"name": "", "policy": ""},
	]})
	[policy] := plan.policies with input as _input([role])
	policy.attribute == "inline_policy[0].policy"
	policy.kind == "identity"
}

test_ses_statements_are_the_statements_that_touch_ses if {
	document := _document([
		_send,
		{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
		{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
		{"Effect": "Allow", "Action": "sesv2:SendEmail", "Resource": "*"},
	])
	changes := [_change("aws_iam_policy.p", "aws_iam_policy", {"policy": document})]
	entries := plan.ses_statements with input as _input(changes)
	[entry.statement.index | some entry in entries] == [0, 2, 3]
	entries[0].tracked == {"ses:sendemail"}
	entries[0].grants == {["ses:sendemail", "1"], ["ses:sendemail", "2"]}
	entries[0].recipient_conditions == []
	plan.relevant_patterns == {"ses:sendemail", "sesv2:sendemail"} with input as _input(changes)
}

test_the_inline_policies_of_one_role_share_their_denies if {
	changes := [
		_change("aws_iam_role.app", "aws_iam_role", {"name": "app"}),
		_change("aws_iam_role_policy.send", "aws_iam_role_policy", {"role": "app", "policy": _document([_send])}),
		_change("aws_iam_role_policy.guard", "aws_iam_role_policy", {"role": "app", "policy": _document([_deny_send])}),
		_change("aws_iam_policy.managed", "aws_iam_policy", {"policy": _document([_send])}),
	]
	scopes := {policy.address: plan.guard_scope(i) |
		some i, policy in plan.readable_policies
	} with input as _input(changes)
	scopes["aws_iam_role_policy.send"] == "aws_iam_role/app"
	scopes["aws_iam_role_policy.guard"] == "aws_iam_role/app"
	is_number(scopes["aws_iam_policy.managed"]) # a managed policy stands alone
	verdicts := plan.send_verdicts with input as _input(changes)
	reported := {plan.ses_entries[k].policy.address |
		some k, verdict in verdicts
		count(verdict.certain) > 0
	} with input as _input(changes)
	reported == {"aws_iam_policy.managed"}
	count(verdicts) > 0
}

test_principal_key_follows_a_reference_in_the_configuration if {
	changes := [
		_change("aws_iam_role.app", "aws_iam_role", {"name": "app"}),
		_change("aws_iam_role_policy.send", "aws_iam_role_policy", {"policy": _document([_send])}),
	]
	configuration := {"root_module": {"resources": [{
		"address": "aws_iam_role_policy.send",
		"mode": "managed",
		"expressions": {"role": {"references": ["aws_iam_role.app.id", "aws_iam_role.app"]}},
	}]}}
	[policy] := plan.readable_policies with input as {"resource_changes": changes, "configuration": configuration}
	plan.principal_key(0) == "aws_iam_role/app" with input as {"resource_changes": changes, "configuration": configuration}
	plan.principal_change(policy).address == "aws_iam_role.app" with input as {
		"resource_changes": changes,
		"configuration": configuration,
	}
	not plan.principal_key(0) with input as _input(changes) # neither a name nor a reference
}

# Two roles of the plan named alike live in different accounts: the name joins neither's inline
# policies; a reference in the configuration still does.
test_a_name_two_roles_share_joins_no_inline_policies if {
	changes := [
		object.union(_change("aws_iam_role.a", "aws_iam_role", {"name": "app"}), {"module_address": "module.a"}),
		object.union(_change("aws_iam_role.app", "aws_iam_role", {"name": "app"}), {"module_address": "module.b"}),
		_change("aws_iam_role_policy.send", "aws_iam_role_policy", {"role": "app", "policy": _document([_send])}),
	]
	scopes := {policy.address: plan.guard_scope(i) |
		some i, policy in plan.readable_policies
	} with input as _input(changes)
	is_number(scopes["aws_iam_role_policy.send"]) # the policy stands alone
}

test_grantees_and_administrators_of_a_managed_policy if {
	changes := [
		_change("aws_iam_policy.send", "aws_iam_policy", {
			"name": "send",
			"arn": "arn:aws:iam::111122223333:policy/send",
			"policy": _document([_send]),
		}),
		_change("aws_iam_role.admin", "aws_iam_role", {"name": "admin"}),
		_change("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment", {
			"role": "admin",
			"policy_arn": "arn:aws:iam::111122223333:policy/send",
		}),
	]
	statement := plan.readable_policies[0].statements[0] with input as _input(changes)
	grantees := plan.grantees(0, statement) with input as _input(changes)
	count(grantees) > 0 # once for each way the attachment names the policy (ARN, path and name)
	every names in grantees {
		{"admin", "aws_iam_role.admin"} & {name | some name in names} == {"admin", "aws_iam_role.admin"}
	}
	plan.administrators_only(0, statement, "certainly") with input as _input(changes)
		with data.sesrego.config as {"administrators": ["admin"]}
	not plan.administrators_only(0, statement, "certainly") with input as _input(changes)
		with data.sesrego.config as {"administrators": ["ops"]}
	unattached := [changes[0]]
	not plan.administrators_only(0, statement, "certainly") with input as _input(unattached)
		with data.sesrego.config as {"administrators": ["admin"]}
}

test_principal_names_include_an_arn_for_any_account if {
	role := _change("aws_iam_role.app", "aws_iam_role", {"name": "app", "path": "/svc/"})
	names := plan.principal_names(role)
	names[0] == "aws_iam_role.app"
	"app" in names
	some arn in names
	startswith(arn, "arn:aws:iam::")
	endswith(arn, ":role/svc/app")
}

test_a_principal_named_only_during_apply_may_be_an_administrator if {
	role := _change("aws_iam_role.app", "aws_iam_role", {"name_prefix": "admin-", "inline_policy": [{
		"name": "i",
		"policy": _document([_send]),
	}]})
	plan.principal_names(role) == ["aws_iam_role.app", "?aws_iam_role.app.name"]
	statement := plan.readable_policies[0].statements[0] with input as _input([role])
	plan.grantee_expressions(0, statement) == {"aws_iam_role.app.name"} with input as _input([role])
	plan.administrators_only(0, statement, "possibly") with input as _input([role])
		with data.sesrego.config as {"administrators": ["arn:aws:iam::*:role/admin-*"]}
	not plan.administrators_only(0, statement, "certainly") with input as _input([role])
		with data.sesrego.config as {"administrators": ["arn:aws:iam::*:role/admin-*"]}
}

test_a_policy_document_read_during_apply_is_evaluated_from_its_statements if {
	policy := object.union(_change("aws_iam_policy.p", "aws_iam_policy", {}), {"change": {
		"after_unknown": {"policy": true},
	}})
	document := {
		"address": "data.aws_iam_policy_document.send",
		"mode": "data",
		"type": "aws_iam_policy_document",
		"name": "send",
		"change": {
			"actions": ["read"],
			"after": {"statement": [{"effect": "Allow", "actions": ["ses:SendEmail"], "resources": ["*"]}]},
			"after_unknown": {"json": true},
		},
	}
	configuration := {"root_module": {"resources": [{
		"address": "aws_iam_policy.p",
		"mode": "managed",
		"expressions": {"policy": {"references": ["data.aws_iam_policy_document.send.json"]}},
	}]}}
	[read] := plan.policies with input as {"resource_changes": [policy, document], "configuration": configuration}
	read.status == "ok"
	read.evaluated_from == "data.aws_iam_policy_document.send"
	read.statements[0].patterns == ["ses:sendemail"]
}
