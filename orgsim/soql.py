"""SOQL: a lark grammar, compiled to one SQLite statement over the tables of ``schema`` (architecture §1.1).

``execute(conn, soql, features=...)`` parses the query, resolves every name against ``schema`` (object and
field names are case-insensitive, as in Salesforce; output keys use the canonical API names), compiles it to
SQL with LEFT JOINs for parent paths and bound parameters for every literal, runs it, and renders the rows in
the REST API's query shape. Child subqueries cost one extra SQL statement each (``WHERE fk IN (...)``).

Followed: SOQL and SOSL Reference (SELECT, WHERE, comparison operators, date formats and date literals,
relationship queries, semi-joins and anti-joins, COUNT(), ORDER BY, LIMIT, OFFSET) and the REST API query
response. Errors carry Salesforce's codes and message shapes (``MALFORMED_QUERY``, ``INVALID_TYPE``,
``INVALID_FIELD``, ``INVALID_QUERY_FILTER_OPERATOR``, ``NUMBER_OUTSIDE_VALID_RANGE``).

Not supported (rejected as ``MALFORMED_QUERY``): GROUP BY, HAVING, aggregates other than COUNT, TYPEOF,
USING SCOPE, WITH, FOR VIEW/UPDATE, table aliases, INCLUDES/EXCLUDES, date literals other than
TODAY/YESTERDAY/TOMORROW/LAST_N_DAYS:n/NEXT_N_DAYS:n/N_DAYS_AGO:n, and subqueries nested in subqueries.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lark import Token

from orgsim import schema
from orgsim.soql_grammar import (
    Aggregate,
    BoolOp,
    Compare,
    InList,
    Literal,
    Not,
    OrderItem,
    Path,
    Query,
    QueryResult,
    SemiJoin,
    SoqlError,
    SubQuery,
    format_datetime,
    parse,
    parse_datetime_literal,
    relative_range,
    unescape,
)
from orgsim.soql_scope import (
    TEXT_TYPES,
    TYPE_NAMES,
    Ctx,
    Frag,
    Scope,
    concat,
    resolve_object,
)

__all__ = [
    "BoolOp",
    "Compare",
    "InList",
    "QueryResult",
    "SoqlError",
    "columns",
    "execute",
    "parse",
    "unescape",
]

CHUNK = 500
MAX_OFFSET = 2000

# -- WHERE ---------------------------------------------------------------------------------------------------


def _condition(scope: Scope, cond: Any) -> Frag:
    if isinstance(cond, BoolOp):
        return concat((_wrap(_condition(scope, c)) for c in cond.items), f" {cond.op} ")
    if isinstance(cond, Not):
        inner = _condition(scope, cond.item)
        return Frag(f"NOT IFNULL(({inner.sql}), 0)", inner.params)
    if isinstance(cond, Compare):
        return _compare(scope, cond)
    if isinstance(cond, InList):
        return _in_list(scope, cond)
    return _semi_join(scope, cond)


def _wrap(frag: Frag) -> Frag:
    return Frag(f"({frag.sql})", frag.params)


def _type_error(ctx: Ctx, path: Path, f: schema.Field) -> SoqlError:
    if f.type in TEXT_TYPES:
        text = f"value of filter criterion for field '{f.name}' must be of type string and should be enclosed in quotes"
    elif f.type in schema.ID_TYPES:
        text = f"value of filter criterion for field '{f.name}' must be of type id and should be enclosed in quotes"
    else:
        kind = TYPE_NAMES.get(f.type, f.type)
        text = f"value of filter criterion for field '{f.name}' must be of type {kind} and should not be enclosed in quotes"
    return ctx.error("INVALID_FIELD", path.token, text)


def _value(ctx: Ctx, path: Path, f: schema.Field, lit: Literal, *, for_like: bool = False) -> Any:
    """The SQL parameter for ``lit`` compared with field ``f``; Salesforce's type rules apply."""
    kind, text = lit.kind, str(lit.token)
    if kind == "NULL":
        return None
    if f.type in TEXT_TYPES and kind == "STRING":
        return unescape(text, for_like=for_like)
    if f.type in schema.ID_TYPES and kind == "STRING":
        value = unescape(text)
        if not schema.is_valid_id(value):
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
        return _canonical_id(value)
    if f.type == "boolean" and kind in ("TRUE", "FALSE"):
        return 1 if kind == "TRUE" else 0
    if f.type == "int" and kind == "NUMBER" and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if f.type == "datetime" and kind == "DATETIME":
        return parse_datetime_literal(text)
    if f.type == "date" and kind == "DATE":
        return text
    raise _type_error(ctx, path, f)


def _canonical_id(value: str) -> str:
    """15-char ids gain their suffix; an 18-char id whose suffix matches its checksum in any case gets
    the canonical suffix (Salesforce treats 18-char ids case-insensitively); anything else is kept."""
    canonical = schema.to_18(value[:15])
    return canonical if canonical.lower() == value.lower() or len(value) == 15 else value


def _relative_bounds(ctx: Ctx, f: schema.Field, lit: Literal) -> tuple[str, str]:
    first, after = relative_range(str(lit.token), ctx.now)
    if f.type == "date":
        return first.isoformat(), after.isoformat()
    as_dt = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (first, after)]
    return format_datetime(as_dt[0]), format_datetime(as_dt[1])


_RANGE_OPS = {
    "=": "({c} >= ? AND {c} < ?)",
    "!=": "({c} IS NULL OR {c} < ? OR {c} >= ?)",
    "<": "{c} < ?",
    "<=": "{c} < ?",
    ">": "{c} >= ?",
    ">=": "{c} >= ?",
}


def _compare(scope: Scope, cond: Compare) -> Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path, filtering=True)
    f, col = resolved.field, resolved.column
    if cond.value.kind in ("DATE_LITERAL", "DATE_N_LITERAL"):
        if f.type not in ("date", "datetime") or cond.op == "LIKE":
            raise _type_error(ctx, cond.path, f)
        first, after = _relative_bounds(ctx, f, cond.value)
        bounds = {"=": [first, after], "!=": [first, after], "<": [first], ">=": [first]}
        return Frag(_RANGE_OPS[cond.op].format(c=col), bounds.get(cond.op, [after]))
    if cond.op == "LIKE":
        if f.type not in TEXT_TYPES:
            raise ctx.error(
                "INVALID_FIELD", cond.path.token, f"invalid operator on {f.type} field: {f.name}"
            )
        if cond.value.kind != "STRING":
            raise _type_error(ctx, cond.path, f)
        return Frag(
            f"{col} LIKE ? ESCAPE '\\'", [_value(ctx, cond.path, f, cond.value, for_like=True)]
        )
    value = _value(ctx, cond.path, f, cond.value)
    if value is None:
        sql = {"=": f"{col} IS NULL", "!=": f"{col} IS NOT NULL"}.get(cond.op, "0")
        return Frag(sql)
    if cond.op == "!=":
        return Frag(f"{col} IS NOT ?", [value])  # SOQL's != matches nulls too
    return Frag(f"{col} {cond.op} ?", [value])


def _in_list(scope: Scope, cond: InList) -> Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path, filtering=True)
    col = resolved.column
    values = [_value(ctx, cond.path, resolved.field, lit) for lit in cond.values]
    present = [v for v in values if v is not None]
    marks = ", ".join("?" for _ in present)
    has_null = len(present) != len(values)
    if cond.negate:
        parts = [f"{col} NOT IN ({marks})"] if present else []
        parts.append(f"{col} IS NOT NULL" if has_null else f"{col} IS NULL")
        joiner = " AND " if has_null else " OR "
        return Frag("(" + joiner.join(parts) + ")", present)
    parts = [f"{col} IN ({marks})"] if present else []
    if has_null:
        parts.append(f"{col} IS NULL")
    return Frag("(" + " OR ".join(parts or ["0"]) + ")", present)


def _semi_join(scope: Scope, cond: SemiJoin) -> Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path, filtering=True)
    sub = cond.query
    if (
        len(sub.items) != 1
        or not isinstance(sub.items[0], Path)
        or sub.order
        or sub.limit
        or sub.offset
    ):
        raise ctx.error(
            "MALFORMED_QUERY",
            sub.obj,
            "semi join sub-selects can only select one field and cannot use ORDER BY, LIMIT or OFFSET",
        )
    inner = Scope(ctx, resolve_object(ctx, sub.obj))
    selected = inner.resolve(sub.items[0])
    where = _where(inner, sub.where, [Frag(f"{selected.column} IS NOT NULL")])
    body = concat([Frag(f"SELECT {selected.column}"), inner.from_frag(), where], " ")
    op = "NOT IN" if cond.negate else "IN"
    if cond.negate:
        return Frag(
            f"({resolved.column} IS NULL OR {resolved.column} {op} ({body.sql}))", body.params
        )
    return Frag(f"{resolved.column} {op} ({body.sql})", body.params)


def _where(scope: Scope, where: Any, extra: list[Frag]) -> Frag:
    """``WHERE`` with the row filter of the root object, ``extra`` conditions and the query's own."""
    conds = list(extra)
    visible = scope.ctx.row_filter(scope.obj, scope.alias)
    if visible is not None:
        conds.append(visible)
    if where is not None:
        conds.append(_condition(scope, where))
    if not conds:
        return Frag("")
    return Frag(
        "WHERE " + " AND ".join(f"({c.sql})" for c in conds), [p for c in conds for p in c.params]
    )


# -- SELECT, ORDER BY, LIMIT ---------------------------------------------------------------------------------


def _int_token(ctx: Ctx, token: Token) -> int:
    if not re.fullmatch(r"\d+", str(token)):
        raise ctx.error("MALFORMED_QUERY", token, f"unexpected token: {token}")
    return int(str(token))


def _order_sql(scope: Scope, order: tuple[OrderItem, ...]) -> str:
    terms = []
    for item in order:
        col = scope.resolve(item.path).column
        direction = " DESC" if item.desc else " ASC"
        nulls = f" NULLS {item.nulls}" if item.nulls else ""
        terms.append(f"{col}{direction}{nulls}")
    terms.append(f"{scope.alias}.rowid")
    return "ORDER BY " + ", ".join(terms)


def _limit_frag(ctx: Ctx, query: Query) -> Frag:
    limit = _int_token(ctx, query.limit) if query.limit is not None else None
    offset = _int_token(ctx, query.offset) if query.offset is not None else None
    if offset is not None and offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    if limit is None and offset is None:
        return Frag("")
    return Frag("LIMIT ? OFFSET ?", [-1 if limit is None else limit, offset or 0])


@dataclass
class _FieldStep:
    chain: list[tuple[str, str, int]]  # (relationship, object, index of its Id column)
    name: str
    type: str
    index: int


@dataclass
class _Plan:
    """A compiled record query: SQL, and how to turn each row into a Salesforce record."""

    obj: schema.SObject
    sql: Frag
    id_index: int
    fields: list[_FieldStep]
    children: list[tuple[str, Query, schema.ChildRelationship]]
    limit: int | None = None
    offset: int = 0


def _convert(type_: str, value: Any) -> Any:
    if value is None:
        return None
    if type_ == "boolean":
        return bool(value)
    if type_ == "int":
        return int(value)
    if type_ in ("complexvalue", "address") and isinstance(value, str):
        return json.loads(
            value
        )  # PackageInstallRequest.Errors, Organization.Address: stored as JSON
    return float(value) if type_ == "double" else value


def _plan_records(
    ctx: Ctx,
    scope: Scope,
    query: Query,
    *,
    nested: bool,
    extra: list[Frag],
    lead: tuple[str, ...] = (),
) -> _Plan:
    """Compile a record-returning SELECT (main query or child subquery) into a :class:`_Plan`.

    ``lead`` columns come first in each row (a child subquery's foreign key), then the record's Id."""
    columns = [*lead, f'{scope.alias}."Id"']
    steps: list[_FieldStep] = []
    children: list[tuple[str, Query, schema.ChildRelationship]] = []
    seen: set[str] = set()
    join_ids: dict[str, int] = {}
    for item in query.items:
        if isinstance(item, SubQuery):
            if nested:
                raise ctx.error("MALFORMED_QUERY", item.token, "unexpected token: (")
            children.append(_child_relationship(ctx, scope.obj, item))
            continue
        if isinstance(item, Aggregate):
            raise ctx.error(
                "MALFORMED_QUERY", item.token, "Field must be grouped or aggregated: COUNT"
            )
        resolved = scope.resolve(item)
        canonical = ".".join([j.relationship for j in resolved.chain] + [resolved.field.name])
        if canonical.lower() in seen:
            raise ctx.error("MALFORMED_QUERY", item.token, f"duplicate field selected: {canonical}")
        seen.add(canonical.lower())
        chain = []
        for join in resolved.chain:
            if join.alias not in join_ids:
                join_ids[join.alias] = len(columns)
                columns.append(f'{join.alias}."Id"')
            chain.append((join.relationship, join.obj.name, join_ids[join.alias]))
        steps.append(_FieldStep(chain, resolved.field.name, resolved.field.type, len(columns)))
        columns.append(resolved.column)
    where = _where(scope, query.where, extra)
    order = _order_sql(scope, query.order)
    sql = [Frag(f"SELECT {', '.join(columns)}"), scope.from_frag(), where, Frag(order)]
    plan = _Plan(scope.obj, concat(sql, " "), len(lead), steps, children)
    if nested:
        plan.limit = _int_token(ctx, query.limit) if query.limit is not None else None
        plan.offset = _int_token(ctx, query.offset) if query.offset is not None else 0
    else:
        plan.sql = concat([plan.sql, _limit_frag(ctx, query)], " ")
    return plan


def _child_relationship(
    ctx: Ctx, parent: schema.SObject, item: SubQuery
) -> tuple[str, Query, schema.ChildRelationship]:
    rel = schema.child_relationship(parent, str(item.query.obj))
    if rel is None:
        raise ctx.error(
            "INVALID_TYPE",
            item.query.obj,
            f"Didn't understand relationship '{item.query.obj}' in FROM part of query call. If you "
            "are attempting to use a custom relationship, be sure to append the '__r' after the "
            "custom relationship name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
        )
    return rel.relationship_name, item.query, rel


def _render(ctx: Ctx, plan: _Plan, row: tuple) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": ctx.attributes(plan.obj.name, row[plan.id_index])}
    for step in plan.fields:
        container: dict[str, Any] | None = record
        for relationship, obj_name, id_index in step.chain:
            if relationship not in container:
                parent_id = row[id_index]
                container[relationship] = (
                    None
                    if parent_id is None
                    else {"attributes": ctx.attributes(obj_name, parent_id)}
                )
            container = container[relationship]
            if container is None:
                break
        else:
            container[step.name] = _convert(step.type, row[step.index])
    return record


def _run_plan(conn: sqlite3.Connection, ctx: Ctx, plan: _Plan) -> list[dict[str, Any]]:
    rows = conn.execute(plan.sql.sql, plan.sql.params).fetchall()
    records = [_render(ctx, plan, row) for row in rows]
    for name, query, rel in plan.children:
        ids = [row[plan.id_index] for row in rows if row[plan.id_index] is not None]
        groups = _run_children(conn, ctx, query, rel, ids)
        for row, record in zip(rows, records, strict=True):
            found = groups.get(row[plan.id_index]) if row[plan.id_index] is not None else None
            record[name] = (
                {"totalSize": len(found), "done": True, "records": found} if found else None
            )
    return records


def _run_children(
    conn: sqlite3.Connection,
    ctx: Ctx,
    query: Query,
    rel: schema.ChildRelationship,
    parent_ids: list[str],
) -> dict[str, list[dict[str, Any]]]:
    """One SQL query per chunk of ``CHUNK`` parent ids; returns child records grouped by parent id, with
    the subquery's ORDER BY, LIMIT and OFFSET applied per parent."""
    groups: dict[str, list[dict[str, Any]]] = {}
    child_obj = schema.OBJECTS[rel.child_sobject]
    for start in range(0, len(parent_ids), CHUNK):
        chunk = parent_ids[start : start + CHUNK]
        scope = Scope(ctx, child_obj)
        fk = f'{scope.alias}."{rel.field}"'
        marks = ", ".join("?" for _ in chunk)
        in_chunk = Frag(f"{fk} IN ({marks})", chunk)
        plan = _plan_records(ctx, scope, query, nested=True, extra=[in_chunk], lead=(fk,))
        for row in conn.execute(plan.sql.sql, plan.sql.params):
            groups.setdefault(row[0], []).append(_render(ctx, plan, row))
    if query.limit is not None or query.offset is not None:
        limit = _int_token(ctx, query.limit) if query.limit is not None else None
        offset = _int_token(ctx, query.offset) if query.offset is not None else 0
        end = None if limit is None else offset + limit
        groups = {k: v[offset:end] for k, v in groups.items()}
    return groups


# -- COUNT -------------------------------------------------------------------------------------------------


def _run_aggregate(conn: sqlite3.Connection, ctx: Ctx, scope: Scope, query: Query) -> QueryResult:
    """``COUNT()`` (records ``[]``, ``total_size`` = the count, LIMIT caps it) or ``COUNT(field)``
    (one ``AggregateResult`` record with ``expr0``, ``expr1``... or the given aliases)."""
    if not all(isinstance(i, Aggregate) for i in query.items):
        bad = next(i for i in query.items if not isinstance(i, Aggregate))
        token = bad.token
        name = bad.text if isinstance(bad, Path) else "("
        raise ctx.error("MALFORMED_QUERY", token, f"Field must be grouped or aggregated: {name}")
    aggregates: list[Aggregate] = list(query.items)
    if any(a.arg is None for a in aggregates):
        if len(aggregates) > 1:
            raise ctx.error("MALFORMED_QUERY", aggregates[1].token, "unexpected token: COUNT")
        where = _where(scope, query.where, [])
        inner = concat([Frag("SELECT 1"), scope.from_frag(), where, _limit_frag(ctx, query)], " ")
        (count,) = conn.execute(f"SELECT COUNT(*) FROM ({inner.sql})", inner.params).fetchone()
        return QueryResult([], count)
    columns = [f"COUNT({scope.resolve(a.arg).column})" for a in aggregates]
    where = _where(scope, query.where, [])
    sql = concat([Frag(f"SELECT {', '.join(columns)}"), scope.from_frag(), where], " ")
    row = conn.execute(sql.sql, sql.params).fetchone()
    record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    for i, (agg, value) in enumerate(zip(aggregates, row, strict=True)):
        record[agg.alias or f"expr{i}"] = value
    return QueryResult([record], 1)


# -- entry point -------------------------------------------------------------------------------------------


def execute(
    conn: sqlite3.Connection,
    soql: str,
    *,
    features: Iterable[str] = frozenset(),
    row_filters: dict[str, tuple[str, list]] | None = None,
    api_version: str = "65.0",
    tooling: bool = False,
    now: datetime | None = None,
    hidden: Iterable[str] = frozenset(),
) -> QueryResult:
    """Run a SOQL query against the simulator's SQLite tables.

    ``features``: org features; fields gated on a missing feature do not exist (``INVALID_FIELD``).
    ``row_filters``: ``{object: (sql_condition, params)}``, a condition over that object's columns
    (unqualified) that hides rows wherever the object appears: main query, child subqueries, semi-joins,
    and parent paths (a hidden parent renders as ``None``). ``tooling``: resolve objects as the Tooling
    API does. ``now``: the clock for TODAY and LAST_N_DAYS:n (default: the current UTC time). ``hidden``:
    object names the querying user has no access to, answered ``INVALID_TYPE`` like unknown objects.

    Returns ``QueryResult(records, total_size)`` with records shaped like the REST API's
    (``attributes``, nested parent dicts, child subqueries as ``{"totalSize", "done", "records"}`` or
    ``None``). Raises :class:`SoqlError` with Salesforce's error codes and messages.
    """
    query = parse(soql)
    ctx = Ctx(
        soql=soql,
        features=frozenset(features),
        row_filters=row_filters or {},
        api_version=api_version,
        tooling=tooling,
        now=now or datetime.now(UTC),
        hidden=frozenset(hidden),
    )
    scope = Scope(ctx, resolve_object(ctx, query.obj))
    if any(isinstance(i, Aggregate) for i in query.items):
        return _run_aggregate(conn, ctx, scope, query)
    plan = _plan_records(ctx, scope, query, nested=False, extra=[])
    records = _run_plan(conn, ctx, plan)
    return QueryResult(records, len(records))


# -- column metadata (``query?q=...&columns=true``) ----------------------------------------------------------

#: describe type -> the column's ``apexType``.
_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "double": "Double",
    "datetime": "Datetime",
    "date": "Date",
    "complexvalue": "Object",
}


def _column(name: str, display: str, f: schema.Field | None, **extra: Any) -> dict[str, Any]:
    kind = f.type if f is not None else None  # QueryResultColumnMetadata: 12 keys (tooling.d.ts)
    return {
        "aggregate": False,
        "apexType": (_APEX_TYPES.get(kind, "String") if kind else None),
        "booleanType": kind == "boolean",
        "columnName": name,
        "custom": False,
        "displayName": display,
        "foreignKeyName": None,
        "insertable": bool(f and f.createable),
        "joinColumns": [],
        "numberType": kind in ("int", "double"),
        "textType": kind in TEXT_TYPES,
        "updatable": bool(f and f.updateable),
        **extra,
    }


def _path_column(obj: schema.SObject, parts: tuple, features: frozenset[str]) -> dict[str, Any]:
    if len(parts) == 1:
        f = schema.field(obj, str(parts[0]), features)
        name = f.name if f else str(parts[0])
        return _column(name, name, f)
    ref = schema.relationship(obj, str(parts[0]), features)
    name = (ref.relationship_name if ref else None) or str(parts[0])
    target = schema.OBJECTS.get(ref.reference_to[0]) if ref and ref.reference_to else None
    inner = _path_column(target, parts[1:], features) if target else None
    return _column(name, name, None, joinColumns=[inner] if inner else [])


def _query_columns(obj: schema.SObject, query: Query, features: frozenset[str]) -> list[dict]:
    columns = []
    for i, item in enumerate(query.items):
        if isinstance(item, Path):
            columns.append(_path_column(obj, item.parts, features))
        elif isinstance(item, Aggregate):
            if item.arg is None:  # COUNT(): no column
                continue
            display = f"COUNT({item.arg.text})"
            col = _column(item.alias or f"expr{i}", display, None, aggregate=True)
            columns.append({**col, "apexType": "Integer", "numberType": True})
        else:
            rel = schema.child_relationship(obj, str(item.query.obj))
            child = schema.OBJECTS.get(rel.child_sobject) if rel else None
            name = rel.relationship_name if rel else str(item.query.obj)
            joins = _query_columns(child, item.query, features) if child else []
            columns.append(_column(name, name, None, aggregate=True, joinColumns=joins))
    return columns


def columns(soql: str, *, features: Iterable[str] = frozenset()) -> dict[str, Any]:
    """``GET .../query?q=<soql>&columns=true``: ``{"columnMetadata", "entityName", "groupBy", "idSelected",
    "keyPrefix"}`` (``QueryResultMetadata`` of ``@salesforce/types`` tooling.d.ts; the sf CLI's ``data query``
    reads it). A parent path is a column with ``joinColumns``; a child subquery an ``aggregate`` column
    joining the subquery's; ``COUNT(f)`` an ``aggregate`` column ``alias``/``exprN``, displayed ``COUNT(f)``.
    Names are looked up, not checked: run :func:`execute` first."""
    query = parse(soql)
    features = frozenset(features)
    obj = schema.get_object(str(query.obj))
    if obj is None:
        raise SoqlError("INVALID_TYPE", f"sObject type '{query.obj}' is not supported.")
    return {
        "columnMetadata": _query_columns(obj, query, features),
        "entityName": obj.name,
        "groupBy": False,
        "idSelected": any(
            isinstance(i, Path) and len(i.parts) == 1 and str(i.parts[0]).lower() == "id"
            for i in query.items
        ),
        "keyPrefix": obj.key_prefix,
    }
