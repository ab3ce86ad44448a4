"""Queries and DML as a user: SOQL with the OauthToken visibility and batch rules, record retrieve, and
create / update / delete with the generic field rules. Per-object rules are looked up in ``registry``
(``object_rules.py`` and ``eca.py`` register them); none is named here. Each rule cites
``../shared/docs/salesforce-facts.md`` ("facts §N").

:class:`Dml` is a part of ``platform.Org`` (it uses ``Identity``'s ``features`` and ``has_permission``).
"""

from __future__ import annotations

import re
from typing import Any

from orgsim import permissions, registry, schema, soql
from orgsim.errors import SalesforceError, not_found

FIELD_NOT_WRITABLE = (
    "Unable to create/update fields: {fields}. Please check the security settings of this field and verify "
    "that it is read/write for your profile or permission set."
)
#: facts §4.1 "Row limits": OauthToken query() returns up to 500 rows per batch and queryMore() continues to a
#: hard cap of 2,500. How Salesforce signals the cap is undocumented; the conservative model: the query stops
#: at 2,500 rows with ``done`` true and ``totalSize`` 2,500, so a client that does not count first is silently
#: short. ``SELECT COUNT()`` returns no rows and is not cut: its ``totalSize`` is the full count.
OAUTH_TOKEN_BATCH = 500
OAUTH_TOKEN_CAP = 2500
QUERY_BATCH = 2000


class Dml:
    """SOQL queries, record retrieve, create / update / delete as a user."""

    # -- queries ------------------------------------------------------------------------------------------

    def query(self, user: dict, text: str, *, api_version: str = "66.0", tooling: bool = False):
        """Run SOQL as ``user``. Returns ``(records, total_size, batch_size)``.

        OauthToken (facts §4.1, §10.1): users without the permission(s) of
        ``permissions.sees_all_oauth_tokens`` "see only [their] own tokens", a batch
        holds at most 500 rows and queryMore stops at 2,500 rows with ``done`` true (``total_size`` is then
        2,500; how the real API signals the cap is UNCERTAIN, this is the conservative model: nothing tells
        the client it is short); ``SELECT COUNT()`` is not cut. Objects the user has no access to
        (``permissions.hidden_objects``: SetupEntityAccess, PermissionSetAssignment, Tooling objects) answer
        ``INVALID_TYPE``. Raises ``soql.SoqlError``.
        """
        for hook in registry.BEFORE_QUERY:  # e.g. eca.settle: finish package installs that are due
            hook(self)
        row_filters = {}
        if not permissions.sees_all_oauth_tokens(self, user):
            row_filters["OauthToken"] = ("UserId = ?", [user["Id"]])
        result = soql.execute(
            self.store.conn,
            text,
            features=self.features(),
            row_filters=row_filters,
            api_version=api_version,
            tooling=tooling,
            hidden=permissions.hidden_objects(self, user, tooling=tooling),
        )
        records, total = result.records, result.total_size
        if records and records[0].get("attributes", {}).get("type") == "OauthToken":
            records = records[:OAUTH_TOKEN_CAP]
            return records, min(total, OAUTH_TOKEN_CAP), OAUTH_TOKEN_BATCH
        return records, total, QUERY_BATCH

    def retrieve(
        self,
        user: dict,
        sobject: str,
        record_id: str,
        fields: list[str] | None = None,
        *,
        api_version: str = "66.0",
    ) -> dict:
        """``GET sobjects/{type}/{id}``: the record with all (or the requested) visible fields.
        Raises ``SalesforceError`` 404 ``NOT_FOUND`` when the object or record does not exist."""
        obj = self.object_for(sobject)
        names = fields or [f.name for f in schema.visible_fields(obj, self.features())]
        record_id = self.normalise_id(record_id)
        if not record_id:
            raise not_found()
        try:
            records, _, _ = self.query(
                user,
                f"SELECT {', '.join(names)} FROM {obj.name} WHERE Id = '{record_id}'",
                api_version=api_version,
            )
        except soql.SoqlError as exc:
            raise SalesforceError(exc.error_code, exc.message) from None
        if not records:
            raise not_found()
        return records[0]

    # -- DML ----------------------------------------------------------------------------------------------

    def object_for(self, sobject: str, *, status: int = 404, tooling: bool = False):
        """The schema object for a type name (case-insensitive). Unknown types raise ``NOT_FOUND`` (REST
        resource) or, with ``status=400``, ``INVALID_TYPE`` (composite / SOQL wording). ``tooling``: the
        Tooling API's catalogue (``.../tooling/sobjects/<type>``)."""
        obj = schema.get_object(sobject or "")
        if obj is not None and (obj.tooling if tooling else obj.standard_api):
            return obj
        if status == 404:
            raise not_found()
        raise SalesforceError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")

    def create(
        self, user: dict, sobject: str, values: dict[str, Any], *, tooling: bool = False
    ) -> str:
        """Insert a record as ``user`` after the generic and the object's own rules. Returns the new Id.

        Generic rules: the object must be createable, else ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY``
        "entity type cannot be inserted: <label>" (the code and wording seen in public logs, e.g. "entity type
        cannot be inserted: Flow"; ConnectedApplication is read-only, facts §3; OauthToken is query-only,
        facts §4.1); every field must exist (``INVALID_FIELD``) and be createable
        (``INVALID_FIELD_FOR_INSERT_UPDATE``, facts §5 for SetupEntityType); required fields must be present
        (``REQUIRED_FIELD_MISSING``); references must point at an existing record of the right type; the
        user must hold the object's write permissions (``permissions.check_write``:
        ``INSUFFICIENT_ACCESS_OR_READONLY``; update and delete check them too).
        """
        with self.lock:
            obj = self.object_for(sobject, status=400, tooling=tooling)
            if not obj.createable:
                raise SalesforceError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"entity type cannot be inserted: {obj.label}",
                )
            values = self._check_fields(obj, values, "create")
            permissions.check_write(self, user, obj.name, values)
            hook = registry.BEFORE.get(("create", obj.name))
            if hook:
                values = hook(self, user, values)
            new_id = self.store.insert(obj.name, values, user_id=user["Id"])
            after = registry.AFTER_CREATE.get(obj.name)
            if after:
                after(self, new_id, values)
            return new_id

    def update(self, user: dict, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        """Update a record (REST PATCH). Object not updateable: ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY``
        "entity type cannot be updated: <label>" (wording UNCERTAIN, by analogy with inserts); fields not
        updateable: ``INVALID_FIELD_FOR_INSERT_UPDATE``; unknown record: 404 ``NOT_FOUND``."""
        with self.lock:
            obj = self.object_for(sobject, status=400)
            if not obj.updateable:
                raise SalesforceError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"entity type cannot be updated: {obj.label}",
                )
            record_id = self.normalise_id(record_id)
            current = self.store.get(obj.name, record_id) if record_id else None
            if not current:
                raise not_found()
            values = self._check_fields(obj, values, "update")
            permissions.check_write(self, user, obj.name, current)
            hook = registry.BEFORE.get(("update", obj.name))
            if hook:
                values = hook(self, user, current, values)
            self.store.update(obj.name, record_id, values, user_id=user["Id"])

    def delete(self, user: dict, sobject: str, record_id: str) -> None:
        """Delete a record. Object not deletable: ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`` "entity type cannot
        be deleted: <label>" (UNCERTAIN wording); unknown record: 404 ``NOT_FOUND``."""
        with self.lock:
            obj = self.object_for(sobject, status=400)
            if not obj.deletable:
                raise SalesforceError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"entity type cannot be deleted: {obj.label}",
                )
            record_id = self.normalise_id(record_id)
            current = self.store.get(obj.name, record_id) if record_id else None
            if not current:
                raise not_found()
            permissions.check_write(self, user, obj.name, current)
            hook = registry.BEFORE.get(("delete", obj.name))
            if hook:
                hook(self, user, current)
            self.store.delete(obj.name, record_id)

    def normalise_id(self, record_id: str) -> str | None:
        if not isinstance(record_id, str) or not re.fullmatch(
            r"[A-Za-z0-9]{15}|[A-Za-z0-9]{18}", record_id
        ):
            return None
        return schema.to_18(record_id) if len(record_id) == 15 else record_id

    def _check_fields(self, obj, values: dict[str, Any], op: str) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        visible = {f.name.lower(): f for f in schema.visible_fields(obj, self.features())}
        out: dict[str, Any] = {}
        not_writable = []
        for key, value in values.items():
            if key == "attributes":
                continue
            f = visible.get(key.lower())
            if f is None:
                raise SalesforceError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key]
                )
            if not (f.createable if op == "create" else f.updateable):
                not_writable.append(f.name)
                continue
            out[f.name] = self._coerce(obj, f, value)
        if not_writable:
            raise SalesforceError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                FIELD_NOT_WRITABLE.format(fields=", ".join(not_writable)),
                not_writable,
            )
        if op == "create":
            missing = [
                f.name
                for f in visible.values()
                if f.createable
                and not f.nillable
                and f.type != "boolean"
                and out.get(f.name) in (None, "")
                and f.name not in ("Id", "OwnerId")
            ]
            if missing:
                raise SalesforceError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        return out

    def _coerce(self, obj, f, value):
        if value is None:
            if not f.nillable and f.type != "boolean":
                raise SalesforceError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
            return None
        if f.type == "boolean":
            if not isinstance(value, bool):
                raise SalesforceError(
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of boolean from {type(value).__name__} value {value!r} "
                    f"for field {f.name}",
                )
            return int(value)
        if f.type == "reference":
            return self._check_reference(f, value)
        if f.type in ("string", "textarea", "email", "picklist", "url", "phone") and f.length:
            if not isinstance(value, str):
                value = str(value)
            if len(value) > f.length:
                raise SalesforceError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value} (max length={f.length})",
                    [f.name],
                )
        return value

    def _check_reference(self, f, value) -> str:
        """A reference must be a well-formed id (``MALFORMED_ID``) of a record that exists
        (``INVALID_CROSS_REFERENCE_KEY`` "invalid cross reference id"). For an id of the wrong object the code is
        UNCERTAIN; the simulator uses ``FIELD_INTEGRITY_EXCEPTION``."""
        record_id = self.normalise_id(value)
        if not record_id:
            raise SalesforceError(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        targets = list(f.reference_to or [])
        kind = self.store.object_of(record_id)
        if targets and kind not in targets:
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: unknown ({f.label}: id value of incorrect type: {value})",
                [f.name],
            )
        if kind and not self.store.get(kind, record_id):
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name]
            )
        return record_id
