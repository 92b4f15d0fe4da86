# METADATA
# title: Policies in a Terraform plan
# description: |
#   Finds every IAM, SES and AWS Organizations policy document a Terraform plan keeps
#   (`terraform show -json`, or the plan-shaped input sesrego builds from .tf files),
#   decodes it once, and says why when it cannot be verified.
# scope: package
package sesrego.lib.plan

import rego.v1

import data.sesrego.lib.config
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

_unknown_inline_blocks(change) := [policy |
	some j, _ in blocks
	attribute := sprintf("inline_policy[%d].policy", [j])
	policy := _policy(change, "identity", ["inline_policy", j, "policy"], attribute)
] if {
	blocks := _config_resource(change).expressions.inline_policy
	is_array(blocks)
	count(blocks) > 0
} else := [_policy(change, "identity", ["inline_policy"], "inline_policy")]

# An organization policy whose type is unknown may be a service control policy: it is read as one
# whose statements only possibly count (see possible_scps).
_organization_policies := [policy |
	some change in _changes
	change.type == "aws_organizations_policy"
	_kept(change)
	kind := _organization_kind(change)
	policy := object.union(_policy(change, kind.kind, ["content"], "content"), kind)
]

_organization_kind(change) := {"kind": kind} if {
	kind := organization_policy_kinds[change.change.after.type]
} else := {"kind": "scp", "type_unknown": _unresolved(change, "type")} if {
	_unknown(change, ["type"])
}

_unresolved(change, attribute) := [change.sesrego.unresolved[attribute]] if {
	is_string(change.sesrego.unresolved[attribute])
} else := [sprintf("%s.type", [change.address])]

# The provider shows a role without inline policies as one empty block.
_empty_inline_policy(inline) if {
	object.get(inline, "name", "") == ""
	object.get(inline, "policy", "") == ""
}

readable_policies := [policy | some policy in policies; policy.status == "ok"]

# unknown_policies are the policies whose statements are unknown as a whole until apply: any Deny may
# be among them, so each is the broadest possible guard in its scope (see possible_guards and
# scp.possible_guards), beside its own SES-007.
unknown_policies := [policy | some policy in policies; policy.statements_unknown == true]

# unknown_expressions are the expressions an unknown policy depends on, for SES-007 messages.
unknown_expressions(policy) := policy.expressions if {
	is_array(policy.expressions)
} else := [expression] if {
	expression := policy.change.sesrego.unresolved[policy.attribute]
	is_string(expression)
} else := [sprintf("%s.%s", [policy.address, policy.attribute])]

# scps are the readable service control policies; possible_scps those whose type is unknown.
scps := [policy | some policy in readable_policies; policy.kind == "scp"; not policy.type_unknown]

possible_scps := [policy | some policy in readable_policies; policy.type_unknown]

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
	"grants": grants,
	"grants_may": grants,
	"none_must": none,
	"none_may": none,
	"broadest": statement,
	"narrowest": statement,
} |
	some p, policy in readable_policies
	some statement in policy.statements
	not statement.marked
	true in {
		statement.not_action,
		count([pattern | some pattern in statement.patterns; pattern in relevant_patterns]) > 0,
		count([true | statement.conditioned; iam.names_recipient_key(statement)]) > 0,
	}
	tracked := iam.tracked_actions_of(statement, patterns)
	recipient_conditions := iam.recipient_conditions(statement)
	grants := iam.grants(statement, tracked, recipient_conditions)
	none := count(recipient_conditions) == 0
]

# marked_statements are the statements with unknown values (only marked documents have them), as
# entries of the same shape: what they grant for every value of the unknowns (grants) and for some
# (grants_may), whether they certainly or possibly have no ses:Recipients condition, and their
# conditions as iam.marked_conditions reads them.
marked_statements := [{
	"policy": policy,
	"policy_index": p,
	"statement": statement,
	"marked": true,
	"tracked": tracked,
	"conditions": conditions,
	"recipient_conditions": [condition | some condition in conditions; condition.key == iam.facts.recipient_key],
	"grants": iam.marked_grants(statement, iam.tracked_must(statement, patterns), conditions, "must"),
	"grants_may": iam.marked_grants(statement, tracked, conditions, "may"),
	"none_must": statuses == {"none"},
	"none_may": "none" in statuses,
	"broadest": iam.broadest_allow(statement),
	"narrowest": iam.narrowest_allow(statement),
} |
	some p, policy in readable_policies
	policy.marked
	some statement in policy.statements
	statement.marked
	tracked := iam.tracked_may(statement, patterns)
	conditions := iam.marked_conditions(statement)
	statuses := iam.recipient_statuses(statement, conditions)
]

# ses_entries are every statement entry the per-statement rules read: known, then marked.
ses_entries := array.concat(ses_statements, marked_statements)

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

# possible_guards are what the Denies with unknown values may guard, for some value of them (see
# iam.possible_guard), by scope, with the expressions they depend on.
possible_guards[scope] contains object.union(guard, {"policy_index": entry.policy_index, "expressions": exprs}) if {
	some entry in marked_statements
	entry.policy.kind in {"identity", "resource"}
	guard := iam.possible_guard(entry.statement, entry.tracked)
	scope := guard_scope(entry.policy_index)
	exprs := entry.statement.expressions
}

# An inline policy unknown as a whole may hold any Deny for its principal's other inline policies.
possible_guards[scope] contains object.union(iam.any_guard, {"expressions": expressions}) if {
	some policy in unknown_policies
	policy.resource_type in _inline_policy_types
	scope := policy_principal_key(policy)
	expressions := {expression | some expression in unknown_expressions(policy)}
}

# possible_guards_for are the possible guards in scope of the readable policy at an index.
possible_guards_for(index) := object.get(_possible_guards, guard_scope(index), set()) if {
	count(_possible_guards) > 0
} else := set()

_possible_guards := {scope: scoped | some scope, scoped in possible_guards}

# --- verdicts per Allow statement ---------------------------------------------------------------
# For each entry (by its position in ses_entries), the [action, API version] pairs a rule reports for
# every value of the unknowns (certain) and for some value (possible): a pair granted without a
# ses:Recipients condition (SES-001), or an admin-only pair (SES-003), that no guard in scope denies.
# A certain guard must cover the broadest scope the Allow may have; a possible one, the narrowest.
# For a statement without unknowns the two coincide.

send_verdicts := object.union(_known_verdicts(iam.send_pairs, "recipients"), {k: _verdict(certain, possible) |
	some k in _uncertain_entries
	entry := ses_entries[k]
	entry.policy.kind in {"identity", "resource"}
	entry.none_may
	candidates := entry.grants_may & iam.send_pairs
	count(candidates) > 0
	guards := guards_for(entry.policy_index)
	possible := {pair | some pair in candidates; not guarded(guards, entry.broadest, pair, "recipients")}
	others := possible_guards_for(entry.policy_index)
	certain := {pair |
		entry.none_must
		some pair in possible & entry.grants
		not guarded(guards, entry.narrowest, pair, "recipients")
		not guarded(others, entry.narrowest, pair, "recipients")
	}
})

admin_only_verdicts := object.union(_known_verdicts(iam.admin_only_pairs, "block"), {k: _verdict(certain, possible) |
	some k in _uncertain_entries
	entry := ses_entries[k]
	entry.policy.kind in {"identity", "resource"}
	candidates := entry.grants_may & iam.admin_only_pairs
	count(candidates) > 0
	guards := guards_for(entry.policy_index)
	possible := {pair | some pair in candidates; not guarded(guards, entry.broadest, pair, "block")}
	others := possible_guards_for(entry.policy_index)
	certain := {pair |
		some pair in possible & entry.grants
		not guarded(guards, entry.narrowest, pair, "block")
		not guarded(others, entry.narrowest, pair, "block")
	}
})

_verdict(certain, possible) := {"certain": certain, "possible": possible}

# The fast path: known statements when no Deny has unknown values, where certain and possible agree.
# (SES-001 asks for no ses:Recipients condition; SES-003 does not.)
_known_verdicts(tracked_pairs, purpose) := {k: {"certain": pairs, "possible": pairs} |
	count(possible_guards) == 0
	some k, entry in ses_statements # ses_entries begins with them
	entry.policy.kind in {"identity", "resource"}
	_unrestricted(entry.none_must, purpose)
	candidates := entry.grants & tracked_pairs
	count(candidates) > 0
	pairs := _unguarded(candidates, k, purpose)
}

_unrestricted(true, "recipients")

_unrestricted(_, "block")

# _unguarded are the candidate pairs that no guard in scope of the known statement at k denies.
_unguarded(candidates, k, purpose) := candidates if {
	count(guards_for(ses_statements[k].policy_index)) == 0
} else := {pair |
	entry := ses_statements[k]
	guards := guards_for(entry.policy_index)
	some pair in candidates
	not guarded(guards, entry.statement, pair, purpose)
}

# The entries that are uncertain (by position in ses_entries): those with unknown values, and every
# one when some Deny has unknown values (the fast paths above cover the rest).
_uncertain_entries contains k if {
	some j, _ in marked_statements
	k := count(ses_statements) + j
}

_uncertain_entries contains k if {
	count(possible_guards) > 0
	some k, _ in ses_statements
}

# guards_for are the guards in scope of the readable policy at an index.
guards_for(index) := object.get(_guards, guard_scope(index), set()) if {
	count(_guards) > 0
} else := set()

# The guards as a complete object, which the engine computes once.
_guards := {scope: scoped | some scope, scoped in guards}

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
} else := _from_marked(change, attribute, document) if {
	document := change.sesrego.documents[attribute]
} else := _from_document(document) if {
	_unknown(change, path)
	document := _policy_document_for(change, path)
} else := object.union(_unverifiable(_unknown_reason(change, path, attribute)), {"statements_unknown": true}) if {
	_unknown(change, path)
} else := _unverifiable(_unknown_reason(change, path, attribute))

_unverifiable(reason) := {"status": "unverifiable", "reason": reason}

_unknown(change, path) if {
	some n in numbers.range(1, count(path))
	object.get(_after_unknown(change), array.slice(path, 0, n), false) == true
}

_unknown_reason(change, path, attribute) := sprintf(
	"its value depends on %s, which is not known until apply",
	[expression],
) if {
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

# A marked document (docs/plan-extension.md) stands for an attribute whose string is unknown.
_from_marked(change, attribute, document) := object.union_n([
	{"status": "ok", "statements": normalized.statements},
	_marked_flag(normalized.statements),
	_evaluated_from(change, attribute),
]) if {
	normalized := iam.marked_normalize(document)
	normalized.statements
} else := object.union(_unverifiable(reason), {"expressions": normalized.unknown, "statements_unknown": true}) if {
	normalized := iam.marked_normalize(document)
	reason := sprintf("its statements depend on %s", [concat(", ", normalized.unknown)])
} else := _from_normalized(iam.marked_normalize(document))

_evaluated_from(change, attribute) := {"evaluated_from": address} if {
	address := change.sesrego.evaluated_from[attribute]
	is_string(address)
} else := {}

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

_candidates(change, mode, type, name) := [_changes[i] |
	index := _changes_named # the whole index, built once: a keyed lookup would scan every change
	some i in index[[mode, type, name, object.get(change, "module_address", "")]]
]

# _changes_named indexes the plan's changes by mode, type, name and module, for references.
_changes_named[key] contains i if {
	some i, change in _changes
	key := [change.mode, change.type, change.name, object.get(change, "module_address", "")]
}

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
	address := concat("", [_data_prefix[change.mode], change.type, ".", change.name])
	resources := _module_resources(module)[[address, change.mode]]
}

# _module_resources indexes a module's configuration blocks by address and mode (computed once per
# module: the engine caches a function's result for the same arguments).
_module_resources(module) := {[resource.address, object.get(resource, "mode", "managed")]: [resource] |
	some resource in module.resources
}

_data_prefix := {"managed": "", "data": "data."}

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
_policy_document_for(change, path) := referenced_change(
	change,
	_expression_path(change, path),
	"data",
	"aws_iam_policy_document",
)

# The configuration path of a policy argument: a role's inline_policy blocks are matched by name.
_expression_path(change, path) := ["inline_policy", j, "policy"] if {
	path[0] == "inline_policy"
	count(path) == 3
	name := _after(change).inline_policy[path[1]].name
	blocks := _config_resource(change).expressions.inline_policy
	some j, block in blocks
	block.name.constant_value == name
} else := path

_from_document(document) := object.union(
	{"status": "ok", "statements": normalized.statements, "evaluated_from": document.address},
	_marked_flag(normalized.statements),
) if {
	not _document_unknown(document)
	parts := _document_parts(document)
	normalized := iam.marked_normalize({"Statement": _merged(parts)})
	normalized.statements
} else := {"status": "unverifiable", "reason": _document_reason(document), "statements_unknown": true} if {
	_document_unknown(document)
} else := {"status": "unverifiable", "reason": _document_reason(document)}

_document_reason(document) := sprintf(
	"it renders %s, whose %s is not known until apply",
	[document.address, field],
) if {
	some field in ["source_policy_documents", "override_policy_documents"]
	_contains_true(_after_unknown(document)[field])
} else := sprintf("it renders %s, which merges a document that is not an IAM policy", [document.address]) if {
	some text in _merge_inputs(document)
	not _document_statements(text)
} else := sprintf("it renders %s, whose statements are not known until apply", [document.address])

# The statement blocks unknown as a whole, or an unknown document merged in, leave nothing to verify;
# an unknown value inside a block is marked (see _block_value) and evaluated where it matters.
_document_unknown(document) if _after_unknown(document).statement == true

_document_unknown(document) if {
	some field in ["source_policy_documents", "override_policy_documents"]
	_contains_true(_after_unknown(document)[field])
}

_marked_flag(statements) := {"marked": true} if {
	some statement in statements
	statement.marked
} else := {}

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
	sources := [statements |
		some text in _documents(document, "source_policy_documents")
		statements := _document_statements(text)
	]
	overrides := [statements |
		some text in _documents(document, "override_policy_documents")
		statements := _document_statements(text)
	]
	count(sources) + count(overrides) == count(_merge_inputs(document))
	blocks := [_statement_from_block(document, i, block) |
		some i, block in _block_list(_after(document), "statement")
		_block_readable(document, i, block)
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

# A statement block as the statement the provider renders, with a marker for each value that
# after_unknown marks (an unknown block is a marker as a whole).
_block_readable(_, _, block) if is_object(block)

_block_readable(document, i, _) if _block_unknown(document, [i])

_statement_from_block(document, i, block) := _marker(document, sprintf("statement[%d]", [i])) if {
	_block_unknown(document, [i])
} else := object.union_n([
	{"Effect": _block_effect(document, i, block)},
	_block_actions(document, i, block),
	_block_resources(document, i, block),
	_block_principals(document, i, block, "principals", "Principal"),
	_block_principals(document, i, block, "not_principals", "NotPrincipal"),
	_block_sid(block),
	_block_condition(document, i, block),
])

_field_marker(document, i, field) := _marker(document, sprintf("statement[%d].%s", [i, field]))

_block_unknown(document, path) if object.get(_after_unknown(document), array.concat(["statement"], path), false) == true

# _marker stands for an unknown value of the document: it depends on the expression the reader names
# for that argument, else on the references of its configuration, else on the argument itself.
_marker(document, argument) := {"$unknown": [expression]} if {
	expression := document.sesrego.unresolved[argument]
	is_string(expression)
} else := {"$unknown": references} if {
	references := sort({reference |
		some reference in _config_references(document, _argument_path(argument))
		not _longer_reference(reference, _config_references(document, _argument_path(argument)))
	})
	count(references) > 0
} else := {"$unknown": [sprintf("%s.%s", [document.address, argument])]}

# statement[0].resources -> ["statement", 0, "resources"]
_argument_path(argument) := [step |
	some part in split(replace(replace(argument, "[", "."), "]", ""), ".")
	part != ""
	step := _step(part)
]

_step(part) := to_number(part) if regex.match(`^[0-9]+$`, part) else := part

# Of aws_ses_domain_identity.d.arn and aws_ses_domain_identity.d, the first is named.
_longer_reference(reference, references) if {
	some other in references
	other != reference
	startswith(other, concat("", [reference, "."]))
}

# _block_value is a block's value of a field, with markers where after_unknown marks it: the whole
# field, or single elements of a list.
_block_value(document, i, block, field) := _marker(document, sprintf("statement[%d].%s", [i, field])) if {
	_block_unknown(document, [i, field])
} else := [_element_value(document, i, field, j, item) | some j, item in block[field]] if {
	is_array(block[field])
} else := object.get(block, field, null)

_element_value(document, i, field, j, item) := _marker(document, sprintf("statement[%d].%s", [i, field])) if {
	_block_unknown(document, [i, field, j])
} else := item

# A block without an effect allows, as the provider's default does.
_block_effect(document, i, block) := value if {
	value := _block_value(document, i, block, "effect")
	value != null
} else := "Allow"

_block_actions(document, i, block) := {"NotAction": value} if {
	value := _block_value(document, i, block, "not_actions")
	_present(value)
} else := {"Action": value} if {
	value := _block_value(document, i, block, "actions")
	value != null
} else := {"Action": []}

_block_resources(document, i, block) := {"NotResource": value} if {
	value := _block_value(document, i, block, "not_resources")
	_present(value)
} else := {"Resource": value} if {
	value := _block_value(document, i, block, "resources")
	_present(value)
} else := {}

# A value is there when it is unknown or a non-empty list.
_present(value) if iam.marker(value)

_present(value) if {
	is_array(value)
	count(value) > 0
}

_block_principals(document, i, block, field, element) := {element: _field_marker(document, i, field)} if {
	_block_unknown(document, [i, field])
} else := {element: {type: identifiers |
	some principal in _block_list(block, field)
	type := principal.type
	is_string(type)
	identifiers := [identifier |
		some k, other in _block_list(block, field)
		other.type == type
		some identifier in _principal_identifiers(document, i, field, k, other)
	]
}} if {
	count(_block_list(block, field)) > 0
} else := {}

_principal_identifiers(document, i, field, k, other) := [_field_marker(document, i, field)] if {
	_block_unknown(document, [i, field, k, "identifiers"])
} else := [_identifier(document, i, field, k, n, identifier) | some n, identifier in _block_list(other, "identifiers")]

_identifier(document, i, field, k, n, identifier) := _marker(document, sprintf("statement[%d].%s", [i, field])) if {
	_block_unknown(document, [i, field, k, "identifiers", n])
} else := identifier

_block_list(block, field) := value if {
	value := object.get(block, field, null)
	is_array(value)
} else := []

_block_sid(block) := {"Sid": block.sid} if {
	is_string(block.sid)
	block.sid != ""
} else := {}

# A condition block with an unknown test or variable makes the whole Condition unknown (object keys
# are never unknown); unknown values are marked one by one.
_block_condition(document, i, _) := {"Condition": _marker(document, sprintf("statement[%d].condition", [i]))} if {
	_block_unknown(document, [i, "condition"])
} else := {"Condition": _marker(document, sprintf("statement[%d].condition", [i]))} if {
	some j, _ in _block_list(_block_at(document, i), "condition")
	some field in ["test", "variable"]
	_block_unknown(document, [i, "condition", j, field])
} else := {"Condition": {test: {variable: _condition_values(document, i, test, variable) |
	some other in _block_list(_block_at(document, i), "condition")
	other.test == test
	variable := other.variable
	is_string(variable)
} |
	some condition in _block_list(_block_at(document, i), "condition")
	test := condition.test
	is_string(test)
}}

_block_at(document, i) := document.change.after.statement[i]

_condition_values(document, i, test, variable) := [value |
	some j, condition in _block_list(_block_at(document, i), "condition")
	condition.test == test
	condition.variable == variable
	some value in _condition_block_values(document, i, j, condition)
]

_condition_block_values(document, i, j, condition) := [_values_marker(document, i, j)] if {
	_block_unknown(document, [i, "condition", j, "values"])
} else := [_condition_value(document, i, j, n, value) | some n, value in _block_list(condition, "values")]

_values_marker(document, i, j) := _marker(document, sprintf("statement[%d].condition[%d].values", [i, j]))

_condition_value(document, i, j, n, value) := _values_marker(document, i, j) if {
	_block_unknown(document, [i, "condition", j, "values", n])
} else := value

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
# principal's address when its name is unknown); undefined when neither resolves. IAM names are
# unique in an account, so a name that two principals of the plan share (a module instance per
# account) names neither: only a reference then says which one a policy belongs to.
principal_key(index) := policy_principal_key(readable_policies[index])

# policy_principal_key is principal_key for a policy.
policy_principal_key(policy) := _principal_change_key(policy.change) if {
	policy.resource_type == "aws_iam_role"
} else := concat("/", [spec.type, name]) if {
	spec := _principal_argument[policy.resource_type]
	name := object.get(policy.change.change, ["after", spec.argument], null)
	is_string(name)
	not _shared_name(spec.type, name)
} else := _principal_change_key(change) if {
	spec := _principal_argument[policy.resource_type]
	change := referenced_change(policy.change, [spec.argument], "managed", spec.type)
	_kept(change)
}

# _principal_change_key keys a principal's change by its type and name, or by its address when
# its name is unknown or shared with another principal of the plan.
_principal_change_key(change) := concat("/", [change.type, name]) if {
	name := object.get(change.change, ["after", "name"], null)
	is_string(name)
	not _shared_name(change.type, name)
} else := concat(" ", [change.type, change.address])

_shared_name(type, name) if {
	index := principals_named # the whole index, built once: a keyed lookup would scan every change
	count(index[concat("/", [type, name])]) > 1
}

# principal_names are the names an administrator pattern may match for a principal: its name,
# its ARN (where the plan does not know it, arn:aws:iam::<any account>:<role|user|group><path><name>,
# with an account that only a wildcard matches), and its Terraform address. A name unknown until
# apply (name_prefix) is an unknown name (see unknown_name): any pattern may match it.
principal_names(change) := array.concat([change.address], [name |
	some name in [object.get(_after(change), "name", null), _principal_arn(change), _unknown_name(change)]
	is_string(name)
])

_unknown_name(change) := sprintf("?%s.name", [change.address]) if {
	not is_string(object.get(_after(change), "name", null))
} else := null

# unknown_name holds for a principal name that stands for one unknown until apply: "?" (a marked
# Principal) or "?" and the expression it depends on ("?aws_iam_role.r.name").
unknown_name(name) if startswith(name, "?")

_principal_arn(change) := arn if {
	arn := _after(change).arn
	is_string(arn)
} else := concat("", ["arn:aws:iam::", _any_account, ":", _principal_types[change.type], path, name]) if {
	name := _after(change).name
	is_string(name)
	path := object.get(_after(change), "path", "/")
	is_string(path)
} else := null

_any_account := "\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001"

# grantees are the principals a statement applies to, one list of names each (an empty list for a
# principal that cannot be named; an unknown name, see unknown_name, for one named only during
# apply): the Principal of a resource policy statement; the role, user or group of an inline policy;
# the principals the plan attaches a managed policy to.
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
} else := [[sprintf("?%s.%s", [policy.change.address, spec.argument])]] if {
	policy := readable_policies[index]
	spec := _principal_argument[policy.resource_type]
} else := [[arn]] if {
	arn := object.get(readable_policies[index].change.change, ["after", "permission_set_arn"], null)
	is_string(arn)
} else := []

# A principal unknown until apply is "?": it may be an administrator, or not.
_statement_principals(statement) := ["*"] if {
	"NotPrincipal" in object.keys(statement.raw)
} else := array.concat(iam.principals(statement), ["?"]) if {
	statement.marked
	iam.marked(object.get(statement.raw, "Principal", null))
} else := iam.principals(statement)

# --- what the unknowns leave undecided ----------------------------------------------------------

# undecided are the verdicts of the per-statement rules that hold for some values of the unknowns but
# not for all: {policy_index, statement, rule, actions, expressions}, one per statement and rule.
undecided contains item if {
	some k, verdict in send_verdicts
	verdict.possible != verdict.certain
	pairs := verdict.possible - verdict.certain
	count(pairs) > 0
	item := _undecided(k, "SES-001", pairs)
}

# SES-003 is also undecided where a principal is named only during apply (see grantees).
undecided contains item if {
	some k, verdict in admin_only_verdicts
	entry := ses_entries[k]
	possible := _unless(verdict.possible, administrators_only(entry.policy_index, entry.statement, "certainly"))
	certain := _unless(verdict.certain, administrators_only(entry.policy_index, entry.statement, "possibly"))
	pairs := possible - certain
	count(pairs) > 0
	undecided := _undecided(k, "SES-003", pairs)
	expressions := undecided.expressions | grantee_expressions(entry.policy_index, entry.statement)
	item := object.union(undecided, {"expressions": expressions})
}

undecided contains item if {
	some entry in marked_statements
	some [_, _, false] in iam.marked_problems(entry.statement, entry.conditions)
	item := {
		"policy_index": entry.policy_index,
		"statement": iam.ref(entry.statement),
		"rule": "SES-002",
		"actions": entry.tracked,
		"expressions": entry.statement.expressions,
	}
}

# An unknown condition key may be an ineffective ses:Recipients condition.
undecided contains item if {
	some entry in marked_statements
	count(entry.tracked) > 0
	some condition in entry.conditions
	condition.key == "?"
	item := {
		"policy_index": entry.policy_index,
		"statement": iam.ref(entry.statement),
		"rule": "SES-002",
		"actions": entry.tracked,
		"expressions": entry.statement.expressions,
	}
}

_unless(_, true) := set()

_unless(pairs, false) := pairs

_undecided(k, rule, pairs) := {
	"policy_index": entry.policy_index,
	"statement": iam.ref(entry.statement),
	"rule": rule,
	"actions": {action | some [action, _] in pairs},
	"expressions": object.get(entry.statement, "expressions", set()) | {expression |
		some guard in possible_guards_for(entry.policy_index)
		some expression in guard.expressions
	},
} if {
	entry := ses_entries[k]
}

# administrators_only says whether every principal a statement applies to is an administrator
# ("certainly"), or may be, given principals unknown until apply ("possibly"); see config.administrators.
administrators_only(index, statement, mode) := true if {
	count(config.administrators) > 0
	principals := grantees(index, statement)
	count(principals) > 0
	every names in principals {
		_administrator(names, mode)
	}
} else := false

_administrator(names, "possibly") if {
	some name in names
	unknown_name(name)
}

_administrator(names, _) if config.is_administrator([name | some name in names; not unknown_name(name)])

# grantee_expressions are the expressions that the unknown names of a statement's principals
# depend on (an unknown Principal's are the statement's own).
grantee_expressions(index, statement) := {trim_prefix(name, "?") |
	some names in grantees(index, statement)
	some name in names
	unknown_name(name)
	name != "?"
}

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
	"aws_iam_role_policy_attachments_exclusive": {
		"policies": ["policy_arns"],
		"principals": {"aws_iam_role": ["role_name"]},
	},
	"aws_iam_user_policy_attachments_exclusive": {
		"policies": ["policy_arns"],
		"principals": {"aws_iam_user": ["user_name"]},
	},
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
} else := [[sprintf("?%s.%s", [change.address, argument])]]

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
