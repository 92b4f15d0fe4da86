"""Pass 3: the rules, one unit each, in the order of :data:`RULES`.

A rule unit is a function of the :class:`RuleContext` (the facts, the guidance, and the example
policies built from them) that returns the whole :class:`~sesrego.model.Rule`: its id, texts,
severity, the guidance considerations it implements, its failing and passing examples, the library
packages its Rego imports and the facts its verdicts read. A unit returns None when the sources
leave its rule nothing to check. Its Rego is ``rego_templates/rules/<slug>.rego.j2``; rendering
(:mod:`sesrego.render`) and drift (:mod:`sesrego.drift`) read everything else from the unit.

Adding a rule: a unit here and its place in :data:`RULES`, its template, its tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..model import ControlKind, Example, ExamplePolicy, Facts, Guidance, Rule, Severity
from .facts import API_VERSION_KEY, DEFAULT_RECIPIENT_KEY, considerations_of

PERIMETER_SCP = ("https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/"
                 "service_control_policies/resource_perimeter_scp.json")

#: The library packages a rule's Rego imports: most read the plan's statements, the SCP rules the
#: organization's SCP coverage (sesrego.lib.scp), and SES-007, which judges no statement itself, both.
_IMPORTS = ("config", "finding", "iam", "plan")
_SCP_IMPORTS = ("config", "finding", "iam", "scp")
_UNVERIFIABLE_IMPORTS = ("config", "finding", "plan", "scp")

#: Facts that every rule judging grants or guards reads: versions, keys, resource scope; and the
#: Public Suffix List, which decides whether a recipient pattern is effective.
_SCOPE = ("api_version_key", "api_versions", "arn_shapes", "recipient_key", "recipient_key_actions", "resource_types")
_SUFFIXES = ("public_suffix_parents", "public_suffixes")


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What every rule unit is built from: the facts, the guidance, and the names and example
    policies derived from them."""

    facts: Facts
    guidance: tuple[Guidance, ...]
    key: str  # the recipient condition key as the guidance spells it (ses:Recipients)

    @classmethod
    def of(cls, facts: Facts, guidance: Sequence[Guidance]) -> RuleContext:
        key = next((c.control.condition_key for _, c in considerations_of(guidance, ControlKind.CONDITION_KEY)),
                   DEFAULT_RECIPIENT_KEY)
        return cls(facts, tuple(guidance), key)

    # --- names ---------------------------------------------------------------------------------

    def send_actions(self, version: str) -> list[str]:
        """The send actions of an API version, as the catalogs spell them."""
        return [self.facts.display(action) for action in self.facts.send_actions[version]]

    @property
    def all_send(self) -> tuple[str, ...]:
        return tuple(sorted({name for version in self.facts.api_versions for name in self.send_actions(version)}))

    @property
    def admin_only(self) -> tuple[str, ...]:
        return tuple(sorted({self.facts.display(action) for version in self.facts.api_versions
                             for action in self.facts.admin_only_actions[version]}))

    @property
    def send_one(self) -> str:
        """The send action the examples use."""
        return "ses:SendEmail" if "ses:SendEmail" in self.all_send or not self.all_send else self.all_send[0]

    def _refs(self, kind: ControlKind) -> tuple[str, ...]:
        return tuple(sorted(c.ref for _, c in considerations_of(self.guidance, kind)))

    def _urls(self, kind: ControlKind) -> tuple[str, ...]:
        urls = {doc.url for doc, _ in considerations_of(self.guidance, kind)}
        urls |= {c.control.example_policy for _, c in considerations_of(self.guidance, kind)
                 if c.control.example_policy}
        return tuple(sorted(urls))

    @property
    def recipient_refs(self) -> tuple[str, ...]:
        return self._refs(ControlKind.CONDITION_KEY)

    @property
    def admin_refs(self) -> tuple[str, ...]:
        return self._refs(ControlKind.ADMIN_ONLY)

    @property
    def recipient_urls(self) -> tuple[str, ...]:
        return self._urls(ControlKind.CONDITION_KEY)

    @property
    def admin_urls(self) -> tuple[str, ...]:
        return self._urls(ControlKind.ADMIN_ONLY)

    # --- example policies ---------------------------------------------------------------------

    @property
    def trusted(self) -> dict:
        """A condition restricting recipients to the organization's domain."""
        return {"ForAllValues:StringLike": {self.key: ["*@example.com"]}}

    @staticmethod
    def allow(actions: Sequence[str], condition: dict | None = None) -> dict:
        statement = {"Sid": "SendMail", "Effect": "Allow", "Action": list(actions), "Resource": "*"}
        if condition:
            statement["Condition"] = condition
        return statement

    @staticmethod
    def identity(*statements: dict) -> ExamplePolicy:
        return ExamplePolicy("identity", _policy(*statements))

    def recipient_deny(self, version: str) -> dict:
        """AWS's PreventUntrustedSESv<N>Emails SCP statement."""
        return {
            "Sid": f"PreventUntrustedSESv{version}Emails", "Effect": "Deny", "Action": self.send_actions(version),
            "Resource": "*",
            "Condition": {"ForAnyValue:StringNotLike": {self.key: ["*@example.com"]},
                          "StringEquals": {API_VERSION_KEY: version},
                          "StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}},
        }

    @property
    def perimeter(self) -> ExamplePolicy:
        """AWS's resource-perimeter SCP statement."""
        return ExamplePolicy("scp", _policy({
            "Sid": "EnforceResourcePerimeterAWSResources", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:ResourceOrgID": "o-a1b2c3d4e5",
                                                      "aws:PrincipalTag/dp:exclude:resource": "true"}}}))

    @property
    def recipients_only(self) -> ExamplePolicy:
        """An SCP with the recipient statement of every API version."""
        return ExamplePolicy("scp", _policy(*(self.recipient_deny(v) for v in self.facts.api_versions)))

    @property
    def recommended(self) -> ExamplePolicy:
        """AWS's recommended SES SCP: the recipient statements and the administrator statement."""
        admin_deny = {"Sid": "PreventUntrustedSESVerificationEmails", "Effect": "Deny",
                      "Action": list(self.admin_only), "Resource": "*",
                      "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalTag/dp:exclude:resource": "true"}}}
        return ExamplePolicy("scp", _policy(*(self.recipient_deny(v) for v in self.facts.api_versions), admin_deny))


# --- the rules -----------------------------------------------------------------------------------


def ses_001(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-001",
        title=f"SES sending allowed without a {ctx.key} restriction",
        description=(f"An identity or resource policy allows {', '.join(ctx.all_send)} without any {ctx.key} "
                     f"condition, and no Deny in its scope denies those actions (per API version and resource) "
                     f"to untrusted recipients or altogether, so the principal can mail any address: SES sends "
                     f"outside IAM, and the aws:ResourceOrgID resource perimeter does not restrict the "
                     f"recipients."),
        severity=Severity.WARN, attested_severity=Severity.INFO, considerations=ctx.recipient_refs,
        remediation=(f"Add \"Condition\": {{\"ForAllValues:StringLike\": {{\"{ctx.key}\": [\"*@<your domain>\"]}}}} "
                     f"to the Allow, or deny untrusted recipients in an SCP and attest it with "
                     f"config.scp_attested."),
        related_resources=ctx.recipient_urls,
        failing=Example("an application policy that may mail anyone", (ctx.identity(ctx.allow([ctx.send_one])),)),
        passing=Example("the same policy restricted to the organization's domain",
                        (ctx.identity(ctx.allow([ctx.send_one], ctx.trusted)),)),
        imports=_IMPORTS,
        reads_facts=(*_SCOPE, "considerations", *_SUFFIXES, "send_actions", "tracked_actions"),
    )


def ses_002(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-002",
        title=f"Ineffective {ctx.key} condition",
        description=(f"A policy carries a {ctx.key} condition that restricts nothing: {ctx.key} is multi-valued "
                     f"(To, CC and BCC), so an Allow must use ForAllValues:StringLike, ForAllValues:StringEquals or "
                     f"ForAllValues:StringEqualsIgnoreCase and a Deny ForAnyValue:StringNotLike, "
                     f"ForAnyValue:StringNotEquals or ForAnyValue:StringNotEqualsIgnoreCase; a pattern that "
                     f"admits domains anyone can register (a wildcard in the domain, a public suffix, no @), an "
                     f"exact value that is not a full address, or a template placeholder left in also "
                     f"restricts nothing."),
        severity=Severity.DENY, attested_severity=None, considerations=ctx.recipient_refs,
        remediation=(f"In an Allow use ForAllValues:StringLike on {ctx.key}; in a Deny use "
                     f"ForAnyValue:StringNotLike; list only your trusted domains, with placeholders replaced."),
        related_resources=ctx.recipient_urls,
        failing=Example("StringLike lets any extra recipient through",
                        (ctx.identity(ctx.allow([ctx.send_one], {"StringLike": {ctx.key: ["*@example.com"]}})),)),
        passing=Example("ForAllValues:StringLike restricts every recipient",
                        (ctx.identity(ctx.allow([ctx.send_one], ctx.trusted)),)),
        imports=_IMPORTS,
        reads_facts=(*_SUFFIXES, "recipient_key", "tracked_actions"),
    )


def ses_003(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-003",
        title=f"{', '.join(ctx.admin_only)} allowed to non-administrators",
        description=(f"An identity or resource policy allows {', '.join(ctx.admin_only)} (explicitly, by wildcard "
                     f"or through NotAction, in some API version, and not removed by a Deny in its scope) to "
                     f"principals that are not configured as administrators. The guidance recommends keeping it "
                     f"for administrators only."),
        severity=Severity.WARN, attested_severity=None, considerations=ctx.admin_refs,
        remediation=(f"Remove {', '.join(ctx.admin_only)} from the policy (narrow ses:* and ses:Send* wildcards), "
                     f"or list the principal in config.administrators if it is an administrator."),
        related_resources=ctx.admin_urls,
        failing=Example("a wildcard that includes custom verification emails",
                        (ctx.identity(ctx.allow(["ses:Send*"], ctx.trusted)),)),
        passing=Example("only the send actions, restricted to trusted recipients",
                        (ctx.identity(ctx.allow(list(ctx.all_send), ctx.trusted)),)),
        imports=_IMPORTS,
        reads_facts=(*_SCOPE, "admin_only_actions", "considerations", *_SUFFIXES, "tracked_actions"),
    )


def ses_004(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-004",
        title=f"Resource perimeter SCP without the SES {ctx.key} control",
        description=(f"The plan holds a resource-perimeter SCP (a Deny on every action and resource unless "
                     f"aws:ResourceOrgID, aws:ResourceOrgPaths or aws:ResourceAccount is trusted), but its SCPs "
                     f"do not deny every recipient-controlled send action ({', '.join(ctx.all_send)}, per API "
                     f"version) to untrusted recipients, with an effective {ctx.key} condition or altogether, so the "
                     f"perimeter does not cover mail to untrusted recipients."),
        severity=Severity.DENY, attested_severity=None, considerations=ctx.recipient_refs,
        remediation=(f"Attach an SCP with AWS's PreventUntrustedSESv1Emails and PreventUntrustedSESv2Emails "
                     f"statements (ForAnyValue:StringNotLike on {ctx.key}, one per {API_VERSION_KEY}), or attest "
                     f"with config.scp_attested that they are enforced elsewhere."),
        related_resources=tuple(sorted(set(ctx.recipient_urls) | {PERIMETER_SCP})),
        failing=Example("a resource perimeter alone", (ctx.perimeter,)),
        passing=Example("the perimeter with AWS's recommended SES statements", (ctx.perimeter, ctx.recommended)),
        imports=_SCP_IMPORTS,
        reads_facts=(*_SCOPE, "considerations", *_SUFFIXES, "send_actions", "tracked_actions"),
    )


def ses_005(ctx: RuleContext) -> Rule | None:
    if len(ctx.facts.api_versions) < 2:
        return None  # one API version: nothing to leave out
    first = ctx.facts.api_versions[0]
    return Rule(
        id="SES-005",
        title="SCP recipient control limited to one SES API version",
        description=(f"An SCP's {ctx.key} control is limited by {API_VERSION_KEY} to some API versions, and no other "
                     f"SCP statement covers the send actions of the others, so mail sent through the other API "
                     f"version escapes the control."),
        severity=Severity.DENY, attested_severity=None, considerations=ctx.recipient_refs,
        remediation=(f"Add the matching statement for the other API version (AWS's reference SCP has one per "
                     f"{API_VERSION_KEY}), or drop the {API_VERSION_KEY} condition."),
        related_resources=ctx.recipient_urls,
        failing=Example(f"only the API v{first} statement",
                        (ExamplePolicy("scp", _policy(ctx.recipient_deny(first))),)),
        passing=Example("one statement per API version", (ctx.recipients_only,)),
        imports=_SCP_IMPORTS,
        reads_facts=(*_SCOPE, "considerations", *_SUFFIXES, "send_actions", "tracked_actions"),
    )


def ses_006(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-006",
        title=f"Resource perimeter SCP without the {', '.join(ctx.admin_only)} control",
        description=(f"The plan holds a resource-perimeter SCP, but no SCP denies {', '.join(ctx.admin_only)}, in "
                     f"every API version and on every resource, to everyone except administrators (a Deny whose "
                     f"conditions only exempt principals)."),
        severity=Severity.DENY, attested_severity=None, considerations=ctx.admin_refs,
        remediation=(f"Attach AWS's PreventUntrustedSESVerificationEmails statement: Deny {', '.join(ctx.admin_only)} "
                     f"unless aws:PrincipalTag/dp:exclude:resource is \"true\"."),
        related_resources=tuple(sorted(set(ctx.admin_urls) | {PERIMETER_SCP})),
        failing=Example("the perimeter with only the recipient statements", (ctx.perimeter, ctx.recipients_only)),
        passing=Example("the perimeter with AWS's recommended SES statements", (ctx.perimeter, ctx.recommended)),
        imports=_SCP_IMPORTS,
        reads_facts=(*_SCOPE, "admin_only_actions", "considerations", "send_actions", "tracked_actions"),
    )


def ses_007(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-007",
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
        passing=Example("a policy known at plan time", (ctx.identity(ctx.allow([ctx.send_one], ctx.trusted)),)),
        imports=_UNVERIFIABLE_IMPORTS,
        reads_facts=(),
    )


def ses_008(ctx: RuleContext) -> Rule:
    return Rule(
        id="SES-008",
        title="Unknown SES action name",
        description=("A policy names an ses: action that matches no action of any SES catalog (SES v1, v2, "
                     "Mail Manager, Pinpoint Email), or uses a lookalike of the ses: prefix such as sesv2:, "
                     "ses-v2: or ses2: (SES v2 actions use ses:). A typo grants nothing in an Allow and, worse, "
                     "protects nothing in a Deny."),
        severity=Severity.WARN, attested_severity=None, considerations=(),
        remediation=("Correct the action name; `sesrego actions PATTERN` lists the SES actions a name or wildcard "
                     "matches in every catalog, and suggests the closest names."),
        related_resources=(),
        failing=Example("a misspelt action",
                        (ctx.identity(ctx.allow([ctx.send_one[:-2] + ctx.send_one[-1:]], ctx.trusted)),)),
        passing=Example("the correct action", (ctx.identity(ctx.allow([ctx.send_one], ctx.trusted)),)),
        imports=_IMPORTS,
        reads_facts=("actions",),
    )


#: Every rule, in order: SES-001 ... SES-008. Ids are never renamed (users put them in waivers).
RULES: tuple[Callable[[RuleContext], Rule | None], ...] = (
    ses_001, ses_002, ses_003, ses_004, ses_005, ses_006, ses_007, ses_008,
)


def build_rules(facts: Facts, guidance: Sequence[Guidance]) -> tuple[Rule, ...]:
    """The rules of :data:`RULES` the sources give something to check, in order."""
    context = RuleContext.of(facts, guidance)
    return tuple(rule for rule in (unit(context) for unit in RULES) if rule is not None)
