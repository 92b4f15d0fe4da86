"""The Public Suffix List snapshot and its parser (sesrego/suffixes.py)."""

from __future__ import annotations

import pytest

from sesrego.errors import SourceError
from sesrego.suffixes import parse_public_suffixes, public_suffixes, suffix_parents

SAMPLE = """// comment
// ===BEGIN ICANN DOMAINS===
com
co.uk
*.ck
!www.ck
公司.cn
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===
github.io
*.kawasaki.jp
// ===END PRIVATE DOMAINS===
"""


def test_rules_sections_wildcards_exceptions_and_ascii_forms():
    rules = parse_public_suffixes(SAMPLE)
    assert rules == {"!www.ck": "icann", "*.ck": "icann", "*.kawasaki.jp": "private", "co.uk": "icann",
                     "com": "icann", "github.io": "private", "xn--55qx5d.cn": "icann", "公司.cn": "icann"}
    assert list(rules) == sorted(rules)
    assert suffix_parents(rules) == {"ck": True, "cn": True, "io": True, "jp": True, "kawasaki.jp": True,
                                     "uk": True}


@pytest.mark.parametrize("text,message", [
    ("com\n", "outside the ICANN and PRIVATE sections"),
    ("// ===BEGIN ICANN DOMAINS===\nexample..com\n", "not a public suffix rule"),
    ("// ===BEGIN ICANN DOMAINS===\nfoo.*.com\n", "not a public suffix rule"),
    ("// nothing\n", "no public suffix rules"),
])
def test_malformed_lists_are_source_errors(text, message):
    with pytest.raises(SourceError, match=message):
        parse_public_suffixes(text)


def test_the_shipped_snapshot():
    rules = public_suffixes()
    assert len(rules) > 9000
    assert rules["com"] == "icann" and rules["github.io"] == "private" and rules["!www.ck"] == "icann"
    assert "xn--p1ai" in rules and "рф" in rules
