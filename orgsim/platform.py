"""The Salesforce platform rules the simulator enforces: DML checks, permissions, OAuth sessions, the
connected-app lifecycle (authorize / install / policy / block), and Metadata API deploy and retrieve.

Protocol modules (``rest``, ``soap``, ``oauth``, ``setup_pages``) parse requests and render responses; every
decision is made here, so a rule changes in one place and REST, SOAP, Setup pages and actions all obey it.
Each rule's docstring cites ``../shared/docs/salesforce-facts.md`` ("facts §N"); where Salesforce's exact
error code or wording is not documented the docstring says UNCERTAIN and names the closest documented one.

Errors:

- :class:`SalesforceError` ``(error_code, message, fields, status)``: a REST ``[{"message","errorCode",
  "fields"}]`` body, a composite ``{"statusCode","message","fields"}`` entry, or a SOAP fault.
- :class:`ActionError` ``(error, error_description)``: an OAuth / Setup outcome, e.g.
  ``OAUTH_APP_BLOCKED`` / ``this app is blocked by admin``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from orgsim import eca, schema, soql
from orgsim.store import Store, format_datetime

MD_NS = "http://soap.sforce.com/2006/04/metadata"
ORG_ID_15 = "00D5i000000SIMU"

#: facts §8: "only underscores and alphanumeric characters ... begin with a letter, not include spaces,
#: not end with an underscore, and not contain two consecutive underscores"; at most 80 characters.
PERMSET_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")
PERMSET_NAME_MESSAGE = (
    "The Permission Set API Name can only contain underscores and alphanumeric characters. It must be "
    "unique, begin with a letter, not include spaces, not end with an underscore, and not contain two "
    "consecutive underscores."
)
FIELD_NOT_WRITABLE = (
    "Unable to create/update fields: {fields}. Please check the security settings of this field and verify "
    "that it is read/write for your profile or permission set."
)
#: facts §5: SetupEntityType is derived from the SetupEntityId key prefix.
SETUP_ENTITY_TYPES = {
    "0H4": "ConnectedApplication",
    "0xI": "ExternalClientApplication",  # API 60.0+ (facts §5, §6.3)
    "01p": "ApexClass",
    "066": "ApexPage",
}
#: field-cases.md finding 8: Salesforce keeps 5 token grants per user per app and silently revokes the oldest.
TOKENS_PER_USER_PER_APP = 5
#: facts §4.1: OauthToken query() returns up to 500 rows per batch and queryMore() stops at 2,500.
OAUTH_TOKEN_BATCH = 500
OAUTH_TOKEN_CAP = 2500
QUERY_BATCH = 2000


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


def _fields(obj) -> list:
    return list(obj.fields.values()) if isinstance(obj.fields, dict) else list(obj.fields)


def _days_ago(days: int | None) -> str | None:
    if days is None:
        return None
    return format_datetime(_dt.datetime.now(_dt.UTC) - _dt.timedelta(days=days))


def check_permission_set_name(name: str) -> None:
    """PermissionSet API name rule (facts §8). Raises ``SalesforceError``.

    The REST error code for a bad ``PermissionSet.Name`` is UNCERTAIN (facts §8: "may be
    FIELD_INTEGRITY_EXCEPTION or INVALID_FIELD"); the simulator uses ``FIELD_INTEGRITY_EXCEPTION``.
    """
    if not isinstance(name, str) or not PERMSET_NAME_RE.match(name):
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", PERMSET_NAME_MESSAGE, ["Name"])


class Org:
    """One simulated org: its store plus the rules. All methods take ``self.lock`` (the store's lock)."""

    def __init__(self, store: Store):
        self.store = store
        self.lock = store.lock

    # -- identity and features --------------------------------------------------------------------------

    @property
    def scenario(self) -> dict[str, Any]:
        return self.store.meta("scenario")

    @property
    def org_id(self) -> str:
        return self.store.meta("org_id")

    @property
    def app_name(self) -> str:
        """The 6sense connected app's name as this org sees it (scenario ``app.name``)."""
        return self.scenario["app"]["name"]

    def features(self) -> set[str]:
        """Org features that gate schema fields: ``api_access_control`` when Support provisioned it
        (facts §1.2: ``PermissionsUseAnyApiClient`` exists only then)."""
        return {"api_access_control"} if self.acc_provisioned else set()

    @property
    def acc_provisioned(self) -> bool:
        return bool(self.store.meta("acc", {}).get("provisioned"))

    @property
    def acc_enforcing(self) -> bool:
        """API Access Control "limit API access to only allowlisted connected apps" is on (facts §2)."""
        acc = self.store.meta("acc", {})
        return bool(acc.get("provisioned") and acc.get("enforcing"))

    @property
    def connected_app_metadata_retrievable(self) -> bool:
        """Scenario flag: whether the installed third-party app is visible to the Metadata API as a
        ``ConnectedApp`` (facts §6.1: "not established", so both behaviours are modelled)."""
        return bool(self.scenario["features"]["connected_app_metadata_retrievable"])

    def user(self, user_id: str) -> dict | None:
        return self.store.get("User", user_id)

    def user_by_username(self, username: str) -> dict | None:
        return self.store.find_one("User", Username=username)

    def permission_set_ids(self, user_id: str) -> list[str]:
        """The user's profile-owned permission set and every assigned one (facts §5: a profile is reached
        through its profile-owned PermissionSet; real orgs return a PermissionSetAssignment for it)."""
        rows = self.store.find("PermissionSetAssignment", AssigneeId=user_id)
        return [r["PermissionSetId"] for r in rows]

    def has_permission(self, user_id: str, permission: str) -> bool:
        """Whether the user holds a user permission (API name without ``Permissions``, e.g.
        ``CanApproveUninstalledApps``) through the profile or any assigned permission set (facts §1.1)."""
        column = "Permissions" + permission
        if column not in self.store.columns("PermissionSet"):
            return False
        for ps_id in self.permission_set_ids(user_id):
            row = self.store.get("PermissionSet", ps_id)
            if row and row.get(column):
                return True
        return False

    def known_user_permissions(self) -> set[str]:
        """User permission API names this org knows: the ``Permissions*`` fields of PermissionSet visible
        with the org's features, minus the prefix (facts §1.1 naming convention; ``UseAnyApiClient`` only
        where API Access Control is provisioned, facts §1.2)."""
        obj = schema.OBJECTS["PermissionSet"]
        return {
            f.name[len("Permissions") :]
            for f in schema.visible_fields(obj, self.features())
            if f.name.startswith("Permissions")
        }

    # -- sessions ---------------------------------------------------------------------------------------

    def issue_session(self, user_id: str, *, refresh: bool = True) -> dict[str, str]:
        """Mint an opaque access token (and refresh token) acting as ``user_id``."""
        access = f"{self.org_id[:15]}!{secrets.token_urlsafe(40)}"
        now = self.store.now()
        self.store.sim_put(
            "session",
            {"token": access, "kind": "access", "user_id": user_id, "created": now},
            bump=False,
        )
        out = {"access_token": access}
        if refresh:
            rt = "5Aep861" + secrets.token_urlsafe(60)
            self.store.sim_put(
                "session",
                {"token": rt, "kind": "refresh", "user_id": user_id, "created": now},
                bump=False,
            )
            out["refresh_token"] = rt
        return out

    def session_user(self, token: str | None) -> dict:
        """The active user an access token acts as. Raises ``SalesforceError`` 401 ``INVALID_SESSION_ID``
        "Session expired or invalid" for unknown tokens and inactive users, and 403 ``API_CURRENTLY_DISABLED``
        for users without ApiEnabled ("To make any API call, a user must have the API Enabled permission",
        facts §1.3)."""
        rows = self.store.sim_rows("session", token=token or "", kind="access") if token else []
        user = self.user(rows[0]["user_id"]) if rows else None
        if not user or not user.get("IsActive", 1):
            raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
        if not self.has_permission(user["Id"], "ApiEnabled"):
            raise SalesforceError(
                "API_CURRENTLY_DISABLED", "API is disabled for this User", status=403
            )
        return user

    def redeem(self, token: str, kind: str) -> dict | None:
        """The user behind a refresh token or a one-time authorization ``code`` (codes are consumed)."""
        rows = self.store.sim_rows("session", token=token, kind=kind)
        if not rows:
            return None
        if kind == "code":
            self.store.sim_delete("session", token=token)
        return self.user(rows[0]["user_id"])

    def issue_code(self, user_id: str) -> str:
        code = "aPrx" + secrets.token_urlsafe(24)
        self.store.sim_put(
            "session",
            {"token": code, "kind": "code", "user_id": user_id, "created": self.store.now()},
            bump=False,
        )
        return code

    # -- queries ------------------------------------------------------------------------------------------

    def query(self, user: dict, text: str, *, api_version: str = "66.0", tooling: bool = False):
        """Run SOQL as ``user``. Returns ``(records, total_size, batch_size)``.

        OauthToken (facts §4.1): users without Customize Application "see only [their] own tokens", a batch
        holds at most 500 rows and queryMore stops at 2,500 rows (``total_size`` is then 2,500; whether the
        real ``totalSize`` reports the uncapped count is UNCERTAIN). Raises ``soql.SoqlError``.
        """
        eca.settle(self)  # finish package installs that are due (asynchronous, like Salesforce's)
        row_filters = {}
        if not self.has_permission(user["Id"], "CustomizeApplication"):
            row_filters["OauthToken"] = ("UserId = ?", [user["Id"]])
        result = soql.execute(
            self.store.conn,
            text,
            features=self.features(),
            row_filters=row_filters,
            api_version=api_version,
            tooling=tooling,
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
        record_id = self._normalise_id(record_id)
        if not record_id:
            raise _not_found()
        try:
            records, _, _ = self.query(
                user,
                f"SELECT {', '.join(names)} FROM {obj.name} WHERE Id = '{record_id}'",
                api_version=api_version,
            )
        except soql.SoqlError as exc:
            raise SalesforceError(exc.error_code, exc.message) from None
        if not records:
            raise _not_found()
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
            raise _not_found()
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
        (``REQUIRED_FIELD_MISSING``); references must point at an existing record of the right type.
        """
        with self.lock:
            obj = self.object_for(sobject, status=400, tooling=tooling)
            if not obj.createable:
                raise SalesforceError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"entity type cannot be inserted: {obj.label}",
                )
            values = self._check_fields(obj, values, "create")
            hook = getattr(self, f"_before_create_{obj.name}", None)
            if hook:
                values = hook(user, values)
            new_id = self.store.insert(obj.name, values, user_id=user["Id"])
            after = getattr(self, f"_after_create_{obj.name}", None)
            if after:
                after(new_id, values)
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
            record_id = self._normalise_id(record_id)
            current = self.store.get(obj.name, record_id) if record_id else None
            if not current:
                raise _not_found()
            values = self._check_fields(obj, values, "update")
            hook = getattr(self, f"_before_update_{obj.name}", None)
            if hook:
                values = hook(user, current, values)
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
            record_id = self._normalise_id(record_id)
            current = self.store.get(obj.name, record_id) if record_id else None
            if not current:
                raise _not_found()
            hook = getattr(self, f"_before_delete_{obj.name}", None)
            if hook:
                hook(user, current)
            self.store.delete(obj.name, record_id)

    def _normalise_id(self, record_id: str) -> str | None:
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
        record_id = self._normalise_id(value)
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

    # object rules -----------------------------------------------------------------------------------

    def _before_create_PermissionSet(self, user, values):
        """PermissionSet create: the API name rule (facts §8), Label required, Name unique. A duplicate Name's
        code is UNCERTAIN: ``DUPLICATE_DEVELOPER_NAME`` (field-cases appendix)."""
        check_permission_set_name(values.get("Name"))
        if not values.get("Label"):
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [Label]", ["Label"]
            )
        if self.store.find("PermissionSet", Name=values["Name"]):
            raise SalesforceError(
                "DUPLICATE_DEVELOPER_NAME",
                f"The API name {values['Name']} is already in use.",
                ["Name"],
            )
        return values

    def _before_update_PermissionSet(self, user, current, values):
        """Profile-owned permission sets "can be queried but not modified" (facts §5); the error code is
        UNCERTAIN (``INSUFFICIENT_ACCESS_OR_READONLY``). Renames follow the API name rule (facts §8)."""
        if current.get("IsOwnedByProfile"):
            raise SalesforceError(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                "insufficient access rights on object id: a profile's permission set is edited through the profile",
            )
        if "Name" in values:
            check_permission_set_name(values["Name"])
        return values

    def _before_delete_PermissionSet(self, user, current):
        """A permission set can be deleted only if it is not assigned (facts §8); profile-owned ones not at all.
        Error code UNCERTAIN (``DELETE_FAILED``)."""
        if current.get("IsOwnedByProfile"):
            raise SalesforceError(
                "DELETE_FAILED", "Cannot delete a permission set owned by a profile"
            )
        if self.store.find("PermissionSetAssignment", PermissionSetId=current["Id"]):
            raise SalesforceError(
                "DELETE_FAILED", "Cannot delete a permission set that is assigned to users"
            )

    def _before_create_PermissionSetAssignment(self, user, values):
        """PermissionSetAssignment (facts §8): a duplicate assignment fails with ``DUPLICATE_VALUE``
        "duplicate value found: <unknown> duplicates value on record with id: <id>"."""
        dup = self.store.find_one(
            "PermissionSetAssignment",
            AssigneeId=values["AssigneeId"],
            PermissionSetId=values["PermissionSetId"],
        )
        if dup:
            raise SalesforceError(
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {dup['Id']}",
            )
        return {**values, "IsActive": 1}

    def _before_delete_PermissionSetAssignment(self, user, current):
        """The assignment of a user's profile-owned permission set belongs to the profile and cannot be
        deleted (facts §5 "can be queried but not modified"; code UNCERTAIN: ``DELETE_FAILED``)."""
        ps = self.store.get("PermissionSet", current["PermissionSetId"])
        if ps and ps.get("IsOwnedByProfile"):
            raise SalesforceError(
                "DELETE_FAILED", "Cannot remove a profile's permission set assignment"
            )

    def _before_create_SetupEntityAccess(self, user, values):
        """SetupEntityAccess (facts §5): ``ParentId`` must be a PermissionSet (profile-owned ones included);
        ``SetupEntityType`` is derived from the ``SetupEntityId`` key prefix (0H4 -> ConnectedApplication) and
        is not writable (rejected earlier as INVALID_FIELD_FOR_INSERT_UPDATE); the entity must exist;
        a second row for the same parent and entity fails with ``DUPLICATE_VALUE``."""
        parent = values.get("ParentId")
        if self.store.object_of(parent or "") != "PermissionSet" or not self.store.get(
            "PermissionSet", parent
        ):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: unknown (Parent ID: id value of incorrect type: {parent})",
                ["ParentId"],
            )
        entity = self._normalise_id(values.get("SetupEntityId") or "")
        entity_type = SETUP_ENTITY_TYPES.get((entity or "")[:3])
        if not entity or not entity_type:
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: unknown (Setup Entity ID: id value of incorrect type: "
                f"{values.get('SetupEntityId')})",
                ["SetupEntityId"],
            )
        if entity_type in schema.OBJECTS and not self.store.get(entity_type, entity):
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["SetupEntityId"]
            )
        dup = self.store.find_one("SetupEntityAccess", ParentId=parent, SetupEntityId=entity)
        if dup:
            raise SalesforceError(
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {dup['Id']}",
            )
        return {**values, "SetupEntityId": entity, "SetupEntityType": entity_type}

    def _before_create_PackageInstallRequest(self, user, values):
        """Tooling PackageInstallRequest: see :func:`orgsim.eca.before_create_package_install_request`."""
        return eca.before_create_package_install_request(self, user, values)

    def _after_create_PackageInstallRequest(self, new_id, values):
        eca.after_create_package_install_request(self, new_id, values)

    def _before_create_User(self, user, values):
        """A new user is active unless the request says otherwise (User.IsActive defaults to true)."""
        values.setdefault("IsActive", 1)
        return values

    def _after_create_User(self, user_id, values):
        """Every user holds its profile's permission set through a PermissionSetAssignment (facts §5)."""
        self._assign_profile_permission_set(user_id, values.get("ProfileId"))

    def _assign_profile_permission_set(self, user_id: str, profile_id: str | None) -> None:
        ps = self.store.find_one("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=1)
        if ps:
            self.store.insert(
                "PermissionSetAssignment",
                {"AssigneeId": user_id, "PermissionSetId": ps["Id"], "IsActive": 1},
            )

    # -- the connected-app lifecycle (facts §3, §4, §7) -----------------------------------------------------

    def app_state(self, app: str | None = None) -> dict[str, Any]:
        """The app as OAuth Usage sees it: ``name, label, consumer_key, visible, blocked, installed,
        admin_approved, connected_application_id, app_menu_item_id, policy_modified, user_count``.
        Raises ``ActionError("unknown_app")`` for an app the org has never heard of."""
        name = app or self.app_name
        rows = self.store.sim_rows("app", name=name)
        if not rows:
            raise ActionError("unknown_app", f"no connected app named '{name}' in this org")
        row = rows[0]
        ca = self.store.find_one("ConnectedApplication", Name=name)
        ami = self.store.find_one("AppMenuItem", ApplicationId=ca["Id"]) if ca else None
        users = {t["UserId"] for t in self.store.find("OauthToken", AppName=row["label"])}
        return {
            "name": name,
            "label": row["label"],
            "consumer_key": row["consumer_key"],
            "visible": bool(row["visible"]),
            "blocked": bool(row["blocked"]),
            "installed": ca is not None,
            "admin_approved": bool(ca and ca.get("OptionsAllowAdminApprovedUsersOnly")),
            "connected_application_id": ca["Id"] if ca else None,
            "app_menu_item_id": ami["Id"] if ami else None,
            "policy_modified": ca.get("LastModifiedDate") if ca else None,
            "user_count": len(users),
        }

    def apps(self) -> list[dict[str, Any]]:
        return [self.app_state(r["name"]) for r in self.store.sim_rows("app")]

    def is_pre_authorized(self, user_id: str, app: str | None = None) -> bool:
        """Admin-approved access (facts §5): a SetupEntityAccess row from the user's profile-owned permission
        set or an assigned permission set to the app's ConnectedApplication."""
        state = self.app_state(app)
        if not state["installed"]:
            return False
        granted = {
            r["ParentId"]
            for r in self.store.find(
                "SetupEntityAccess", SetupEntityId=state["connected_application_id"]
            )
        }
        return bool(granted & set(self.permission_set_ids(user_id)))

    def authorize(self, username: str, app: str | None = None) -> dict[str, Any]:
        """The OAuth authorization of the app as ``username`` (what the user does in 6sense; facts §7.3).

        Outcomes, checked in this order:

        - the attempt makes the app visible on Connected Apps OAuth Usage, even when denied (facts §4.1:
          the page "also displays usage attempts that Salesforce automatically denied");
        - blocked on OAuth Usage -> ``OAUTH_APP_BLOCKED`` "this app is blocked by admin" (facts §6.2, §7.3);
        - not installed and API Access Control enforcing -> ``OAUTH_APP_BLOCKED`` (facts §2, §7.1);
        - not installed and the user lacks CanApproveUninstalledApps (profile or any assigned permission set)
          -> ``OAUTH_APPROVAL_ERROR_GENERIC`` with error ``invalid_client`` / "app must be installed into org"
          (facts §7.2, §7.3; UseAnyApiClient no longer helps since Dec 2025, facts §1.3);
        - installed, admin-approved and the user not pre-authorized -> ``invalid_app_access`` "user is not
          admin approved to access this app" (facts §7.3);
        - inactive user -> ``invalid_grant`` "inactive user" (UNCERTAIN wording);
        - otherwise an OauthToken row for the user and app (CreatedDate now, AppMenuItemId when installed,
          random AccessToken/DeleteToken). At most 5 per user per app: the oldest is revoked
          (field-cases.md finding 8).

        Returns ``{"ok": True, "user_id", "app", "created"}``; raises :class:`ActionError`.
        """
        if eca.is_eca(app):
            with self.lock:
                return eca.authorize(self, username)  # the 6sense External Client App
        with self.lock:
            state = self.app_state(app)
            user = self.user_by_username(username)
            if not user:
                raise ActionError("invalid_grant", "authentication failure")
            if not state["visible"]:
                self._set_app(state["name"], visible=1)
            if state["blocked"]:
                raise ActionError("OAUTH_APP_BLOCKED", "this app is blocked by admin")
            if not state["installed"]:
                if self.acc_enforcing:
                    raise ActionError("OAUTH_APP_BLOCKED", "this app is blocked by admin")
                if not self.has_permission(user["Id"], "CanApproveUninstalledApps"):
                    raise ActionError(
                        "OAUTH_APPROVAL_ERROR_GENERIC", "app must be installed into org"
                    )
            elif state["admin_approved"] and not self.is_pre_authorized(user["Id"], state["name"]):
                raise ActionError(
                    "invalid_app_access", "user is not admin approved to access this app"
                )
            if not user.get("IsActive", 1):
                raise ActionError("invalid_grant", "inactive user")
            created = self._grant_token(user["Id"], state)
            return {"ok": True, "user_id": user["Id"], "app": state["name"], "created": created}

    def _grant_token(
        self,
        user_id: str,
        state: dict,
        *,
        created: str | None = None,
        last_used: str | None = None,
        use_count: int = 1,
    ) -> str:
        created = created or self.store.now()
        values = {
            "Id": None,
            "AppName": state["label"],
            "UserId": user_id,
            "AppMenuItemId": state["app_menu_item_id"],
            "CreatedDate": created,
            "LastUsedDate": last_used or created,
            "UseCount": use_count,
            "AccessToken": secrets.token_hex(16),
            "DeleteToken": secrets.token_hex(16),
        }
        values = {k: v for k, v in values.items() if k in self.store.columns("OauthToken")}
        self.store.insert("OauthToken", values)
        tokens = sorted(
            self.store.find("OauthToken", UserId=user_id, AppName=state["label"]),
            key=lambda t: t["CreatedDate"],
        )
        for old in tokens[: max(0, len(tokens) - TOKENS_PER_USER_PER_APP)]:
            self._revoke(old)
        return created

    def _revoke(self, token_row: dict) -> None:
        with self.lock:
            self.store.conn.execute(
                'DELETE FROM "OauthToken" WHERE DeleteToken = ?', (token_row["DeleteToken"],)
            )
            self.store.bump()

    def _set_app(self, name: str, **values) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.lock:
            self.store.conn.execute(
                f"UPDATE _sim_app SET {sets} WHERE name = ?", [*values.values(), name]
            )
            self.store.bump()

    def install(self, app: str | None = None, *, installed_at: str | None = None) -> dict[str, Any]:
        """Install on Connected Apps OAuth Usage (facts §7.1). Only an app listed there can be installed
        (seed troubleshooting: "If you don't see the Install button, repeat Step 1"). Creates the
        ConnectedApplication row (``OptionsAllowAdminApprovedUsersOnly`` false: after Install the default is
        "All users may self-authorize", facts §7.1, §3) and an AppMenuItem (``Type`` ConnectedApplication,
        ``ApplicationId``, facts §4.2); the app's existing tokens gain that ``AppMenuItemId`` (facts §4.1)."""
        with self.lock:
            state = self.app_state(app)
            if not state["visible"]:
                raise ActionError("not_visible", "app not listed on Connected Apps OAuth Usage")
            if state["installed"]:
                return {
                    "ok": True,
                    "already": True,
                    "connected_application_id": state["connected_application_id"],
                }
            ca_values = {"Name": state["name"], "OptionsAllowAdminApprovedUsersOnly": 0}
            if installed_at:
                ca_values.update(
                    CreatedDate=installed_at,
                    LastModifiedDate=installed_at,
                    SystemModstamp=installed_at,
                )
            ca_values = {
                k: v
                for k, v in ca_values.items()
                if k in self.store.columns("ConnectedApplication")
            }
            ca_id = self.store.insert("ConnectedApplication", ca_values)
            ami_values = {
                "Name": state["name"],
                "Label": state["label"],
                "Type": "ConnectedApplication",
                "ApplicationId": ca_id,
                "IsUsingAdminAuthorization": 0,
                "IsVisible": 1,
                "IsAccessible": 1,
            }
            ami_values = {
                k: v for k, v in ami_values.items() if k in self.store.columns("AppMenuItem")
            }
            ami_id = self.store.insert("AppMenuItem", ami_values)
            with self.lock:
                self.store.conn.execute(
                    'UPDATE "OauthToken" SET AppMenuItemId = ? WHERE AppName = ?',
                    (ami_id, state["label"]),
                )
            return {"ok": True, "connected_application_id": ca_id}

    def set_policy(
        self, permitted_users: str, app: str | None = None, *, at: str | None = None
    ) -> dict[str, Any]:
        """Edit Policies > Permitted Users (facts §3, §6.1, §7.1).

        ``admin_approved``: ``ConnectedApplication.OptionsAllowAdminApprovedUsersOnly`` true,
        ``AppMenuItem.IsUsingAdminAuthorization`` true, LastModifiedDate now, and the tokens of users who are
        not pre-authorized are revoked ("anyone using the app loses access" unless their profile or permission
        set authorizes it, facts §7.1). ``all_users`` sets both flags back to false. Requires an installed app.
        """
        if permitted_users not in ("admin_approved", "all_users"):
            raise ActionError(
                "invalid_request", "permitted_users must be admin_approved or all_users"
            )
        with self.lock:
            state = self.app_state(app)
            if not state["installed"]:
                raise ActionError(
                    "not_installed", "install the app on Connected Apps OAuth Usage first"
                )
            flag = 1 if permitted_users == "admin_approved" else 0
            at = at or self.store.now()
            self.store.update(
                "ConnectedApplication",
                state["connected_application_id"],
                {
                    "OptionsAllowAdminApprovedUsersOnly": flag,
                    "LastModifiedDate": at,
                    "SystemModstamp": at,
                },
            )
            if state["app_menu_item_id"] and "IsUsingAdminAuthorization" in self.store.columns(
                "AppMenuItem"
            ):
                self.store.update(
                    "AppMenuItem", state["app_menu_item_id"], {"IsUsingAdminAuthorization": flag}
                )
            revoked = 0
            if flag:
                for tok in self.store.find("OauthToken", AppName=state["label"]):
                    if not self.is_pre_authorized(tok["UserId"], state["name"]):
                        self._revoke(tok)
                        revoked += 1
            return {"ok": True, "permitted_users": permitted_users, "revoked_tokens": revoked}

    def block(self, app: str | None = None) -> dict[str, Any]:
        """Block on OAuth Usage: the app becomes a BlacklistedConsumer; "blocking ends all sessions and
        prevents new ones" (facts §6.2), so all its tokens are revoked."""
        with self.lock:
            state = self.app_state(app)
            if not state["visible"]:
                raise ActionError("not_visible", "app not listed on Connected Apps OAuth Usage")
            self._set_app(state["name"], blocked=1)
            tokens = self.store.find("OauthToken", AppName=state["label"])
            for tok in tokens:
                self._revoke(tok)
            return {"ok": True, "revoked_tokens": len(tokens)}

    def unblock(self, app: str | None = None) -> dict[str, Any]:
        """Unblock on OAuth Usage (facts §7.1: with API Access Control on, Install then Unblock)."""
        with self.lock:
            state = self.app_state(app)
            self._set_app(state["name"], blocked=0)
            return {"ok": True}

    def set_access(self, app: str, permission_set_ids: list[str]) -> None:
        """Replace the app's SetupEntityAccess rows with exactly these parents (ConnectedApp
        ``permissionSetName``/``profileName`` are full state, facts §6.1)."""
        state = self.app_state(app)
        ca_id = state["connected_application_id"]
        current = {
            r["ParentId"]: r for r in self.store.find("SetupEntityAccess", SetupEntityId=ca_id)
        }
        for parent, row in current.items():
            if parent not in permission_set_ids:
                self.store.delete("SetupEntityAccess", row["Id"])
        for parent in permission_set_ids:
            if parent not in current:
                self.store.insert(
                    "SetupEntityAccess",
                    {
                        "ParentId": parent,
                        "SetupEntityId": ca_id,
                        "SetupEntityType": "ConnectedApplication",
                    },
                )

    # -- Metadata API ------------------------------------------------------------------------------------

    def metadata_sees_connected_app(self, name: str) -> bool:
        """The Metadata API lists / retrieves / updates ConnectedApp ``name`` only for an installed app and
        only where the scenario says installed third-party apps are retrievable (facts §6.1, UNCERTAIN)."""
        rows = self.store.sim_rows("app", name=name)
        return (
            bool(rows)
            and self.connected_app_metadata_retrievable
            and self.app_state(name)["installed"]
        )

    def list_metadata(self, md_type: str) -> list[dict[str, Any]]:
        """``listMetadata`` results (``FileProperties`` dicts) for the types the simulator models:
        PermissionSet (not profile-owned), ConnectedApp (see :meth:`metadata_sees_connected_app`),
        BlacklistedConsumer (blocked apps, facts §6.2), Settings (ConnectedApp). Other types: empty."""
        out = []
        now = self.store.now()

        def props(full_name, file_name, record_id=""):
            return {
                "createdById": "",
                "createdByName": "",
                "createdDate": now,
                "fileName": file_name,
                "fullName": full_name,
                "id": record_id,
                "lastModifiedById": "",
                "lastModifiedByName": "",
                "lastModifiedDate": now,
                "manageableState": "unmanaged",
                "type": md_type,
            }

        if md_type == "PermissionSet":
            for ps in self.store.find("PermissionSet", IsOwnedByProfile=0):
                out.append(
                    props(ps["Name"], f"permissionsets/{ps['Name']}.permissionset", ps["Id"])
                )
        elif md_type == "ConnectedApp":
            for app in self.apps():
                if self.metadata_sees_connected_app(app["name"]):
                    out.append(props(app["name"], f"connectedApps/{app['name']}.connectedApp"))
        elif md_type == "BlacklistedConsumer":
            for app in self.apps():
                if app["blocked"]:
                    out.append(
                        props(
                            app["name"], f"blacklistedConsumers/{app['name']}.blacklistedConsumer"
                        )
                    )
        elif md_type == "Settings":
            out.append(props("ConnectedApp", "settings/ConnectedApp.settings"))
        elif md_type == eca.MD_TYPE:
            for full_name, file_name in eca.list_metadata(self):
                out.append({**props(full_name, file_name), "manageableState": "installed"})
        return out

    def retrieve_metadata(self, types: dict[str, list[str]]) -> RetrieveResult:
        """``retrieve`` of an unpackaged manifest ``{type: [members]}`` (``*`` = all). Returns the zip (entries
        under ``unpackaged/``, as cci's ``zip_subfolder`` needs, cumulusci-notes §3.6), file properties and
        ``messages`` for members that do not exist: "Entity of type 'X' named 'Y' cannot be found"."""
        files: dict[str, bytes] = {}
        props: list[dict[str, str]] = []
        messages: list[dict[str, str]] = []
        retrieved: dict[str, list[str]] = {}
        for md_type, members in types.items():
            available = {p["fullName"]: p for p in self.list_metadata(md_type)}
            wanted = list(available) if "*" in members else members
            for member in wanted:
                entry = available.get(member)
                body = self._render_component(md_type, member) if entry else None
                if body is None:
                    messages.append(
                        {
                            "fileName": "unpackaged/package.xml",
                            "problem": f"Entity of type '{md_type}' named '{member}' cannot be found",
                        }
                    )
                    continue
                files["unpackaged/" + entry["fileName"]] = body
                props.append({**entry, "fileName": "unpackaged/" + entry["fileName"]})
                retrieved.setdefault(md_type, []).append(member)
        files["unpackaged/package.xml"] = _package_xml(retrieved)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, body in files.items():
                zf.writestr(name, body)
        return RetrieveResult(zip_bytes=buf.getvalue(), file_properties=props, messages=messages)

    def _render_component(self, md_type: str, member: str) -> bytes | None:
        if md_type == "PermissionSet":
            ps = self.store.find_one("PermissionSet", Name=member, IsOwnedByProfile=0)
            if not ps:
                return None
            root = _md("PermissionSet")
            if ps.get("Description"):
                _sub(root, "description", ps["Description"])
            _sub(root, "hasActivationRequired", "false")
            _sub(root, "label", ps["Label"])
            for perm in sorted(self.known_user_permissions()):
                if ps.get("Permissions" + perm):
                    up = _sub(root, "userPermissions")
                    _sub(up, "enabled", "true")
                    _sub(up, "name", perm)
            return _xml(root)
        if md_type == "Settings" and member == "ConnectedApp":
            return _xml(self._connected_app_settings())
        if md_type == "ConnectedApp":
            return _xml(self._connected_app_xml(member))
        if md_type == eca.MD_TYPE:
            return eca.render(self, member, _md)
        if md_type == "BlacklistedConsumer":
            state = self.app_state(member)
            root = _md("BlacklistedConsumer")
            _sub(root, "blockedByApiWhitelisting", "false")
            _sub(root, "consumerKey", state["consumer_key"])
            _sub(root, "consumerName", state["label"])
            _sub(root, "masterLabel", state["label"])
            return _xml(root)
        return None

    def _connected_app_settings(self):
        """``settings/ConnectedApp.settings`` (facts §2): ``enableAdminApprovedAppsOnly`` and
        ``enableAdminApprovedAppsOnlyForExternalUser`` only where API Access Control is provisioned. Where it
        is not, what a retrieve returns is UNCERTAIN (facts §2 open item); the simulator models the
        conservative case: the file comes back without those fields."""
        root = _md("ConnectedAppSettings")
        if self.acc_provisioned:
            _sub(root, "enableAdminApprovedAppsOnly", _b(self.acc_enforcing))
            _sub(root, "enableAdminApprovedAppsOnlyForExternalUser", "false")
        _sub(root, "enableSkipUserProvisioningWizardWelcomePage", "false")
        return root

    def _connected_app_xml(self, name: str):
        """A ConnectedApp as the Metadata API would return it for an installed third-party app (facts §6.1):
        label, contactEmail, oauthConfig (callbackUrl, consumerKey, isAdminApproved, scopes), oauthPolicy,
        and one ``permissionSetName`` / ``profileName`` per SetupEntityAccess row."""
        state = self.app_state(name)
        root = _md("ConnectedApp")
        _sub(root, "contactEmail", "support@6sense.com")
        _sub(root, "label", state["label"])
        oauth = _sub(root, "oauthConfig")
        _sub(oauth, "callbackUrl", "https://login.6sense.com/salesforce/callback")
        _sub(oauth, "consumerKey", state["consumer_key"])
        _sub(oauth, "isAdminApproved", _b(state["admin_approved"]))
        for scope in ("Api", "RefreshToken"):
            _sub(oauth, "scopes", scope)
        policy = _sub(root, "oauthPolicy")
        _sub(policy, "ipRelaxation", "ENFORCE")
        _sub(policy, "refreshTokenPolicy", "infinite")
        perm_sets, profiles = [], []
        for sea in self.store.find(
            "SetupEntityAccess", SetupEntityId=state["connected_application_id"]
        ):
            ps = self.store.get("PermissionSet", sea["ParentId"])
            if not ps:
                continue
            if ps.get("IsOwnedByProfile"):
                prof = self.store.get("Profile", ps.get("ProfileId"))
                if prof:
                    profiles.append(prof["Name"])
            else:
                perm_sets.append(ps["Name"])
        for n in sorted(perm_sets):
            _sub(root, "permissionSetName", n)
        for n in sorted(profiles):
            _sub(root, "profileName", n)
        return root

    def deploy(self, user: dict, zip_bytes: bytes, *, check_only: bool = False) -> dict[str, Any]:
        """A Metadata API deploy (``rollbackOnError``: one failing component means nothing is written;
        ``checkOnly`` validates without writing). Returns a ``DeployResult`` dict: ``status`` (Succeeded |
        Failed), ``success``, ``checkOnly``, ``numberComponentsTotal/Deployed/Errors``, ``componentSuccesses``
        and ``componentFailures`` (each ``componentType, fullName, fileName, created, deleted, changed,
        success, problem, problemType``), ``errorMessage`` for a package that cannot be read at all.

        Component rules: PermissionSet (:meth:`_validate_permission_set`), Settings:ConnectedApp
        (:meth:`_validate_settings`), ConnectedApp (:meth:`_validate_connected_app`). Other types fail with a
        problem saying the simulator does not model them (never a silent success).
        """
        with self.lock:
            try:
                components = _read_package(zip_bytes)
            except ValueError as exc:
                return _deploy_result(check_only, [], [], error=str(exc))
            plans, failures = [], []
            for comp in components:
                try:
                    plans.append((comp, self._validate_component(comp)))
                except _ComponentProblem as exc:
                    failures.append(
                        {
                            **comp.describe(),
                            "created": False,
                            "deleted": False,
                            "changed": False,
                            "success": False,
                            "problem": exc.problem,
                            "problemType": "Error",
                        }
                    )
            successes = []
            if not failures:
                for comp, apply in plans:
                    created = False if check_only else apply(user)
                    successes.append(
                        {
                            **comp.describe(),
                            "created": bool(created),
                            "deleted": False,
                            "changed": True,
                            "success": True,
                        }
                    )
            return _deploy_result(check_only, successes, failures, total=len(components))

    def _validate_component(self, comp: Component):
        if comp.md_type == "PermissionSet":
            return self._validate_permission_set(comp)
        if comp.md_type == "Settings":
            return self._validate_settings(comp)
        if comp.md_type == "ConnectedApp":
            return self._validate_connected_app(comp)
        if comp.md_type == eca.MD_TYPE:
            return eca.validate_deploy(self, comp, _ComponentProblem)
        raise _ComponentProblem(
            f"The org simulator does not model metadata type {comp.md_type}; nothing was deployed."
        )

    def _validate_permission_set(self, comp: Component):
        """PermissionSet deploy (facts §8): the API name rule, ``label`` required (message UNCERTAIN:
        "Required field is missing: label"), every ``userPermissions/name`` known in this org else
        "Unknown user permission: X" (so ``UseAnyApiClient`` fails where API Access Control is not
        provisioned, facts §1.2, §8). Permission dependencies ("Permission X depends on permission(s): Y") are
        not modelled: no source names one for these permissions (facts §1.3). Applying is an upsert by Name
        and the file is the full state: permissions not listed are disabled (facts §8, API 40.0+)."""
        root = comp.parse()
        name = comp.full_name
        if not PERMSET_NAME_RE.match(name):
            raise _ComponentProblem(PERMSET_NAME_MESSAGE)
        label = _text(root, "label")
        if not label:
            raise _ComponentProblem("Required field is missing: label")
        known = self.known_user_permissions()
        enabled = []
        for up in _children(root, "userPermissions"):
            perm = _text(up, "name") or ""
            if perm not in known:
                raise _ComponentProblem(f"Unknown user permission: {perm}")
            if (_text(up, "enabled") or "false").lower() == "true":
                enabled.append(perm)
        existing = self.store.find_one("PermissionSet", Name=name)
        if existing and existing.get("IsOwnedByProfile"):
            raise _ComponentProblem(
                f"{name}: a profile's permission set cannot be deployed as a PermissionSet"
            )
        description = _text(root, "description")

        def apply(user):
            values = {"Label": label, "Description": description}
            values = {k: v for k, v in values.items() if k in self.store.columns("PermissionSet")}
            for perm in known:
                values["Permissions" + perm] = 1 if perm in enabled else 0
            if existing:
                self.store.update("PermissionSet", existing["Id"], values, user_id=user["Id"])
                return False
            self.store.insert(
                "PermissionSet", {"Name": name, "IsOwnedByProfile": 0, **values}, user_id=user["Id"]
            )
            return True

        return apply

    def _validate_settings(self, comp: Component):
        """Settings:ConnectedApp deploy (facts §2): ``enableAdminApprovedAppsOnly`` turns API Access Control
        enforcement on or off, but only where it is provisioned ("To access this field, you must contact
        Salesforce Customer Support to enable API Access Control."; the deploy error's exact wording is
        UNCERTAIN). Other Settings members are not modelled."""
        if comp.full_name != "ConnectedApp":
            raise _ComponentProblem(
                f"The org simulator does not model Settings:{comp.full_name}; nothing was deployed."
            )
        root = comp.parse()
        value = _text(root, "enableAdminApprovedAppsOnly")
        if value is not None and not self.acc_provisioned:
            raise _ComponentProblem(
                "enableAdminApprovedAppsOnly: To access this field, you must contact Salesforce Customer Support "
                "to enable API Access Control."
            )

        def apply(user):
            if value is not None:
                self.store.set_meta(
                    "acc", {"provisioned": True, "enforcing": value.lower() == "true"}
                )
                self.store.bump()
            return False

        return apply

    def _validate_connected_app(self, comp: Component):
        """ConnectedApp deploy (facts §6.1). An app the Metadata API does not see (not installed, or installed
        third-party apps are not retrievable in this org) would be *created*: refused, because "Connected apps
        creation is restricted as of Spring '26". For a visible app the consumer org "can only edit the app's
        access policies": ``oauthConfig/isAdminApproved`` (the Permitted Users policy, same effect as
        :meth:`set_policy`), ``permissionSetName`` and ``profileName`` (full state: the listed names become the
        app's SetupEntityAccess rows; they need ``isAdminApproved`` true)."""
        name = comp.full_name
        if not self.metadata_sees_connected_app(name):
            raise _ComponentProblem(
                f"Cannot create connected app {name}: Connected apps creation is restricted as of Spring '26. "
                "Use an external client app, or contact Salesforce Support."
            )
        root = comp.parse()
        oauth = _child(root, "oauthConfig")
        approved_text = _text(oauth, "isAdminApproved") if oauth is not None else None
        state = self.app_state(name)
        approved = (
            state["admin_approved"] if approved_text is None else approved_text.lower() == "true"
        )
        ps_names = [t for t in (_texts(root, "permissionSetName")) if t]
        profile_names = [t for t in (_texts(root, "profileName")) if t]
        lists_given = bool(_children(root, "permissionSetName") or _children(root, "profileName"))
        if (ps_names or profile_names) and not approved:
            raise _ComponentProblem(
                "permissionSetName and profileName require oauthConfig/isAdminApproved to be true"
            )
        parents = []
        for ps_name in ps_names:
            ps = self.store.find_one("PermissionSet", Name=ps_name, IsOwnedByProfile=0)
            if not ps:
                raise _ComponentProblem(
                    f"In field: permissionSetName - no PermissionSet named {ps_name} found"
                )
            parents.append(ps["Id"])
        for prof_name in profile_names:
            prof = self.store.find_one("Profile", Name=prof_name)
            ps = (
                self.store.find_one("PermissionSet", ProfileId=prof["Id"], IsOwnedByProfile=1)
                if prof
                else None
            )
            if not ps:
                raise _ComponentProblem(
                    f"In field: profileName - no Profile named {prof_name} found"
                )
            parents.append(ps["Id"])

        def apply(user):
            if lists_given:
                self.set_access(name, parents)
            if approved != state["admin_approved"] or approved:
                self.set_policy("admin_approved" if approved else "all_users", name)
            return False

        return apply

    # -- seeding ----------------------------------------------------------------------------------------

    @classmethod
    def seed(cls, store: Store, scenario_name: str, data: dict[str, Any]) -> Org:
        """Write a validated scenario (``scenario.load(...).data``) into an empty store."""
        org = cls(store)
        store.set_meta("scenario", data)
        store.set_meta("scenario_name", scenario_name)
        store.set_meta("acc", data["features"]["api_access_control"])
        org_id = schema.to_18(ORG_ID_15)
        store.set_meta("org_id", org_id)
        o = data["org"]
        trial = (
            o["trial_days"]
            if o["trial_days"] is not None
            else (30 if o["kind"] == "scratch" else None)
        )
        org._put(
            "Organization",
            {
                "Id": org_id,
                "Name": o["name"],
                "OrganizationType": o["edition"],
                # Scratch orgs report IsSandbox true with a TrialExpirationDate (how orgs tell them apart).
                "IsSandbox": o["kind"] in ("sandbox", "scratch"),
                "InstanceName": o["instance_name"],
                "NamespacePrefix": o["namespace_prefix"],
                "TrialExpirationDate": _days_ago(-trial) if trial is not None else None,
                "Division": None,
                "LanguageLocaleKey": "en_US",
                "DefaultLocaleSidKey": "en_US",
                "TimeZoneSidKey": "America/Los_Angeles",
                "Country": "US",
                "PrimaryContact": None,
            },
        )
        licences: dict[str, str] = {}
        profiles = dict(_standard_profiles())
        for prof in data["profiles"]:
            profiles[prof["name"]] = (prof["license"], prof["permissions"])
        profile_ps: dict[str, str] = {}
        for pname, (licence, perms) in profiles.items():
            if licence not in licences and "UserLicense" in schema.OBJECTS:
                licences[licence] = org._put(
                    "UserLicense",
                    {
                        "Name": licence,
                        "MasterLabel": licence,
                        "LicenseDefinitionKey": licence.upper().replace(" ", "_"),
                        "Status": "Active",
                    },
                )
            flags = {"Permissions" + p: 1 for p in perms}
            prof_id = org._put(
                "Profile",
                {
                    "Name": pname,
                    "UserLicenseId": licences.get(licence),
                    "UserType": "Standard",
                    **flags,
                },
            )
            ps_id = store.new_id("PermissionSet")
            org._put(
                "PermissionSet",
                {
                    "Id": ps_id,
                    "Name": "X" + ps_id[:15],
                    "Label": ps_id[:15],
                    "IsOwnedByProfile": 1,
                    "ProfileId": prof_id,
                    "IsCustom": False,
                    **flags,
                },
            )
            profile_ps[pname] = ps_id
        users: dict[str, str] = {}
        for u in data["users"]:
            first, _, last = u["name"].rpartition(" ")
            prof_id = store.find_one("Profile", Name=u["profile"])["Id"]
            uid = org._put(
                "User",
                {
                    "Username": u["username"],
                    "Name": u["name"],
                    "FirstName": first or None,
                    "LastName": last,
                    "Alias": u["alias"],
                    "Email": u["email"],
                    "ProfileId": prof_id,
                    "IsActive": u["active"],
                    "UserType": "Standard",
                    "TimeZoneSidKey": "America/Los_Angeles",
                    "LocaleSidKey": "en_US",
                    "LanguageLocaleKey": "en_US",
                    "EmailEncodingKey": "UTF-8",
                    "CommunityNickname": u["alias"],
                },
            )
            users[u["username"]] = uid
            org._put(
                "PermissionSetAssignment",
                {"AssigneeId": uid, "PermissionSetId": profile_ps[u["profile"]], "IsActive": 1},
            )
        store.set_meta("connected_user_id", users[data["connected_user"]])
        permsets: dict[str, str] = {}
        for ps in data["permission_sets"]:
            flags = {"Permissions" + p: 1 for p in ps["permissions"]}
            ps_id = org._put(
                "PermissionSet",
                {
                    "Name": ps["name"],
                    "Label": ps["label"],
                    "IsOwnedByProfile": 0,
                    "IsCustom": True,
                    **flags,
                },
            )
            permsets[ps["name"]] = ps_id
            for who in ps["assigned_to"]:
                org._put(
                    "PermissionSetAssignment",
                    {"AssigneeId": users[who], "PermissionSetId": ps_id, "IsActive": 1},
                )
        app = data["app"]
        apps = [(app["name"], app["label"], app["consumer_key"], app["visible"], app["blocked"])]
        apps += [
            (a["name"], a["label"], "3MVG9" + re.sub(r"\W", "", a["name"]), True, False)
            for a in data["other_apps"]
        ]
        for name, label, key, visible, blocked in apps:
            store.sim_put(
                "app",
                {
                    "name": name,
                    "label": label,
                    "consumer_key": key,
                    "visible": visible,
                    "blocked": blocked,
                    "managed": 0,
                },
            )
        installed_at = _days_ago(app["installed_days_ago"])
        for other in data["other_apps"]:
            if other["installed"]:
                org.install(other["name"], installed_at=installed_at)
        if app["installed"]:
            org.install(app["name"], installed_at=installed_at)
            parents = [permsets[n] for n in app["access"]["permission_sets"]]
            parents += [profile_ps[n] for n in app["access"]["profiles"]]
            org.set_access(app["name"], parents)
            if app["admin_approved"]:
                days = app["policy_changed_days_ago"]
                org.set_policy(
                    "admin_approved",
                    app["name"],
                    at=_days_ago(days if days is not None else app["installed_days_ago"]),
                )
        for tok in data["tokens"]:
            state = org.app_state(tok["app"])
            org._grant_token(
                users[tok["user"]],
                state,
                created=_days_ago(tok["created_days_ago"]),
                last_used=_days_ago(tok["last_used_days_ago"]),
                use_count=tok["use_count"],
            )
        eca.seed(org)
        store.set_meta("version", 0)
        return org

    def _put(self, sobject: str, values: dict[str, Any]) -> str:
        """Seed-time insert: keeps only the columns this schema has (so the catalogue can grow or shrink)."""
        cols = self.store.columns(sobject)
        return self.store.insert(sobject, {k: v for k, v in values.items() if k in cols})

    def connected_user(self) -> dict:
        return self.user(self.store.meta("connected_user_id"))


def _standard_profiles():
    from orgsim.scenario import STANDARD_PROFILES

    return STANDARD_PROFILES.items()


def _not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


# -- metadata helpers -------------------------------------------------------------------------------------

#: folder -> (metadata type, file suffix), for the types the simulator reads from a deploy zip.
FOLDERS = {
    "permissionsets": ("PermissionSet", ".permissionset"),
    "settings": ("Settings", ".settings"),
    "connectedApps": ("ConnectedApp", ".connectedApp"),
    "blacklistedConsumers": ("BlacklistedConsumer", ".blacklistedConsumer"),
    eca.MD_FOLDER: (eca.MD_TYPE, eca.MD_SUFFIX),
}


@dataclass
class RetrieveResult:
    zip_bytes: bytes
    file_properties: list[dict[str, str]]
    messages: list[dict[str, str]]


@dataclass
class Component:
    md_type: str
    full_name: str
    file_name: str
    body: bytes = field(repr=False)

    def describe(self) -> dict[str, str]:
        return {
            "componentType": self.md_type,
            "fullName": self.full_name,
            "fileName": self.file_name,
        }

    def parse(self):
        try:
            return etree.fromstring(self.body)
        except etree.XMLSyntaxError as exc:
            raise _ComponentProblem(f"Error parsing file: {exc}") from None


class _ComponentProblem(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _read_package(zip_bytes: bytes) -> list[Component]:
    """The components of an MDAPI deploy zip (``package.xml`` at the root or in one top folder)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
        names = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, ValueError):
        raise ValueError("The deploy package is not a valid zip file") from None
    manifests = [n for n in names if n.rsplit("/", 1)[-1] == "package.xml"]
    if not manifests:
        raise ValueError("No package.xml found")
    prefix = min(manifests, key=len)[: -len("package.xml")]
    components = []
    for name in names:
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix) :]
        if rel in (
            "package.xml",
            "destructiveChanges.xml",
            "destructiveChangesPre.xml",
            "destructiveChangesPost.xml",
        ):
            continue
        folder, _, file_name = rel.partition("/")
        md_type, suffix = FOLDERS.get(folder, (folder, ""))
        full_name = (
            file_name[: -len(suffix)]
            if suffix and file_name.endswith(suffix)
            else file_name.rsplit(".", 1)[0]
        )
        if rel.endswith("-meta.xml"):
            continue
        components.append(Component(md_type, full_name, rel, zf.read(name)))
    return components


def _deploy_result(check_only, successes, failures, *, total=None, error=None) -> dict[str, Any]:
    ok = not failures and error is None
    return {
        "status": "Succeeded" if ok else "Failed",
        "success": ok,
        "checkOnly": check_only,
        "numberComponentsTotal": total if total is not None else len(successes) + len(failures),
        "numberComponentsDeployed": len(successes),
        "numberComponentErrors": len(failures),
        "componentSuccesses": successes,
        "componentFailures": failures,
        "errorMessage": error,
        "errorStatusCode": "UNKNOWN_EXCEPTION" if error else None,
    }


def _package_xml(types: dict[str, list[str]]) -> bytes:
    root = etree.Element("Package", nsmap={None: MD_NS})
    for md_type in sorted(types):
        t = _sub(root, "types")
        for member in sorted(types[md_type]):
            _sub(t, "members", member)
        _sub(t, "name", md_type)
    _sub(root, "version", "66.0")
    return _xml(root)


def _md(tag: str):
    return etree.Element(f"{{{MD_NS}}}{tag}", nsmap={None: MD_NS})


def _sub(parent, tag: str, text: str | None = None):
    el = etree.SubElement(parent, f"{{{MD_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _b(value: bool) -> str:
    return "true" if value else "false"


def _children(el, tag: str) -> list:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == tag]


def _child(el, tag: str):
    found = _children(el, tag)
    return found[0] if found else None


def _text(el, tag: str) -> str | None:
    c = _child(el, tag)
    return (c.text or "").strip() if c is not None else None


def _texts(el, tag: str) -> list[str]:
    return [(c.text or "").strip() for c in _children(el, tag)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
