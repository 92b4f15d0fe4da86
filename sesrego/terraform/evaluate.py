"""Evaluating one expression, in the scope of a module instance.

Every failure becomes a value: an expression Terraform would reject is :class:`~.values.Invalid`
(``try`` skips it), one that depends on something not known before apply is
:class:`~.values.Unknown`; both name the expression. Nothing an expression does can raise out of
:func:`evaluate` except the reader's caps (:class:`~.values.LimitExceeded`), which refuse the
whole root module.
"""

from __future__ import annotations

from typing import Any

from . import files
from .functions import APPLY_TIME, FUNCTIONS, STRUCTURAL
from .json_syntax import JObject
from .syntax import Expr, JsonExpr, has_token, is_bare_key, is_tree, node_text, token_text, traversal, trees
from .templates import from_string_node, parse_text, render
from .types import convert, type_of, unify
from .values import (
    MISSING,
    Budget,
    Computed,
    Either,
    Fail,
    Invalid,
    LimitExceeded,
    Repeated,
    TfSet,
    Unknown,
    UnknownUsed,
    active_budget,
    collection_items,
    combine,
    find_unknown,
    logical,
    normal_number,
    number,
    operate,
    parse_number,
    to_bool,
    to_string,
    type_name,
)

_ABSENT = object()
_FALLBACK_BUDGET = Budget(10 ** 7, 64 * 2 ** 20)
_ERRORS = (Fail, TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError, OverflowError)


class Scope:
    """Where an expression is evaluated: a module instance, count/each, and for-expression names."""

    __slots__ = ("instance", "count", "each", "names")

    def __init__(self, instance, count=_ABSENT, each=_ABSENT, names=None) -> None:
        self.instance = instance
        self.count = count  # count.index: int, Unknown, or _ABSENT
        self.each = each  # (key, value), Unknown, or _ABSENT
        self.names = names or {}

    def bind(self, names: dict) -> Scope:
        return Scope(self.instance, self.count, self.each, {**self.names, **names}) if names else self


def evaluate(expr: Expr | JsonExpr, scope: Scope):
    if isinstance(expr, JsonExpr):
        return _json_value(expr.value, expr, scope, expr.literal)
    return Evaluator(scope, expr.source, expr.line_offset).value(expr.node)


def poison(unknown: Unknown) -> Unknown:
    """An unknown standing for the result of using ``unknown`` (what was known about it is lost)."""
    return unknown if type(unknown) in (Unknown, Invalid) else Unknown.of(unknown.causes)


def _budget() -> Budget:
    return active_budget() or _FALLBACK_BUDGET


# --- .tf.json expressions ----------------------------------------------------------------


def _json_value(value, expr: JsonExpr, scope: Scope, literal: bool):
    _budget().step()
    if isinstance(value, str):
        if literal or ("${" not in value and "%{" not in value):
            return value
        try:
            nodes = parse_text(value, expr.source.path, expr.line)
        except Fail as exc:
            return Invalid(expr.text, str(exc))
        return _budget().check(render(nodes, lambda e, names: evaluate(e, scope.bind(names))))
    if isinstance(value, list):
        return _budget().check([_json_value(item, expr, scope, literal) for item in value])
    if isinstance(value, JObject):
        out = {}
        for name, item, *_ in value.pairs:
            key = name if literal else _json_value(name, expr, scope, False)
            if isinstance(key, Unknown):
                return poison(key)
            out[to_string(key)] = _json_value(item, expr, scope, literal)
        return _budget().check(out)
    return value


# --- HCL expressions ---------------------------------------------------------------------


class Evaluator:
    """Evaluates one expression tree; failures become values naming the expression."""

    __slots__ = ("scope", "source", "offset", "budget")

    def __init__(self, scope: Scope, source, offset: int = 0) -> None:
        self.scope = scope
        self.source = source
        self.offset = offset  # lines before a template fragment's own text
        self.budget = _budget()

    def text(self, node) -> str:
        return node_text(node, self.source)

    def value(self, node):
        method = getattr(self, "_" + node.data, None)
        if method is None:
            return Unknown(self.text(node), f"sesrego does not evaluate {node.data.replace('_', ' ')} expressions")
        try:
            self.budget.step()
            return self.budget.check(method(node))
        except UnknownUsed as exc:
            return poison(exc.unknown)
        except _ERRORS as exc:
            return Invalid(self.text(node), _problem(exc))
        except RecursionError:  # beyond the reader's own caps (a very long chain of operators)
            exc = LimitExceeded("expressions nested too deeply to evaluate")
            exc.where = (self.source.path, getattr(getattr(node, "meta", None), "line", 1) + self.offset)
            raise exc from None
        except LimitExceeded as exc:
            if exc.where is None:
                exc.where = (self.source.path, getattr(getattr(node, "meta", None), "line", 1) + self.offset)
            raise

    def inner(self, names: dict) -> Evaluator:
        return Evaluator(self.scope.bind(names), self.source, self.offset) if names else self

    # literals

    def _expr_term(self, node):
        if node.children and not is_tree(node.children[0]):  # ( expression )
            return self.value(trees(node)[0])
        inner = trees(node)[0]
        if inner.data == "identifier":
            return self._reference(node)
        return self.value(inner)

    def _identifier(self, node):
        return self._reference(node)

    def _literal_value(self, node):
        return {"true": True, "false": False, "null": None}[token_text(node)]

    def _int_lit(self, node):
        return parse_number(token_text(node))

    def _float_lit(self, node):
        return parse_number(token_text(node))

    def _string(self, node):
        parts = [piece for part in trees(node) for piece in part.children]
        if all(not is_tree(piece) and piece.type == "STRING_CHARS" for piece in parts):
            from hcl2.utils import process_escape_sequences

            return process_escape_sequences("".join(str(piece) for piece in parts))
        return render(from_string_node(node, self.source), lambda expr, names: self.inner(names).value(expr.node))

    def _heredoc_template(self, node):
        return self._heredoc(node, trim=False)

    def _heredoc_template_trim(self, node):
        return self._heredoc(node, trim=True)

    def _heredoc(self, node, trim: bool):
        token = token_text(node)
        lines = token.split("\n")[1:]
        while lines and lines[-1].strip() == "":
            lines.pop()
        lines = [line.rstrip("\r") for line in lines[:-1]]  # without the closing marker
        if trim:
            cut = min((len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()), default=0)
            lines = [line[cut:] for line in lines]
        body = "".join(line + "\n" for line in lines)
        if "${" not in body and "%{" not in body:
            return body
        nodes = parse_text(body, self.source.path, getattr(node.meta, "line", 1) + 1)
        return render(nodes, lambda expr, names: evaluate(expr, self.scope.bind(names)))

    def _tuple(self, node):
        return [self.value(child) for child in trees(node)]

    def _object(self, node):
        out = {}
        for element in trees(node):
            key_node, value_node = trees(element)
            key = self._object_key(key_node)
            if isinstance(key, Unknown):
                return poison(key)
            out[key] = self.value(value_node)
        return out

    def _object_key(self, node):
        if is_bare_key(node):
            inner = trees(node)[0]
            return token_text(inner if inner.data == "keyword" else trees(inner)[0])
        key = self.value(trees(node)[0])
        return key if isinstance(key, Unknown) else to_string(key)

    # operators

    def _conditional(self, node):
        """``c ? a : b``: both results take their common type, as in Terraform (``true ? 1 : "x"`` is "1")."""
        condition, yes, no = trees(node)
        test = self.value(condition)
        if test is None:
            raise Fail("the condition is null; it must be true or false")
        results = self.value(yes), self.value(no)
        if isinstance(test, Unknown):
            return None if results == (None, None) else Either(results, test.causes)
        chosen = results[0] if to_bool(test) else results[1]
        if any(isinstance(result, Unknown) for result in results) or None in results:
            return chosen  # a null result takes the other's type; an unknown one's type is not known here
        try:
            common = unify([type_of(result) for result in results])
        except Fail as exc:
            raise Fail(f"Inconsistent conditional result types: {exc}") from None
        return convert(chosen, common)

    def _binary_op(self, node):
        left_node, term = trees(node)[:2]
        operator_node, right_node = trees(term)
        operator = token_text(operator_node).split()[-1]
        left, right = self.value(left_node), self.value(right_node)
        if operator in ("&&", "||"):
            return logical(operator == "||", left, right)
        unknown = combine(left, right)
        if unknown is not None:
            return poison(unknown)
        return operate(operator, left, right)

    def _unary_op(self, node):
        operator = str(node.children[0]).strip()
        value = self.value(trees(node)[0])
        if isinstance(value, Unknown):
            return poison(value)
        return (not to_bool(value)) if operator == "!" else normal_number(-number(value))

    def _for_tuple_expr(self, node):
        parts = trees(node)
        return self._for(parts[0], None, parts[1], parts[2] if len(parts) > 2 else None, group=False)

    def _for_object_expr(self, node):
        parts = trees(node)
        return self._for(parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else None,
                         group=has_token(node, "ELLIPSIS"))

    def _for(self, intro, key_node, value_node, condition, group: bool):
        parts = trees(intro)
        names = [token_text(p) for p in parts if p.data == "identifier"]
        collection = self.value(parts[-1])
        if isinstance(collection, Unknown):
            return poison(collection)
        if isinstance(collection, TfSet) and find_unknown(collection) is not None:
            return poison(find_unknown(collection))
        results_list, results_map = [], {}
        for key, item in collection_items(collection):
            self.budget.step()
            bound = {names[0]: item} if len(names) == 1 else {names[0]: key, names[1]: item}
            inner = self.inner(bound)
            if condition is not None:
                keep = inner.value(trees(condition)[0])
                if isinstance(keep, Unknown):
                    return poison(keep)
                if not to_bool(keep):
                    continue
            value = inner.value(value_node)
            if key_node is None:
                results_list.append(value)
                continue
            result_key = inner.value(key_node)
            if isinstance(result_key, Unknown):
                return poison(result_key)
            result_key = to_string(result_key)
            if group:
                results_map.setdefault(result_key, []).append(value)
            elif result_key in results_map:
                raise Fail(f"duplicate key {result_key!r} in a for expression (use ... to group)")
            else:
                results_map[result_key] = value
        return results_list if key_node is None else results_map

    # function calls

    def _function_call(self, node):
        parts = trees(node)
        identifiers = [p for p in parts if p.data == "identifier"]
        if len(identifiers) != 1:
            return Unknown(self.text(node), "sesrego does not evaluate provider-defined functions")
        name = token_text(identifiers[0])
        arguments = next((p for p in parts if p.data == "arguments"), None)
        nodes = trees(arguments) if arguments is not None else []
        if name in ("try", "can"):
            return self._try(name, nodes)
        if name in files.FUNCTIONS:
            return files.call(name, self, nodes, self.text(node))
        if name in APPLY_TIME:
            return Unknown(self.text(node), f"{name}() is known only during apply")
        function = FUNCTIONS.get(name)
        if function is None:
            return Unknown(self.text(node), f"sesrego does not evaluate the function {name}()")
        values = [self.value(n) for n in nodes]
        if arguments is not None and has_token(arguments, "ELLIPSIS") and values:
            if isinstance(values[-1], Unknown):
                return poison(values[-1])
            values = values[:-1] + list(values[-1])
        if name in STRUCTURAL:
            try:
                return function(*values)
            except _ERRORS:
                unknown = find_unknown(values)
                if unknown is not None:
                    return poison(unknown)
                raise
        unknown = find_unknown(values)
        if unknown is not None:
            return poison(unknown)
        return function(*values)

    def _try(self, name: str, nodes):
        for candidate in nodes:
            value = self.value(candidate)
            unknown = find_unknown(value)
            if unknown is None:
                return True if name == "can" else value
            if not isinstance(unknown, Invalid):
                return poison(unknown) if name == "can" else value  # unknown, not an error
            if name == "can":
                return False
        raise Fail("no argument of try() could be evaluated")

    # references

    def _get_attr_expr_term(self, node):
        return self._reference(node)

    _index_expr_term = _attr_splat_expr_term = _full_splat_expr_term = _get_attr_expr_term

    def _reference(self, node):
        root, steps = traversal(node)
        if isinstance(root, str):
            value, used, fresh = self._root(root, steps, node)
        else:
            value, used, fresh = self.value(root), 0, False
        if isinstance(value, Unknown) and not isinstance(value, Repeated):
            return Unknown(self.text(node), value.causes[0][1]) if fresh else value
        for step in steps[used:]:
            previous = value
            value = self._step(value, step, node)
            if value is MISSING:
                return Unknown(self.text(node), _missing_why(previous))
            if isinstance(value, _KeyUnknown):
                return Unknown(self.text(node), value.unknown.causes[0][1] or
                               f"the key {value.unknown.expression} is not known")
            if isinstance(value, Unknown) and not isinstance(value, Repeated):
                return value
        return value

    def _step(self, value, step, node=None):
        kind, argument = step
        if kind == "splat":
            return self._splat(value, argument, node)
        key = argument if kind == "attr" or not is_tree(argument) else self.value(argument)
        if isinstance(value, Repeated):
            return value.element if kind == "index" else poison(value)
        if isinstance(value, Unknown):
            return poison(value)
        if isinstance(key, Unknown):
            return _same_for_every_key(value, key)
        if isinstance(value, dict):
            key = to_string(key)
            if key in value:
                return value[key]
            if isinstance(value, Computed):
                return MISSING
            raise Fail(f"no attribute or key {key!r}")
        if isinstance(value, list) and kind == "index":
            index = number(key)
            if index != int(index) or not 0 <= index < len(value):
                raise Fail(f"index {key} out of range")
            return value[int(index)]
        raise Fail(f"cannot index a {type_name(value)} value")

    def _splat(self, value, steps, node):
        if isinstance(value, Repeated):
            element = value.element
            for sub in steps:
                element = self._step(element, sub)
                if element is MISSING or isinstance(element, (_KeyUnknown, Unknown)):
                    return poison(value)
            return Repeated(element, value.causes)
        if isinstance(value, Unknown):
            return poison(value)
        if value is None:
            return []
        out = []
        for item in value if isinstance(value, list) else [value]:
            for sub in steps:
                item = self._step(item, sub)
                if item is MISSING or isinstance(item, _KeyUnknown):
                    item = Unknown(self.text(node), _missing_why(item))
                    break
                if isinstance(item, Unknown):
                    break
            out.append(item)
        return out

    def _check_key(self, block, steps: list, node) -> None:
        from .instances import instance_key_problem

        problem = instance_key_problem(block, steps)
        if problem is not None:
            from ..errors import InputError

            raise InputError(problem, path=self.source.path,
                             line=getattr(getattr(node, "meta", None), "line", 1) + self.offset)

    def _root(self, name: str, steps: list, node=None) -> tuple[Any, int, bool]:
        """Resolve the start of a traversal: (value, steps used, whether an unknown starts here)."""
        scope = self.scope
        if name in scope.names:
            return scope.names[name], 0, False
        attribute = steps[0][1] if steps and steps[0][0] == "attr" else None
        instance = scope.instance
        if instance is None:
            return Invalid(name, "references are not allowed here"), 0, False
        if name == "var" and attribute is not None:
            value, fresh = instance.variable(attribute)
            return value, 1, fresh
        if name == "local" and attribute is not None:
            return instance.local(attribute), 1, False
        if name == "count" and attribute == "index":
            if scope.count is _ABSENT:
                return Invalid("count.index", "count.index is only available with count"), 1, False
            return scope.count, 1, False
        if name == "each" and attribute in ("key", "value"):
            each = scope.each
            if isinstance(each, tuple):
                return each[0 if attribute == "key" else 1], 1, False
            if isinstance(each, Unknown):
                return Unknown(f"each.{attribute}", each.causes[0][1]), 1, False
            return Invalid(f"each.{attribute}", "each is only available with for_each"), 1, False
        if name == "path" and attribute in ("module", "root", "cwd"):
            return instance.path_value(attribute), 1, False
        if name == "terraform" and attribute in ("workspace", "applying"):
            return (instance.context.workspace if attribute == "workspace" else False), 1, False
        if name == "ephemeral" and attribute is not None:
            return Unknown(f"ephemeral.{attribute}", "an ephemeral resource: its values exist only while Terraform "
                                                     "runs and are never in a plan"), 1, True
        if name == "data" and len(steps) >= 2 and steps[1][0] == "attr" and attribute is not None:
            self._check_key(instance.module.resources.get(("data", attribute, steps[1][1])), steps[2:], node)
            value = instance.resource_value("data", attribute, steps[1][1])
            return value, 2, isinstance(value, Unknown) and not isinstance(value, Repeated)
        if name == "module" and attribute is not None:
            value = instance.module_value(attribute)
            return value, 1, isinstance(value, Unknown) and not isinstance(value, Repeated)
        if attribute is not None and instance.has_resource(name, attribute):
            self._check_key(instance.module.resources.get(("managed", name, attribute)), steps[1:], node)
            value = instance.resource_value("managed", name, attribute)
            return value, 1, isinstance(value, Unknown) and not isinstance(value, Repeated)
        if name == "self":
            return Unknown("self", "self is known only in provisioners"), 0, True
        return Invalid(name, f"a reference to {name}, which this module does not declare"), 0, False


def _same_for_every_key(value, key: Unknown):
    """``value[key]`` for an unknown key: the element, when every valid key gives the same one."""
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else None
    if items and find_unknown(items) is None and all(item == items[0] for item in items[1:]):
        return items[0]
    return _KeyUnknown(key)


class _KeyUnknown:
    __slots__ = ("unknown",)

    def __init__(self, unknown: Unknown) -> None:
        self.unknown = unknown


def _missing_why(value) -> str:
    if isinstance(value, Computed) and value.why:
        return value.why
    return "an attribute the provider computes: known only after apply"


def _problem(exc: BaseException) -> str:
    if isinstance(exc, Fail):
        return str(exc)
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    return "Terraform would reject this expression"
