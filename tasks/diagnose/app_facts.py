"""Diagnose's facts about the vendor's app: candidates, installed state, blocked consumers, access, tokens.

OauthToken is counted first (``SELECT COUNT()``) and read only filtered by AppName / UserId, within the
2,500-row cap (facts §4.1); never a token value.
"""

from __future__ import annotations

import io

from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiListMetadata, ApiRetrieveUnpackaged
from lxml import etree

from .. import app_policy, app_resolution, connected_user
from ..base import (
    OAUTH_USAGE_PATH,
)
from ..errors import SixsenseOrgError
from ..metadata_xml import MD_NS, package_xml, read_policy_template
from ..queries import (
    OAUTH_TOKEN_ROW_CAP,
    app_menu_items_soql,
    app_tokens_where,
    connected_apps_soql,
    soql_in,
    soql_quote,
    token_count_soql,
    token_rows_soql,
)
from ..vendor import VENDOR


def _lower_set(values) -> set[str]:
    return {str(v).lower() for v in values if v}


class AppFacts:
    """Mixin of :class:`tasks.diagnose.task.Diagnose` (needs ``SixsenseOrgMixin`` and ``self.warnings``)."""

    # -- the app ---------------------------------------------------------------------------------------

    def _app_facts(self, users: dict) -> tuple[dict, dict]:
        names = list(self.app_names)
        lower_names = _lower_set(names)
        candidates: dict[str, dict] = {}

        def cand(name: str) -> dict:
            key = name.lower()
            if key not in candidates:
                candidates[key] = {
                    "name": name,
                    "sources": [],
                    "connected_application_id": None,
                    "installed": False,
                    "installed_date": None,
                    "admin_approved": False,
                    "policy_modified": None,
                    "app_menu_items": [],
                    "token_count": 0,
                    "token_user_count": 0,
                    "blocked": False,
                }
            return candidates[key]

        def add_source(c, source):
            if source not in c["sources"]:
                c["sources"].append(source)

        # ConnectedApplication: a row exists once the app is installed (facts §3). Read-only object.
        # Exact configured names only (the resolver's rule, tasks/app_resolution.py): raw rows, so that
        # diagnose reports an ambiguity instead of stopping on it.
        apps = (
            self._safe("ConnectedApplication", lambda: self._query(connected_apps_soql(names)), [])
            or []
        )
        apps_by_id = {a["Id"]: a for a in apps}

        # AppMenuItem: App Launcher items, linked to ConnectedApplication by ApplicationId (facts §4.2).
        menu_items = self._app_menu_items(names, list(apps_by_id))
        missing_app_ids = [
            m["ApplicationId"]
            for m in menu_items
            if m.get("ApplicationId") and m["ApplicationId"] not in apps_by_id
        ]
        if missing_app_ids:
            extra = self._safe(
                "ConnectedApplication",
                lambda: self._query(
                    "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly "
                    f"FROM ConnectedApplication WHERE Id IN {soql_in(missing_app_ids)}"
                ),
                [],
            )
            apps_by_id.update({a["Id"]: a for a in extra})
        not_matched: dict[str, dict] = {}

        def look_alike(name, source):
            entry = not_matched.setdefault(name.lower(), {"name": name, "seen_in": []})
            if source not in entry["seen_in"]:
                entry["seen_in"].append(source)

        for a in apps_by_id.values():
            if a["Name"].lower() not in lower_names:  # reached through a menu item's label only
                look_alike(a["Name"], "ConnectedApplication (by App Launcher label)")
                continue
            c = cand(a["Name"])
            add_source(c, "ConnectedApplication")
            c.update(
                connected_application_id=a["Id"],
                installed=True,
                installed_date=a.get("CreatedDate"),
                admin_approved=bool(a.get("OptionsAllowAdminApprovedUsersOnly")),
                policy_modified=a.get("LastModifiedDate"),
            )
        for m in menu_items:
            owner = apps_by_id.get(m.get("ApplicationId"))
            name = owner["Name"] if owner else (m.get("Name") or m.get("Label"))
            if name.lower() not in lower_names:
                look_alike(name, "AppMenuItem")
                continue
            c = cand(name)
            add_source(c, "AppMenuItem")
            c["app_menu_items"].append(
                {
                    "id": m.get("Id"),
                    "name": m.get("Name"),
                    "label": m.get("Label"),
                    "is_using_admin_authorization": m.get("IsUsingAdminAuthorization"),
                }
            )

        # OauthToken for the app names (AppName is the app's label, facts §4.1): count first. A row read now
        # is evidence in itself (the Permitted Users change deletes the tokens it revokes, facts §10.1).
        tokens_info, app_tokens = self._app_tokens(names, users)
        for t in app_tokens:
            c = cand(t["AppName"])
            add_source(c, "OauthToken")
        for c in candidates.values():
            mine = [t for t in app_tokens if (t.get("AppName") or "").lower() == c["name"].lower()]
            c["token_count"] = len(mine)
            c["token_user_count"] = len({t.get("UserId") for t in mine})
        for name, count in (tokens_info.get("app_counts") or {}).items():
            c = cand(name)
            add_source(c, "OauthToken")
            c["token_count"] = max(c["token_count"], count)

        # Blocked consumers (BlacklistedConsumer metadata, facts §6.2).
        blocked, blocked_detectable = self._blocked_apps(lower_names | set(candidates))
        for name in blocked:
            c = cand(name)
            add_source(c, "BlacklistedConsumer")
            c["blocked"] = True

        # SetupEntityAccess: who has access to each installed candidate (facts §5).
        access = self._app_access([c["connected_application_id"] for c in candidates.values()])
        for c in candidates.values():
            c["access"] = [a for a in access if a["app_id"] == c["connected_application_id"]]
            c["state"] = self._candidate_state(c)
        for name in names:
            cand(name)["state"] = self._candidate_state(cand(name))

        rank = {"blocked": 0, "admin_approved": 1, "installed": 2, "used": 3, "never_used": 4}
        ordered = sorted(
            candidates.values(),
            key=lambda c: (
                rank[c["state"]],
                c["name"].lower() not in lower_names,
                c["name"].lower(),
            ),
        )
        primary = ordered[0] if ordered else None
        setup_id = (users.get("setup") or {}).get("id")
        token_users = {t.get("UserId") for t in app_tokens}
        used = any(c["token_count"] for c in candidates.values())
        app = {
            "names": names,
            "primary": primary["name"] if primary else None,
            "state": self._overall_state(candidates.values()),
            "used": used,
            "used_by_others": bool(token_users - {setup_id, None})
            or bool(tokens_info.get("app_total", 0) > len(app_tokens)),
            "installed": any(c["installed"] for c in candidates.values()),
            "admin_approved": any(
                c["installed"] and c["admin_approved"] for c in candidates.values()
            ),
            "blocked": any(c["blocked"] for c in candidates.values()),
            "blocked_detectable": blocked_detectable,
            "access": access,
            "candidates": ordered,
            "oauth_usage_url": self._instance_url() + OAUTH_USAGE_PATH,
        }
        installed_rows = [a for a in apps_by_id.values() if a["Name"].lower() in lower_names]
        counts = {n: cand(n)["token_count"] for n in names}
        app["choice_required"] = (
            app_resolution.choice(names, installed_rows, counts) if len(names) > 1 else None
        )
        hidden = len(names) > 1 and installed_rows and connected_user.others_tokens_hidden(self)
        # Which candidate is in use is then unknown, not "none" (as in app_resolution.resolve).
        if hidden:
            app["choice_required"] = app_resolution.hidden_choice(names, installed_rows, hidden)
        if app["choice_required"]:
            self.warnings.append(app["choice_required"])
        for entry in self._look_alikes(lower_names):
            look_alike(entry["name"], entry["source"])
        app["not_matched"] = sorted(not_matched.values(), key=lambda e: e["name"].lower())
        app["policies"] = self._policy_facts(primary if primary and primary["installed"] else None)
        if not used and not app["installed"]:
            self.warnings.append(
                "No token and no installed row for the app: either it was never used here, or an attempt was "
                "denied (a denied attempt lists the app on OAuth Usage but leaves nothing the API can read)."
            )
        return app, tokens_info

    def _look_alikes(self, lower_names: set[str]) -> list[dict]:
        """Apps whose name or App Launcher label contains the vendor's label but is no configured name
        (ConnectedApplication, AppMenuItem; OauthToken rows are not listed for this: no row cap applies).
        Reported as "not matched", never used."""
        like = soql_quote(f"%{VENDOR.label}%")
        out = []
        for source, soql, field in (
            (
                "ConnectedApplication",
                f"SELECT Name FROM ConnectedApplication WHERE Name LIKE {like}",
                "Name",
            ),
            (
                "AppMenuItem",
                f"SELECT Label FROM AppMenuItem WHERE Label LIKE {like}",
                "Label",
            ),
        ):
            rows = (
                self._safe(f"{source} (look-alike apps)", lambda q=soql: self._query(q), []) or []
            )
            for r in rows:
                name = r.get(field)
                if name and name.lower() not in lower_names:
                    out.append({"name": name, "source": source})
        return out

    def _policy_facts(self, candidate: dict | None) -> dict:
        """The installed app's OAuth policies and whether they break the sync (``app_policy``): ``{"read":
        "ConnectedApp metadata" | "not readable: why" | "app not installed", "refresh_token_policy",
        "ip_relaxation", "refresh_ok", "refresh_why", "ip_ok", "ip_why", "effective_note",
        "connected_application", "validity_ok", "validity_why", "session_policy" (information only)}``
        (values None when not read: never
        "enforced" or "valid until revoked" by default). Where the metadata is not read, the refresh-token
        verdict is what ConnectedApplication's validity fields establish (``app_policy.assess_validity``).
        ``effective_note`` (facts §10.1) only where a policy read keeps the sync. A policy that breaks the
        sync, or one that could not be read, adds a warning with the fix."""
        out = {
            "read": "app not installed",
            "refresh_token_policy": None,
            "ip_relaxation": None,
            "refresh_ok": None,
            "refresh_why": None,
            "ip_ok": None,
            "ip_why": None,
            "effective_note": None,
        }
        if candidate is None:
            return out
        name = candidate["name"]
        out.update(
            app_policy.connected_application_facts(self, candidate["connected_application_id"])
        )
        try:
            read = app_policy.read_oauth_policy(self, name)
        except (SixsenseOrgError, MetadataApiError) as e:
            out["read"] = f"not readable: {e}"
        except Exception as e:  # noqa: BLE001 - cci's Metadata API client raises past _read
            out["read"] = f"not readable: Metadata API read failed: {type(e).__name__}: {e}"
        else:
            if read is None:
                out["read"] = (
                    f"not readable: this org does not list {name} as ConnectedApp metadata, the only place "
                    "its IP relaxation and refresh-token policy are kept (ConnectedApplication: validity only)"
                )
            else:
                out["read"] = "ConnectedApp metadata"
                desired = read_policy_template(self.project_config.repo_root)
                out["refresh_token_policy"] = read["refresh_token_policy"]
                out["ip_relaxation"] = read["ip_relaxation"]
                out["refresh_ok"], out["refresh_why"] = app_policy.assess_refresh(
                    read["refresh_token_policy"], desired.get("refresh_token_policy")
                )
                out["ip_ok"], out["ip_why"] = app_policy.assess_ip(
                    read["ip_relaxation"], desired.get("ip_relaxation")
                )
        fix = f"fix on {app_policy.FIX_PAGE} of {name}"
        if out["read"] != "ConnectedApp metadata":
            out["refresh_ok"], out["refresh_why"] = out["validity_ok"], out["validity_why"]
            self.warnings.append(
                f"{name}'s refresh-token policy and IP relaxation: could not read ({out['read']}; "
                f"{out['validity_why'] or 'ConnectedApplication ' + out['connected_application']}); check them "
                f"on {app_policy.FIX_PAGE}: 'Expire refresh token immediately', a fixed lifetime or enforced IP "
                f"restrictions stop {VENDOR.label}'s sync."
            )
        out["effective_note"] = app_policy.EFFECTIVE_POLICY_NOTE if out["refresh_ok"] else None
        if out["refresh_ok"] is False:
            self.warnings.append(
                f"{name}'s refresh-token policy breaks the sync: {out['refresh_why']}; {fix} (the desired "
                "policy: Refresh token is valid until revoked), then reauthorize the integration user."
            )
        if out["ip_ok"] is False:
            self.warnings.append(
                f"{name}'s IP relaxation is stricter than the desired policy: {out['ip_why']}; {fix}."
            )
        elif (out["ip_relaxation"] or "").upper() == "ENFORCE":
            self.warnings.append(
                f"{name} enforces IP restrictions: {VENDOR.label}'s token refreshes fail if the integration "
                "user's profile has Login IP Ranges that exclude its servers; then relax IP restrictions "
                f"(or for refresh tokens) on {app_policy.FIX_PAGE}."
            )
        return out

    @staticmethod
    def _candidate_state(c: dict) -> str:
        if c["blocked"]:
            return "blocked"
        if c["installed"] and c["admin_approved"]:
            return "admin_approved"
        if c["installed"]:
            return "installed"
        if c["token_count"]:
            return "used"
        return "never_used"

    @staticmethod
    def _overall_state(candidates) -> str:
        states = {c["state"] for c in candidates}
        for state in ("blocked", "admin_approved", "installed", "used"):
            if state in states:
                return state
        return "never_used"

    def _app_menu_items(self, names: list[str], app_ids: list[str]) -> list[dict]:
        return (
            self._safe(
                "AppMenuItem",
                lambda: self._query(app_menu_items_soql(names, app_ids)),
                [],
            )
            or []
        )

    def _count(self, where: str) -> int:
        """``SELECT COUNT() FROM OauthToken WHERE ...`` (totalSize of a COUNT() query)."""
        return self._total(token_count_soql(where))

    def _read_tokens(self, where: str, count: int) -> list[dict]:
        """OauthToken rows for ``where`` (never the secret fields), at most the 2,500-row cap."""
        if count == 0:
            return []
        if count > OAUTH_TOKEN_ROW_CAP:  # token_rows_soql limits the rows to the cap
            self.warnings.append(
                f"{count} OauthToken rows match ({where}); Salesforce returns at most {OAUTH_TOKEN_ROW_CAP}, "
                "so per-user figures below come from user-filtered queries."
            )
        return self._query(token_rows_soql(where, count))

    def _app_tokens(self, names: list[str], users: dict) -> tuple[dict, list[dict]]:
        """OauthToken facts: ``app_total`` (COUNT() for the app names), ``app_counts`` (per name, only past
        the row cap), ``integration_user`` {app: summary, other_apps: [{app, count, last_used}]},
        ``setup_user`` {app: summary}; and the app's token rows (secret fields never selected)."""
        info: dict = {
            "app_total": 0,
            "app_counts": {},
            "integration_user": None,
            "setup_user": None,
        }
        hidden = connected_user.others_tokens_hidden(self)  # the one rule (facts §10.1)
        if hidden:
            # Salesforce shows such a user only its own tokens: an empty read would pass for "never used".
            self._not_readable(
                "OauthToken",
                f"OauthToken: could not read other users' tokens ({hidden}); whether the app is in use and "
                "which grants the integration user holds are unknown, not absent.",
            )
            return info, []
        app_where = app_tokens_where(names)

        all_app_rows: list[bool] = []  # set once every token row of the app was read

        def read_app():
            total = self._count(app_where)
            info["app_total"] = total
            if total <= OAUTH_TOKEN_ROW_CAP:
                rows = self._read_tokens(app_where, total)
                all_app_rows.append(True)
                return rows
            # Too many to read: one COUNT() per name, rows only per user (below).
            for name in names:
                info["app_counts"][name] = self._count(f"AppName = {soql_quote(name)}")
            return []

        app_tokens = self._safe("OauthToken", read_app, []) or []
        setup = users.get("setup") or {}
        integration = users.get("integration") or {}

        def user_tokens(user: dict, all_apps: bool) -> dict:
            uid = user["id"]
            where = f"UserId = {soql_quote(uid)}"
            if not all_apps and all_app_rows:
                rows = [t for t in app_tokens if t.get("UserId") == uid]  # every app row was read
            else:
                if not all_apps:
                    where = f"{app_where} AND {where}"
                rows = self._read_tokens(where, self._count(where))
            mine = [r for r in rows if (r.get("AppName") or "").lower() in _lower_set(names)]
            others: dict[str, dict] = {}
            for r in rows:
                if r in mine:
                    continue
                o = others.setdefault(
                    r.get("AppName"), {"app": r.get("AppName"), "count": 0, "last_used": None}
                )
                o["count"] += 1
                if (r.get("LastUsedDate") or "") > (o["last_used"] or ""):
                    o["last_used"] = r.get("LastUsedDate")
            return {
                "app": self._summarize(mine),
                "other_apps": sorted(others.values(), key=lambda o: o["app"] or ""),
            }

        if integration.get("found"):
            info["integration_user"] = self._safe(
                "OauthToken (integration user)", lambda: user_tokens(integration, True), None
            )
        if setup.get("found"):
            result = self._safe("OauthToken (setup user)", lambda: user_tokens(setup, False), None)
            info["setup_user"] = {"app": result["app"]} if result else None
        return info, app_tokens

    @staticmethod
    def _summarize(rows: list[dict]) -> dict:
        if not rows:
            return {
                "count": 0,
                "first_created": None,
                "last_created": None,
                "last_used": None,
                "use_count": 0,
            }
        created = sorted(r.get("CreatedDate") or "" for r in rows)
        last_used = max((r.get("LastUsedDate") or "" for r in rows), default="") or None
        return {
            "count": len(rows),
            "first_created": created[0] or None,
            "last_created": created[-1] or None,
            "last_used": last_used,
            "use_count": sum(int(r.get("UseCount") or 0) for r in rows),
        }

    def _blocked_apps(self, names: set[str]) -> tuple[list[str], bool]:
        """Names among ``names`` on the org's blocked list: ``listMetadata(BlacklistedConsumer)`` (a read),
        then, for entries whose fullName is not one of the names, a retrieve to compare consumerName and
        masterLabel. Returns (blocked names, detectable)."""
        api_version = self.project_config.project__package__api_version
        try:
            listed = self._read(
                "listMetadata",
                ApiListMetadata(self, "BlacklistedConsumer", as_of_version=api_version),
            )
        except MetadataApiError as e:
            self._not_readable(
                "Blocked apps", f"Blocked apps (BlacklistedConsumer listMetadata) not readable: {e}"
            )
            return [], False
        entries = [
            e.get("fullName")
            for e in (listed or {}).get("BlacklistedConsumer", [])
            if e.get("fullName")
        ]
        blocked = [n for n in entries if n.lower() in names]
        others = [n for n in entries if n.lower() not in names]
        if others:
            try:
                zip_file = self._read(
                    "Metadata retrieve",
                    ApiRetrieveUnpackaged(
                        self,
                        package_xml("BlacklistedConsumer", others, api_version),
                        api_version,
                    ),
                )
            except MetadataApiError as e:
                self._not_readable(
                    "Blocked apps", f"Blocked apps (BlacklistedConsumer retrieve) not readable: {e}"
                )
                return blocked, True
            for file_name in zip_file.namelist():
                if not file_name.startswith("blacklistedConsumers/"):
                    continue
                root = etree.parse(io.BytesIO(zip_file.read(file_name))).getroot()
                labels = root.xpath(
                    "/md:BlacklistedConsumer/md:consumerName/text() | /md:BlacklistedConsumer/md:masterLabel/text()",
                    namespaces={"md": MD_NS},
                )
                hit = [label.strip() for label in labels if label.strip().lower() in names]
                if hit and hit[0] not in blocked:
                    blocked.append(hit[0])
        return blocked, True

    def _app_access(self, app_ids: list[str | None]) -> list[dict]:
        ids = [i for i in app_ids if i]
        if not ids:
            return []
        rows = self._safe(
            "SetupEntityAccess",
            lambda: self._query(
                "SELECT Id, ParentId, Parent.Name, Parent.Label, Parent.IsOwnedByProfile, Parent.Profile.Name, "
                f"SetupEntityId FROM SetupEntityAccess WHERE SetupEntityId IN {soql_in(ids)}"
            ),
            [],
        )
        out = []
        for r in rows or []:
            parent = r.get("Parent") or {}
            is_profile = bool(parent.get("IsOwnedByProfile"))
            out.append(
                {
                    "type": "profile" if is_profile else "permission set",
                    "name": (parent.get("Profile") or {}).get("Name")
                    if is_profile
                    else parent.get("Name"),
                    "parent_id": r.get("ParentId"),
                    "app_id": r.get("SetupEntityId"),
                }
            )
        return sorted(out, key=lambda a: (a["type"], a["name"] or ""))

    def _user_access(self, user: dict, app: dict) -> tuple[bool, list[str]]:
        """Whether one of the user's permission sets (assigned, or its profile's own) has access to an
        installed candidate app; and through which."""
        if not app.get("access"):
            return False, []
        mine = (
            self._safe(
                "PermissionSetAssignment",
                lambda: self._assigned_permission_set_ids(user["id"]),
                set(),
            )
            or set()
        )
        profile_rows = self._safe(
            "PermissionSet",
            lambda: self._query(
                "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true "
                f"AND Profile.Name = {soql_quote(user.get('profile') or '')}"
            ),
            [],
        )
        mine |= {r["Id"] for r in profile_rows or []}
        via = [f"{a['type']} {a['name']}" for a in app["access"] if a["parent_id"] in mine]
        return bool(via), sorted(set(via))

    def _add_warnings(self, diagnosis: dict):
        integration = diagnosis["users"].get("integration") or {}
        others = ((diagnosis.get("tokens") or {}).get("integration_user") or {}).get(
            "other_apps"
        ) or []
        if others:
            self.warnings.append(
                "Reauthorizing the integration user may log it out of other integrations it holds tokens for: "
                + ", ".join(f"{o['app']} ({o['count']})" for o in others)
                + ". Reauthorize those if they stop syncing."
            )
        if integration.get("found") and integration.get("profile") == "System Administrator":
            self.warnings.append(
                "The integration user has the System Administrator profile; a dedicated least-privilege "
                "integration user is recommended."
            )
        if integration.get("found") and integration.get("api_enabled") is False:
            self.warnings.append(
                f"The integration user {integration['username']} has no API Enabled permission (profile or "
                f"permission set): {VENDOR.label} cannot sync through it."
            )
