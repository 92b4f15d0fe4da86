"""Values as the evaluator sees them: Terraform's values, and unknown values that say why.

Known values are plain Python: ``str``, ``int``/``float``, ``bool``, ``None``, ``list`` (tuples and
lists), :class:`TfSet`, ``dict`` (objects and maps). Anything not known before apply, or not
resolvable here, is an :class:`Unknown` naming the expressions it depends on and why each is
unknown. Unknowns keep what *is* known about them:

- :class:`Partial`: a string built from known text and unknown parts (``"arn:${var.x}:..."``);
- :class:`Encoded`: the JSON text of a partly known value (``jsonencode`` with unknown leaves,
  an ``aws_iam_policy_document`` with unknown arguments);
- :class:`Either`: one of two values, chosen by an unknown condition;
- :class:`Repeated`: the instances of a resource or module whose ``count``/``for_each`` is
  unknown: any number of copies of one element.

An unknown is never a pass. Using it as a collection (iterating, measuring, indexing) raises
:class:`UnknownUsed`, which the evaluator turns back into the unknown itself.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, localcontext
from typing import Any

Cause = tuple[str, str]  # (expression, why it is unknown)


class Fail(Exception):
    """An expression Terraform would reject, or that cannot be evaluated here."""


class LimitExceeded(Exception):
    """A cap of the reader (evaluation steps, value size) was reached: the root module is refused."""

    where: tuple[str, int] | None = None  # the innermost expression being evaluated


class UnknownUsed(Exception):
    """An unknown value was used as a known one (iterated, measured, indexed)."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.expression)
        self.unknown = unknown


class Unknown:
    """A value not known before apply, or not resolvable statically, with what it depends on."""

    __slots__ = ("causes",)

    def __init__(self, expression: str, why: str = "") -> None:
        self.causes: tuple[Cause, ...] = ((expression, why),)

    @classmethod
    def of(cls, causes) -> Unknown:
        unknown = cls.__new__(cls)
        unknown.causes = _dedupe(causes)
        return unknown

    @property
    def expression(self) -> str:
        """The first expression this value depends on."""
        return self.causes[0][0]

    @property
    def expressions(self) -> list[str]:
        return sorted({expression for expression, _ in self.causes})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expression!r})"

    def _used(self, *args):
        raise UnknownUsed(self)

    __iter__ = __len__ = __getitem__ = __contains__ = _used

    def __bool__(self) -> bool:  # an unknown argument is present (whatever its value)
        return True


class Invalid(Unknown):
    """An expression Terraform would reject (an error, which ``try`` skips)."""

    __slots__ = ()


class Partial(Unknown):
    """A string made of known text and unknown parts."""

    __slots__ = ("parts",)

    def __init__(self, parts) -> None:
        flat: list = []
        for part in parts:
            if isinstance(part, Partial):
                flat.extend(part.parts)
            elif isinstance(part, str) and flat and isinstance(flat[-1], str):
                flat[-1] += part
            elif part != "":
                flat.append(part)
        self.parts: tuple = tuple(flat)
        self.causes = _dedupe(cause for part in flat if isinstance(part, Unknown) for cause in part.causes)


class Encoded(Unknown):
    """The JSON text of a partly known value; ``origin`` is the policy document it was rendered from."""

    __slots__ = ("value", "origin")

    def __init__(self, value, causes, origin: str | None = None) -> None:
        self.value = value
        self.origin = origin
        self.causes = _dedupe(causes)


class Either(Unknown):
    """One of ``options``, chosen by an unknown condition (``c ? a : b``): a policy document keeps
    what its options have in common (documents.py); any other use loses them (``poison``)."""

    __slots__ = ("options",)

    def __init__(self, options: tuple, causes) -> None:
        self.options = options
        self.causes = _dedupe(list(causes) + [cause for option in options if isinstance(option, Unknown)
                                              for cause in option.causes])


class Repeated(Unknown):
    """An unknown number of instances, all alike: ``element`` is one of them."""

    __slots__ = ("element",)

    def __init__(self, element, causes) -> None:
        self.element = element
        self.causes = _dedupe(causes)


def _dedupe(causes) -> tuple[Cause, ...]:
    out: dict[str, str] = {}
    for expression, why in causes:
        if expression not in out or (why and not out[expression]):
            out[expression] = why
    if not out:
        return (("<unknown>", ""),)
    return tuple(out.items())


class Computed(dict):
    """A resource, data source or module instance: attributes it does not set are computed (unknown)."""

    __slots__ = ("address", "why")

    def __init__(self, attributes, address: str = "", why: str = "") -> None:
        super().__init__(attributes)
        self.address = address
        self.why = why


class TfSet(list):
    """A set (``toset``): ordered as Terraform orders it; its elements are their own keys."""


MISSING = object()


def unknowns_in(value, found: list[Unknown]) -> None:
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, Unknown):
            found.append(value)
        elif isinstance(value, dict):
            pending.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            pending.extend(reversed(value))


def find_unknown(value) -> Unknown | None:
    """One unknown standing for every unknown in ``value`` (an :class:`Invalid` if any is), or None."""
    found: list[Unknown] = []
    unknowns_in(value, found)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    invalid = [u for u in found if isinstance(u, Invalid)]
    if invalid:
        return invalid[0]
    return Unknown.of(cause for unknown in found for cause in unknown.causes)


def combine(*values) -> Unknown | None:
    return find_unknown(list(values))


# --- numbers, strings and booleans, converted as Terraform converts them ----------------------


def number(value) -> int | float:
    if isinstance(value, bool) or value is None:
        raise Fail("a number is required")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return parse_number(value)
    raise Fail("a number is required")


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


#: Whole numbers of more digits than this are infinite here (Python cannot print longer ones).
MAX_DIGITS = 4000
_MAX_BITS = int(MAX_DIGITS * 3.3219)
#: Decimal digits kept by arithmetic on fractions (Terraform keeps 512 bits, about 154 digits).
_PRECISION = 60


def parse_number(text: str) -> int | float:
    """A number written as text, as Terraform reads it: exactly, whole numbers of any form as integers."""
    if not _NUMBER_TEXT.fullmatch(text):
        raise Fail("a number is required")
    digits = text.lstrip("+-")
    if digits.isdigit():
        if len(digits) > MAX_DIGITS:  # beyond any whole number Terraform can use as a count
            return -math.inf if text.startswith("-") else math.inf
        return int(text)
    return from_decimal(Decimal(text))


def from_decimal(value: Decimal) -> int | float:
    """A Decimal as a value: an int when it is whole, else a float."""
    if value.is_finite() and value == value.to_integral_value():
        if value.adjusted() >= MAX_DIGITS:
            return math.inf if value > 0 else -math.inf
        return int(value)
    return float(value)


def finite(value: int | float) -> bool:
    """Whether a number is finite (a whole number always is, however large)."""
    return isinstance(value, int) or math.isfinite(value)


def to_decimal(value: int | float) -> Decimal:
    """The exact decimal a number stands for (a float, as its shortest text: 0.1 is 0.1)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def normal_number(value: float | int) -> int | float:
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return from_decimal(to_decimal(value))
        return value
    if value.bit_length() > _MAX_BITS:
        return math.inf if value > 0 else -math.inf
    return value


def number_text(value: int | float) -> str:
    """A number as Terraform writes it: every digit, never an exponent (1e21 is 1000000000000000000000)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise Fail("a finite number is required")
    text = format(to_decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_string(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    raise Fail("a string is required")


def to_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false", "1", "0"):  # as Terraform converts a string to a bool
        return value in ("true", "1")
    raise Fail("a bool is required")


def jsonencode(value) -> str:
    """``jsonencode``'s text: compact, keys sorted, numbers in full, <, >, &, U+2028 and U+2029 escaped."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                          "\u2029": "\\u2029"})


def _encode(value, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, (int, float)):
        out.append(number_text(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False).translate(_ESCAPES))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            out.append(("," if i else "") + json.dumps(key, ensure_ascii=False).translate(_ESCAPES) + ":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise Fail("this value cannot be encoded as JSON")


def collection_items(value) -> list[tuple[Any, Any]]:
    if isinstance(value, TfSet):
        return [(item, item) for item in value]
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    if isinstance(value, list):
        return list(enumerate(value))
    raise Fail("a collection is required")


def type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, TfSet):
        return "set"
    if isinstance(value, list):
        return "tuple"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else "unknown"


# --- operators ---------------------------------------------------------------------------------


def operate(operator: str, left, right):
    """``left operator right`` on known values, as HCL computes it."""
    if operator == "==":
        return equal(left, right)
    if operator == "!=":
        return not equal(left, right)
    if operator in ("&&", "||"):
        return (to_bool(left) and to_bool(right)) if operator == "&&" else (to_bool(left) or to_bool(right))
    a, b = number(left), number(right)
    if operator in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]
    return arithmetic(operator, a, b)


def arithmetic(operator: str, a: int | float, b: int | float) -> int | float:
    """``a operator b`` (+ - * / %) as Terraform computes it: exactly for whole numbers and decimal fractions
    (0.1 + 0.2 is 0.3), ``x % 0`` is x, ``x / 0`` is an error."""
    if operator == "%" and b == 0:
        return a
    if operator == "/" and b == 0:
        raise ZeroDivisionError
    if isinstance(a, int) and isinstance(b, int) and operator in "+-*%":
        if operator == "*" and a.bit_length() + b.bit_length() > _MAX_BITS:
            return math.inf if (a > 0) == (b > 0) else -math.inf
        if operator == "%":
            remainder = abs(a) % abs(b)
            return remainder if a >= 0 else -remainder
        return normal_number(a + b if operator == "+" else a - b if operator == "-" else a * b)
    if not (finite(a) and finite(b)):
        result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                  "%": lambda: math.fmod(a, b)}[operator]()
        if math.isnan(result):
            raise Fail("an operation on infinity with no result")
        return normal_number(result)
    x, y = to_decimal(a), to_decimal(b)
    with localcontext() as context:
        context.prec = _PRECISION
        result = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y,
                  "%": lambda: x % y}[operator]()
    return from_decimal(result)


def logical(deciding: bool, left, right):
    """``&&`` (``deciding`` False) or ``||`` (True), as HCL computes them: one operand equal to ``deciding``
    decides, whatever the other is (unknown, or an error); an operand of the wrong type is an error."""
    known = [None if isinstance(value, Unknown) else to_bool(value) for value in (left, right)]
    if deciding in known:
        return deciding
    if known == [None, None]:
        if isinstance(left, Invalid) or isinstance(right, Invalid):
            return _poison(left)  # an error on the left stays; one on the right is dropped beside an unknown
        return _poison(combine(left, right))
    if known[0] is None:
        return _poison(left)
    if known[1] is None:
        return _poison(right)
    return known[0] or known[1] if deciding else known[0] and known[1]


def _poison(unknown: Unknown) -> Unknown:
    return unknown if type(unknown) in (Unknown, Invalid) else Unknown.of(unknown.causes)


def equal(left, right) -> bool:
    """Terraform's ``==``: values of different types are never equal (``true`` is not ``1``), at any depth."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(left[key], right[key]) for key in left)
    return left == right


# --- caps ------------------------------------------------------------------------------------


class Budget:
    """The evaluation steps and value sizes one root module may use; exceeding either refuses it.

    Values nested more than ``max_depth`` deep are refused too (the plan-shaped document must stay
    within what a JSON encoder's recursion allows).
    """

    __slots__ = ("steps", "max_steps", "max_bytes", "max_depth", "_sizes")

    def __init__(self, max_steps: int, max_bytes: int, max_depth: int = 256) -> None:
        self.steps = 0
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self._sizes: dict[int, tuple[Any, int, int]] = {}

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.max_steps:
            raise LimitExceeded(f"evaluation took more than {self.max_steps} steps (raise it with --max-eval-steps)")

    def check(self, value):
        if isinstance(value, str):
            size = len(value)
        elif isinstance(value, (list, dict, Unknown)):
            size, depth = self.measure(value)
            if depth > self.max_depth:
                raise LimitExceeded(f"an expression builds a value nested more than {self.max_depth} deep")
        else:
            return value
        if size > self.max_bytes:
            raise LimitExceeded(f"an expression builds a value of more than {self.max_bytes} bytes "
                                "(raise it with --max-value-bytes)")
        return value

    def allow(self, size: int) -> None:
        """Refuse before building a value of ``size`` bytes."""
        if size > self.max_bytes:
            raise LimitExceeded(f"an expression builds a value of more than {self.max_bytes} bytes "
                                "(raise it with --max-value-bytes)")

    def size(self, value) -> int:
        """The size of a value's JSON form, counting shared parts every time they appear."""
        return self.measure(value)[0]

    def measure(self, value) -> tuple[int, int]:
        """(size of the JSON form, nesting depth) of a value, each shared part measured once."""
        if isinstance(value, str):
            return len(value) + 2, 0
        if isinstance(value, (list, dict)):
            hit = self._sizes.get(id(value))
            if hit is not None and hit[0] is value:
                return hit[1], hit[2]
            total, depth = 2, 0
            for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
                size, inner = self.measure(item)
                total += size + (len(key) + 4 if isinstance(key, str) else 1)
                depth = max(depth, inner)
                if depth >= self.max_depth:
                    break  # refused by the caller; no need to look further down
            self._sizes[id(value)] = (value, total, depth + 1)
            return total, depth + 1
        if isinstance(value, Partial):
            return sum(self.measure(part)[0] for part in value.parts), 0
        if isinstance(value, Encoded):
            return self.measure(value.value)
        if isinstance(value, Repeated):
            return self.measure(value.element)
        return 8, 0


ACTIVE: list[Budget] = []


def active_budget() -> Budget | None:
    return ACTIVE[-1] if ACTIVE else None
