"""Module instances -> the plan-shaped document the rules read (``terraform show -json``, format 1.2).

Every managed resource instance becomes a ``resource_changes[]`` entry under Terraform's address,
its known attributes in ``change.after`` and its unknown ones marked in ``change.after_unknown``.
A policy document read during apply is a ``read`` change with its statement blocks, as in a plan.
The ``configuration`` section carries each attribute's references. What a plan cannot say is in
the ``sesrego`` extension (docs/plan-extension.md): per change, the expression each unknown
attribute depends on, the partly known policy document with its unknowns marked, the policy
document it was rendered from, and why each expression is unknown; per input, the module calls
whose source is not installed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import policy_document
from .documents import causes_in, document_of
from .instances import Instance, index_text
from .json_syntax import JObject
from .load import Loader, Module
from .modules import NOT_INSTALLED, Manifest, literal_string, resolve
from .options import MAX_MODULE_DEPTH
from .syntax import Block, Expr, JsonExpr, references
from .values import MISSING, Encoded, Fail, Unknown, find_unknown

_POLICY_PATH = re.compile(r"(^|\.)(policy|content|inline_policy)$")


@dataclass(slots=True, eq=False)
class Emitted:
    """One resource instance in the document, with the configuration it was built from."""

    address: str
    config_address: str
    block: Block
    mode: str
    call_path: tuple[str, ...]
    deps: frozenset
    calls: tuple[Block, ...] = ()  # the module call blocks that lead to it


@dataclass(slots=True)
class Plan:
    changes: list[dict] = field(default_factory=list)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)
    emitted: list[Emitted] = field(default_factory=list)
    unread: list[dict] = field(default_factory=list)


def emit(root: Instance) -> Plan:
    plan = Plan()
    _walk(root, plan, (), ())
    return plan


def _walk(instance: Instance, plan: Plan, call_path: tuple[str, ...], calls: tuple[Block, ...]) -> None:
    context = instance.context
    instance.validate()
    config_prefix = "".join(f"module.{name}." for name in call_path)
    for (mode, type_, name), block in instance.module.resources.items():
        context.deps.append(set())
        try:
            kind, instances, _ = instance.resource_instances(block)
        finally:
            deps = frozenset(context.deps.pop())
        local = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        for index, attributes in instances:
            address = f"{instance.prefix}{local}{index_text(index)}"
            plan.locations[address] = (block.source.path, block.line)
            plan.locations.setdefault(config_prefix + local, (block.source.path, block.line))
            plan.emitted.append(Emitted(address, config_prefix + local, block, mode, call_path, deps, calls))
            if mode == "managed":
                plan.changes.append(change(address, instance.address, mode, type_, name, index, attributes,
                                           ["create"]))
            elif type_ == policy_document.POLICY_DOCUMENT and isinstance(attributes.get("json"), Unknown):
                plan.changes.append(_deferred_document(address, instance.address, name, index, attributes))
    for name, call in instance.module.calls.items():
        kind, items, _ = instance.children(name)
        address = f"{instance.prefix}module.{name}"
        plan.locations.setdefault(address, (call.source.path, call.line))
        if kind == "unread":
            if items:
                plan.unread.append({"address": address, "resource_type": "module", "reason": NOT_INSTALLED})
            continue
        for _, child in items:
            _walk(child, plan, call_path + (name,), calls + (call,))


def _deferred_document(address: str, module_address: str, name: str, index, attributes: dict) -> dict:
    """A policy document read during apply, as a plan shows it: its statement blocks, sets unknown as a whole."""
    shown = _sets_of({k: v for k, v in attributes.items() if k not in ("json", "minified_json")})
    for statement in shown.get("statement") or [] if isinstance(shown.get("statement"), list) else []:
        if isinstance(statement, dict):
            statement.setdefault("effect", "Allow")  # the provider's default, shown in plans
    result = change(address, module_address, "data", policy_document.POLICY_DOCUMENT, name, index, shown, ["read"])
    known = find_unknown({k: v for k, v in attributes.items() if k not in ("json", "minified_json")}) is None
    result["action_reason"] = "read_because_dependency_pending" if known else "read_because_config_unknown"
    return result


def _sets_of(value):
    """The provider's sets and block lists are wholly unknown in a plan when one element is."""
    if isinstance(value, dict):
        return {key: _sets_of(item) for key, item in value.items()}
    if isinstance(value, list):
        unknown = next((item for item in value if isinstance(item, Unknown)), None)
        if unknown is not None:
            return unknown
        return [_sets_of(item) for item in value]
    return value


def change(address: str, module_address: str, mode: str, type_: str, name: str, index, attributes: dict,
           actions: list[str]) -> dict:
    after, after_unknown, unknowns = split(attributes, "")
    result: dict[str, Any] = {"address": address}
    if module_address:
        result["module_address"] = module_address
    result.update({"mode": mode, "type": type_, "name": name})
    if index is not None:
        result["index"] = index
    result["provider_name"] = f"registry.terraform.io/hashicorp/{type_.split('_')[0]}"
    result["change"] = {"actions": actions, "before": None, "after": after if after is not MISSING else {},
                        "after_unknown": after_unknown if isinstance(after_unknown, dict) else {},
                        "before_sensitive": False, "after_sensitive": {}}
    if unknowns:
        result["sesrego"] = extension(unknowns)
    return result


def extension(unknowns: list[tuple[str, Unknown]]) -> dict:
    """``resource_changes[].sesrego``: unresolved, documents, evaluated_from and explain."""
    unresolved, documents, evaluated_from, explain = {}, {}, {}, {}
    for path, unknown in unknowns:
        unresolved[path] = unknown.expression
        causes_in(unknown, explain)
        if _POLICY_PATH.search(path):
            document = document_of(unknown)
            if document is not None:
                documents[path] = document
            if isinstance(unknown, Encoded) and unknown.origin:
                evaluated_from[path] = unknown.origin
    out: dict[str, Any] = {"unresolved": unresolved}
    if documents:
        out["documents"] = documents
    if evaluated_from:
        out["evaluated_from"] = evaluated_from
    explained = {expression: why for expression, why in sorted(explain.items()) if why}
    if explained:
        out["explain"] = explained
    return out


def split(value, path: str) -> tuple[Any, Any, list[tuple[str, Unknown]]]:
    """(known part, after_unknown shape, [(attribute path, unknown)]) of a value, as a plan shows it."""
    if isinstance(value, Unknown):
        return MISSING, True, [(path, value)]
    if isinstance(value, dict):
        known, shape, unknowns = {}, {}, []
        for key, item in value.items():
            item_known, item_shape, item_unknowns = split(item, f"{path}.{key}" if path else str(key))
            if item_known is not MISSING:
                known[key] = item_known
            if item_shape is not False and item_shape != {}:
                shape[key] = item_shape
            unknowns.extend(item_unknowns)
        return known, shape, unknowns
    if isinstance(value, list):
        unknown = next((item for item in value if isinstance(item, Unknown)), None)
        if unknown is not None and all(isinstance(item, (dict, Unknown)) for item in value):
            return MISSING, True, [(path, unknown)]  # a block list with generated blocks unknown
        known, shape, unknowns = [], [], []
        for i, item in enumerate(value):
            item_known, item_shape, item_unknowns = split(item, f"{path}[{i}]")
            known.append(None if item_known is MISSING else item_known)
            shape.append(False if item_shape == {} else item_shape)
            unknowns.extend(item_unknowns)
        return known, (shape if any(s is not False for s in shape) else False), unknowns
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING, True, [(path, Unknown(path, "a number too large for sesrego to represent"))]
    return value, False, []


# --- configuration -------------------------------------------------------------------------------


def configuration(module: Module, loader: Loader, manifest: Manifest, key: str = "", depth: int = 0) -> dict:
    """``configuration.<module>``: each resource's attribute references, and its module calls."""
    resources = []
    for (mode, type_, name), block in module.resources.items():
        expressions = {}
        for attribute, expr in block.body.attributes.items():
            found = expression_references(expr)
            if found:
                expressions[attribute] = {"references": found}
        address = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        resources.append({"address": address, "mode": mode, "type": type_, "name": name,
                          "expressions": expressions})
    result: dict[str, Any] = {"resources": resources}
    calls = {}
    for name, call in module.calls.items():
        child_key = f"{key}.{name}" if key else name
        entry: dict[str, Any] = {"source": literal_string(call.body.attributes.get("source"))}
        version = literal_string(call.body.attributes.get("version"))
        if version:
            entry["version_constraint"] = version
        target = resolve(call, module.directory, child_key, manifest)
        if target is not None and depth < MAX_MODULE_DEPTH:
            entry["module"] = configuration(loader.directory(target), loader, manifest, child_key, depth + 1)
        calls[name] = entry
    if calls:
        result["module_calls"] = calls
    return result


def expression_references(expr: Expr | JsonExpr) -> list[str]:
    if isinstance(expr, Expr):
        return references(expr.node)
    if expr.literal:
        return []
    found: list[str] = []
    pending = [expr.value]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and "${" in value:
            for node in _template_expressions(value, expr):
                for reference in references(node):
                    if reference not in found:
                        found.append(reference)
        elif isinstance(value, list):
            pending.extend(reversed(value))
        elif isinstance(value, JObject):
            pending.extend(reversed([item for _, item, *_ in value.pairs]))
    return found


def _template_expressions(text: str, expr: JsonExpr) -> list:
    from .templates import For, If, Interpolation, parse_text

    try:
        nodes = list(parse_text(text, expr.source.path, expr.line))
    except Fail:
        return []
    out = []
    while nodes:
        node = nodes.pop(0)
        if isinstance(node, Interpolation):
            out.append(node.expr.node)
        elif isinstance(node, If):
            out.append(node.condition.node)
            nodes.extend(node.then + node.otherwise)
        elif isinstance(node, For):
            out.append(node.collection.node)
            nodes.extend(node.body)
    return out
