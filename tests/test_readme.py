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
