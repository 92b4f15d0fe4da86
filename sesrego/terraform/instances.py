"""Module instances: variables, locals, resources and module calls, expanded by count and for_each.

An :class:`Instance` is the root module or one instance of a module call (``module.a["k"]``). Its
named values are computed once and cached with the configuration blocks they read, so that every
policy knows which ``aws_iam_policy_document``, ``locals`` and module calls it was built from,
through any number of locals, outputs and modules.

``count`` and ``for_each`` are checked as Terraform checks them (``count = -3`` or ``1.5`` is an
error, so is a ``for_each`` over a list). When they are unknown, the resource or module is
evaluated once with an unknown ``count.index``/``each``: its address has no instance key, and a
reference to its instances (``x[0]``, ``x[count.index]``, ``x[*]``) reads that one evaluation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from . import policy_document
from .evaluate import Scope, evaluate
from .load import Loader, Module, resolved
from .modules import MODULE_ARGUMENTS, NOT_INSTALLED, Manifest, resolve
from .options import MAX_INSTANCES, MAX_MODULE_DEPTH, MAX_REFERENCE_DEPTH, MAX_VALUE_DEPTH, ReaderOptions
from .syntax import Block, JsonExpr, is_tree, trees
from .templates import parse_text, render
from .types import convert, parse_type
from .values import (Budget, Computed, Fail, Invalid, LimitExceeded, Repeated, TfSet, Unknown, find_unknown, finite,
                     type_name)

META_ARGUMENTS = frozenset({"count", "for_each", "provider", "depends_on"})
META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection", "precondition", "postcondition"})
#: The provider's default when an aws_organizations_policy has no ``type``.
ORGANIZATIONS_POLICY_DEFAULT_TYPE = "SERVICE_CONTROL_POLICY"
_IN_PROGRESS = object()


class Context:
    """What one root module's evaluation shares: files, options, caps, the scanned tree, what it read."""

    def __init__(self, loader: Loader, options: ReaderOptions, manifest: Manifest, tree: Path,
                 root: Module, root_values: dict, workspace: str = "default") -> None:
        self.loader = loader
        self.options = options
        self.budget = Budget(options.max_eval_steps, options.max_value_bytes, MAX_VALUE_DEPTH)
        self.manifest = manifest
        self.tree = resolved(tree)
        self.root_directory = root.directory
        self.root_values = root_values
        self.workspace = workspace  # terraform.workspace
        self.deps: list[set] = []
        self.instantiated: set[Path] = set()


class Instance:
    """One instance of a module; values are computed once, with the blocks they read."""

    def __init__(self, module: Module, context: Context, address: str = "", parent: Instance | None = None,
                 arguments: dict | None = None, key_path: str = "", call: Block | None = None) -> None:
        self.module = module
        self.context = context
        self.address = address
        self.parent = parent
        self.arguments = arguments  # None for the root module
        self.key_path = key_path
        self.call = call
        self.depth = parent.depth + 1 if parent else 0
        #: Terraform reads this instance's data sources during apply: its module call, or one above, has depends_on
        self.depends = has_dependencies(call) or (parent is not None and parent.depends)
        self._cache: dict = {}
        context.instantiated.add(resolved(module.directory))

    @property
    def prefix(self) -> str:
        return self.address + "." if self.address else ""

    def path_value(self, kind: str) -> str:
        if kind == "cwd":
            return str(resolved(self.context.root_directory))
        if kind == "root" or self.parent is None:
            return "."
        return os.path.relpath(self.module.directory, self.context.root_directory)

    def cached(self, key, compute: Callable[[], Any], dep=None):
        """``compute()`` once; every read also records the blocks it read (and ``dep``) for the reader."""
        deps_stack = self.context.deps
        entry = self._cache.get(key)
        if entry is _IN_PROGRESS:
            return Invalid(key[-1], "a reference cycle")
        if entry is None:
            if len(deps_stack) >= MAX_REFERENCE_DEPTH:
                raise LimitExceeded(f"references nested more than {MAX_REFERENCE_DEPTH} deep (locals, variables, "
                                    "outputs and resources that refer to one another)")
            self._cache[key] = _IN_PROGRESS
            deps_stack.append(set())
            try:
                value = compute()
            finally:
                read = deps_stack.pop()
                self._cache.pop(key, None)
            entry = (value, frozenset(read))
            self._cache[key] = entry
        if deps_stack:
            deps_stack[-1].update(entry[1])
            if dep is not None:
                deps_stack[-1].add(dep)
        return entry[0]

    # named values

    def variable(self, name: str) -> tuple[Any, bool]:
        if self.arguments is None:
            value = self.context.root_values.get(name)
            if name not in self.context.root_values:
                return Invalid(f"var.{name}", f'the root module declares no variable "{name}"'), False
            block = self.module.variables.get(name)
            if self.context.deps and block is not None:
                self.context.deps[-1].add(block)
            return value, isinstance(value, Unknown)
        return self.cached(("var", name), lambda: self._argument(name), dep=self.call), False

    def validate(self) -> None:
        """Each variable's ``validation`` rules, as Terraform checks them: a condition known to be false is an
        error with the rule's message; an unknown one is checked during apply, so it passes here."""
        for name, block in self.module.variables.items():
            rules = [b for b in block.body.blocks if b.type == "validation" and "condition" in b.body.attributes]
            if not rules:
                continue
            self.variable(name)
            for rule in rules:
                condition = evaluate(rule.body.attributes["condition"], Scope(self))
                if condition is not False and condition != "false":
                    continue
                message = rule.body.attributes.get("error_message")
                text = evaluate(message, Scope(self)) if message is not None else None
                where = self.arguments[name][0] if self.arguments and name in self.arguments else block
                raise InputError(f'Invalid value for variable "{name}"{" of " + self.address if self.address else ""}'
                                 f": {text if isinstance(text, str) else 'its validation condition is false'}",
                                 path=where.source.path, line=where.line)

    def _argument(self, name: str):
        block = self.module.variables.get(name)
        if block is None:
            return Invalid(f"var.{name}", f'the module declares no variable "{name}"')
        try:
            constraint = parse_type(block.body.attributes.get("type"))
        except Fail:
            constraint = "any"
        attributes = block.body.attributes
        if name in self.arguments:
            expr, scope = self.arguments[name]
            value, where = evaluate(expr, scope), expr
        elif "default" in attributes:
            where = attributes["default"]
            value = evaluate(where, Scope(None))
        else:
            raise InputError(f'Missing required argument: module "{self.call.labels[0]}" needs the argument '
                             f'"{name}"', path=self.call.source.path, line=self.call.line)
        if value is None and "nullable" in attributes and evaluate(attributes["nullable"], Scope(None)) is False:
            if "default" not in attributes:  # nullable = false: null means the default, and there is none
                raise InputError(f'Invalid value for variable "{name}" of {self.address}: it may not be null '
                                 "(nullable = false) and it has no default", path=where.source.path, line=where.line)
            value = evaluate(attributes["default"], Scope(None))
        try:
            return convert(value, constraint)
        except Fail as exc:
            raise InputError(f'Invalid value for variable "{name}" of {self.address}: {exc}',
                             path=where.source.path, line=where.line) from None

    def local(self, name: str):
        local = self.module.locals.get(name)
        if local is None:
            return Invalid(f"local.{name}", f'the module defines no local value "{name}"')
        return self.cached(("local", name), lambda: evaluate(local.expr, Scope(self)), dep=local)

    def output(self, name: str):
        block = self.module.outputs[name]
        expr = block.body.attributes.get("value")
        if expr is None:
            return None
        return self.cached(("output", name), lambda: evaluate(expr, Scope(self)), dep=block)

    # resources

    def has_resource(self, type_: str, name: str) -> bool:
        return ("managed", type_, name) in self.module.resources

    def resource_instances(self, block: Block) -> tuple[str, list[tuple[Any, dict]], tuple]:
        mode = "data" if block.type == "data" else "managed"

        def compute():
            kind, scopes, causes = expansion(block, Scope(self), self.prefix + _address(block))
            out = []
            for key, scope in scopes:
                address = f"{self.prefix}{_address(block)}{index_text(key)}"
                out.append((key, resource_attributes(block, scope, address)))
            return kind, out, causes

        return self.cached(("resource", mode, *block.labels), compute, dep=block)

    def resource_value(self, mode: str, type_: str, name: str):
        block = self.module.resources.get((mode, type_, name))
        address = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        if block is None:
            return Invalid(address, "this module declares no such resource")
        kind, instances, causes = self.resource_instances(block)
        why = ("read by the provider from AWS when Terraform plans; sesrego does not call AWS: scan the plan"
               if mode == "data" else f"computed by the provider when {address} is created: known only after apply")
        objects = [(index, Computed(attributes, address, why)) for index, attributes in instances]
        return _collection(kind, objects, causes)

    # module calls

    def children(self, name: str):
        """(kind, [(key, Instance)], causes) for a module call; ``"unread"`` when its source is not installed."""
        call = self.module.calls.get(name)
        if call is None:
            return None
        key_path = f"{self.key_path}.{name}" if self.key_path else name
        target = resolve(call, self.module.directory, key_path, self.context.manifest)

        def compute():
            if target is None:
                kind, scopes, causes = expansion(call, Scope(self), f"{self.prefix}module.{name}")
                return "unread", [key for key, _ in scopes], causes
            if self.depth >= MAX_MODULE_DEPTH:
                raise InputError(f"modules nested more than {MAX_MODULE_DEPTH} deep", path=call.source.path,
                                 line=call.line)
            module = self.context.loader.directory(target)
            kind, scopes, causes = expansion(call, Scope(self), f"{self.prefix}module.{name}")
            out = []
            for key, scope in scopes:
                arguments = {arg: (expr, scope) for arg, expr in call.body.attributes.items()
                             if arg not in MODULE_ARGUMENTS}
                address = f"{self.prefix}module.{name}{index_text(key)}"
                out.append((key, Instance(module, self.context, address, self, arguments, key_path, call)))
            return kind, out, causes

        return self.cached(("module", name), compute, dep=call)

    def module_value(self, name: str):
        result = self.children(name)
        if result is None:
            return Invalid(f"module.{name}", "this module has no such module call")
        kind, instances, causes = result
        if kind == "unread":
            return Unknown(f"module.{name}", NOT_INSTALLED)
        objects = [(key, {output: child.output(output) for output in child.module.outputs})
                   for key, child in instances]
        return _collection(kind, objects, causes)


def instance_key_problem(block: Block | None, steps: list) -> str | None:
    """Why a reference to a resource is wrong, Terraform checking it before evaluating anything (even inside
    try): it has an instance key exactly when the resource has count or for_each."""
    if block is None or not steps or steps[0][0] == "splat":
        return None
    expanded = next((meta for meta in ("count", "for_each") if meta in block.body.attributes), None)
    if expanded is None and steps[0][0] == "index":
        return (f"Unexpected resource instance key: {block.address} has no count or for_each, so a reference to it "
                "takes no index")
    if expanded is not None and steps[0][0] == "attr":
        return (f"Missing resource instance key: {block.address} has {expanded}, so its attributes are those of "
                f"one instance ({block.address}[...].{steps[0][1]})")
    return None


def _collection(kind: str, objects: list, causes: tuple):
    if kind == "unknown":
        return Repeated(objects[0][1], causes)
    if kind == "count":
        return [obj for _, obj in objects]
    if kind == "for_each":
        return dict(objects)
    return objects[0][1]


def _address(block: Block) -> str:
    return ("data." if block.type == "data" else "") + ".".join(block.labels)


def index_text(key) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    import json

    return f"[{json.dumps(key, ensure_ascii=False)}]"


# --- count and for_each ------------------------------------------------------------------------


def expansion(block: Block, scope: Scope, address: str) -> tuple[str, list[tuple[Any, Scope]], tuple]:
    """How a resource or module call expands: (kind, [(instance key, scope)], causes if unknown).

    ``kind`` is ``single``, ``count``, ``for_each`` or ``unknown``.
    """
    instance = scope.instance
    count_expr = block.body.attributes.get("count")
    for_each_expr = block.body.attributes.get("for_each")
    expr = count_expr if count_expr is not None else for_each_expr
    if expr is None:
        return "single", [(None, Scope(instance))], ()
    value = evaluate(expr, scope)
    name = "count" if count_expr is not None else "for_each"
    if isinstance(value, Unknown) and not isinstance(value, Invalid):
        why = f"the instances of {address} depend on {name} = {expr.text}, which is not known"
        causes = value.causes
        placeholder = Unknown("count.index" if name == "count" else "each", why)
        if name == "count":
            return "unknown", [(None, Scope(instance, count=placeholder))], causes
        return "unknown", [(None, Scope(instance, each=placeholder))], causes

    def fail(summary: str, detail: str):
        return InputError(f"{summary}: {detail}", path=expr.source.path, line=expr.line)

    if isinstance(value, Invalid):
        raise fail(f"Invalid {name} argument", f"{expr.text}: {value.causes[0][1] or 'cannot be evaluated'}")
    if count_expr is not None:
        number = _count(value, fail)
        return "count", [(i, Scope(instance, count=i)) for i in range(number)], ()
    items = _for_each(value, fail)
    return "for_each", [(key, Scope(instance, each=(key, item))) for key, item in items], ()


def _count(value, fail) -> int:
    from .values import number as to_number

    if value is None:
        raise fail("Invalid count argument", 'the given "count" argument value is null; an integer is required')
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise fail("Incorrect value type", "invalid expression value: number required")
    try:
        number = to_number(value)
    except Fail:
        raise fail("Incorrect value type", "invalid expression value: a number is required") from None
    if not finite(number) or number != int(number) or not -2 ** 63 <= number < 2 ** 63:
        raise fail("Invalid count argument", 'the given "count" argument value is unsuitable: value must be a '
                   "whole number, between -9223372036854775808 and 9223372036854775807")
    number = int(number)
    if number < 0:
        raise fail("Invalid count argument", 'the given "count" argument value is unsuitable: must be greater '
                   "than or equal to zero")
    if number > MAX_INSTANCES:
        raise fail("Invalid count argument", f"count = {number} is over sesrego's limit of {MAX_INSTANCES} "
                   "instances")
    return number


def _for_each(value, fail) -> list[tuple[str, Any]]:
    prefix = 'the given "for_each" argument value is unsuitable: '
    if value is None:
        raise fail("Invalid for_each argument", prefix + "the given \"for_each\" argument value is null. A map, "
                   "or set of strings is allowed.")
    if isinstance(value, dict):
        items = [(key, value[key]) for key in sorted(value)]
    elif isinstance(value, TfSet):
        if any(not isinstance(item, str) for item in value):
            kinds = sorted({type_name(item) for item in value if not isinstance(item, str)})
            raise fail("Invalid for_each set argument", prefix + "\"for_each\" supports maps and sets of strings, "
                       f"but you have provided a set containing type {kinds[0]}.")
        items = [(item, item) for item in sorted(value)]
    else:
        raise fail("Invalid for_each argument", prefix + "the \"for_each\" argument must be a map, or set of "
                   f"strings, and you have provided a value of type {type_name(value)}.")
    if len(items) > MAX_INSTANCES:
        raise fail("Invalid for_each argument", f"{len(items)} instances are over sesrego's limit of "
                   f"{MAX_INSTANCES}")
    return items


# --- a resource's attributes ---------------------------------------------------------------------


def has_dependencies(block: Block | None) -> bool:
    """Whether a block's ``depends_on`` names anything (``depends_on = []`` names nothing)."""
    expr = block.body.attributes.get("depends_on") if block is not None else None
    if expr is None:
        return False
    if isinstance(expr, JsonExpr):
        return bool(expr.value)
    node = expr.node
    while is_tree(node) and node.data == "expr_term" and len(trees(node)) == 1:
        node = trees(node)[0]
    return not (is_tree(node) and node.data == "tuple" and not trees(node))


def resource_attributes(block: Block, scope: Scope, address: str) -> dict:
    attributes = body_value(block.body, scope, top=True)
    kind = block.labels[0] if block.labels else ""
    if block.type == "data" and kind == policy_document.POLICY_DOCUMENT:
        deferred = ""
        why = policy_document.read_during_apply(block, scope.instance)
        if why:
            deferred = (f"{address} is read during apply ({why}), so its JSON is known only then; "
                        "sesrego evaluates its statements instead")
        document = policy_document.render(attributes, address, deferred)
        attributes["json"] = document
        attributes["minified_json"] = _minified(document)
    elif block.type == "data" and kind == "template_file":
        attributes["rendered"] = _template_file(attributes, address)
    elif block.type == "resource" and kind == "aws_organizations_policy" and "type" not in attributes:
        attributes["type"] = ORGANIZATIONS_POLICY_DEFAULT_TYPE
    return attributes


def _minified(document):
    if isinstance(document, str):
        import json

        return json.dumps(json.loads(document), separators=(",", ":"))
    return document


def _template_file(attributes: dict, address: str):
    template, variables = attributes.get("template"), attributes.get("vars") or {}
    unknown = find_unknown(template)
    if unknown is not None:
        return Unknown(f"{address}.rendered", f"its template depends on {unknown.expression}")
    if not isinstance(template, str) or not isinstance(variables, dict):
        return Invalid(f"{address}.rendered", "template_file needs a template string and a map of vars")
    try:
        nodes = parse_text(template, address, 1)
    except Fail as exc:
        return Invalid(f"{address}.rendered", str(exc))
    names = dict(variables)
    return render(nodes, lambda expr, bound: evaluate(expr, Scope(None, names={**names, **bound})))


def body_value(body, scope: Scope, top: bool = False) -> dict:
    """The arguments of a block and its nested blocks (as lists of objects, as in a plan)."""
    out: dict[str, Any] = {}
    for name, expr in body.attributes.items():
        if top and name in META_ARGUMENTS:
            continue
        out[name] = evaluate(expr, scope)
    for block in body.blocks:
        if top and block.type in META_BLOCKS:
            continue
        kind = block.labels[0] if block.type == "dynamic" and block.labels else block.type
        current = out.setdefault(kind, [])
        if not isinstance(current, list):
            continue
        if block.type == "dynamic" and block.labels:
            current.extend(_dynamic(block, scope))
        else:
            current.append(body_value(block.body, scope))
    return out


def _dynamic(block: Block, scope: Scope) -> list:
    """The blocks a ``dynamic`` block generates; one unknown stands for them when ``for_each`` is unknown."""
    label = block.labels[0]
    for_each = block.body.attributes.get("for_each")
    if for_each is None:
        return [Invalid(f'dynamic "{label}"', "a dynamic block needs for_each")]
    collection = evaluate(for_each, scope)
    if isinstance(collection, Unknown):
        return [collection if isinstance(collection, Invalid) else Unknown.of(collection.causes)]
    if collection is None:
        raise InputError("Invalid dynamic for_each value: cannot use a null value in for_each",
                         path=for_each.source.path, line=for_each.line)
    if not isinstance(collection, (list, dict)):
        return [Invalid(for_each.text, "for_each must be a collection")]
    iterator = label
    if "iterator" in block.body.attributes:
        iterator = block.body.attributes["iterator"].text.strip('"')
    content = next((b for b in block.body.blocks if b.type == "content"), None)
    if content is None:
        return []
    from .values import collection_items

    if isinstance(collection, TfSet) and find_unknown(collection) is not None:
        return [Unknown.of(find_unknown(collection).causes)]
    return [body_value(content.body, scope.bind({iterator: {"key": key, "value": value}}))
            for key, value in collection_items(collection)]
