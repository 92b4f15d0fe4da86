"""How the rules read IAM policies: the decisions they rest on, for the rule reference.

Each item is a title, a text (markdown) and the rules it explains; ``docs/rules.md`` and
``sesrego rules`` print them. A few texts name facts of the sources (the resource types).
"""

from __future__ import annotations

from ..model import Facts

#: A semantics item of the rule reference: its title, its text (markdown) and the rules it explains.
Semantics = tuple[str, str, tuple[str, ...]]

#: The rules that read recipient-controlled send actions.
_ALL_SEND = ("SES-001", "SES-004", "SES-005")
#: The rules that read grants, guards and scopes.
_GUARDED = ("SES-001", "SES-003", "SES-004", "SES-005", "SES-006")


def semantics(facts: Facts) -> tuple[Semantics, ...]:
    """How the rules read IAM policies, for the rule reference (``docs/rules.md``, ``sesrego rules``)."""
    types = "; ".join(
        f"API v{version}: " + ", ".join(f"{facts.display(action)} on `{'`, `'.join(names)}`"
                                        for action, names in sorted(per_action.items()))
        for version, per_action in sorted(facts.resource_types.items()))
    return (*_conditions("ses:Recipients"), *_principals_and_scope(types), *_perimeters_and_unknowns())


def _conditions(key: str) -> tuple[Semantics, ...]:
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
         ("SES-002",) + _ALL_SEND),
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
    )


def _principals_and_scope(types: str) -> tuple[Semantics, ...]:
    return (
        ("What an exemption is",
         "A condition exempts principals from a Deny, which then still applies to everyone else, when it is a "
         "negated operator (`StringNotEquals*`, `StringNotLike*`, `ArnNotEquals*`, `ArnNotLike*`) on a principal "
         "key (`aws:PrincipalArn`, `aws:PrincipalTag/…`, `aws:PrincipalAccount`, …), or "
         "`Bool`/`BoolIfExists {\"aws:PrincipalIsAWSService\": \"false\"}`, which exempts AWS services. A "
         "positive condition on a principal key (`StringEquals aws:PrincipalTag/team: interns`) selects the only "
         "principals the Deny hits, so it is no control. A negated `aws:PrincipalOrgID` or "
         "`aws:PrincipalOrgPaths` exempts every principal of the organization (every principal an SCP governs), "
         "so it is no control either, nor is a negated glob whose value matches every principal ARN, account or "
         "user ID (`StringNotLike {\"aws:PrincipalArn\": \"*\"}`, `ArnNotLike arn:aws:iam::*:*`).",
         _GUARDED),
        ("Resource scope",
         f"Each action authorizes on the resource types its catalog lists for that API version ({types}); SES "
         "ARNs are `arn:${Partition}:ses:${Region}:${Account}:<type>/<name>`. An Allow grants an action only where "
         "its `Resource` may match those ARNs (`arn:aws:s3:::bucket` grants no SES send). A Deny covers an action "
         "when its `Resource` matches every ARN of the type (`*`, `arn:aws:ses:*:*:identity/*`, "
         "`arn:aws:ses:*:*:*`, in any partition), when its `NotResource` cannot match the type's ARNs (AWS's "
         "perimeter SCP uses `NotResource`), or, in the same policy, when it matches every ARN the guarded "
         "Allow's `Resource` can match. In a resource policy the Deny's `Principal` must also cover the Allow's: "
         "`*` or `{\"AWS\": \"*\"}`, the same principals of the same type, or for an AWS principal its account "
         "(an account ID and `arn:aws:iam::<account>:root` name every principal of the account); a "
         "`{\"Service\": \"*\"}` covers every service principal and no AWS principal, and an Allow with "
         "`NotPrincipal` is covered only by a Deny on every principal. When coverage cannot be shown, the Deny "
         "does not count.",
         _GUARDED),
        ("API versions",
         "An Allow limited by `ses:ApiVersion` grants only those versions, and a Deny so limited covers only "
         "those: findings are computed per action and API version, from the statement's own versions. SES-004 "
         "keeps reporting each uncovered action per API version, next to SES-005 on the statement whose "
         "version limit leaves them out. API v2 `SendCustomVerificationEmail` has no `ses:Recipients` key, so "
         "there a condition on the key behaves as on a missing key: a Deny conditioned on recipients never "
         "blocks it, and `Null {\"ses:Recipients\": \"true\"}` does not take it out of an Allow.",
         _GUARDED),
        ("Which Denies count, and where",
         "A Deny with no condition, or only exemptions and `ses:ApiVersion`, removes what it covers: "
         "`Allow ses:*` with `Deny ses:Send*` gets no SES-001, nor SES-003 when the Deny also covers "
         "SendCustomVerificationEmail; in an SCP it is the strongest recipient control (SES-004, SES-005) and the "
         "administrator control (SES-006). A Deny counts for the Allows of its own policy, and for the inline "
         "policies of the same role, user or group (`aws_iam_role_policy`, a role's `inline_policy` blocks), "
         "joined by the principal's name or a configuration reference (`role = aws_iam_role.app.id`); when "
         "neither resolves, it does not count. A name that two principals of the plan share (IAM names are unique "
         "in an account, so they are in different accounts) joins neither; a reference still does. "
         "Managed policies keep the same-policy rule, because they can be attached outside the plan. "
         "An SCP's Deny counts for the whole organization; a resource control policy never does.",
         _GUARDED),
    )


def _perimeters_and_unknowns() -> tuple[Semantics, ...]:
    return (
        ("Administrators",
         "`config.administrators` patterns match the principal a policy is attached to: its role, user or group "
         "name; its ARN where the plan knows it, else `arn:aws:iam::<any account>:role<path><name>` (only an "
         "account wildcard matches), so ARN patterns work for roles created in the same plan; and its Terraform "
         "address. They never match the policy's own name. A managed policy (`aws_iam_policy`) is exempt only "
         "when the plan attaches it to at least one principal and every attachment is to an administrator "
         "(`aws_iam_*_policy_attachment`, `aws_iam_policy_attachment`, `managed_policy_arns`, "
         "`*_policy_attachments_exclusive`). A resource-policy statement is exempt only when every principal it "
         "grants to is an administrator. A principal named only during apply (a role with `name_prefix`, or an "
         "inline policy or attachment whose principal argument is unknown and names no resource of the plan) may "
         "be an administrator or not: with administrators configured, SES-003 is then undecided (SES-007 naming "
         "`<principal address>.name` or `<policy address>.<argument>`), unless its address is an administrator.",
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
         "when its content could change an SCP verdict. A policy unknown as a whole (its SES-007 says why) may "
         "hold any Deny: an SCP so unknown leaves SES-004, SES-005 and SES-006 undecided (no finding beside its "
         "SES-007), and an inline policy so unknown leaves the verdicts of its principal's other inline policies "
         "undecided (SES-007 on them, naming the expression). An SCP's SES-007 names its statement when only "
         "one is uncertain; with `config.scp_attested` it never names SES-004 or SES-006, which are then off.",
         ("SES-001", "SES-002", "SES-003", "SES-004", "SES-005", "SES-006", "SES-007")),
        ("Lookalike service prefixes",
         "IAM knows no `sesv2:`, `ses-v2:`, `SES_V1:` or `ses2:` prefix: SES v2 actions use `ses:`, so such names "
         "grant nothing and, in a Deny, protect nothing. A prefix is a lookalike when, compared "
         "case-insensitively, it is not `ses` but becomes `ses` once `-` and `_` and a trailing `v`+digits or "
         "digits are removed.",
         ("SES-008",)),
    )
