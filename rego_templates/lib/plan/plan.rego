# METADATA
# title: Policies in a Terraform plan
# description: |
#   Finds every IAM, SES and AWS Organizations policy document a Terraform plan keeps
#   (`terraform show -json`, or the plan-shaped input sesrego builds from .tf files),
#   decodes it once, and says why when it cannot be verified.
# scope: package
package sesrego.lib.plan

import rego.v1

import data.sesrego.lib.iam

# Where each resource type keeps its policy document, and what kind of policy it is.
policy_attributes := {
	"aws_iam_policy": {"attribute": "policy", "kind": "identity"},
	"aws_iam_role_policy": {"attribute": "policy", "kind": "identity"},
	"aws_iam_user_policy": {"attribute": "policy", "kind": "identity"},
	"aws_iam_group_policy": {"attribute": "policy", "kind": "identity"},
	"aws_ssoadmin_permission_set_inline_policy": {"attribute": "inline_policy", "kind": "identity"},
	"aws_ses_identity_policy": {"attribute": "policy", "kind": "resource"},
	"aws_sesv2_email_identity_policy": {"attribute": "policy", "kind": "resource"},
}

organization_policy_kinds := {"SERVICE_CONTROL_POLICY": "scp", "RESOURCE_CONTROL_POLICY": "rcp"}

# policies holds one object per policy document: where it is, what kind it is, and either
# its statements (status "ok", see iam.normalize) or why it cannot be verified (status "unverifiable").
# The common case (a known policy string) is one comprehension with no helper calls before decoding.
policies := array.concat(array.concat(_string_policies, _other_policies), _organization_policies)

_string_policies := [policy |
	some change in _changes
	spec := policy_attributes[change.type]
	_kept(change)
	value := change.change.after[spec.attribute]
	is_string(value)
	policy := _string_policy(change, spec, value)
]

_string_policy(change, spec, value) := {
	"address": change.address,
	"resource_type": change.type,
	"kind": spec.kind,
	"attribute": spec.attribute,
	"change": change,
	"status": "ok",
	"statements": statements,
} if {
	json.is_valid(value)
	statements := iam.statements_of(json.unmarshal(value))
} else := object.union(_where(change, spec.kind, spec.attribute), _decode(value))

_other_policies := array.concat(array.concat(_missing_string_policies, _inline_policies), _unknown_inline_policies)

_missing_string_policies := [policy |
	some change in _changes
	spec := policy_attributes[change.type]
	_kept(change)
	not is_string(object.get(_after(change), spec.attribute, null))
	policy := _policy(change, spec.kind, [spec.attribute], spec.attribute)
]

_inline_policies := [policy |
	some change in _changes
	change.type == "aws_iam_role"
	_kept(change)
	some i, inline in change.change.after.inline_policy
	not _empty_inline_policy(inline)
	policy := _policy(change, "identity", ["inline_policy", i, "policy"], sprintf("inline_policy[%d].policy", [i]))
]

_unknown_inline_policies := [policy |
	some change in _changes
	change.type == "aws_iam_role"
	_kept(change)
	change.change.after_unknown.inline_policy == true
	policy := _policy(change, "identity", ["inline_policy"], "inline_policy")
]

_organization_policies := [policy |
	some change in _changes
	change.type == "aws_organizations_policy"
	_kept(change)
	kind := organization_policy_kinds[change.change.after.type]
	policy := _policy(change, kind, ["content"], "content")
]

# The provider shows a role without inline policies as one empty block.
_empty_inline_policy(inline) if {
	object.get(inline, "name", "") == ""
	object.get(inline, "policy", "") == ""
}

readable_policies := [policy | some policy in policies; policy.status == "ok"]

scps := [policy | some policy in readable_policies; policy.kind == "scp"]

# patterns describes every distinct action pattern of the plan once (see iam.describe_pattern),
# so that wildcard expansion never runs per statement.
patterns := {pattern: iam.describe_pattern(pattern) | some pattern in _distinct_patterns}

_distinct_patterns contains pattern if {
	some policy in readable_policies
	some statement in policy.statements
	some pattern in statement.patterns
}

# relevant_patterns touch a tracked SES action, or name an SES action that does not exist.
relevant_patterns := {pattern |
	some pattern, description in patterns
	true in {count(description.tracked) > 0, description.unknown_ses}
}

# ses_statements are the statements the per-statement rules look at: those with a relevant
# action pattern, NotAction statements, and statements with a ses:Recipients condition. Every
# other statement is decoded but never examined further. Each entry also carries what several
# rules ask of the statement, computed once: the tracked SES actions it applies to and its
# ses:Recipients conditions.
ses_statements := [{
	"policy": policy,
	"policy_index": p,
	"statement": statement,
	"tracked": iam.tracked_actions_of(statement, patterns),
	"recipient_conditions": iam.recipient_conditions(statement),
} |
	some p, policy in readable_policies
	some statement in policy.statements
	true in {
		statement.not_action,
		count([pattern | some pattern in statement.patterns; pattern in relevant_patterns]) > 0,
		count([true | statement.conditioned; iam.names_recipient_key(statement)]) > 0,
	}
]

# --- resource changes ---------------------------------------------------------

_changes := input.resource_changes if is_array(input.resource_changes) else := []

# Only what the plan removes is skipped; no-op, update and replace keep the policy in force.
_kept(change) if {
	change.mode == "managed"
	is_string(change.address)
	not change.change.actions in {["delete"], ["forget"]}
}

_after(change) := change.change.after if is_object(change.change.after) else := {}

_after_unknown(change) := change.change.after_unknown if is_object(change.change.after_unknown) else := {}

# --- one policy document --------------------------------------------------------

_policy(change, kind, path, attribute) := object.union(_where(change, kind, attribute), _read(change, path, attribute))

_where(change, kind, attribute) := {
	"address": change.address,
	"resource_type": change.type,
	"kind": kind,
	"attribute": attribute,
	"change": change,
}

_read(change, path, attribute) := _decode(value) if {
	value := object.get(_after(change), path, null)
	is_string(value)
} else := _from_document(change, document) if {
	_unknown(change, path)
	document := _policy_document_for(change)
} else := {"status": "unverifiable", "reason": _unknown_reason(change, path, attribute)}

_unknown(change, path) if {
	some n in numbers.range(1, count(path))
	object.get(_after_unknown(change), array.slice(path, 0, n), false) == true
}

_unknown_reason(change, path, attribute) := sprintf("its value depends on %s, which is not known until apply", [expression]) if {
	expression := change.sesrego.unresolved[attribute]
	is_string(expression)
} else := "its value is not known until apply" if {
	some n in numbers.range(1, count(path))
	object.get(_after_unknown(change), array.slice(path, 0, n), false) == true
} else := "it has no value in the plan" if {
	object.get(_after(change), path, null) == null
} else := "the policy is not a JSON string"

_decode(value) := {"status": "unverifiable", "reason": "the policy is not valid JSON"} if {
	not json.is_valid(value)
} else := _from_normalized(iam.normalize(json.unmarshal(value)))

_from_normalized(normalized) := {"status": "ok", "statements": normalized.statements} if {
	normalized.statements
} else := {"status": "unverifiable", "reason": sprintf("it is not an IAM policy: %s", [normalized.problem])}

# --- aws_iam_policy_document read during apply ----------------------------------

# When a policy is unknown because the aws_iam_policy_document it renders is read during
# apply, the document's statement blocks are still in the plan: evaluate those instead.
_policy_document_for(change) := documents[0] if {
	documents := [document |
		some reference in _config_resource(change).expressions[_policy_expression(change)].references
		is_string(reference)
		startswith(reference, "data.aws_iam_policy_document.")
		document := _document_change(change, split(reference, ".")[2])
	]
	count(documents) > 0
}

_policy_expression(change) := policy_attributes[change.type].attribute

_policy_expression(change) := "content" if change.type == "aws_organizations_policy"

_document_change(change, name) := document if {
	candidates := [candidate |
		some candidate in _changes
		candidate.mode == "data"
		candidate.type == "aws_iam_policy_document"
		candidate.name == name
		object.get(candidate, "module_address", "") == object.get(change, "module_address", "")
	]
	document := _same_index(candidates, change)
}

_same_index(candidates, change) := same[0] if {
	same := [document |
		some document in candidates
		object.get(document, "index", null) == object.get(change, "index", null)
	]
	count(same) > 0
} else := candidates[0] if count(candidates) == 1

_config_resource(change) := resources[0] if {
	is_object(input.configuration)
	module := object.get(input.configuration, array.concat(["root_module"], _module_path(change)), {})
	resources := [resource |
		some resource in module.resources
		resource.address == sprintf("%s.%s", [change.type, change.name])
	]
	count(resources) > 0
}

_module_path(change) := [] if not change.module_address

_module_path(change) := [step |
	calls := split(trim_prefix(regex.replace(change.module_address, `\[[^\]]*\]`, ""), "module."), ".module.")
	some call in calls
	some step in ["module_calls", call, "module"]
] if {
	is_string(change.module_address)
}

_from_document(change, document) := {
	"status": "ok",
	"statements": statements,
	"evaluated_from": document.address,
} if {
	blocks := _after(document).statement
	is_array(blocks)
	not _document_blocks_unknown(document)
	normalized := iam.normalize({"Statement": [_statement_from_block(block) |
		some block in blocks
		is_object(block)
	]})
	statements := normalized.statements
} else := {"status": "unverifiable", "reason": sprintf("it renders %s, whose statements are not known until apply", [document.address])}

_document_blocks_unknown(document) if _after_unknown(document).statement == true

_document_blocks_unknown(document) if {
	some block in _after_unknown(document).statement
	some field in ["effect", "actions", "not_actions", "condition"]
	_contains_true(block[field])
}

_contains_true(value) if value == true

_contains_true(value) if {
	is_array(value)
	some item in value
	walk(item, [_, leaf])
	leaf == true
}

_statement_from_block(block) := object.union_n([
	{"Effect": _block_effect(block)},
	_block_actions(block),
	_block_resources(block),
	_block_sid(block),
	{"Condition": _block_conditions(block)},
])

# A block without an effect allows, as the provider's default does.
_block_effect(block) := effect if {
	effect := object.get(block, "effect", null)
	is_string(effect)
} else := "Allow"

_block_actions(block) := {"NotAction": _block_list(block, "not_actions")} if {
	count(_block_list(block, "not_actions")) > 0
} else := {"Action": _block_list(block, "actions")}

_block_resources(block) := {"NotResource": _block_list(block, "not_resources")} if {
	count(_block_list(block, "not_resources")) > 0
} else := {"Resource": _block_list(block, "resources")} if {
	count(_block_list(block, "resources")) > 0
} else := {"Resource": "<unknown until apply>"}

_block_list(block, field) := value if {
	value := object.get(block, field, null)
	is_array(value)
} else := []

_block_sid(block) := {"Sid": block.sid} if {
	is_string(block.sid)
	block.sid != ""
} else := {}

_block_conditions(block) := {test: {variable: _condition_values(block, test, variable) |
	some other in _block_list(block, "condition")
	other.test == test
	variable := other.variable
	is_string(variable)
} |
	some condition in _block_list(block, "condition")
	test := condition.test
	is_string(test)
}

_condition_values(block, test, variable) := [value |
	some condition in _block_list(block, "condition")
	condition.test == test
	condition.variable == variable
	some value in _block_list(condition, "values")
]
