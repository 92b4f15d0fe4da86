"""Pass 1: catalogs + guidance -> :class:`~sesrego.model.Facts`, the data the rules read.

The action universe (every action of every catalog), the send and admin-only actions of each
API version (from the guidance's considerations), the condition keys, the resource types each
tracked action authorizes on and their ARN shapes, and the Public Suffix List snapshot. Every
value comes from the sources; none is written into the Rego (it reads ``data.sesrego.facts``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SourceError
from ..model import Catalog, Consideration, ControlKind, Facts, FrozenMap, Guidance
from ..suffixes import public_suffixes, suffix_parents

#: The IAM condition key that tells SES API versions apart (used by AWS's reference SCP).
API_VERSION_KEY = "ses:ApiVersion"
#: The recipient key when the guidance names none.
DEFAULT_RECIPIENT_KEY = "ses:Recipients"


def qualified(prefix: str, action: str) -> str:
    return f"{prefix}:{action}"


def considerations_of(guidance: Sequence[Guidance], kind: ControlKind) -> list[tuple[Guidance, Consideration]]:
    """Every consideration of the guidance whose control is of ``kind``, with its document."""
    return [(doc, c) for doc in guidance for c in doc.considerations if c.control.kind is kind]


def _prefix(catalogs: Sequence[Catalog]) -> str:
    prefixes = sorted({c.prefix for c in catalogs})
    return "ses" if "ses" in prefixes else prefixes[0]


def build_facts(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> Facts:
    """The facts of the sources; keys are lower-cased action names."""
    prefix = _prefix(catalogs)
    actions: dict[str, str] = {}
    for catalog in catalogs:
        for action in catalog.actions:
            actions.setdefault(qualified(catalog.prefix, action.name).lower(), qualified(catalog.prefix, action.name))
    send: dict[str, set[str]] = {doc.api_version: set() for doc in guidance}
    admin: dict[str, set[str]] = {doc.api_version: set() for doc in guidance}
    considerations: dict[str, set[str]] = {}
    recipient_keys = set()
    for kind, per_version in ((ControlKind.CONDITION_KEY, send), (ControlKind.ADMIN_ONLY, admin)):
        for doc, c in considerations_of(guidance, kind):
            name = qualified(prefix, c.action)
            per_version[doc.api_version].add(name.lower())
            actions.setdefault(name.lower(), name)
            considerations.setdefault(name.lower(), set()).add(c.ref)
            if kind is ControlKind.CONDITION_KEY:
                recipient_keys.add(c.control.condition_key.lower())
    if len(recipient_keys) > 1:
        raise SourceError("the guidance recommends more than one condition key (" + ", ".join(sorted(recipient_keys))
                          + "); sesrego's rules check one recipient key", path=guidance[0].source.name)
    tracked = set().union(*send.values(), *admin.values()) if guidance else set()
    resource_types = _resource_types(catalogs, send, admin)
    recipient_key = recipient_keys.pop() if recipient_keys else DEFAULT_RECIPIENT_KEY.lower()
    suffixes = public_suffixes()
    return Facts(
        actions=FrozenMap(actions),
        api_versions=tuple(sorted(send)),
        send_actions=_per_version(send),
        admin_only_actions=_per_version(admin),
        tracked_actions=tuple(sorted(tracked)),
        recipient_key=recipient_key,
        recipient_key_actions=_keyed_actions(catalogs, send, admin, recipient_key),
        api_version_key=API_VERSION_KEY.lower(),
        considerations=FrozenMap((action, tuple(sorted(refs))) for action, refs in considerations.items()),
        resource_types=resource_types,
        arn_shapes=_arn_shapes(prefix, resource_types),
        public_suffixes=FrozenMap(suffixes),
        public_suffix_parents=FrozenMap(suffix_parents(suffixes)),
    )


def _per_version(actions: dict[str, set[str]]) -> FrozenMap[str, tuple[str, ...]]:
    return FrozenMap((version, tuple(sorted(names))) for version, names in actions.items())


def _resource_types(catalogs: Sequence[Catalog], send: dict[str, set[str]],
                    admin: dict[str, set[str]]) -> FrozenMap[str, FrozenMap[str, tuple[str, ...]]]:
    """Per API version, the resource types each tracked action authorizes on: the catalog's required
    resource types of that action on that version's page ("*" when it has none, or no page has it)."""
    types = {}
    for version in sorted(send):
        per_action = {}
        for name in sorted(send[version] | admin[version]):
            required = {rt.name for catalog in catalogs if catalog.api_version == version
                        for action in catalog.actions if qualified(catalog.prefix, action.name).lower() == name
                        for rt in action.resource_types if rt.required and rt.name}
            per_action[name] = tuple(sorted(required)) or ("*",)
        types[version] = FrozenMap(per_action)
    return FrozenMap(types)


def _keyed_actions(catalogs: Sequence[Catalog], send: dict[str, set[str]], admin: dict[str, set[str]],
                   key: str) -> FrozenMap[str, tuple[str, ...]]:
    """Per API version, the tracked actions whose requests carry the recipient key (v2
    SendCustomVerificationEmail does not: a condition on the key behaves there as on a missing key)."""
    return FrozenMap((version, tuple(sorted(name for name in send[version] | admin[version]
                                            if any(qualified(catalog.prefix, action.name).lower() == name
                                                   and key in {k.lower() for k in action.condition_keys}
                                                   for catalog in catalogs if catalog.api_version == version
                                                   for action in catalog.actions))))
                     for version in sorted(send))


def _arn_shapes(prefix: str, resource_types: FrozenMap[str, FrozenMap[str, tuple[str, ...]]]) -> FrozenMap[str, str]:
    """The ARN every resource of a type has, as an IAM glob: ``arn:${Partition}:ses:${Region}:${Account}:
    <type>/<name>``, with ``*`` for each variable part (``*`` itself for actions without a resource type)."""
    names = {name for per_action in resource_types.values() for names in per_action.values() for name in names}
    return FrozenMap((name, "*" if name == "*" else f"arn:*:{prefix}:*:*:{name}/*") for name in names)
