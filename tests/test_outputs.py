"""Never lose a user's file: output directories hold only sesrego's own files, recorded; a run
killed midway is repaired by the next; file modes are kept; outputs never share a path."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT
from sesrego.cli import cli
from sesrego.fsutil import JOURNAL, RECORD

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

USER_FILES = {"mine.rego": b"package mine\n", ".git/HEAD": b"ref: refs/heads/main\n", "notes/todo.txt": b"x\n"}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def snapshot(directory) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def with_user_files(directory):
    for name, body in USER_FILES.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(body)
    return directory


@pytest.fixture(scope="module")
def clean_policy(tmp_path_factory):
    """What `compile -o` writes into an empty directory."""
    out = tmp_path_factory.mktemp("clean") / "policy"
    assert run("compile", "-o", out).exit_code == 0
    return snapshot(out)


# --- compile -o -----------------------------------------------------------------------------------


def test_compile_writes_its_files_and_a_record_never_named_manifest(tmp_path, clean_policy):
    recorded = json.loads(clean_policy[RECORD])["files"]
    assert sorted(recorded) == sorted(name for name in clean_policy if name != RECORD)
    assert all(hashlib.sha256(clean_policy[n]).hexdigest() == digest for n, digest in recorded.items())
    assert ".manifest" not in clean_policy and "compile-report.json" not in clean_policy
    assert "sesrego/rules/ses_001/ses_001.rego" in clean_policy and "data.json" in clean_policy


def test_a_directory_sesrego_did_not_write_is_refused(tmp_path):
    out = with_user_files(tmp_path / "policy")
    before = snapshot(out)
    result = run("compile", "-o", out)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1].startswith(f"Error: {out}: directory is not empty and sesrego did not "
                                                     "write it")
    assert "--force" in result.stderr
    assert snapshot(out) == before


def test_force_writes_beside_the_users_files_and_names_each_replaced_one(tmp_path, clean_policy):
    out = with_user_files(tmp_path / "policy")
    (out / "data.json").write_text('{"mine": true}')  # the user's file of the same name
    result = run("compile", "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if "replaced" in line] == [
        f"{out / 'data.json'}: replaced (it was not written by sesrego; --force)"]
    after = snapshot(out)
    assert {name: after[name] for name in USER_FILES} == USER_FILES
    assert {k: v for k, v in after.items() if k not in USER_FILES} == clean_policy


def test_a_rebuild_keeps_user_files_and_removes_only_its_own_stale_files(tmp_path, clean_policy):
    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    with_user_files(out)
    record = json.loads((out / RECORD).read_text())
    record["files"]["sesrego/rules/retired/retired.rego"] = hashlib.sha256(b"package old\n").hexdigest()
    (out / "sesrego/rules/retired").mkdir(parents=True)
    (out / "sesrego/rules/retired/retired.rego").write_text("package old\n")
    (out / RECORD).write_text(json.dumps(record))
    (out / "sesrego/main.rego").write_text("edited by hand\n")  # sesrego's own file: regenerated
    result = run("compile", "-o", out)
    assert result.exit_code == 0, result.output
    assert "removed 1 stale" in result.stderr
    after = snapshot(out)
    assert {name: after.pop(name) for name in USER_FILES} == USER_FILES
    assert after == clean_policy and not (out / "sesrego/rules/retired").exists()


def test_a_stale_file_someone_changed_is_kept(tmp_path):
    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    record = json.loads((out / RECORD).read_text())
    record["files"]["old.rego"] = hashlib.sha256(b"package old\n").hexdigest()
    record["files"]["edited.rego"] = hashlib.sha256(b"package edited\n").hexdigest()
    (out / RECORD).write_text(json.dumps(record))
    (out / "old.rego").write_text("package old\n")
    (out / "edited.rego").write_text("package edited\n# my change\n")
    result = run("compile", "-o", out)
    assert result.exit_code == 0 and "removed 1 stale" in result.stderr
    assert not (out / "old.rego").exists() and (out / "edited.rego").read_text().endswith("# my change\n")
    assert f"{out / 'edited.rego'}: kept; it changed since sesrego wrote it" in result.stderr
    assert "edited.rego" not in json.loads((out / RECORD).read_text())["files"]


def test_an_unreadable_record_is_refused_unless_forced(tmp_path, clean_policy):
    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    (out / RECORD).write_text("[not a record")
    result = run("compile", "-o", out)
    assert result.exit_code == 2 and ".sesrego-files.json is not a record sesrego wrote" in result.stderr
    assert run("compile", "-o", out, "--force").exit_code == 0
    assert snapshot(out) == clean_policy


def test_a_new_file_that_would_replace_a_user_file_needs_force(tmp_path):
    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    record = json.loads((out / RECORD).read_text())
    del record["files"]["data.json"]  # as if data.json were the user's
    (out / RECORD).write_text(json.dumps(record))
    (out / "data.json").write_text("mine")
    result = run("compile", "-o", out)
    assert result.exit_code == 2 and "would replace data.json" in result.stderr
    assert (out / "data.json").read_text() == "mine"


def test_root_and_home_are_always_refused(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for target, words in ((home, "home directory"), (tmp_path / "home" / ".." / "home", "home directory"),
                          ("/", "root directory")):
        for force in ([], ["--force"]):
            result = run("compile", "-o", target, *force)
            assert result.exit_code == 2 and words in result.stderr, result.output
            assert result.stderr.count("\n") == 1 + result.stderr.count("cross-check")
    assert list(home.iterdir()) == []
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", home)
    assert result.exit_code == 2 and "home directory" in result.stderr


def test_dot_and_dotdot_follow_the_rule_for_any_directory(tmp_path, monkeypatch, clean_policy):
    empty = tmp_path / "parent" / "empty"
    empty.mkdir(parents=True)
    monkeypatch.chdir(empty)
    assert run("compile", "-o", ".").exit_code == 0
    assert snapshot(empty) == clean_policy
    assert run("compile", "-o", ".").exit_code == 0  # its own directory now
    result = run("compile", "-o", "..")  # holds empty/, which sesrego did not write there
    assert result.exit_code == 2 and "Error: ..: directory is not empty" in result.stderr


def test_a_file_where_the_directory_should_be_is_an_error(tmp_path):
    path = tmp_path / "policy"
    path.write_text("not a directory")
    result = run("compile", "-o", path)
    assert result.exit_code == 2 and "Traceback" not in result.output


# --- a run killed midway ----------------------------------------------------------------------------

KILLER = """
import os, signal, sys
import sesrego.fsutil as fsutil
calls = {"n": 0}
real = os.replace
def replace(src, dst):
    if calls["n"] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGTERM)
    calls["n"] += 1
    return real(src, dst)
fsutil.os.replace = replace
from sesrego.cli import cli
cli.main(["compile", "-o", sys.argv[2], *sys.argv[3:]], prog_name="sesrego")
"""


# 23 files: the journal is the 1st rename (0), the files the 2nd to 24th, the record the 25th (24).
@pytest.mark.parametrize("moves", [0, 1, 12, 23, 24])
def test_a_run_killed_by_sigterm_is_repaired_by_the_next(tmp_path, clean_policy, moves):
    out = tmp_path / "policy"
    assert run("compile", "-o", out, "--catalog", ROOT / "sesrego/sources/catalogs/ses-v1.md").exit_code == 0
    before = snapshot(with_user_files(out))
    proc = subprocess.run([sys.executable, "-c", KILLER, str(moves), str(out)], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    after_kill = snapshot(out)
    assert {name: after_kill[name] for name in USER_FILES} == USER_FILES  # never touched
    if moves == 0:  # killed before the journal was in place: the old set, beside the run's scratch files
        assert {k: v for k, v in after_kill.items() if not k.startswith((".sesrego-staging.", "..sesrego"))} \
            == before
    else:  # killed after: the journal names every file that is sesrego's
        assert (out / JOURNAL).exists()
    result = run("compile", "-o", out)  # no --force needed: the journal says what is sesrego's
    assert result.exit_code == 0, result.output
    final = snapshot(out)
    assert {name: final.pop(name) for name in USER_FILES} == USER_FILES
    assert final == clean_policy
    assert not (out / JOURNAL).exists() and not list(out.glob(".sesrego-staging.*"))


def test_ctrl_c_while_writing_leaves_the_old_set_or_a_repairable_one(tmp_path, monkeypatch, clean_policy):
    import sesrego.fsutil as fsutil

    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    real, calls = os.replace, []

    def interrupted(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", interrupted)
    result = run("compile", "-o", out)
    assert result.exit_code == 130 and result.stderr.endswith("Error: interrupted\n")
    monkeypatch.setattr(fsutil.os, "replace", real)
    assert run("compile", "-o", out).exit_code == 0
    assert snapshot(out) == clean_policy


# --- file modes ---------------------------------------------------------------------------------------


def test_a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path):
    bundle = tmp_path / "b.tar.gz"
    assert run("bundle", "-o", bundle).exit_code == 0
    bundle.chmod(0o600)
    assert run("bundle", "-o", bundle).exit_code == 0
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    old = os.umask(0o027)
    try:
        assert run("bundle", "-o", tmp_path / "new.tar.gz", "--oci-layout", tmp_path / "oci").exit_code == 0
        assert run("compile", "-o", tmp_path / "policy").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.tar.gz").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "policy" / "data.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "oci" / "index.json").stat().st_mode) == 0o640
    (tmp_path / "policy" / "data.json").chmod(0o600)
    assert run("compile", "-o", tmp_path / "policy").exit_code == 0
    assert stat.S_IMODE((tmp_path / "policy" / "data.json").stat().st_mode) == 0o600


# --- the cross-check report and colliding outputs -------------------------------------------------------


def test_the_cross_check_report_is_written_only_when_asked(tmp_path):
    assert run("bundle", "-o", tmp_path / "b.tar.gz").exit_code == 0
    assert run("compile", "-o", tmp_path / "policy").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tar.gz", "policy"]
    assert not (tmp_path / "policy" / "compile-report.json").exists()
    for command in (["bundle", "-o", tmp_path / "c.tar.gz"], ["compile", "-o", tmp_path / "p2"]):
        report = tmp_path / f"{command[0]}-report.json"
        result = run(*command, "--cross-check-report", report)
        assert result.exit_code == 0, result.output
        assert json.loads(report.read_text())["cross_check"]


def test_a_user_file_named_compile_report_json_is_left_alone(tmp_path):
    (tmp_path / "compile-report.json").write_text("mine")
    assert run("bundle", "-o", tmp_path / "b.tar.gz").exit_code == 0
    assert (tmp_path / "compile-report.json").read_text() == "mine"


@pytest.mark.parametrize("args", [
    ["bundle", "-o", "{t}/r.json", "--cross-check-report", "{t}/r.json"],
    ["bundle", "-o", "{t}/x/../r.json", "--cross-check-report", "{t}/r.json"],
    ["bundle", "-o", "{t}/oci/b.tar.gz", "--oci-layout", "{t}/oci"],
    ["bundle", "-o", "{t}/b.tar.gz", "--oci-layout", "{t}/oci", "--cross-check-report", "{t}/oci/index.json"],
    ["compile", "-o", "{t}/policy", "--cross-check-report", "{t}/policy/data.json"],
])
def test_two_outputs_of_one_command_never_share_a_path(tmp_path, args):
    result = run(*[a.format(t=tmp_path) for a in args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("Error:") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["bundle", "-o", "{t}/in/cat.md", "--catalog", "{t}/in/cat.md"],
    ["bundle", "-o", "{t}/in/g.md", "--guidance", "{t}/in/../in/g.md"],
    ["bundle", "-o", "{t}/in/d.yaml", "--data", "{t}/in/d.yaml"],
    ["bundle", "-o", "{t}/in/link.pem", "--signing-key", "{t}/in/key", "--signing-alg", "HS256"],
    ["bundle", "-o", "{t}/b.tar.gz", "--signing-key", "{t}/in/key", "--signing-alg", "HS256",
     "--claims-file", "{t}/in/claims.json", "--cross-check-report", "{t}/in/claims.json"],
    ["compile", "-o", "{t}/policy", "--catalog", "{t}/in/cat.md", "--cross-check-report", "{t}/in/cat.md"],
])
def test_an_output_is_never_one_of_the_commands_inputs(tmp_path, args):
    given = tmp_path / "in"
    given.mkdir()
    (given / "cat.md").write_bytes((ROOT / "sesrego/sources/catalogs/ses-v1.md").read_bytes())
    (given / "g.md").write_bytes((ROOT / "sesrego/sources/guidance/ses-specific-guidance.md").read_bytes())
    (given / "d.yaml").write_text("sesrego:\n  config: {scp_attested: true}\n")
    (given / "key").write_bytes(b"a shared secret of enough length for HS256")  # a private key, lost before
    (given / "link.pem").symlink_to(given / "key")
    (given / "claims.json").write_text('{"team": "mail"}')
    before = {p.name: p.read_bytes() for p in given.iterdir()}
    result = run(*[a.format(t=tmp_path) for a in args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "is also an input of this command; the output would replace it" in result.stderr
    assert {p.name: p.read_bytes() for p in given.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


# --- OCI layout --------------------------------------------------------------------------------------------


def _index(layout) -> dict:
    return json.loads((layout / "index.json").read_text())


def _tags(layout) -> dict[str, str]:
    return {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in _index(layout)["manifests"]}


def _blobs(layout) -> set[str]:
    return {p.name for p in (layout / "blobs" / "sha256").iterdir()}


def _referenced(layout) -> set[str]:
    used = set()
    for descriptor in _index(layout)["manifests"]:
        digest = descriptor["digest"].split(":")[1]
        used.add(digest)
        manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
        used |= {d["digest"].split(":")[1] for d in [manifest["config"], *manifest["layers"]]}
    return used


def test_oci_layout_merges_by_tag_keeping_other_tags_and_blobs(tmp_path):
    layout = tmp_path / "oci"
    assert run("bundle", "-o", tmp_path / "a.tar.gz", "--oci-layout", layout, "--oci-tag", "1.0").exit_code == 0
    first = _tags(layout)
    assert run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", layout, "--oci-tag", "2.0",
               "--no-sources").exit_code == 0
    tags = _tags(layout)
    assert tags["1.0"] == first["1.0"] and set(tags) == {"1.0", "2.0"} and tags["2.0"] != tags["1.0"]
    assert _blobs(layout) == _referenced(layout)
    # Rebuilding 1.0 with other content replaces that tag and removes the blobs only it used.
    assert run("bundle", "-o", tmp_path / "a.tar.gz", "--oci-layout", layout, "--oci-tag", "1.0",
               "--no-sources", "--cross-check-report", tmp_path / "r.json").exit_code == 0
    assert set(_tags(layout)) == {"1.0", "2.0"} and _tags(layout)["2.0"] == tags["2.0"]
    assert _blobs(layout) == _referenced(layout)


@pytest.mark.parametrize("tag", ["", "a b", "-x", ".x", "x" * 129, "v1\x1b[2J", "../x"])
def test_an_oci_tag_registries_refuse_is_a_usage_error(tmp_path, tag):
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", tmp_path / "oci", "--oci-tag", tag)
    assert result.exit_code == 2 and "is not an OCI tag" in result.stderr and "\x1b[2J" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", tmp_path / "oci", "--oci-tag",
               "v1.2_rc-3").exit_code == 0


def test_oci_layout_adds_to_a_layout_another_tool_wrote(tmp_path):
    layout = tmp_path / "oci"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    foreign = b'{"schemaVersion":2,"config":{"digest":"sha256:' + b"c" * 64 + b'"},"layers":[]}'
    digest = hashlib.sha256(foreign).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(foreign)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{digest}",
        "size": len(foreign), "annotations": {"org.opencontainers.image.ref.name": "theirs"}}]}))
    (layout / "README").write_text("the other tool's")
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", layout, "--oci-tag", "ours")
    assert result.exit_code == 0, result.output
    assert set(_tags(layout)) == {"theirs", "ours"} and _tags(layout)["theirs"] == f"sha256:{digest}"
    assert (layout / "blobs" / "sha256" / digest).read_bytes() == foreign
    assert (layout / "README").read_text() == "the other tool's"
    assert "replaced" not in result.stderr


def test_oci_layout_refuses_a_directory_that_is_no_layout(tmp_path):
    layout = with_user_files(tmp_path / "oci")
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", layout)
    assert result.exit_code == 2 and "sesrego did not write it" in result.stderr
    assert not (tmp_path / "b.tar.gz").exists()
    (layout / "index.json").write_text("[1, 2")
    (layout / "oci-layout").write_text("{}")
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", layout)
    assert result.exit_code == 2 and "Traceback" not in result.output


# --- scan -o through links and into pipes -------------------------------------------------------------


def test_a_report_is_written_through_a_symbolic_link_which_stays(tmp_path):
    target, link = tmp_path / "reports" / "latest.json", tmp_path / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    link.symlink_to(target)
    result = run("scan", "-j", "1", "--format", "json", ROOT / "tests/fixtures/plans/one-warning.json", "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(target.read_text())["summary"]["warn"] == 1


def test_a_report_into_a_fifo_is_written_in_place(tmp_path):
    import threading

    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run("scan", "-j", "1", "--format", "json", ROOT / "tests/fixtures/plans/one-warning.json", "-o", fifo)
    reader.join()
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and json.loads(received[0])["summary"]["warn"] == 1


def test_a_report_into_a_fifo_nobody_reads_fails_within_the_input_timeout(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "sesrego", "scan", "-j", "1", "--input-timeout", "0.5", "-o",
                             str(fifo), str(ROOT / "tests/fixtures/plans/one-warning.json")],
                            capture_output=True, text=True, timeout=60)  # hung forever before
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{fifo}: no program opened this FIFO for reading within 0.5 seconds" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# --- links and hand-edited records: nothing outside the directory, nothing sesrego did not write -------------


def test_a_linked_directory_inside_the_output_is_never_written_through(tmp_path):
    out, elsewhere = tmp_path / "policy", tmp_path / "elsewhere"
    assert run("compile", "-o", out).exit_code == 0
    elsewhere.mkdir()
    (elsewhere / "main.rego").write_text("the user's own\n")
    import shutil

    shutil.rmtree(out / "sesrego")
    (out / "sesrego").symlink_to(elsewhere)  # where sesrego's files go, a link to the user's directory
    for force in ([], ["--force"]):
        result = run("compile", "-o", out, *force)
        assert result.exit_code == 2 and "sesrego is a symbolic link" in result.stderr, result.output
        assert result.stderr.count("Error:") == 1
    assert sorted(p.name for p in elsewhere.iterdir()) == ["main.rego"]
    assert (elsewhere / "main.rego").read_text() == "the user's own\n"


def test_a_directory_holding_only_a_link_is_not_empty(tmp_path):
    out = tmp_path / "policy"
    out.mkdir()
    (out / "sesrego").symlink_to(tmp_path)
    result = run("compile", "-o", out)
    assert result.exit_code == 2 and "directory is not empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy"]


def test_a_hand_edited_record_never_removes_a_file_outside_or_one_it_has_no_digest_of(tmp_path):
    out, outside = tmp_path / "policy", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("precious\n")
    assert run("compile", "-o", out).exit_code == 0
    (out / "lnk").symlink_to(outside)
    (out / "mine.rego").write_text("package mine\n")
    record = json.loads((out / RECORD).read_text())
    record["files"]["lnk/secret.txt"] = hashlib.sha256(b"precious\n").hexdigest()  # through a link
    record["previous"] = ["mine.rego"]  # named, but without a digest
    (out / RECORD).write_text(json.dumps(record))
    result = run("compile", "-o", out)
    assert result.exit_code == 0, result.output
    assert (outside / "secret.txt").read_text() == "precious\n" and (out / "mine.rego").exists()
    assert f"{out / 'mine.rego'}: kept; sesrego has no digest of it" in result.stderr
    # A record naming files without digests at all (a list) removes nothing either.
    (out / RECORD).write_text(json.dumps({"files": [*json.loads((out / RECORD).read_text())["files"], "mine.rego"]}))
    assert run("compile", "-o", out).exit_code == 0 and (out / "mine.rego").exists()


@pytest.mark.parametrize("names", [["../outside/secret.txt"], ["/etc/passwd"], ["./data.json"], ["a\\b"]])
def test_a_record_naming_paths_outside_the_directory_is_refused(tmp_path, names):
    out = tmp_path / "policy"
    assert run("compile", "-o", out).exit_code == 0
    (out / RECORD).write_text(json.dumps({"files": {name: "0" * 64 for name in names}}))
    before = snapshot(out)
    result = run("compile", "-o", out)
    assert result.exit_code == 2 and "is not a record sesrego wrote" in result.stderr
    assert snapshot(out) == before


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_record_that_is_a_link_is_never_written_through(tmp_path, force):
    out, target = tmp_path / "policy", tmp_path / "target.json"
    target.write_text("{}")
    out.mkdir()
    (out / RECORD).symlink_to(target)
    result = run("compile", "-o", out, *force)
    assert target.read_text() == "{}"
    if force:
        assert result.exit_code == 0 and not (out / RECORD).is_symlink()
        assert "sesrego/main.rego" in json.loads((out / RECORD).read_text())["files"]
    else:
        assert result.exit_code == 2 and "is not a record sesrego wrote" in result.stderr


def test_an_own_file_that_became_a_link_is_replaced_not_written_through(tmp_path):
    out, target = tmp_path / "policy", tmp_path / "users.json"
    assert run("compile", "-o", out).exit_code == 0
    target.write_text("the user's\n")
    target.chmod(0o600)
    (out / "data.json").unlink()
    (out / "data.json").symlink_to(target)
    assert run("compile", "-o", out).exit_code == 0
    assert target.read_text() == "the user's\n" and not (out / "data.json").is_symlink()
    assert stat.S_IMODE((out / "data.json").stat().st_mode) != 0o600


@pytest.mark.parametrize("spelling", ["symlink", "hardlink", "linked-directory"])
def test_outputs_that_are_one_file_through_links_are_refused(tmp_path, spelling):
    first = tmp_path / "out.json"
    first.write_text("old")
    if spelling == "symlink":
        second = tmp_path / "second.json"
        second.symlink_to(first)
    elif spelling == "hardlink":
        second = tmp_path / "second.json"
        os.link(first, second)
    else:
        (tmp_path / "here").symlink_to(tmp_path)
        second = tmp_path / "here" / "out.json"
    plan = ROOT / "tests/fixtures/plans/one-warning.json"
    for args in (["bundle", "-o", first, "--cross-check-report", second],
                 ["scan", "-j", "1", plan, "-f", "json", "-o", first, "--report", f"sarif={second}"],
                 ["scan", "-j", "1", plan, "--report", f"json={first}", "--write-baseline", second]):
        result = run(*args)
        assert result.exit_code == 2 and "two outputs of this command" in result.stderr, (args, result.output)
        assert first.read_text() == "old"
    result = run("compile", "-o", tmp_path / "policy", "--cross-check-report", tmp_path / "here-policy" / "r.json")
    assert result.exit_code == 0  # a different directory: fine
    (tmp_path / "policy-link").symlink_to(tmp_path / "policy")
    result = run("compile", "-o", tmp_path / "policy", "--cross-check-report", tmp_path / "policy-link" / "r.json")
    assert result.exit_code == 2 and "inside the output directory" in result.stderr


def test_refusing_a_large_directory_looks_no_further_than_its_first_file(tmp_path, monkeypatch):
    import sesrego.fsutil as fsutil

    big = tmp_path / "big"
    for i in range(30):
        (big / f"d{i:02}").mkdir(parents=True)
        (big / f"d{i:02}" / "f.txt").write_text("x")
    visited = []
    real = os.walk

    def walk(top, *args, **kwargs):
        for entry in real(top, *args, **kwargs):
            visited.append(entry[0])
            yield entry

    monkeypatch.setattr(fsutil.os, "walk", walk)
    result = run("compile", "-o", big)
    assert result.exit_code == 2 and "directory is not empty and sesrego did not write it (it holds d00/f.txt" \
        in result.stderr
    assert len(visited) <= 2


def test_a_command_that_fails_writes_none_of_its_outputs(tmp_path):
    taken = with_user_files(tmp_path / "taken")
    report = tmp_path / "report.json"
    for args in (["compile", "-o", taken], ["bundle", "-o", tmp_path / "b.tar.gz", "--oci-layout", taken]):
        result = run(*args, "--cross-check-report", report)
        assert result.exit_code == 2 and "directory is not empty" in result.stderr
        assert not report.exists() and not (tmp_path / "b.tar.gz").exists()
    # --strict fails after writing the report, which explains why, and nothing else
    result = run("compile", "-o", tmp_path / "policy", "--cross-check-report", report, "--strict")
    assert result.exit_code == 2 and json.loads(report.read_text())["cross_check"]
    assert not (tmp_path / "policy").exists()
