"""A :class:`~sesrego.report.ScanReport` as GitHub-flavoured markdown, for pull-request comments and
``$GITHUB_STEP_SUMMARY``.

The summary line, a table of findings by severity and rule, then one row per finding (rule,
severity, resource, file:line, message). Inputs that could not be read and waivers to clean up
follow. A report with more than :data:`FOLD_AFTER` findings folds the per-finding table into a
``<details>`` block, and at most :data:`MAX_ROWS` rows are written (GitHub caps a job summary at
1 MiB). Every text from the report is escaped: it is shown as written, and never becomes a link,
an HTML tag or a table cell boundary.
"""

from __future__ import annotations

import re
from collections import Counter

from .errors import printable
from .report import SEVERITY_ORDER, ScanReport

#: More findings than this and the per-finding table is folded into <details>.
FOLD_AFTER = 20
#: At most this many per-finding rows; the rest are counted.
MAX_ROWS = 1000
#: At most this many bytes of per-finding rows: GitHub refuses a job summary over 1 MiB as a whole.
MAX_ROW_BYTES = 768 * 1024
#: Characters that could start markup inside a line: emphasis, code, links, table cells, strike-through,
#: math ($), mentions (@) and issue references (#). HTML's <, > and & become entities.
_SPECIAL = re.compile(r"([\\`*_\[\]|~$@#])")


def text(value: object) -> str:
    """``value`` as markdown text that renders literally, on one line (safe in a table cell)."""
    shown = printable(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", shown)


def _ordered(report: ScanReport) -> list[tuple[object, dict]]:
    return sorted(report.findings, key=lambda item: (SEVERITY_ORDER.get(item[1].get("severity"), 9),
                                                     str(item[1].get("rule_id", "")),
                                                     str(item[1].get("resource", ""))))


def _by_rule(report: ScanReport) -> list[str]:
    titles = {rule.id: rule.title for rule in report.rules}
    counts = Counter((finding.get("severity", ""), finding.get("rule_id", "")) for _, finding in report.findings)
    rows = ["| severity | rule | title | findings |", "|---|---|---|---:|"]
    for (severity, rule_id), count in sorted(counts.items(), key=lambda item: (SEVERITY_ORDER.get(item[0][0], 9),
                                                                                str(item[0][1]))):
        rows.append(f"| {text(severity)} | {text(rule_id)} | {text(titles.get(rule_id, ''))} | {count} |")
    return rows


def _rows(report: ScanReport) -> list[str]:
    from .formats import location

    rows = ["| rule | severity | resource | file:line | message |", "|---|---|---|---|---|"]
    ordered = _ordered(report)
    size = 0
    for written, (result, finding) in enumerate(ordered):
        file, line = location(result, finding, report.base_dir)
        where = f"{file}:{line}" if line else file
        row = (f"| {text(finding.get('rule_id', ''))} | {text(finding.get('severity', ''))} | "
               f"{text(finding.get('resource', ''))} | {text(where)} | {text(finding.get('msg', ''))} |")
        size += len(row.encode("utf-8", "backslashreplace")) + 1
        if written == MAX_ROWS or size > MAX_ROW_BYTES:
            rows.append(f"\n… and {len(ordered) - written} more findings (see the SARIF or JSON report).")
            break
        rows.append(row)
    return rows


def render_markdown(report: ScanReport) -> str:
    """The report as markdown (see the module docstring)."""
    from .formats import summary_line, waiver_lines

    lines = ["## sesrego", "", text(summary_line(report)), ""]
    count = len(report.findings)
    if count:
        lines += [*_by_rule(report), ""]
        rows = _rows(report)
        if count > FOLD_AFTER:
            lines += ["<details>", f"<summary>{count} findings</summary>", "", *rows, "", "</details>", ""]
        else:
            lines += [*rows, ""]
    failed = report.failed_inputs
    if failed:
        lines += ["**Inputs that could not be read:**", ""]
        lines += [f"- {text(result.error)}" for result in failed]
        lines.append("")
    cleanup = waiver_lines(report)
    if cleanup:
        lines += ["**Waivers to clean up:**", ""]
        lines += [f"- {text(line)}" for line in cleanup]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
