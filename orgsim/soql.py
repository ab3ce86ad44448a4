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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from orgsim import schema

CHUNK = 500
MAX_OFFSET = 2000

# -- errors ------------------------------------------------------------------------------------------------


class SoqlError(Exception):
    """A query Salesforce would reject: ``error_code`` (e.g. ``INVALID_FIELD``) and Salesforce's message.

    REST renders it as HTTP 400 ``[{"message": message, "errorCode": error_code}]``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def _located(soql: str, line: int, column: int, text: str) -> str:
    """Salesforce's positioned message: the query line, a caret, ``ERROR at Row:r:Column:c``, the text."""
    lines = soql.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else lines[-1]
    caret = " " * max(column - 1, 0) + "^"
    return f"\n{source}\n{caret}\nERROR at Row:{line}:Column:{column}\n{text}"


# -- grammar -----------------------------------------------------------------------------------------------

GRAMMAR = r"""
start: query

query: _SELECT select_list _FROM NAME where_clause? order_clause? limit_clause? offset_clause?

select_list: select_item ("," select_item)*
?select_item: path
            | "(" query ")"                   -> subquery
            | COUNT "(" [path] ")" [NAME]     -> aggregate

path: NAME ("." NAME)*

where_clause: _WHERE condition
?condition: not_cond
          | not_cond (_AND not_cond)+         -> and_
          | not_cond (_OR not_cond)+          -> or_
?not_cond: _NOT not_cond                      -> not_
         | "(" condition ")"
         | comparison
comparison: path OP value                     -> compare
          | path _LIKE value                  -> like
          | path _IN "(" value_list ")"       -> in_list
          | path _NOT _IN "(" value_list ")"  -> not_in_list
          | path _IN "(" query ")"            -> semi_join
          | path _NOT _IN "(" query ")"       -> anti_join
value_list: value ("," value)*
?value: STRING | NUMBER | DATETIME | DATE | TRUE | FALSE | NULL | DATE_LITERAL | DATE_N_LITERAL

order_clause: _ORDER _BY order_item ("," order_item)*
order_item: path [ASC | DESC] [_NULLS (FIRST | LAST)]
limit_clause: _LIMIT NUMBER
offset_clause: _OFFSET NUMBER

_SELECT.3: /select\b/i
_FROM.3: /from\b/i
_WHERE.3: /where\b/i
_AND.3: /and\b/i
_OR.3: /or\b/i
_NOT.3: /not\b/i
_IN.3: /in\b/i
_LIKE.3: /like\b/i
_ORDER.3: /order\b/i
_BY.3: /by\b/i
_LIMIT.3: /limit\b/i
_OFFSET.3: /offset\b/i
_NULLS.3: /nulls\b/i
ASC.3: /asc\b/i
DESC.3: /desc\b/i
FIRST.3: /first\b/i
LAST.3: /last\b/i
TRUE.3: /true\b/i
FALSE.3: /false\b/i
NULL.3: /null\b/i
COUNT.3: /count(?=\s*\()/i
DATE_N_LITERAL.4: /(last_n_days|next_n_days|n_days_ago)\s*:\s*\d+/i
DATE_LITERAL.3: /(today|yesterday|tomorrow)\b/i
DATETIME.5: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/
DATE.4: /\d{4}-\d{2}-\d{2}(?![\dT])/
NUMBER.2: /[+-]?\d+(\.\d+)?/
STRING: /'(\\.|[^'\\])*'/
OP: /!=|<>|<=|>=|=|<|>/
NAME: /[A-Za-z][A-Za-z0-9_]*/

%ignore /\s+/
"""


# -- the parsed query --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    parts: tuple[Token, ...]

    @property
    def token(self) -> Token:
        return self.parts[0]

    @property
    def text(self) -> str:
        return ".".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class Literal:
    token: Token

    @property
    def kind(self) -> str:
        return self.token.type


@dataclass(frozen=True)
class Aggregate:
    token: Token
    arg: Path | None
    alias: str | None


@dataclass(frozen=True)
class SubQuery:
    token: Token
    query: Query


@dataclass(frozen=True)
class OrderItem:
    path: Path
    desc: bool
    nulls: str | None


@dataclass(frozen=True)
class Query:
    items: tuple[Path | Aggregate | SubQuery, ...]
    obj: Token
    where: Any = None
    order: tuple[OrderItem, ...] = ()
    limit: Token | None = None
    offset: Token | None = None


@dataclass(frozen=True)
class BoolOp:
    op: str  # "AND" | "OR"
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE"
    value: Literal


@dataclass(frozen=True)
class InList:
    path: Path
    negate: bool
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class SemiJoin:
    path: Path
    negate: bool
    query: Query


@v_args(inline=True)
class _ToAst(Transformer):
    def start(self, query: Query) -> Query:
        return query

    def query(self, items, obj, *clauses) -> Query:
        parts: dict[str, Any] = {}
        for clause in clauses:
            if clause is not None:
                parts.update(clause)
        return Query(tuple(items), obj, **parts)

    def select_list(self, *items):
        return items

    def subquery(self, query: Query) -> SubQuery:
        return SubQuery(query.obj, query)

    def aggregate(self, count: Token, arg: Path | None, alias: Token | None) -> Aggregate:
        return Aggregate(count, arg, str(alias) if alias is not None else None)

    def path(self, *parts: Token) -> Path:
        return Path(parts)

    def where_clause(self, condition) -> dict:
        return {"where": condition}

    def and_(self, *items) -> BoolOp:
        return BoolOp("AND", items)

    def or_(self, *items) -> BoolOp:
        return BoolOp("OR", items)

    def not_(self, item) -> Not:
        return Not(item)

    def compare(self, path: Path, op: Token, value: Token) -> Compare:
        return Compare(path, "!=" if op == "<>" else str(op), Literal(value))

    def like(self, path: Path, value: Token) -> Compare:
        return Compare(path, "LIKE", Literal(value))

    def in_list(self, path: Path, values) -> InList:
        return InList(path, False, values)

    def not_in_list(self, path: Path, values) -> InList:
        return InList(path, True, values)

    def semi_join(self, path: Path, query: Query) -> SemiJoin:
        return SemiJoin(path, False, query)

    def anti_join(self, path: Path, query: Query) -> SemiJoin:
        return SemiJoin(path, True, query)

    def value_list(self, *values: Token) -> tuple[Literal, ...]:
        return tuple(Literal(v) for v in values)

    def order_clause(self, *items: OrderItem) -> dict:
        return {"order": items}

    def order_item(self, path: Path, direction: Token | None, nulls: Token | None) -> OrderItem:
        desc = direction is not None and direction.type == "DESC"
        return OrderItem(path, desc, nulls.type if nulls is not None else None)

    def limit_clause(self, number: Token) -> dict:
        return {"limit": number}

    def offset_clause(self, number: Token) -> dict:
        return {"offset": number}


_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False)


def parse(soql: str) -> Query:
    """Parse SOQL into a :class:`Query`. Raises ``SoqlError("MALFORMED_QUERY", ...)`` on a syntax error,
    with Salesforce's ``unexpected token: X`` message and position."""
    try:
        tree = _PARSER.parse(soql)
    except UnexpectedInput as exc:
        raise _syntax_error(soql, exc) from None
    return _ToAst().transform(tree)


def _syntax_error(soql: str, exc: UnexpectedInput) -> SoqlError:
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = soql.splitlines() or [""]
        line, column, text = len(lines), len(lines[-1]) + 1, "<EOF>"
    elif isinstance(exc, UnexpectedToken):
        line, column, text = exc.token.line, exc.token.column, str(exc.token)
    elif isinstance(exc, UnexpectedCharacters):
        line, column = exc.line, exc.column
        text = re.split(r"\s", soql[exc.pos_in_stream :], maxsplit=1)[0] or soql[exc.pos_in_stream]
    else:  # pragma: no cover - lark has no other UnexpectedInput subclasses
        line, column, text = 1, 1, str(exc)
    return SoqlError("MALFORMED_QUERY", _located(soql, line, column, f"unexpected token: {text}"))


# -- literals ----------------------------------------------------------------------------------------------

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


def unescape(literal: str, *, for_like: bool = False) -> str:
    """The value of a quoted SOQL string literal. ``\\%`` and ``\\_`` stay escaped when ``for_like``
    (SQLite's ``LIKE ... ESCAPE '\\'`` reads them). Raises ``SoqlError`` on an illegal escape."""
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "\\" and for_like:
            out.append("\\\\")  # stays escaped for LIKE ... ESCAPE '\\'
        elif nxt.lower() in _ESCAPES:
            out.append(_ESCAPES[nxt.lower()])
        elif nxt in "%_":
            out.append("\\" + nxt if for_like else nxt)
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 4
        else:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}' in string literal.",
            )
        i += 2
    return "".join(out)


def format_datetime(value: datetime) -> str:
    """A datetime in the stored form ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (UTC)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime_literal(text: str) -> str:
    """A SOQL dateTime literal (``2025-01-01T00:00:00Z``, ``...+01:00``, ``...-0800``, optional
    milliseconds) normalized to the stored UTC form."""
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,3}))?(Z|([+-])(\d{2}):?(\d{2}))", text
    )
    if match is None:
        raise ValueError(text)
    base = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    millis = int((match.group(2) or "0").ljust(3, "0"))
    offset = timedelta(0)
    if match.group(3) != "Z":
        offset = timedelta(hours=int(match.group(5)), minutes=int(match.group(6)))
        offset = -offset if match.group(4) == "-" else offset
    value = base.replace(microsecond=millis * 1000, tzinfo=timezone(offset))
    return format_datetime(value)


def relative_range(text: str, now: datetime) -> tuple[date, date]:
    """The UTC day range ``[first, after_last)`` of a relative date literal (SOQL "Date Formats and Date
    Literals"): TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n (today and the n days before), NEXT_N_DAYS:n
    (today and the n days after), N_DAYS_AGO:n (the single day n days ago)."""
    today = now.astimezone(UTC).date()
    name, _, n_text = text.replace(" ", "").upper().partition(":")
    one = timedelta(days=1)
    if name == "TODAY":
        return today, today + one
    if name == "YESTERDAY":
        return today - one, today
    if name == "TOMORROW":
        return today + one, today + 2 * one
    n = int(n_text)
    if name == "LAST_N_DAYS":
        return today - n * one, today + one
    if name == "NEXT_N_DAYS":
        return today, today + (n + 1) * one
    return today - n * one, today - (n - 1) * one  # N_DAYS_AGO


# -- results -----------------------------------------------------------------------------------------------


@dataclass
class QueryResult:
    """``records``: Salesforce-shaped dicts; ``total_size``: the REST ``totalSize`` (COUNT() puts the
    count here and returns no records)."""

    records: list[dict[str, Any]]
    total_size: int


# -- compilation -------------------------------------------------------------------------------------------

_TEXT_TYPES = frozenset({"string", "picklist", "email", "textarea", "url", "phone"})
_TYPE_NAMES = {
    "boolean": "boolean",
    "int": "integer",
    "datetime": "dateTime",
    "date": "date",
    "id": "id",
    "reference": "id",
}


@dataclass
class _Frag:
    """A piece of SQL and its positional parameters, in textual order."""

    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass
class _Join:
    relationship: str
    obj: schema.SObject
    alias: str
    frag: _Frag


@dataclass
class _Resolved:
    field: schema.Field
    column: str
    chain: list[_Join]


@dataclass
class _Ctx:
    soql: str
    features: frozenset[str]
    row_filters: dict[str, tuple[str, list]]
    api_version: str
    tooling: bool
    now: datetime
    counter: int = 0

    def alias(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def error(self, code: str, token: Token, text: str) -> SoqlError:
        return SoqlError(code, _located(self.soql, token.line, token.column, text))

    def row_filter(self, obj: schema.SObject, alias: str) -> _Frag | None:
        """``row_filters[obj]`` qualified to ``alias``: its unqualified columns resolve inside a subquery
        over the same table, matched back by rowid."""
        entry = self.row_filters.get(obj.name)
        if entry is None:
            return None
        condition, params = entry
        return _Frag(
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


class _Scope:
    """One SQL SELECT: a root table and the LEFT JOINs its parent paths need."""

    def __init__(self, ctx: _Ctx, obj: schema.SObject) -> None:
        self.ctx = ctx
        self.obj = obj
        self.alias = ctx.alias()
        self.joins: dict[tuple[str, ...], _Join] = {}

    def resolve(self, path: Path) -> _Resolved:
        """Resolve a field path; raises ``INVALID_FIELD`` for an unknown relationship or field."""
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
        return _Resolved(found, f'{alias}."{found.name}"', chain)

    def _join(
        self, key: tuple[str, ...], alias: str, ref: schema.Field, target: schema.SObject
    ) -> _Join:
        if key not in self.joins:
            new = self.ctx.alias()
            frag = _Frag(f'LEFT JOIN "{target.name}" AS {new} ON {new}."Id" = {alias}."{ref.name}"')
            visible = self.ctx.row_filter(target, new)
            if visible is not None:
                frag = _Frag(f"{frag.sql} AND {visible.sql}", visible.params)
            self.joins[key] = _Join(ref.relationship_name or "", target, new, frag)
        return self.joins[key]

    def from_frag(self) -> _Frag:
        parts = [_Frag(f'FROM "{self.obj.name}" AS {self.alias}')]
        parts.extend(j.frag for j in self.joins.values())
        return _concat(parts, " ")


def _concat(frags: Iterable[_Frag], sep: str) -> _Frag:
    frags = list(frags)
    return _Frag(sep.join(f.sql for f in frags), [p for f in frags for p in f.params])


def _resolve_object(ctx: _Ctx, token: Token) -> schema.SObject:
    obj = schema.get_object(str(token))
    served = (
        obj is not None and obj.queryable and (obj.tooling if ctx.tooling else obj.standard_api)
    )
    if not served:
        raise ctx.error(
            "INVALID_TYPE",
            token,
            f"sObject type '{token}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
            "describe call for the appropriate names.",
        )
    return obj


# -- WHERE ---------------------------------------------------------------------------------------------------


def _condition(scope: _Scope, cond: Any) -> _Frag:
    if isinstance(cond, BoolOp):
        return _concat((_wrap(_condition(scope, c)) for c in cond.items), f" {cond.op} ")
    if isinstance(cond, Not):
        inner = _condition(scope, cond.item)
        return _Frag(f"NOT IFNULL(({inner.sql}), 0)", inner.params)
    if isinstance(cond, Compare):
        return _compare(scope, cond)
    if isinstance(cond, InList):
        return _in_list(scope, cond)
    return _semi_join(scope, cond)


def _wrap(frag: _Frag) -> _Frag:
    return _Frag(f"({frag.sql})", frag.params)


def _type_error(ctx: _Ctx, path: Path, f: schema.Field) -> SoqlError:
    if f.type in _TEXT_TYPES:
        text = f"value of filter criterion for field '{f.name}' must be of type string and should be enclosed in quotes"
    elif f.type in schema.ID_TYPES:
        text = f"value of filter criterion for field '{f.name}' must be of type id and should be enclosed in quotes"
    else:
        kind = _TYPE_NAMES.get(f.type, f.type)
        text = f"value of filter criterion for field '{f.name}' must be of type {kind} and should not be enclosed in quotes"
    return ctx.error("INVALID_FIELD", path.token, text)


def _value(ctx: _Ctx, path: Path, f: schema.Field, lit: Literal, *, for_like: bool = False) -> Any:
    """The SQL parameter for ``lit`` compared with field ``f``; Salesforce's type rules apply."""
    kind, text = lit.kind, str(lit.token)
    if kind == "NULL":
        return None
    if f.type in _TEXT_TYPES and kind == "STRING":
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


def _relative_bounds(ctx: _Ctx, f: schema.Field, lit: Literal) -> tuple[str, str]:
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


def _compare(scope: _Scope, cond: Compare) -> _Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path)
    f, col = resolved.field, resolved.column
    if cond.value.kind in ("DATE_LITERAL", "DATE_N_LITERAL"):
        if f.type not in ("date", "datetime") or cond.op == "LIKE":
            raise _type_error(ctx, cond.path, f)
        first, after = _relative_bounds(ctx, f, cond.value)
        bounds = {"=": [first, after], "!=": [first, after], "<": [first], ">=": [first]}
        return _Frag(_RANGE_OPS[cond.op].format(c=col), bounds.get(cond.op, [after]))
    if cond.op == "LIKE":
        if f.type not in _TEXT_TYPES:
            raise ctx.error(
                "INVALID_FIELD", cond.path.token, f"invalid operator on {f.type} field: {f.name}"
            )
        if cond.value.kind != "STRING":
            raise _type_error(ctx, cond.path, f)
        return _Frag(
            f"{col} LIKE ? ESCAPE '\\'", [_value(ctx, cond.path, f, cond.value, for_like=True)]
        )
    value = _value(ctx, cond.path, f, cond.value)
    if value is None:
        sql = {"=": f"{col} IS NULL", "!=": f"{col} IS NOT NULL"}.get(cond.op, "0")
        return _Frag(sql)
    if cond.op == "!=":
        return _Frag(f"{col} IS NOT ?", [value])  # SOQL's != matches nulls too
    return _Frag(f"{col} {cond.op} ?", [value])


def _in_list(scope: _Scope, cond: InList) -> _Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path)
    col = resolved.column
    values = [_value(ctx, cond.path, resolved.field, lit) for lit in cond.values]
    present = [v for v in values if v is not None]
    marks = ", ".join("?" for _ in present)
    has_null = len(present) != len(values)
    if cond.negate:
        parts = [f"{col} NOT IN ({marks})"] if present else []
        parts.append(f"{col} IS NOT NULL" if has_null else f"{col} IS NULL")
        joiner = " AND " if has_null else " OR "
        return _Frag("(" + joiner.join(parts) + ")", present)
    parts = [f"{col} IN ({marks})"] if present else []
    if has_null:
        parts.append(f"{col} IS NULL")
    return _Frag("(" + " OR ".join(parts or ["0"]) + ")", present)


def _semi_join(scope: _Scope, cond: SemiJoin) -> _Frag:
    ctx, resolved = scope.ctx, scope.resolve(cond.path)
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
    inner = _Scope(ctx, _resolve_object(ctx, sub.obj))
    selected = inner.resolve(sub.items[0])
    where = _where(inner, sub.where, [_Frag(f"{selected.column} IS NOT NULL")])
    body = _concat([_Frag(f"SELECT {selected.column}"), inner.from_frag(), where], " ")
    op = "NOT IN" if cond.negate else "IN"
    if cond.negate:
        return _Frag(
            f"({resolved.column} IS NULL OR {resolved.column} {op} ({body.sql}))", body.params
        )
    return _Frag(f"{resolved.column} {op} ({body.sql})", body.params)


def _where(scope: _Scope, where: Any, extra: list[_Frag]) -> _Frag:
    """``WHERE`` with the row filter of the root object, ``extra`` conditions and the query's own."""
    conds = list(extra)
    visible = scope.ctx.row_filter(scope.obj, scope.alias)
    if visible is not None:
        conds.append(visible)
    if where is not None:
        conds.append(_condition(scope, where))
    if not conds:
        return _Frag("")
    return _Frag(
        "WHERE " + " AND ".join(f"({c.sql})" for c in conds), [p for c in conds for p in c.params]
    )


# -- SELECT, ORDER BY, LIMIT ---------------------------------------------------------------------------------


def _int_token(ctx: _Ctx, token: Token) -> int:
    if not re.fullmatch(r"\d+", str(token)):
        raise ctx.error("MALFORMED_QUERY", token, f"unexpected token: {token}")
    return int(str(token))


def _order_sql(scope: _Scope, order: tuple[OrderItem, ...]) -> str:
    terms = []
    for item in order:
        col = scope.resolve(item.path).column
        direction = " DESC" if item.desc else " ASC"
        nulls = f" NULLS {item.nulls}" if item.nulls else ""
        terms.append(f"{col}{direction}{nulls}")
    terms.append(f"{scope.alias}.rowid")
    return "ORDER BY " + ", ".join(terms)


def _limit_frag(ctx: _Ctx, query: Query) -> _Frag:
    limit = _int_token(ctx, query.limit) if query.limit is not None else None
    offset = _int_token(ctx, query.offset) if query.offset is not None else None
    if offset is not None and offset > MAX_OFFSET:
        raise SoqlError(
            "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    if limit is None and offset is None:
        return _Frag("")
    return _Frag("LIMIT ? OFFSET ?", [-1 if limit is None else limit, offset or 0])


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
    sql: _Frag
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
    if type_ == "complexvalue" and isinstance(value, str):
        return json.loads(
            value
        )  # a Tooling complex value (PackageInstallRequest.Errors), stored as JSON
    return value


def _plan_records(
    ctx: _Ctx,
    scope: _Scope,
    query: Query,
    *,
    nested: bool,
    extra: list[_Frag],
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
    sql = [_Frag(f"SELECT {', '.join(columns)}"), scope.from_frag(), where, _Frag(order)]
    plan = _Plan(scope.obj, _concat(sql, " "), len(lead), steps, children)
    if nested:
        plan.limit = _int_token(ctx, query.limit) if query.limit is not None else None
        plan.offset = _int_token(ctx, query.offset) if query.offset is not None else 0
    else:
        plan.sql = _concat([plan.sql, _limit_frag(ctx, query)], " ")
    return plan


def _child_relationship(
    ctx: _Ctx, parent: schema.SObject, item: SubQuery
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


def _render(ctx: _Ctx, plan: _Plan, row: tuple) -> dict[str, Any]:
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


def _run_plan(conn: sqlite3.Connection, ctx: _Ctx, plan: _Plan) -> list[dict[str, Any]]:
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
    ctx: _Ctx,
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
        scope = _Scope(ctx, child_obj)
        fk = f'{scope.alias}."{rel.field}"'
        marks = ", ".join("?" for _ in chunk)
        in_chunk = _Frag(f"{fk} IN ({marks})", chunk)
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


def _run_aggregate(conn: sqlite3.Connection, ctx: _Ctx, scope: _Scope, query: Query) -> QueryResult:
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
        inner = _concat([_Frag("SELECT 1"), scope.from_frag(), where, _limit_frag(ctx, query)], " ")
        (count,) = conn.execute(f"SELECT COUNT(*) FROM ({inner.sql})", inner.params).fetchone()
        return QueryResult([], count)
    columns = [f"COUNT({scope.resolve(a.arg).column})" for a in aggregates]
    where = _where(scope, query.where, [])
    sql = _concat([_Frag(f"SELECT {', '.join(columns)}"), scope.from_frag(), where], " ")
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
) -> QueryResult:
    """Run a SOQL query against the simulator's SQLite tables.

    ``features``: org features; fields gated on a missing feature do not exist (``INVALID_FIELD``).
    ``row_filters``: ``{object: (sql_condition, params)}``, a condition over that object's columns
    (unqualified) that hides rows wherever the object appears: main query, child subqueries, semi-joins,
    and parent paths (a hidden parent renders as ``None``). ``tooling``: resolve objects as the Tooling
    API does. ``now``: the clock for TODAY and LAST_N_DAYS:n (default: the current UTC time).

    Returns ``QueryResult(records, total_size)`` with records shaped like the REST API's
    (``attributes``, nested parent dicts, child subqueries as ``{"totalSize", "done", "records"}`` or
    ``None``). Raises :class:`SoqlError` with Salesforce's error codes and messages.
    """
    query = parse(soql)
    ctx = _Ctx(
        soql=soql,
        features=frozenset(features),
        row_filters=row_filters or {},
        api_version=api_version,
        tooling=tooling,
        now=now or datetime.now(UTC),
    )
    scope = _Scope(ctx, _resolve_object(ctx, query.obj))
    if any(isinstance(i, Aggregate) for i in query.items):
        return _run_aggregate(conn, ctx, scope, query)
    plan = _plan_records(ctx, scope, query, nested=False, extra=[])
    records = _run_plan(conn, ctx, plan)
    return QueryResult(records, len(records))
