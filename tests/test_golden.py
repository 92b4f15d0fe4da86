"""The golden record of the generated policy: the whole `sesrego compile -o` output under tests/golden/policy/.

Generated Rego is reviewed as a diff of this tree, as openapi-python-client reviews its golden record.
`pytest --update-golden` is the only way to rewrite it (with tests/golden/ir.json and docs/rules.md).
The bundle is built from the same files, so it is checked against the tree too: every file of a
bundle but the data document, the manifest and the recorded sources is a file of the tree, byte for byte.
"""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from conftest import ROOT
from sesrego.bundle import DATA_PATH, MANIFEST, SOURCES_DIR, bundle_files
from sesrego.cli import cli
from sesrego.fsutil import RECORD

GOLDEN = ROOT / "tests" / "golden" / "policy"


def _tree(directory) -> dict[str, bytes]:
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file()}


def test_compile_output_matches_the_golden_tree(tmp_path, fast_compile, update_golden):
    out = tmp_path / "policy"
    result = CliRunner().invoke(cli, ["compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = _tree(out)
    record = json.loads(written.pop(RECORD))  # the record of what sesrego wrote, not compiler output
    assert sorted(record["files"]) == sorted(written)
    if update_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns(RECORD))
    golden = _tree(GOLDEN)
    assert sorted(written) == sorted(golden), "files added or removed (regenerate with pytest --update-golden)"
    changed = [name for name in golden if written[name] != golden[name]]
    assert changed == [], "generated files changed (regenerate with pytest --update-golden and review the diff)"


def test_bundle_files_are_the_golden_tree_without_tests(compiled):
    program, tree = compiled
    golden = _tree(GOLDEN)
    files = bundle_files(program, tree)
    rego = {name: body for name, body in files.items() if name.endswith(".rego")}
    assert rego == {name: body for name, body in golden.items()
                    if name.endswith(".rego") and not name.endswith("_test.rego")}
    assert json.loads(files[DATA_PATH]) == json.loads(golden["data.json"])["sesrego"]
    others = set(files) - set(rego) - {DATA_PATH, MANIFEST}
    assert others and all(name.startswith(SOURCES_DIR + "/") and name.endswith(".md") for name in others)
