"""``.tf`` and ``.tf.json`` configuration -> the plan-shaped input the rules read, without running Terraform.

Each root module becomes one document in the ``terraform show -json`` shape (format 1.2), with
sesrego's one extension (docs/plan-extension.md) for what a plan cannot say. Values are resolved
as Terraform resolves them at plan time, as far as that is possible without state or providers:
variables (defaults, ``TF_VAR_``, tfvars files, ``--var-file``, ``--var``), locals, functions,
templates, ``aws_iam_policy_document``, ``count``/``for_each``, local modules and modules that
``terraform init`` installed, override files. Anything else is unknown, names the expression it
came from and says why; an unknown policy is never a pass.

The stages, one module each::

    options                  ReaderOptions: variables from the command line, the caps
    load, hcl, json_syntax   files -> blocks (a module directory, overrides merged)
    modules                  root modules, module sources, modules.json
    syntax, values           expressions and values (known, unknown, partly known)
    functions, regex,        Terraform's functions, string templates, file functions
      templates, files
    evaluate                 one expression in a scope
    variables, types         root variables and type conversion
    instances                module instances: locals, count/for_each, module calls
    policy_document          aws_iam_policy_document, as the provider renders it
    documents                partly known policies with their unknowns marked
    emit                     the plan-shaped document
    suppressions             inline sesrego:ignore comments
    root                     one root module, with the reader's error boundary
    reader                   paths -> root modules, each read once
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .options import ReaderOptions

if TYPE_CHECKING:  # the reader itself is imported when it is used, so that scanning plans never loads it
    from ..errors import InputError
    from .suppressions import Suppression

__all__ = ["ReaderOptions", "Suppression", "TfAnnotations", "TfInput", "Unknown", "annotations_from_tf",
           "plan_from_tf"]


@dataclass(frozen=True, slots=True)
class TfInput:
    """One root module (or one file in its module): the plan-shaped document, or why it could not be read."""

    path: str
    plan: dict | None = None
    error: InputError | None = None
    locations: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TfAnnotations:
    """What a configuration says about a plan made from it: where each resource is, inline suppressions."""

    locations: Mapping[str, tuple[str, int]]
    suppressions: tuple[Suppression, ...]
    warnings: tuple[str, ...]


def plan_from_tf(paths: Sequence[Path | str], options: ReaderOptions = ReaderOptions()) -> list[TfInput]:
    """One :class:`TfInput` per root module found in ``paths`` (directories, ``.tf``/``.tf.json`` files), by path.

    A file is read in its module's context (the other files of its directory) and reports only
    the resources it declares or whose policies depend on blocks it declares.
    """
    from .reader import read_paths

    return read_paths(paths, options)


def annotations_from_tf(directory: Path | str, options: ReaderOptions = ReaderOptions()) -> TfAnnotations:
    """Locations and inline suppressions of the configuration in ``directory``, for ``scan PLAN --tf-dir``.

    ``locations`` maps configuration addresses without instance keys (``module.a.aws_iam_policy.p``)
    and, where the reader could expand them, instance addresses to ``(file, line)``. A root module
    that cannot be evaluated still gives its blocks' locations and the suppressions on resources
    and module calls; its error becomes a warning.
    """
    from .reader import read_annotations

    return read_annotations(Path(directory), options)


def __getattr__(name: str):
    if name == "Suppression":
        from .suppressions import Suppression

        return Suppression
    if name == "Unknown":
        from .values import Unknown

        return Unknown
    raise AttributeError(name)
