"""sesrego: AWS's SES data-perimeter guidance compiled into Rego rules and OPA bundles.

The public verbs, a contract (the command line does the same, plus its output formats):

* :func:`compile_tree`: catalogs and guidance -> the program and the rendered policy tree;
* :func:`build_bundle`: compile and write a deterministic OPA bundle, optionally signed;
* :func:`verify_bundle`: check a signed bundle as OPA does before activating it;
* :func:`scan`: evaluate Terraform plans and ``.tf`` files with the compiled rules;
* :func:`diff`: what changed between two sets of sources, and which rules it affects.

Errors are :class:`sesrego.errors.SesregoError` (one line, naming the file). Importing
``sesrego`` loads nothing else: each verb imports what it needs when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .bundle import Built
    from .model import Program
    from .render import Tree
    from .report import ScanReport
    from .signing import SigningOptions, Verification

__version__ = "0.1.0"
__all__ = ["build_bundle", "compile_tree", "diff", "scan", "verify_bundle"]

Paths = Sequence["str | PathLike[str]"]


def compile_tree(catalogs: Paths = (), guidance: Paths = ()) -> tuple[Program, Tree]:
    """Compile the built-in sources into the intermediate program and the rendered policy tree.

    Each given catalog or guidance file replaces the built-in one of its SES API version (the
    others stay). ``tree.files`` maps bundle paths (``sesrego/rules/ses_001/ses_001.rego``, ...)
    to bytes, tests included; ``tree.facts`` is ``data.sesrego.facts``. Deterministic: the same
    sources give byte-identical files.
    """
    from .arguments import paths
    from .compiler import compile_tree as compile_sources

    return compile_sources(paths("catalogs", catalogs), paths("guidance", guidance))


def build_bundle(output: str | PathLike[str], *, catalogs: Paths = (), guidance: Paths = (),
                 config: Mapping | None = None, signing: SigningOptions | None = None, sources: bool = True,
                 oci_layout: str | PathLike[str] | None = None, oci_tag: str = "latest",
                 cross_check_report: str | PathLike[str] | None = None, strict: bool = False,
                 force: bool = False) -> Built:
    """Compile the sources and write the OPA bundle (gzipped tar, roots ``["sesrego"]``) to ``output``.

    ``config`` is built into the bundle's data as ``data.sesrego.config`` (checked as a
    configuration file is). ``signing`` adds ``.signatures.json``; ``sources=False`` leaves out the
    source documents (``diff`` needs them); ``oci_layout`` also writes an OCI image layout tagged
    ``oci_tag``. ``cross_check_report`` receives the guidance/catalog cross-check as JSON, and
    ``strict`` makes any cross-check finding an error (nothing is built). Two builds of the same
    sources give byte-identical bundles. Returns where it was written, its size and revision.
    """
    from . import arguments as check
    from .bundle import BuildOptions
    from .outputs import Sources, build_bundle as build

    options = BuildOptions(output=Path(output), signing=check.signing(signing),  # type: ignore[arg-type]
                           oci_layout=Path(oci_layout) if oci_layout else None, oci_tag=check.oci_tag(oci_tag),
                           sources=sources, force=force)
    return build(options, Sources(tuple(check.paths("catalogs", catalogs)), tuple(check.paths("guidance", guidance)),
                                  strict, Path(cross_check_report) if cross_check_report else None),
                 config=check.mapping("config", config) if config is not None else None)


def verify_bundle(bundle: str | PathLike[str], verification_key: str | PathLike[str], *,
                  algorithm: str | None = None, key_id: str | None = None, scope: str | None = None) -> Verification:
    """Verify a signed bundle as OPA does before activating it.

    Checks the JWT in ``.signatures.json`` with the key (a PEM public key or certificate; for HS*
    the shared-secret file), that the signed file list is exactly the bundle's files, and every
    file's hash. Returns a :class:`~sesrego.signing.Verification`: ``ok``, or the ``problems``
    naming every tampered, added or removed file. A signature the key does not verify raises
    :class:`~sesrego.signing.VerificationError`; an unreadable bundle or key is an error too.
    """
    from .bundle import read_bundle
    from .signing import verify

    return verify(read_bundle(Path(bundle)), Path(verification_key), algorithm=algorithm, key_id=key_id, scope=scope)


def scan(paths: Paths, *, catalogs: Paths = (), guidance: Paths = (), config: Mapping | None = None,
         bundle: str | PathLike[str] | None = None, verification_key: str | PathLike[str] | None = None,
         engine: str = "embedded", jobs: int = 0, fail_on: str = "deny",
         tf_dir: str | PathLike[str] | None = None) -> ScanReport:
    """Scan Terraform plans (``terraform show -json``), ``.tf`` files and directories.

    The rules are compiled from the sources (as :func:`compile_tree`), or taken from a prebuilt
    ``bundle`` (verified with ``verification_key`` when given). ``config`` is ``data.sesrego.config``
    (waivers, administrators, severities, ...). ``engine`` is ``"embedded"`` (OPA's Go engine in
    this process) or ``"opa"`` (the ``opa`` binary); ``jobs`` worker processes (0: one per core).
    ``tf_dir`` is the configuration a plan was made from (locations, inline suppressions). An input
    that cannot be read is that input's error in the report; the others are still scanned. The
    :class:`~sesrego.report.ScanReport` has the findings per input and the ``exit_status``
    (1 when a finding is at or above ``fail_on``, 2 when an input could not be read).
    """
    from . import arguments as check, prebuilt
    from .compiler import compile_tree as compile_sources
    from .config import validate
    from .engine import Embedded, OpaBinary
    from .scanner import ScanOptions, default_evaluator, scan as scan_inputs

    inputs = check.paths("paths", paths)
    config = check.mapping("config", config)
    options = ScanOptions(config=config, engine=check.choice("engine", engine, check.ENGINES), jobs=check.jobs(jobs),
                          fail_on=check.choice("fail_on", fail_on, check.FAIL_ON),
                          tf_dir=check.directory("tf_dir", tf_dir) if tf_dir is not None else None)
    if bundle is not None:
        policies = prebuilt.load(Path(bundle), Path(verification_key) if verification_key else None)
    elif verification_key is not None:
        raise check.SesregoError("verification_key verifies a bundle; give the bundle too")
    else:
        policies = prebuilt.compiled(*compile_sources(check.paths("catalogs", catalogs),
                                                      check.paths("guidance", guidance)))
    if config:
        validate(config, None, policies.rule_ids)
    if policies.program is not None:
        evaluator = default_evaluator(policies.program, policies.tree, options)
    elif engine == "opa":
        evaluator = OpaBinary(policies.tarball(config))
    else:
        evaluator = Embedded(policies.modules, policies.data(config))
    return scan_inputs([str(p) for p in inputs], policies.program, policies.tree, options, evaluator=evaluator,
                       rules=policies.rules)


def diff(old: str | PathLike[str] | None = None, new: str | PathLike[str] | None = None, *,
         old_catalogs: Paths = (), old_guidance: Paths = (), new_catalogs: Paths = (),
         new_guidance: Paths = ()) -> dict:
    """What changed between two sets of sources, and which rules change behaviour because of it.

    ``old`` and ``new`` are each a bundle built by sesrego (it records its sources), a directory laid
    out like ``sesrego/sources`` (``catalogs/*.md``, ``guidance/*.md``), or ``None``/``"builtin"`` (the
    shipped sources). ``*_catalogs``/``*_guidance`` files replace the document of the same API version
    on that side. Returns the report as ``sesrego diff --format json`` prints it: ``old`` and ``new``
    (how each side is named), the catalog, consideration, fact and cross-check changes, the
    ``rules`` affected and why, and ``exit_status`` (1 when a rule changes behaviour).
    """
    from .arguments import paths
    from .drift import drift, load_side, overlay

    old_side = overlay(load_side(None if old is None else str(old)), paths("old_catalogs", old_catalogs),
                       paths("old_guidance", old_guidance))
    new_side = overlay(load_side(None if new is None else str(new)), paths("new_catalogs", new_catalogs),
                       paths("new_guidance", new_guidance))
    return {"old": old_side.label, "new": new_side.label, **drift(old_side, new_side)}
