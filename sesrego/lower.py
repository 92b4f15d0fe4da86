"""Catalogs + guidance -> :class:`Program`: the only place with compile logic.

Ordered passes, each a pure function of the sources and what earlier passes built:

1. ``facts``: the data document the rules read (action universe, send and admin-only actions
   per API version, the condition keys), all taken from the catalogs and guidance;
2. ``cross_check``: guidance checked against the catalogs;
3. ``rules``: SES-001 ... SES-008 with their texts and examples, built from the facts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .errors import SourceError
from .model import (Catalog, Consideration, ControlKind, CrossCheckItem, Example, ExamplePolicy, Guidance,
                    Program, Rule, Severity)
from .suffixes import public_suffixes, suffix_parents

#: The IAM condition key that tells SES API versions apart (used by AWS's reference SCP).
API_VERSION_KEY = "ses:ApiVersion"

REFERENCE_SCP = ("https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/"
                 "service_control_policies/service_specific_controls/restrict_untrusted_endpoints_scp.json")
PERIMETER_SCP = ("https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/"
                 "service_control_policies/resource_perimeter_scp.json")


def lower(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> Program:
    catalogs = tuple(sorted(catalogs, key=lambda c: (c.api_version, c.source.name)))
    guidance = tuple(sorted(guidance, key=lambda g: (g.api_version, g.source.name)))
    _check_unique_versions(guidance)
    facts = build_facts(catalogs, guidance)
    return Program(
        catalogs=catalogs,
        guidance=guidance,
        rules=build_rules(facts, guidance),
        facts=facts,
        cross_check=cross_check(catalogs, guidance),
    )


def _check_unique_versions(guidance: Sequence[Guidance]) -> None:
    seen: dict[str, str] = {}
    for doc in guidance:
        if doc.api_version in seen:
            raise SourceError(f"two guidance documents describe SES API v{doc.api_version} "
                              f"(the other is {seen[doc.api_version]})", path=doc.source.name)
        seen[doc.api_version] = doc.source.name


def _qualified(prefix: str, action: str) -> str:
    return f"{prefix}:{action}"


def _considerations(guidance: Sequence[Guidance], kind: ControlKind) -> list[tuple[Guidance, Consideration]]:
    return [(doc, c) for doc in guidance for c in doc.considerations if c.control.kind is kind]


def _prefix(catalogs: Sequence[Catalog]) -> str:
    prefixes = sorted({c.prefix for c in catalogs})
    return "ses" if "ses" in prefixes else prefixes[0]


# --- pass 1: facts -------------------------------------------------------------------


def build_facts(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> dict:
    """The data document under ``data.sesrego.facts``; keys are lower-cased action names."""
    prefix = _prefix(catalogs)
    actions: dict[str, str] = {}
    for catalog in catalogs:
        for action in catalog.actions:
            actions.setdefault(_qualified(catalog.prefix, action.name).lower(), _qualified(catalog.prefix, action.name))
    send: dict[str, set[str]] = {doc.api_version: set() for doc in guidance}
    admin: dict[str, set[str]] = {doc.api_version: set() for doc in guidance}
    considerations: dict[str, set[str]] = {}
    recipient_keys = set()
    for doc, c in _considerations(guidance, ControlKind.CONDITION_KEY):
        name = _qualified(prefix, c.action)
        send[doc.api_version].add(name.lower())
        actions.setdefault(name.lower(), name)
        considerations.setdefault(name.lower(), set()).add(c.ref)
        recipient_keys.add(c.control.condition_key.lower())
    for doc, c in _considerations(guidance, ControlKind.ADMIN_ONLY):
        name = _qualified(prefix, c.action)
        admin[doc.api_version].add(name.lower())
        actions.setdefault(name.lower(), name)
        considerations.setdefault(name.lower(), set()).add(c.ref)
    if len(recipient_keys) > 1:
        raise SourceError("the guidance recommends more than one condition key (" + ", ".join(sorted(recipient_keys))
                          + "); sesrego's rules check one recipient key", path=guidance[0].source.name)
    tracked = set().union(*send.values(), *admin.values()) if guidance else set()
    resource_types = _resource_types(catalogs, send, admin)
    recipient_key = recipient_keys.pop() if recipient_keys else "ses:recipients"
    return {
        "actions": dict(sorted(actions.items())),
        "api_versions": sorted(send),
        "send_actions": {v: sorted(a) for v, a in sorted(send.items())},
        "admin_only_actions": {v: sorted(a) for v, a in sorted(admin.items())},
        "tracked_actions": sorted(tracked),
        "recipient_key": recipient_key,
        "recipient_key_actions": _keyed_actions(catalogs, send, admin, recipient_key),
        "api_version_key": API_VERSION_KEY.lower(),
        "considerations": {a: sorted(refs) for a, refs in sorted(considerations.items())},
        "resource_types": resource_types,
        "arn_shapes": _arn_shapes(prefix, resource_types),
        "public_suffixes": dict(public_suffixes()),
        "public_suffix_parents": suffix_parents(public_suffixes()),
    }


def _resource_types(catalogs: Sequence[Catalog], send: dict[str, set[str]],
                    admin: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Per API version, the resource types each tracked action authorizes on: the catalog's required
    resource types of that action on that version's page ("*" when it has none, or no page has it)."""
    types: dict[str, dict[str, list[str]]] = {}
    for version in sorted(send):
        per_action: dict[str, list[str]] = {}
        for name in sorted(send[version] | admin[version]):
            required = {rt.name for catalog in catalogs if catalog.api_version == version
                        for action in catalog.actions if _qualified(catalog.prefix, action.name).lower() == name
                        for rt in action.resource_types if rt.required and rt.name}
            per_action[name] = sorted(required) or ["*"]
        types[version] = per_action
    return types


def _keyed_actions(catalogs: Sequence[Catalog], send: dict[str, set[str]], admin: dict[str, set[str]],
                   key: str) -> dict[str, list[str]]:
    """Per API version, the tracked actions whose requests carry the recipient key (v2
    SendCustomVerificationEmail does not: a condition on the key behaves there as on a missing key)."""
    return {version: sorted(name for name in send[version] | admin[version]
                            if any(_qualified(catalog.prefix, action.name).lower() == name
                                   and key in {k.lower() for k in action.condition_keys}
                                   for catalog in catalogs if catalog.api_version == version
                                   for action in catalog.actions))
            for version in sorted(send)}


def _arn_shapes(prefix: str, resource_types: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """The ARN every resource of a type has, as an IAM glob: ``arn:${Partition}:ses:${Region}:${Account}:
    <type>/<name>``, with ``*`` for each variable part (``*`` itself for actions without a resource type)."""
    names = {name for per_action in resource_types.values() for names in per_action.values() for name in names}
    return {name: "*" if name == "*" else f"arn:*:{prefix}:*:*:{name}/*" for name in sorted(names)}


# --- pass 2: cross-check ------------------------------------------------------------


def cross_check(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> tuple[CrossCheckItem, ...]:
    items: list[CrossCheckItem] = []
    by_version: dict[str, list[Catalog]] = {}
    for catalog in catalogs:
        by_version.setdefault(catalog.api_version, []).append(catalog)
    for doc in guidance:
        versioned = by_version.get(doc.api_version, [])
        names = {a.name.lower(): (catalog, a) for catalog in versioned for a in catalog.actions}
        where = f"SES API v{doc.api_version}"
        if not versioned:
            items.append(CrossCheckItem("catalog-missing", doc.api_version, "",
                                        f"no catalog of {where} is loaded to check {doc.source.name} against",
                                        doc.source.name))
            continue
        for c in doc.considerations:
            found = names.get(c.action.lower())
            if found is None:
                items.append(CrossCheckItem(
                    "guidance-action-missing", doc.api_version, c.action,
                    f"consideration {c.ref} names {c.action}, which the {where} catalog does not have",
                    doc.source.name, c.line))
            elif c.control.condition_key and c.control.condition_key.lower() not in {
                    k.lower() for k in found[1].condition_keys}:
                items.append(CrossCheckItem(
                    "condition-key-unsupported", doc.api_version, c.action,
                    f"consideration {c.ref} recommends {c.control.condition_key} for {c.action}, which the "
                    f"{where} catalog does not support for that action", found[0].source.name, found[1].line))
        reviewed = {name.lower() for name in doc.reviewed_apis}
        for api in doc.reviewed_apis:
            if api.lower() not in names:
                items.append(CrossCheckItem(
                    "reviewed-api-missing", doc.api_version, api,
                    f"{doc.source.name} reviewed {api}, which the {where} catalog does not have", doc.source.name))
        for catalog, action in sorted(names.values(), key=lambda pair: pair[1].name):
            if action.name.lower() not in reviewed:
                items.append(CrossCheckItem(
                    "action-not-reviewed", doc.api_version, action.name,
                    f"{catalog.source.name} has {action.name}, which the {where} guidance did not review",
                    catalog.source.name, action.line))
    if not any(API_VERSION_KEY.lower() == key.lower() for c in catalogs for a in c.actions for key in a.condition_keys):
        items.append(CrossCheckItem("condition-key-unsupported", "", API_VERSION_KEY,
                                    f"no catalog lists {API_VERSION_KEY}, which the reference SCP uses to tell "
                                    "API versions apart", ""))
    return tuple(sorted(items, key=lambda i: (i.kind, i.api_version, i.action, i.source, i.line or 0)))


# --- pass 3: rules ------------------------------------------------------------------


#: A semantics item of the rule reference: its title, its text (markdown) and the rules it explains.
Semantics = tuple[str, str, tuple[str, ...]]


def semantics(facts: dict) -> tuple[Semantics, ...]:
    """How the rules read IAM policies, for the rule reference (``docs/rules.md``, ``sesrego rules``)."""
    key = "ses:Recipients"
    display = facts["actions"]
    types = "; ".join(
        f"API v{version}: " + ", ".join(f"{display.get(action, action)} on `{'`, `'.join(names)}`"
                                        for action, names in sorted(per_action.items()))
        for version, per_action in sorted(facts["resource_types"].items()))
    all_send = ("SES-001", "SES-004", "SES-005")
    return (
        ("Conditions are ANDed",
         "Several operators in one statement, and several keys under one operator, must all hold; the values of "
         "one key are ORed (NORed under a negated operator such as `StringNotLike`). A Deny therefore guards "
         f"recipients only when it fires for every request with an untrusted recipient: each of its `{key}` "
         "conditions must be effective, and every other condition must be a principal exemption (below), "
         f"`ses:ApiVersion` (which limits the Deny to those versions) or `Null {{\"{key}\": \"false\"}}`. "
         "Anything else ANDed in (`aws:RequestedRegion`, `ses:FromAddress`, a positive principal condition, "
         f"`Null {{\"{key}\": \"true\"}}`, which leaves the Deny nothing to deny) means it does not count, and "
         f"an ineffective `{key}` condition in a Deny is SES-002 even beside an effective one. In an Allow it is "
         f"the other way round: one effective `{key}` condition restricts the statement, whatever else is ANDed "
         "to it, and a redundant ineffective one beside it is not reported.",
         ("SES-001", "SES-002", "SES-004", "SES-005", "SES-006")),
        ("Exact operators are exact",
         "`StringEquals`, `StringNotEquals`, their `IgnoreCase` and `IfExists` forms compare literally: `*` and "
         "`?` are ordinary characters there, so `StringEquals {\"ses:ApiVersion\": \"*\"}` matches no request "
         "and its statement never applies. Only `StringLike`, `StringNotLike` and the ARN operators glob. This "
         "holds wherever a value is compared: API versions, recipients, principals. Action names and condition "
         "keys compare case-insensitively, `StringLike` values and ARNs case-sensitively.",
         ("SES-001", "SES-002", "SES-004", "SES-005")),
        (f"Which operators restrict {key}",
         f"`{key}` is multi-valued (To, CC and BCC). In an Allow only `ForAllValues:StringLike`, "
         "`ForAllValues:StringEquals` and `ForAllValues:StringEqualsIgnoreCase` (or their `IfExists` forms) "
         "restrict every recipient; in a Deny only `ForAnyValue:StringNotLike`, `ForAnyValue:StringNotEquals` "
         f"and `ForAnyValue:StringNotEqualsIgnoreCase`. AWS's pairing of `Null {{\"{key}\": \"false\"}}` "
         "with such a condition is fine; alone, in an Allow, it restricts nothing. When an Allow's only "
         f"`{key}` conditions are ineffective, SES-002 (deny) is reported alone, without SES-001 beside it.",
         ("SES-001", "SES-002")),
        ("The recipient pattern rule",
         "For the `StringLike` operators a pattern is effective only when the part after its last `@` is a "
         "literal domain (`ops@example.com`, `*@example.com`) or `*.` followed by a literal domain "
         "(`*@*.example.com`), and that domain is not a public suffix (`com`, `co.uk`, `github.io`). These "
         "admit domains an attacker can register, so they are ineffective: `*@example.com*` "
         "(`x@example.com.attacker.net`), `*@example.*`, `*@*example.com`, `*@exampl?.com`, `*example.com` "
         "(no `@`), `*@*.com`, `*.com`. Domains compare case-insensitively. The exact operators take full "
         "addresses (`local@domain`) or are ineffective. A `<placeholder>` left in, or (with "
         "`config.trusted_recipients`) a pattern outside the trusted ones, is ineffective too.",
         ("SES-002",) + all_send),
        ("How sesrego knows public suffixes",
         "From a snapshot of the Public Suffix List (<https://publicsuffix.org/list/>) shipped in "
         "`sesrego/sources/public_suffix_list.dat` (MPL-2.0; its version is in `sesrego/sources/ATTRIBUTION.md`) "
         "and compiled into `data.sesrego.facts.public_suffixes`, an object keyed by rule. A domain is a public "
         "suffix when it has one label (the list's implicit `*` rule), when the list names it (ICANN or private "
         "section), or when it sits under a `*.` wildcard rule and no `!` exception rule takes it back. "
         "Internationalised rules are kept in both their Unicode and `xn--` forms. A `*.` pattern also needs a "
         "domain with no public suffix below it (`data.sesrego.facts.public_suffix_parents`): `*@*.kawasaki.jp` "
         "admits `x@evil.foo.kawasaki.jp`.",
         ("SES-002",)),
        ("What an exemption is",
         "A condition exempts principals from a Deny, which then still applies to everyone else, when it is a "
         "negated operator (`StringNotEquals*`, `StringNotLike*`, `ArnNotEquals*`, `ArnNotLike*`) on a principal "
         "key (`aws:PrincipalArn`, `aws:PrincipalTag/…`, `aws:PrincipalAccount`, …), or "
         "`Bool`/`BoolIfExists {\"aws:PrincipalIsAWSService\": \"false\"}`, which exempts AWS services. A "
         "positive condition on a principal key (`StringEquals aws:PrincipalTag/team: interns`) selects the only "
         "principals the Deny hits, so it is no control. A negated `aws:PrincipalOrgID` or "
         "`aws:PrincipalOrgPaths` exempts every principal of the organization (every principal an SCP governs), "
         "so it is no control either.",
         ("SES-001", "SES-003", "SES-004", "SES-005", "SES-006")),
        ("Resource scope",
         f"Each action authorizes on the resource types its catalog lists for that API version ({types}); SES "
         "ARNs are `arn:${Partition}:ses:${Region}:${Account}:<type>/<name>`. An Allow grants an action only where "
         "its `Resource` may match those ARNs (`arn:aws:s3:::bucket` grants no SES send). A Deny covers an action "
         "when its `Resource` matches every ARN of the type (`*`, `arn:aws:ses:*:*:identity/*`, "
         "`arn:aws:ses:*:*:*`, in any partition), when its `NotResource` cannot match the type's ARNs (AWS's "
         "perimeter SCP uses `NotResource`), or, in the same policy, when it matches every ARN the guarded "
         "Allow's `Resource` can match. In a resource policy the Deny's `Principal` must also cover the Allow's "
         "(`*`, or the same principals). When coverage cannot be shown, the Deny does not count.",
         ("SES-001", "SES-003", "SES-004", "SES-005", "SES-006")),
        ("API versions",
         "An Allow limited by `ses:ApiVersion` grants only those versions, and a Deny so limited covers only "
         "those: findings are computed per action and API version, from the statement's own versions. SES-004 "
         "keeps reporting each uncovered action per API version, next to SES-005 on the statement whose "
         "version limit leaves them out. API v2 `SendCustomVerificationEmail` has no `ses:Recipients` key, so "
         "there a condition on the key behaves as on a missing key: a Deny conditioned on recipients never "
         "blocks it, and `Null {\"ses:Recipients\": \"true\"}` does not take it out of an Allow.",
         ("SES-001", "SES-003", "SES-004", "SES-005", "SES-006")),
        ("Which Denies count, and where",
         "A Deny with no condition, or only exemptions and `ses:ApiVersion`, removes what it covers: "
         "`Allow ses:*` with `Deny ses:Send*` gets no SES-001, nor SES-003 when the Deny also covers "
         "SendCustomVerificationEmail; in an SCP it is the strongest recipient control (SES-004, SES-005) and the "
         "administrator control (SES-006). A Deny counts for the Allows of its own policy, and for the inline "
         "policies of the same role, user or group (`aws_iam_role_policy`, a role's `inline_policy` blocks), "
         "joined by the principal's name or a configuration reference (`role = aws_iam_role.app.id`); when "
         "neither resolves, it does not count. Managed policies keep the same-policy rule, because they can be "
         "attached outside the plan. An SCP's Deny counts for the whole organization; a resource control "
         "policy never does.",
         ("SES-001", "SES-003", "SES-004", "SES-005", "SES-006")),
        ("Administrators",
         "`config.administrators` patterns match the principal a policy is attached to: its role, user or group "
         "name; its ARN where the plan knows it, else `arn:aws:iam::<any account>:role<path><name>` (only an "
         "account wildcard matches), so ARN patterns work for roles created in the same plan; and its Terraform "
         "address. They never match the policy's own name. A managed policy (`aws_iam_policy`) is exempt only "
         "when the plan attaches it to at least one principal and every attachment is to an administrator "
         "(`aws_iam_*_policy_attachment`, `aws_iam_policy_attachment`, `managed_policy_arns`, "
         "`*_policy_attachments_exclusive`). A resource-policy statement is exempt only when every principal it "
         "grants to is an administrator.",
         ("SES-003",)),
        ("What a resource perimeter is",
         "A resource-perimeter SCP statement is a Deny with: every action (`Action \"*\"`, a `NotAction` that "
         "leaves the send actions in, or actions of at least three services); every resource (`Resource \"*\"` "
         "or a `NotResource`, as AWS's perimeter excludes AWS-owned ARNs); and a negated condition on "
         "`aws:ResourceOrgID`, `aws:ResourceOrgPaths` or `aws:ResourceAccount` (other keys may be ANDed in, as "
         "AWS's `ec2:Owner` is). A Deny on a few named resources, or the actions of one or two services, is a "
         "targeted guard, not a perimeter, and triggers neither SES-004 nor SES-006.",
         ("SES-004", "SES-006")),
        ("Values unknown until apply",
         "A finding is reported when it holds for every value of the unknowns, none when it holds for none, and "
         "SES-007 when it depends on them, naming the rules left undecided and the expressions (with the .tf "
         "reader's explanation). The value domain: an unknown `Resource` or `Principal` in an Allow may match "
         "what the statement's actions need, so `Resource = var.identity_arn` beside `ses:SendEmail` is SES-001; "
         "a Deny with an unknown anywhere is never a certain guard, only a possible one, so a verdict that turns "
         "on it is SES-007, never a pass; a string with unknown parts keeps its known parts "
         "(`arn:aws:ses:*:${var.account}:identity/*` is an SES identity ARN for any account). Undecided: an "
         "unknown `Action` element, unknown `ses:Recipients` values, an unknown `Effect` on a statement that "
         "matters. Decided: a policy whose known actions cannot match an SES action (no finding, no SES-007), a "
         "condition on `ses:FromAddress` only (SES-001), a Deny selecting `aws:PrincipalArn = var.admin_arn` (no "
         "guard). Unknown values are read from the documented input extension (`docs/plan-extension.md`: marked "
         "documents of the .tf reader) and from an `aws_iam_policy_document` read during apply, whose statement "
         "blocks the plan keeps with `after_unknown` marking their unknown leaves; a policy string the plan "
         "knows in full is read as it is. An organization policy whose `type` is unknown may be an SCP: SES-007 "
         "when its content could change an SCP verdict.",
         ("SES-001", "SES-002", "SES-003", "SES-004", "SES-005", "SES-006", "SES-007")),
        ("Lookalike service prefixes",
         "IAM knows no `sesv2:`, `ses-v2:`, `SES_V1:` or `ses2:` prefix: SES v2 actions use `ses:`, so such names "
         "grant nothing and, in a Deny, protect nothing. A prefix is a lookalike when, compared "
         "case-insensitively, it is not `ses` but becomes `ses` once `-` and `_` and a trailing `v`+digits or "
         "digits are removed.",
         ("SES-008",)),
    )



def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _refs(guidance: Sequence[Guidance], kind: ControlKind) -> tuple[str, ...]:
    return tuple(sorted(c.ref for _, c in _considerations(guidance, kind)))


def _urls(guidance: Sequence[Guidance], kind: ControlKind, *extra: str) -> tuple[str, ...]:
    urls = {doc.url for doc, _ in _considerations(guidance, kind)}
    urls |= {c.control.example_policy for _, c in _considerations(guidance, kind) if c.control.example_policy}
    return tuple(sorted(urls | set(extra)))


def build_rules(facts: dict, guidance: Sequence[Guidance]) -> tuple[Rule, ...]:
    display = facts["actions"]
    key = next((c.control.condition_key for _, c in _considerations(guidance, ControlKind.CONDITION_KEY)),
               "ses:Recipients")
    versions = facts["api_versions"]
    send_by_version = {v: [display[a] for a in facts["send_actions"][v]] for v in versions}
    all_send = sorted({a for names in send_by_version.values() for a in names})
    admin_only = sorted({display[a] for v in versions for a in facts["admin_only_actions"][v]})
    send_one = "ses:SendEmail" if "ses:SendEmail" in all_send or not all_send else all_send[0]
    cond_refs = _refs(guidance, ControlKind.CONDITION_KEY)
    admin_refs = _refs(guidance, ControlKind.ADMIN_ONLY)
    cond_urls = _urls(guidance, ControlKind.CONDITION_KEY)
    admin_urls = _urls(guidance, ControlKind.ADMIN_ONLY)
    trusted = {"ForAllValues:StringLike": {key: ["*@example.com"]}}

    def allow(actions, condition=None) -> dict:
        statement = {"Sid": "SendMail", "Effect": "Allow", "Action": actions, "Resource": "*"}
        if condition:
            statement["Condition"] = condition
        return statement

    def recipient_deny(version: str) -> dict:
        return {
            "Sid": f"PreventUntrustedSESv{version}Emails", "Effect": "Deny", "Action": send_by_version[version],
            "Resource": "*",
            "Condition": {"ForAnyValue:StringNotLike": {key: ["*@example.com"]},
                          "StringEquals": {API_VERSION_KEY: version},
                          "StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}},
        }

    admin_deny = {"Sid": "PreventUntrustedSESVerificationEmails", "Effect": "Deny", "Action": admin_only,
                  "Resource": "*",
                  "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}}}
    perimeter = ExamplePolicy("scp", _policy({
        "Sid": "EnforceResourcePerimeterAWSResources", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-a1b2c3d4e5",
                                                  "aws:PrincipalTag/dp:exclude:resource": "true"}}}))
    recommended = ExamplePolicy("scp", _policy(*(recipient_deny(v) for v in versions), admin_deny))
    recipients_only = ExamplePolicy("scp", _policy(*(recipient_deny(v) for v in versions)))
    identity = lambda *statements: ExamplePolicy("identity", _policy(*statements))  # noqa: E731
    first, rest = (versions[0], versions[1:]) if versions else ("1", [])

    rules = (
        Rule(
            id="SES-001", slug="ses_001", template="ses_001.rego.j2",
            title=f"SES sending allowed without a {key} restriction",
            description=(f"An identity or resource policy allows {', '.join(all_send)} without any {key} "
                         f"condition, and no Deny in its scope denies those actions (per API version and resource) "
                         f"to untrusted recipients or altogether, so the principal can mail any address: SES sends "
                         f"outside IAM, and the aws:ResourceOrgID resource perimeter does not restrict the "
                         f"recipients."),
            severity=Severity.WARN, attested_severity=Severity.INFO, considerations=cond_refs,
            remediation=(f"Add \"Condition\": {{\"ForAllValues:StringLike\": {{\"{key}\": [\"*@<your domain>\"]}}}} "
                         f"to the Allow, or deny untrusted recipients in an SCP and attest it with "
                         f"config.scp_attested."),
            related_resources=cond_urls,
            failing=Example("an application policy that may mail anyone", (identity(allow([send_one])),)),
            passing=Example("the same policy restricted to the organization's domain",
                            (identity(allow([send_one], trusted)),)),
        ),
        Rule(
            id="SES-002", slug="ses_002", template="ses_002.rego.j2",
            title=f"Ineffective {key} condition",
            description=(f"A policy carries a {key} condition that restricts nothing: {key} is multi-valued (To, CC "
                         f"and BCC), so an Allow must use ForAllValues:StringLike, ForAllValues:StringEquals or "
                         f"ForAllValues:StringEqualsIgnoreCase and a Deny ForAnyValue:StringNotLike, "
                         f"ForAnyValue:StringNotEquals or ForAnyValue:StringNotEqualsIgnoreCase; a pattern that "
                         f"admits domains anyone can register (a wildcard in the domain, a public suffix, no @), an "
                         f"exact value that is not a full address, or a template placeholder left in also "
                         f"restricts nothing."),
            severity=Severity.DENY, attested_severity=None, considerations=cond_refs,
            remediation=(f"In an Allow use ForAllValues:StringLike on {key}; in a Deny use "
                         f"ForAnyValue:StringNotLike; list only your trusted domains, with placeholders replaced."),
            related_resources=cond_urls,
            failing=Example("StringLike lets any extra recipient through",
                            (identity(allow([send_one], {"StringLike": {key: ["*@example.com"]}})),)),
            passing=Example("ForAllValues:StringLike restricts every recipient",
                            (identity(allow([send_one], trusted)),)),
        ),
        Rule(
            id="SES-003", slug="ses_003", template="ses_003.rego.j2",
            title=f"{', '.join(admin_only)} allowed to non-administrators",
            description=(f"An identity or resource policy allows {', '.join(admin_only)} (explicitly, by wildcard "
                         f"or through NotAction, in some API version, and not removed by a Deny in its scope) to "
                         f"principals that are not configured as administrators. The guidance recommends keeping it "
                         f"for administrators only."),
            severity=Severity.WARN, attested_severity=None, considerations=admin_refs,
            remediation=(f"Remove {', '.join(admin_only)} from the policy (narrow ses:* and ses:Send* wildcards), "
                         f"or list the principal in config.administrators if it is an administrator."),
            related_resources=admin_urls,
            failing=Example("a wildcard that includes custom verification emails",
                            (identity(allow(["ses:Send*"], trusted)),)),
            passing=Example("only the send actions, restricted to trusted recipients",
                            (identity(allow(all_send, trusted)),)),
        ),
        Rule(
            id="SES-004", slug="ses_004", template="ses_004.rego.j2",
            title=f"Resource perimeter SCP without the SES {key} control",
            description=(f"The plan holds a resource-perimeter SCP (a Deny on every action and resource unless "
                         f"aws:ResourceOrgID, aws:ResourceOrgPaths or aws:ResourceAccount is trusted), but its SCPs "
                         f"do not deny every recipient-controlled send action ({', '.join(all_send)}, per API "
                         f"version) to untrusted recipients, with an effective {key} condition or altogether, so the "
                         f"perimeter does not cover mail to untrusted recipients."),
            severity=Severity.DENY, attested_severity=None, considerations=cond_refs,
            remediation=(f"Attach an SCP with AWS's PreventUntrustedSESv1Emails and PreventUntrustedSESv2Emails "
                         f"statements (ForAnyValue:StringNotLike on {key}, one per {API_VERSION_KEY}), or attest "
                         f"with config.scp_attested that they are enforced elsewhere."),
            related_resources=tuple(sorted(set(cond_urls) | {PERIMETER_SCP})),
            failing=Example("a resource perimeter alone", (perimeter,)),
            passing=Example("the perimeter with AWS's recommended SES statements", (perimeter, recommended)),
        ),
        Rule(
            id="SES-005", slug="ses_005", template="ses_005.rego.j2",
            title="SCP recipient control limited to one SES API version",
            description=(f"An SCP's {key} control is limited by {API_VERSION_KEY} to some API versions, and no other "
                         f"SCP statement covers the send actions of the others, so mail sent through the other API "
                         f"version escapes the control."),
            severity=Severity.DENY, attested_severity=None, considerations=cond_refs,
            remediation=(f"Add the matching statement for the other API version (AWS's reference SCP has one per "
                         f"{API_VERSION_KEY}), or drop the {API_VERSION_KEY} condition."),
            related_resources=cond_urls,
            failing=Example(f"only the API v{first} statement",
                            (ExamplePolicy("scp", _policy(recipient_deny(first))),)),
            passing=Example("one statement per API version", (recipients_only,)),
        ) if rest else None,
        Rule(
            id="SES-006", slug="ses_006", template="ses_006.rego.j2",
            title=f"Resource perimeter SCP without the {', '.join(admin_only)} control",
            description=(f"The plan holds a resource-perimeter SCP, but no SCP denies {', '.join(admin_only)}, in "
                         f"every API version and on every resource, to everyone except administrators (a Deny whose "
                         f"conditions only exempt principals)."),
            severity=Severity.DENY, attested_severity=None, considerations=admin_refs,
            remediation=(f"Attach AWS's PreventUntrustedSESVerificationEmails statement: Deny {', '.join(admin_only)} "
                         f"unless aws:PrincipalTag/dp:exclude:resource is \"true\"."),
            related_resources=tuple(sorted(set(admin_urls) | {PERIMETER_SCP})),
            failing=Example("the perimeter with only the recipient statements", (perimeter, recipients_only)),
            passing=Example("the perimeter with AWS's recommended SES statements", (perimeter, recommended)),
        ),
        Rule(
            id="SES-007", slug="ses_007", template="ses_007.rego.j2",
            title="Policy cannot be verified",
            description=("A policy cannot be verified: it is unknown at plan time as a whole, not valid JSON or not "
                         "an IAM policy, or a rule's verdict on it depends on values unknown until apply (then the "
                         "finding names the undecided statement, the actions, the rules and the expressions they "
                         "depend on), or the .tf reader could not read configuration that may hold policies "
                         "(policy_kind \"unknown\"). It is never treated as a pass. A resource control policy "
                         "never affects an SES verdict and never gets it."),
            severity=Severity.WARN, attested_severity=None, considerations=(),
            remediation=("Render the policy from values known at plan time (for example an aws_iam_policy_document "
                         "without depends_on), or review it by hand and waive the finding."),
            related_resources=(),
            failing=Example("a policy known only after apply", (ExamplePolicy("identity", None),)),
            passing=Example("a policy known at plan time", (identity(allow([send_one], trusted)),)),
        ),
        Rule(
            id="SES-008", slug="ses_008", template="ses_008.rego.j2",
            title="Unknown SES action name",
            description=("A policy names an ses: action that matches no action of any SES catalog (SES v1, v2, "
                         "Mail Manager, Pinpoint Email), or uses a lookalike of the ses: prefix such as sesv2:, "
                         "ses-v2: or ses2: (SES v2 actions use ses:). A typo grants nothing in an Allow and, worse, "
                         "protects nothing in a Deny."),
            severity=Severity.WARN, attested_severity=None, considerations=(),
            remediation=("Correct the action name; `sesrego actions PATTERN` lists the SES actions a name or wildcard "
                         "matches in every catalog, and suggests the closest names."),
            related_resources=(),
            failing=Example("a misspelt action", (identity(allow([send_one[:-2] + send_one[-1:]], trusted)),)),
            passing=Example("the correct action", (identity(allow([send_one], trusted)),)),
        ),
    )
    return tuple(rule for rule in rules if rule is not None)
