"""``.tf`` files: HCL text -> blocks and comments, with python-hcl2's grammar made linear and made to accept what
Terraform accepts.

python-hcl2's lexer matches heredocs, block comments and quoted strings with regular expressions
that keep a backtracking frame per character: a 10 MB heredoc costs gigabytes. The parser here is
built from the same grammar with those three terminals rewritten to match in linear memory
(possessive and per-line repetition; Python 3.11 regular expressions), and the lark parser it
builds is cached in the user's cache directory (``~/.cache/sesrego``), as python-hcl2 caches its own.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ..errors import InputError
from .options import MAX_BLOCK_DEPTH, MAX_EXPRESSION_DEPTH
from .syntax import Block, Body, Expr, Source, first, is_tree, string_literal, token_text, trees

#: The grammar's terminals that backtrack per character, and linear equivalents.
_LINEAR_TERMINALS = (
    (r"/\/\*(.|\n)*?(\*\/)/", r"/\/\*(?:[^*]|\*(?!\/))*+\*\//"),
    (r"|(?:%(?!%?\{)))+/", r"|(?:%(?!%?\{)))++/"),
    (r"\r?\n(?:(?:.|\n)*?\r?\n)??\s*(?P=heredoc)\r?\n/", r"\r?\n(?:[^\n]*+\n)*?[ \t\r]*(?P=heredoc)\r?\n/"),
    (r"\r?\n(?:(?:.|\n)*?\r?\n)??\s*(?P=heredoc_trim)\r?\n/",
     r"\r?\n(?:[^\n]*+\n)*?[ \t\r]*(?P=heredoc_trim)\r?\n/"),
)


#: Rules of the grammar that reject what Terraform accepts, and Terraform's form: strip markers in
#: interpolations (``"${~ x ~}"``) and a unary operator applied to another (``!!x``, ``- -1``).
_TERRAFORM_RULES = (
    ("interpolation: INTERP_START expression RBRACE",
     "interpolation: INTERP_START STRIP_MARKER? expression STRIP_MARKER? RBRACE"),
    ("!unary_op : (MINUS | NOT) expr_term", "!unary_op : (MINUS | NOT) (expr_term | unary_op)"),
    # Identifiers are Unicode (a letter or '_', then letters, digits, '_' or '-'), not ASCII only.
    ("NAME : /[a-zA-Z_][a-zA-Z0-9_-]*/", r"NAME : /[^\W\d][\w-]*/"),
)


@functools.lru_cache(maxsize=1)
def parser():
    """A lark parser for HCL: python-hcl2's grammar with linear-memory terminals."""
    try:
        import hcl2
        from hcl2.postlexer import PostLexer
        from lark import Lark
    except ImportError:  # pragma: no cover - python-hcl2 is a dependency
        raise InputError("reading .tf files needs python-hcl2 8 or newer (pip install 'python-hcl2>=8')") from None
    directory = Path(hcl2.__file__).parent
    grammar = (directory / "hcl2.lark").read_text(encoding="utf-8")
    for rewrites in (_LINEAR_TERMINALS, _TERRAFORM_RULES):
        if all(grammar.count(old) == 1 for old, _ in rewrites):
            for old, new in rewrites:
                grammar = grammar.replace(old, new)
    return Lark(grammar, parser="lalr", propagate_positions=True, postlex=PostLexer(),
                import_paths=[str(directory)], cache=_cache_file(grammar))


def _cache_file(grammar: str) -> str | bool:
    """Where the built parser is kept between runs: the user's cache directory (not a shared temp dir)."""
    import hashlib
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "sesrego"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(directory / f"hcl-{hashlib.sha256(grammar.encode()).hexdigest()[:16]}.lark")


#: The tree nodes that nest one expression in another, as a reader sees it.
_NESTING = frozenset({"tuple", "object", "function_call", "for_tuple_expr", "for_object_expr", "interpolation",
                      "braces_index", "conditional", "unary_op", "template_if_start", "template_for_start"})


def parse(text: str, path: str = "<text>"):
    """The parse tree of HCL text; an expression nested more than MAX_EXPRESSION_DEPTH deep is an InputError."""
    tree = parser().parse(text + "\n")
    _check_nesting(tree, path)
    return tree


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\s\S])")


def _check_nesting(tree, path: str) -> None:
    """Refuse expressions nested too deeply, and escapes Terraform rejects in quoted strings (``"\\x41"``)."""
    pending = [(tree, 0)]
    while pending:  # iteratively: the tree may be deeper than Python's recursion allows
        node, depth = pending.pop()
        for token in node.children:
            if not is_tree(token) and token.type == "STRING_CHARS" and "\n" in token:
                raise InputError("Invalid multi-line string: a quoted string cannot span lines (use a heredoc, or "
                                 "\\n)", path=path, line=token.line, column=token.column)
            if not is_tree(token) and token.type == "STRING_CHARS" and "\\" in token:
                bad = next((m for m in _ESCAPE.finditer(token) if len(m.group(1)) == 1
                            and m.group(1) not in 'nrt"\\'), None)
                if bad is not None:
                    raise InputError(f"Invalid escape sequence {token[bad.start():bad.start() + 2]!r} in a quoted "
                                     "string", path=path, line=token.line, column=token.column + bad.start())
        if node.data in _NESTING or (node.data == "expr_term" and node.children and not is_tree(node.children[0])):
            depth += 1
            if depth > MAX_EXPRESSION_DEPTH:
                meta = node.meta
                raise InputError(f"an expression nested more than {MAX_EXPRESSION_DEPTH} deep",
                                 path=path, line=getattr(meta, "line", None), column=getattr(meta, "column", None))
        pending.extend((child, depth) for child in node.children if is_tree(child))


@functools.lru_cache(maxsize=4096)
def _expression_tree(text: str):
    from lark.exceptions import LarkError

    try:
        tree = parse("x = " + text)
    except (LarkError, RecursionError, ValueError, RuntimeError, InputError):
        return None
    body = first(tree, "body")
    attributes = [child for child in trees(body)] if body is not None else []
    if len(attributes) != 1 or attributes[0].data != "attribute":
        return None
    return trees(attributes[0])[-1]


def parse_expression(text: str, path: str, line: int = 1) -> Expr | None:
    """One expression written as text (a template interpolation, a type in JSON), or None."""
    node = _expression_tree(text)
    if node is None:
        return None
    return Expr(node, Source(path, "x = " + text), line_offset=line - 1)


def parse_file(path: str, text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The top-level blocks of a file and its comments ``(line, text)``; a syntax error is an InputError."""
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = parse(text, path)
    except UnexpectedInput as exc:
        raise InputError(f"HCL syntax error: {syntax_problem(exc)}", path=path,
                         line=getattr(exc, "line", None), column=getattr(exc, "column", None)) from None
    except (LarkError, RecursionError, ValueError, RuntimeError) as exc:
        raise InputError(f"HCL syntax error: {type(exc).__name__}", path=path) from None
    source = Source(path, text)
    body = first(tree, "body")
    blocks = []
    attributes = []
    for child in trees(body) if body is not None else []:
        if child.data == "block":
            blocks.append(block(child, source, 1))
        elif child.data == "attribute":
            attributes.append(child)
    if attributes:
        name = token_text(trees(attributes[0])[0])
        raise InputError(f'unsupported argument "{name}": an argument is not expected at the top level '
                         "of a configuration file", path=path, line=attributes[0].meta.line)
    return blocks, comments(tree)


def comments(tree) -> list[tuple[int, str]]:
    """Every comment of a parsed file, with the line it starts on."""
    found = []
    pending = [tree]
    while pending:  # iteratively: a deeply nested expression must not exhaust the stack
        node = pending.pop()
        for child in node.children:
            if is_tree(child):
                pending.append(child)
            elif getattr(child, "type", None) == "NL_OR_COMMENT":
                text = str(child).strip()
                if text.startswith(("#", "//", "/*")):
                    found.append((child.line, text))
    return sorted(found)


def syntax_problem(exc) -> str:
    token = getattr(exc, "token", None)
    if token is not None:
        if token.type == "$END":
            return "unexpected end of file"
        if not str(token).strip():
            return "unexpected end of line (an expression is missing)"
        value = str(token).strip().splitlines()[0]
        return f"unexpected {value[:40]!r}"
    char = getattr(exc, "char", None)
    if char is not None:
        return f"unexpected character {char!r}"
    return "unexpected input"


def body(node, source: Source, depth: int) -> Body:
    attributes: dict = {}
    blocks = []
    if node is not None:
        for child in trees(node):
            if child.data == "attribute":
                parts = trees(child)
                name = token_text(parts[0])
                if name in attributes:
                    raise InputError(f'duplicate argument "{name}": the argument "{name}" was already set at '
                                     f"line {attributes[name].line}", path=source.path, line=child.meta.line)
                attributes[name] = Expr(parts[-1], source)
            elif child.data == "block":
                blocks.append(block(child, source, depth + 1))
    return Body(attributes, blocks)


def block(node, source: Source, depth: int) -> Block:
    if depth > MAX_BLOCK_DEPTH:
        raise InputError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep", path=source.path,
                         line=node.meta.line)
    parts = trees(node)
    labels = []
    for part in parts[1:]:
        if part.data == "body":
            break
        labels.append(string_literal(part) if part.data == "string" else token_text(part))
    meta = node.meta
    return Block(token_text(parts[0]), tuple(labels), body(first(node, "body"), source, depth), source,
                 getattr(meta, "line", 0), getattr(meta, "end_line", getattr(meta, "line", 0)))

