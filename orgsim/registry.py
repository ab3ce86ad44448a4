"""Where rules plug into the org: per-object DML rules, query hooks, extra Metadata API types and apps whose
actions another module handles. The registries hold plain functions that take the org first; the org
(``platform.Org``) consults them and never names an object or feature in an if-ladder.

A rule module registers itself at import time (``platform`` imports every rule module):

- :func:`before` ``("create" | "update" | "delete", sobject)``: ``fn(org, user, values) -> values``
  (create), ``fn(org, user, current, values) -> values`` (update), ``fn(org, user, current) -> None``
  (delete); raises ``errors.SalesforceError`` to refuse;
- :func:`after_create` ``(sobject)``: ``fn(org, new_id, values) -> None``;
- :func:`before_query`: ``fn(org) -> None``, run before every SOQL query (e.g. finish due installs);
- :func:`metadata_type`: a :class:`MetadataType` (list, render and validate a deploy of one type);
- :func:`app_handler`: ``(matches(name) -> bool, authorize(org, username) -> dict)`` for apps that are not
  connected apps (the External Client App).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BEFORE: dict[tuple[str, str], Callable] = {}
AFTER_CREATE: dict[str, Callable] = {}
BEFORE_QUERY: list[Callable[[Any], None]] = []
METADATA_TYPES: dict[str, MetadataType] = {}
APP_HANDLERS: list[tuple[Callable[[str | None], bool], Callable[[Any, str], dict]]] = []


@dataclass(frozen=True)
class MetadataType:
    """A Metadata API type a rule module models.

    ``name`` (e.g. ``ExtlClntAppOauthConfigurablePolicies``), ``folder`` and ``suffix`` (its files in a zip);
    ``list(org) -> [(fullName, fileName)]``; ``render(org, member) -> bytes | None``;
    ``validate(org, component, problem) -> apply(user) -> created: bool`` (raise ``problem(text)`` to refuse).
    """

    name: str
    folder: str
    suffix: str
    list: Callable[[Any], list[tuple[str, str]]]
    render: Callable[[Any, str], bytes | None]
    validate: Callable[[Any, Any, type[Exception]], Callable]


def before(op: str, sobject: str) -> Callable:
    """Decorator: register ``fn`` as the ``op`` (create | update | delete) rule of ``sobject``."""
    if op not in ("create", "update", "delete"):
        raise ValueError(f"unknown DML operation {op!r}")

    def register(fn: Callable) -> Callable:
        BEFORE[(op, sobject)] = fn
        return fn

    return register


def after_create(sobject: str) -> Callable:
    """Decorator: register ``fn(org, new_id, values)`` to run after a ``sobject`` insert."""

    def register(fn: Callable) -> Callable:
        AFTER_CREATE[sobject] = fn
        return fn

    return register


def before_query(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """Decorator: run ``fn(org)`` before every SOQL query."""
    BEFORE_QUERY.append(fn)
    return fn


def metadata_type(md_type: MetadataType) -> MetadataType:
    METADATA_TYPES[md_type.name] = md_type
    return md_type


def app_handler(
    matches: Callable[[str | None], bool], authorize: Callable[[Any, str], dict]
) -> None:
    APP_HANDLERS.append((matches, authorize))


def app_authorizer(app: str | None) -> Callable[[Any, str], dict] | None:
    """The ``authorize(org, username)`` of the handler that claims ``app``, or ``None`` (a connected app)."""
    for matches, authorize in APP_HANDLERS:
        if matches(app):
            return authorize
    return None
