# IAM policy semantics with unknown values (part of package sesrego.lib.iam; its METADATA is in iam.rego).
#
# Reads policy documents whose unknown values are marked ({"$unknown": [expressions], "like": glob},
# see docs/plan-extension.md) and answers the statement questions twice: what a statement certainly
# does, whatever the unknowns are, and what it possibly does, for some value of them. A rule reports a
# finding when the certain answer holds, and leaves it undecided (SES-007) when only the possible one
# does. The value domain: an unknown Resource or Principal in an Allow may match what the statement's
# actions need; a Deny with an unknown anywhere is never a certain guard, only a possible one; a string
# with unknown parts keeps its known parts (like). Only marked documents are read here: policies known
# in full take the plain path.
package sesrego.lib.iam

import rego.v1

# marker holds for a value that stands for an unknown one.
marker(value) if {
	is_object(value)
	is_array(value["$unknown"])
}

# marked holds for a value that holds a marker anywhere.
marked(value) if {
	walk(value, [_, node])
	marker(node)
}

# is_marked is marked as a boolean.
is_marked(value) := true if marked(value) else := false

# expressions are the expressions the markers inside a value depend on.
expressions(value) := {expression |
	walk(value, [_, node])
	marker(node)
	some expression in node["$unknown"]
	is_string(expression)
}

# marked_normalize is normalize for a marked document: statements without markers are normalized as
# usual; one with markers also carries marked: true, its effect ("?" when unknown), its known action
# patterns, the markers among its actions, and the expressions it depends on. A document or
# Statement that is unknown as a whole leaves nothing to verify.
marked_normalize(document) := {"unknown": sort(expressions(document))} if {
	_unknown_statements(document)
} else := {"statements": statements} if {
	raws := _raw_statements(document)
	statements := [statement |
		some i, raw in raws
		statement := _marked_statement(i, raw)
	]
	count(statements) == count(raws)
} else := normalize(document)

_unknown_statements(document) if marker(document)

_unknown_statements(document) if marker(document.Statement)

# A statement unknown as a whole may be anything: every element of it is unknown.
_marked_statement(i, raw) := _marked_fields(i, {
	"Effect": raw,
	"Action": [raw],
	"Resource": raw,
	"Principal": raw,
	"Condition": raw,
}) if {
	marker(raw)
} else := object.union(statements_of({"Statement": [raw]})[0], {"index": i}) if {
	not marked(raw)
	statements_of({"Statement": [raw]})
} else := _marked_fields(i, raw)

_marked_fields(i, raw) := {
	"index": i,
	"raw": raw,
	"marked": true,
	"effect": _marked_effect(raw.Effect),
	"not_action": not_action,
	"patterns": [lower(item) | some item in elements; is_string(item)],
	"action_unknowns": [item | some item in elements; marker(item)],
	"conditioned": "Condition" in object.keys(raw),
	"expressions": expressions(raw),
} if {
	is_object(raw)
	_marked_effect(raw.Effect)
	not_action := "NotAction" in object.keys(raw)
	("Action" in object.keys(raw)) != not_action
	elements := _elements(raw[_action_element[not_action]])
	every item in elements {
		_string_or_marker(item)
	}
}

_marked_effect(effect) := effect if effect in _effects

_marked_effect(effect) := "?" if marker(effect)

_elements(value) := [value] if {
	not is_array(value)
} else := value

_string_or_marker(value) if is_string(value)

_string_or_marker(value) if marker(value)

# --- actions -----------------------------------------------------------------------------------

# tracked_may are the tracked actions a marked statement may apply to: an unknown Action element may be
# any action its like matches (any action without one); an unknown NotAction element may exclude none.
tracked_may(statement, patterns) := tracked_actions_of(statement, patterns) | {action |
	not statement.not_action
	some unknown in statement.action_unknowns
	some action in facts.tracked_actions
	_like_matches(unknown, action)
}

# tracked_must are the tracked actions it applies to whatever the unknowns are: an unknown NotAction
# element may exclude any action its like matches.
tracked_must(statement, patterns) := {action |
	some action in tracked_actions_of(statement, patterns)
	not _possibly_excluded(statement, action)
}

_possibly_excluded(statement, action) if {
	statement.not_action
	some unknown in statement.action_unknowns
	_like_matches(unknown, action)
}

_like_matches(unknown, _) if not is_string(object.get(unknown, "like", null))

_like_matches(unknown, action) if {
	is_string(unknown.like)
	glob.match(glob_escape(lower(unknown.like)), null, action)
}

# --- the value an unknown may take --------------------------------------------------------------

# _at_most is the broadest value a marker may stand for in a pattern list: its like, else "*".
_at_most(unknown) := unknown.like if is_string(unknown.like) else := "*"

# _broadest replaces the markers of a Resource or Principal value with the broadest values they may take.
_broadest(value) := _at_most(value) if {
	marker(value)
} else := {key: _broadest_list(item) | some key, item in value} if {
	is_object(value)
} else := _broadest_list(value)

_broadest_list(value) := _at_most(value) if {
	marker(value)
} else := [_broadest_item(item) | some item in value] if {
	is_array(value)
} else := value

_broadest_item(item) := _at_most(item) if marker(item) else := item

# _without_unknowns drops the unknown elements of a list (an unknown NotResource or NotAction element
# may exclude nothing).
_without_unknowns(value) := [item | some item in _elements(value); not marker(item)]

# --- conditions ----------------------------------------------------------------------------------

# marked_conditions are a marked statement's conditions as {operator, key, values, unknown}: values are
# the known ones, unknown says that some are not known. An operator whose keys are unknown, or a
# Condition unknown as a whole, is one condition with key "?".
marked_conditions(statement) := [{"operator": "?", "key": "?", "values": [], "unknown": true}] if {
	marker(statement.raw.Condition)
} else := [condition |
	is_object(statement.raw.Condition)
	some operator, keys in statement.raw.Condition
	some condition in _operator_conditions(operator, keys)
]

_operator_conditions(operator, keys) := [{"operator": operator, "key": "?", "values": [], "unknown": true}] if {
	marker(keys)
} else := [{
	"operator": operator,
	"key": lower(key),
	"values": [_text(item) | some item in _elements(value); not marker(item)],
	"unknown": is_marked(value),
	"likes": [_at_most(item) | some item in _elements(value); marker(item)],
} |
	is_object(keys)
	some key, value in keys
]

_definite_recipients(conditions) := [condition | some condition in conditions; condition.key == facts.recipient_key]

# _effectiveness are the possible outcomes of one ses:Recipients condition: "effective",
# "ineffective" or both. A wrong operator, or a known value that admits untrusted recipients, is
# ineffective whatever the unknown values are; an unknown value may be anything its like allows.
_effectiveness(statement, condition) := _either_effect(condition) if {
	statement.effect == "?"
} else := _known_effectiveness(statement.effect, condition)

_known_effectiveness(effect, condition) := {"ineffective"} if {
	_certain_problem(effect, condition)
} else := {"effective"} if {
	not condition.unknown
} else := {"effective"} if {
	count(condition.likes) > 0
	every like in condition.likes {
		_decided_pattern(condition.operator, like)
	}
} else := {"effective", "ineffective"}

# With an unknown Effect, a condition may be read as an Allow's or as a Deny's.
_either_effect(condition) := {outcome |
	some effect in _effects
	some outcome in _known_effectiveness(effect, condition)
}

_certain_problem(effect, condition) := problem if {
	effect in _effects
	not _unknown_null(condition)
	problem := condition_problem(effect, _known_part(condition))
	problem != ""
	not _only_missing_values(condition, problem)
}

_known_part(condition) := {"operator": condition.operator, "key": condition.key, "values": condition.values}

_unknown_null(condition) if {
	condition.operator == "Null"
	condition.unknown
}

# "lists no pattern" is no problem when unknown values are missing.
_only_missing_values(condition, problem) if {
	condition.unknown
	count(condition.values) == 0
	problem == "it lists no recipient pattern"
}

# _decided_pattern holds for a like whose every value is an effective pattern: its domain part is known.
_decided_pattern(operator, like) if {
	operator in _like_operators
	parts := split(like, "@")
	count(parts) > 1
	not _has_wildcard(parts[count(parts) - 1])
	not like_pattern_problem(concat("@", ["x", parts[count(parts) - 1]]))
}

# recipient_statuses are the possible recipient statuses of a marked Allow (see recipient_status).
recipient_statuses(statement, conditions) := {status |
	definite := _definite_recipients(conditions)
	some status in {"none", "effective", "ineffective"}
	_possible_status(statement, definite, _optional(conditions), status)
}

_optional(conditions) := true if {
	some condition in conditions
	condition.key == "?"
} else := false

_possible_status(_, definite, _, "none") if count(definite) == 0

_possible_status(statement, definite, _, "effective") if {
	some condition in definite
	"effective" in _effectiveness(statement, condition)
}

_possible_status(_, _, true, "effective")

_possible_status(statement, definite, _, "ineffective") if {
	count(definite) > 0
	every condition in definite {
		"ineffective" in _effectiveness(statement, condition)
	}
}

_possible_status(_, definite, true, "ineffective") if count(definite) == 0

# marked_problems are the [condition, problem, certain] of a marked statement's ses:Recipients
# conditions that are, or may be, ineffective (see ineffective_recipient_conditions).
marked_problems(statement, conditions) := [[condition, _problem_text(statement, condition), certain] |
	some condition in _definite_recipients(conditions)
	outcomes := _effectiveness(statement, condition)
	"ineffective" in outcomes
	certain := _certainly_reported(statement, conditions, outcomes)
]

_certainly_reported(statement, conditions, outcomes) := true if {
	outcomes == {"ineffective"}
	statement.effect == "Deny"
} else := true if {
	outcomes == {"ineffective"}
	statement.effect == "Allow"
	recipient_statuses(statement, conditions) == {"ineffective"}
} else := false

_problem_text(statement, condition) := problem if {
	problem := _certain_problem(statement.effect, condition)
} else := "its values are not known"

# --- grants ------------------------------------------------------------------------------------------

# marked_grants are the pairs a marked Allow grants for every value of its unknowns ("must") or for
# some ("may"). Its unknown Resource may match what its actions need, in both; an unknown NotResource
# element may exclude everything (must) or nothing (may); a ses:ApiVersion condition with unknown
# values, or an unknown condition key, may limit it to no version (must) or to every one (may).
marked_grants(statement, tracked, conditions, "may") := set() if {
	not statement.effect in {"Allow", "?"}
} else := _recipients_allow(
	_grants(tracked, allowed_types(_resources_broadest(statement, "may")), _marked_versions(conditions, "may")),
	conditions,
	"certainly",
)

marked_grants(statement, tracked, conditions, "must") := set() if {
	statement.effect != "Allow"
} else := _recipients_allow(
	_grants(tracked, allowed_types(_resources_broadest(statement, "must")), _marked_versions(conditions, "must")),
	conditions,
	"possibly",
)

# As for a known Allow (_without_recipients), Null "true" leaves only the requests without recipients
# and a condition false on a missing key only those with them: "certainly" removes what every value
# removes (may grant), "possibly" what some value removes (must grant).
_recipients_allow(pairs, conditions, mode) := (pairs - _removed_keyed(conditions, mode)) - _removed_keyless(
	conditions,
	mode,
)

_removed_keyed(conditions, mode) := keyed_pairs if {
	some condition in conditions
	_null_true(condition, mode)
} else := set()

_removed_keyless(conditions, mode) := _all_pairs - keyed_pairs if {
	some condition in conditions
	_false_on_missing(condition, mode)
} else := set()

_all_pairs := {[action, version] | some version, actions in version_actions; some action in actions}

_null_true(condition, _) if {
	condition.key == facts.recipient_key
	not condition.unknown
	recipients_absent(_known_part(condition))
}

_null_true(condition, "possibly") if {
	condition.key == facts.recipient_key
	condition.operator == "Null"
	condition.unknown
}

_null_true(condition, "possibly") if condition.key == "?"

_false_on_missing(condition, _) if {
	condition.key == facts.recipient_key
	not _unknown_null(condition)
	_false_without_key(_known_part(condition))
}

_false_on_missing(condition, "possibly") if _unknown_null(condition)

_false_on_missing(condition, "possibly") if condition.key == "?"

_resources_broadest(statement, mode) := {"raw": {"Resource": _broadest(statement.raw.Resource)}} if {
	"Resource" in object.keys(statement.raw)
} else := {"raw": {"NotResource": _without_unknowns(statement.raw.NotResource)}} if {
	"NotResource" in object.keys(statement.raw)
	mode == "may"
} else := {"raw": {"NotResource": [_narrowest_excluded(item) | some item in _elements(statement.raw.NotResource)]}} if {
	"NotResource" in object.keys(statement.raw)
} else := {"raw": {}}

# An unknown NotResource element may exclude anything.
_narrowest_excluded(item) := "*" if marker(item) else := item

_marked_versions(conditions, "may") := {version |
	some version in facts.api_versions
	every condition in conditions {
		not _version_fails_known(condition, version)
	}
}

_marked_versions(conditions, "must") := set() if {
	some condition in conditions
	condition.key in {"?", facts.api_version_key}
	condition.unknown
} else := {version |
	some version in facts.api_versions
	every condition in conditions {
		not _version_fails_known(condition, version)
	}
}

_version_fails_known(condition, version) if {
	condition.key == facts.api_version_key
	not condition.unknown
	_version_fails(condition, version)
}

# broadest_allow and narrowest_allow are a marked Allow with its unknown Resource and Principal at
# their broadest (like, else "*") and narrowest (left out): a Deny certainly covers it when it covers
# the broadest, possibly when it covers the narrowest.
broadest_allow(statement) := object.union(statement, {"raw": object.union(statement.raw, object.union_n([
	_broadest_element(statement.raw, "Resource"),
	_broadest_element(statement.raw, "Principal"),
	_kept_element(statement.raw, "NotResource"),
]))})

narrowest_allow(statement) := object.union(statement, {"raw": object.union(
	object.remove(statement.raw, ["Resource", "Principal", "NotResource"]),
	object.union_n([
		_known_element(statement.raw, "Resource"),
		_known_element(statement.raw, "Principal"),
		_narrowest_element(statement.raw, "NotResource"),
	]),
)})

# _known_element keeps the known part of an element, and leaves out one unknown as a whole.
_known_element(raw, element) := {element: [item | some item in raw[element]; not marker(item)]} if {
	is_array(raw[element])
} else := {element: {key: [item | some item in _elements(value); not marker(item)] |
	some key, value in raw[element]
	not marker(value)
}} if {
	is_object(raw[element])
	not marker(raw[element])
} else := {element: raw[element]} if {
	is_string(raw[element])
} else := {}

_narrowest_element(raw, element) := {element: [_narrowest_excluded(item) | some item in _elements(raw[element])]} if {
	element in object.keys(raw)
} else := {}

# --- possible guards -------------------------------------------------------------------------------

# possible_guard is the broadest guard a marked statement may be, for some value of its unknowns (see
# guard): an unknown Effect may be Deny; an unknown action may be any its like matches; an unknown
# Resource or Principal may be "*" (or its like), an unknown NotResource or NotAction element may
# exclude nothing; an unknown ses:Recipients value may be an effective pattern; an unknown
# ses:ApiVersion value may cover every version; an unknown condition key may be no condition at all.
# A known condition that no value makes a guard (aws:RequestedRegion, a positive principal test)
# still makes it none.
possible_guard(statement, tracked) := object.union(guard(broadest, tracked), {
	"versions_unknown": _versions_unknown(statement),
}) if {
	statement.effect in {"Deny", "?"}
	broadest := {
		"index": statement.index,
		"raw": _broadest_deny(statement.raw),
		"effect": "Deny",
		"not_action": statement.not_action,
		"patterns": statement.patterns,
		"conditioned": true,
		"conditions": [condition |
			some marked_condition in marked_conditions(statement)
			not _may_be_absent(marked_condition)
			condition := _broadest_condition(marked_condition)
		],
	}
}

# _versions_unknown says whether a statement's API versions depend on an unknown value.
_versions_unknown(statement) := true if {
	some condition in marked_conditions(statement)
	condition.key in {"?", facts.api_version_key}
	condition.unknown
} else := false

_broadest_deny(raw) := object.union(
	object.remove(raw, ["Effect", "Condition", "Resource", "NotResource", "Principal", "NotPrincipal"]),
	object.union_n([
		{"Effect": "Deny"},
		_broadest_element(raw, "Resource"),
		_kept_element(raw, "NotResource"),
		_broadest_element(raw, "Principal"),
		_kept_element(raw, "NotPrincipal"),
	]),
)

_broadest_element(raw, element) := {element: _broadest(raw[element])} if {
	element in object.keys(raw)
} else := {}

_kept_element(raw, element) := {element: _without_unknowns(raw[element])} if {
	element in object.keys(raw)
	not is_object(raw[element])
} else := {element: raw[element]} if {
	element in object.keys(raw)
} else := {}

# An unknown condition key may be no condition; an unknown ses:ApiVersion may hold for every version.
_may_be_absent(condition) if condition.key == "?"

_may_be_absent(condition) if {
	condition.key == facts.api_version_key
	condition.unknown
}

_broadest_condition(condition) := {"operator": "Null", "key": condition.key, "values": ["false"]} if {
	_unknown_null(condition)
} else := object.union(_known_part(condition), {"values": ["false"]}) if {
	condition.key == "aws:principalisawsservice"
	condition.operator in {"Bool", "BoolIfExists"}
	condition.unknown
} else := object.union(_known_part(condition), {"assumed": true}) if {
	condition.key == facts.recipient_key
	condition.unknown
	not _certain_problem("Deny", condition)
} else := _known_part(condition)

# possible_perimeter holds for a marked statement that is a resource perimeter for some value of its
# unknowns (see perimeter_statement): an unknown action may be "*", an unknown Resource "*", an unknown
# condition key the perimeter's.
possible_perimeter(statement, patterns) if {
	statement.effect in {"Deny", "?"}
	broadest := {
		"index": statement.index,
		"raw": _broadest_deny(statement.raw),
		"effect": "Deny",
		"not_action": statement.not_action,
		"patterns": array.concat(statement.patterns, [lower(_at_most(unknown)) |
			some unknown in statement.action_unknowns
		]),
		"conditions": [_perimeter_condition(condition) | some condition in marked_conditions(statement)],
	}
	perimeter_statement(broadest, patterns)
}

_perimeter_condition(condition) := {"operator": "StringNotEquals", "key": "aws:resourceorgid", "values": []} if {
	condition.key == "?"
} else := _known_part(condition)
