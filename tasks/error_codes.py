"""The 6sense error catalogue (``tasks/error_codes.yml``) and the matching of what a user pasted against it.

The data lives in one YAML file (field-cases.md Appendix "error -> likely cause -> action", salesforce-facts.md
§7.3); this module loads it and finds the entry for an error code, a browser URL or pasted text. Pure
functions, no org access, so any task (and MetaDeploy checks) can use them::

    from .error_codes import parse_error_input, match
    parsed = parse_error_input("https://x.my.salesforce.com/setup/secur/RemoteAccessErrorPage.apexp"
                               "?error=invalid_client&error_description=app+must+be+installed+into+org")
    entry = match(parsed)          # -> ErrorEntry(code="OAUTH_APPROVAL_ERROR_GENERIC", ...) or None
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlparse

import yaml

from . import procedure
from .vendor import VENDOR

CATALOGUE_PATH = Path(__file__).with_name("error_codes.yml")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CODE_RE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[a-z]+_[a-z_]+\b")


@dataclass(frozen=True)
class ErrorEntry:
    """One catalogue row. ``fix`` is a list of steps; ``tailor`` names the org-state check troubleshoot adds."""

    code: str
    title: str
    cause: str
    fix: tuple[str, ...]
    codes: tuple[str, ...] = ()
    shared_codes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    tailor: str = "none"
    cases: tuple[str, ...] = ()
    source: str = ""

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "cause": self.cause,
            "fix": list(self.fix),
            "codes": list(self.codes),
            "patterns": list(self.patterns),
            "tailor": self.tailor,
            "cases": list(self.cases),
            "source": self.source,
        }


@dataclass
class ParsedError:
    """What the user gave, split up: ``error`` (the code or the ``error``/``error_code`` URL parameter),
    ``description`` (``error_description``), ``url`` (when a URL was given), ``text`` (everything, decoded,
    for pattern search), ``words`` (identifier-like words of the input, for exact code matches)."""

    raw: str
    error: str | None = None
    description: str | None = None
    url: str | None = None
    text: str = ""
    words: set[str] = field(default_factory=set)


def _tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@lru_cache(maxsize=4)
def _text(text: str) -> str:
    """A catalogue text with ``{vendor}`` (the vendor's label) and ``{step:<key>}`` (a step's name from the
    procedure table) filled in."""
    return procedure.render(str(text).replace("{vendor}", VENDOR.label))


def catalogue(path: str | None = None) -> tuple[ErrorEntry, ...]:
    """All entries of the catalogue, in file order. Raises ``ValueError`` on a malformed file (missing
    ``code``/``cause``/``fix``, duplicate codes, or a pattern that is not a valid regular expression)."""
    data = yaml.safe_load(Path(path or CATALOGUE_PATH).read_text(encoding="utf-8")) or {}
    entries = []
    seen = set()
    for i, raw in enumerate(data.get("entries") or []):
        for key in ("code", "title", "cause", "fix"):
            if not raw.get(key):
                raise ValueError(f"error_codes.yml entry {i}: missing {key}")
        if raw["code"].lower() in seen:
            raise ValueError(f"error_codes.yml: duplicate code {raw['code']}")
        seen.add(raw["code"].lower())
        for pattern in _tuple(raw.get("patterns")):
            re.compile(pattern)
        entries.append(
            ErrorEntry(
                code=raw["code"],
                title=_text(raw["title"]),
                cause=_text(" ".join(str(raw["cause"]).split())),
                fix=tuple(_text(f) for f in _tuple(raw["fix"])),
                codes=_tuple(raw.get("codes")),
                shared_codes=_tuple(raw.get("shared_codes")),
                patterns=_tuple(raw.get("patterns")),
                tailor=raw.get("tailor") or "none",
                cases=_tuple(raw.get("cases")),
                source=_text(raw.get("source") or ""),
            )
        )
    return tuple(entries)


def get(code: str) -> ErrorEntry | None:
    """The entry whose ``code`` (or one of its ``codes``) equals ``code``, case-insensitive."""
    wanted = (code or "").strip().lower()
    for entry in catalogue():
        if wanted == entry.code.lower() or wanted in (c.lower() for c in entry.codes):
            return entry
    return None


def parse_error_input(value: str) -> ParsedError:
    """Split an error code, a pasted browser URL or free text.

    - URL (``http(s)://...?error=...&error_description=...``, also ``error_code=`` of
      ``AppInstallErrorPage.apexp``): the query parameters, ``+`` and ``%xx`` decoded.
    - ``error=X&error_description=Y`` without a host: parsed the same way.
    - A single word: that is the code.
    - Free text: ``error`` is the first known catalogue code found in it, else the first identifier that looks
      like an error code (``UPPER_SNAKE`` or ``lower_snake``), else None.
    """
    raw = (value or "").strip()
    parsed = ParsedError(raw=raw)
    url_match = re.search(r"https?://\S+", raw)
    query = None
    if url_match:
        parsed.url = url_match.group(0).rstrip(").,;'\"")
        query = urlparse(parsed.url).query
    elif re.search(r"(^|[?&\s])(error|error_code|error_description)=", raw):
        query = raw[raw.index("?") + 1 :] if "?" in raw else raw
    if query is not None:
        params = parse_qs(query.strip(), keep_blank_values=True)
        parsed.error = (params.get("error") or params.get("error_code") or [None])[0]
        parsed.description = (params.get("error_description") or [None])[0]
    decoded = unquote_plus(raw) if (parsed.url or query is not None) else raw
    parsed.text = " ".join(
        p for p in (decoded, parsed.error or "", parsed.description or "") if p
    ).strip()
    parsed.words = {w.lower() for w in _WORD_RE.findall(parsed.text)}
    if not parsed.error:
        known = {c.lower(): c for e in catalogue() for c in (e.code, *e.codes)}
        single = _WORD_RE.fullmatch(raw)
        if single:
            parsed.error = raw
        else:
            found = [w for w in _WORD_RE.findall(parsed.text) if w.lower() in known]
            if found:
                parsed.error = found[0]
            else:
                looks = _CODE_RE.findall(parsed.text)
                parsed.error = looks[0] if looks else None
    return parsed


def score(entry: ErrorEntry, parsed: ParsedError) -> int:
    """0 when the entry does not apply. Otherwise: 2 for a pattern found in the text, +1 for an identifying
    or shared code among the words; an entry applies only with an identifying code, its own code as the
    error, or a pattern (a shared code alone, like ``invalid_grant``, is not enough for a specific entry)."""
    words = parsed.words
    error = (parsed.error or "").lower()
    own = {entry.code.lower(), *(c.lower() for c in entry.codes)}
    identifying = bool(own & words) or error in own
    pattern = any(re.search(p, parsed.text, re.I) for p in entry.patterns)
    if not (identifying or pattern):
        return 0
    shared = any(c.lower() in words or c.lower() == error for c in entry.shared_codes)
    return 2 * pattern + int(identifying or shared)


def match(parsed: ParsedError | str) -> ErrorEntry | None:
    """The best catalogue entry for ``parsed`` (or a raw string), or None when nothing applies."""
    if isinstance(parsed, str):
        parsed = parse_error_input(parsed)
    best, best_score = None, 0
    for entry in catalogue():
        s = score(entry, parsed)
        if s > best_score:
            best, best_score = entry, s
    return best
