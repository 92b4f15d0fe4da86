"""The Jinja environment, and the model -> Rego text.

Templates live in the top-level ``rego_templates/`` (mapped into the wheel as
``sesrego/rego_templates``); :data:`TEMPLATES_DIR` is the one place that finds them.
Every value that becomes a Rego or JSON literal passes through :func:`rego_literal`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from .errors import printable
from .model import Example, Program, Rule


def _templates_dir() -> Path:
    installed = Path(str(resources.files("sesrego"))) / "rego_templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "rego_templates"


TEMPLATES_DIR = _templates_dir()

#: Hand-written Rego copied verbatim, relative to TEMPLATES_DIR: the aggregate package (sesrego), and the
#: helper packages (sesrego.lib.*) with their tests.
VERBATIM = ("main.rego", *sorted(path.relative_to(TEMPLATES_DIR).as_posix()
                                 for path in (TEMPLATES_DIR / "lib").glob("*/*.rego")))


def rego_literal(value: object) -> str:
    """A JSON value as a Rego (and YAML) literal: the one escaping function.

    JSON strings are valid Rego and YAML double-quoted strings; ASCII-only output keeps
    quotes, backslashes, newlines, braces and any unicode from changing what surrounds them.
    """
    return json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(", ", ": "))


def rego_object(value: dict) -> str:
    """A JSON object as a multi-line Rego object literal, one key per line, as ``opa fmt`` lays it out."""
    lines = ["{"]
    for key in sorted(value):
        lines.append(f"\t{rego_literal(key)}: {rego_literal(value[key])},")
    lines.append("}")
    return "\n".join(lines)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES_DIR), str(TEMPLATES_DIR / "rules")]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["rego"] = rego_literal
    env.filters["yaml"] = rego_literal
    env.filters["rego_object"] = rego_object
    return env


@dataclass(frozen=True, slots=True)
class Tree:
    """A rendered policy tree: bundle-relative path -> bytes, and the data document."""

    files: dict[str, bytes]
    facts: dict


def rule_object(rule: Rule) -> dict:
    """What a rule package knows about itself at evaluation time."""
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "attested_severity": rule.attested_severity.value if rule.attested_severity else None,
        "considerations": list(rule.considerations),
        "remediation": rule.remediation,
    }


def example_input(example: Example) -> dict:
    """A plan-shaped input holding the example's policies, as ``terraform show -json`` shows them."""
    changes = []
    for i, policy in enumerate(example.policies):
        if policy.kind == "scp":
            resource_type, name, after = "aws_organizations_policy", f"scp_{i}", {"type": "SERVICE_CONTROL_POLICY"}
            attribute = "content"
        elif policy.kind == "resource":
            resource_type, name, after, attribute = "aws_ses_identity_policy", f"policy_{i}", {}, "policy"
        else:
            resource_type, name, after, attribute = "aws_iam_policy", f"policy_{i}", {}, "policy"
        unknown = {}
        if policy.document is None:
            unknown[attribute] = True
        else:
            after[attribute] = json.dumps(json.loads(policy.document), separators=(",", ":"), sort_keys=True)
        changes.append({
            "address": f"{resource_type}.{name}", "mode": "managed", "type": resource_type, "name": name,
            "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": unknown},
        })
    return {"format_version": "1.2", "resource_changes": changes}


def render(program: Program) -> Tree:
    env = environment()
    # Source file names appear in each file's header comment: escaped, so that no name (one
    # holding a newline, say) can end the comment and add Rego of its own.
    sources = [printable(s.name.rsplit("/", 1)[-1]) for s in program.sources]
    files: dict[str, bytes] = {}
    for rule in program.rules:
        base = f"sesrego/rules/{rule.slug}/{rule.slug}"
        files[f"{base}.rego"] = env.get_template(rule.template).render(
            rule=rule, sources=sources, rule_object=rule_object(rule), imports=rule.imports).encode()
        files[f"{base}_test.rego"] = env.get_template("rule_test.rego.j2").render(
            rule=rule, sources=sources, failing=example_input(rule.failing),
            passing=example_input(rule.passing)).encode()
    for path in VERBATIM:
        files[f"sesrego/{path}"] = (TEMPLATES_DIR / path).read_bytes()
    return Tree(files=dict(sorted(files.items())), facts=program.facts.data())
