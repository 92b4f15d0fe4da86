"""``sesrego test``: the generated Rego unit tests, in OPA's engine and optionally the opa binary."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from .bundle import write_policy_dir
from .engine import Engine, data_document
from .errors import EngineError
from .model import Program
from .render import Tree


def run_tests(program: Program, tree: Tree, *, use_opa: bool = False, verbose: bool = False) -> int:
    """Run every ``test_*`` rule; print ``opa test``-style results; return the exit status."""
    engine = Engine(tree.files, data_document(tree.facts), tests=True)
    results = engine.run_tests()
    failed = [r for r in results if not r.passed]
    for result in results:
        if verbose or not result.passed:
            status = "PASS" if result.passed else ("ERROR" if result.error else "FAIL")
            line = f"data.{result.package}.{result.name}: {status} ({result.seconds * 1000:.1f}ms)"
            click.echo(line + (f"\n  {result.error}" if result.error else ""))
    click.echo("-" * 80)
    click.echo(f"PASS: {len(results) - len(failed)}/{len(results)}" + (f"\nFAIL: {len(failed)}/{len(results)}"
                                                                      if failed else ""))
    status = 0 if not failed and results else 2
    if use_opa:
        status = max(status, _opa_binary(tree))
    return status


def _opa_binary(tree: Tree) -> int:
    opa = shutil.which("opa")
    if not opa:
        raise EngineError("--opa needs the opa binary on PATH")
    with tempfile.TemporaryDirectory(prefix="sesrego-test-") as tmp:
        policy = Path(tmp) / "policy"
        write_policy_dir(tree, policy)
        status = 0
        for args in (["check", "--strict", str(policy)], ["test", str(policy)]):
            proc = subprocess.run([opa, *args], capture_output=True, text=True, check=False)
            click.echo(f"$ opa {' '.join(args[:2])} ...\n{proc.stdout}{proc.stderr}".rstrip())
            status = max(status, 0 if proc.returncode == 0 else 2)
        return status
