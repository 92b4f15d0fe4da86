"""The floor a scan is measured against: OPA's engine decoding every policy string of a plan.

The same work any Rego scanner of this plan must do before it can decide anything: start the
interpreter, load OPA's engine, hand it the plan, and ``json.unmarshal`` every policy document
the rules read. Prints how many documents it decoded.

    python benchmarks/floor.py plan-10k.json
"""

from __future__ import annotations

import sys

from opa_bindings import OpaEngine

FLOOR = """package floor

documents := [json.unmarshal(text) |
	some change in input.resource_changes
	some text in _policy_texts(change.change.after)
	is_string(text)
	json.is_valid(text)
]

decoded := count(documents)

_policy_texts(after) := array.concat(
	[after[key] | some key in ["policy", "content", "inline_policy"]; is_string(after[key])],
	[block.policy | some block in after.inline_policy; is_object(block)],
)
"""


def main(path: str) -> None:
    engine = OpaEngine()
    engine.add_policy("floor.rego", FLOOR)
    with open(path, "rb") as handle:
        raw = handle.read()
    envelope = engine._call(engine._lib.OpaEvalDocument, b"floor.decoded", raw, 0, 0)
    print(envelope["result"][0]["expressions"][0]["value"])


if __name__ == "__main__":
    main(sys.argv[1])
