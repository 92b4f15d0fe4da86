"""Views of one scan: ``--rule``, ``--skip-rule``, ``--min-severity`` and ``--baseline``.

Waivers and inline suppressions are policy: they apply in the Rego, so an OPA server and
conftest reach the same verdict. Views are not: they choose what one run of ``sesrego scan``
shows, after evaluation, and change no verdict of the Rego. An OPA server's decision
(``data.sesrego.report``) and conftest never apply them.

A finding a view hides leaves the report's findings and never counts toward the exit status;
the report counts it under the first view that hid it, in the order of
:data:`~sesrego.report.VIEWS`. Baselined findings are kept aside (``InputResult.baselined``), so
SARIF can show them as suppressed. Waived findings of rules or severities a view leaves out are
left out of the waived lists too, but are not counted as hidden (they were not findings).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import baseline as baselines
from .errors import SesregoError
from .report import SEVERITY_ORDER, ScanReport

#: The one rule that reports an Allow whose only ses:Recipients condition is ineffective.
INEFFECTIVE_CONDITION_RULE = "SES-002"


class ViewError(SesregoError):
    """A view option that names something that does not exist. Exit status 2."""


@dataclass(frozen=True, slots=True)
class View:
    rules: frozenset[str] = frozenset()  # --rule: only these (empty: every rule)
    skip: frozenset[str] = frozenset()  # --skip-rule
    min_severity: str | None = None  # --min-severity: hide findings below it
    baseline: frozenset[str] | None = None  # --baseline: the fingerprints it accepts
    baseline_path: str | None = None

    @property
    def anchor(self) -> str:
        """The directory the baseline's inputs are relative to."""
        return baselines.anchor_of(self.baseline_path or "./baseline")

    @property
    def active(self) -> bool:
        return bool(self.rules or self.skip or self.min_severity or self.baseline is not None)

    def hides(self, finding: dict) -> str | None:
        """The view (``rule``, ``skip_rule``, ``min_severity``) that hides ``finding``, if any."""
        rule_id = finding.get("rule_id")
        if self.rules and rule_id not in self.rules:
            return "rule"
        if rule_id in self.skip:
            return "skip_rule"
        if self.min_severity and SEVERITY_ORDER.get(finding.get("severity"), 9) > SEVERITY_ORDER[self.min_severity]:
            return "min_severity"
        return None

    def excludes(self, rule_id: str) -> bool:
        """Whether the rule's findings are left out whatever their severity."""
        return bool(self.rules and rule_id not in self.rules) or rule_id in self.skip

    def describe(self) -> dict:
        """The views applied, for the JSON report."""
        out: dict = {}
        if self.rules:
            out["rule"] = sorted(self.rules)
        if self.skip:
            out["skip_rule"] = sorted(self.skip)
        if self.min_severity:
            out["min_severity"] = self.min_severity
        if self.baseline is not None:
            out["baseline"] = self.baseline_path
        return out


def rule_ids(given: Iterable[str], known: Sequence[str], flag: str) -> frozenset[str]:
    """The rule ids of a repeatable ``flag`` (each value may list several, comma-separated), checked.

    Ids are matched without regard to case (``ses-001`` is SES-001); an id no rule has is an
    error naming it.
    """
    known_upper = {rule.upper(): rule for rule in known}
    out = set()
    for value in given:
        for item in str(value).split(","):
            item = item.strip()
            if not item:
                continue
            if item.upper() not in known_upper:
                raise ViewError(f"{flag} {item}: unknown rule id; known: {', '.join(sorted(known))}")
            out.add(known_upper[item.upper()])
    return frozenset(out)


def ineffective_condition_warning(view: View) -> str | None:
    """The one warning for a view that leaves SES-002 out (nothing else reports what it reports)."""
    if not view.excludes(INEFFECTIVE_CONDITION_RULE):
        return None
    how = "skipped (--skip-rule)" if INEFFECTIVE_CONDITION_RULE in view.skip else "not selected (--rule)"
    return (f"warning: {INEFFECTIVE_CONDITION_RULE} is {how}: it alone reports an Allow whose only ses:Recipients "
            "condition is ineffective (the wrong operator, a pattern that matches every address, a placeholder), "
            "so such Allows are not reported in this run")


def apply(report: ScanReport, view: View) -> ScanReport:
    """``report`` as ``view`` shows it (see the module docstring)."""
    if not view.active:
        return report
    hidden: Counter[str] = Counter()
    inputs = []
    for result in report.inputs:
        key = baselines.input_key(result.path, view.anchor, result.kind) if view.baseline is not None else ""
        shown, baselined = [], []
        for finding in result.findings:
            why = view.hides(finding)
            if why is None and view.baseline is not None and baselines.fingerprint(key, finding) in view.baseline:
                why = "baseline"
                baselined.append(finding)
            if why is None:
                shown.append(finding)
            else:
                hidden[why] += 1
        waived = tuple(finding for finding in result.waived if view.hides(finding) is None)
        inputs.append(dataclasses.replace(result, findings=tuple(shown), waived=waived, baselined=tuple(baselined)))
    return dataclasses.replace(report, inputs=tuple(inputs), hidden=dict(hidden), views=view.describe())


def baseline_fingerprints(report: ScanReport, path: str, view: View | None = None) -> list[str]:
    """What ``--write-baseline PATH`` records: the findings shown and those the ``--baseline`` of ``view``
    already accepted; for an input that could not be read, what that baseline accepted of it is kept
    (a refresh must not drop it)."""
    anchor = baselines.anchor_of(path)
    recorded = [baselines.fingerprint(baselines.input_key(result.path, anchor, result.kind), finding)
                for result in report.inputs if not result.error
                for finding in (*result.findings, *result.baselined)]
    if view is not None and view.baseline:
        failed = {baselines.input_key(result.path, view.anchor, result.kind) for result in report.failed_inputs}
        recorded += [baselines.rebased(accepted, view.anchor, anchor) for accepted in sorted(view.baseline)
                     if baselines.input_of(accepted) in failed]
    return recorded
