"""The intermediate model: everything the templates see, and nothing else.

Frozen, slotted dataclasses; every collection is a tuple, sorted when built,
so two compilations of the same sources produce equal models (and therefore
byte-identical Rego, data and bundles).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping with its keys in sorted order: the model's dictionaries."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        object.__setattr__(self, "_items", dict(sorted(pairs, key=lambda pair: pair[0])))

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __reduce__(self):
        return (FrozenMap, (tuple(self._items.items()),))

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


def plain(value: object) -> object:
    """A model value as JSON-ready data: mappings as objects, tuples as arrays."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    return value


class ControlKind(str, Enum):
    """The two kinds of control the SES guidance recommends."""

    CONDITION_KEY = "condition-key"  # "implementing ses:Recipients in an SCP"
    ADMIN_ONLY = "admin-only"  # "restricting X permissions to administrators only using an SCP"


class Severity(str, Enum):
    DENY = "deny"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A source document, named as the user gave it, with its content digest."""

    name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    required: bool
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    description: str
    access_level: str
    resource_types: tuple[ResourceType, ...]
    line: int

    @property
    def condition_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for rt in self.resource_types for key in rt.condition_keys}))


@dataclass(frozen=True, slots=True)
class Catalog:
    """One service-authorization page. Several pages can share a prefix."""

    prefix: str
    api_version: str  # "1", "2", "mailmanager", "pinpoint", ...
    title: str
    source: SourceFile
    actions: tuple[Action, ...]

    def action(self, name: str) -> Action | None:
        for action in self.actions:
            if action.name.lower() == name.lower():
                return action
        return None


@dataclass(frozen=True, slots=True)
class PerimeterRow:
    perimeter_type: str
    security_objective: str
    applied_on: str
    policy_type: str
    additional_considerations: bool


@dataclass(frozen=True, slots=True)
class Control:
    kind: ControlKind
    condition_key: str | None  # set for CONDITION_KEY controls
    policy_type: str  # "SCP"
    example_policy: str  # URL of the linked example policy
    sentence: str  # the guidance sentence the control was read from


@dataclass(frozen=True, slots=True)
class Consideration:
    api_version: str
    number: int
    applicability: str
    action: str
    text: str
    control: Control
    source: SourceFile
    line: int

    @property
    def ref(self) -> str:
        """Stable reference, e.g. ``ses-v1#2``: guidance API version and item number."""
        return f"ses-v{self.api_version}#{self.number}"


@dataclass(frozen=True, slots=True)
class Guidance:
    api_version: str
    title: str
    source: SourceFile
    perimeter: tuple[PerimeterRow, ...]
    considerations: tuple[Consideration, ...]
    reviewed_apis: tuple[str, ...]
    url: str


@dataclass(frozen=True, slots=True)
class ExamplePolicy:
    """One policy of an example: its kind and JSON text (None: unknown until apply)."""

    kind: str  # identity | resource | scp
    document: str | None


@dataclass(frozen=True, slots=True)
class Example:
    """Policies that make a rule fire (failing) or stay quiet (passing)."""

    title: str
    policies: tuple[ExamplePolicy, ...]


@dataclass(frozen=True, slots=True)
class Facts:
    """The catalog facts the rules read: ``data.sesrego.facts`` (see :meth:`data`).

    Action names are lower-cased and qualified (``ses:sendemail``); per-version fields are keyed
    by API version ("1", "2"); every collection is sorted.
    """

    actions: FrozenMap[str, str]  # every action of every catalog, and how the catalog spells it
    api_versions: tuple[str, ...]  # the API versions the guidance describes
    send_actions: FrozenMap[str, tuple[str, ...]]  # recipient-controlled send actions, per API version
    admin_only_actions: FrozenMap[str, tuple[str, ...]]  # actions kept for administrators, per API version
    tracked_actions: tuple[str, ...]  # send and admin-only actions of every version
    recipient_key: str  # the condition key that restricts recipients (lower case)
    recipient_key_actions: FrozenMap[str, tuple[str, ...]]  # tracked actions whose requests carry it
    api_version_key: str  # ses:apiversion
    considerations: FrozenMap[str, tuple[str, ...]]  # the guidance items behind each tracked action
    resource_types: FrozenMap[str, FrozenMap[str, tuple[str, ...]]]  # per version and action ("*": none)
    arn_shapes: FrozenMap[str, str]  # each resource type's ARNs as an IAM glob
    public_suffixes: FrozenMap[str, str]  # the Public Suffix List snapshot: rule -> section
    public_suffix_parents: FrozenMap[str, bool]  # domains with a public suffix below them

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The facts' names: the keys of ``data.sesrego.facts``."""
        return tuple(f.name for f in fields(cls))

    def data(self) -> dict:
        """``data.sesrego.facts``: the JSON-ready document the rules read."""
        return {name: plain(getattr(self, name)) for name in self.names()}

    def display(self, action: str) -> str:
        """How the catalogs spell a lower-cased action name."""
        return self.actions.get(action, action)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its texts, severity, guidance considerations, examples, and what its Rego reads."""

    id: str  # SES-001 ... never renamed: users put ids in waivers
    title: str
    description: str
    severity: Severity
    attested_severity: Severity | None  # severity when the SCP controls are attested elsewhere
    considerations: tuple[str, ...]  # Consideration.ref values
    remediation: str
    related_resources: tuple[str, ...]
    failing: Example
    passing: Example
    imports: tuple[str, ...]  # the library packages (sesrego.lib.<name>) its Rego imports
    reads_facts: tuple[str, ...]  # the facts (Facts.names()) its verdicts and messages depend on

    @property
    def slug(self) -> str:
        """``ses_001``: the package name under ``sesrego.rules``."""
        return self.id.lower().replace("-", "_")

    @property
    def template(self) -> str:
        """Its template under ``rego_templates/rules/``."""
        return f"{self.slug}.rego.j2"

    @property
    def package(self) -> str:
        return f"sesrego.rules.{self.slug}"


@dataclass(frozen=True, slots=True)
class CrossCheckItem:
    kind: str  # guidance-action-missing | condition-key-unsupported | reviewed-api-missing | action-not-reviewed
    api_version: str
    action: str
    message: str
    source: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Program:
    """Everything one compilation produces before rendering."""

    catalogs: tuple[Catalog, ...]
    guidance: tuple[Guidance, ...]
    rules: tuple[Rule, ...]
    facts: Facts
    cross_check: tuple[CrossCheckItem, ...] = ()

    @property
    def sources(self) -> tuple[SourceFile, ...]:
        return tuple(sorted({c.source for c in self.catalogs} | {g.source for g in self.guidance},
                            key=lambda s: s.name))
