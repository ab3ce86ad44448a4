"""SOQL compilation context: names resolved against ``schema`` (objects, fields, parent paths and their
LEFT JOINs), SQL fragments with their bound parameters, and the scope of one (sub)query. Used by ``soql.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lark import Token

from orgsim import schema
from orgsim.soql_grammar import Path, SoqlError, located

# -- compilation -------------------------------------------------------------------------------------------

TEXT_TYPES = frozenset({"string", "picklist", "email", "textarea", "url", "phone"})
TYPE_NAMES = {
    "boolean": "boolean",
    "int": "integer",
    "datetime": "dateTime",
    "date": "date",
    "id": "id",
    "reference": "id",
}


@dataclass
class Frag:
    """A piece of SQL and its positional parameters, in textual order."""

    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass
class Join:
    relationship: str
    obj: schema.SObject
    alias: str
    frag: Frag


@dataclass
class Resolved:
    field: schema.Field
    column: str
    chain: list[Join]


@dataclass
class Ctx:
    soql: str
    features: frozenset[str]
    row_filters: dict[str, tuple[str, list]]
    api_version: str
    tooling: bool
    now: datetime
    counter: int = 0
    #: objects the querying user has no access to: answered as unknown types (orgsim.permissions)
    hidden: frozenset[str] = frozenset()

    def alias(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def error(self, code: str, token: Token, text: str) -> SoqlError:
        return SoqlError(code, located(self.soql, token.line, token.column, text))

    def row_filter(self, obj: schema.SObject, alias: str) -> Frag | None:
        """``row_filters[obj]`` qualified to ``alias``: its unqualified columns resolve inside a subquery
        over the same table, matched back by rowid."""
        entry = self.row_filters.get(obj.name)
        if entry is None:
            return None
        condition, params = entry
        return Frag(
            f'{alias}.rowid IN (SELECT rowid FROM "{obj.name}" WHERE ({condition}))', list(params)
        )

    def url(self, obj_name: str, record_id: str | None) -> str:
        api = "tooling/" if self.tooling else ""
        return f"/services/data/v{self.api_version}/{api}sobjects/{obj_name}/{record_id}"

    def attributes(self, obj_name: str, record_id: str | None) -> dict[str, str]:
        attrs = {"type": obj_name}
        if record_id is not None:
            attrs["url"] = self.url(obj_name, record_id)
        return attrs


class Scope:
    """One SQL SELECT: a root table and the LEFT JOINs its parent paths need."""

    def __init__(self, ctx: Ctx, obj: schema.SObject) -> None:
        self.ctx = ctx
        self.obj = obj
        self.alias = ctx.alias()
        self.joins: dict[tuple[str, ...], Join] = {}

    def resolve(self, path: Path, *, filtering: bool = False) -> Resolved:
        """Resolve a field path; raises ``INVALID_FIELD`` for an unknown relationship or field, and, with
        ``filtering`` (a WHERE condition), for a field that is not filterable ("field 'X' can not be
        filtered in query call": the wording is UNCERTAIN; facts §10.4 for SetupAuditTrail.Section)."""
        obj, alias, key, chain = self.obj, self.alias, (), []
        for part in path.parts[:-1]:
            ref = schema.relationship(obj, part, self.ctx.features)
            target = schema.OBJECTS.get(ref.reference_to[0]) if ref else None
            if ref is None or target is None:
                raise self.ctx.error(
                    "INVALID_FIELD",
                    path.token,
                    f"Didn't understand relationship '{part}' in field path. If you are attempting "
                    "to use a custom relationship, be sure to append the '__r' after the custom "
                    "relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.",
                )
            key = (*key, ref.relationship_name.lower())
            join = self._join(key, alias, ref, target)
            chain.append(join)
            obj, alias = target, join.alias
        last = path.parts[-1]
        found = schema.field(obj, last, self.ctx.features)
        if found is None:
            raise self.ctx.error(
                "INVALID_FIELD",
                path.token,
                f"No such column '{last}' on entity '{obj.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        if filtering and not found.filterable:
            raise self.ctx.error(
                "INVALID_FIELD",
                path.token,
                f"field '{found.name}' can not be filtered in query call",
            )
        return Resolved(found, f'{alias}."{found.name}"', chain)

    def _join(
        self, key: tuple[str, ...], alias: str, ref: schema.Field, target: schema.SObject
    ) -> Join:
        if key not in self.joins:
            new = self.ctx.alias()
            frag = Frag(f'LEFT JOIN "{target.name}" AS {new} ON {new}."Id" = {alias}."{ref.name}"')
            visible = self.ctx.row_filter(target, new)
            if visible is not None:
                frag = Frag(f"{frag.sql} AND {visible.sql}", visible.params)
            self.joins[key] = Join(ref.relationship_name or "", target, new, frag)
        return self.joins[key]

    def from_frag(self) -> Frag:
        parts = [Frag(f'FROM "{self.obj.name}" AS {self.alias}')]
        parts.extend(j.frag for j in self.joins.values())
        return concat(parts, " ")


def concat(frags: Iterable[Frag], sep: str) -> Frag:
    frags = list(frags)
    return Frag(sep.join(f.sql for f in frags), [p for f in frags for p in f.params])


def resolve_object(ctx: Ctx, token: Token) -> schema.SObject:
    obj = schema.get_object(str(token))
    served = (
        obj is not None
        and obj.queryable
        and (obj.tooling if ctx.tooling else obj.standard_api)
        and obj.name not in ctx.hidden
    )
    if not served:
        raise ctx.error("INVALID_TYPE", token, unsupported_object_message(str(token)))
    return obj


def unsupported_object_message(name: str) -> str:
    """SOQL's ``INVALID_TYPE`` text for an object the user cannot query or that does not exist."""
    return (
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )
