"""What a scan tells the reader: variable values and the caps that bound its work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: A configuration file larger than this is refused, while it is read (``--max-input-bytes`` lowers it).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Evaluation steps (expressions, loop iterations, elements built) per root module (``--max-eval-steps``).
MAX_EVAL_STEPS = 2_000_000
#: The largest value an expression may build, in bytes of its JSON form (``--max-value-bytes``).
MAX_VALUE_BYTES = 16 * 1024 * 1024
#: More instances than this for one resource or module call are refused.
MAX_INSTANCES = 10_000
#: Module calls nested deeper than this are refused.
MAX_MODULE_DEPTH = 32
#: Blocks nested deeper than this in one file are refused.
MAX_BLOCK_DEPTH = 64
#: Expressions nested deeper than this (brackets, braces, parentheses, calls, templates) are refused.
MAX_EXPRESSION_DEPTH = 256
#: References evaluated inside one another (a local naming a local naming an output...) beyond this are refused.
MAX_REFERENCE_DEPTH = 256
#: Values nested deeper than this (lists and objects inside one another) are refused.
MAX_VALUE_DEPTH = 256


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """How to read ``.tf`` files: root variable values (as Terraform takes them) and the reader's caps.

    ``variables`` are ``--var NAME=VALUE`` as ``(NAME, VALUE)`` pairs and ``var_files`` the
    ``--var-file`` paths, each in command-line order. ``var_order`` says how the two interleave
    on the command line (one ``"var"`` or ``"var-file"`` per entry, in order); without it the
    files come first. ``environ`` is where ``TF_VAR_<name>`` values and ``TF_WORKSPACE`` are read
    from (the reader never reads the process environment itself; the command line passes it). ``var_file_texts``
    holds, by path, the text of each ``--var-file`` that is a pipe (``<(sops -d x.tfvars)``): a pipe
    can be read only once, so the command line reads it before the scan, for every root module.
    """

    variables: tuple[tuple[str, str], ...] = ()
    var_files: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    max_eval_steps: int = MAX_EVAL_STEPS
    max_value_bytes: int = MAX_VALUE_BYTES
    max_input_bytes: int = MAX_FILE_BYTES
    var_order: tuple[str, ...] = ()
    var_file_texts: tuple[tuple[str, str], ...] = ()

    def command_line(self) -> list[tuple[str, str]]:
        """``--var``/``--var-file`` as ``("var", "NAME=VALUE")``/``("var-file", PATH)``, in command-line order."""
        variables = [("var", f"{name}={value}") for name, value in self.variables]
        files = [("var-file", path) for path in self.var_files]
        if sorted(self.var_order) != sorted(["var"] * len(variables) + ["var-file"] * len(files)):
            return files + variables
        out = []
        for kind in self.var_order:
            out.append(files.pop(0) if kind == "var-file" else variables.pop(0))
        return out
