"""The ``sesrego`` command line: thin click commands that hand off to the modules."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import CrossCheckError, SesregoError
from .formats import FORMATS
from .plan import MAX_INPUT_BYTES, MAX_POLICY_CHARS

DEFAULT_BUNDLE = Path("bundles/sesrego.tar.gz")


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


def _source_options(cross_check: str | None = "summary"):
    """--catalog/--guidance, compiled for the command.

    ``cross_check``: ``"summary"`` (commands that write rules: a one-line summary of the
    cross-check on stderr, with --strict and --verbose), ``"quiet"`` (scan: --strict and
    --verbose, silent otherwise) or ``None`` (no cross-check options).
    """
    def decorate(command):
        @functools.wraps(command)
        def wrapper(*args, catalogs, guidance, strict=False, verbose=False, **kwargs):
            from .compiler import compile_tree

            program, tree = compile_tree(catalogs, guidance)
            if cross_check == "summary" or strict or verbose:
                _report_cross_check(program, strict=strict, verbose=verbose)
            return command(*args, program=program, tree=tree, **kwargs)
        return _source_flags(wrapper, cross_check=cross_check is not None)
    return decorate


def _report_cross_check(program, *, strict: bool, verbose: bool, report_path: Path | None = None) -> None:
    """One line on stderr summing up the cross-check; every item with --verbose; an error with --strict."""
    items = program.cross_check
    if not items:
        return
    kinds: dict[str, list] = {}
    for item in items:
        kinds.setdefault(item.kind, []).append(item)
    counts = ", ".join(f"{len(group)} {kind}" for kind, group in sorted(kinds.items()))
    where = f" (details in {report_path})" if report_path else " (details: --verbose)" if not verbose else ""
    click.echo(f"cross-check: the guidance and catalogs differ in {len(items)} place(s): {counts}{where}", err=True)
    if verbose:
        for item in items:
            click.echo(f"  {item.kind}: {item.message}", err=True)
    if strict:
        raise CrossCheckError(f"--strict: {len(items)} cross-check finding(s) between guidance and catalogs")


def _config(paths):
    from .config import load_config

    return load_config([Path(p) for p in paths])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
              help="Policy directory to write (.rego files, tests, data.json, compile-report.json).")
@_source_options()
def compile_command(out: Path, program, tree) -> None:
    """Compile the guidance into a policy directory for conftest.

    \b
    Example:
      sesrego compile -o policy/
      conftest test --all-namespaces -p policy/ -d policy/data.json plan.json
    """
    from .bundle import json_bytes, write_policy_dir

    write_policy_dir(tree, out, extra={"compile-report.json": json_bytes(_cross_check_json(program))})
    click.echo(f"wrote {out}/ ({len(tree.files)} Rego files, data.json)", err=True)


def _cross_check_json(program) -> dict:
    return {"cross_check": [{"kind": i.kind, "api_version": i.api_version, "action": i.action,
                             "message": i.message, "source": i.source, "line": i.line} for i in program.cross_check]}


def _bundle_source_options(command):
    """--catalog/--guidance/--strict for the ``bundle`` group: compiled only when it builds.

    The same options as :func:`_source_options`, but ``bundle verify``/``bundle inspect`` must not
    compile anything, so the paths are handed to the command, which compiles when it needs to.
    """
    @_source_flags
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)
    return wrapper


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
              help="Also write an OCI image layout of the bundle to this directory (for `oras cp`).")
@click.option("--oci-tag", default="latest", show_default=True, help="Tag of the image in the OCI layout.")
@click.option("--no-sources", is_flag=True,
              help="Do not record the source documents in the bundle (sesrego diff needs them).")
@_bundle_source_options
@click.pass_context
def bundle_command(ctx, out: Path, data_files, signing_key, signing_alg, key_id, scope, claims_file, iat,
                   oci_layout, oci_tag, no_sources, catalogs, guidance, strict, verbose) -> None:
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
    from .bundle import bundle_files, json_bytes, tar_gz
    from .compiler import compile_tree
    from .fsutil import atomic_write

    program, tree = compile_tree(catalogs, guidance)
    config = _config(data_files)
    _report_cross_check(program, strict=strict, verbose=verbose)
    files = bundle_files(program, tree, config, sources=not no_sources)
    if signing_key is not None:
        from .signing import SigningOptions, sign

        files = sign(files, SigningOptions(key=signing_key, algorithm=signing_alg, key_id=key_id, scope=scope,
                                           claims_file=claims_file, iat=iat))
    elif signing_alg or key_id or scope or claims_file or iat:
        raise click.UsageError("--signing-alg, --key-id, --scope, --claims-file and --iat need --signing-key")
    data = tar_gz(files)
    if oci_layout is not None:
        from .oci import oci_layout as make_layout, write_oci_layout

        revision = json.loads(files[".manifest"])["revision"]
        layout = make_layout(data, tag=oci_tag, filename=out.name,
                             annotations={"org.opencontainers.image.revision": revision,
                                          "org.opencontainers.image.version": __version__})
        write_oci_layout(oci_layout, layout)
        click.echo(f"wrote {oci_layout}/ (OCI image layout, tag {oci_tag}, manifest {layout.manifest_digest})",
                   err=True)
    atomic_write(out, data)
    atomic_write(out.parent / "compile-report.json", json_bytes(_cross_check_json(program)))
    signed = ", signed" if signing_key is not None else ""
    click.echo(f"wrote {out} ({len(data)} bytes, revision {json.loads(files['.manifest'])['revision']}{signed})",
               err=True)


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

    files = read_bundle(bundle_path)
    result = verify(files, verification_key, algorithm=signing_alg, key_id=key_id, scope=scope)
    if result.ok:
        kid = f", key id {result.key_id}" if result.key_id else ""
        click.echo(f"{bundle_path}: verified ({result.algorithm}{kid}, {result.files} files)")
        return
    for problem in result.problems:
        click.echo(f"{bundle_path}: {problem}")
    click.echo(f"Error: {bundle_path}: verification failed ({len(result.problems)} problem(s))", err=True)
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

    report = inspect(read_bundle(bundle_path))
    click.echo(render_json(report) if fmt == "json" else render_table(report), nl=False)


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

    old_side = overlay(load_side(old), old_catalog, old_guidance)
    new_side = overlay(load_side(new), new_catalog, new_guidance)
    report = drift(old_side, new_side)
    render = render_json if fmt == "json" else render_text
    click.echo(render(report, old_side.label, new_side.label), nl=False)
    sys.exit(report["exit_status"])


@cli.command("test")
@click.option("--opa", "use_opa", is_flag=True, help="Also run `opa test` and `opa check --strict` (needs opa on PATH).")
@click.option("-v", "--verbose", is_flag=True, help="Print every test, not only failures.")
@_source_options(cross_check=None)
def test_command(use_opa: bool, verbose: bool, program, tree) -> None:
    """Run the generated Rego unit tests in OPA's engine, like `opa test`.

    \b
    Example:
      sesrego test -v
    """
    from .testing import run_tests

    sys.exit(run_tests(program, tree, use_opa=use_opa, verbose=verbose))


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True, help="Output format.")
@click.option("--fail-on", type=click.Choice(["deny", "warn"]), default="deny", show_default=True,
              help="Lowest severity that makes the exit status 1.")
@click.option("-d", "--data", "data_files", multiple=True, type=click.Path(dir_okay=False),
              help="Configuration file (JSON/YAML holding sesrego.config), as for conftest --data. Repeatable.")
@click.option("--engine", type=click.Choice(["embedded", "opa"]), default="embedded", show_default=True,
              help="embedded: OPA's Go engine in-process; opa: `opa eval` on the bundle.")
@click.option("--opa-url", help="Ask an OPA server holding the sesrego policies (see `sesrego push`).")
@click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: one per core).")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--max-input-bytes", type=click.IntRange(1), default=MAX_INPUT_BYTES,
              help="Refuse larger inputs (default 512 MiB).")
@click.option("--max-policy-chars", type=click.IntRange(1), default=MAX_POLICY_CHARS,
              help="Refuse longer policy strings (default 1 MiB).")
@_source_options(cross_check="quiet")
def scan_command(paths, fmt, fail_on, data_files, engine, opa_url, jobs, out, max_input_bytes, max_policy_chars,
                 program, tree) -> None:
    """Scan Terraform plans (`terraform show -json`), .tf files and directories.

    PATHS are plan JSON files, .tf files, directories of .tf files (searched recursively,
    .terraform/ skipped) or - for a plan on standard input. Exit status: 0 no deny-level
    finding, 1 at least one (--fail-on warn: or a warning), 2 bad usage or unreadable input.

    \b
    Examples:
      terraform show -json tfplan > plan.json && sesrego scan plan.json
      sesrego scan infra/ --format sarif -o sesrego.sarif
      terraform show -json tfplan | sesrego scan - --data sesrego.yaml
    """
    from .formats import render
    from .fsutil import atomic_write
    from .plan import Limits
    from .scan import ScanOptions, read_stdin

    options = ScanOptions(config=_config(data_files), limits=Limits(max_input_bytes, max_policy_chars),
                          engine=engine, jobs=jobs, fail_on=fail_on)
    stdin = read_stdin() if "-" in paths else None
    if opa_url:
        from .server import scan_with_server

        report = scan_with_server(opa_url, paths, program, options, stdin=stdin)
    else:
        report = _scan_with_progress(paths, program, tree, options, stdin)
    color = out is None and sys.stdout.isatty()
    text = render(report, fmt, color=color)
    if out is not None:
        atomic_write(out, text.encode())
    else:
        click.echo(text, nl=not text.endswith("\n"))
    for result in report.failed_inputs:
        click.echo(f"error: {result.error}", err=True)
    sys.exit(report.exit_status)


def _scan_with_progress(paths, program, tree, options, stdin):
    from .scan import scan

    if len(paths) < 8 or not sys.stderr.isatty():
        return scan(paths, program, tree, options, stdin=stdin)
    with click.progressbar(length=len(paths), label="scanning", file=sys.stderr) as bar:
        return scan(paths, program, tree, options, stdin=stdin, progress=bar.update)


@cli.command("rules")
@click.argument("rule_id", required=False)
@click.option("--markdown", is_flag=True, help="Print the rule reference as markdown (docs/rules.md).")
@_source_options(cross_check=None)
def rules_command(rule_id, markdown, program, tree) -> None:
    """List the rules, or explain one: what it checks, why, examples, how to fix or waive it.

    \b
    Examples:
      sesrego rules
      sesrego rules SES-004
    """
    from .reference import explain, listing, markdown_reference

    if markdown:
        click.echo(markdown_reference(program), nl=False)
    elif rule_id:
        click.echo(explain(program, rule_id.upper()), nl=False)
    else:
        click.echo(listing(program), nl=False)


@cli.command("actions")
@click.argument("pattern", required=False)
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_source_options(cross_check=None)
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
    click.echo(render_json(answer) if fmt == "json" else render_text(answer), nl=False)
    sys.exit(0 if answer.matches else 1)


@cli.command("push")
@click.option("--opa-url", required=True, help="OPA server, e.g. http://localhost:8181.")
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Configuration to upload with the facts (sesrego.config).")
@_source_options(cross_check=None)
def push_command(opa_url, data_files, program, tree) -> None:
    """Upload the compiled policies and data to an OPA server's REST API.

    \b
    Example:
      opa run --server &
      sesrego push --opa-url http://localhost:8181
      sesrego scan --opa-url http://localhost:8181 plan.json
    """
    from .server import push

    count = push(opa_url, tree, _config(data_files))
    click.echo(f"pushed {count} policies and data.sesrego to {opa_url}", err=True)


def main() -> None:
    try:
        cli.main(prog_name="sesrego", standalone_mode=True)
    except SesregoError as exc:  # pragma: no cover - click handles it in standalone mode
        exc.show()
        sys.exit(exc.exit_code)
