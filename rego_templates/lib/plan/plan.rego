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

# When a role's inline_policy blocks are unknown as a whole, each block of the configuration is
# read on its own (a block rendering an aws_iam_policy_document read during apply is evaluated
# from that document).
_unknown_inline_policies := [policy |
	some change in _changes
	change.type == "aws_iam_role"
	_kept(change)
	change.change.after_unknown.inline_policy == true
	some policy in _unknown_inline_blocks(change)
]

_unknown_inline_blocks(change) := [_policy(change, "identity", ["inline_policy", j, "policy"], sprintf("inline_policy[%d].policy", [j])) |
	some j, _ in blocks
] if {
	blocks := _config_resource(change).expressions.inline_policy
	is_array(blocks)
	count(blocks) > 0
} else := [_policy(change, "identity", ["inline_policy"], "inline_policy")]

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

# relevant_patterns touch a tracked SES action, name an SES action that does not exist, or use a
# lookalike of the ses: prefix.
relevant_patterns := {pattern |
	some pattern, description in patterns
	true in {count(description.tracked) > 0, description.unknown_ses, description.lookalike}
}

# ses_statements are the statements the per-statement rules look at: those with a relevant
# action pattern, NotAction statements, and statements with a ses:Recipients condition. Every
# other statement is decoded but never examined further. Each entry also carries what several
# rules ask of the statement, computed once: the tracked SES actions it applies to, its
# ses:Recipients conditions and the [action, API version] pairs it may grant (an Allow).
ses_statements := [{
	"policy": policy,
	"policy_index": p,
	"statement": statement,
	"tracked": tracked,
	"recipient_conditions": recipient_conditions,
	"grants": iam.grants(statement, tracked, recipient_conditions),
} |
	some p, policy in readable_policies
	some statement in policy.statements
	true in {
		statement.not_action,
		count([pattern | some pattern in statement.patterns; pattern in relevant_patterns]) > 0,
		count([true | statement.conditioned; iam.names_recipient_key(statement)]) > 0,
	}
	tracked := iam.tracked_actions_of(statement, patterns)
	recipient_conditions := iam.recipient_conditions(statement)
]

# --- guards: Deny statements that control what an Allow grants --------------------------------
# A Deny counts for the Allows of its own policy, and for the inline policies of the same role,
# user or group (IAM evaluates a principal's policies together). A managed policy keeps the
# same-policy rule: it can be attached outside the plan, beside policies the plan does not show.

guards[scope] contains object.union(guard, {"policy_index": entry.policy_index}) if {
	some entry in ses_statements
	entry.statement.effect == "Deny"
	entry.policy.kind in {"identity", "resource"}
	guard := iam.guard(entry.statement, entry.tracked)
	scope := guard_scope(entry.policy_index)
}

# guard_scope names the policies whose Denies count together, for the readable policy at an index:
# a principal for inline policies (see principal_key), else the policy itself (its index).
# (Functions here take indexes, not policies: the engine keys its cache on the arguments.)
guard_scope(index) := key if {
	readable_policies[index].resource_type in _inline_policy_types
	key := principal_key(index)
} else := index

_inline_policy_types := {"aws_iam_role", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}

# guards_for are the guards in scope of the readable policy at an index.
guards_for(index) := object.get(guards, guard_scope(index), set()) if {
	count(guards) > 0
} else := set()

# guarded holds when one of the guards denies a pair that an Allow statement grants, for one of
# the purposes of iam.guard_covers.
guarded(guards_in_scope, statement, pair, purpose) if {
	some guard in guards_in_scope
	iam.guard_covers(guard, pair, statement, purpose)
}

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
} else := _from_document(document) if {
	_unknown(change, path)
	document := _policy_document_for(change, path)
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

# --- references in the configuration --------------------------------------------------

# referenced_change is the plan's resource change that an argument of a change refers to in the
# configuration (`aws_iam_role.app.name`, `data.aws_iam_policy_document.x["b"].json`): the
# instance the reference names (["b"], [1]) whatever the referring change's own key, else the
# instance with the referring change's key, else the only one.
referenced_change(change, path, mode, type) := target if {
	references := [[name, key] |
		some reference in _config_references(change, path)
		parts := regex.find_all_string_submatch_n(_reference_pattern, reference, 1)[0]
		(parts[1] == "data.") == (mode == "data")
		parts[2] == type
		name := parts[3]
		key := parts[5]
	]
	keyed := [reference | some reference in references; reference[1] != ""]
	[name, key] := array.concat(keyed, references)[0]
	target := _instance(change, mode, type, name, key)
}

# referenced_changes are all the changes of a type an argument refers to (for a list argument).
referenced_changes(change, path, mode, type) := [target |
	some reference in _config_references(change, path)
	parts := regex.find_all_string_submatch_n(_reference_pattern, reference, 1)[0]
	(parts[1] == "data.") == (mode == "data")
	parts[2] == type
	target := _instance(change, mode, type, parts[3], parts[5])
]

_reference_pattern := `^(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[("[^"]*"|[0-9]+)\])?`

_config_references(change, path) := [reference |
	expression := object.get(_config_resource(change).expressions, path, {})
	some reference in expression.references
	is_string(reference)
]

_instance(change, mode, type, name, key) := candidate if {
	key != ""
	index := _instance_key(key)
	some candidate in _candidates(change, mode, type, name)
	object.get(candidate, "index", null) == index
} else := _same_index(_candidates(change, mode, type, name), change) if key == ""

_instance_key(key) := json.unmarshal(key)

_candidates(change, mode, type, name) := [candidate |
	some candidate in _changes
	candidate.mode == mode
	candidate.type == type
	candidate.name == name
	object.get(candidate, "module_address", "") == object.get(change, "module_address", "")
]

_same_index(candidates, change) := same[0] if {
	same := [candidate |
		some candidate in candidates
		object.get(candidate, "index", null) == object.get(change, "index", null)
	]
	count(same) > 0
} else := candidates[0] if count(candidates) == 1

_config_resource(change) := resources[0] if {
	is_object(input.configuration)
	module := object.get(input.configuration, array.concat(["root_module"], _module_path(change)), {})
	resources := [resource |
		some resource in module.resources
		resource.address == sprintf("%s.%s", [change.type, change.name])
		object.get(resource, "mode", "managed") == change.mode
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

# --- aws_iam_policy_document read during apply ----------------------------------

# When a policy is unknown because the aws_iam_policy_document it renders is read during
# apply, the document's statement blocks are still in the plan: evaluate those instead, merged
# with its source_policy_documents and override_policy_documents as the provider merges them.
_policy_document_for(change, path) := referenced_change(change, _expression_path(change, path), "data", "aws_iam_policy_document")

# The configuration path of a policy argument: a role's inline_policy blocks are matched by name.
_expression_path(change, path) := ["inline_policy", j, "policy"] if {
	path[0] == "inline_policy"
	count(path) == 3
	name := _after(change).inline_policy[path[1]].name
	blocks := _config_resource(change).expressions.inline_policy
	some j, block in blocks
	block.name.constant_value == name
} else := path

_from_document(document) := {
	"status": "ok",
	"statements": statements,
	"evaluated_from": document.address,
} if {
	not _document_unknown(document)
	parts := _document_parts(document)
	normalized := iam.normalize({"Statement": _merged(parts)})
	statements := normalized.statements
} else := {"status": "unverifiable", "reason": _document_reason(document)}

_document_reason(document) := sprintf("it renders %s, whose %s is not known until apply", [document.address, field]) if {
	some field in ["source_policy_documents", "override_policy_documents"]
	_contains_true(_after_unknown(document)[field])
} else := sprintf("it renders %s, which merges a document that is not an IAM policy", [document.address]) if {
	some text in _merge_inputs(document)
	not _document_statements(text)
} else := sprintf("it renders %s, whose statements are not known until apply", [document.address])

_document_unknown(document) if _after_unknown(document).statement == true

_document_unknown(document) if {
	some block in _after_unknown(document).statement
	some field in ["effect", "actions", "not_actions", "condition", "principals", "not_principals"]
	_contains_true(block[field])
}

_document_unknown(document) if {
	some field in ["source_policy_documents", "override_policy_documents"]
	_contains_true(_after_unknown(document)[field])
}

_contains_true(value) if value == true

_contains_true(value) if {
	is_array(value)
	some item in value
	walk(item, [_, leaf])
	leaf == true
}

# _document_parts are the statement lists the provider merges, in order: each source document,
# the statement blocks, each override document.
_document_parts(document) := parts if {
	sources := [statements | some text in _documents(document, "source_policy_documents"); statements := _document_statements(text)]
	overrides := [statements | some text in _documents(document, "override_policy_documents"); statements := _document_statements(text)]
	count(sources) + count(overrides) == count(_merge_inputs(document))
	blocks := [_statement_from_block(document, i, block) |
		some i, block in _block_list(_after(document), "statement")
		is_object(block)
	]
	parts := array.concat(array.concat(sources, [blocks]), overrides)
}

_merge_inputs(document) := array.concat(
	_documents(document, "source_policy_documents"),
	_documents(document, "override_policy_documents"),
)

_documents(document, field) := [text | some text in _block_list(_after(document), field)]

_document_statements(text) := statements if {
	is_string(text)
	json.is_valid(text)
	decoded := json.unmarshal(text)
	iam.statements_of(decoded)
	statements := [statement | some statement in _list(decoded.Statement)]
}

_list(value) := value if is_array(value)

_list(value) := [value] if not is_array(value)

# _merged merges statement lists as the provider does: a statement with a Sid replaces, in place,
# an earlier one with the same Sid; statements without a Sid are appended.
_merged(parts) := [statement |
	raws := [raw | some part in parts; some raw in part]
	some k, raw in raws
	_first_with_sid(raws, k, raw)
	statement := _last_with_sid(raws, raw)
]

_sid(raw) := raw.Sid if {
	is_string(raw.Sid)
	raw.Sid != ""
} else := ""

_first_with_sid(_, _, raw) if _sid(raw) == ""

_first_with_sid(raws, k, raw) if {
	_sid(raw) != ""
	every other in array.slice(raws, 0, k) {
		_sid(other) != _sid(raw)
	}
}

_last_with_sid(raws, raw) := raw if {
	_sid(raw) == ""
} else := same[count(same) - 1] if {
	same := [other | some other in raws; _sid(other) == _sid(raw)]
}

_statement_from_block(document, i, block) := object.union_n([
	{"Effect": _block_effect(block)},
	_block_actions(block),
	_block_resources(document, i, block),
	_block_principals(block, "principals", "Principal"),
	_block_principals(block, "not_principals", "NotPrincipal"),
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

# Resources unknown until apply may be anything: an Allow may reach every resource, a Deny
# cannot be shown to cover any.
_block_resources(document, i, block) := {"Resource": "*"} if {
	_resources_unknown(document, i)
	_block_effect(block) == "Allow"
} else := {"Resource": "<unknown until apply>"} if {
	_resources_unknown(document, i)
} else := {"NotResource": _block_list(block, "not_resources")} if {
	count(_block_list(block, "not_resources")) > 0
} else := {"Resource": _block_list(block, "resources")} if {
	count(_block_list(block, "resources")) > 0
} else := {}

_resources_unknown(document, i) if {
	some field in ["resources", "not_resources"]
	_contains_true(object.get(_after_unknown(document), ["statement", i, field], false))
}

_block_principals(block, field, element) := {element: {type: identifiers |
	some principal in _block_list(block, field)
	type := principal.type
	is_string(type)
	identifiers := [identifier |
		some other in _block_list(block, field)
		other.type == type
		some identifier in _block_list(other, "identifiers")
	]
}} if {
	count(_block_list(block, field)) > 0
} else := {}

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

# --- principals: who an identity policy applies to --------------------------------------------

_principal_types := {"aws_iam_role": "role", "aws_iam_user": "user", "aws_iam_group": "group"}

# The argument naming the principal of an inline policy resource.
_principal_argument := {
	"aws_iam_role_policy": {"type": "aws_iam_role", "argument": "role"},
	"aws_iam_user_policy": {"type": "aws_iam_user", "argument": "user"},
	"aws_iam_group_policy": {"type": "aws_iam_group", "argument": "group"},
}

# principal_change is the role, user or group an inline policy belongs to, as a resource change
# of the plan: the role itself for its inline_policy blocks; for a policy resource, the one its
# role/user/group argument names, literally or by a reference in the configuration.
principal_change(policy) := policy.change if policy.resource_type == "aws_iam_role"

principal_change(policy) := change if {
	spec := _principal_argument[policy.resource_type]
	change := _principal_named(spec.type, _after(policy.change)[spec.argument])
}

principal_change(policy) := change if {
	spec := _principal_argument[policy.resource_type]
	not is_string(object.get(_after(policy.change), spec.argument, null))
	change := referenced_change(policy.change, [spec.argument], "managed", spec.type)
	_kept(change)
}

_principal_named(type, name) := _changes[i] if {
	is_string(name)
	index := principals_named # the whole index, built once: a keyed lookup would scan every change
	indexes := index[concat("/", [type, name])]
	count(indexes) == 1
	some i in indexes
}

# principals_named indexes the plan's roles, users and groups by type and name.
principals_named[key] contains i if {
	some i, change in _changes
	_principal_types[change.type]
	_kept(change)
	name := _after(change).name
	is_string(name)
	key := concat("/", [change.type, name])
}

# principal_key names the principal an inline policy belongs to, so that the inline policies of
# one role, user or group are evaluated together: its type and name, from the policy's
# role/user/group argument or a reference to the principal in the configuration (or the
# principal's address when its name is unknown); undefined when neither resolves.
principal_key(index) := key if {
	policy := readable_policies[index]
	policy.resource_type == "aws_iam_role"
	key := _principal_key_of(policy.change.type, policy.change.address, object.get(policy.change.change, ["after", "name"], null))
} else := concat("/", [spec.type, name]) if {
	policy := readable_policies[index]
	spec := _principal_argument[policy.resource_type]
	name := object.get(policy.change.change, ["after", spec.argument], null)
	is_string(name)
} else := _principal_key_of(change.type, change.address, object.get(change.change, ["after", "name"], null)) if {
	policy := readable_policies[index]
	spec := _principal_argument[policy.resource_type]
	change := referenced_change(policy.change, [spec.argument], "managed", spec.type)
	_kept(change)
}

_principal_key_of(type, address, name) := concat("/", [type, name]) if is_string(name) else := concat(" ", [type, address])

# principal_names are the names an administrator pattern may match for a principal: its name,
# its ARN (where the plan does not know it, arn:aws:iam::<any account>:<role|user|group><path><name>,
# with an account that only a wildcard matches), and its Terraform address.
principal_names(change) := array.concat([change.address], [name |
	some name in [_after(change).name, _principal_arn(change)]
	is_string(name)
])

_principal_arn(change) := arn if {
	arn := _after(change).arn
	is_string(arn)
} else := concat("", ["arn:aws:iam::", _any_account, ":", _principal_types[change.type], path, name]) if {
	name := _after(change).name
	is_string(name)
	path := object.get(_after(change), "path", "/")
	is_string(path)
}

_any_account := "\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001"

# grantees are the principals a statement applies to, one list of names each (an empty list for a
# principal that cannot be named): the Principal of a resource policy statement; the role, user or
# group of an inline policy; the principals the plan attaches a managed policy to.
grantees(index, statement) := [[identifier] | some identifier in _statement_principals(statement)] if {
	readable_policies[index].kind == "resource"
} else := [principal_names(principal_change(policy))] if {
	policy := readable_policies[index]
	policy.resource_type in _inline_policy_types
	principal_change(policy)
} else := [[name]] if {
	policy := readable_policies[index]
	spec := _principal_argument[policy.resource_type]
	name := object.get(policy.change.change, ["after", spec.argument], null)
	is_string(name)
} else := [names |
	attached := attached_principals
	some key in _attachment_keys(policy.change)
	some names in attached[key]
] if {
	policy := readable_policies[index]
	policy.resource_type == "aws_iam_policy"
} else := [[arn]] if {
	arn := object.get(readable_policies[index].change.change, ["after", "permission_set_arn"], null)
	is_string(arn)
} else := []

_statement_principals(statement) := ["*"] if {
	"NotPrincipal" in object.keys(statement.raw)
} else := iam.principals(statement)

# attached_principals indexes, by the managed policy they name (see _attachment_keys), the
# principals that aws_iam_*_policy_attachment, aws_iam_policy_attachment,
# *_policy_attachments_exclusive and a role's managed_policy_arns attach policies to.
attached_principals[key] contains names if {
	some change in _changes
	_kept(change)
	spec := _attachments[change.type]
	some [policy_path, principal] in _attached(change, spec)
	some key in _attached_policy_keys(change, policy_path)
	names := principal
}

_attachments := {
	"aws_iam_role_policy_attachment": {"policies": ["policy_arn"], "principals": {"aws_iam_role": ["role"]}},
	"aws_iam_user_policy_attachment": {"policies": ["policy_arn"], "principals": {"aws_iam_user": ["user"]}},
	"aws_iam_group_policy_attachment": {"policies": ["policy_arn"], "principals": {"aws_iam_group": ["group"]}},
	"aws_iam_policy_attachment": {
		"policies": ["policy_arn"],
		"principals": {"aws_iam_role": ["roles"], "aws_iam_user": ["users"], "aws_iam_group": ["groups"]},
	},
	"aws_iam_role_policy_attachments_exclusive": {"policies": ["policy_arns"], "principals": {"aws_iam_role": ["role_name"]}},
	"aws_iam_user_policy_attachments_exclusive": {"policies": ["policy_arns"], "principals": {"aws_iam_user": ["user_name"]}},
	"aws_iam_group_policy_attachments_exclusive": {
		"policies": ["policy_arns"],
		"principals": {"aws_iam_group": ["group_name"]},
	},
	"aws_iam_role": {"policies": ["managed_policy_arns"], "principals": {}},
}

# _attached lists [policy argument path, principal names] for every policy an attachment names and
# every principal it attaches it to.
_attached(change, spec) := [[policy_path, names] |
	some argument in spec.policies
	some policy_path in _argument_paths(change, argument)
	some names in _attachment_principals(change, spec)
]

_argument_paths(change, argument) := [[argument]] if {
	not is_array(object.get(_after(change), argument, null))
} else := [[argument, i] | some i, _ in _after(change)[argument]]

_attachment_principals(change, _) := [principal_names(change)] if change.type == "aws_iam_role"

_attachment_principals(change, spec) := [names |
	some type, arguments in spec.principals
	some argument in arguments
	some names in _principals_of_argument(change, type, argument)
] if {
	change.type != "aws_iam_role"
}

_principals_of_argument(change, type, argument) := [_principal_names_for(type, name) |
	some name in _list(_after(change)[argument])
	is_string(name)
] if {
	not _contains_true(object.get(_after_unknown(change), argument, false))
} else := targets if {
	targets := [principal_names(target) | some target in referenced_changes(change, [argument], "managed", type)]
	count(targets) > 0
} else := [[]]

_principal_names_for(type, name) := principal_names(change) if {
	change := _principal_named(type, name)
} else := [name]

# A managed policy is named by its ARN, by its path and name (the end of an ARN in this account),
# or by a reference to its resource.
_attached_policy_keys(change, path) := {key |
	arn := object.get(_after(change), path, null)
	is_string(arn)
	some key in _arn_keys(arn)
} if {
	is_string(object.get(_after(change), path, null))
} else := {sprintf("address %s", [target.address]) |
	some target in referenced_changes(change, [path[0]], "managed", "aws_iam_policy")
}

_arn_keys(arn) := {sprintf("arn %s", [arn])} | {sprintf("name %s", [suffix]) |
	parts := split(arn, ":")
	count(parts) == 6
	parts[4] != "aws"
	startswith(parts[5], "policy/")
	suffix := trim_prefix(parts[5], "policy")
}

_attachment_keys(change) := {sprintf("address %s", [change.address])} | {key |
	arn := _after(change).arn
	is_string(arn)
	some key in _arn_keys(arn)
} | {sprintf("name %s%s", [path, name]) |
	name := _after(change).name
	is_string(name)
	path := object.get(_after(change), "path", "/")
	is_string(path)
}
