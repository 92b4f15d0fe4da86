"""From sources to the files users deploy: ``compile -o DIR`` and ``bundle -o FILE`` in one call each.

Each entry point takes one options object and runs the same steps in the same order, for the
command line and for the Python verbs alike:

1. refuse outputs that collide or cannot be written, before any work;
2. compile the sources (:func:`sesrego.compiler.compile_tree`) and read the configuration;
3. hand the guidance/catalog cross-check to ``announce`` (the command prints its summary) and,
   with ``strict``, stop when it found anything, after writing the cross-check report that explains it;
4. write the outputs (:func:`sesrego.bundle.write_policy_dir`, :func:`sesrego.bundle.write_bundle`);
5. write the cross-check report last, so a refused output leaves no report of a build that did not happen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .bundle import Built, BuildOptions, check_outputs, json_bytes, write_bundle, write_policy_dir
from .compiler import compile_tree
from .errors import CrossCheckError
from .fsutil import (Written, atomic_write, check_writable, distinct_outputs, not_an_input,
                     refuse_special_directory)
from .model import Program
from .render import Tree

Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Sources:
    """The catalogs and guidance to compile (each replaces the shipped one of its API version), and
    how strictly their cross-check is taken."""

    catalogs: tuple[Path, ...] = ()
    guidance: tuple[Path, ...] = ()
    strict: bool = False  # any cross-check finding is an error and nothing is written
    cross_check_report: Path | None = None  # --cross-check-report


@dataclass(frozen=True, slots=True)
class PolicyDirOptions:
    """What ``sesrego compile`` writes: the policy directory for conftest."""

    output: Path
    force: bool = False  # write into a non-empty directory sesrego did not write


def cross_check_json(program: Program) -> dict:
    """The ``--cross-check-report`` document: what the guidance and the catalogs disagree on."""
    return {"cross_check": [{"kind": i.kind, "api_version": i.api_version, "action": i.action,
                             "message": i.message, "source": i.source, "line": i.line} for i in program.cross_check]}


def compile_policy_dir(options: PolicyDirOptions, sources: Sources = Sources(), *, report: Report | None = None,
                       announce: Callable[[Program], None] | None = None) -> tuple[Program, Written]:
    """Compile the sources and write the policy directory (``.rego`` files, their tests, ``data.json``)."""
    refuse_special_directory(options.output)
    distinct_outputs([sources.cross_check_report], [options.output])
    not_an_input([sources.cross_check_report], [*sources.catalogs, *sources.guidance])
    if sources.cross_check_report is not None:
        check_writable(sources.cross_check_report)
    program, tree = compile_sources(sources, announce)
    written = write_policy_dir(tree, options.output, force=options.force, report=report)
    _write_cross_check(program, sources)
    return program, written


def build_bundle(options: BuildOptions, sources: Sources = Sources(), *, config: Mapping | None = None,
                 data_files: tuple[Path, ...] = (), report: Report | None = None,
                 announce: Callable[[Program], None] | None = None) -> Built:
    """Compile the sources and write the bundle (signed, and as an OCI layout, when ``options`` ask).

    ``config`` (a mapping) or ``data_files`` (``--data`` files, merged) become ``data.sesrego.config``,
    checked against the compiled rule ids; notes about the files go to ``report``.
    """
    from .config import load_configuration, validate

    check_outputs(options, sources.cross_check_report)
    signing = (options.signing.key, options.signing.claims_file) if options.signing is not None else ()
    not_an_input([options.output, sources.cross_check_report],
                 [*sources.catalogs, *sources.guidance, *data_files, *signing])
    program, tree = compile_sources(sources, announce)
    rule_ids = [rule.id for rule in program.rules]
    configuration = load_configuration(list(data_files), rule_ids)
    for line in configuration.notes:
        if report is not None:
            report(line)
    merged = dict(configuration.config)
    if config:
        validate(dict(config), None, rule_ids)
        merged |= dict(config)
    built = write_bundle(program, tree, merged or None, options, report=report)
    _write_cross_check(program, sources)
    return built


def compile_sources(sources: Sources, announce: Callable[[Program], None] | None = None) -> tuple[Program, Tree]:
    """Compile ``sources``; hand the cross-check to ``announce``; with ``sources.strict``, stop on any finding."""
    program, tree = compile_tree(sources.catalogs, sources.guidance)
    if announce is not None:
        announce(program)
    if sources.strict and program.cross_check:
        _write_cross_check(program, sources)
        raise CrossCheckError(f"--strict: {len(program.cross_check)} cross-check finding(s) between guidance "
                              "and catalogs")
    return program, tree


def _write_cross_check(program: Program, sources: Sources) -> None:
    if sources.cross_check_report is not None:
        atomic_write(sources.cross_check_report, json_bytes(cross_check_json(program)))
