# METADATA
# title: Tests of sesrego.lib.config
# description: Configuration is read defensively, and waivers, severities and administrators apply as documented.
# scope: package
package sesrego.lib.config_test

import rego.v1

import data.sesrego.lib.config

test_configuration_of_the_wrong_type_is_empty if {
	config.config == {} with data.sesrego.config as "scp_attested"
	config.config == {} with data.sesrego.config as ["administrators"]
	config.waivers == [] with data.sesrego.config as {"waivers": {"rule_id": "SES-001"}}
}

test_administrators_are_lower_cased_strings if {
	config.administrators == ["admin*", "arn:aws:iam::*:role/ops"] with data.sesrego.config as {
		"administrators": ["Admin*", 7, "arn:aws:iam::*:role/Ops", null],
	}
}

test_is_administrator_matches_any_name_with_iam_wildcards_only if {
	config.is_administrator(["aws_iam_role.app", "Admin-Role"]) with data.sesrego.config as {"administrators": ["admin-*"]}
	not config.is_administrator(["ops"]) with data.sesrego.config as {"administrators": ["admin-*"]}
	config.is_administrator(["role[1]"]) with data.sesrego.config as {"administrators": ["role[1]"]}
	not config.is_administrator(["role1"]) with data.sesrego.config as {"administrators": ["role[1]"]}
	not config.is_administrator(["anyone"]) with data.sesrego.config as {}
}

test_waivers_need_a_string_rule_id_and_resource if {
	config.waivers == [{"rule_id": "SES-001", "resource": "*"}] with data.sesrego.config as {"waivers": [
		{"rule_id": "SES-001", "resource": "*"},
		{"rule_id": 1, "resource": "*"},
		{"rule_id": "SES-002"},
		"SES-003",
	]}
}

test_scp_attested_only_when_true if {
	config.scp_attested with data.sesrego.config as {"scp_attested": true}
	not config.scp_attested with data.sesrego.config as {"scp_attested": "true"}
	not config.scp_attested with data.sesrego.config as {}
}

test_severity_override_must_be_a_severity if {
	config.severity("SES-001", "warn") == "deny" with data.sesrego.config as {"severity": {"SES-001": "deny"}}
	config.severity("SES-001", "warn") == "warn" with data.sesrego.config as {"severity": {"SES-001": "fatal"}}
	config.severity("SES-002", "warn") == "warn" with data.sesrego.config as {"severity": {"SES-001": "info"}}
}

test_waiver_for_matches_rule_id_or_star_and_resource_glob if {
	finding := {"rule_id": "SES-001", "resource": "module.legacy.aws_iam_policy.p"}
	waivers := [
		{"rule_id": "SES-002", "resource": "*", "reason": "other rule"},
		{"rule_id": "*", "resource": "module.legacy.*", "reason": "legacy"},
	]
	config.waiver_for(finding).reason == "legacy" with data.sesrego.config as {"waivers": waivers}
	not config.waiver_for(finding) with data.sesrego.config as {"waivers": [waivers[0]]}
	config.waiver_or_null(finding) == null with data.sesrego.config as {"waivers": [waivers[0]]}
	config.waiver_or_null(finding) == null with data.sesrego.config as {}
}

test_an_inline_waiver_covers_every_instance_of_its_address_and_nothing_in_another_module if {
	waiver := {"rule_id": "SES-001", "resource": "module.c.aws_iam_policy.m", "reason": "r", "source": "inline"}
	data_config := {"waivers": [waiver]}
	every address in [
		"module.c.aws_iam_policy.m", "module.c[0].aws_iam_policy.m[1]",
		`module.c["a.b]"].aws_iam_policy.m`,
	] {
		config.waiver_for({"rule_id": "SES-001", "resource": address}) with data.sesrego.config as data_config
	}
}

test_an_inline_waiver_does_not_cross_into_a_nested_module_or_a_namesake if {
	waiver := {"rule_id": "SES-001", "resource": "module.c.aws_iam_policy.m", "reason": "r", "source": "inline"}
	data_config := {"waivers": [waiver]}
	every address in [
		"module.c[0].module.inner[0].aws_iam_policy.m", "module.cx.aws_iam_policy.m",
		"module.c.aws_iam_policy.mx", "xmodule.c.aws_iam_policy.m",
	] {
		not config.waiver_for({"rule_id": "SES-001", "resource": address}) with data.sesrego.config as data_config
	}
}

test_an_inline_module_waiver_covers_every_resource_of_every_instance if {
	waiver := {"rule_id": "SES-001", "resource": "module.a.*", "reason": "r", "source": "inline"}
	data_config := {"waivers": [waiver]}
	nested := {"rule_id": "SES-001", "resource": `module.a["k"].module.b[0].aws_iam_policy.p`}
	config.waiver_for(nested) with data.sesrego.config as data_config
	other := {"rule_id": "SES-001", "resource": "module.ab.aws_iam_policy.p"}
	not config.waiver_for(other) with data.sesrego.config as data_config
}

test_the_first_applicable_waiver_wins if {
	finding := {"rule_id": "SES-001", "resource": "aws_iam_policy.p"}
	waivers := [
		{"rule_id": "SES-001", "resource": "aws_iam_policy.q", "reason": "another resource"},
		{"rule_id": "SES-001", "resource": "aws_iam_policy.*", "reason": "first"},
		{"rule_id": "*", "resource": "*", "reason": "second"},
	]
	config.waiver_for(finding).reason == "first" with data.sesrego.config as {"waivers": waivers}
}

test_expired_and_unreadable_waivers_apply_to_nothing if {
	finding := {"rule_id": "SES-001", "resource": "aws_iam_policy.p"}
	past := {"rule_id": "SES-001", "resource": "*", "expires": "2000-01-01"}
	unreadable := {"rule_id": "SES-001", "resource": "*", "expires": "next year"}
	future := {"rule_id": "SES-001", "resource": "*", "expires": "9999-12-31T00:00:00Z"}
	config.expired(past)
	config.expired(unreadable)
	config.expired({"expires": 20000101})
	not config.expired(future)
	not config.expired({"rule_id": "SES-001", "resource": "*"})
	not config.waiver_for(finding) with data.sesrego.config as {"waivers": [past, unreadable]}
	config.waiver_for(finding) == future with data.sesrego.config as {"waivers": [past, future]}
}

test_today_is_a_date if {
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, config.today)
}
