"""Terraform's string functions, as Go computes them: characters are grapheme clusters (``length("👍🏽")``
is 1), case mappings are one character to one (``upper("ß")`` is "ß"), ``title`` capitalises after
any separator, ``format`` has Go's verbs, flags, widths, precisions and ``%[n]`` argument indexes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import posixpath
import re
import unicodedata
import urllib.parse

from .functions import _text, allow_size, as_string, function
from .numeric import whole
from .values import (Fail, LimitExceeded, Unknown, active_budget, finite, jsonencode, normal_number, number,
                     number_text, parse_number, to_bool, to_decimal)

try:  # python-hcl2 depends on regex, whose \X is Unicode's extended grapheme cluster
    import regex as _regex

    _CLUSTER = _regex.compile(r"\X")
except ImportError:  # pragma: no cover
    _CLUSTER = None

_SPACE = " \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
         "\u2028\u2029\u202f\u205f\u3000"  # Go's unicode.IsSpace


def graphemes(text: str) -> list[str]:
    if _CLUSTER is not None:
        return _CLUSTER.findall(text)
    out: list[str] = []  # a close approximation: combining marks and joiners stay with their base
    for char in text:
        if out and (unicodedata.combining(char) or char in "\u200d\ufe0f" or out[-1].endswith("\u200d")
                    or 0x1F3FB <= ord(char) <= 0x1F3FF):
            out[-1] += char
        else:
            out.append(char)
    return out


def length(text: str) -> int:
    return len(graphemes(text))


def _one_to_one(char: str, mapped: str) -> str:
    """Go maps case one character to one: a mapping to several characters keeps the character."""
    if len(mapped) == 1:
        return mapped
    if all(unicodedata.combining(rest) for rest in mapped[1:]):
        return mapped[0]  # İ lowers to i
    return char


@function("upper")
def _upper(text):
    return "".join(_one_to_one(char, char.upper()) for char in as_string(text))


@function("lower")
def _lower(text):
    return "".join(_one_to_one(char, char.lower()) for char in as_string(text))


def _separator(char: str) -> bool:
    """Go's strings.Title: ASCII letters, digits and _ are not separators, nor are other letters and
    digits; other ASCII characters are, and so are other spaces."""
    if ord(char) <= 0x7F:
        return not (char.isascii() and (char.isalnum() or char == "_"))
    if unicodedata.category(char)[0] in "LN":
        return False
    return char in _SPACE


@function("title")
def _title(text):
    out, previous = [], " "
    for char in as_string(text):
        out.append(_one_to_one(char, char.title()) if _separator(previous) else char)
        previous = char
    return "".join(out)


@function("strrev")
def _strrev(text):
    return "".join(reversed(graphemes(as_string(text))))


@function("substr")
def _substr(text, offset, size):
    clusters = graphemes(as_string(text))
    offset, size = whole(offset, "substr() needs a whole offset"), whole(size, "substr() needs a whole length")
    if offset < 0:
        offset = max(len(clusters) + offset, 0)
    return "".join(clusters[offset:] if size < 0 else clusters[offset:offset + size])


@function("trimspace")
def _trimspace(text):
    return as_string(text).strip(_SPACE)


@function("basename")
def _basename(path):
    path = as_string(path)
    if path == "":
        return "."
    path = path.rstrip("/")
    return "/" if path == "" else path.rsplit("/", 1)[-1]


@function("dirname")
def _dirname(path):
    path = as_string(path)
    head = path[:path.rfind("/") + 1]
    cleaned = posixpath.normpath(head) if head else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


@function("urlencode")
def _urlencode(text):
    return urllib.parse.quote_plus(as_string(text), safe="")


for _name, _digest in (("sha512", "sha512"), ("md5", "md5"), ("sha1", "sha1"), ("sha256", "sha256")):
    function(_name)(lambda text, _digest=_digest: hashlib.new(_digest, as_string(text).encode()).hexdigest())
for _name, _digest in (("base64sha256", "sha256"), ("base64sha512", "sha512")):
    function(_name)(lambda text, _digest=_digest: base64.b64encode(
        hashlib.new(_digest, as_string(text).encode()).digest()).decode())


# --- format ----------------------------------------------------------------------------------------

_VERB = re.compile(r"%(?P<flags>[-+# 0]*)(?P<width>[0-9]+)?(?:\.(?P<precision>[0-9]*))?(?:\[(?P<index>[0-9]+)\])?"
                   r"(?P<mode>[A-Za-z])|%%|%")


@function("format", structural=True)
def format_(spec, *args):
    """``format``: the known text around unknown arguments is kept (a Partial)."""
    spec = as_string(spec)
    parts: list = []
    position, next_argument, highest = 0, 1, 0
    for match in _VERB.finditer(spec):
        parts.append(spec[position:match.start()])
        position = match.end()
        if match.group(0) == "%%":
            parts.append("%")
            continue
        if match.group("mode") is None:
            raise Fail(f"format(): a % at offset {match.start()} starts no verb")
        argument = int(match.group("index")) if match.group("index") else next_argument
        if not 1 <= argument <= len(args):
            raise Fail(f"format(): not enough arguments for {match.group(0)!r}")
        next_argument, highest = argument + 1, max(highest, argument)
        parts.append(_verb(match, args[argument - 1]))
    parts.append(spec[position:])
    if highest < len(args):
        raise Fail(f"format(): too many arguments; only {highest} used by the format string")
    return _text(parts)


def _verb(match: re.Match, value):
    mode, flags = match.group("mode"), match.group("flags")
    width = int(match.group("width")) if match.group("width") else None
    precision = match.group("precision")
    precision = (int(precision) if precision else 0) if precision is not None else None
    if isinstance(value, Unknown):
        return value if mode in "sdvq" else Unknown.of(value.causes)
    if value is None:
        raise Fail(f"format(): a null value cannot be formatted with %{mode}")
    if mode == "v":
        if "#" not in flags and isinstance(value, str):
            text = value
        elif "#" not in flags and isinstance(value, (int, float)) and not isinstance(value, bool):
            text = _shortest_g(value)
        else:
            text = jsonencode(value)
    elif mode == "t":
        text = "true" if to_bool(value) else "false"
    elif mode in "bdoxX":
        text = _integer(mode, flags, precision, whole(value, f"%{mode} needs a whole number"))
    elif mode in "eEfFgG":
        text = _float(mode, flags, precision, number(value))
    elif mode in "sq":
        text = as_string(value)
        if precision:
            text = "".join(graphemes(text)[:precision])
        if mode == "q":
            text = jsonencode(text)
    else:
        raise Fail(f"format(): unsupported verb %{mode}")
    return _pad(text, width, flags, numeric=mode in "bdoxXeEfFgG")


def _pad(text: str, width: int | None, flags: str, numeric: bool) -> str:
    if width is None or length(text) >= width:
        return text
    allow_size(width)
    padding = width - length(text)
    if "-" in flags:
        return text + " " * padding
    if "0" in flags:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * padding + text[1:]
        return "0" * padding + text
    return " " * padding + text


def _integer(mode: str, flags: str, precision: int | None, value: int) -> str:
    digits = format(abs(value), {"b": "b", "d": "d", "o": "o", "x": "x", "X": "X"}[mode])
    if precision is not None:
        allow_size(precision)
        digits = digits.rjust(precision, "0")
    if "#" in flags:
        digits = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(mode, "") + digits
    sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
    return sign + digits


def _float(mode: str, flags: str, precision: int | None, value) -> str:
    if not finite(value):
        text = "+Inf" if value > 0 else "-Inf"
        return text if "+" in flags or value < 0 else text[1:]
    if mode in "gG" and precision is None:
        text = _shortest_g(value)
        text = text.upper() if mode == "G" else text
    else:
        allow_size(precision or 0)
        spec = ("+" if "+" in flags else " " if " " in flags else "") + ("#" if "#" in flags else "")
        exact = to_decimal(value) if value != 0 or mode in "fF" else float(value)  # Decimal writes 0 as 0e+6
        text = format(exact, f"{spec}.{6 if precision is None else precision}{mode.replace('F', 'f')}")
    if mode in "eEgG":
        text = re.sub(r"([eE][-+])([0-9])$", r"\g<1>0\2", text)  # Go writes at least two exponent digits
    return text


def _shortest_g(value) -> str:
    """Go's %g with the shortest precision: %e when the exponent is below -4 or at least 6, else %f."""
    if isinstance(value, int):
        digits = str(abs(value)).rstrip("0") or "0"
        exponent = len(str(abs(value))) - 1
    else:
        sign, raw, power = to_decimal(value).normalize().as_tuple()
        digits = "".join(map(str, raw))
        exponent = len(digits) - 1 + power
    negative = value < 0
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    else:
        text = number_text(value).lstrip("-")
    return ("-" if negative else "") + text


@function("formatlist", structural=True)
def _formatlist(spec, *args):
    lengths = {len(arg) for arg in args if isinstance(arg, list)}
    if len(lengths) > 1:
        raise Fail("formatlist() needs lists of the same length")
    size = lengths.pop() if lengths else 1
    return [format_(spec, *[arg[i] if isinstance(arg, list) else arg for arg in args]) for i in range(size)]



# --- text encodings, JSON, YAML and CSV ------------------------------------------------------------------


@function("jsondecode")
def _jsondecode(text):
    try:
        return _decoded(json.loads(as_string(text), parse_float=parse_number, parse_int=parse_number))
    except ValueError:
        raise Fail("not valid JSON") from None
    except RecursionError:
        raise LimitExceeded("jsondecode() builds a value nested too deeply") from None


def _decoded(value):
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float):
        return normal_number(value)
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if isinstance(value, dict):
        return {key: _decoded(item) for key, item in value.items()}
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.lru_cache(maxsize=1)
def _yaml_loader():
    """PyYAML's safe loader, reading exponent floats (1e3) as YAML 1.2 does, as Terraform's YAML does."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                                 re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
                                 list("-+0123456789."))
    return Loader


@function("yamldecode")
def _yamldecode(text):
    import yaml

    try:
        documents = list(yaml.load_all(as_string(text), Loader=_yaml_loader()))
    except (yaml.YAMLError, ValueError):
        raise Fail("not valid YAML") from None
    except RecursionError:
        raise LimitExceeded("yamldecode() builds a value nested too deeply") from None
    if len(documents) != 1:
        raise Fail("yamldecode() needs exactly one YAML document")
    value = documents[0]
    budget = active_budget()
    if budget is not None:
        budget.check(value)
    return _decoded(json.loads(json.dumps(value, default=str)))


@function("base64encode")
def _base64encode(text):
    return base64.b64encode(as_string(text).encode()).decode()


@function("base64decode")
def _base64decode(text):
    return base64.b64decode(as_string(text), validate=True).decode()



def _codec(name) -> str:
    import codecs

    try:
        return codecs.lookup(as_string(name)).name
    except LookupError:
        raise Fail(f"{as_string(name)!r} is not a character encoding sesrego knows") from None


@function("textencodebase64")
def _textencodebase64(text, encoding):
    try:
        return base64.b64encode(as_string(text).encode(_codec(encoding))).decode()
    except UnicodeEncodeError:
        raise Fail("the text has characters the encoding cannot represent") from None


@function("textdecodebase64")
def _textdecodebase64(text, encoding):
    try:
        return base64.b64decode(as_string(text), validate=True).decode(_codec(encoding))
    except (ValueError, UnicodeDecodeError):
        raise Fail("not base64 text in that encoding") from None


@function("csvdecode")
def _csvdecode(text):
    import csv
    import io

    rows = list(csv.reader(io.StringIO(as_string(text), newline=""), strict=True))
    if not rows:
        raise Fail("csvdecode() needs a header row")
    header, out = rows[0], []
    for row in rows[1:]:
        if len(row) != len(header):
            raise Fail("csvdecode(): a row has a different number of fields than the header")
        out.append(dict(zip(header, row)))
    return out
