"""The ``sesrego`` command line: thin click commands that hand off to the modules.

Each command maps its flags to one call and prints the result. Every command runs inside
one error boundary (:class:`_Boundary`): a :class:`~sesrego.errors.SesregoError` is printed as
one line (``Error: <file>: <problem>``) with exit status 2; any other exception, an
exhausted resource included, becomes such a line too (naming the input being read when
there is one), never a traceback; Ctrl-C is one line and exit status 130, and leaves no
partial output file. Results go to standard output, notes and errors to standard error.
"""

from __future__ import annotations

import errno
import functools
import signal
import sys
from contextvars import ContextVar
from pathlib import Path

import click

from . import __version__
from .cli_scan import ScanCommand, name_environment, scan_options, server_options, server_settings
from .console import emit, note, report_cross_check
from .errors import SesregoError, Terminated, as_user_error, printable, terminal_text

DEFAULT_BUNDLE = Path("bundles/sesrego.tar.gz")

#: What the running command is reading, named by the error boundary when something fails.
_SUBJECT: ContextVar[str | None] = ContextVar("sesrego_subject", default=None)


def _about(subject: object) -> None:
    _SUBJECT.set(str(subject))


class _Boundary(click.Group):
    """The click group whose every command runs inside the error boundary."""

    def invoke(self, ctx: click.Context):
        token = _SUBJECT.set(None)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException as exc:  # click's own usage errors quote arguments (file names) too
            if not isinstance(exc, SesregoError):
                exc.message = printable(exc.message, keep_newlines=True)
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # the reader of our output went away: click handles it
                raise
            raise as_user_error(exc, _SUBJECT.get()) from None
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the boundary
            subject = _SUBJECT.get() or f"sesrego {ctx.invoked_subcommand or ''}".strip()
            raise as_user_error(exc, None if isinstance(exc, KeyboardInterrupt) else subject) from None
        finally:
            _SUBJECT.reset(token)


_note = note
_emit = emit


def _source_flags(command, *, cross_check: bool = True):
    """--catalog/--guidance, and for the commands that build rules --strict and --verbose."""
    if cross_check:
        command = click.option("-v", "--verbose", is_flag=True,
                               help="List every cross-check finding between the guidance and the catalogs, not "
                                    "only their count.")(command)
        command = click.option("--strict", is_flag=True,
                               help="Fail when the guidance and catalogs disagree (cross-check).")(command)
    command = click.option("--guidance", "guidance", multiple=True,
                           type=click.Path(dir_okay=False, path_type=Path),
                           help="Data-perimeter guidance markdown (repeatable); each replaces the shipped guidance "
                                "of its SES API version.")(command)
    return click.option("--catalog", "catalogs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                        help="Catalog markdown (repeatable); each replaces the shipped catalog of its API version "
                             "(SES v1, v2, Mail Manager, Pinpoint Email) and keeps the others.")(command)


def _source_options(command):
    """--catalog/--guidance, compiled before the command runs: it receives ``program`` and ``tree``.

    For the commands that only read the rules (``test``, ``rules``, ``push``, ...); the commands that
    write them (``compile``, ``bundle``) take the paths and hand them to :mod:`sesrego.outputs`.
    """
    @functools.wraps(command)
    def wrapper(*args, catalogs, guidance, **kwargs):
        from .compiler import compile_tree

        program, tree = compile_tree(catalogs, guidance)
        return command(*args, program=program, tree=tree, **kwargs)
    return _source_flags(wrapper, cross_check=False)


def _cross_check_report_option(command):
    return click.option("--cross-check-report", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the guidance/catalog cross-check as JSON to this file.")(command)


def _configuration(paths, program):
    """The ``--data`` files, checked against the compiled rule ids; notes go to stderr."""
    from .config import load_configuration

    configuration = load_configuration([Path(p) for p in paths], [rule.id for rule in program.rules])
    for line in configuration.notes:
        _note(line)
    return configuration


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sesrego")
def cli() -> None:
    """Check Terraform against AWS's SES data-perimeter guidance.

    \b
    Quick start:
      sesrego bundle                                    # build bundles/sesrego.tar.gz
      sesrego scan terraform_examples/app-role-sends-mail/plan.json
      sesrego rules SES-001                             # what a finding means and how to fix it
    """


@cli.command("compile")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Policy directory to write (.rego files, tests, data.json). sesrego writes only its own "
                   "files there and records them in .sesrego-files.json.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty directory sesrego did not write, replacing same-named files "
                   "(each is listed on stderr).")
@_cross_check_report_option
@_source_flags
def compile_command(out: Path, force: bool, cross_check_report: Path | None, catalogs, guidance, strict: bool,
                    verbose: bool) -> None:
    """Compile the guidance into a policy directory for conftest.

    \b
    Example:
      sesrego compile -o policy/
      conftest test --all-namespaces -p policy/ -d policy/data.json plan.json
    """
    from .outputs import PolicyDirOptions, Sources, compile_policy_dir

    _about(out)
    sources = Sources(tuple(catalogs), tuple(guidance), strict, cross_check_report)
    _, written = compile_policy_dir(PolicyDirOptions(out, force), sources, report=_note,
                                    announce=_cross_check_summary(verbose, cross_check_report))
    rego = sum(1 for name in written.files if name.endswith(".rego"))
    removed = f", removed {len(written.removed)} stale" if written.removed else ""
    _note(f"wrote {out}/ ({rego} Rego files, data.json{removed})")


def _cross_check_summary(verbose: bool, report_path: Path | None):
    """What a compiling command prints about the cross-check (see :func:`sesrego.console.report_cross_check`)."""
    return functools.partial(report_cross_check, verbose=verbose, report_path=report_path)


def _oci_tag(value: str) -> str:
    """A tag as the OCI distribution spec allows it (what `oras cp DIR:TAG` and registries accept)."""
    from .arguments import oci_tag

    try:
        return oci_tag(value)
    except SesregoError as exc:
        raise click.BadParameter(exc.problem, param_hint="--oci-tag") from None


_ALGORITHMS = click.Choice(["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"])


@cli.group("bundle", invoke_without_command=True)
@click.option("-o", "--output", "out", default=str(DEFAULT_BUNDLE), show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Bundle file to write.")
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Configuration (JSON/YAML with sesrego.config) to build into the bundle's data.")
@click.option("--signing-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Sign the bundle (.signatures.json, as `opa build --signing-key`): a PEM private key, or "
                   "for HS256 a file whose exact bytes are the shared secret.")
@click.option("--signing-alg", type=_ALGORITHMS, default=None,
              help="JWT algorithm. Default: RS256 for an RSA key, ES256/384/512 for an EC key.")
@click.option("--key-id", help="Key id: the JWT `kid` header and `keyid` claim (OPA's keys.<id>).")
@click.option("--scope", help="Scope claim; OPA checks it against bundles.<name>.signing.scope.")
@click.option("--claims-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSON object of extra claims for the JWT payload (as `opa build --claims-file`).")
@click.option("--iat", is_flag=True,
              help="Add an issued-at claim (now, or $SOURCE_DATE_EPOCH). Without it a signed bundle is "
                   "byte-identical across builds.")
@click.option("--oci-layout", type=click.Path(file_okay=False, path_type=Path),
              help="Also write an OCI image layout of the bundle to this directory (for `oras cp`); an "
                   "existing layout keeps its other tags.")
@click.option("--oci-tag", default="latest", show_default=True, callback=lambda ctx, param, value: _oci_tag(value),
              help="Tag of the image in the OCI layout.")
@click.option("--force", is_flag=True,
              help="Let --oci-layout write into a non-empty directory sesrego did not write, replacing "
                   "same-named files (each is listed on stderr).")
@click.option("--no-sources", is_flag=True,
              help="Do not record the source documents in the bundle (sesrego diff needs them).")
@_cross_check_report_option
@_source_flags
@click.pass_context
def bundle_command(ctx, out: Path, data_files, signing_key, signing_alg, key_id, scope, claims_file, iat,
                   oci_layout, oci_tag, force, no_sources, cross_check_report, catalogs, guidance, strict,
                   verbose) -> None:
    """Build an OPA bundle (gzipped tar, roots ["sesrego"], rego_version 1).

    Without a subcommand, builds the bundle; `bundle verify` and `bundle inspect` read one.
    The bundle records the catalogs and guidance it was compiled from (as inert .md files
    under sesrego/sources/), so `sesrego diff` can compare two bundles.

    \b
    Examples:
      sesrego bundle -o bundles/sesrego.tar.gz
      opa run --server --bundle bundles/sesrego.tar.gz
      sesrego bundle --signing-key private.pem --key-id sesrego --oci-layout bundles/oci
      sesrego bundle verify bundles/sesrego.tar.gz --verification-key public.pem
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in ctx.params.items()
                 if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"build options ({', '.join(given)}) do not apply to "
                                   f"`bundle {ctx.invoked_subcommand}`")
        return
    from .bundle import BuildOptions
    from .outputs import Sources, build_bundle

    signing = None
    if signing_key is not None:
        from .signing import SigningOptions

        signing = SigningOptions(key=signing_key, algorithm=signing_alg, key_id=key_id, scope=scope,
                                 claims_file=claims_file, iat=iat)
    elif signing_alg or key_id or scope or claims_file or iat:
        raise click.UsageError("--signing-alg, --key-id, --scope, --claims-file and --iat need --signing-key")
    options = BuildOptions(output=out, signing=signing, oci_layout=oci_layout, oci_tag=oci_tag,
                           sources=not no_sources, force=force)
    _about(out)
    built = build_bundle(options, Sources(tuple(catalogs), tuple(guidance), strict, cross_check_report),
                         data_files=tuple(Path(p) for p in data_files), report=_note,
                         announce=_cross_check_summary(verbose, cross_check_report))
    if built.oci is not None:
        _note(f"wrote {oci_layout}/ (OCI image layout, tag {oci_tag}, manifest {built.oci.manifest_digest})")
    _note(f"wrote {out} ({built.size} bytes, revision {built.revision}{', signed' if built.signed else ''})")


@bundle_command.command("verify")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--verification-key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PEM public key (or certificate) matching the signing key; for HS* the shared-secret file.")
@click.option("--signing-alg", type=_ALGORITHMS, default=None,
              help="Expected JWT algorithm. Default: from the key (RS256 for RSA, ES256/384/512 for EC).")
@click.option("--key-id", help="Expected key id; a bundle signed under another kid/keyid fails.")
@click.option("--scope", help="Expected scope claim (as bundles.<name>.signing.scope).")
def bundle_verify_command(bundle_path: Path, verification_key: Path, signing_alg, key_id, scope) -> None:
    """Verify a signed bundle as OPA does before activating it.

    Checks the JWT in .signatures.json with the key, that the signed file list is exactly
    the bundle's files, and every file's hash. Every tampered, added or removed file is named.
    Exit status: 0 verified, 1 verification failed, 2 unreadable bundle or key.

    \b
    Example:
      sesrego bundle verify bundles/sesrego.tar.gz --verification-key public.pem
    """
    from .bundle import read_bundle
    from .signing import verify

    _about(bundle_path)
    files = read_bundle(bundle_path)
    result = verify(files, verification_key, algorithm=signing_alg, key_id=key_id, scope=scope)
    shown = printable(bundle_path)
    if result.ok:
        kid = f", key id {printable(result.key_id)}" if result.key_id else ""
        click.echo(f"{shown}: verified ({result.algorithm}{kid}, {result.files} files)")
        return
    for problem in result.problems:
        click.echo(printable(f"{shown}: {problem}"))
    click.echo(f"Error: {shown}: verification failed ({len(result.problems)} problem(s))", err=True)
    sys.exit(1)


@bundle_command.command("inspect")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def bundle_inspect_command(bundle_path: Path, fmt: str) -> None:
    """Show a bundle's manifest, packages (METADATA titles, rule ids), data paths and signature.

    Like `opa inspect -a`. Reading is safe: absolute or '..' paths, links, devices and
    oversized entries are refused before anything is read.

    \b
    Examples:
      sesrego bundle inspect bundles/sesrego.tar.gz
      sesrego bundle inspect bundles/sesrego.tar.gz --format json | jq .signature
    """
    from .bundle import read_bundle
    from .inspect import inspect, render_json, render_table

    _about(bundle_path)
    report = inspect(read_bundle(bundle_path))
    _emit(render_json(report) if fmt == "json" else terminal_text(render_table(report)))


@cli.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--old-catalog", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Catalog to use on the OLD side in place of the one of the same API version (repeatable).")
@click.option("--old-guidance", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Guidance to use on the OLD side in place of the one of the same API version (repeatable).")
@click.option("--new-catalog", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Catalog to use on the NEW side in place of the one of the same API version (repeatable).")
@click.option("--new-guidance", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Guidance to use on the NEW side in place of the one of the same API version (repeatable).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff_command(old, new, old_catalog, old_guidance, new_catalog, new_guidance, fmt) -> None:
    """Report drift between two sets of sources and the rules it affects.

    OLD and NEW are each a bundle built by sesrego (it records its sources), a directory
    laid out like sesrego/sources (catalogs/*.md, guidance/*.md), or `builtin` (the shipped
    sources, also the default when omitted). --old-*/--new-* files replace the document of
    the same API version on that side. Exit status: 0 nothing that affects the rules changed,
    1 some rule changes behaviour, 2 unreadable input.

    \b
    Examples:
      sesrego diff --new-catalog ses-v1-current.md          # shipped sources vs a newer catalog
      sesrego diff old/sesrego.tar.gz new/sesrego.tar.gz --format json
      sesrego diff --old-catalog A.md --new-catalog B.md
      sesrego diff bundles/sesrego.tar.gz                   # a bundle vs the shipped sources
    """
    from .drift import drift, load_side, overlay, render_json, render_text

    _about(old or "builtin")
    old_side = overlay(load_side(old), old_catalog, old_guidance)
    _about(new or "builtin")
    new_side = overlay(load_side(new), new_catalog, new_guidance)
    _SUBJECT.set(None)
    report = drift(old_side, new_side)
    render = render_json if fmt == "json" else render_text
    text = render(report, old_side.label, new_side.label)
    _emit(text if fmt == "json" else terminal_text(text))
    sys.exit(report["exit_status"])


@cli.command("test")
@click.option("--opa", "use_opa", is_flag=True, help="Also run `opa test` and `opa check --strict` (needs opa on PATH).")
@click.option("-v", "--verbose", is_flag=True, help="Print every test, not only failures.")
@_source_options
def test_command(use_opa: bool, verbose: bool, program, tree) -> None:
    """Run the generated Rego unit tests in OPA's engine, like `opa test`.

    \b
    Example:
      sesrego test -v
    """
    from .testing import run_tests

    run = run_tests(program, tree, use_opa=use_opa)
    for line in run.lines(verbose):
        click.echo(printable(line, keep_newlines=True))
    sys.exit(run.exit_status)


@cli.command("scan", cls=ScanCommand)
@click.argument("paths", nargs=-1, required=True)
@scan_options
@_source_flags
@click.pass_context
def scan_command(ctx, **params) -> None:
    """Scan Terraform plans (`terraform show -json`), .tf files and directories.

    PATHS are plan JSON files, .tf files, directories of .tf files (searched recursively,
    .terraform/ skipped), - for a plan on standard input, or a FIFO such as
    <(terraform show -json tfplan). Exit status: 0 no deny-level finding, 1 at least one
    (--fail-on warn: or a warning), 2 bad usage or an input that could not be read, 130
    interrupted. Every option can also be set as SESREGO_<OPTION> (--fail-on:
    SESREGO_FAIL_ON); a flag wins.

    \b
    Examples:
      terraform show -json tfplan > plan.json && sesrego scan plan.json
      sesrego scan infra/ --format sarif -o sesrego.sarif --report markdown=summary.md
      terraform show -json tfplan | sesrego scan - --tf-dir infra/ --data sesrego.yaml
      sesrego scan infra/ --write-baseline .sesrego-baseline.json
      sesrego scan infra/ --baseline .sesrego-baseline.json --skip-rule SES-008
    """
    from .cli_scan import run

    sys.exit(run(params, ctx))


name_environment(scan_command)


@cli.command("rules")
@click.argument("rule_id", required=False)
@click.option("--markdown", is_flag=True, help="Print the rule reference as markdown (docs/rules.md).")
@_source_options
def rules_command(rule_id, markdown, program, tree) -> None:
    """List the rules, or explain one: what it checks, why, examples, how to fix or waive it.

    \b
    Examples:
      sesrego rules
      sesrego rules SES-004
    """
    from .reference import explain, listing, markdown_reference

    if markdown:
        _emit(terminal_text(markdown_reference(program)))
    elif rule_id:
        _emit(terminal_text(explain(program, rule_id.upper())))
    else:
        _emit(terminal_text(listing(program)))


@cli.command("actions")
@click.argument("pattern", required=False)
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_source_options
def actions_command(pattern, fmt, program, tree) -> None:
    """List the catalogs' actions an IAM action PATTERN grants, per API version, with their condition keys.

    Without PATTERN, every action. Exit status 1 when PATTERN matches no action (a policy
    naming it grants nothing: SES-008).

    \b
    Examples:
      sesrego actions 'ses:Send*'          # what a wildcard grants, in every SES API
      sesrego actions ses:SendEmal         # a typo: no match, and the closest names
      sesrego actions 'ses:*' --format json
    """
    from .actions import lookup, render_json, render_text

    answer = lookup(program, pattern)
    _emit(render_json(answer) if fmt == "json" else terminal_text(render_text(answer)))
    sys.exit(0 if answer.matches else 1)


@cli.command("push")
@click.option("--opa-url", required=True, help="OPA server, e.g. http://localhost:8181.")
@server_options
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Configuration to upload with the facts (sesrego.config).")
@_source_options
def push_command(opa_url, opa_token, opa_connect_timeout, opa_timeout, opa_ca_cert, opa_client_cert, opa_client_key,
                 data_files, program, tree) -> None:
    """Upload the compiled policies and data to an OPA server's REST API.

    \b
    Example:
      opa run --server &
      sesrego push --opa-url http://localhost:8181
      sesrego scan --opa-url http://localhost:8181 plan.json
    """
    from .server import base_url, push

    server = server_settings(dict(opa_url=opa_url, opa_token=opa_token, opa_connect_timeout=opa_connect_timeout,
                                  opa_timeout=opa_timeout, opa_ca_cert=opa_ca_cert, opa_client_cert=opa_client_cert,
                                  opa_client_key=opa_client_key))
    count = push(server, tree, _configuration(data_files, program).config)
    _note(f"pushed {count} policies and data.sesrego to {base_url(opa_url)}")


def _terminate(signum, frame) -> None:
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)  # stop as Ctrl-C does: workers, temporary files, exit 143
    try:
        cli.main(prog_name="sesrego", standalone_mode=True)
    except SesregoError as exc:  # pragma: no cover - click handles it in standalone mode
        exc.show()
        sys.exit(exc.exit_code)
