"""A brute-force IAM evaluator for SES requests: the independent oracle for the rules' verdicts.

Written from the IAM evaluation rules (FORMATS.md b10: the IAM User Guide's policy-evaluation,
condition-operator, multi-valued-key, Resource/NotResource and Action pages), not from the Rego.
It evaluates statements against concrete requests, over a finite set of requests built so that every
value the generated policies name, and a fresh value none names, is tried: a recipient list with an
untrusted address, each API version, identities and templates in named and fresh regions, accounts
and names, principals with and without tags.

What counts as an escape (the questions the rules answer):
- send: a principal that no exemption names sends a recipient-controlled send action to a list
  holding an untrusted address, and the policies allow it;
- verify: such a principal sends SendCustomVerificationEmail at all.
A principal is "named by an exemption" (an administrator, in the rules' words) when a Deny's negated
condition on a principal key other than aws:PrincipalOrgID/aws:PrincipalOrgPaths does not hold for
it: the policy author singled it out. That is the rules' definition of an administrator, so the
oracle asks about everyone else.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache

# Catalog facts (FORMATS.md b8, b10): the tracked actions per API version and what they authorize on.
SEND = {"1": ("ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail"),
        "2": ("ses:SendEmail",)}
VERIFY = {"1": "identity", "2": "custom-verification-email-template"}  # SendCustomVerificationEmail

ORG = "o-a1b2c3d4e5"
# Each value a generated policy may name, and one it never names (a policy naming only the first
# region cannot cover the second).
REGIONS = ("us-east-1", "us-west-2", "ap-south-2")
ACCOUNTS = ("111122223333", "999999999999")
IDENTITIES = ("example.com", "fresh.net")
TEMPLATES = ("welcome", "fresh-template")
FROM = ("noreply@example.com", "fresh@fresh.net")
# Recipients: the generated patterns trust example.com and example.org (and their subdomains); each
# untrusted address is one that some ineffective pattern admits.
TRUSTED = ("ops@example.com", "x@sub.example.com", "a@example.org", "OPS@example.com")
UNTRUSTED = ("evil@attacker.net", "x@example.com.attacker.net", "x@attackerexample.com", "x@exampla.com",
             "x@example.net", "x@attacker.com")


@dataclass(frozen=True)
class Principal:
    arn: str
    account: str
    tags: tuple[tuple[str, str], ...] = ()
    org: str = ORG

    def context(self) -> dict[str, object]:
        values: dict[str, object] = {"aws:principalarn": self.arn, "aws:principalaccount": self.account,
                                     "aws:principalorgid": self.org, "aws:principalorgpaths": [f"{self.org}/r-root/"],
                                     "aws:principalisawsservice": "false", "aws:principaltype": "AssumedRole"}
        values.update({f"aws:principaltag/{k.lower()}": v for k, v in self.tags})
        return values


# Principals that together satisfy every principal condition the generators write, so that an Allow's
# principal condition always fits someone; a Deny's exemption takes out the ones it names. The last is
# outside the organization, which an SCP never governs (it only meets identity and resource policies).
PRINCIPALS = (
    Principal("arn:aws:iam::111122223333:role/app", "111122223333"),
    Principal("arn:aws:iam::111122223333:role/intern-tools", "111122223333", (("team", "interns"),)),
    Principal("arn:aws:iam::111122223333:role/admin-ops", "111122223333",
              (("dp:exclude:resource", "true"), ("team", "true"))),
    Principal("arn:aws:iam::444455556666:role/worker", "444455556666", (("dp:exclude:resource", "false"),)),
    Principal("arn:aws:iam::777788889999:role/partner", "777788889999", org="o-other0000"),
)


@dataclass(frozen=True)
class Request:
    action: str
    version: str
    resource: str
    recipients: tuple[str, ...]
    sender: str
    principal: Principal
    context: dict = field(hash=False, compare=False)


def _arn(region: str, account: str, resource: str) -> str:
    return f"arn:aws:ses:{region}:{account}:{resource}"


def _requests(actions: list[tuple[str, str, str]], recipient_lists) -> list[Request]:
    out = []
    for (action, version, resource_type), region, account, principal, sender, recipients in itertools.product(
            actions, REGIONS, ACCOUNTS, PRINCIPALS, FROM, recipient_lists):
        names = IDENTITIES if resource_type == "identity" else TEMPLATES
        for name in names:
            arn = _arn(region, account, f"{resource_type}/{name}")
            context = dict(principal.context())
            context.update({"ses:apiversion": version, "ses:fromaddress": sender, "aws:requestedregion": region,
                            "aws:resourceaccount": account, "aws:resourceorgid": ORG})
            if recipients is not None:
                context["ses:recipients"] = list(recipients)
            out.append(Request(action, version, arn, recipients or (), sender, principal, context))
    return out


@lru_cache(maxsize=1)
def send_requests() -> tuple[Request, ...]:
    """Every tracked send, to a list that holds an untrusted address."""
    lists = [(u,) for u in UNTRUSTED] + [(TRUSTED[0], UNTRUSTED[0]), (TRUSTED[1], TRUSTED[2], UNTRUSTED[1])]
    actions = [(a, v, "identity") for v, names in SEND.items() for a in names]
    return tuple(_requests(actions, lists))


@lru_cache(maxsize=1)
def verify_requests() -> tuple[Request, ...]:
    """Every SendCustomVerificationEmail (API v2 has no ses:Recipients key)."""
    lists = [(t,) for t in TRUSTED] + [(UNTRUSTED[0],)]
    out = list(_requests([("ses:SendCustomVerificationEmail", "1", "identity")], lists))
    out += _requests([("ses:SendCustomVerificationEmail", "2", VERIFY["2"])], [None])
    return tuple(out)


# --- matching ---------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _glob(pattern: str, *, ignore_case: bool = False, stop: str = "") -> re.Pattern:
    """IAM's * and ? (nothing else is special); with ``stop``, a wildcard never spans that character."""
    any_run, any_one = (f"[^{re.escape(stop)}]*", f"[^{re.escape(stop)}]") if stop else (".*", ".")
    body = "".join(any_run if c == "*" else any_one if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.S | (re.I if ignore_case else 0))


def action_matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern, ignore_case=True).match(action))


@lru_cache(maxsize=4096)
def _resource_regex(pattern: str) -> re.Pattern:
    """Resource ARN matching: wildcards stay inside a segment, except a * that ends one (it may span colons)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            ends_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if ends_segment else "[^:]*")
        elif c == "?":
            out.append("[^:]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.S)


def resource_matches(pattern: str, arn: str) -> bool:
    return bool(_resource_regex(pattern).match(arn))


def _arn_matches(pattern: str, value: str) -> bool:
    """ArnEquals and ArnLike: each of the six colon-separated parts is matched on its own."""
    parts, values = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(values) == 6 and all(_glob(p).match(v) for p, v in zip(parts, values))


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


_STRING = {
    "StringEquals": lambda v, r: v == r,
    "StringEqualsIgnoreCase": lambda v, r: v.lower() == r.lower(),
    "StringLike": lambda v, r: bool(_glob(v).match(r)),
    "ArnEquals": _arn_matches,
    "ArnLike": _arn_matches,
    "Bool": lambda v, r: v.lower() == r.lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


class Unsupported(Exception):
    """An operator the oracle does not model (the generators never produce one)."""


def condition_holds(operator: str, key: str, values, context: dict) -> bool:
    """One operator, one key: values are ORed, NORed under a negated operator; set operators and IfExists."""
    set_operator = None
    if operator.startswith("ForAllValues:"):
        set_operator, operator = "all", operator[len("ForAllValues:"):]
    elif operator.startswith("ForAnyValue:"):
        set_operator, operator = "any", operator[len("ForAnyValue:"):]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator[:-len("IfExists")] if if_exists else operator
    policy_values = [_text(v) for v in (values if isinstance(values, list) else [values])]
    request = context.get(key.lower())
    if base == "Null":
        if len(policy_values) != 1 or policy_values[0].lower() not in ("true", "false"):
            raise Unsupported(f"Null {policy_values}")
        return (request is None) == (policy_values[0].lower() == "true")
    negated = base in _NEGATED
    test = _STRING.get(_NEGATED.get(base, base))
    if test is None:
        raise Unsupported(base)
    if request is None or request == []:
        if if_exists:
            return True
        if set_operator == "all":
            return True
        if set_operator == "any":
            return False
        return negated  # a missing key: positive operators are false, negated ones true
    requests = request if isinstance(request, list) else [request]

    def one(value: str) -> bool:
        matched = any(test(v, value) for v in policy_values)
        return not matched if negated else matched

    if set_operator == "all":
        return all(one(r) for r in requests)
    # ForAnyValue, and (an assumption: IAM leaves it unconfirmed) a plain operator on a multi-valued key.
    return any(one(r) for r in requests)


def conditions_hold(condition, context: dict) -> bool:
    """Every operator and every key under it must hold (AND)."""
    if not condition:
        return True
    return all(condition_holds(operator, key, values, context)
               for operator, keys in condition.items() for key, values in keys.items())


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def applies(statement: dict, request: Request) -> bool:
    """Whether a statement matches a request: action, resource and conditions."""
    if "NotAction" in statement:
        if any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(action_matches(p, request.action) for p in _as_list(statement.get("Action", []))):
        return False
    if "NotResource" in statement:
        if any(resource_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
            return False
    elif "Resource" in statement:
        if not any(resource_matches(p, request.resource) for p in _as_list(statement["Resource"])):
            return False
    return conditions_hold(statement.get("Condition"), request.context)


def decide(statements: list[dict], request: Request, *, allow_all: bool = False) -> bool:
    """IAM's decision for one set of policies: an explicit Deny wins, else some Allow (or an implicit
    FullAWSAccess for an SCP, ``allow_all``) is needed."""
    if any(s["Effect"] == "Deny" and applies(s, request) for s in statements):
        return False
    return allow_all or any(s["Effect"] == "Allow" and applies(s, request) for s in statements)


# --- who an exemption names ----------------------------------------------------------------------------

_PRINCIPAL_KEYS = ("aws:principal", "aws:userid", "aws:username", "aws:sourceidentity")


def exempted(principal: Principal, statements: list[dict]) -> bool:
    """Whether a Deny singles this principal out with a negated principal condition (or
    Bool aws:PrincipalIsAWSService "false", which names AWS services, none of these principals)."""
    context = principal.context()
    for statement in statements:
        if statement["Effect"] != "Deny":
            continue
        for operator, keys in (statement.get("Condition") or {}).items():
            base = operator[:-len("IfExists")] if operator.endswith("IfExists") else operator
            for key, values in keys.items():
                lowered = key.lower()
                if not lowered.startswith(_PRINCIPAL_KEYS) or lowered in ("aws:principalorgid", "aws:principalorgpaths"):
                    continue
                if base in _NEGATED and not condition_holds(operator, key, values, context):
                    return True
    return False


# --- the questions ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Escape:
    request: Request
    allows: tuple[int, ...]  # indexes of the Allow statements that grant it (identity policies)


def _escape(statements: list[dict], requests, *, allow_all: bool) -> Escape | None:
    for request in requests:
        if exempted(request.principal, statements) or (allow_all and request.principal.org != ORG):
            continue
        if decide(statements, request, allow_all=allow_all):
            allows = tuple(i for i, s in enumerate(statements) if s["Effect"] == "Allow" and applies(s, request))
            return Escape(request, allows)
    return None


def send_escape(statements: list[dict], *, scp: bool = False) -> Escape | None:
    """A send to an untrusted recipient that the policies allow (an SCP allows what it does not deny)."""
    return _escape(statements, send_requests(), allow_all=scp)


def verify_escape(statements: list[dict], *, scp: bool = False) -> Escape | None:
    """A custom verification email that the policies allow to a principal no exemption names."""
    return _escape(statements, verify_requests(), allow_all=scp)
