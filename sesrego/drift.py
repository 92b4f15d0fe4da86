"""Drift between two sets of sources: what changed in the catalogs and guidance, and which
rules change behaviour because of it.

Each side is loaded (built-in sources, a directory, a bundle's recorded sources, with single
files laid over it), parsed and lowered to the intermediate model; :func:`model_view` turns each
:class:`~sesrego.model.Program` into plain data and DeepDiff compares the two. The report is read
off DeepDiff's tree: actions added and removed per API version, condition keys gained and lost
per action, considerations added, removed or changed, the data facts that changed, and the rules
that read them.

Which facts a rule's verdicts depend on is declared by the rule itself (``Rule.reads_facts``, in its
unit in :mod:`sesrego.lower.rules`). Besides fact changes, a rule is affected when its own definition changes, when it is
added or removed, when an action the rules rely on loses a condition key they check (for example
``ses:Recipients`` dropped from ``SendEmail``), or when a catalog gains an action that supports the
recipient key but that no rule tracks (for example a new ``Send*`` action).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from deepdiff import DeepDiff

from .bundle import MANIFEST, read_bundle
from .compiler import parse_sources, replace_by_version
from .documents import load_json
from .errors import BundleError, SourceError, json_text
from .lower import lower
from .model import Catalog, Guidance, Program
from .sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE, Text, read_text

BUILTIN = "builtin"


# --- loading a side ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceSet:
    """One side of a comparison: parsed catalogs and guidance, and how to name it."""

    label: str
    catalogs: tuple[Catalog, ...]
    guidance: tuple[Guidance, ...]


def builtin_sources() -> SourceSet:
    catalogs, guidance = parse_sources([read_text(p) for p in DEFAULT_CATALOGS],
                                       [read_text(p) for p in DEFAULT_GUIDANCE])
    return SourceSet("built-in sources", tuple(catalogs), tuple(guidance))


def directory_sources(path: Path) -> SourceSet:
    """A directory laid out like ``sesrego/sources``: ``catalogs/*.md`` and ``guidance/*.md``."""
    catalogs = sorted((path / "catalogs").glob("*.md"))
    guidance = sorted((path / "guidance").glob("*.md"))
    if not catalogs and not guidance:
        raise SourceError("directory has neither catalogs/*.md nor guidance/*.md", path=path)
    parsed = parse_sources([read_text(p) for p in catalogs], [read_text(p) for p in guidance])
    return SourceSet(f"directory {path}", tuple(parsed[0]), tuple(parsed[1]))


def bundle_sources(path: Path) -> SourceSet:
    """The source documents a sesrego bundle recorded (``metadata.sources[].path``)."""
    files = read_bundle(path)
    if MANIFEST not in files:
        raise BundleError("not a sesrego bundle: it has no .manifest", path=path)
    manifest = load_json(files[MANIFEST], f"{path}:{MANIFEST}", error=BundleError)
    try:
        metadata = manifest["metadata"]
        entries = {s["name"]: s for s in metadata["sources"]}
        catalog_names = [c["name"] for c in metadata["catalogs"]]
        guidance_names = [g["name"] for g in metadata["guidance"]]
    except (KeyError, TypeError, ValueError):
        raise BundleError("not a sesrego bundle: its .manifest has no metadata.sources", path=path) from None
    texts: dict[str, Text] = {}
    for name in catalog_names + guidance_names:
        entry = entries.get(name) or {}
        body = files.get(entry.get("path", ""))
        if body is None:
            raise BundleError(f"bundle does not record the text of {name}; rebuild it with this sesrego "
                              f"to compare its sources", path=path)
        text = read_bundle_text(path, name, body)
        if entry.get("sha256") and text.sha256 != entry["sha256"]:
            raise BundleError(f"recorded source {entry['path']} does not match its digest in .manifest", path=path)
        texts[name] = text
    parsed = parse_sources([texts[n] for n in catalog_names], [texts[n] for n in guidance_names])
    return SourceSet(f"bundle {path}", tuple(parsed[0]), tuple(parsed[1]))


def read_bundle_text(path: Path, name: str, body: bytes) -> Text:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"recorded source {name} is not UTF-8", path=path) from None
    return Text(name, text.replace("\r\n", "\n"), hashlib.sha256(body).hexdigest())


def _is_bundle(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def load_side(spec: str | None) -> SourceSet:
    """``None`` or ``builtin``: the shipped sources; a gzip file: a bundle; a directory: its sources."""
    if spec is None or spec == BUILTIN:
        return builtin_sources()
    path = Path(spec)
    if path.is_dir():
        return directory_sources(path)
    if path.is_file() and _is_bundle(path):
        return bundle_sources(path)
    if path.is_file():
        raise SourceError("not a bundle (.tar.gz) or a sources directory; pass single catalog or guidance "
                          "files with --old-catalog/--new-catalog/--old-guidance/--new-guidance", path=path)
    raise SourceError("no such bundle or directory", path=path)


def overlay(base: SourceSet, catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> SourceSet:
    """``base`` with each given file in place of the document(s) of the same API version."""
    if not catalogs and not guidance:
        return base
    new_catalogs, new_guidance = parse_sources([read_text(Path(p)) for p in catalogs],
                                               [read_text(Path(p)) for p in guidance])
    names = ", ".join(Path(p).name for p in (*catalogs, *guidance))
    return replace(base, label=f"{base.label} with {names}",
                   catalogs=tuple(replace_by_version(base.catalogs, new_catalogs)),
                   guidance=tuple(replace_by_version(base.guidance, new_guidance)))


def program_of(sources: SourceSet) -> Program:
    return lower(sources.catalogs, sources.guidance)


# --- the model as plain data -------------------------------------------------------------


def model_view(program: Program) -> dict:
    """The parts of the intermediate model that drift is reported on, as plain data."""
    catalogs: dict[str, dict] = {}
    for catalog in program.catalogs:
        actions = catalogs.setdefault(catalog.api_version, {})
        for action in catalog.actions:
            actions[action.name] = {
                "access_level": action.access_level,
                "description": action.description,
                "condition_keys": list(action.condition_keys),
                "resource_types": {rt.name: {"required": rt.required, "condition_keys": list(rt.condition_keys),
                                             "dependent_actions": list(rt.dependent_actions)}
                                   for rt in action.resource_types},
            }
    considerations = {}
    for doc in program.guidance:
        for c in doc.considerations:
            considerations[c.ref] = {"action": c.action, "applicability": c.applicability, "text": c.text,
                                     "control": c.control.kind.value, "condition_key": c.control.condition_key,
                                     "policy_type": c.control.policy_type,
                                     "example_policy": c.control.example_policy}
    rules = {}
    for rule in program.rules:
        rules[rule.id] = {
            "title": rule.title, "description": rule.description, "severity": rule.severity.value,
            "attested_severity": rule.attested_severity.value if rule.attested_severity else None,
            "considerations": list(rule.considerations), "remediation": rule.remediation,
            "related_resources": list(rule.related_resources),
            "examples": json.dumps([[p.kind, p.document] for e in (rule.failing, rule.passing) for p in e.policies]),
        }
    return {
        "catalogs": catalogs,
        "considerations": considerations,
        "reviewed_apis": {doc.api_version: list(doc.reviewed_apis) for doc in program.guidance},
        "facts": {name: value for name, value in program.facts.data().items() if name not in _SAME_ON_BOTH_SIDES},
        "rules": rules,
        "cross_check": sorted({f"{i.kind} {i.api_version} {i.action}".strip() for i in program.cross_check}),
    }


#: Facts that come from the package, not from the sources compared (the Public Suffix List snapshot):
#: equal on both sides of every diff, and the largest facts there are, so they are left out.
_SAME_ON_BOTH_SIDES = frozenset({"public_suffixes", "public_suffix_parents"})


# --- comparing ----------------------------------------------------------------------------


def _set_change(old, new) -> dict:
    """Added and removed members of two lists, dict keys or scalars."""
    if isinstance(old, dict) and isinstance(new, dict):
        changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
        result = {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new))}
        if changed:
            result["changed"] = changed
        return result
    if isinstance(old, list) and isinstance(new, list):
        return {"added": sorted(set(map(str, new)) - set(map(str, old))),
                "removed": sorted(set(map(str, old)) - set(map(str, new)))}
    return {"old": old, "new": new}


def _describe_change(change: dict) -> str:
    if "old" in change:
        return f"{json.dumps(change['old'])} -> {json.dumps(change['new'])}"
    parts = []
    if change.get("added"):
        parts.append("gained " + ", ".join(change["added"]))
    if change.get("removed"):
        parts.append("lost " + ", ".join(change["removed"]))
    if change.get("changed"):
        parts.append("changed " + ", ".join(change["changed"]))
    return "; ".join(parts) or "changed"


class _Touched:
    """The paths DeepDiff found changed, asked for the keys changed under a prefix."""

    def __init__(self, diff: DeepDiff) -> None:
        self.paths = {tuple(item.path(output_format="list")) for items in diff.values() for item in items}

    def under(self, *prefix) -> set:
        return {path[len(prefix)] for path in self.paths if path[:len(prefix)] == prefix and len(path) > len(prefix)}


def compare(old: Program, new: Program) -> dict:
    """The drift report (JSON-ready); ``exit_status`` is 1 when a rule is affected."""
    old_view, new_view = model_view(old), model_view(new)
    diff = DeepDiff(old_view, new_view, view="tree", ignore_order=True)
    touched = _Touched(diff)
    report: dict = _catalog_changes(old_view, new_view, touched)
    report["considerations"] = _consideration_changes(old_view, new_view, touched)
    report["reviewed_apis"] = {
        v: _set_change(old_view["reviewed_apis"].get(v, []), new_view["reviewed_apis"].get(v, []))
        for v in sorted(touched.under("reviewed_apis"))}
    report["facts"] = {key: _set_change(old_view["facts"].get(key), new_view["facts"].get(key))
                       for key in sorted(touched.under("facts"))}
    report["cross_check"] = _set_change(old_view["cross_check"], new_view["cross_check"])
    reads = {rule.id: rule.reads_facts for rule in (*old.rules, *new.rules)}
    report["attention"] = _attention(old_view, new_view, reads)
    report["rules"] = _rule_changes(old_view, new_view, touched, report["facts"], report["attention"], reads)
    rules = report["rules"]
    affects = bool(rules["added"] or rules["removed"] or rules["changed"])
    report["affects_rules"] = affects
    report["exit_status"] = 1 if affects else 0
    report["changed"] = bool(diff)
    return report


def _catalog_changes(old_view: dict, new_view: dict, touched: _Touched) -> dict:
    """Catalogs added and removed, and per API version the actions, keys and fields that changed."""
    report: dict = {"catalogs": {}, "catalogs_added": [], "catalogs_removed": []}
    for version in sorted(touched.under("catalogs")):
        old_actions = old_view["catalogs"].get(version)
        new_actions = new_view["catalogs"].get(version)
        if old_actions is None:
            report["catalogs_added"].append(version)
        elif new_actions is None:
            report["catalogs_removed"].append(version)
        else:
            report["catalogs"][version] = _catalog_entry(old_actions, new_actions, touched, version)
    return report


def _catalog_entry(old_actions: dict, new_actions: dict, touched: _Touched, version: str) -> dict:
    entry = {"actions_added": sorted(set(new_actions) - set(old_actions)),
             "actions_removed": sorted(set(old_actions) - set(new_actions)),
             "condition_keys": {}, "access_level": {}, "description_changed": [], "resource_types": {}}
    for name in sorted(touched.under("catalogs", version)):
        if name not in old_actions or name not in new_actions:
            continue
        a, b = old_actions[name], new_actions[name]
        fields = touched.under("catalogs", version, name)
        if "condition_keys" in fields:
            gained = sorted(set(b["condition_keys"]) - set(a["condition_keys"]))
            lost = sorted(set(a["condition_keys"]) - set(b["condition_keys"]))
            if gained or lost:
                entry["condition_keys"][name] = {"gained": gained, "lost": lost}
        if "access_level" in fields:
            entry["access_level"][name] = {"old": a["access_level"], "new": b["access_level"]}
        if "description" in fields:
            entry["description_changed"].append(name)
        if "resource_types" in fields and _without_keys(a) != _without_keys(b):
            entry["resource_types"][name] = _set_change(_without_keys(a), _without_keys(b))
    return entry


def _consideration_changes(old_view: dict, new_view: dict, touched: _Touched) -> dict:
    considerations: dict = {"added": [], "removed": [], "changed": {}}
    for ref in sorted(touched.under("considerations")):
        a, b = old_view["considerations"].get(ref), new_view["considerations"].get(ref)
        if a is None:
            considerations["added"].append({"ref": ref, **b})
        elif b is None:
            considerations["removed"].append({"ref": ref, **a})
        else:
            considerations["changed"][ref] = {f: {"old": a[f], "new": b[f]}
                                              for f in sorted(touched.under("considerations", ref))}
    return considerations


def _rule_changes(old_view: dict, new_view: dict, touched: _Touched, facts: dict, attention: list[dict],
                  reads: dict[str, tuple[str, ...]]) -> dict:
    """Rules added and removed, and why each rule on both sides changes behaviour."""
    rules: dict = {"added": sorted(set(new_view["rules"]) - set(old_view["rules"])),
                   "removed": sorted(set(old_view["rules"]) - set(new_view["rules"])), "changed": {}}

    def affect(rule_id: str, reason: str) -> None:
        if rule_id in new_view["rules"] and rule_id in old_view["rules"]:
            reasons = rules["changed"].setdefault(rule_id, [])
            if reason not in reasons:
                reasons.append(reason)

    for rule_id in sorted(touched.under("rules")):
        fields = sorted(touched.under("rules", rule_id))
        if fields:
            affect(rule_id, "definition changed: " + ", ".join(fields))
    for rule_id in sorted(set(old_view["rules"]) & set(new_view["rules"])):
        for key in reads[rule_id]:
            if key in facts:
                affect(rule_id, f"facts.{key} {_describe_change(facts[key])}")
    for item in attention:
        if item["gating"]:
            for rule_id in item["rules"]:
                affect(rule_id, item["message"])
    return rules


def _without_keys(action: dict) -> dict:
    return {name: {k: v for k, v in rt.items() if k != "condition_keys"}
            for name, rt in action["resource_types"].items()}


def _relying(fact: str, rules: dict, reads: dict[str, tuple[str, ...]]) -> list[str]:
    """The rules that read a fact."""
    return sorted(r for r in rules if fact in reads[r])


def _attention(old_view: dict, new_view: dict, reads: dict[str, tuple[str, ...]]) -> list[dict]:
    """Catalog changes that matter to the rules without showing in the facts."""
    items: list[dict] = []
    old_facts, new_facts = old_view["facts"], new_view["facts"]
    spelled = {k.lower(): k for view in (old_view, new_view) for actions in view["catalogs"].values()
               for action in actions.values() for k in action["condition_keys"]}
    prefix = "ses"
    for fact in ("recipient_key", "api_version_key"):
        key = old_facts.get(fact)
        if not key:
            continue
        shown = spelled.get(key, key)
        relying = _relying(fact, new_view["rules"], reads)
        for version, actions in sorted(old_facts.get("send_actions", {}).items()):
            old_catalog = old_view["catalogs"].get(version, {})
            new_catalog = new_view["catalogs"].get(version, {})
            for qualified in actions:
                name = next((n for n in old_catalog if f"{prefix}:{n}".lower() == qualified), None)
                if name is None:
                    continue
                had = key in {k.lower() for k in old_catalog[name]["condition_keys"]}
                if name not in new_catalog and version in new_view["catalogs"]:
                    items.append({"kind": "relied-action-removed", "api_version": version, "action": name,
                                  "condition_key": key, "rules": relying, "gating": True,
                                  "message": f"{name} (API v{version}), which the rules check, "
                                             "is gone from the catalog"})
                    continue
                if name not in new_catalog:
                    continue
                has = key in {k.lower() for k in new_catalog[name]["condition_keys"]}
                if had and not has:
                    items.append({"kind": "relied-key-lost", "api_version": version, "action": name,
                                  "condition_key": key, "rules": relying, "gating": True,
                                  "message": f"{name} (API v{version}) no longer supports {shown}, "
                                             "which the rules rely on"})
                elif has and not had:
                    items.append({"kind": "relied-key-gained", "api_version": version, "action": name,
                                  "condition_key": key, "rules": relying, "gating": False,
                                  "message": f"{name} (API v{version}) now lists {shown}, which the rules rely on"})
    key = new_facts.get("recipient_key")
    tracked = set(new_facts.get("tracked_actions", []))
    relying = _relying("recipient_key", new_view["rules"], reads)
    for version, actions in sorted(new_view["catalogs"].items()):
        before = old_view["catalogs"].get(version, {})
        for name, action in sorted(actions.items()):
            supports = key and key in {k.lower() for k in action["condition_keys"]}
            supported = name in before and key in {k.lower() for k in before[name]["condition_keys"]}
            if supports and not supported and f"{prefix}:{name}".lower() not in tracked:
                items.append({"kind": "recipient-action-untracked", "api_version": version, "action": name,
                              "condition_key": key, "rules": relying, "gating": True,
                              "message": f"{name} (API v{version}) supports {spelled.get(key, key)} "
                                         "but no rule tracks it "
                                         f"(the guidance does not name it)"})
    return items


# --- words ------------------------------------------------------------------------------------


def _wrap(prefix: str, names: Sequence[str], width: int = 100) -> list[str]:
    """``prefix`` and the names, comma-separated, wrapped with a four-space hanging indent."""
    lines, line = [], prefix.rstrip()
    for i, name in enumerate(names):
        piece = name + ("," if i < len(names) - 1 else "")
        if len(line) + 1 + len(piece) > width and line.strip():
            lines.append(line)
            line = "    " + piece
        else:
            line += " " + piece
    lines.append(line)
    return lines


def render_text(report: dict, old_label: str, new_label: str) -> str:
    out = [f"sesrego diff: {old_label} -> {new_label}", ""]
    for version in report["catalogs_added"]:
        out.append(f"Catalog of SES API v{version}: added")
    for version in report["catalogs_removed"]:
        out.append(f"Catalog of SES API v{version}: removed")
    for version, entry in report["catalogs"].items():
        out.append(f"Catalog of SES API v{version}:")
        if entry["actions_added"]:
            out += _wrap("  actions added: ", entry["actions_added"])
        if entry["actions_removed"]:
            out += _wrap("  actions removed: ", entry["actions_removed"])
        by_key: dict[tuple[str, str], list[str]] = {}
        for name, change in entry["condition_keys"].items():
            for key in change["gained"]:
                by_key.setdefault(("gained", key), []).append(name)
            for key in change["lost"]:
                by_key.setdefault(("lost", key), []).append(name)
        for (what, key), names in sorted(by_key.items(), key=lambda kv: (kv[0][0] != "lost", kv[0][1])):
            out += _wrap(f"  condition key {key} {what} by {len(names)} action(s): ", names)
        for name, change in entry["access_level"].items():
            out.append(f"  {name}: access level {change['old']} -> {change['new']}")
        for name, change in entry["resource_types"].items():
            out.append(f"  {name}: resource types {_describe_change(change)}")
        if entry["description_changed"]:
            out.append(f"  descriptions reworded: {len(entry['description_changed'])} action(s)")
    considerations = report["considerations"]
    if considerations["added"] or considerations["removed"] or considerations["changed"]:
        out.append("Considerations:")
        for c in considerations["added"]:
            out.append(f"  + {c['ref']} {c['action']}: {c['control']}" + (f" {c['condition_key']}" if c["condition_key"]
                                                                          else ""))
        for c in considerations["removed"]:
            out.append(f"  - {c['ref']} {c['action']}")
        for ref, fields in considerations["changed"].items():
            out.append(f"  ~ {ref}: " + ", ".join(f"{f} {json.dumps(v['old'])} -> {json.dumps(v['new'])}"
                                                    if f != "text" else "text reworded" for f, v in fields.items()))
    for version, change in report["reviewed_apis"].items():
        out.append(f"Reviewed APIs of the v{version} guidance: {_describe_change(change)}")
    if report["facts"]:
        out.append("Facts (data.sesrego.facts):")
        for key, change in report["facts"].items():
            out += _wrap(f"  {key}: ", [_describe_change(change)])
    gating = [item for item in report["attention"] if item["gating"]]
    noted = [item for item in report["attention"] if not item["gating"]]
    for heading, items in (("Needs attention (rules change behaviour):", gating),
                           ("Noted (good to know; no rule changes behaviour):", noted)):
        if items:
            out.append(heading)
            for item in items:
                rules = f" [{', '.join(item['rules'])}]" if item["rules"] else ""
                out.append(f"  {item['message']}{rules}")
    cross = report["cross_check"]
    if cross.get("added") or cross.get("removed"):
        out.append("Cross-check (guidance against catalogs):")
        for item in cross.get("removed", []):
            out.append(f"  resolved: {item}")
        for item in cross.get("added", []):
            out.append(f"  new: {item}")
    rules = report["rules"]
    if rules["added"]:
        out.append("Rules added: " + ", ".join(rules["added"]))
    if rules["removed"]:
        out.append("Rules removed: " + ", ".join(rules["removed"]))
    if rules["changed"]:
        out.append("Rules that change behaviour:")
        for rule_id, reasons in rules["changed"].items():
            for reason in reasons:
                out += _wrap(f"  {rule_id}: ", [reason])
    if len(out) == 2:
        out.append("No change.")
    out.append("")
    if report["affects_rules"]:
        count = len(rules["changed"]) + len(rules["added"]) + len(rules["removed"])
        out.append(f"Result: {count} rule(s) affected; exit status 1.")
    else:
        out.append("Result: nothing that affects the rules changed; exit status 0.")
    return "\n".join(out) + "\n"


def render_json(report: dict, old_label: str, new_label: str) -> str:
    return json_text(json.dumps({"old": old_label, "new": new_label, **report}, indent=2, sort_keys=True,
                                ensure_ascii=False)) + "\n"


def drift(old: SourceSet, new: SourceSet) -> dict:
    return compare(program_of(old), program_of(new))

