# METADATA
# title: IAM policy semantics
# description: |
#   Normalises IAM policy documents and answers the questions the SES rules ask of a statement,
#   as IAM evaluates it: which SES actions it grants or denies, per API version and resource type;
#   whether its ses:Recipients condition restricts anything; whether a Deny fires for every request
#   with an untrusted recipient (a guard), whom it exempts, and which resources it covers.
#   Actions match case-insensitively with the IAM wildcards * and ?; condition keys are
#   case-insensitive; exact operators compare literally and only the Like and ARN operators glob.
#   Documents with values unknown until apply are read by the same package's unknown.rego.
# scope: package
package sesrego.lib.iam

import rego.v1

# facts are the catalog facts (data.sesrego.facts) but the Public Suffix List, which public_suffix
# reads in place: the engine then never copies the list's ten thousand rules.
facts := {key: value | some key in _catalog_facts; value := data.sesrego.facts[key]}

_catalog_facts := {
	"actions", "admin_only_actions", "api_version_key", "api_versions", "arn_shapes", "considerations",
	"recipient_key", "recipient_key_actions", "resource_types", "send_actions", "tracked_actions",
}

# normalize turns a decoded policy document into {"problem": string} when it is not an
# IAM policy, else {"statements": [...]}: one light object per statement with its index,
# effect, lower-cased action patterns, whether it has a Condition, and the raw statement.
# The other elements are read lazily (conditions, ref, resources, principals), for the
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
conditions(statement) := statement.conditions if {
	is_array(statement.conditions) # a statement read with its unknowns at their broadest (possible_guard)
} else := condition_list(object.get(statement.raw, "Condition", null))

# condition_list reads a Condition element (a function of its value alone, so the engine computes
# it once per distinct Condition).
condition_list(element) := [condition |
	is_object(element)
	some operator, keys in element
	is_object(keys)
	some key, value in keys
	condition := {"operator": operator, "key": lower(key), "values": [_text(v) | some v in _list(value)]}
]

_list(value) := value if is_array(value)

_list(value) := [value] if not is_array(value)

_text(value) := value if is_string(value)

_text(value) := sprintf("%v", [value]) if not is_string(value)

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

# send_pairs and admin_only_pairs are those actions as [action, API version] pairs.
send_pairs := {[action, version] | some version, actions in facts.send_actions; some action in actions}

admin_only_pairs := {[action, version] | some version, actions in facts.admin_only_actions; some action in actions}

# keyed_pairs are the pairs whose requests carry ses:Recipients (v2 SendCustomVerificationEmail's do
# not: there a condition on the key behaves as on a missing key).
keyed_pairs := {[action, version] | some version, actions in facts.recipient_key_actions; some action in actions}

# version_actions are the tracked actions of each API version.
version_actions := {version: {action | some action, _ in facts.resource_types[version]} |
	some version in facts.api_versions
}

# glob_escape keeps only * and ? as wildcards, as IAM does.
glob_escape(pattern) := strings.replace_n({"\\": "\\\\", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}"}, pattern)

# The per-pattern facts, computed once per distinct action pattern in the input: which tracked
# SES actions it matches, whether it is an ses: name that matches nothing, and whether its service
# prefix is an SES lookalike such as sesv2 (see lookalike_prefix).
describe_pattern(pattern) := {
	"tracked": {action | some action in facts.tracked_actions; _matches(pattern, action)},
	"unknown_ses": {true | _unknown_ses(pattern)} == {true},
	"lookalike": {true | lookalike_prefix(pattern)} == {true},
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

# lookalike_prefix holds for a lower-cased action pattern whose service prefix is not ses but
# becomes ses once - and _ and a trailing v+digits or digits are removed (sesv2, ses-v2, ses_v1,
# ses2): IAM knows no such service, so the pattern grants nothing (SES v2 actions use ses:).
lookalike_prefix(pattern) if {
	contains(pattern, ":")
	prefix := split(pattern, ":")[0]
	prefix != "ses"
	regex.replace(strings.replace_n({"-": "", "_": ""}, prefix), `v?[0-9]+$`, "") == "ses"
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

# service_prefixes are the distinct service prefixes of a statement's Action patterns.
service_prefixes(statement) := {split(pattern, ":")[0] | some pattern in statement.patterns; contains(pattern, ":")}

# --- resources -----------------------------------------------------------------
# An ARN matches a Resource pattern segment by segment (the six parts between colons); a * that
# ends a segment may also span colons. ARNs compare case-sensitively. Each tracked action
# authorizes on the resource types the catalog lists for its API version (facts.resource_types),
# whose ARNs have the shape arn:${Partition}:ses:${Region}:${Account}:<type>/<name>
# (facts.arn_shapes). A policy's partition is the organization's: an ARN pattern naming one
# partition covers that partition's resources.

# resource_element is a statement's resource element: {"resource": [...]} or {"not_resource": [...]}.
# A statement without either (which IAM rejects) is read as Resource "*".
resource_element(statement) := resource_element_of(
	object.get(statement.raw, "Resource", null),
	object.get(statement.raw, "NotResource", null),
)

resource_element_of(resource, not_resource) := {"not_resource": _strings(not_resource)} if {
	not_resource != null
} else := {"resource": _strings(resource)} if {
	resource != null
} else := {"resource": ["*"]}

_strings(value) := [item | some item in _list(value); is_string(item)]

# allowed_types are the resource types whose ARNs an Allow's resource element may match.
allowed_types(statement) := _allowed_types(
	object.get(statement.raw, "Resource", null),
	object.get(statement.raw, "NotResource", null),
)

# _allowed_types is allowed_types for the values of Resource and NotResource (so the engine computes
# it once per distinct pair).
_allowed_types(resource, not_resource) := _all_types if {
	resource == "*"
	not_resource == null
} else := {type |
	element := resource_element_of(resource, not_resource)
	some type, _ in facts.arn_shapes
	_element_may_match(element, type)
}

_all_types := {type | some type, _ in facts.arn_shapes}

_element_may_match(element, type) if {
	some pattern in element.resource
	may_match_type(pattern, type) == true
}

_element_may_match(element, type) if {
	element.not_resource
	not _some_covers_type(element.not_resource, type)
}

_some_covers_type(patterns, type) if {
	some pattern in patterns
	covers_type(pattern, type)
}

# may_match_type is true when a Resource pattern may match some ARN of a resource type (an
# over-approximation: when in doubt, it may). An ARN of the type has six segments; a pattern
# with exactly six matches segment by segment (its five colons pair up with the ARN's), so its
# service segment must match the type's service and its last segment may start with the type's
# "<type>/". A pattern with fewer segments is compared as a whole; one with more matches nothing.
may_match_type(pattern, type) := true if {
	_may_match_type(pattern, type)
} else := false

_may_match_type(pattern, _) if pattern == "*"

_may_match_type(pattern, type) if {
	pattern != "*"
	facts.arn_shapes[type] == "*"
}

_may_match_type(pattern, type) if {
	shape := _shapes[type]
	segments := split(pattern, ":")
	count(segments) == 6
	_segment_may_be(segments[2], shape.service)
	_segment_may_be(segments[0], "arn")
	_segment_may_start(segments[5], shape.prefix)
}

_may_match_type(pattern, type) if {
	pattern != "*"
	_shapes[type]
	segments := split(pattern, ":")
	count(segments) < 6
	_has_wildcard(pattern)
	regex.globs_match(_globs_syntax(pattern), _globs_syntax(facts.arn_shapes[type]))
}

# _shapes are the ARN shapes of facts.arn_shapes as a service and a resource prefix ("identity/").
_shapes := {type: {"service": segments[2], "prefix": trim_suffix(segments[5], "*")} |
	some type, shape in facts.arn_shapes
	segments := split(shape, ":")
	count(segments) == 6
}

# _segment_may_be holds when a pattern segment may match a literal.
_segment_may_be(segment, literal) if segment == literal

_segment_may_be(segment, literal) if {
	segment != literal
	_has_wildcard(segment)
	glob.match(glob_escape(segment), null, literal)
}

# _segment_may_start holds when a pattern segment may match some text that starts with a prefix:
# its literal beginning (before any wildcard) and the prefix agree as far as both go.
_segment_may_start(segment, prefix) if startswith(segment, prefix)

_segment_may_start(segment, prefix) if {
	not startswith(segment, prefix)
	literal := regex.find_n(`^[^*?]*`, segment, 1)[0]
	literal != segment
	startswith(prefix, literal)
}

# _globs_syntax writes an IAM glob in regex.globs_match's syntax.
_globs_syntax(pattern) := strings.replace_n(
	{".": "\\.", "+": "\\+", "[": "\\[", "]": "\\]", "-": "\\-", "\\": "\\\\", "*": ".*", "?": "."},
	pattern,
)

# patterns_intersect holds when two Resource patterns may match a common ARN (an over-approximation).
patterns_intersect(a, b) if {
	segments_a := split(a, ":")
	segments_b := split(b, ":")
	count(segments_a) == 6
	count(segments_b) == 6
	every i, segment in segments_a {
		_globs_intersect(segment, segments_b[i])
	}
}

patterns_intersect(a, b) if {
	not _six_segments_each(a, b)
	regex.globs_match(_globs_syntax(a), _globs_syntax(b))
}

_six_segments_each(a, b) if {
	count(split(a, ":")) == 6
	count(split(b, ":")) == 6
}

_globs_intersect(a, b) if a == b

_globs_intersect(a, b) if {
	a != b
	regex.globs_match(_globs_syntax(a), _globs_syntax(b))
}

_globs_intersect(a, b) if {
	a != b
	"" in {a, b}
	_only_stars(concat("", [a, b]))
}

_only_stars(text) if regex.match(`^\**$`, text)

# covers_type holds when a Resource pattern matches every ARN of a resource type (a sound
# under-approximation: when it cannot be shown, it does not).
covers_type(pattern, _) if pattern == "*"

covers_type(pattern, type) if {
	pattern != "*"
	covers(pattern, _type_target(type, _partition_of(pattern)))
}

# A target is a set of ARNs written as a string: \u0001 for any run of characters without a colon,
# \u0003 for any one such character.
_type_target(type, partition) := target if {
	shape := split(facts.arn_shapes[type], ":")
	count(shape) == 6
	name := strings.replace_n({"*": "\u0001"}, shape[5])
	target := concat(":", [shape[0], partition, shape[2], "\u0001", "\u0001", name])
}

# A pattern naming one partition covers that partition; any other pattern is read against aws.
_partition_of(pattern) := partition if {
	segments := split(pattern, ":")
	count(segments) > 1
	partition := segments[1]
	partition != ""
	not _has_wildcard(partition)
} else := "aws"

# covers holds when an IAM Resource pattern matches every ARN a target (see _type_target) stands for:
# literal characters match only themselves, a * inside a segment any run without a colon, a * that
# ends a segment anything, and ? one character that is not a colon.
covers(pattern, target) if regex.match(_cover_regex(pattern), target)

_cover_regex(pattern) := concat("", ["^", regex_text, "$"]) if {
	escaped := strings.replace_n(
		{
			"\\": "\\\\", ".": "\\.", "+": "\\+", "(": "\\(", ")": "\\)", "|": "\\|",
			"{": "\\{", "}": "\\}", "[": "\\[", "]": "\\]", "^": "\\^", "$": "\\$",
		},
		pattern,
	)
	marked := regex.replace(escaped, `\*(:|$)`, "\u0004$1")
	regex_text := strings.replace_n({"*": "[^:]*", "?": "[^:\\x{01}]", "\u0004": ".*"}, marked)
}

# covers_scope holds when a Deny's resource element covers every ARN of a type that an Allow's
# resource element may match; Allow is null for an SCP, where the Deny must cover the whole type.
covers_scope(deny, _, type) if {
	element := resource_element(deny)
	element.not_resource
	every pattern in element.not_resource {
		not may_match_type(pattern, type)
	}
}

covers_scope(deny, _, type) if {
	element := resource_element(deny)
	some pattern in element.resource
	covers_type(pattern, type)
}

covers_scope(deny, allow, type) if {
	allow != null
	allowed := resource_element(allow)
	allowed.resource
	relevant := [pattern | some pattern in allowed.resource; may_match_type(pattern, type)]
	denied := resource_element(deny)
	_element_covers_all(denied, relevant, type)
}

# A Deny's NotResource spares only what an Allow's NotResource already leaves out.
covers_scope(deny, allow, type) if {
	allow != null
	allowed := resource_element(allow)
	allowed.not_resource
	denied := resource_element(deny)
	denied.not_resource
	every pattern in denied.not_resource {
		_spared_outside(pattern, allowed.not_resource, type)
	}
}

_spared_outside(pattern, _, type) if not may_match_type(pattern, type)

_spared_outside(pattern, excluded, type) if {
	some other in excluded
	covers(other, _meet(pattern, type, _partition_of(other)))
}

_element_covers_all(denied, relevant, type) if {
	denied.resource
	every pattern in relevant {
		some deny_pattern in denied.resource
		covers(deny_pattern, _meet(pattern, type, _partition_of(deny_pattern)))
	}
}

_element_covers_all(denied, relevant, _) if {
	denied.not_resource
	every pattern in relevant {
		every excluded in denied.not_resource {
			not patterns_intersect(excluded, pattern)
		}
	}
}

# _meet is the target (see _type_target) of the ARNs of a type that an Allow's pattern may match,
# or a larger one: segment by segment, an all-* segment takes the type's shape. An Allow pattern
# that names no partition is read in the Deny's.
_meet(pattern, type, partition) := _type_target(type, partition) if {
	pattern == "*"
} else := target if {
	segments := split(pattern, ":")
	count(segments) == 6
	shape := split(_type_target(type, _literal_partition(segments[1], partition)), ":")
	target := concat(":", [part |
		some i, segment in segments
		part := _meet_segment(segment, shape[i])
	])
}

_literal_partition(segment, partition) := segment if {
	segment != ""
	not _has_wildcard(segment)
} else := partition

_meet_segment(segment, shape) := shape if {
	_only_stars(segment)
} else := strings.replace_n({"*": "\u0001", "?": "\u0003"}, segment)

# --- principals (resource policies) ------------------------------------------------

# principals_cover holds when a Deny's Principal covers every principal an Allow grants to: the Deny
# names every principal ("*", {"AWS": "*"}), or, type by type, each principal the Allow names or, for
# an AWS principal, its account (an account ID and arn:<partition>:iam::<account>:root both name every
# principal of the account). A Service or Federated "*" names every principal of its type, and no AWS
# principal. An Allow with NotPrincipal grants to nearly everyone, so only a Deny on every principal
# covers it. An Allow read at its narrowest (see narrowest_allow) leaves its unknown principals out:
# any may be the Deny's.
principals_cover(deny, _) if _any_principal(deny)

principals_cover(deny, allow) if {
	not "NotPrincipal" in object.keys(deny.raw)
	not "NotPrincipal" in object.keys(allow.raw)
	denied := _typed_principals(deny)
	every principal in _typed_principals(allow) {
		_principal_covered(principal, denied)
	}
}

_any_principal(statement) if statement.raw.Principal == "*"

_any_principal(statement) if {
	is_object(statement.raw.Principal)
	"*" in _list(object.get(statement.raw.Principal, "AWS", []))
}

# _typed_principals are a statement's principals as [type, lower-cased identifier] pairs, an AWS
# account named by its ID; Principal "*" is ["*", "*"], which only a Deny on every principal covers, and
# another string (which IAM rejects) is a principal of no type, which only that covers too.
_typed_principals(statement) := {["*", "*"]} if {
	statement.raw.Principal == "*"
} else := {["?", statement.raw.Principal]} if {
	is_string(statement.raw.Principal)
} else := {[type, _principal_id(type, lower(identifier))] |
	is_object(statement.raw.Principal)
	some type, identifiers in statement.raw.Principal
	some identifier in _list(identifiers)
	is_string(identifier)
}

_principal_id("AWS", identifier) := account if {
	account := regex.find_all_string_submatch_n(`^arn:[^:]+:iam::([0-9]{12}):root$`, identifier, 1)[0][1]
} else := identifier

_principal_id(type, identifier) := identifier if type != "AWS"

_principal_covered(principal, denied) if principal in denied

_principal_covered([type, _], denied) if [type, "*"] in denied # every principal of that type

_principal_covered(["AWS", identifier], denied) if {
	["AWS", _account_of(identifier)] in denied
}

# _account_of is the account of an AWS principal identifier: an account ID, or an ARN's account part.
_account_of(identifier) := identifier if {
	regex.match(`^[0-9]{12}$`, identifier)
} else := split(identifier, ":")[4] if {
	startswith(identifier, "arn:")
	count(split(identifier, ":")) >= 6
}

# --- conditions ----------------------------------------------------------------------
# Several operators, and several keys under one operator, are ANDed; the values of one key are
# ORed (NORed under a negated operator). An operator's IfExists form is true when the key is
# missing; ForAllValues is true for a missing key, ForAnyValue false.

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

# Operators that restrict ses:Recipients (multi-valued: To, CC and BCC) in an Allow: every
# recipient must match; in a Deny: deny when any recipient is outside.
allow_recipient_operators := {
	"ForAllValues:StringLike",
	"ForAllValues:StringEquals",
	"ForAllValues:StringEqualsIgnoreCase",
	"ForAllValues:StringLikeIfExists",
	"ForAllValues:StringEqualsIfExists",
	"ForAllValues:StringEqualsIgnoreCaseIfExists",
}

deny_recipient_operators := {
	"ForAnyValue:StringNotLike",
	"ForAnyValue:StringNotEquals",
	"ForAnyValue:StringNotEqualsIgnoreCase",
	"ForAnyValue:StringNotLikeIfExists",
	"ForAnyValue:StringNotEqualsIfExists",
	"ForAnyValue:StringNotEqualsIgnoreCaseIfExists",
}

_like_operators := {
	"ForAllValues:StringLike",
	"ForAllValues:StringLikeIfExists",
	"ForAnyValue:StringNotLike",
	"ForAnyValue:StringNotLikeIfExists",
}

# null_test is the tested state of a Null condition: "true" (the key is missing) or "false" (present).
null_test(condition) := lower(condition.values[0]) if {
	condition.operator == "Null"
	count(condition.values) == 1
}

# recipients_present is Null {"ses:Recipients": "false"}: true for every send, so it neither
# restricts nor weakens anything (AWS pairs it with ForAllValues in an Allow).
recipients_present(condition) if {
	condition.key == facts.recipient_key
	null_test(condition) == "false"
}

# recipients_absent is Null {"ses:Recipients": "true"}: a statement with it applies to no request that
# carries recipients.
recipients_absent(condition) if {
	condition.key == facts.recipient_key
	null_test(condition) == "true"
}

# recipient_problem explains why a ses:Recipients condition restricts nothing, if it does not.
recipient_problem(statement, condition) := problem if {
	problem := condition_problem(statement.effect, condition)
	problem != ""
}

# condition_problem is recipient_problem for a statement's effect, "" when the condition restricts
# (total, so that the engine computes it once per distinct condition).
condition_problem(effect, condition) := problem if {
	condition.operator == "Null"
	problem := _null_problem({"effect": effect}, condition)
} else := problem if {
	condition.operator != "Null"
	problem := _operator_problem({"effect": effect}, condition)
} else := problem if {
	condition.operator != "Null"
	problem := _values_problem(condition)
} else := sprintf("the pattern %q is not one of the trusted recipient patterns", [value]) if {
	condition.operator != "Null"
	some value in condition.values
	not trusted_recipient(value)
} else := ""

_null_problem(statement, condition) := concat(" ", [
	"Null {\"ses:Recipients\": \"true\"} makes the Deny apply only to requests without recipients,",
	"so it never denies one",
]) if {
	statement.effect == "Deny"
	recipients_absent(condition)
} else := concat(" ", [
	"Null {\"ses:Recipients\": \"false\"} only requires a recipient; it restricts none",
	"(pair it with ForAllValues:StringLike)",
]) if {
	statement.effect == "Allow"
	recipients_present(condition)
} else := "Null takes \"true\" or \"false\"" if {
	not null_test(condition) in {"true", "false"}
}

_operator_problem(statement, condition) := sprintf(
	"%s does not restrict every recipient in an Allow (use ForAllValues:StringLike)",
	[condition.operator],
) if {
	statement.effect == "Allow"
	not condition.operator in allow_recipient_operators
} else := sprintf(
	"%s does not deny untrusted recipients in a Deny (use ForAnyValue:StringNotLike)",
	[condition.operator],
) if {
	statement.effect == "Deny"
	not condition.operator in deny_recipient_operators
}

_values_problem(condition) := "it lists no recipient pattern" if {
	count(condition.values) == 0
} else := sprintf("the pattern %q still holds a template placeholder", [value]) if {
	some value in condition.values
	regex.match(`<[^<>]*>`, value)
} else := problem if {
	condition.operator in _like_operators
	problems := [sprintf("the pattern %q %s", [value, reason]) |
		some value in condition.values
		reason := like_pattern_problem(value)
	]
	count(problems) > 0
	problem := problems[0]
} else := sprintf("%s compares exactly, and %q is not a full address", [condition.operator, value]) if {
	not condition.operator in _like_operators
	some value in condition.values
	not regex.match(`^[^@]+@[^@]+$`, value)
}

# like_pattern_problem says why a StringLike recipient pattern admits addresses at domains anyone
# can register. A pattern is effective only when the part after its last @ is a literal domain
# (ops@example.com, *@example.com) or *. and a literal domain (*@*.example.com), and that domain
# is not a public suffix (com, co.uk: see public_suffix). Domains compare case-insensitively.
like_pattern_problem(value) := "matches every address" if {
	regex.match(`^[*?]*(@[*?]*(\.[*?]*)*)?$`, value)
} else := "has no @ before its domain, so it matches any domain that ends the same way" if {
	not contains(value, "@")
} else := sprintf("admits any domain that matches %q", [domain]) if {
	domain := _pattern_domain(value)
	_has_wildcard(trim_prefix(domain, "*."))
} else := sprintf("admits every domain under the public suffix %q", [name]) if {
	domain := _pattern_domain(value)
	startswith(domain, "*.")
	name := trim_prefix(domain, "*.")
	public_suffix(name)
} else := sprintf("admits every domain under %q, below which there are public suffixes", [name]) if {
	domain := _pattern_domain(value)
	startswith(domain, "*.")
	name := trim_prefix(domain, "*.")
	data.sesrego.facts.public_suffix_parents[name]
} else := sprintf("names the public suffix %q, not a domain", [domain]) if {
	domain := _pattern_domain(value)
	not startswith(domain, "*.")
	public_suffix(domain)
} else := sprintf("has a malformed domain %q", [domain]) if {
	domain := trim_prefix(_pattern_domain(value), "*.")
	some label in split(domain, ".")
	label == ""
}

_pattern_domain(value) := lower(parts[count(parts) - 1]) if parts := split(value, "@")

# public_suffix holds for a lower-case domain under which anyone can register names: one label
# (the Public Suffix List's implicit * rule), a listed rule, or a name under a *. rule that no !
# exception rule takes back (data.sesrego.facts.public_suffixes is a snapshot of the list, read in
# place rather than through facts; see the rule reference).
public_suffix(domain) if not contains(domain, ".")

public_suffix(domain) if data.sesrego.facts.public_suffixes[domain]

public_suffix(domain) if {
	contains(domain, ".")
	parent := substring(domain, indexof(domain, ".") + 1, -1)
	data.sesrego.facts.public_suffixes[concat("", ["*.", parent])]
	not data.sesrego.facts.public_suffixes[concat("", ["!", domain])]
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

# effective_recipient_condition holds for a condition that restricts recipients in this statement.
effective_recipient_condition(statement, condition) if {
	condition.operator != "Null"
	not recipient_problem(statement, condition)
}

# recipient_status is how an Allow's ses:Recipients conditions restrict it: "none" (it has none),
# "effective" (one of them restricts every recipient, whatever else is ANDed to it) or
# "ineffective" (none restricts). Null {"ses:Recipients": "true"} leaves no recipient to restrict.
recipient_status(statement, recipient_conditions) := "none" if {
	count(recipient_conditions) == 0
} else := "effective" if {
	some condition in recipient_conditions
	effective_recipient_condition(statement, condition)
} else := "effective" if {
	some condition in recipient_conditions
	recipients_absent(condition)
} else := "ineffective"

# ineffective_recipient_conditions are the conditions SES-002 reports: in an Allow every
# ineffective one unless another restricts the statement; in a Deny every ineffective one, since
# all of them must hold for the Deny to fire.
ineffective_recipient_conditions(statement, recipient_conditions) := [] if {
	statement.effect == "Allow"
	recipient_status(statement, recipient_conditions) == "effective"
} else := [[condition, problem] |
	some condition in recipient_conditions
	problem := recipient_problem(statement, condition)
]

# --- API versions ------------------------------------------------------------------------
# ses:ApiVersion is single-valued and on every SES request, so IfExists and the set operators
# reduce to the plain operator. Exact operators compare literally; only the Like forms glob.

_version_conditions(statement) := [condition |
	some condition in conditions(statement)
	condition.key == facts.api_version_key
]

# allow_versions are the API versions an Allow may apply to: those its ses:ApiVersion conditions
# may hold for (an operator sesrego does not model may hold for any).
allow_versions(statement) := allow_versions_of(statement.raw.Condition) if {
	statement.conditioned
} else := _all_versions

allow_versions_of(element) := {version |
	version_conditions := [condition |
		some condition in condition_list(element)
		condition.key == facts.api_version_key
	]
	some version in facts.api_versions
	every condition in version_conditions {
		not _version_fails(condition, version)
	}
}

_all_versions := {version | some version in facts.api_versions}

# deny_versions are the API versions a Deny certainly applies to, or undefined when one of its
# ses:ApiVersion conditions has an operator sesrego does not model.
deny_versions(statement) := {version |
	some version in facts.api_versions
	every condition in version_conditions {
		_version_holds(condition, version)
	}
} if {
	version_conditions := _version_conditions(statement)
	every condition in version_conditions {
		_version_operator(condition.operator)
	}
}

_version_fails(condition, version) if {
	_version_operator(condition.operator)
	not _version_holds(condition, version)
}

_version_operator(operator) if _base_operator(operator) in _version_operators

_version_operators := {
	"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
	"StringLike", "StringNotLike", "Null",
}

# _base_operator drops a set operator prefix and the IfExists suffix.
_base_operator(operator) := trim_suffix(regex.replace(operator, `^For(All|Any)Values?:`, ""), "IfExists")

_version_holds(condition, _) if {
	_base_operator(condition.operator) == "Null"
	null_test(condition) == "false"
}

_version_holds(condition, version) if {
	_base_operator(condition.operator) in {"StringEquals", "StringEqualsIgnoreCase", "StringLike"}
	some value in condition.values
	string_matches(_base_operator(condition.operator), value, version)
}

_version_holds(condition, version) if {
	_base_operator(condition.operator) in {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"}
	every value in condition.values {
		not string_matches(_base_operator(condition.operator), value, version)
	}
}

# string_matches compares a policy value with a request value as a string operator does.
string_matches(operator, value, request) if {
	operator in {"StringEquals", "StringNotEquals"}
	value == request
}

string_matches(operator, value, request) if {
	operator in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}
	lower(value) == lower(request)
}

string_matches(operator, value, request) if {
	operator in {"StringLike", "StringNotLike"}
	glob.match(glob_escape(value), null, request)
}

# --- principal exemptions ---------------------------------------------------------------

_principal_key_prefixes := {"aws:principal", "aws:userid", "aws:username", "aws:sourceidentity"}

# principal_condition holds for a condition that only says who the principal is.
principal_condition(condition) if {
	some prefix in _principal_key_prefixes
	startswith(condition.key, prefix)
}

# exemption holds for a condition that exempts principals from a Deny, which then still applies to
# everyone else: a negated string or ARN operator on a principal key, or
# Bool {"aws:PrincipalIsAWSService": "false"}, which exempts AWS services. A positive condition on
# a principal key selects the only principals the Deny hits, and is no exemption. A negated
# aws:PrincipalOrgID or aws:PrincipalOrgPaths exempts every principal of the organization, and
# is no exemption either, nor is a negated glob whose value matches every principal
# (StringNotLike {"aws:PrincipalArn": "*"}).
exemption(condition) if {
	principal_condition(condition)
	not condition.key in {"aws:principalorgid", "aws:principalorgpaths"}
	trim_suffix(condition.operator, "IfExists") in _negated_operators
	not exempts_every_principal(condition)
}

exemption(condition) if {
	condition.operator in {"Bool", "BoolIfExists"}
	condition.key == "aws:principalisawsservice"
	count(condition.values) > 0
	every value in condition.values {
		lower(value) == "false"
	}
}

_negated_operators := {
	"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike",
	"ArnNotEquals", "ArnNotLike",
}

# exempts_every_principal holds for a negated glob condition (StringNotLike, ArnNotLike, ArnNotEquals)
# on a key that every request carries, one of whose values matches every value of that key: the
# principal ARN (arn:<partition>:iam::<account>:<name>), the account or the user id.
exempts_every_principal(condition) if {
	trim_suffix(condition.operator, "IfExists") in {"StringNotLike", "ArnNotLike", "ArnNotEquals"}
	some value in condition.values
	covers(value, _every_principal(condition.key, value))
}

# _every_principal is the target (see _type_target) of every value of an always-present principal key.
_every_principal("aws:principalarn", value) := concat("", ["arn:", _partition_of(value), ":iam::\u0001:\u0001"])

_every_principal("aws:principalaccount", _) := concat("", ["\u0003" | some _ in numbers.range(1, 12)]) # 12 digits

_every_principal("aws:userid", _) := "\u0001"

# negated_operator holds for an operator that is true when the value differs (any set form).
negated_operator(operator) if regex.match(`^(For(All|Any)Values?:)?(StringNot|ArnNot)`, operator)

# --- guards ----------------------------------------------------------------------------------

# guard describes what a Deny statement controls, or is undefined when it controls nothing: the
# [action, API version] pairs it blocks (it fires for every request) and those it restricts (it
# fires for every request with an untrusted recipient); pairs are both. Its conditions are ANDed:
# each condition on another key must be a principal exemption or ses:ApiVersion (which limits the
# versions). For a request that carries ses:Recipients, the Deny blocks when its only recipient
# condition is Null {"ses:Recipients": "false"} (or it has none), and restricts when every one is
# effective or that Null; for a request without the key (see keyed_pairs), it blocks when every
# recipient condition holds on a missing key (Null "true", ForAllValues, IfExists, a negated
# operator), and never fires otherwise.
guard(statement, tracked) := {
	"blocks": blocks,
	"restricts": restricts,
	"pairs": blocks | restricts,
	"versions": versions,
	"statement": statement,
} if {
	statement.effect == "Deny"
	count(tracked) > 0
	every condition in conditions(statement) {
		_guard_condition(condition)
	}
	versions := deny_versions(statement)
	recipient := [condition | some condition in conditions(statement); condition.key == facts.recipient_key]
	candidates := {[action, version] |
		some version in versions
		some action in tracked
		action in version_actions[version]
	}
	blocks := {pair | some pair in candidates; _blocks(recipient, pair)}
	restricts := {pair | some pair in candidates - blocks; _restricts(statement, recipient, pair)}
	count(blocks | restricts) > 0
}

# any_guard is the broadest guard: a Deny of every action on every resource, for every principal, with
# no condition. A policy unknown as a whole may hold it.
any_guard := guard(
	{
		"index": 0, "raw": {"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": "*"},
		"effect": "Deny", "not_action": false, "patterns": ["*"], "conditioned": false,
	},
	facts.tracked_actions,
)

_guard_condition(condition) if condition.key == facts.recipient_key

_guard_condition(condition) if condition.key == facts.api_version_key

_guard_condition(condition) if exemption(condition)

_blocks(recipient, pair) if {
	pair in keyed_pairs
	every condition in recipient {
		recipients_present(condition)
	}
}

_blocks(recipient, pair) if {
	not pair in keyed_pairs
	every condition in recipient {
		_true_without_key(condition)
	}
}

_restricts(statement, recipient, pair) if {
	pair in keyed_pairs
	some condition in recipient
	not recipients_present(condition)
	every condition in recipient {
		_restricting(statement, condition)
	}
}

_restricting(_, condition) if recipients_present(condition)

_restricting(_, condition) if condition.assumed # an unknown value that may be an effective pattern

_restricting(statement, condition) if effective_recipient_condition(statement, condition)

# _true_without_key holds for a condition that is true on a request without the key.
_true_without_key(condition) if null_test(condition) == "true"

_true_without_key(condition) if {
	condition.operator != "Null"
	not _false_without_key(condition)
}

# guard_covers holds when a guard denies a pair that an Allow grants, for a purpose ("recipients":
# blocked or restricted, "block": blocked), on every resource of that pair the Allow may reach and,
# in a resource policy, for every principal it grants to. Allow is null for an SCP.
guard_covers(guard, pair, allow, purpose) if {
	pair in guard_pairs(guard, purpose)
	[action, version] := pair
	some type in facts.resource_types[version][action]
	covers_scope(guard.statement, allow, type)
	_principal_scope(guard.statement, allow)
}

# guard_pairs are the pairs a guard denies for a purpose: "recipients" (blocked or restricted) or "block".
guard_pairs(guard, "recipients") := guard.pairs

guard_pairs(guard, "block") := guard.blocks

_principal_scope(_, null)

_principal_scope(_, allow) if {
	allow != null
	not "Principal" in object.keys(allow.raw)
	not "NotPrincipal" in object.keys(allow.raw)
}

_principal_scope(deny, allow) if {
	allow != null
	some element in {"Principal", "NotPrincipal"}
	element in object.keys(allow.raw)
	principals_cover(deny, allow)
}

# --- allows ----------------------------------------------------------------------------------

# grants are the [action, API version] pairs an Allow may grant: its tracked actions in the API
# versions its ses:ApiVersion conditions allow, where its resource element may match every
# resource type the action authorizes on.
grants(statement, tracked, recipient_conditions) := pairs if {
	statement.effect == "Allow"
	count(tracked) > 0
	granted := _grants(tracked, allowed_types(statement), allow_versions(statement))
	pairs := _without_recipients(granted, recipient_conditions)
} else := set()

# Null {"ses:Recipients": "true"} leaves an Allow only the requests that carry no recipients; a
# condition that is false when the key is missing leaves it only the requests that carry them.
_without_recipients(pairs, recipient_conditions) := (pairs - keyed_pairs) & _keyless(recipient_conditions) if {
	some condition in recipient_conditions
	recipients_absent(condition)
} else := pairs & keyed_pairs if {
	some condition in recipient_conditions
	_false_without_key(condition)
} else := pairs

_keyless(recipient_conditions) := set() if {
	some condition in recipient_conditions
	_false_without_key(condition)
} else := {[action, version] | some version, actions in version_actions; some action in actions} - keyed_pairs

# _false_without_key holds for a condition that is false on a request without the key: Null "false",
# ForAnyValue and the plain positive operators, unless IfExists (ForAllValues and the plain negated
# operators are true then).
_false_without_key(condition) if null_test(condition) == "false"

_false_without_key(condition) if {
	startswith(condition.operator, "ForAnyValue:")
	not endswith(condition.operator, "IfExists")
}

_false_without_key(condition) if {
	condition.operator != "Null"
	not contains(condition.operator, ":")
	not endswith(condition.operator, "IfExists")
	not negated_operator(condition.operator)
}

_grants(tracked, types, versions) := {[action, version] |
	some version in versions
	some action in tracked
	action in version_actions[version]
	every type in facts.resource_types[version][action] {
		type in types
	}
}


# --- resource perimeters ---------------------------------------------------------------------

# perimeter_statement holds for a resource-perimeter statement: a Deny on every action (Action "*",
# a NotAction that leaves the send actions in, or actions of at least three services) and every
# resource (Resource "*" or a NotResource), with a negated condition on aws:ResourceOrgID,
# aws:ResourceOrgPaths or aws:ResourceAccount. A Deny on a few named resources or one or two
# services is a targeted guard, not a perimeter.
perimeter_statement(statement, patterns) if {
	statement.effect == "Deny"
	_perimeter_actions(statement, patterns)
	_perimeter_resources(statement)
	some condition in conditions(statement)
	condition.key in {"aws:resourceorgid", "aws:resourceorgpaths", "aws:resourceaccount"}
	negated_operator(condition.operator)
}

_perimeter_actions(statement, _) if {
	not statement.not_action
	"*" in statement.patterns
}

_perimeter_actions(statement, patterns) if {
	statement.not_action
	send_actions == send_actions & tracked_actions_of(statement, patterns)
}

_perimeter_actions(statement, _) if {
	not statement.not_action
	count(service_prefixes(statement)) >= 3
}

_perimeter_resources(statement) if "*" in resource_element(statement).resource

_perimeter_resources(statement) if resource_element(statement).not_resource

display(action) := object.get(facts.actions, action, action)
