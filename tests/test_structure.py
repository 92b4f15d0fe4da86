"""The code stays readable: no module of sesrego over 600 lines, no function or method over 80."""

from __future__ import annotations

import ast

from conftest import ROOT

PACKAGE = ROOT / "sesrego"


def test_no_module_over_600_lines_and_no_function_over_80():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        name = path.relative_to(ROOT).as_posix()
        if len(text.splitlines()) > 600:
            long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long.append(f"{name}:{node.lineno}: {node.name} has {length} lines")
    assert long == []


def test_the_pipeline_reads_top_down_from_the_file_tree():
    """Each stage is a module (or a package once it has parts) named after what it holds, as the README shows."""
    stages = ["sources.py", "catalog.py", "guidance.py", "model.py", "lower/__init__.py", "lower/facts.py",
              "lower/cross_check.py", "lower/rules.py", "render.py", "bundle.py", "engine.py", "scanner.py",
              "report.py", "cli.py"]
    assert [stage for stage in stages if not (PACKAGE / stage).is_file()] == []
    readme = (ROOT / "README.md").read_text()
    sketch = readme[readme.index("The pipeline is visible in the file tree"):]
    assert all(stage.split("/")[0].removesuffix(".py") in sketch for stage in stages)
