"""The README's 30-second tour shows what sesrego prints today."""

from __future__ import annotations

import re

from click.testing import CliRunner

from conftest import ROOT
from sesrego.cli import cli


def _tour() -> list[tuple[str, str]]:
    """(command, output) for each `$ sesrego scan ...` line of the tour block."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## A 30-second tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps = re.split(r"^\$ ", block, flags=re.M)[1:]
    return [(step.split("\n", 1)[0], step.split("\n", 1)[1]) for step in steps if step.startswith("sesrego scan")]


def test_the_tour_output_is_current(monkeypatch):
    monkeypatch.chdir(ROOT)
    steps = _tour()
    assert len(steps) == 2
    for command, shown in steps:
        result = CliRunner().invoke(cli, command.split()[1:])
        assert result.exit_code == 0, result.output
        assert result.output == shown, command


def _ci_blocks() -> list[str]:
    """The YAML blocks of the README's CI setup section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## CI setup", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


def test_the_ci_setup_examples_are_valid_and_use_what_exists():
    import yaml

    from sesrego.formats import FORMATS

    blocks = [yaml.safe_load(block) for block in _ci_blocks()]
    assert len(blocks) == 4  # GitHub Actions, GitLab CI, pre-commit with the hook, pre-commit with a local hook
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    workflow = blocks[0]
    [uses] = [s for s in workflow["jobs"]["sesrego"]["steps"] if "sesrego@" in s.get("uses", "")]
    assert set(uses["with"]) <= set(action["inputs"])
    upload = workflow["jobs"]["sesrego"]["steps"][-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == action["inputs"]["sarif-file"]["default"]
    gitlab = blocks[1]["sesrego"]
    assert gitlab["artifacts"]["reports"]["junit"] == "sesrego-junit.xml"
    reports = re.findall(r"--report (\w+)=(\S+)", " ".join(gitlab["script"]))
    assert {fmt for fmt, _ in reports} <= set(FORMATS) and ("junit", "sesrego-junit.xml") in reports
    hook_ids = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert blocks[2]["repos"][0]["hooks"][0]["id"] in hook_ids
    local = blocks[3]["repos"][0]["hooks"][0]
    assert local["language"] == "system" and local["entry"] == "sesrego scan" and local["require_serial"] is True
    assert re.search(local["files"], "infra/main.tf") and not re.search(local["files"], "plan.json")
