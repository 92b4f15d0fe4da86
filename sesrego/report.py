"""The result of a scan: what each input produced, and the exit status it implies.

Findings are the objects the Rego emits (``data.sesrego.findings``), unchanged. Besides them
each input carries what the engine counted (policies checked, unverifiable) and its waivers'
bookkeeping, so a clean result can be told apart from one that read nothing, and waivers that
expired or covered nothing are reported for clean-up.

Views (``--rule``, ``--skip-rule``, ``--min-severity``, ``--baseline``; see :mod:`sesrego.views`)
are applied to a report after evaluation: the findings they hide leave ``findings`` (baselined
ones move to ``baselined``), never count toward the exit status, and are counted in ``hidden``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

SEVERITY_ORDER = {"deny": 0, "warn": 1, "info": 2}
#: The views that hide findings, in the order they are applied (a finding is counted under the first).
VIEWS = ("rule", "skip_rule", "min_severity", "baseline")


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a report format needs to know about a rule (from its METADATA)."""

    id: str
    title: str
    description: str
    severity: str
    remediation: str
    help_uri: str


@dataclass(frozen=True, slots=True)
class InputResult:
    """One scanned input: a plan file, ``-`` (standard input) or a .tf root module."""

    path: str
    kind: str  # "plan" | "tf"
    findings: tuple[dict, ...] = ()
    error: str | None = None  # one line naming the file and problem
    locations: dict = field(default_factory=dict)  # address -> (file, line), for .tf inputs
    waived: tuple[dict, ...] = ()
    policies: int = 0  # policy attributes read
    unverifiable: int = 0  # of those, with an SES-007 finding (before waivers)
    warnings: tuple[str, ...] = ()  # one line each (the .tf reader's)
    waivers_used: tuple[dict, ...] = ()
    waivers_unused: tuple[dict, ...] = ()
    waivers_expired: tuple[dict, ...] = ()
    baselined: tuple[dict, ...] = ()  # findings a --baseline accepts: not reported, suppressed in SARIF


def _key(waiver: dict) -> str:
    return json.dumps(waiver, sort_keys=True)


def _comment(waiver: dict) -> tuple | None:
    """The inline comment (and rule) a waiver comes from; None for a configuration waiver."""
    if waiver.get("source") != "inline":
        return None
    return (waiver.get("file"), waiver.get("line"), waiver.get("rule_id"))


@dataclass(frozen=True, slots=True)
class ScanReport:
    inputs: tuple[InputResult, ...]
    rules: tuple[RuleInfo, ...]
    fail_on: str = "deny"  # "deny" | "warn"
    configuration: dict = field(default_factory=lambda: {"source": "none"})  # where data.sesrego.config came from
    hidden: Mapping[str, int] = field(default_factory=dict)  # view (one of VIEWS) -> findings it hid
    soft_fail: bool = False  # --soft-fail (or --write-baseline): findings never make the exit status 1
    base_dir: str | None = None  # --base-dir: file paths in the report are relative to it (else the cwd)
    views: Mapping[str, object] = field(default_factory=dict)  # the views applied, as given

    @property
    def findings(self) -> list[tuple[InputResult, dict]]:
        return [(result, finding) for result in self.inputs for finding in result.findings]

    def count(self, severity: str) -> int:
        return sum(1 for _, finding in self.findings if finding.get("severity") == severity)

    @property
    def failed_inputs(self) -> list[InputResult]:
        return [result for result in self.inputs if result.error]

    @property
    def waivers_expired(self) -> list[dict]:
        """Waivers past their expiry date, in any input: they no longer cover anything. An inline comment
        (one waiver per rule and module path) is named once, as for unused waivers."""
        found = {_key(w): w for result in self.inputs for w in result.waivers_expired}
        return sorted(_once_per_comment(found, set()), key=_key)

    @property
    def waivers_unused(self) -> list[dict]:
        """Waivers in force that covered no finding of any input of the run."""
        used = {_key(w) for result in self.inputs for w in result.waivers_used}
        found = {_key(w): w for result in self.inputs for w in result.waivers_unused}
        # An inline comment becomes one waiver per rule and module path reaching its block (a module
        # called twice): it is unused, and named once, only when none of them covered anything.
        used_comments = {_comment(w) for result in self.inputs for w in result.waivers_used if _comment(w)}
        return sorted(_once_per_comment({k: w for k, w in found.items() if k not in used}, used_comments), key=_key)

    @property
    def summary(self) -> dict:
        return {
            "inputs": len(self.inputs),
            "failed_inputs": len(self.failed_inputs),
            "policies_checked": sum(result.policies for result in self.inputs),
            "unverifiable": sum(result.unverifiable for result in self.inputs),
            "deny": self.count("deny"),
            "warn": self.count("warn"),
            "info": self.count("info"),
            "waived": sum(len(result.waived) for result in self.inputs),
            "waivers_expired": len(self.waivers_expired),
            "waivers_unused": len(self.waivers_unused),
            "baselined": self.hidden.get("baseline", 0),
            "hidden": {view: self.hidden.get(view, 0) for view in VIEWS},
        }

    @property
    def exit_status(self) -> int:
        """0 clean, 1 a finding at or above ``fail_on``, 2 an input that could not be read.

        With ``soft_fail``, 0 whatever the findings (2 still means an input could not be read).
        Findings a view hid are not in ``findings`` and never count.
        """
        if self.failed_inputs:
            return 2
        if self.soft_fail:
            return 0
        failing = self.failing_severities
        return 1 if any(finding.get("severity") in failing for _, finding in self.findings) else 0

    @property
    def failing_severities(self) -> frozenset[str]:
        """The severities that make the exit status 1: deny, and warn with ``--fail-on warn``."""
        return frozenset({"deny"} if self.fail_on == "deny" else {"deny", "warn"})


def _once_per_comment(waivers: dict[str, dict], skip: set) -> list[dict]:
    """Each configuration waiver, and each inline comment once (its shortest address form), leaving out
    the comments in ``skip``."""
    out, named = [], set()
    for key in sorted(waivers, key=lambda k: (len(str(waivers[k].get("resource", ""))), k)):
        comment = _comment(waivers[key])
        if comment and (comment in skip or comment in named):
            continue
        named.add(comment)
        out.append(waivers[key])
    return out


def sort_key(finding: dict) -> tuple:
    return (finding.get("resource", ""), finding.get("rule_id", ""), str(finding.get("attribute", "")),
            str(finding.get("statement", "")), finding.get("msg", ""))


def describe_waiver(waiver: dict) -> str:
    """One line naming a waiver: its rule, resource glob and where it is written."""
    where = f" ({waiver['file']}:{waiver['line']})" if waiver.get("file") else ""
    expires = f", expires {waiver['expires']}" if waiver.get("expires") else ""
    return f"{waiver.get('rule_id')} {waiver.get('resource')}{where}{expires}"
