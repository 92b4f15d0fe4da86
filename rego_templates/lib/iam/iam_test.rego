# METADATA
# title: Tests of sesrego.lib.iam
# description: |
#   The IAM semantics the rules rest on, one helper at a time: reading statements, matching actions,
#   resources and principals, the recipient conditions, API versions, exemptions, guards, grants and
#   resource perimeters. They read the compiled catalog facts (data.sesrego.facts), as the rules do.
# scope: package
package sesrego.lib.iam_test

import rego.v1

import data.sesrego.lib.iam

# _statement is a statement as iam.normalize reads it.
_statement(raw) := iam.normalize({"Statement": [raw]}).statements[0]

_patterns(statement) := {pattern: iam.describe_pattern(pattern) | some pattern in statement.patterns}

_tracked(raw) := iam.tracked_actions_of(_statement(raw), _patterns(_statement(raw)))

_condition(operator, key, values) := {"operator": operator, "key": lower(key), "values": values}

_versioned(effect, operator, value) := _statement({"Effect": effect, "Action": "ses:SendEmail", "Condition": {
	operator: {"ses:ApiVersion": value},
}})

_send := {"ses:sendbulktemplatedemail", "ses:sendemail", "ses:sendrawemail", "ses:sendtemplatedemail"}

# --- reading statements ---------------------------------------------------------------------

test_normalize_reads_a_statement_object_or_list if {
	single := iam.normalize({"Statement": {"Effect": "Allow", "Action": "SES:SendEmail", "Resource": "*"}})
	[statement] := single.statements
	statement.index == 0
	statement.effect == "Allow"
	statement.patterns == ["ses:sendemail"]
	not statement.not_action
	not statement.conditioned
	listed := iam.normalize({"Statement": [
		{"Effect": "Deny", "NotAction": ["ses:Send*", "s3:*"], "Resource": "*", "Condition": {}},
		{"Effect": "Allow", "Action": "ses:*", "Resource": "*"},
	]})
	[first, second] := listed.statements
	first.not_action
	first.patterns == ["ses:send*", "s3:*"]
	first.conditioned
	second.index == 1
}

test_normalize_names_what_is_not_an_iam_policy if {
	iam.normalize("text").problem == "the policy is not a JSON object"
	iam.normalize({"Version": "2012-10-17"}).problem == "the policy has no Statement (an object or an array of objects)"
	effect := iam.normalize({"Statement": [{"Effect": "Maybe", "Action": "ses:*"}]}).problem
	effect == "statement 0 has an Effect other than Allow or Deny"
	problem := iam.normalize({"Statement": [{"Effect": "Allow", "Action": "a:b", "NotAction": "c:d"}]}).problem
	problem == "statement 0 has both Action and NotAction"
	iam.normalize({"Statement": [{"Effect": "Allow"}]}).problem == "statement 0 has neither Action nor NotAction"
	iam.normalize({"Statement": [{"Effect": "Allow", "Action": 3}]}).problem == concat("", [
		"statement 0 has an Action or NotAction that is not a string or a list of strings",
	])
	not iam.statements_of({"Statement": [{"Effect": "Allow", "Action": ["ses:SendEmail", 1]}]})
}

test_ref_is_the_sid_else_the_index if {
	iam.ref(_statement({"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail"})) == "Send"
	iam.ref(_statement({"Sid": "", "Effect": "Allow", "Action": "ses:SendEmail"})) == 0
}

test_written_keeps_the_policys_spelling if {
	iam.written(_statement({"Effect": "Allow", "Action": "SES:SendEmail"})) == ["SES:SendEmail"]
	iam.written(_statement({"Effect": "Deny", "NotAction": ["ses:Get*"]})) == ["ses:Get*"]
}

test_conditions_lower_case_keys_and_read_values_as_strings if {
	statement := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"ForAllValues:StringLike": {"SES:Recipients": ["*@example.com", "ops@example.org"]},
		"Bool": {"aws:SecureTransport": true},
	}})
	conditions := iam.conditions(statement)
	_condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com", "ops@example.org"]) in conditions
	_condition("Bool", "aws:securetransport", ["true"]) in conditions
	iam.condition_list("not an object") == []
	iam.condition_list({"StringEquals": "not an object"}) == []
}

test_principals_of_a_resource_policy_statement if {
	iam.principals(_statement({"Effect": "Allow", "Action": "ses:SendEmail", "Principal": "*"})) == ["*"]
	principals := iam.principals(_statement({"Effect": "Allow", "Action": "ses:SendEmail", "Principal": {
		"AWS": ["arn:aws:iam::111122223333:role/App", 4],
		"Service": "SES.amazonaws.com",
	}}))
	principals == ["arn:aws:iam::111122223333:role/app", "ses.amazonaws.com"]
	iam.principals(_statement({"Effect": "Allow", "Action": "ses:SendEmail"})) == []
}

# --- actions ----------------------------------------------------------------------------------

test_action_sets_of_the_catalog_facts if {
	iam.send_actions == _send
	iam.admin_only_actions == {"ses:sendcustomverificationemail"}
	["ses:sendemail", "2"] in iam.send_pairs
	not ["ses:sendrawemail", "2"] in iam.send_pairs
	["ses:sendcustomverificationemail", "1"] in iam.keyed_pairs
	not ["ses:sendcustomverificationemail", "2"] in iam.keyed_pairs # v2 requests carry no ses:Recipients
}

test_describe_pattern_matches_tracked_actions_with_iam_wildcards if {
	iam.describe_pattern("ses:send*email").tracked == _send | {"ses:sendcustomverificationemail"}
	iam.describe_pattern("ses:send?mail").tracked == {"ses:sendemail"}
	iam.describe_pattern("ses:send?email").tracked == set()
	iam.describe_pattern("*").tracked == _send | {"ses:sendcustomverificationemail"}
	iam.describe_pattern("ses:sendemail").tracked == {"ses:sendemail"}
	iam.describe_pattern("ses:[s]endemail").tracked == set() # brackets are literal in IAM
}

test_unknown_ses_names_and_lookalike_prefixes if {
	iam.describe_pattern("ses:sendemal").unknown_ses
	iam.describe_pattern("ses:nothing*").unknown_ses
	not iam.describe_pattern("ses:sendemail").unknown_ses
	not iam.describe_pattern("ses:listaddon*").unknown_ses # Mail Manager is an SES catalog
	not iam.describe_pattern("s3:getobjekt").unknown_ses
	iam.lookalike_prefix("sesv2:sendemail")
	iam.lookalike_prefix("ses-v2:sendemail")
	iam.lookalike_prefix("ses_v1:sendemail")
	iam.lookalike_prefix("ses2:sendemail")
	not iam.lookalike_prefix("ses:sendemail")
	not iam.lookalike_prefix("sesame:open")
	not iam.lookalike_prefix("sqs:sendmessage")
}

test_tracked_actions_of_action_and_notaction if {
	_tracked({"Effect": "Allow", "Action": ["ses:SendEmail", "s3:GetObject"]}) == {"ses:sendemail"}
	_tracked({"Effect": "Allow", "Action": "ses:Get*"}) == set()
	_tracked({"Effect": "Allow", "NotAction": "ses:SendCustomVerificationEmail"}) == _send
	_tracked({"Effect": "Allow", "NotAction": "s3:*"}) == _send | {"ses:sendcustomverificationemail"}
}

test_service_prefixes if {
	iam.service_prefixes(_statement({"Effect": "Deny", "Action": ["s3:*", "ses:Send*", "S3:Get*", "*"]})) == {"s3", "ses"}
}

# --- resources ----------------------------------------------------------------------------------

test_resource_element if {
	iam.resource_element(_statement({"Effect": "Allow", "Action": "a:b", "Resource": "arn:x"})) == {"resource": ["arn:x"]}
	not_resource := _statement({"Effect": "Deny", "Action": "a:b", "NotResource": ["arn:y", 1]})
	iam.resource_element(not_resource) == {"not_resource": ["arn:y"]}
	iam.resource_element(_statement({"Effect": "Allow", "Action": "a:b"})) == {"resource": ["*"]}
}

test_may_match_type if {
	iam.may_match_type("*", "identity")
	iam.may_match_type("arn:aws:ses:us-east-1:111122223333:identity/example.com", "identity")
	iam.may_match_type("arn:aws:ses:*:*:identity/*", "identity")
	iam.may_match_type("arn:aws:ses:*:*:*", "identity")
	iam.may_match_type("arn:aws:ses:*", "identity") # fewer segments: compared as a whole
	not iam.may_match_type("arn:aws:s3:::bucket", "identity")
	not iam.may_match_type("arn:aws:ses:*:*:configuration-set/*", "identity")
	not iam.may_match_type("arn:aws:ses:*:*:identity/*:extra", "identity")
}

test_allowed_types if {
	allow := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:*:*:identity/x"})
	iam.allowed_types(allow) == {"identity"}
	iam.allowed_types(_statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"})) == {
		"custom-verification-email-template",
		"identity",
	}
	except := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "NotResource": "arn:aws:ses:*:*:identity/*"})
	iam.allowed_types(except) == {"custom-verification-email-template"}
}

test_covers_type_is_every_arn_of_the_type if {
	iam.covers_type("*", "identity")
	iam.covers_type("arn:aws:ses:*:*:identity/*", "identity")
	iam.covers_type("arn:*:ses:*:*:*", "identity")
	iam.covers_type("arn:aws-us-gov:ses:*:*:identity/*", "identity") # the organization's partition
	not iam.covers_type("arn:aws:ses:us-east-1:*:identity/*", "identity") # one region
	not iam.covers_type("arn:aws:ses:*:111122223333:identity/*", "identity") # one account
	not iam.covers_type("arn:aws:ses:*:*:identity/example.com", "identity")
}

test_patterns_intersect if {
	iam.patterns_intersect("arn:aws:ses:*:*:identity/*", "arn:aws:ses:us-east-1:1:identity/a")
	not iam.patterns_intersect("arn:aws:ses:*:*:identity/*", "arn:aws:ses:*:*:template/*")
	iam.patterns_intersect("*", "arn:aws:ses:*:*:identity/a")
}

test_covers_scope_of_a_deny if {
	deny_all := _statement({"Effect": "Deny", "Action": "ses:*", "Resource": "*"})
	deny_one := _statement({"Effect": "Deny", "Action": "ses:*", "Resource": "arn:aws:ses:*:*:identity/a.com"})
	allow_one := _statement({"Effect": "Allow", "Action": "ses:*", "Resource": "arn:aws:ses:eu-west-1:1:identity/a.com"})
	allow_all := _statement({"Effect": "Allow", "Action": "ses:*", "Resource": "*"})
	iam.covers_scope(deny_all, null, "identity")
	not iam.covers_scope(deny_one, null, "identity") # an SCP must cover the whole type
	iam.covers_scope(deny_one, allow_one, "identity") # but covers what this Allow reaches
	not iam.covers_scope(deny_one, allow_all, "identity")
	spare := _statement({"Effect": "Deny", "Action": "ses:*", "NotResource": "arn:aws:s3:::*"})
	iam.covers_scope(spare, null, "identity") # a NotResource that cannot match SES ARNs
}

# --- principals -----------------------------------------------------------------------------------

test_principals_cover if {
	deny := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"AWS": "*"}})
	allow := _statement({"Effect": "Allow", "Action": "ses:*", "Principal": {"AWS": "arn:aws:iam::1:role/a"}})
	iam.principals_cover(deny, allow)
	named := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"AWS": ["arn:aws:iam::1:role/A"]}})
	iam.principals_cover(named, allow)
	other := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"AWS": "arn:aws:iam::1:role/b"}})
	not iam.principals_cover(other, allow)
}

test_principals_cover_by_type_and_account if {
	role := _statement({"Effect": "Allow", "Action": "ses:*", "Principal": {"AWS": "arn:aws:iam::111122223333:role/a"}})
	account := _statement({"Effect": "Allow", "Action": "ses:*", "Principal": {"AWS": "111122223333"}})
	root := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}})
	iam.principals_cover(root, role) # an account covers its principals
	iam.principals_cover(root, account) # an account ID and its root ARN name the same account
	not iam.principals_cover(_statement(object.union(role.raw, {"Effect": "Deny"})), account)
	services := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"Service": "*"}})
	not iam.principals_cover(services, role) # a Service "*" names no AWS principal
	typed := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"Service": "111122223333"}})
	not iam.principals_cover(typed, account)
	service := _statement({"Effect": "Allow", "Action": "ses:*", "Principal": {"Service": "ses.amazonaws.com"}})
	not iam.principals_cover(root, service) # an account covers no service principal
	iam.principals_cover(_statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"Service": ["*"]}}), service)
}

test_principals_cover_not_principal_and_unknown_grantees if {
	others := _statement({"Effect": "Allow", "Action": "ses:*", "NotPrincipal": {"AWS": "111122223333"}})
	one := _statement({"Effect": "Deny", "Action": "ses:*", "Principal": {"AWS": "444455556666"}})
	not iam.principals_cover(one, others) # NotPrincipal grants to everyone else
	iam.principals_cover(_statement({"Effect": "Deny", "Action": "ses:*", "Principal": "*"}), others)
	not iam.principals_cover(one, _statement({"Effect": "Allow", "Action": "ses:*", "Principal": "*"}))
	iam.principals_cover(one, _statement({"Effect": "Allow", "Action": "ses:*", "Principal": {"AWS": []}})) # narrowest
}

# --- recipient conditions ----------------------------------------------------------------------------

test_recipient_conditions_of_a_statement if {
	statement := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Condition": {
		"ForAllValues:StringLike": {"ses:Recipients": "*@example.com"},
		"StringEquals": {"ses:FromAddress": "a@example.com"},
	}})
	iam.recipient_conditions(statement) == [_condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com"])]
	iam.names_recipient_key(statement)
	iam.recipient_conditions(_statement({"Effect": "Allow", "Action": "ses:SendEmail"})) == []
}

test_like_pattern_problem if {
	not iam.like_pattern_problem("*@example.com")
	not iam.like_pattern_problem("ops@example.com")
	not iam.like_pattern_problem("*@*.example.com")
	not iam.like_pattern_problem("*@EXAMPLE.COM")
	iam.like_pattern_problem("*") == "matches every address"
	iam.like_pattern_problem("*@*") == "matches every address"
	startswith(iam.like_pattern_problem("*example.com"), "has no @ before its domain")
	iam.like_pattern_problem("*@example.com*") == `admits any domain that matches "example.com*"`
	iam.like_pattern_problem("*@*example.com") == `admits any domain that matches "*example.com"`
	iam.like_pattern_problem("*@*.com") == `admits every domain under the public suffix "com"`
	iam.like_pattern_problem("*@co.uk") == `names the public suffix "co.uk", not a domain`
	iam.like_pattern_problem("*@example..com") == `has a malformed domain "example..com"`
}

test_public_suffix if {
	iam.public_suffix("com")
	iam.public_suffix("co.uk")
	iam.public_suffix("github.io")
	not iam.public_suffix("example.com")
	iam.public_suffix("anything.kawasaki.jp") # under a *. rule
	not iam.public_suffix("city.kawasaki.jp") # taken back by a ! rule
}

test_condition_problem_in_an_allow if {
	iam.condition_problem("Allow", _condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com"])) == ""
	iam.condition_problem("Allow", _condition("ForAllValues:StringEquals", "ses:recipients", ["a@example.com"])) == ""
	plain := iam.condition_problem("Allow", _condition("StringLike", "ses:recipients", ["*@example.com"]))
	startswith(plain, "StringLike does not restrict every recipient")
	empty := iam.condition_problem("Allow", _condition("ForAllValues:StringLike", "ses:recipients", []))
	empty == "it lists no recipient pattern"
	problem := iam.condition_problem("Allow", _condition("ForAllValues:StringLike", "ses:recipients", ["*@<domain>"]))
	problem == `the pattern "*@<domain>" still holds a template placeholder`
	exact := iam.condition_problem("Allow", _condition("ForAllValues:StringEquals", "ses:recipients", ["example.com"]))
	exact == `ForAllValues:StringEquals compares exactly, and "example.com" is not a full address`
	present := iam.condition_problem("Allow", _condition("Null", "ses:recipients", ["false"]))
	startswith(present, `Null {"ses:Recipients": "false"} only requires a recipient`)
}

test_condition_problem_in_a_deny if {
	iam.condition_problem("Deny", _condition("ForAnyValue:StringNotLike", "ses:recipients", ["*@example.com"])) == ""
	operator := iam.condition_problem("Deny", _condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com"]))
	startswith(operator, "ForAllValues:StringLike does not deny untrusted recipients")
	absent := iam.condition_problem("Deny", _condition("Null", "ses:recipients", ["true"]))
	startswith(absent, `Null {"ses:Recipients": "true"} makes the Deny apply only to requests without recipients`)
	iam.condition_problem("Deny", _condition("Null", "ses:recipients", ["false"])) == ""
}

test_trusted_recipients_limit_the_effective_patterns if {
	condition := _condition("ForAllValues:StringLike", "ses:recipients", ["*@example.org"])
	iam.condition_problem("Allow", condition) == ""
	trusted := {"trusted_recipients": ["*@Example.com"]}
	problem := iam.condition_problem("Allow", condition) with data.sesrego.config as trusted
	problem == `the pattern "*@example.org" is not one of the trusted recipient patterns`
	same := _condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com"])
	iam.condition_problem("Allow", same) == "" with data.sesrego.config as trusted
}

test_recipient_status_and_ineffective_conditions if {
	allow := _statement({"Effect": "Allow", "Action": "ses:SendEmail"})
	good := _condition("ForAllValues:StringLike", "ses:recipients", ["*@example.com"])
	bad := _condition("StringLike", "ses:recipients", ["*@example.com"])
	absent := _condition("Null", "ses:recipients", ["true"])
	iam.recipient_status(allow, []) == "none"
	iam.recipient_status(allow, [bad, good]) == "effective"
	iam.recipient_status(allow, [absent]) == "effective"
	iam.recipient_status(allow, [bad]) == "ineffective"
	iam.ineffective_recipient_conditions(allow, [bad, good]) == [] # one effective condition restricts an Allow
	[[reported, _]] := iam.ineffective_recipient_conditions(allow, [bad])
	reported == bad
	deny := _statement({"Effect": "Deny", "Action": "ses:SendEmail"})
	deny_bad := _condition("ForAnyValue:StringLike", "ses:recipients", ["*@example.com"])
	deny_good := _condition("ForAnyValue:StringNotLike", "ses:recipients", ["*@example.com"])
	[[denied, _]] := iam.ineffective_recipient_conditions(deny, [deny_bad, deny_good]) # all must hold in a Deny
	denied == deny_bad
}

# --- API versions ------------------------------------------------------------------------------------

test_allow_versions if {
	iam.allow_versions(_statement({"Effect": "Allow", "Action": "ses:SendEmail"})) == {"1", "2"}
	two := _versioned("Allow", "StringEquals", "2")
	iam.allow_versions(two) == {"2"}
	star := _versioned("Allow", "StringEquals", "*")
	iam.allow_versions(star) == set() # StringEquals compares literally
	like := _versioned("Allow", "StringLike", "*")
	iam.allow_versions(like) == {"1", "2"}
	odd := _versioned("Allow", "NumericEquals", "1")
	iam.allow_versions(odd) == {"1", "2"} # an operator sesrego does not model may hold for any version
}

test_deny_versions if {
	iam.deny_versions(_statement({"Effect": "Deny", "Action": "ses:SendEmail"})) == {"1", "2"}
	not_one := _versioned("Deny", "StringNotEquals", "1")
	iam.deny_versions(not_one) == {"2"}
	odd := _versioned("Deny", "NumericEquals", "1")
	not iam.deny_versions(odd)
}

test_string_matches if {
	iam.string_matches("StringEquals", "a*", "a*")
	not iam.string_matches("StringEquals", "a*", "ab")
	iam.string_matches("StringLike", "a*", "ab")
	iam.string_matches("StringEqualsIgnoreCase", "AB", "ab")
	not iam.string_matches("StringLike", "[a]", "a")
}

# --- exemptions and guards ------------------------------------------------------------------------------

test_exemptions if {
	iam.exemption(_condition("StringNotEquals", "aws:PrincipalTag/dp:exclude:resource", ["true"]))
	iam.exemption(_condition("ArnNotLikeIfExists", "aws:PrincipalArn", ["arn:aws:iam::*:role/admin"]))
	iam.exemption(_condition("Bool", "aws:PrincipalIsAWSService", ["false"]))
	not iam.exemption(_condition("StringEquals", "aws:PrincipalTag/team", ["interns"])) # selects, not exempts
	not iam.exemption(_condition("StringNotEquals", "aws:PrincipalOrgID", ["o-1"])) # exempts everyone
	not iam.exemption(_condition("StringNotEquals", "aws:RequestedRegion", ["us-east-1"]))
	not iam.exemption(_condition("StringNotLike", "aws:PrincipalArn", ["arn:aws:iam::*:role/a", "*"])) # everyone
	not iam.exemption(_condition("ArnNotLikeIfExists", "aws:PrincipalArn", ["arn:aws:iam::*:*"]))
	not iam.exemption(_condition("StringNotLike", "aws:PrincipalAccount", ["????????????"]))
	iam.exemption(_condition("ArnNotLike", "aws:PrincipalArn", ["arn:aws:iam::111122223333:*"]))
	iam.exemption(_condition("StringNotEquals", "aws:PrincipalArn", ["*"])) # exact: a literal star
	iam.exemption(_condition("StringNotLike", "aws:PrincipalTag/dp:exclude:resource", ["*"])) # only the tagged
	iam.negated_operator("ForAnyValue:StringNotLike")
	not iam.negated_operator("StringLike")
}

test_guard_of_an_unconditional_deny_blocks if {
	deny := _statement({"Effect": "Deny", "Action": "ses:Send*", "Resource": "*"})
	guard := iam.guard(deny, _tracked(deny.raw))
	["ses:sendemail", "1"] in guard.blocks
	["ses:sendcustomverificationemail", "2"] in guard.blocks
	guard.versions == {"1", "2"}
}

test_guard_of_a_recipient_deny_restricts if {
	raw := {"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*", "Condition": {
		"ForAnyValue:StringNotLike": {"ses:Recipients": "*@example.com"},
		"StringEquals": {"ses:ApiVersion": "1"},
		"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"},
	}}
	guard := iam.guard(_statement(raw), {"ses:sendemail"})
	guard.restricts == {["ses:sendemail", "1"]}
	guard.blocks == set()
	guard.versions == {"1"}
}

test_a_deny_with_another_condition_anded_in_is_no_guard if {
	raw := {"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*", "Condition": {
		"ForAnyValue:StringNotLike": {"ses:Recipients": "*@example.com"},
		"StringEquals": {"aws:RequestedRegion": "us-east-1"},
	}}
	not iam.guard(_statement(raw), {"ses:sendemail"})
	not iam.guard(_statement({"Effect": "Allow", "Action": "ses:SendEmail"}), {"ses:sendemail"})
}

test_guard_covers_an_allows_pair_in_scope if {
	deny := _statement({"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:*:*:identity/a.com"})
	guard := iam.guard(deny, {"ses:sendemail"})
	inside := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:*:*:identity/a.com"})
	outside := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"})
	iam.guard_covers(guard, ["ses:sendemail", "1"], inside, "block")
	not iam.guard_covers(guard, ["ses:sendemail", "1"], outside, "block")
	not iam.guard_covers(guard, ["ses:sendemail", "1"], null, "recipients") # an SCP needs every resource
}

# --- grants -------------------------------------------------------------------------------------------

test_grants_per_version_and_resource if {
	allow := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"})
	iam.grants(allow, {"ses:sendemail"}, []) == {["ses:sendemail", "1"], ["ses:sendemail", "2"]}
	scoped := _statement({"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:s3:::bucket"})
	iam.grants(scoped, {"ses:sendemail"}, []) == set()
	deny := _statement({"Effect": "Deny", "Action": "ses:SendEmail", "Resource": "*"})
	iam.grants(deny, {"ses:sendemail"}, []) == set()
}

test_grants_without_recipients_keep_only_keyless_requests if {
	allow := _statement({"Effect": "Allow", "Action": "ses:SendCustomVerificationEmail", "Resource": "*"})
	absent := [_condition("Null", "ses:recipients", ["true"])]
	iam.grants(allow, {"ses:sendcustomverificationemail"}, absent) == {["ses:sendcustomverificationemail", "2"]}
}

# --- resource perimeters ---------------------------------------------------------------------------------

test_perimeter_statement if {
	perimeter := {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
		"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-1", "aws:PrincipalTag/dp:exclude:resource": "true"},
	}}
	iam.perimeter_statement(_statement(perimeter), {})
	services := object.union(perimeter, {"Action": ["s3:*", "sqs:*", "ses:*"]})
	iam.perimeter_statement(_statement(services), {})
	two := object.union(perimeter, {"Action": ["s3:*", "sqs:*"]})
	not iam.perimeter_statement(_statement(two), {}) # a targeted guard
	positive := object.union(object.remove(perimeter, ["Condition"]), {"Condition": {
		"StringEquals": {"aws:ResourceOrgID": "o-1"},
	}})
	not iam.perimeter_statement(_statement(positive), {})
	named := object.union(perimeter, {"Resource": "arn:aws:s3:::bucket"})
	not iam.perimeter_statement(_statement(named), {})
}

test_display_is_the_catalog_spelling if {
	iam.display("ses:sendemail") == "ses:SendEmail"
	iam.display("ses:notanaction") == "ses:notanaction"
}
