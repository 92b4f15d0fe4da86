"""A :class:`~sesrego.report.ScanReport` rendered as text: table, json, sarif, junit, github or markdown.

Every format is a pure function of the report (and the current directory, against which
file paths are made relative, or ``--base-dir``): the same report gives the same bytes.
Findings are the objects the Rego emits; the formats read them and never change them (the
JSON report adds where each one is: ``input``, ``file``, ``line``).

Where a finding points: a ``.tf`` input knows the file and line of each resource
(:attr:`InputResult.locations`), and so does a plan scanned with its configuration
(``--tf-dir``); otherwise a plan finding points at the plan file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path, PurePath
from urllib.parse import quote

import click

from . import __version__
from .errors import SesregoError, json_text, printable
from .report import SEVERITY_ORDER, InputResult, RuleInfo, ScanReport, describe_waiver, sort_key

FORMATS = ("table", "json", "sarif", "junit", "github", "markdown")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "sesregoFinding/v1"
#: The version of the JSON report's shape (docs/report.schema.json); raised when a field changes meaning.
SCHEMA_VERSION = 1
#: The table's width when standard output is not a terminal.
TABLE_WIDTH = 100

# severity -> (SARIF level, GitHub security-severity, GitHub workflow command, table colour)
SEVERITIES = {
    "deny": ("error", "8.0", "error", "red"),
    "warn": ("warning", "5.0", "warning", "yellow"),
    "info": ("note", "2.0", "notice", "cyan"),
}


def render(report: ScanReport, fmt: str, *, color: bool = False, width: int = TABLE_WIDTH, quiet: bool = False,
           compact: bool = False, errors: bool = True) -> str:
    """The report in format ``fmt`` (one of :data:`FORMATS`), ending with a newline.

    ``color``, ``width``, ``quiet``, ``compact`` and ``errors`` shape the table only; the machine
    formats are always complete. A quiet table without findings is the empty string. ``errors``:
    list the inputs that could not be read (false when the table goes to standard output, as
    standard error names each one already).
    """
    from .markdown import render_markdown

    def table(r: ScanReport) -> str:
        return (render_compact if compact else render_table)(r, color=color, width=width, quiet=quiet,
                                                             errors=errors)

    renderers: dict[str, Callable[[ScanReport], str]] = {
        "table": table,
        "json": render_json, "sarif": render_sarif, "junit": render_junit, "github": render_github,
        "markdown": render_markdown,
    }
    if fmt not in renderers:
        raise SesregoError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


# --- shared helpers ---------------------------------------------------------------------------------------


def _severity(finding: dict) -> tuple[str, str, str, str]:
    severity = finding.get("severity")
    if severity not in SEVERITIES:
        raise SesregoError(f"finding {finding.get('rule_id')} on {finding.get('resource')} has severity "
                           f"{severity!r}; expected deny, warn or info")
    return SEVERITIES[severity]


def _ordered(findings) -> list[dict]:
    """Findings by resource, then severity (deny first), then rule and statement."""
    return sorted(findings, key=lambda f: (f.get("resource", ""), SEVERITY_ORDER.get(f.get("severity"), 9),
                                           sort_key(f)))


def display_path(path: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``base`` (default: the current directory) when it lies under it, with forward
    slashes. A path outside ``base`` is absolute when ``base`` is given (or the path was); otherwise it is
    shown as given."""
    text = os.fspath(path)
    if text == "-":
        return text
    candidate = Path(text)
    cwd = Path.cwd()
    if candidate.is_absolute() or base is not None:
        root = Path(os.path.abspath(base)) if base is not None else cwd
        target = Path(os.path.normpath(cwd / candidate))
        for start, end in ((root, target), (root.resolve(), target.resolve())):
            try:
                return end.relative_to(start).as_posix() or "."
            except ValueError:
                continue
        if base is not None:
            return target.as_posix()
    return PurePath(os.path.normpath(text)).as_posix()


#: One instance key of an address: ``[0]``, ``["a.b"]`` (HCL-quoted, with escapes).
_INSTANCE_KEY = re.compile(r'\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\]')


def configuration_address(address: str) -> str:
    """``address`` without its instance keys: ``module.a["x"].aws_iam_policy.p[0]`` -> ``module.a.aws_iam_policy.p``."""
    return _INSTANCE_KEY.sub("", address)


def source_location(result: InputResult, finding: dict) -> tuple[str, int | None] | None:
    """The .tf file and line of a finding's resource, when known: by its address, else by the address
    without instance keys (a configuration block holds every instance)."""
    if not result.locations:
        return None
    address = finding.get("resource") or ""
    where = result.locations.get(address)
    if where is None and "[" in address:
        where = result.locations.get(configuration_address(address))
    if where is None:
        return None
    file, line = where
    return str(file), (int(line) if line else None)


def location(result: InputResult, finding: dict, base: str | None = None) -> tuple[str, int | None]:
    """The file (display form) and line a finding points at: the .tf block when known, else the input."""
    where = source_location(result, finding)
    if where is None:
        return display_path(result.path, base), None
    return display_path(where[0], base), where[1]


def _statement(finding: dict) -> str | None:
    statement = finding.get("statement")
    if statement is None:
        return None
    return f"#{statement}" if isinstance(statement, int) else json.dumps(statement)


def _rules(report: ScanReport) -> list[RuleInfo]:
    """Every rule of the report, sorted by id, plus any rule a finding names that the report lacks."""
    rules = {rule.id: rule for rule in report.rules}
    for result in report.inputs:
        for finding in (*result.findings, *result.waived):
            rule_id = finding.get("rule_id", "")
            if rule_id not in rules:
                rules[rule_id] = RuleInfo(rule_id, finding.get("title", rule_id), finding.get("title", rule_id),
                                          finding.get("severity", "warn"), finding.get("remediation", ""), "")
    return [rules[key] for key in sorted(rules)]


_printable = printable


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(report: ScanReport) -> str:
    """E.g. ``2 deny, 3 warn, 1 waived. 12 policies checked in 4 inputs (1 could not be read), 2 unverifiable``."""
    summary = report.summary
    counts = [f"{summary[s]} {s}" for s in SEVERITIES if summary[s]]
    head = ", ".join(counts) if counts else "No findings"
    if summary["waived"]:
        head += f", {summary['waived']} waived"
    checked = summary["policies_checked"]
    line = f"{head}. {checked} polic{'y' if checked == 1 else 'ies'} checked in {_plural(summary['inputs'], 'input')}"
    if summary["failed_inputs"]:
        line += f" ({summary['failed_inputs']} could not be read)"
    line += f", {summary['unverifiable']} unverifiable"
    hidden = hidden_text(report)
    return f"{line}. {hidden}" if hidden else line


def hidden_text(report: ScanReport) -> str:
    """How many findings the views hid, and by what: ``3 hidden: 1 by --skip-rule, 2 in the baseline``."""
    hidden = report.hidden
    parts = []
    if hidden.get("rule"):
        parts.append(f"{hidden['rule']} not selected by --rule")
    if hidden.get("skip_rule"):
        parts.append(f"{hidden['skip_rule']} by --skip-rule")
    if hidden.get("min_severity"):
        parts.append(f"{hidden['min_severity']} below --min-severity {report.views.get('min_severity', '')}".rstrip())
    if hidden.get("baseline"):
        parts.append(f"{hidden['baseline']} in the baseline")
    return f"{sum(hidden.values())} hidden: {', '.join(parts)}" if parts else ""


def waiver_lines(report: ScanReport) -> list[str]:
    """One line per waiver to clean up: expired, or covering no finding in this run."""
    lines = [f"waiver {describe_waiver(w)} has expired: it covers nothing; renew or remove it"
             for w in report.waivers_expired]
    lines += [f"waiver {describe_waiver(w)} covered no finding in this run; remove it if it is no longer needed"
              for w in report.waivers_unused]
    return [printable(line) for line in lines]


# --- table --------------------------------------------------------------------------------------------------


def _styler(color: bool) -> Callable[..., str]:
    def style(text: str, **kwargs) -> str:
        return click.style(text, **kwargs) if color else text
    return style


def render_table(report: ScanReport, color: bool = False, width: int = TABLE_WIDTH, quiet: bool = False,
                 errors: bool = True) -> str:
    """For people: inputs with findings or errors, findings grouped by resource, then a summary line.

    ``width``: the column at which messages wrap (the terminal's width, else 100). ``quiet``: the
    findings only (no errors, waived findings, waiver notes or summary), and nothing without findings.
    ``errors``: name each input that could not be read under it (the summary counts them anyway).
    """
    errors = errors and not quiet
    style = _styler(color)
    wrap = textwrap.TextWrapper(width=max(width, 40), initial_indent="      ", subsequent_indent="      ",
                                break_long_words=False, break_on_hyphens=False)
    lines: list[str] = []
    for result in report.inputs:
        if not result.findings and (quiet or (not (result.error and errors) and not result.waived)):
            continue
        lines.append(style(_printable(display_path(result.path)), bold=True))
        if result.error and errors:
            lines.append("  " + style(f"error: {_printable(result.error)}", fg="red"))
        resource = None
        for finding in _ordered(result.findings):
            if finding.get("resource") != resource:
                resource = finding.get("resource")
                file, line = location(result, finding, report.base_dir)
                where = f"  ({file}:{line})" if line else ""
                lines.append(_printable(f"  {resource}{where}"))
            severity = finding.get("severity", "")
            colour = _severity(finding)[3]
            statement = _statement(finding)
            lines.append(f"    {_printable(finding.get('rule_id', ''))} "
                         + style(severity, fg=colour, bold=severity == "deny")
                         + (f" statement {_printable(statement)}" if statement else ""))
            lines.extend(wrap.wrap(_printable(finding.get("msg", ""))))
            if finding.get("remediation"):
                lines.extend(wrap.wrap(_printable(f"fix: {finding['remediation']} "
                                                  f"(sesrego rules {finding.get('rule_id', '')})")))
        if result.waived and not quiet:
            lines.append(_printable(f"  {len(result.waived)} waived: " + ", ".join(
                f"{w.get('rule_id')} {w.get('resource')}" for w in _ordered(result.waived))))
        lines.append("")
    if quiet:
        return "\n".join(lines[:-1]) + "\n" if lines else ""
    lines.extend(style(line, fg="yellow") for line in waiver_lines(report))
    lines.append(_summary_styled(report, style))
    return "\n".join(lines) + "\n"


def _summary_styled(report: ScanReport, style: Callable[..., str]) -> str:
    line = summary_line(report)
    if report.exit_status == 2 or report.count("deny"):
        line = style(line, fg="red", bold=True)
    elif report.count("warn"):
        line = style(line, fg="yellow")
    elif not report.findings:
        line = style(line, fg="green")
    return line


def render_compact(report: ScanReport, color: bool = False, width: int = TABLE_WIDTH, quiet: bool = False,
                   errors: bool = True) -> str:
    """One line per finding, ``file:line: RULE severity resource [statement S]: message``; then, unless
    ``quiet``, unreadable inputs (with ``errors``), waivers to clean up and the summary line. ``width`` is
    not used: lines are never wrapped, so that each finding stays one line for grep."""
    style = _styler(color)
    lines: list[str] = []
    for result in report.inputs:
        for finding in _ordered(result.findings):
            file, line = location(result, finding, report.base_dir)
            statement = _statement(finding)
            severity = str(finding.get("severity", ""))
            lines.append(_printable(f"{file}{f':{line}' if line else ''}: {finding.get('rule_id', '')} ")
                         + style(severity, fg=_severity(finding)[3], bold=severity == "deny")
                         + _printable(f" {finding.get('resource', '')}"
                                      + (f" statement {statement}" if statement else "")
                                      + f": {finding.get('msg', '')}"))
    if not quiet:
        if errors:
            lines.extend(style(f"{_printable(result.error)}", fg="red") for result in report.failed_inputs)
        lines.extend(style(line, fg="yellow") for line in waiver_lines(report))
        lines.append(_summary_styled(report, style))
    return "\n".join(lines) + "\n" if lines else ""


# --- json ---------------------------------------------------------------------------------------------------


def placed(result: InputResult, findings, base: str | None = None) -> list[dict]:
    """Each finding as the Rego emitted it, plus where it is: ``input`` (the path as given), ``file`` and
    ``line`` (the .tf file and line of its resource where known, else null)."""
    path = printable(result.path)
    if not result.locations:
        return [{**finding, "input": path, "file": None, "line": None} for finding in findings]
    out = []
    for finding in findings:
        where = source_location(result, finding)
        file, line = (printable(display_path(where[0], base)), where[1]) if where else (None, None)
        out.append({**finding, "input": path, "file": file, "line": line})
    return out


def render_json(report: ScanReport) -> str:
    """``{"schema_version", "findings", "summary", "inputs", "waivers", "configuration", "views"}``.

    Findings are the Rego's objects with ``input``, ``file`` and ``line`` added (:func:`placed`);
    docs/report.schema.json describes the whole document.
    """
    base = report.base_dir
    document = {
        "schema_version": SCHEMA_VERSION,
        "findings": [placed_finding for result in report.inputs
                     for placed_finding in placed(result, result.findings, base)],
        "summary": {**report.summary, "exit_status": report.exit_status},
        "inputs": [{"path": printable(result.path), "kind": result.kind,
                    "error": printable(result.error) if result.error else None,
                    "findings": len(result.findings), "waived": placed(result, result.waived, base),
                    "baselined": placed(result, result.baselined, base),
                    "policies_checked": result.policies, "unverifiable": result.unverifiable,
                    "warnings": [printable(w) for w in result.warnings]} for result in report.inputs],
        "waivers": {"expired": report.waivers_expired, "unused": report.waivers_unused},
        "configuration": report.configuration,
        "views": dict(report.views),
    }
    # One finding per line, keys sorted: readable, greppable, and encoded by the C encoder (an
    # indented dump of 20,000 findings takes seconds in pure Python).
    compact = [json.dumps(finding, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
               for finding in document.pop("findings")]
    findings = "[\n" + ",\n".join(f"    {line}" for line in compact) + "\n  ]" if compact else "[]"
    rest = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
    return json_text('{\n  "findings": ' + findings + ",\n" + rest[2:]) + "\n"


# --- sarif --------------------------------------------------------------------------------------------------


def _uri(path: str, base: str | None = None) -> str:
    """A SARIF artifact URI: a relative reference when under the current directory (or ``base``), else a
    file: URI (a path such as ``../x`` is made absolute first)."""
    shown = display_path(path, base)
    if PurePath(shown).is_absolute() or shown.split("/", 1)[0] == "..":
        return Path(os.path.abspath(shown)).as_uri()
    return quote(os.fsencode(shown), safe="/-._~")


def _rule_name(title: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in "".join(c if c.isalnum() else " " for c in title).split())


def _sarif_rule(rule: RuleInfo) -> dict:
    level, security, _, _ = SEVERITIES.get(rule.severity, SEVERITIES["warn"])
    text = f"{rule.description}\n\nFix: {rule.remediation}"
    markdown = f"{rule.description}\n\n**Fix:** {rule.remediation}"
    if rule.help_uri:
        text += f"\n\nGuidance: {rule.help_uri}"
        markdown += f"\n\n[AWS data-perimeter guidance]({rule.help_uri})"
    out = {
        "id": rule.id,
        "name": _rule_name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level},
        "properties": {"security-severity": security, "tags": ["security", "aws", "ses", "data-perimeter",
                                                               "terraform"]},
    }
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    return out


def fingerprint(finding: dict, uri: str) -> str:
    """Stable across runs: rule, artifact, resource and statement (not the message or line)."""
    key = json.dumps([finding.get("rule_id"), uri, finding.get("resource"), finding.get("statement")])
    return hashlib.sha256(key.encode()).hexdigest()


def _suppression(finding: dict, baselined: bool) -> dict | None:
    """A waived finding's SARIF suppression (``inSource`` for an inline comment), or a baselined one's."""
    if baselined:
        return {"kind": "external", "status": "accepted", "justification": "accepted in the baseline (--baseline)"}
    if "waiver" not in finding:
        return None
    waiver = finding["waiver"]
    inline = isinstance(waiver, dict) and waiver.get("source") == "inline"
    suppression = {"kind": "inSource" if inline else "external", "status": "accepted"}
    justification = waiver.get("reason") if isinstance(waiver, dict) else None
    if justification:
        suppression["justification"] = str(justification)
    return suppression


def _sarif_result(result: InputResult, finding: dict, index: dict[str, int], base: str | None,
                  baselined: bool = False) -> dict:
    file, line = location(result, finding)
    uri = _uri(file, base)
    physical: dict = {"artifactLocation": {"uri": uri}}
    if line:
        physical["region"] = {"startLine": line}
    properties = {key: finding[key] for key in ("actions", "attribute", "consideration", "evaluated_from",
                                                "policy_kind", "resource_type", "statement", "severity")
                  if key in finding}
    properties["input"] = printable(display_path(result.path, base))
    out = {
        "ruleId": finding.get("rule_id", ""),
        "ruleIndex": index[finding.get("rule_id", "")],
        "level": _severity(finding)[0],
        "message": {"text": finding.get("msg", "")},
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{"fullyQualifiedName": finding.get("resource", ""), "kind": "resource"}],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding, uri)},
        "properties": properties,
    }
    suppression = _suppression(finding, baselined)
    if suppression is not None:
        out["suppressions"] = [suppression]
    return out


def render_sarif(report: ScanReport) -> str:
    """SARIF 2.1.0, one run; waived and baselined findings are results with a suppression.

    A finding waived by an inline comment is suppressed ``inSource``; one waived by the
    configuration or accepted by the baseline ``external``.
    """
    rules = _rules(report)
    index = {rule.id: i for i, rule in enumerate(rules)}
    base = report.base_dir
    results = []
    for result in report.inputs:
        results.extend(_sarif_result(result, finding, index, base)
                       for finding in (*_ordered(result.findings), *_ordered(result.waived)))
        results.extend(_sarif_result(result, finding, index, base, baselined=True)
                       for finding in _ordered(result.baselined))
    invocation: dict = {"executionSuccessful": not report.failed_inputs}
    if report.failed_inputs:
        invocation["toolExecutionNotifications"] = [{
            "level": "error",
            "message": {"text": printable(result.error)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(result.path, base)}}}],
        } for result in report.failed_inputs]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sesrego", "version": __version__, "semanticVersion": __version__,
                                "rules": [_sarif_rule(r) for r in rules]}},
            "invocations": [invocation],
            "results": results,
        }],
    }
    return json_text(json.dumps(log, sort_keys=True, indent=2, ensure_ascii=False)) + "\n"


# --- junit --------------------------------------------------------------------------------------------------


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (each becomes U+FFFD)."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _finding_text(finding: dict) -> str:
    statement = _statement(finding)
    head = f"[{finding.get('severity')}] {finding.get('resource')}" + (f" statement {statement}" if statement else "")
    text = f"{head}: {finding.get('msg', '')}"
    if finding.get("remediation"):
        text += f"\n  fix: {finding['remediation']}"
    return text


def render_junit(report: ScanReport) -> str:
    """JUnit XML: a testsuite per input, a testcase per rule per input.

    A testcase fails (``<failure type=severity>``) on its findings at or above ``--fail-on``:
    deny findings always, warn findings only with ``--fail-on warn``. Findings below that
    (warn by default, info always) and waived findings leave the testcase passing and are
    listed in its ``<system-out>``, so CI shows them without failing the build; the JUnit
    verdict therefore agrees with the exit status. An input that could not be read is one
    testcase with an ``<error>``.
    """
    failing = report.failing_severities
    rules = _rules(report)
    root = ET.Element("testsuites", name="sesrego")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in report.inputs:
        path = _xml(printable(display_path(result.path)))
        suite = ET.SubElement(root, "testsuite", name=path)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        if result.error:
            case = ET.SubElement(suite, "testcase", classname=path, name="read input")
            error = _xml(result.error)
            ET.SubElement(case, "error", message=error, type="InputError").text = error
            counts["tests"] += 1
            counts["errors"] += 1
        else:
            for rule in rules:
                found = _ordered(f for f in result.findings if f.get("rule_id") == rule.id)
                waived = _ordered(f for f in result.waived if f.get("rule_id") == rule.id)
                case = ET.SubElement(suite, "testcase", classname=path, name=_xml(f"{rule.id} {rule.title}"))
                counts["tests"] += 1
                failures = [f for f in found if f.get("severity") in failing]
                if failures:
                    worst = min(failures, key=lambda f: SEVERITY_ORDER.get(f.get("severity"), 9))["severity"]
                    message = failures[0].get("msg", "")
                    if len(failures) > 1:
                        message = f"{len(failures)} findings: {message} (and {len(failures) - 1} more)"
                    failure = ET.SubElement(case, "failure", message=_xml(message), type=_xml(worst))
                    failure.text = _xml("\n".join(_finding_text(f) for f in failures))
                    counts["failures"] += 1
                other = [f for f in found if f.get("severity") not in failing]
                out = [_finding_text(f) for f in other]
                out += [f"[waived] {_finding_text(f)}" for f in waived]
                if out:
                    ET.SubElement(case, "system-out").text = _xml("\n".join(out))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- github -------------------------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the GitHub Actions toolkit does.

    Other control characters (ESC, NUL) and non-UTF-8 file-name bytes are shown escaped
    (``\\x1b``), so nothing in a message can drive the terminal of whoever reads the log.
    """
    text = "".join(ch if ch in "\r\n" else printable(ch) for ch in str(text))
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (file, title): data escaping plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(command: str, message: str, **properties) -> str:
    shown = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items()
                     if value is not None)
    return f"::{command}{' ' + shown if shown else ''}::{escape_data(message)}"


def render_github(report: ScanReport) -> str:
    """GitHub Actions workflow commands: an annotation per finding and per unreadable input."""
    lines = []
    for result in report.inputs:
        if result.error:
            lines.append(_command("error", result.error, file=display_path(result.path, report.base_dir),
                                  title="sesrego"))
        for finding in _ordered(result.findings):
            file, line = location(result, finding, report.base_dir)
            lines.append(_command(_severity(finding)[2], finding.get("msg", ""), file=file, line=line,
                                  title=f"{finding.get('rule_id', '')} {finding.get('title', '')}"))
    for waiver, text in zip([*report.waivers_expired, *report.waivers_unused], waiver_lines(report)):
        file = display_path(waiver["file"], report.base_dir) if waiver.get("file") else None
        lines.append(_command("warning", text, file=file, line=waiver.get("line") if file else None,
                              title="sesrego waiver"))
    lines.append(escape_data(summary_line(report)))
    return "\n".join(lines) + "\n"
