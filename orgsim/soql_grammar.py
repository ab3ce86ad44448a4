"""SOQL parsing: the lark grammar, the parsed query (``Query`` and its parts), SOQL errors with Salesforce's
codes and positions, and literal handling (string escapes, date and datetime literals, relative dates).
The compilation to SQL is ``soql.py``, which re-exports what callers use from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

# -- errors ------------------------------------------------------------------------------------------------


class SoqlError(Exception):
    """A query Salesforce would reject: ``error_code`` (e.g. ``INVALID_FIELD``) and Salesforce's message.

    REST renders it as HTTP 400 ``[{"message": message, "errorCode": error_code}]``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def located(soql: str, line: int, column: int, text: str) -> str:
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
    return SoqlError("MALFORMED_QUERY", located(soql, line, column, f"unexpected token: {text}"))


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
