"""``sesrego scan``: its options, and the plumbing from them to one scan and its outputs.

:func:`scan_options` declares every option; each can also be given in the environment as
``SESREGO_<OPTION>`` (``--fail-on`` is ``SESREGO_FAIL_ON``), named explicitly per option by
:func:`name_environment` because click's automatic prefix would say ``SESREGO_SCAN_…``. A flag
on the command line wins over the environment.

:func:`run` maps the options to the calls that do the work, in order: check the outputs
(before anything is read), the policies (compiled, or a prebuilt ``--bundle``), the views, the
configuration (``.sesrego.yaml`` found by itself, ``--config``, ``--data``), the evaluator, the
scan (:func:`sesrego.scanner.scan`), the views applied (:func:`sesrego.views.apply`), the outputs
(``-o``, ``--report``, ``--write-baseline``), and the exit status.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from .console import emit, environ, note, stdout_is_terminal, table_width, use_color
from .errors import InputError, SesregoError
from .formats import FORMATS
from .plan import INPUT_TIMEOUT, MAX_INPUT_BYTES, MAX_POLICY_CHARS
from .report import ScanReport
from .terraform.options import MAX_EVAL_STEPS, MAX_FILE_BYTES, MAX_VALUE_BYTES

ENV_PREFIX = "SESREGO_"
SEVERITY_CHOICES = ("info", "warn", "deny")


class ScanCommand(click.Command):
    """``scan``, which also records how --var and --var-file interleave (Terraform applies them in order)."""

    def parse_args(self, ctx, args):
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            ctx.meta["sesrego.var_order"] = tuple("var-file" if p.name == "tf_var_files" else "var"
                                                  for p in order if p.name in ("tf_vars", "tf_var_files"))
        except click.UsageError:
            pass  # reported by the real parse below
        return super().parse_args(ctx, args)


def environment_name(option: click.Option) -> str:
    """``SESREGO_`` and the option's long name: ``--fail-on`` -> ``SESREGO_FAIL_ON``."""
    long_names = [name for name in option.opts if name.startswith("--")]
    return ENV_PREFIX + max(long_names, key=len)[2:].upper().replace("-", "_")


def name_environment(command: click.Command) -> click.Command:
    """Give every option of ``command`` its ``SESREGO_<OPTION>`` environment variable."""
    for param in command.params:
        if isinstance(param, click.Option):
            param.envvar = environment_name(param)
            param.show_envvar = True
    return command


def server_options(command):
    """How to reach an OPA server: --opa-url's token, TLS and timeout options (``scan`` and ``push``)."""
    from .server import CONNECT_TIMEOUT, READ_TIMEOUT

    options = [
        click.option("--opa-client-key", type=click.Path(dir_okay=False),
                     help="Private key of --opa-client-cert, if it is not in the same file."),
        click.option("--opa-client-cert", type=click.Path(dir_okay=False),
                     help="Client certificate (PEM) for an OPA server that requires mutual TLS."),
        click.option("--opa-ca-cert", type=click.Path(dir_okay=False),
                     help="CA bundle (PEM) to verify an https OPA server with, instead of the system's."),
        click.option("--opa-timeout", type=click.FloatRange(0, min_open=True), default=READ_TIMEOUT,
                     show_default=True, help="Seconds to wait for each answer of the OPA server."),
        click.option("--opa-connect-timeout", type=click.FloatRange(0, min_open=True), default=CONNECT_TIMEOUT,
                     show_default=True, help="Seconds to wait for the connection to the OPA server."),
        click.option("--opa-token", envvar="SESREGO_OPA_TOKEN", show_envvar=True,
                     help="Bearer token for an OPA server run with --authentication=token."),
    ]
    for option in options:
        command = option(command)
    return command


def server_settings(params: Mapping):
    from .server import ServerOptions

    return ServerOptions(url=params["opa_url"], token=params["opa_token"] or None, ca_cert=params["opa_ca_cert"],
                         client_cert=params["opa_client_cert"], client_key=params["opa_client_key"],
                         connect_timeout=params["opa_connect_timeout"], timeout=params["opa_timeout"])


_FILE = click.Path(dir_okay=False, path_type=Path)

_OPTIONS = [
    # what to report, and how
    click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                 help="Output format."),
    click.option("-o", "--output", "out", type=_FILE, help="Write the report to this file instead of standard output."),
    click.option("--report", "reports", multiple=True, metavar="FORMAT=PATH",
                 help="Also write the report of this scan in FORMAT to PATH (repeatable), e.g. markdown=summary.md."),
    click.option("--fail-on", type=click.Choice(["deny", "warn"]), default="deny", show_default=True,
                 help="Lowest severity that makes the exit status 1."),
    click.option("--soft-fail", is_flag=True,
                 help="Exit 0 whatever the findings (2 still means an input could not be read, or bad usage)."),
    click.option("-q", "--quiet", is_flag=True,
                 help="Print the findings only, and nothing when there are none (table and --compact; machine "
                      "formats are always complete)."),
    click.option("--compact", is_flag=True, help="One line per finding (the table format)."),
    click.option("--no-color", is_flag=True, help="No colour (also NO_COLOR; FORCE_COLOR colours off a terminal)."),
    click.option("--base-dir", type=click.Path(file_okay=False, path_type=Path),
                 help="Make file paths in the report relative to this directory (default: the current one) "
                      "when they lie under it, as GitHub code scanning needs."),
    # views
    click.option("--rule", "select_rules", multiple=True, metavar="ID",
                 help="Report only this rule's findings (repeatable, or comma-separated)."),
    click.option("--skip-rule", "skip_rules", multiple=True, metavar="ID",
                 help="Leave this rule's findings out (repeatable, or comma-separated)."),
    click.option("--min-severity", type=click.Choice(SEVERITY_CHOICES), help="Hide findings below this severity."),
    click.option("--baseline", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Report only findings not recorded in this baseline (see --write-baseline)."),
    click.option("--write-baseline", type=_FILE,
                 help="Record the current findings in this baseline file; exit 0 unless an input is unreadable."),
    # configuration
    click.option("-d", "--data", "data_files", multiple=True, type=click.Path(dir_okay=False),
                 help="Configuration file (JSON/YAML holding sesrego.config), as for conftest --data; merged "
                      "after --config or the .sesrego.yaml found. Repeatable."),
    click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="The configuration file to use instead of the .sesrego.yaml found (cwd, else up to the "
                      "repository root)."),
    click.option("--no-config", is_flag=True, help="Do not look for a .sesrego.yaml, .sesrego.yml or .sesrego.json."),
    click.option("--tf-dir", type=click.Path(file_okay=False, exists=True),
                 help="The Terraform configuration a plan was made from: its inline suppressions apply and plan "
                      "findings get .tf file:line locations. Default: the plan's directory, if it holds .tf files."),
    # policies and engine
    click.option("--bundle", "bundle_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Scan with this prebuilt bundle's Rego and data instead of compiling (verified first when "
                      "signed)."),
    click.option("--verification-key", type=_FILE, help="PEM public key (or HS* secret file) to verify --bundle with."),
    click.option("--key-id", help="Expected key id of --bundle's signature."),
    click.option("--engine", type=click.Choice(["embedded", "opa"]), default="embedded", show_default=True,
                 help="embedded: OPA's Go engine in-process; opa: `opa eval` on the bundle."),
    click.option("--opa-url", help="Ask an OPA server holding the sesrego policies (see `sesrego push`); its own "
                                   "configuration applies."),
    click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: one per core)."),
    # the .tf reader and the limits
    click.option("--var", "tf_vars", multiple=True, metavar="NAME=VALUE",
                 help="Set a root module variable of the .tf inputs, as terraform plan -var does. Repeatable."),
    click.option("--var-file", "tf_var_files", multiple=True, type=click.Path(dir_okay=False),
                 help="Read root module variables from a .tfvars(.json) file, as terraform plan -var-file does. "
                      "Repeatable; applied with --var in command-line order."),
    click.option("--max-input-bytes", type=click.IntRange(1), default=MAX_INPUT_BYTES,
                 help="Refuse larger inputs, while reading them (default 512 MiB)."),
    click.option("--max-policy-chars", type=click.IntRange(1), default=MAX_POLICY_CHARS,
                 help="Refuse longer policy strings (default 1 MiB)."),
    click.option("--max-eval-steps", type=click.IntRange(1), default=MAX_EVAL_STEPS, show_default=True,
                 help="Refuse a .tf root module whose evaluation takes more steps."),
    click.option("--max-value-bytes", type=click.IntRange(1), default=MAX_VALUE_BYTES, show_default=True,
                 help="Refuse a .tf root module that builds a larger value."),
    click.option("--input-timeout", type=click.FloatRange(0, min_open=True), default=INPUT_TIMEOUT,
                 show_default=True, help="Seconds to wait for a program to open a FIFO given as input."),
]


def scan_options(command):
    """Every option of ``scan`` but --catalog/--guidance/--strict/--verbose (the CLI's shared source flags)."""
    command = server_options(command)
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


# --- run -------------------------------------------------------------------------------------------------


def run(params: Mapping, ctx: click.Context) -> int:
    """One scan from the command's options: the outputs written, the exit status returned."""
    from .reading import waiting

    with waiting(params["input_timeout"]):  # for every file the scan reads, not only its inputs
        return _run(params, ctx)


def _run(params: Mapping, ctx: click.Context) -> int:
    from . import views

    quiet = params["quiet"]
    say = (lambda line: None) if quiet else note
    _check_combinations(params, ctx)
    outputs = _outputs(params)
    policies = _policies(params)
    view = _view(params, policies.rule_ids)
    warning = views.ineffective_condition_warning(view)
    if warning:
        note(warning)
    config, configuration = _configuration(params, policies, say)
    evaluator = _evaluator(params, ctx, policies, config, say)
    with _progress(params) as progress:
        report = _scan(params, ctx, policies, config, configuration, evaluator, progress)
        report = dataclasses.replace(views.apply(report, view), base_dir=_base(params),
                                     soft_fail=params["soft_fail"] or params["write_baseline"] is not None)
        if progress:
            progress.stage("writing the report")
        written = _write_files(report, params, outputs, view)
        out, text = _main_output(report, params)
    emit(text, out)  # after the progress line is erased, so the two never mix on a terminal
    for line in written:
        say(line)
    for result in report.inputs:
        for line in result.warnings:
            note(f"warning: {line}")
    for result in report.failed_inputs:
        note(f"error: {result.error}")
    return report.exit_status


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


#: Options that exclude each other: when one side is on the command line and the other only in the
#: environment (SESREGO_<OPTION>), the command line wins and the environment's side is dropped.
_EXCLUSIVE = ((("config_file",), ("no_config",)), (("opa_url",), ("engine",)),
              (("bundle_file",), ("catalogs", "guidance", "strict", "verbose", "opa_url")))


def _flag_wins(params: dict, ctx: click.Context) -> None:
    """Drop the environment's side of each exclusive pair the command line overrides (see _EXCLUSIVE)."""
    source = ctx.get_parameter_source
    for left, right in _EXCLUSIVE:
        for given, other in ((left, right), (right, left)):
            if not any(source(name) is click.core.ParameterSource.COMMANDLINE for name in given):
                continue
            for name in other:
                if source(name) is click.core.ParameterSource.ENVIRONMENT:
                    param = next(p for p in ctx.command.params if p.name == name)
                    default = param.get_default(ctx)
                    default = None if default is getattr(click.core, "UNSET", None) else default  # click >= 8.3
                    params[name] = tuple(default or ()) if getattr(param, "multiple", False) else default
                    ctx.set_parameter_source(name, click.core.ParameterSource.DEFAULT)


def _check_combinations(params: dict, ctx: click.Context) -> None:
    _flag_wins(params, ctx)
    if params["config_file"] is not None and params["no_config"]:
        raise click.UsageError("--config names a configuration file and --no-config turns them off; give one")
    if params["opa_url"] and _given(ctx, "engine"):
        raise click.UsageError("--engine and --opa-url choose different engines; give one")
    if params["bundle_file"] is not None:
        clashing = [flag for flag, name in (("--catalog", "catalogs"), ("--guidance", "guidance"),
                                            ("--strict", "strict"), ("--verbose", "verbose"), ("--opa-url", "opa_url"))
                    if params.get(name)]
        if clashing:
            raise click.UsageError(f"--bundle scans with the bundle's own policies; {', '.join(clashing)} "
                                   f"{'does' if len(clashing) == 1 else 'do'} not apply to it")
    elif params["verification_key"] is not None or params["key_id"]:
        raise click.UsageError("--verification-key and --key-id verify a --bundle; give the bundle too")
    if params["key_id"] and params["verification_key"] is None:
        raise click.UsageError("--key-id needs --verification-key")


def _report_specs(values) -> list[tuple[str, Path]]:
    specs = []
    for value in values:
        fmt, equals, path = str(value).partition("=")
        if not equals or not path:
            raise click.BadParameter(f"{value!r}: expected FORMAT=PATH, such as markdown=summary.md",
                                     param_hint="--report")
        if fmt not in FORMATS:
            raise click.BadParameter(f"{value!r}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}",
                                     param_hint="--report")
        specs.append((fmt, Path(path)))
    return specs


#: What the .tf reader reads in a directory it scans: an output must never be written there under such a name.
_CONFIGURATION_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")


def _outputs(params: Mapping) -> list[tuple[str, Path]]:
    """--report's outputs; every output checked before anything is scanned: writable, distinct, no input."""
    from .fsutil import check_writable, distinct_outputs

    reports = _report_specs(params["reports"])
    files = [params["out"], *(path for _, path in reports), params["write_baseline"]]
    distinct_outputs(files, [])
    for path in files:
        if path is not None:
            check_writable(path)
            _not_an_input(path, params)
    return reports


def _not_an_input(path: Path, params: Mapping) -> None:
    """Refuse an output that is one of the scan's inputs however spelt (the configuration found by
    itself included), or a Terraform file in a directory the scan reads."""
    from .config import discover
    from .fsutil import identity, inside

    files = [str(p) for p in params["data_files"]] + [str(p) for p in params["tf_var_files"]]
    files += [str(p) for p in (params["config_file"], params["bundle_file"], params["verification_key"],
                               params["opa_ca_cert"], params["opa_client_cert"], params["opa_client_key"]) if p]
    if params["baseline"] is not None and path is not params["write_baseline"]:  # a refresh rewrites its baseline
        files.append(str(params["baseline"]))
    if params["config_file"] is None and not params["no_config"] and not params["opa_url"]:
        found = discover()
        files += [str(found)] if found is not None else []
    directories = [p for p in params["paths"] if p != "-" and os.path.isdir(p)] + \
        ([params["tf_dir"]] if params["tf_dir"] else [])
    scanned = [p for p in params["paths"] if p != "-" and p not in directories]
    files += scanned
    directories += _modules_of_files(scanned, params)
    target = identity(path)
    if any(os.path.lexists(p) and identity(p) == target for p in files):
        raise SesregoError("is also an input of this scan; the output would replace it", path=path)
    if path.name.endswith(_CONFIGURATION_SUFFIXES) and any(inside(path, d) for d in directories):
        raise SesregoError("is a Terraform file in a directory this scan reads; write the report elsewhere",
                           path=path)


def _modules_of_files(paths: list, params: Mapping) -> list[str]:
    """The directories read for files scanned: a .tf file's module, and a plan's own directory when it
    holds configuration (its annotations) and --tf-dir does not name another."""
    from .tfinputs import holds_configuration

    out = []
    for path in paths:
        directory = os.path.dirname(path) or "."
        if str(path).endswith(_CONFIGURATION_SUFFIXES[:2]) or (
                not params["tf_dir"] and holds_configuration(Path(directory))):
            out.append(directory)
    return out


def _policies(params: Mapping):
    """The policies to evaluate: the prebuilt --bundle's, else compiled now (cross-checked on request)."""
    from . import prebuilt

    if params["bundle_file"] is not None:
        return prebuilt.load(params["bundle_file"], params["verification_key"], params["key_id"],
                             timeout=params["input_timeout"])
    from .console import report_cross_check
    from .outputs import Sources, compile_sources

    announce = None
    if params["strict"] or params["verbose"]:
        announce = functools.partial(report_cross_check, verbose=params["verbose"])
    sources = Sources(tuple(params["catalogs"]), tuple(params["guidance"]), params["strict"])
    return prebuilt.compiled(*compile_sources(sources, announce))


def _view(params: Mapping, known: tuple[str, ...]):
    from . import baseline, views

    accepted = baseline.load(params["baseline"]) if params["baseline"] is not None else None
    return views.View(rules=views.rule_ids(params["select_rules"], known, "--rule"),
                      skip=views.rule_ids(params["skip_rules"], known, "--skip-rule"),
                      min_severity=params["min_severity"], baseline=accepted,
                      baseline_path=str(params["baseline"]) if params["baseline"] is not None else None)


def _configuration(params: Mapping, policies, say) -> tuple[dict, dict]:
    """``data.sesrego.config`` (the file found or named, then --data) and where it came from."""
    from .config import discover, load_configuration, shown

    found = params["config_file"]
    if found is None and not params["no_config"]:
        found = discover()
        found = Path(shown(found)) if found is not None else None
    files = ([Path(found)] if found is not None else []) + [Path(p) for p in params["data_files"]]
    bundle = {"bundle": str(policies.bundle)} if policies.bundle else {}
    if params["opa_url"]:
        if files:
            say(f"note: with --opa-url the server's own configuration applies; {', '.join(map(str, files))} "
                f"{'is' if len(files) == 1 else 'are'} not sent (it would change the server for every client)")
        return {}, {"source": "server"}
    loaded = load_configuration(files, policies.rule_ids, timeout=params["input_timeout"])
    for line in loaded.notes:
        say(line)
    if found is not None:
        say(f"note: configuration from {found}")
    if loaded.files:
        return loaded.config, {"source": "files", "files": list(loaded.files), **bundle}
    return loaded.config, {"source": "bundle" if policies.config else "none", **bundle}


def _evaluator(params: Mapping, ctx: click.Context, policies, config: Mapping, say):
    """The server, the opa binary or the embedded engine; the opa binary when the engine is missing."""
    from .engine import Embedded, EngineMissing, OpaBinary, embedded_available
    from .scanner import ScanOptions, default_evaluator

    if params["opa_url"]:
        from .server import Server

        return Server(server_settings(params))
    engine = params["engine"]
    if engine == "embedded" and not embedded_available():
        import shutil

        if _given(ctx, "engine"):
            raise EngineMissing(" and --engine embedded asks for it (--engine opa uses the opa binary)")
        if not shutil.which("opa"):
            raise EngineMissing(", and no opa binary is on PATH")
        say(f"note: OPA's embedded engine is not installed; scanning with the opa binary ({shutil.which('opa')}) "
            "instead, as --engine opa does")
        engine = "opa"
    if policies.program is not None:
        return default_evaluator(policies.program, policies.tree, ScanOptions(config=config, engine=engine))
    if engine == "opa":
        return OpaBinary(policies.tarball(config))
    return Embedded(policies.modules, policies.data(config))


def _reader_options(params: Mapping, ctx: click.Context):
    from .terraform.options import ReaderOptions

    variables = []
    for item in params["tf_vars"]:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--var")
        variables.append((name.strip(), value))
    return ReaderOptions(variables=tuple(variables), var_files=tuple(params["tf_var_files"]),
                         var_file_texts=_piped_var_files(params),
                         environ={k: v for k, v in os.environ.items()
                                  if k.startswith("TF_VAR_") or k == "TF_WORKSPACE"},
                         max_eval_steps=params["max_eval_steps"], max_value_bytes=params["max_value_bytes"],
                         max_input_bytes=min(params["max_input_bytes"], MAX_FILE_BYTES),
                         var_order=ctx.meta.get("sesrego.var_order", ()))


def _piped_var_files(params: Mapping) -> tuple[tuple[str, str], ...]:
    """The text of each --var-file that is a pipe or device (``<(sops -d x.tfvars)``), read once, as
    Terraform reads it, under the input bounds: every root module scanned gets the same values."""
    import stat

    from .reading import read_file
    from .terraform.options import MAX_FILE_BYTES

    out = []
    for path in dict.fromkeys(str(p) for p in params["tf_var_files"]):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # the reader reports it for each root module
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            data = read_file(path, limit=min(params["max_input_bytes"], MAX_FILE_BYTES),
                             timeout=params["input_timeout"], what="--var-file")
            try:
                out.append((path, data.decode("utf-8-sig")))
            except UnicodeDecodeError:
                raise InputError("cannot read the --var-file: not UTF-8 text", path=path) from None
    return tuple(out)


def _progress(params: Mapping):
    """Progress on stderr: only on a terminal, never with --quiet (a context manager; None otherwise)."""
    import contextlib

    from .progress import Progress, stderr_is_terminal

    if params["quiet"] or not stderr_is_terminal():
        return contextlib.nullcontext()
    return Progress(sys.stderr)


def _scan(params: Mapping, ctx: click.Context, policies, config, configuration, evaluator, progress) -> ScanReport:
    from .plan import Limits
    from .scanner import ScanOptions, scan

    options = ScanOptions(config=config, limits=Limits(params["max_input_bytes"], params["max_policy_chars"],
                                                       params["input_timeout"]),
                          engine=params["engine"], jobs=params["jobs"], fail_on=params["fail_on"],
                          configuration=configuration, reader=_reader_options(params, ctx), tf_dir=params["tf_dir"])
    return scan(params["paths"], policies.program, policies.tree, options, evaluator=evaluator, progress=progress,
                rules=policies.rules)


def _base(params: Mapping) -> str | None:
    return str(params["base_dir"]) if params["base_dir"] is not None else None


def _write_files(report: ScanReport, params: Mapping, reports: list[tuple[str, Path]], view) -> list[str]:
    """The --report files and the --write-baseline file; the notes to print about them."""
    from .formats import render
    from .fsutil import atomic_write

    shape = {"quiet": params["quiet"], "compact": params["compact"]}
    for fmt, path in reports:
        atomic_write(path, render(report, fmt, **shape).encode("utf-8", "backslashreplace"))
    if params["write_baseline"] is not None:
        from . import baseline, views

        recorded = views.baseline_fingerprints(report, str(params["write_baseline"]), view)
        atomic_write(params["write_baseline"], baseline.render(recorded))
        unread = f"; {len(report.failed_inputs)} input(s) could not be read: what --baseline accepted of them is " \
            "kept, their other findings are not recorded" if report.failed_inputs else ""
        return [f"note: wrote {params['write_baseline']} ({len(set(recorded))} finding(s) in the baseline{unread})"]
    return []


def _main_output(report: ScanReport, params: Mapping) -> tuple[Path | None, str]:
    """Where the main report goes (-o, else standard output) and its text, coloured and wrapped for a terminal."""
    from .formats import render

    out = params["out"]
    terminal = out is None and stdout_is_terminal()
    color = out is None and use_color(params["no_color"], environ(), terminal)
    # On standard output the table leaves unreadable inputs to standard error, which names each one once.
    return out, render(report, params["fmt"], color=color, width=table_width(terminal), quiet=params["quiet"],
                       compact=params["compact"], errors=out is not None)
