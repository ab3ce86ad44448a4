"""Errors in Salesforce's shapes, raised by the rules and rendered by the protocol modules.

- :class:`SalesforceError` ``(error_code, message, fields, status)``: a REST ``[{"message","errorCode",
  "fields"}]`` body, a composite ``{"statusCode","message","fields"}`` entry, or a SOAP fault.
- :class:`ActionError` ``(error, error_description)``: an OAuth / Setup outcome, e.g.
  ``OAUTH_APP_BLOCKED`` / ``this app is blocked by admin``.
"""

from __future__ import annotations


class SalesforceError(Exception):
    """A platform error in Salesforce's shape: ``errorCode`` + ``message`` (+ ``fields``), HTTP ``status``."""

    def __init__(
        self, error_code: str, message: str, fields: list[str] | None = None, status: int = 400
    ):
        super().__init__(f"{error_code}: {message}")
        self.error_code, self.message, self.fields, self.status = (
            error_code,
            message,
            fields or [],
            status,
        )


class ActionError(Exception):
    """A failed human step (OAuth authorization, Install, policy edit): OAuth ``error`` + ``error_description``."""

    def __init__(self, error: str, error_description: str):
        super().__init__(f"{error}: {error_description}")
        self.error, self.error_description = error, error_description


def not_found() -> SalesforceError:
    """404 ``NOT_FOUND`` "The requested resource does not exist" (REST resource or record unknown)."""
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
