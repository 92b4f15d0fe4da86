"""``data "aws_iam_policy_document"``, rendered as the AWS provider renders it.

The provider's rules: ``effect`` defaults to ``Allow``; a list of one value becomes a string;
principals of the same type merge; ``source_policy_documents`` come first and statements with the
same ``sid`` replace theirs, ``override_policy_documents`` replace by ``sid`` last. A ``sid`` given
twice among the ``statement`` blocks, or among the source documents, is an error. ``&{`` in
resources, principals and condition values is written ``${`` (an IAM policy variable that HCL
needs no escape for), and is an error in a version ``2008-10-17`` document.

An argument that is not known makes Terraform read the data source during apply, so ``json`` is
unknown in the plan. Here the document is still rendered, with its unknown values left in place
(an :class:`~.values.Encoded` value whose ``origin`` is the data source), so that the rules can
decide whatever those values turn out to be. The same happens when the data source has
``depends_on`` (Terraform then reads it during apply too, though nothing in it is unknown).
"""

from __future__ import annotations

import json
from typing import Any

from .values import Either, Encoded, Fail, Invalid, Partial, Unknown, UnknownUsed, find_unknown, to_string

POLICY_DOCUMENT = "aws_iam_policy_document"
#: Nested blocks and the arguments each must set (the provider's schema).
REQUIRED = {"condition": ("test", "variable", "values"), "principals": ("type", "identifiers"),
            "not_principals": ("type", "identifiers")}


def render(attributes: dict, address: str, deferred: str = "") -> str | Unknown:
    """The document's ``json``: text when everything is known and it is read at plan time."""
    try:
        document = _document(attributes)
    except UnknownUsed as exc:  # an argument whose shape is not known
        document = {"Version": "2012-10-17", "Statement": Unknown.of(exc.unknown.causes)}
    except (Fail, TypeError, ValueError, AttributeError, KeyError) as exc:
        return Invalid(address, f"the provider would reject this document: {exc}")
    unknown = find_unknown(document)
    if unknown is None and not deferred:
        return json.dumps(document, indent=2)
    causes = list(unknown.causes) if unknown is not None else []
    if deferred:
        causes.append((f"{address}.json", deferred))
    return Encoded(document, causes, origin=address)


def _document(attributes: dict) -> dict:
    statements = _statements(attributes)
    document: dict[str, Any] = {"Version": attributes.get("version") or "2012-10-17"}
    policy_id = attributes.get("policy_id")
    if policy_id:
        document["Id"] = policy_id
    document["Statement"] = statements
    return document


def _statements(attributes: dict) -> list | Unknown:
    blocks = attributes.get("statement") or []
    if isinstance(blocks, Unknown):
        return _plain(blocks)
    version = attributes.get("version") or "2012-10-17"
    statements = [_statement(block, version) for block in blocks]
    _unique_sids(statements, "")
    sources = attributes.get("source_policy_documents")
    if sources:
        if isinstance(sources, Unknown):
            merged: list = [_plain(sources)]
        else:
            merged, every = [], []
            for text in sources:
                statements_of = _statements_of(text)
                every.extend(statements_of if isinstance(statements_of, list) else [statements_of])
                merged = _merge(merged, statements_of)
            _unique_sids(every, " in source_policy_documents")
        statements = _merge(merged, statements)
    overrides = attributes.get("override_policy_documents")
    if overrides:
        if isinstance(overrides, Unknown):
            return _plain(overrides)
        for text in overrides:
            replacing = _statements_of(text)
            if isinstance(replacing, Unknown):
                return replacing  # it may replace any statement
            statements = _merge(statements, replacing)
    return statements


def _plain(unknown: Unknown) -> Unknown:
    return unknown if type(unknown) in (Unknown, Invalid) else Unknown.of(unknown.causes)


def _leaf(unknown: Unknown) -> Unknown:
    """An unknown string or list of strings: a string with unknown parts keeps its known parts, the
    result of ``c ? a : b`` with an unknown condition what its options have in common."""
    return unknown if isinstance(unknown, (Partial, Either)) else _plain(unknown)


def _statements_of(text) -> list | Unknown:
    if isinstance(text, Encoded):
        document = text.value
    elif isinstance(text, Unknown):
        return [_plain(text)]
    else:
        document = json.loads(to_string(text))
    if not isinstance(document, dict):
        raise Fail("a source or override document is not a JSON object")
    statements = document.get("Statement", [])
    if isinstance(statements, Unknown):
        return [statements]
    return statements if isinstance(statements, list) else [statements]


def _unique_sids(statements: list, where: str) -> None:
    """The provider's refusal of a sid given twice (an empty or unknown sid may repeat)."""
    seen = set()
    for statement in statements:
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if isinstance(sid, str) and sid:
            if sid in seen:
                raise Fail(f"duplicate Sid ({sid}){where}. Remove the Sid or ensure the Sid is unique.")
            seen.add(sid)


def _merge(base: list, overriding: list | Unknown) -> list:
    out = list(base)
    for statement in overriding if isinstance(overriding, list) else [overriding]:
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        positions = [i for i, s in enumerate(out) if isinstance(sid, str) and sid and isinstance(s, dict)
                     and s.get("Sid") == sid]
        if positions:
            out[positions[0]] = statement
        else:
            out.append(statement)
    return out


def _one_or_many(values, version: str = ""):
    """A set of strings as the provider writes it: one string alone, else a list; with ``version``, its
    policy variables written ``&{x}`` become ``${x}``."""
    if isinstance(values, Unknown):
        return _leaf(values)
    if not isinstance(values, list):
        raise Fail("a list of strings is required")
    out, seen = [], set()
    for value in values:
        if isinstance(value, Unknown):
            out.append(_leaf(value))
            continue
        text = _variables(to_string(value), version) if version else to_string(value)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out[0] if len(out) == 1 else out


def _variables(text: str, version: str) -> str:
    if "&{" in text and version == "2008-10-17":
        raise Fail(f"found &{{ sequence in ({text}), which is not supported in document version 2008-10-17")
    return text.replace("&{", "${")


def _statement(block, version: str) -> dict | Unknown:
    if isinstance(block, Unknown):
        return _plain(block)
    statement: dict[str, Any] = {}
    sid = block.get("sid")
    if sid:
        statement["Sid"] = sid
    effect = block.get("effect")
    statement["Effect"] = effect if effect else "Allow"
    for attribute, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                           ("not_resources", "NotResource")):
        values = block.get(attribute)
        if values is not None and (not isinstance(values, list) or len(values) > 0):
            statement[key] = _one_or_many(values, version if key.endswith("Resource") else "")
    for attribute, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        blocks = block.get(attribute)
        if blocks:
            statement[key] = _principals(blocks, version)
    conditions = block.get("condition")
    if conditions:
        statement["Condition"] = _conditions(conditions, version)
    return statement


def _principals(blocks: list, version: str):
    unknown = next((b for b in blocks if isinstance(b, Unknown)), None) or next(
        (b["type"] for b in blocks if isinstance(b.get("type"), Unknown)), None)
    if unknown is not None:
        return _plain(unknown)  # a principal type (an object key) is not known
    if len(blocks) == 1 and blocks[0]["type"] == "*" and blocks[0].get("identifiers") == ["*"]:
        return "*"
    merged: dict[str, Any] = {}
    for block in blocks:
        identifiers = block.get("identifiers")
        kind = block["type"]
        if isinstance(identifiers, Unknown) or isinstance(merged.get(kind), Unknown):
            merged[kind] = _plain(identifiers) if isinstance(identifiers, Unknown) else merged[kind]
        else:
            merged.setdefault(kind, []).extend(identifiers or [])
    return {kind: _one_or_many(identifiers, version) for kind, identifiers in merged.items()}


def _conditions(blocks: list, version: str):
    for block in blocks:
        if isinstance(block, Unknown):
            return _plain(block)
        for key in ("test", "variable"):
            if isinstance(block.get(key), Unknown):
                return _plain(block[key])  # an operator or key (an object key) is not known
    conditions: dict[str, dict[str, Any]] = {}
    for block in blocks:
        values = block.get("values")
        variables = conditions.setdefault(block["test"], {})
        current = variables.get(block["variable"])
        if isinstance(values, Unknown) or isinstance(current, Unknown):
            variables[block["variable"]] = _plain(values) if isinstance(values, Unknown) else current
            continue
        variables.setdefault(block["variable"], []).extend(
            value if isinstance(value, Unknown) else _variables(to_string(value), version) for value in values or [])
    return {test: {variable: _single(values) for variable, values in variables.items()}
            for test, variables in conditions.items()}


def _single(values):
    if isinstance(values, list) and len(values) == 1:
        return values[0]
    return values


_NOT_RESOURCES = frozenset({"var", "local", "data", "module", "path", "terraform", "count", "each", "self"})


def read_during_apply(block, instance) -> str:
    """Why Terraform reads a data source during apply though its arguments are known, or "": it has
    depends_on (or its module call has), or it refers directly to a managed resource that is created."""
    from .instances import has_dependencies

    if has_dependencies(block):
        return "it has depends_on"
    if instance is None:
        return ""
    if instance.depends:
        return "its module call has depends_on"
    from .emit import expression_references

    pending = [block.body]
    while pending:
        body = pending.pop()
        pending.extend(child.body for child in body.blocks)
        for expr in body.attributes.values():
            for reference in expression_references(expr):
                parts = reference.split(".")
                if len(parts) < 2 or parts[0] in _NOT_RESOURCES:
                    continue
                target = instance.module.resources.get(("managed", parts[0], parts[1].split("[")[0]))
                if target is not None:
                    kind, instances, _ = instance.resource_instances(target)
                    if kind == "unknown" or instances:
                        return f"it refers to {target.address}, which is created"
    return ""


def missing_arguments(block) -> list[tuple[str, str, str, int]]:
    """The required arguments a document's nested blocks leave out: ``(block, argument, file, line)``.

    ``block`` is the ``data "aws_iam_policy_document"`` block as written (a syntax tree), checked
    as Terraform checks it before planning, whatever its ``count``.
    """
    missing = []
    pending = [(child, None) for child in block.body.blocks]
    while pending:
        current, parent = pending.pop()
        kind = current.type
        if kind == "dynamic" and current.labels:
            kind = current.labels[0]
            content = [b for b in current.body.blocks if b.type == "content"]
            where = content[0] if content else current
            body = content[0].body if content else None
        else:
            body, where = current.body, current
        if body is None:
            continue
        if parent == "statement" and kind in REQUIRED:
            for argument in REQUIRED[kind]:
                if argument not in body.attributes:
                    missing.append((kind, argument, where.source.path, where.line))
        if kind == "statement":
            pending.extend((child, "statement") for child in body.blocks)
    return sorted(missing, key=lambda item: (item[2], item[3], item[0], item[1]))
