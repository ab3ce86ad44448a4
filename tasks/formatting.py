"""Text for the log and reports: tables, durations, Salesforce datetimes, token summaries."""

from collections.abc import Sequence
from datetime import datetime

from .errors import SixsenseOrgError


def format_table(title: str, rows: list[Sequence], max_width: int = 100) -> list[str]:
    """Plain table lines: title, header, rule, rows (cells ``str()``-ed; None is blank). When the table
    would be wider than ``max_width`` (cci's console wraps long log lines), each row becomes a block:
    the first cell, then ``header: value`` lines indented below it."""
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(cells[0]))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()

    if sum(widths) + 2 * (len(widths) - 1) <= max_width:
        return [title, line(cells[0]), "  ".join("-" * w for w in widths)] + [
            line(r) for r in cells[1:]
        ]
    out = [title]
    header = cells[0]
    for row in cells[1:]:
        out.append(f"- {row[0]}")
        out += [f"    {h}: {v}" for h, v in zip(header[1:], row[1:], strict=False)]
    return out


def parse_sf_datetime(value: str | None) -> datetime | None:
    """Parse ``2025-01-31T12:00:00.000+0000`` (REST) into an aware datetime; None stays None."""
    if not value:
        return None
    value = value.replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise SixsenseOrgError(f"Unexpected datetime from Salesforce: {value!r}")


def format_seconds(seconds: float) -> str:
    """``75`` -> ``01:15``; ``3725`` -> ``62:05`` (minutes:seconds)."""
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def summarize_tokens(tokens: list[dict]) -> list[tuple[str, str, int]]:
    """``[(username, app name, token count)]`` sorted, for warnings before disruptive steps."""
    counts: dict[tuple[str, str], int] = {}
    for t in tokens:
        key = ((t.get("User") or {}).get("Username") or t.get("UserId"), t.get("AppName"))
        counts[key] = counts.get(key, 0) + 1
    return sorted((u, a, n) for (u, a), n in counts.items())
