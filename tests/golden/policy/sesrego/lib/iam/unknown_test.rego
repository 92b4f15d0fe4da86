# METADATA
# title: Tests of sesrego.lib.iam on values unknown until apply (unknown.rego)
# description: |
#   Marked documents ({"$unknown": [expressions], "like": glob}) are read twice: what a statement does for
#   every value of its unknowns (certain, "must") and for some value (possible, "may").
# scope: package
package sesrego.lib.iam_test

import rego.v1

import data.sesrego.lib.iam

_unknown(expression) := {"$unknown": [expression]}

_like(expression, glob) := {"$unknown": [expression], "like": glob}

# _marked is a marked statement as iam.marked_normalize reads it.
_marked(raw) := iam.marked_normalize({"Statement": [raw]}).statements[0]

_may_patterns(statement) := {pattern: iam.describe_pattern(pattern) | some pattern in statement.patterns}

test_markers_and_their_expressions if {
	iam.marker(_unknown("var.a"))
	not iam.marker({"$unknown": "var.a"})
	not iam.marker("var.a")
	iam.marked({"Resource": ["arn:x", _unknown("var.a")]})
	not iam.marked({"Resource": ["arn:x"]})
	iam.expressions({"A": _unknown("var.a"), "B": [_like("local.b", "ses:*")]}) == {"var.a", "local.b"}
}

test_a_document_unknown_as_a_whole_leaves_nothing_to_verify if {
	iam.marked_normalize(_unknown("var.policy")) == {"unknown": ["var.policy"]}
	iam.marked_normalize({"Statement": _unknown("local.statements")}) == {"unknown": ["local.statements"]}
}

test_known_statements_of_a_marked_document_read_as_usual if {
	normalized := iam.marked_normalize({"Statement": [
		{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"},
		{"Effect": "Deny", "Action": "ses:SendEmail", "Resource": _unknown("var.arn")},
	]})
	[known, marked] := normalized.statements
	not known.marked
	known.patterns == ["ses:sendemail"]
	marked.marked
	marked.index == 1
	marked.expressions == {"var.arn"}
}

test_an_unknown_effect_and_action_elements if {
	statement := _marked({"Effect": _unknown("var.effect"), "Action": ["SES:SendEmail", _like("var.action", "ses:Send*")]})
	statement.effect == "?"
	statement.patterns == ["ses:sendemail"]
	statement.action_unknowns == [_like("var.action", "ses:Send*")]
	whole := _marked(_unknown("local.statement"))
	whole.effect == "?"
	whole.expressions == {"local.statement"}
}

test_tracked_may_and_must if {
	allow := _marked({"Effect": "Allow", "Action": ["ses:SendEmail", _like("var.action", "ses:SendRaw*")]})
	iam.tracked_may(allow, _may_patterns(allow)) == {"ses:sendemail", "ses:sendrawemail"}
	iam.tracked_must(allow, _may_patterns(allow)) == {"ses:sendemail"}
	except := _marked({"Effect": "Allow", "NotAction": [_like("var.action", "ses:SendRaw*")]})
	not "ses:sendrawemail" in iam.tracked_must(except, _may_patterns(except)) # the unknown may exclude it
	"ses:sendemail" in iam.tracked_must(except, _may_patterns(except))
}

test_marked_conditions if {
	statement := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com", _like("var.domain", "*@corp.example.com")]},
	}})
	[condition] := iam.marked_conditions(statement)
	condition.key == "ses:recipients"
	condition.values == ["*@example.com"]
	condition.unknown
	condition.likes == ["*@corp.example.com"]
	unknown_keys := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"StringEquals": _unknown("var.c"),
	}})
	iam.marked_conditions(unknown_keys) == [{"operator": "StringEquals", "key": "?", "values": [], "unknown": true}]
}

test_recipient_statuses_of_unknown_values if {
	decided := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"ForAllValues:StringLike": {"ses:Recipients": [_like("var.domain", "*@corp.example.com")]},
	}})
	iam.recipient_statuses(decided, iam.marked_conditions(decided)) == {"effective"} # every value its like allows
	open := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"ForAllValues:StringLike": {"ses:Recipients": [_unknown("var.pattern")]},
	}})
	iam.recipient_statuses(open, iam.marked_conditions(open)) == {"effective", "ineffective"}
	wrong := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": _unknown("var.arn"), "Condition": {
		"StringLike": {"ses:Recipients": ["*@example.com"]},
	}})
	iam.recipient_statuses(wrong, iam.marked_conditions(wrong)) == {"ineffective"} # the operator is wrong anyway
	[[_, problem, certain]] := iam.marked_problems(wrong, iam.marked_conditions(wrong))
	certain
	startswith(problem, "StringLike does not restrict every recipient")
}

test_marked_grants_must_and_may if {
	statement := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*", "Condition": {
		"StringEquals": {"ses:ApiVersion": _unknown("var.version")},
	}})
	conditions := iam.marked_conditions(statement)
	iam.marked_grants(statement, {"ses:sendemail"}, conditions, "must") == set() # may be limited to no version
	iam.marked_grants(statement, {"ses:sendemail"}, conditions, "may") == {["ses:sendemail", "1"], ["ses:sendemail", "2"]}
	resource := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": _unknown("var.arn")})
	iam.marked_grants(resource, {"ses:sendemail"}, [], "must") == {["ses:sendemail", "1"], ["ses:sendemail", "2"]}
	effect := _marked({"Effect": _unknown("var.effect"), "Action": "ses:SendEmail", "Resource": "*"})
	iam.marked_grants(effect, {"ses:sendemail"}, [], "must") == set()
	count(iam.marked_grants(effect, {"ses:sendemail"}, [], "may")) == 2
}

test_broadest_and_narrowest_allow if {
	statement := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": [
		"arn:aws:ses:*:*:identity/a.com",
		_like("var.arn", "arn:aws:ses:*:*:identity/*"),
	]})
	iam.broadest_allow(statement).raw.Resource == ["arn:aws:ses:*:*:identity/a.com", "arn:aws:ses:*:*:identity/*"]
	iam.narrowest_allow(statement).raw.Resource == ["arn:aws:ses:*:*:identity/a.com"]
}

test_possible_guard_of_a_deny_with_unknown_recipients if {
	statement := _marked({"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*", "Condition": {
		"ForAnyValue:StringNotLike": {"ses:Recipients": [_unknown("var.domain")]},
	}})
	guard := iam.possible_guard(statement, {"ses:sendemail"})
	guard.restricts == {["ses:sendemail", "1"], ["ses:sendemail", "2"]}
	not guard.versions_unknown
	region := _marked({"Effect": "Deny", "Action": "ses:SendEmail", "Resource": _unknown("var.arn"), "Condition": {
		"StringEquals": {"aws:RequestedRegion": "us-east-1"},
	}})
	not iam.possible_guard(region, {"ses:sendemail"}) # no value makes it a guard
	allow := _marked({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": _unknown("var.arn")})
	not iam.possible_guard(allow, {"ses:sendemail"})
}

test_possible_perimeter if {
	statement := _marked({"Effect": "Deny", "Action": [_unknown("var.actions")], "Resource": "*", "Condition": {
		"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-1"},
	}})
	iam.possible_perimeter(statement, {})
	targeted := _marked({"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": _unknown("var.arn"), "Condition": {
		"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-1"},
	}})
	not iam.possible_perimeter(targeted, {})
}
