"""The intermediate model: everything the templates see, and nothing else.

Frozen, slotted dataclasses; every collection is a tuple, sorted when built,
so two compilations of the same sources produce equal models (and therefore
byte-identical Rego, data and bundles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


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
class Rule:
    id: str  # SES-001 ... never renamed: users put ids in waivers
    slug: str  # ses_001, the package name under sesrego.rules
    template: str  # rego_templates/rules/<template>
    title: str
    description: str
    severity: Severity
    attested_severity: Severity | None  # severity when the SCP controls are attested elsewhere
    considerations: tuple[str, ...]  # Consideration.ref values
    remediation: str
    related_resources: tuple[str, ...]
    failing: Example
    passing: Example

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
    facts: dict = field(hash=False, compare=True)  # JSON-ready data document for data.sesrego
    cross_check: tuple[CrossCheckItem, ...] = ()

    @property
    def sources(self) -> tuple[SourceFile, ...]:
        return tuple(sorted({c.source for c in self.catalogs} | {g.source for g in self.guidance},
                            key=lambda s: s.name))
