"""``sesrego test``: the generated Rego unit tests, in OPA's engine and optionally the opa binary."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .bundle import write_policy_dir
from .engine import Engine, TestResult, data_document, opa_check_and_test
from .model import Program
from .render import Tree


@dataclass(frozen=True, slots=True)
class TestRun:
    """What ``sesrego test`` found: each test's result, the opa binary's runs, and the exit status."""

    __test__ = False  # not a pytest test class

    results: tuple[TestResult, ...]
    opa_runs: tuple[tuple[str, int, str], ...] = ()

    @property
    def failed(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]

    @property
    def exit_status(self) -> int:
        status = 0 if not self.failed and self.results else 2
        return max([status] + [0 if code == 0 else 2 for _, code, _ in self.opa_runs])

    def lines(self, verbose: bool = False) -> list[str]:
        """The run as ``opa test`` prints it."""
        out = []
        for result in self.results:
            if verbose or not result.passed:
                status = "PASS" if result.passed else ("ERROR" if result.error else "FAIL")
                out.append(f"data.{result.package}.{result.name}: {status} ({result.seconds * 1000:.1f}ms)"
                           + (f"\n  {result.error}" if result.error else ""))
        total, failed = len(self.results), len(self.failed)
        out.append("-" * 80)
        out.append(f"PASS: {total - failed}/{total}" + (f"\nFAIL: {failed}/{total}" if failed else ""))
        for command, _, output in self.opa_runs:
            out.append(f"$ {command} ...\n{output}".rstrip())
        return out


def run_tests(program: Program, tree: Tree, *, use_opa: bool = False) -> TestRun:
    """Run every ``test_*`` rule in the embedded engine, and with ``use_opa`` ``opa check``/``opa test``."""
    engine = Engine(tree.files, data_document(tree.facts), tests=True)
    try:
        results = tuple(engine.run_tests())
    finally:
        engine.close()
    runs: tuple = ()
    if use_opa:
        with tempfile.TemporaryDirectory(prefix="sesrego-test-") as tmp:
            policy = Path(tmp) / "policy"
            write_policy_dir(tree, policy)
            runs = tuple(opa_check_and_test(policy))
    return TestRun(results, runs)
