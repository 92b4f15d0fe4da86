"""Terraform expressions, from tests/fixtures/terraform/expressions.txt: each gives the value it states.

The fixture holds expression/value pairs (as sqlglot keeps its cases); known values are also
checked against `terraform console` where the terraform binary is on PATH.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import FIXTURES

pytest.importorskip("hcl2")

from sesrego.terraform.documents import marked  # noqa: E402
from sesrego.terraform.instances import Context, Instance  # noqa: E402
from sesrego.terraform.load import Loader  # noqa: E402
from sesrego.terraform.modules import Manifest  # noqa: E402
from sesrego.terraform.options import ReaderOptions  # noqa: E402
from sesrego.terraform.values import ACTIVE, Encoded, Invalid, Repeated, TfSet, Unknown  # noqa: E402
from sesrego.terraform.variables import root_values  # noqa: E402

CASES_FILE = FIXTURES / "terraform" / "expressions.txt"
CONTEXT = FIXTURES / "terraform" / "context.tf"


def cases() -> list[tuple[int, str, str, bool]]:
    """(line, expression, expected JSON, checked by terraform) for every case of the fixture."""
    out, lines, start, oracle = [], [], 0, True
    for number, line in enumerate(CASES_FILE.read_text().splitlines(), 1):
        if line.startswith("=> "):
            out.append((start, "\n".join(lines), line[3:], oracle))
            lines, oracle = [], True
        elif line.startswith("# no-oracle"):
            oracle = False
        elif line.startswith("#") and not lines:
            continue
        elif line.strip() or lines:
            if not lines:
                start = number
            lines.append(line)
    return out


CASES = cases()


def plain(value):
    """A value as the fixture writes it."""
    if isinstance(value, Invalid):
        return {"$invalid": value.expression}
    if isinstance(value, Encoded):
        return {"$encoded": plain(value.value)}
    if isinstance(value, Repeated):
        return {"$repeated": plain(value.element)}
    if isinstance(value, Unknown):
        return marked(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, TfSet)):
        return [plain(item) for item in value]
    return value


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("expressions")
    shutil.copy(CONTEXT, directory / "context.tf")
    body = "".join(f"  case_{i} = {expression}\n" for i, (_, expression, _, _) in enumerate(CASES))
    (directory / "cases.tf").write_text("locals {\n" + body + "}\n")
    options = ReaderOptions()
    loader = Loader(options)
    module = loader.directory(directory)
    assert not module.errors, [e.located() for e in module.errors]
    values, _ = root_values(module, options)
    context = Context(loader, options, Manifest(directory), directory, module, values)
    ACTIVE.append(context.budget)
    try:
        instance = Instance(module, context)
        yield {i: plain(instance.local(f"case_{i}")) for i in range(len(CASES))}
    finally:
        ACTIVE.pop()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"line{line}" for line, *_ in CASES])
def test_expression_gives_its_value(evaluated, index):
    line, expression, expected, _ = CASES[index]
    assert evaluated[index] == json.loads(expected), f"{CASES_FILE.name}:{line}: {expression}"


def test_the_fixture_covers_every_kind_of_value():
    expected = [json.loads(value) for _, _, value, _ in CASES]
    assert len(CASES) >= 150
    text = json.dumps(expected)
    for kind in ("$unknown", "like", "$encoded", "$invalid"):
        assert kind in text
    assert sum(1 for value in expected if not any(k in json.dumps(value) for k in ("$unknown", "$invalid"))) >= 100


def _known(index: int) -> bool:
    _, expression, expected, oracle = CASES[index]
    return oracle and "$" not in expected and "var.unknown" not in expression and "var.flag" not in expression


@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform binary is not on PATH")
def test_known_values_agree_with_terraform_console(tmp_path, evaluated):
    """terraform console, given the same module, prints the same JSON for every known case."""
    shutil.copy(CONTEXT, tmp_path / "context.tf")
    known = [i for i in range(len(CASES)) if _known(i)]
    body = "".join(f"  case_{i} = {CASES[i][1]}\n" for i in known)
    (tmp_path / "cases.tf").write_text("locals {\n" + body + "}\n")
    script = "jsonencode([" + ", ".join(f"local.case_{i}" for i in known) + "])\n"
    proc = subprocess.run(["terraform", "console", "-var", "unknown=u", "-var", "unknown_list=[]", "-var",
                           "flag=true"], cwd=tmp_path, input=script, capture_output=True, text=True, timeout=120)
    output = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout).splitlines() if line.startswith('"')]
    assert len(output) == 1, proc.stdout + proc.stderr
    for i, terraform in zip(known, json.loads(json.loads(output[0])), strict=True):
        assert terraform == evaluated[i], f"{CASES_FILE.name}:{CASES[i][0]}: {CASES[i][1]}"
