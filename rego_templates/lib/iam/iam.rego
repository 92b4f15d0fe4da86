# METADATA
# title: IAM policy semantics
# description: |
#   Normalises IAM policy documents and answers the questions the SES rules ask of a statement:
#   which SES actions it grants or denies, and whether its ses:Recipients condition restricts anything.
#   Actions match case-insensitively with the IAM wildcards * and ?; condition keys are case-insensitive.
# scope: package
package sesrego.lib.iam

import rego.v1

facts := data.sesrego.facts

# Operators that restrict ses:Recipients in an Allow: every recipient must match.
allow_recipient_operators := {
	"ForAllValues:StringLike",
	"ForAllValues:StringEquals",
	"ForAllValues:StringLikeIfExists",
	"ForAllValues:StringEqualsIfExists",
}

# Operators that restrict ses:Recipients in a Deny: deny when any recipient is outside.
deny_recipient_operators := {
	"ForAnyValue:StringNotLike",
	"ForAnyValue:StringNotEquals",
	"ForAnyValue:StringNotLikeIfExists",
	"ForAnyValue:StringNotEqualsIfExists",
}

_like_operators := {
	"ForAllValues:StringLike",
	"ForAllValues:StringLikeIfExists",
	"ForAnyValue:StringNotLike",
	"ForAnyValue:StringNotLikeIfExists",
}

# Condition keys that only say who the principal is: a Deny conditioned on them
# still applies to everyone else, so it counts as a control.
_principal_key_prefixes := {"aws:principal", "aws:userid", "aws:username", "aws:sourceidentity"}

# normalize turns a decoded policy document into {"problem": string} when it is not an
# IAM policy, else {"statements": [...]}: one light object per statement with its index,
# effect, lower-cased action patterns, whether it has a Condition, and the raw statement.
# The other elements are read lazily (conditions, ref, all_resources, principals), for the
# few statements that matter.
normalize(document) := {"statements": statements} if {
	statements := statements_of(document)
} else := {"problem": _document_problem(document)}

# statements_of is normalize's hot path, one comprehension per document: it is undefined
# when the document is not an IAM policy.
statements_of(document) := statements if {
	raws := _raw_statements(document)
	statements := [{
		"index": i,
		"raw": raw,
		"effect": raw.Effect,
		"not_action": not_action,
		"patterns": patterns,
		"conditioned": "Condition" in elements,
	} |
		some i, raw in raws
		raw.Effect in _effects
		elements := object.keys(raw)
		not_action := "NotAction" in elements
		("Action" in elements) != not_action
		patterns := _lowered(raw[_action_element[not_action]])
	]
	count(statements) == count(raws)
}

_raw_statements(document) := [document.Statement] if {
	is_object(document.Statement)
} else := document.Statement if {
	is_array(document.Statement)
}

_effects := {"Allow", "Deny"}

_action_element := {false: "Action", true: "NotAction"}

_lowered(value) := [lower(value)] if {
	is_string(value)
} else := lowered if {
	is_array(value)
	lowered := [lower(item) | some item in value; is_string(item)]
	count(lowered) == count(value)
}

_document_problem(document) := "the policy is not a JSON object" if {
	not is_object(document)
} else := "the policy has no Statement (an object or an array of objects)" if {
	not _raw_statements(document)
} else := problems[0] if {
	problems := [sprintf("statement %d %s", [i, problem]) |
		some i, raw in _raw_statements(document)
		not statements_of({"Statement": [raw]})
		problem := _statement_problem(raw)
	]
	count(problems) > 0
}

_statement_problem(raw) := "is not an object" if {
	not is_object(raw)
} else := "has an Effect other than Allow or Deny" if {
	not raw.Effect in _effects
} else := "has both Action and NotAction" if {
	"Action" in object.keys(raw)
	"NotAction" in object.keys(raw)
} else := "has neither Action nor NotAction" if {
	not "Action" in object.keys(raw)
	not "NotAction" in object.keys(raw)
} else := "has an Action or NotAction that is not a string or a list of strings"

# ref names a statement in findings: its Sid, else its index.
ref(statement) := statement.raw.Sid if {
	is_string(statement.raw.Sid)
	statement.raw.Sid != ""
} else := statement.index

# written are the action patterns as the policy spells them.
written(statement) := _list(statement.raw.NotAction) if statement.not_action

written(statement) := _list(statement.raw.Action) if not statement.not_action

# conditions are the statement's conditions as {operator, key (lower case), values (strings)}.
# A Condition that is not an object of objects contributes nothing (IAM would reject it).
conditions(statement) := [condition |
	is_object(statement.raw.Condition)
	some operator, keys in statement.raw.Condition
	is_object(keys)
	some key, value in keys
	condition := {"operator": operator, "key": lower(key), "values": [_text(v) | some v in _list(value)]}
]

_list(value) := value if is_array(value)

_list(value) := [value] if not is_array(value)

_text(value) := value if is_string(value)

_text(value) := sprintf("%v", [value]) if not is_string(value)

# all_resources holds when a statement covers every resource: no Resource element (as in an SCP
# that only names NotResource it does not), "*", or an all-SES-resources ARN.
all_resources(statement) if {
	not "Resource" in object.keys(statement.raw)
	not "NotResource" in object.keys(statement.raw)
}

all_resources(statement) if {
	some resource in _list(statement.raw.Resource)
	is_string(resource)
	regex.match(`^(\*|arn:[^:]*:ses:\*:\*:\*|arn:\*:ses:\*:\*:\*)$`, resource)
}

# principals are the lower-cased identifiers of a resource policy statement's Principal.
principals(statement) := ["*"] if {
	statement.raw.Principal == "*"
} else := sort([lower(identifier) |
	some _, identifiers in statement.raw.Principal
	some identifier in _list(identifiers)
	is_string(identifier)
]) if {
	is_object(statement.raw.Principal)
} else := []

# --- actions ---------------------------------------------------------------

# send_actions are the recipient-controlled send actions of every API version.
send_actions := {action | some actions in facts.send_actions; some action in actions}

# admin_only_actions are the actions the guidance keeps for administrators, of every API version.
admin_only_actions := {action | some actions in facts.admin_only_actions; some action in actions}

# glob_escape keeps only * and ? as wildcards, as IAM does.
glob_escape(pattern) := strings.replace_n({"\\": "\\\\", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}"}, pattern)

# The per-pattern facts, computed once per distinct action pattern in the input:
# which tracked SES actions it matches, and whether it is an ses: name that matches nothing.
describe_pattern(pattern) := {
	"tracked": {action | some action in facts.tracked_actions; _matches(pattern, action)},
	"unknown_ses": {true | _unknown_ses(pattern)} == {true},
}

_matches(pattern, action) if pattern == action

_matches(pattern, action) if {
	_has_wildcard(pattern)
	glob.match(glob_escape(pattern), null, action)
}

_has_wildcard(pattern) if contains(pattern, "*")

_has_wildcard(pattern) if contains(pattern, "?")

_unknown_ses(pattern) if {
	startswith(pattern, "ses:")
	not _has_wildcard(pattern)
	not facts.actions[pattern]
}

_unknown_ses(pattern) if {
	startswith(pattern, "ses:")
	_has_wildcard(pattern)
	not _any_action_matches(pattern)
}

_any_action_matches(pattern) if {
	some action, _ in facts.actions
	glob.match(glob_escape(pattern), null, action)
}

# tracked_actions_of is the set of tracked SES actions a statement applies to:
# the ones its Action patterns match, or for NotAction every one it does not exclude.
tracked_actions_of(statement, patterns) := {action |
	some action in facts.tracked_actions
	not _excluded(statement, patterns, action)
} if {
	statement.not_action
} else := {action |
	some pattern in statement.patterns
	some action in patterns[pattern].tracked
}

_excluded(statement, patterns, action) if {
	some pattern in statement.patterns
	action in patterns[pattern].tracked
}

# --- conditions --------------------------------------------------------------

recipient_conditions(statement) := [condition |
	some condition in conditions(statement)
	condition.key == facts.recipient_key
] if {
	statement.conditioned
} else := []

# names_recipient_key holds when a statement has a condition on ses:Recipients, whatever the operator.
names_recipient_key(statement) if {
	some _, keys in statement.raw.Condition
	is_object(keys)
	some key, _ in keys
	lower(key) == facts.recipient_key
}

# recipient_problem explains why a ses:Recipients condition restricts nothing, if it does not.
recipient_problem(statement, condition) := sprintf("%s does not restrict every recipient in an Allow (use ForAllValues:StringLike)", [condition.operator]) if {
	statement.effect == "Allow"
	not condition.operator in allow_recipient_operators
} else := sprintf("%s does not deny untrusted recipients in a Deny (use ForAnyValue:StringNotLike)", [condition.operator]) if {
	statement.effect == "Deny"
	not condition.operator in deny_recipient_operators
} else := "it lists no recipient pattern" if {
	count(condition.values) == 0
} else := sprintf("the pattern %q still holds a template placeholder", [value]) if {
	some value in condition.values
	regex.match(`<[^<>]*>`, value)
} else := sprintf("the pattern %q matches every address", [value]) if {
	condition.operator in _like_operators
	some value in condition.values
	contains(value, "*")
	regex.match(`^[*?]*(@[*?]*(\.[*?]*)*)?$`, value)
} else := sprintf("the pattern %q is not one of the trusted recipient patterns", [value]) if {
	some value in condition.values
	not trusted_recipient(value)
}

trusted_recipient(_) if count(_trusted_patterns) == 0

trusted_recipient(value) if {
	some trusted in _trusted_patterns
	glob.match(glob_escape(lower(trusted)), null, lower(value))
}

_trusted_patterns := [pattern |
	is_array(data.sesrego.config.trusted_recipients)
	some pattern in data.sesrego.config.trusted_recipients
	is_string(pattern)
]

effective_recipient_condition(statement) if {
	some condition in recipient_conditions(statement)
	not recipient_problem(statement, condition)
}

# api_versions_of is the set of SES API versions a statement applies to, read from its
# ses:ApiVersion conditions (all versions when it has none).
api_versions_of(statement) := {version |
	some version in facts.api_versions
	every condition in _version_conditions(statement) {
		_version_holds(condition, version)
	}
}

_version_conditions(statement) := [condition |
	some condition in conditions(statement)
	condition.key == facts.api_version_key
]

_version_holds(condition, version) if {
	condition.operator in {"StringEquals", "StringEqualsIfExists", "StringLike", "StringLikeIfExists"}
	some value in condition.values
	glob.match(glob_escape(value), null, version)
}

_version_holds(condition, version) if {
	condition.operator in {"StringNotEquals", "StringNotEqualsIfExists", "StringNotLike", "StringNotLikeIfExists"}
	every value in condition.values {
		not glob.match(glob_escape(value), null, version)
	}
}

# only_principal_exemptions holds when every condition besides ses:Recipients and ses:ApiVersion
# only exempts principals, so a Deny still applies to everyone who is not exempted.
only_principal_exemptions(statement) if {
	every condition in conditions(statement) {
		_exemption_or_ses(condition)
	}
}

_exemption_or_ses(condition) if condition.key in {facts.recipient_key, facts.api_version_key}

_exemption_or_ses(condition) if principal_condition(condition)

# principal_condition holds for a condition that only says who the principal is.
principal_condition(condition) if {
	some prefix in _principal_key_prefixes
	startswith(condition.key, prefix)
}

# recipient_control_coverage is the set of [action, api version] pairs a Deny statement
# effectively restricts to trusted recipients.
recipient_control_coverage(statement, patterns) := {[action, version] |
	statement.effect == "Deny"
	all_resources(statement)
	effective_recipient_condition(statement)
	only_principal_exemptions(statement)
	some action in tracked_actions_of(statement, patterns)
	some version in api_versions_of(statement)
	action in facts.send_actions[version]
}

display(action) := object.get(facts.actions, action, action)
