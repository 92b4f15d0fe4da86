"""Configuration mistakes are errors, not silent no-ops; waivers that expired or covered nothing
are reported; per-input (inline) waivers join the configuration's for that input only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, identity, plan
from sesrego.cli import cli
from sesrego.config import WAIVER_KEYS, load_configuration, valid_expiry
from sesrego.errors import InputError, SesregoError

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

OTHER = str(FIXTURES / "plans" / "one-warning.json")  # one SES-001 on aws_iam_policy.other
RULE_IDS = [f"SES-00{i}" for i in range(1, 9)]
SEND = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}


def write(tmp_path, document, name="sesrego.yaml"):
    path = tmp_path / name
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else
                        (yaml.safe_dump(document) if name.endswith((".yaml", ".yml")) else json.dumps(document)))
    return path


def scan(*args):
    return CliRunner().invoke(cli, ["scan", "-j", "1", *map(str, args)])


def config_error(tmp_path, document, *words, name="sesrego.yaml"):
    """The file is refused by scan and by bundle, with one line naming it and holding ``words``."""
    path = write(tmp_path, document, name)
    for args in (["scan", "-j", "1", OTHER, "--data", str(path)], ["bundle", "-o", str(tmp_path / "b.tar.gz"),
                                                                    "--data", str(path)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and errors[0].startswith(f"Error: {path}"), result.stderr
        for word in words:
            assert word in errors[0], errors[0]
        assert "Traceback" not in result.output
    assert not (tmp_path / "b.tar.gz").exists()


def waiver(**extra):
    return {"rule_id": "SES-001", "resource": "aws_iam_policy.*", "reason": "SEC-1", **extra}


def config(**keys):
    return {"sesrego": {"config": keys}}


# --- accepted ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sesrego.yaml", "sesrego.json"])
def test_a_complete_configuration_is_accepted(tmp_path, name):
    path = write(tmp_path, config(administrators=["admin-*"], trusted_recipients=["*@example.com"],
                                  severity={"SES-001": "deny"}, scp_attested=False,
                                  waivers=[waiver(expires="2999-12-31"), waiver(rule_id="*", resource="x"),
                                           waiver(expires="2999-12-31T23:59:59Z"),
                                           waiver(expires="2999-01-01T00:00:00.5+05:30")]), name)
    result = scan(OTHER, "--data", path, "--format", "json")
    assert result.exit_code == 0, result.output  # SES-001 waived by the first waiver
    document = json.loads(result.stdout)
    assert document["findings"] == [] and document["summary"]["waived"] == 1
    assert document["configuration"] == {"source": "files", "files": [str(path)]}


def test_unquoted_yaml_dates_are_dates(tmp_path):
    path = write(tmp_path, "sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: '*', "
                           "reason: r, expires: 2999-03-31}\n")
    assert load_configuration([path], RULE_IDS).config["waivers"][0]["expires"] == "2999-03-31"


def test_other_top_level_keys_are_allowed_and_named_in_a_note(tmp_path):
    path = write(tmp_path, {"sesrego": {"config": {}}, "services": {"a": 1}, "conftest": []})
    result = scan(OTHER, "--data", path)
    assert result.exit_code == 0, result.output
    assert f"note: {path}: top-level keys other than 'sesrego' are data for conftest or OPA, not sesrego " \
           "configuration: conftest, services" in result.stderr


# --- refused, with a suggestion ---------------------------------------------------------------------------


@pytest.mark.parametrize("document,words", [
    ({"sesrgo": {"config": {}}}, ["no top-level 'sesrego' key", "did you mean 'sesrego' for 'sesrgo'?"]),
    ({"services": {}}, ["no top-level 'sesrego' key"]),
    ({"sesrego": {"waivers": [waiver()]}}, ["unknown key sesrego.waivers", "only sesrego.config"]),
    ({"sesrego": {"confg": {}}}, ["did you mean 'config' for 'confg'?"]),
    ({"sesrego": {"facts": {}}}, ["sesrego.facts belongs to the compiled bundle"]),
    ({"sesrego": {"config": {"administrator": ["a"]}}}, ["unknown configuration key sesrego.config.administrator",
                                                         "did you mean 'administrators'"]),
    (config(waivers=[waiver(expiry="2020-01-01")]), ["waiver 1: unknown key 'expiry'", "did you mean 'expires'"]),
    (config(waivers=[{"rule_id": "SES-001", "resource": "x"}]), ["waiver 1: needs 'reason'"]),
    (config(waivers=[waiver(reason="  ")]), ["needs 'reason'"]),
    (config(waivers=[waiver(), {"rule_id": "SES-001", "reason": "r"}]), ["waiver 2: needs 'resource'"]),
    (config(waivers=[waiver(rule_id="ses-001")]), ['unknown rule id "ses-001" (did you mean SES-001?)']),
    (config(waivers=[waiver(rule_id="SES-099")]), ['unknown rule id "SES-099"', "SES-001", '*']),
    (config(waivers=[waiver(expires="2026-13-45")]), ['expires "2026-13-45" is not a date']),
    (config(waivers=[waiver(expires="2027-02-30")]), ["is not a date"]),
    (config(waivers=[waiver(expires="2027-03-31T25:00:00Z")]), ["is not a date"]),
    (config(waivers=[waiver(expires="next year")]), ["is not a date"]),
    (config(waivers=[waiver(expires=20270331)]), ["is not a date"]),
    (config(waivers={"rule_id": "SES-001"}), ["sesrego.config.waivers: must be a list"]),
    (config(waivers=["SES-001"]), ["waiver 1: must be an object"]),
    (config(severity={"ses-001": "deny"}), ["did you mean SES-001?"]),
    (config(severity={"SES-001": "high"}), ["severity must be deny, warn or info"]),
    (config(scp_attested="yes"), ["must be true or false"]),
    (config(administrators="admin"), ["must be a list of principal patterns"]),
    ({"sesrego": []}, ["'sesrego' must be an object"]),
    ([1, 2], ["must hold an object"]),
    ("", ["empty"]),
])
def test_mistakes_are_errors_naming_the_file(tmp_path, document, words):
    config_error(tmp_path, document, *words)


def test_unquoted_impossible_yaml_date_is_a_waiver_error_not_a_crash(tmp_path):
    config_error(tmp_path, "sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: x, reason: r, "
                           "expires: 2026-13-45}\n", "is not a date")


@pytest.mark.parametrize("name,text,words", [
    ("nan.json", '{"sesrego": {"config": {"scp_attested": NaN}}}', ["NaN is not a JSON number"]),
    ("inf.json", '{"sesrego": {"config": {}}, "x": -Infinity}', ["Infinity is not a JSON number"]),
    ("nan.yaml", "sesrego: {config: {}}\nx: .nan\n", ["nan is not a JSON number"]),
    ("inf.yaml", "sesrego: {config: {}}\nx: [.inf]\n", ["inf is not a JSON number"]),
    ("deep.json", '{"sesrego": {"config": {}}, "x": ' + "[" * 5000 + "]" * 5000 + "}", ["nested"]),
    ("deep.yaml", "sesrego: {config: {}}\nx: " + "[" * 300 + "]" * 300 + "\n", ["nested"]),
    ("long.json", '{"sesrego": {"config": {}}, "x": 1' + "0" * 5000 + "}", ["more digits"]),
    ("binary.yaml", "sesrego: {config: {}}\nx: !!binary aGVsbG8=\n", ["not JSON data"]),
    ("laughs.yaml", "sesrego: {config: {}}\n" + "\n".join(
        [f"l0: &l0 [{', '.join(['lol'] * 9)}]"] +
        [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]) + "\n",
     ["aliases expand to more than"]),
    ("cycle.yaml", "sesrego: {config: {}}\nx: &a [*a]\n", ["refers to a node that contains it"]),
    ("latin1.yaml", "sesrego: {config: {administrators: [caf\xe9]}}\n".encode("latin-1"), ["not UTF-8"]),
])
def test_hostile_data_files_are_refused(tmp_path, name, text, words):
    config_error(tmp_path, text, *words, name=name)


@pytest.mark.parametrize("name,text", [
    ("dup.yaml", "sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: '*', reason: r}\n"
                 "    waivers: []\n"),
    ("dup-top.yaml", "sesrego:\n  config: {scp_attested: true}\nsesrego:\n  config: {}\n"),
    ("dup.json", '{"sesrego": {"config": {"waivers": [{"rule_id": "SES-001", "resource": "*", "reason": "r"}], '
                 '"waivers": []}}}'),
    ("dup-waiver.json", '{"sesrego": {"config": {"waivers": [{"rule_id": "SES-001", "resource": "*", "reason": "r", '
                        '"expires": "2020-01-01", "expires": "2099-01-01"}]}}}'),
])
def test_a_key_set_twice_is_an_error_not_a_value_silently_lost(tmp_path, name, text):
    config_error(tmp_path, text, "set twice", name=name)


def test_yaml_merge_keys_may_still_override_what_they_merge(tmp_path):
    path = write(tmp_path, "base: &base {rule_id: SES-001, resource: x, reason: r}\nsesrego:\n  config:\n"
                           "    waivers:\n      - {<<: *base, resource: y}\n")
    assert load_configuration([path], RULE_IDS).waivers == [{"rule_id": "SES-001", "resource": "y", "reason": "r"}]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_a_configuration_saved_by_windows_tools_is_read(tmp_path, encoding):
    text = "sesrego:\n  config:\n    severity: {SES-001: deny}\n"
    raw = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    path = write(tmp_path, raw)
    assert load_configuration([path], RULE_IDS).config == {"severity": {"SES-001": "deny"}}


@pytest.mark.parametrize("raw,words", [
    ("sesrego: {config: {}}\n".encode("utf-32"), "UTF-32"),
    ("sesrego: {config: {}}\n".encode("utf-16-le"), "without a byte-order mark"),
    (b"\xff\xfe\x00\xd8", "not UTF-16 text"),
])
def test_other_encodings_are_an_error_naming_the_file(tmp_path, raw, words):
    config_error(tmp_path, raw, words)


def test_merge_conflicts_between_files_are_errors(tmp_path):
    first = write(tmp_path, config(scp_attested=True), "a.yaml")
    second = write(tmp_path, config(scp_attested=False), "b.yaml")
    result = scan(OTHER, "--data", first, "--data", second)
    assert result.exit_code == 2 and f"Error: {second}: data.sesrego.config.scp_attested is also set" in result.stderr


@pytest.mark.parametrize("value,ok", [
    ("2027-03-31", True), ("2024-02-29", True), ("2027-03-31T00:00:00Z", True), ("2027-03-31t00:00:00z", True),
    ("2027-03-31T23:59:60+14:00", True), ("2027-03-31 10:00:00-07:00", True),
    ("2023-02-29", False), ("2027-3-31", False), ("2027-03-31T24:00:00Z", False), ("2027-03-31T10:00Z", False),
    ("2027-03-31T10:00:00", False), ("2027-03-31T10:00:00+25:00", False), ("", False), (None, False),
    ("+2027-03-31", False), ("2027-03-31 ", False),
])
def test_expiry_dates(value, ok):
    assert valid_expiry(value) is ok


# --- fuzzed configuration files -----------------------------------------------------------------------------

NAMES = ["sesrego", "sesrgo", "config", "confg", "facts", "waivers", "administrators", "trusted_recipients",
         "severity", "scp_attested", "rule_id", "resource", "reason", "expires", "expiry", "SES-001", "*"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12), st.sampled_from(["2027-03-31", "2026-13-45", "SES-001", "ses-001", "*"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), inner,
                                                 max_size=4)), max_leaves=20)
waivers = st.lists(st.dictionaries(st.sampled_from(list(WAIVER_KEYS) + ["expiry"]), scalars, max_size=5), max_size=3)
documents = st.one_of(values, st.fixed_dictionaries({"sesrego": st.one_of(values, st.fixed_dictionaries(
    {"config": st.one_of(values, st.fixed_dictionaries({}, optional={
        "waivers": waivers, "severity": st.dictionaries(st.sampled_from(RULE_IDS + ["x"]), scalars, max_size=2),
        "administrators": st.lists(scalars, max_size=2), "scp_attested": scalars}))}))}))


def _text(document, yaml_syntax: bool) -> str:
    if yaml_syntax:
        return yaml.safe_dump(document, allow_unicode=True)
    return json.dumps(document, allow_nan=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(documents, st.booleans())
def test_any_configuration_file_loads_or_is_one_clean_error(tmp_path, document, yaml_syntax):
    path = tmp_path / ("fuzz.yaml" if yaml_syntax else "fuzz.json")
    path.write_text(_text(document, yaml_syntax))
    try:
        loaded = load_configuration([path], RULE_IDS)
    except InputError as exc:
        assert exc.path == str(path) and "\n" not in exc.located()
        return
    # What loads is exactly what the schema allows.
    assert set(loaded.config) <= {"administrators", "trusted_recipients", "severity", "waivers", "scp_attested"}
    for item in loaded.waivers:
        assert set(item) <= set(WAIVER_KEYS) and all(isinstance(item[k], str) and item[k].strip()
                                                      for k in ("rule_id", "resource", "reason"))
        assert item["rule_id"] in RULE_IDS + ["*"] and ("expires" not in item or valid_expiry(item["expires"]))
    json.dumps(loaded.config, allow_nan=False)  # no NaN or Infinity reaches OPA


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_load_or_are_one_clean_error(tmp_path, raw, yaml_syntax):
    path = tmp_path / ("raw.yaml" if yaml_syntax else "raw.json")
    path.write_bytes(raw)
    try:
        load_configuration([path], RULE_IDS)
    except SesregoError as exc:
        assert "\n" not in exc.located()


# --- waivers that expired or covered nothing --------------------------------------------------------------------


def test_expired_and_unused_waivers_are_reported(tmp_path):
    second = tmp_path / "second.json"
    second.write_text(json.dumps(plan(identity("aws_iam_policy.second", SEND))))
    path = write(tmp_path, config(waivers=[
        waiver(resource="aws_iam_policy.other", reason="used in one input"),
        waiver(resource="aws_iam_policy.gone", reason="matches nothing"),
        waiver(resource="aws_iam_policy.second", reason="too old", expires="2001-01-01"),
    ]))
    result = scan(OTHER, second, "--data", path, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [w["reason"] for w in document["waivers"]["expired"]] == ["too old"]
    assert [w["reason"] for w in document["waivers"]["unused"]] == ["matches nothing"]
    assert document["summary"]["waivers_expired"] == 1 and document["summary"]["waivers_unused"] == 1
    assert [f["resource"] for f in document["findings"]] == ["aws_iam_policy.second"]  # expired: not waived
    table = scan(OTHER, second, "--data", path).stdout.splitlines()
    assert "waiver SES-001 aws_iam_policy.second, expires 2001-01-01 has expired: it covers nothing; renew or " \
           "remove it" in table
    assert "waiver SES-001 aws_iam_policy.gone covered no finding in this run; remove it if it is no longer " \
           "needed" in table
    github = scan(OTHER, second, "--data", path, "--format", "github").stdout
    assert "::warning title=sesrego waiver::waiver SES-001 aws_iam_policy.gone covered no finding" in github


def test_a_clean_configuration_reports_no_waiver_trouble(tmp_path):
    path = write(tmp_path, config(waivers=[waiver(resource="aws_iam_policy.other")]))
    document = json.loads(scan(OTHER, "--data", path, "--format", "json").stdout)
    assert document["waivers"] == {"expired": [], "unused": []}
    assert "waiver" not in scan(OTHER, "--data", path).stdout


# --- per-input waivers (contract 3) -----------------------------------------------------------------------------


def test_extra_waivers_join_the_configurations_for_one_evaluation(compiled):
    from sesrego.engine import Embedded, data_document

    program, tree = compiled
    configured = waiver(resource="aws_iam_policy.first")
    evaluator = Embedded(tree.files, data_document(tree.facts, {"waivers": [configured]}))
    raw = json.dumps(plan(identity("aws_iam_policy.first", SEND), identity("aws_iam_policy.second", SEND))).encode()
    inline = {**waiver(resource="aws_iam_policy.*", reason="inline"), "source": "inline", "file": "main.tf",
              "line": 3}
    plain = evaluator.evaluate(raw)
    assert [f["resource"] for f in plain.findings] == ["aws_iam_policy.second"]
    extra = evaluator.evaluate(raw, [inline])
    assert extra.findings == () and [w["waiver"] for w in extra.waived] == [configured, inline]  # the first wins
    assert {json.dumps(w, sort_keys=True) for w in extra.waivers_used} == \
        {json.dumps(configured, sort_keys=True), json.dumps(inline, sort_keys=True)}
    assert evaluator.evaluate(raw).findings == plain.findings  # for that evaluation only


@dataclass(frozen=True)
class _Suppression:
    rule_ids: tuple
    resources: tuple
    reason: str
    file: str
    line: int
    expires: str | None = None


@dataclass(frozen=True)
class _TfInput:
    path: str
    plan: dict | None = None
    error: object = None
    locations: dict = field(default_factory=dict)
    suppressions: tuple = ()
    warnings: tuple = ()


def test_inline_suppressions_and_reader_warnings_reach_the_report(tmp_path, monkeypatch):
    import sesrego.terraform as terraform

    (tmp_path / "main.tf").write_text("# read by the stand-in reader below\n")
    root = str(tmp_path)
    document = plan(identity("aws_iam_policy.a", SEND), identity("aws_iam_policy.b", SEND))
    suppressions = (_Suppression(("SES-001",), ("aws_iam_policy.a",), "legacy", "main.tf", 4),
                    _Suppression(("SES-003",), ("aws_iam_policy.*",), "never used", "main.tf", 9, "2999-01-01"))

    def reader(paths, options=None):
        return [_TfInput(root, document, suppressions=suppressions, warnings=("main.tf:1: prod.tfvars not loaded",))]

    monkeypatch.setattr(terraform, "plan_from_tf", reader)
    result = scan(root, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [f["resource"] for f in report["findings"]] == ["aws_iam_policy.b"]
    [waived] = report["inputs"][0]["waived"]
    assert waived["waiver"] == {"rule_id": "SES-001", "resource": "aws_iam_policy.a", "reason": "legacy",
                                "source": "inline", "file": "main.tf", "line": 4}
    assert [w["line"] for w in report["waivers"]["unused"]] == [9]
    assert report["inputs"][0]["warnings"] == ["main.tf:1: prod.tfvars not loaded"]
    assert "warning: main.tf:1: prod.tfvars not loaded" in result.stderr
    table = scan(root).stdout
    assert "waiver SES-003 aws_iam_policy.* (main.tf:9), expires 2999-01-01 covered no finding" in table


def test_a_reader_without_suppressions_still_scans(tmp_path, monkeypatch):
    import sesrego.terraform as terraform

    (tmp_path / "main.tf").write_text("\n")

    @dataclass(frozen=True)
    class Old:  # TfInput as it is before the reader gains suppressions and warnings
        path: str
        plan: dict
        error: object = None
        locations: dict = field(default_factory=dict)

    monkeypatch.setattr(terraform, "plan_from_tf", lambda paths, options=None: [
        Old(str(tmp_path), plan(identity("aws_iam_policy.a", SEND)))])
    document = json.loads(scan(tmp_path, "--format", "json").stdout)
    assert [f["rule_id"] for f in document["findings"]] == ["SES-001"] and document["summary"]["policies_checked"] == 1
