"""Shared fixtures: one compilation of the default sources, one engine, plan builders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sesrego.compiler import compile_tree
from sesrego.engine import Engine, data_document

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files from the current output.")


@pytest.fixture(scope="session")
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture(scope="session")
def compiled():
    return compile_tree()


@pytest.fixture
def fast_compile(compiled, monkeypatch):
    """The CLI compiles the built-in sources once per test session, not once per command (for CLI-heavy tests)."""
    import sesrego.compiler as compiler

    real = compiler.compile_tree
    monkeypatch.setattr(compiler, "compile_tree",
                        lambda catalogs=(), guidance=(): compiled if not catalogs and not guidance
                        else real(catalogs, guidance))


@pytest.fixture(scope="session")
def engine(compiled):
    program, tree = compiled
    return Engine(tree.files, data_document(tree.facts))


#: What tests read of data.sesrego (the whole document would also copy the catalog facts out).
_RESULTS = '{"findings": data.sesrego.findings, "report": data.sesrego.report, "waived": data.sesrego.waived}'


@pytest.fixture(scope="session")
def evaluate(compiled):
    """Evaluate data.sesrego (its findings, report and waived findings) or one of its documents for a
    plan, with an optional configuration."""
    program, tree = compiled
    engines: dict[str, Engine] = {}

    def run(plan: dict, config: dict | None = None, document: str = "sesrego") -> dict:
        key = json.dumps(config or {}, sort_keys=True)
        if key not in engines:
            engines[key] = Engine(tree.files, data_document(tree.facts, config))
        if document == "sesrego":
            return engines[key].query(_RESULTS, raw=json.dumps(plan).encode())
        return engines[key].evaluate(document, plan)

    return run


def resource(address: str, resource_type: str, after: dict, *, unknown: dict | None = None,
             actions=("create",), module: str | None = None, index=None, mode: str = "managed") -> dict:
    """One resource_changes[] entry in the documented `terraform show -json` shape."""
    name = address.split(".")[-1].split("[")[0]
    change = {
        "address": address, "mode": mode, "type": resource_type, "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": list(actions), "before": None, "after": after, "after_unknown": unknown or {},
                   "before_sensitive": False, "after_sensitive": {}},
    }
    if module:
        change["module_address"] = module
    if index is not None:
        change["index"] = index
    return change


def plan(*changes: dict, configuration: dict | None = None) -> dict:
    document = {"format_version": "1.2", "terraform_version": "1.9.5", "resource_changes": list(changes),
                "planned_values": {"root_module": {}}, "applyable": True, "complete": True, "errored": False}
    if configuration is not None:
        document["configuration"] = configuration
    return document


def policy_json(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, separators=(",", ":"))


def identity(address: str, *statements: dict, **kwargs) -> dict:
    return resource(address, "aws_iam_policy", {"name": address.split(".")[-1], "policy": policy_json(*statements)},
                    **kwargs)


def scp(address: str, content: str, kind: str = "SERVICE_CONTROL_POLICY") -> dict:
    return resource(address, "aws_organizations_policy", {"name": "p", "type": kind, "content": content})


def ids(report_or_findings) -> set[tuple[str, str]]:
    findings = report_or_findings["findings"] if isinstance(report_or_findings, dict) else report_or_findings
    return {(f["rule_id"], f["resource"]) for f in findings}
