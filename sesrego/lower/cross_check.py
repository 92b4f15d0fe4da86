"""Pass 2: the guidance checked against the catalogs (``--strict``, ``--cross-check-report``).

Each item says where the two disagree: a consideration naming an action the catalog of its API
version does not have, or a condition key that catalog does not support for it; an API the
guidance reviewed that the catalog lacks; an action of the catalog the guidance did not review;
no catalog listing ``ses:ApiVersion``. Items are sorted; none stops the compilation.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Catalog, CrossCheckItem, Guidance
from .facts import API_VERSION_KEY


def cross_check(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> tuple[CrossCheckItem, ...]:
    items: list[CrossCheckItem] = []
    by_version: dict[str, list[Catalog]] = {}
    for catalog in catalogs:
        by_version.setdefault(catalog.api_version, []).append(catalog)
    for doc in guidance:
        versioned = by_version.get(doc.api_version, [])
        names = {a.name.lower(): (catalog, a) for catalog in versioned for a in catalog.actions}
        where = f"SES API v{doc.api_version}"
        if not versioned:
            items.append(CrossCheckItem("catalog-missing", doc.api_version, "",
                                        f"no catalog of {where} is loaded to check {doc.source.name} against",
                                        doc.source.name))
            continue
        for c in doc.considerations:
            found = names.get(c.action.lower())
            if found is None:
                items.append(CrossCheckItem(
                    "guidance-action-missing", doc.api_version, c.action,
                    f"consideration {c.ref} names {c.action}, which the {where} catalog does not have",
                    doc.source.name, c.line))
            elif c.control.condition_key and c.control.condition_key.lower() not in {
                    k.lower() for k in found[1].condition_keys}:
                items.append(CrossCheckItem(
                    "condition-key-unsupported", doc.api_version, c.action,
                    f"consideration {c.ref} recommends {c.control.condition_key} for {c.action}, which the "
                    f"{where} catalog does not support for that action", found[0].source.name, found[1].line))
        reviewed = {name.lower() for name in doc.reviewed_apis}
        for api in doc.reviewed_apis:
            if api.lower() not in names:
                items.append(CrossCheckItem(
                    "reviewed-api-missing", doc.api_version, api,
                    f"{doc.source.name} reviewed {api}, which the {where} catalog does not have", doc.source.name))
        for catalog, action in sorted(names.values(), key=lambda pair: pair[1].name):
            if action.name.lower() not in reviewed:
                items.append(CrossCheckItem(
                    "action-not-reviewed", doc.api_version, action.name,
                    f"{catalog.source.name} has {action.name}, which the {where} guidance did not review",
                    catalog.source.name, action.line))
    if not any(API_VERSION_KEY.lower() == key.lower() for c in catalogs for a in c.actions for key in a.condition_keys):
        items.append(CrossCheckItem("condition-key-unsupported", "", API_VERSION_KEY,
                                    f"no catalog lists {API_VERSION_KEY}, which the reference SCP uses to tell "
                                    "API versions apart", ""))
    return tuple(sorted(items, key=lambda i: (i.kind, i.api_version, i.action, i.source, i.line or 0)))
