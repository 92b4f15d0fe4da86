"""The result of a scan: what each input produced, and the exit status it implies.

Findings are the objects the Rego emits (``data.sesrego.report.findings``), unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITY_ORDER = {"deny": 0, "warn": 1, "info": 2}


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
    warnings: tuple[str, ...] = ()  # one line each: what the .tf reader did not read or apply


@dataclass(frozen=True, slots=True)
class ScanReport:
    inputs: tuple[InputResult, ...]
    rules: tuple[RuleInfo, ...]
    fail_on: str = "deny"  # "deny" | "warn"

    @property
    def findings(self) -> list[tuple[InputResult, dict]]:
        return [(result, finding) for result in self.inputs for finding in result.findings]

    def count(self, severity: str) -> int:
        return sum(1 for _, finding in self.findings if finding.get("severity") == severity)

    @property
    def failed_inputs(self) -> list[InputResult]:
        return [result for result in self.inputs if result.error]

    @property
    def summary(self) -> dict:
        return {
            "inputs": len(self.inputs),
            "failed_inputs": len(self.failed_inputs),
            "deny": self.count("deny"),
            "warn": self.count("warn"),
            "info": self.count("info"),
            "waived": sum(len(result.waived) for result in self.inputs),
        }

    @property
    def exit_status(self) -> int:
        """0 clean, 1 a finding at or above ``fail_on``, 2 an input that could not be read."""
        if self.failed_inputs:
            return 2
        failing = self.failing_severities
        return 1 if any(finding.get("severity") in failing for _, finding in self.findings) else 0

    @property
    def failing_severities(self) -> frozenset[str]:
        """The severities that make the exit status 1: deny, and warn with ``--fail-on warn``."""
        return frozenset({"deny"} if self.fail_on == "deny" else {"deny", "warn"})


def sort_key(finding: dict) -> tuple:
    return (finding.get("resource", ""), finding.get("rule_id", ""), str(finding.get("attribute", "")),
            str(finding.get("statement", "")), finding.get("msg", ""))
