"""Remove anything token-like from text before it is logged, reported or handed to Prefect.

``scrub(text, known=())`` replaces, with ``[redacted]``:

- the exact values in ``known`` (the org's own access and refresh tokens, read from its org JSON by the
  runner and never stored);
- Salesforce session ids / access tokens (``00D...!...``), refresh tokens (``5Aep...``), SFDX auth URLs
  (``force://...``), ``Bearer ...`` headers;
- the value of any ``token``, ``secret``, ``password``, ``sid`` or ``key`` field in JSON, ``key=value`` or
  ``key: value`` form.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_PATTERNS = [
    re.compile(r"force://[^\s'\"]+"),
    re.compile(r"\b00D[A-Za-z0-9]{9,15}![A-Za-z0-9._\-]+"),
    re.compile(r"\b5Aep[A-Za-z0-9._\-]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-!]+"),
    # "access_token": "...", refresh_token=..., client_secret: ..., password ..., sid=...
    re.compile(
        r"(?i)([\"']?[a-z_]*(?:token|secret|password|passwd|\bsid|_key)[a-z_]*[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',}&]+)"
    ),
]


def scrub(text: str, known=()) -> str:
    """``text`` with every known secret and token-like value replaced by ``[redacted]``."""
    if not text:
        return text
    for secret in sorted({k for k in known if k and len(k) >= 8}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def secrets_of(org_json: dict) -> list[str]:
    """The string values of an org JSON that must never be shown (tokens, secrets, passwords)."""
    out = []
    for key, value in (org_json or {}).items():
        if isinstance(value, str) and re.search(r"(?i)token|secret|password|key", key):
            out.append(value)
    return out
