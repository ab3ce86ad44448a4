"""The Metadata API rules: ``listMetadata``, ``retrieve`` and ``deploy`` (``rollbackOnError``, ``checkOnly``)
for PermissionSet, Settings:ConnectedApp, ConnectedApp and BlacklistedConsumer, plus the types other rule
modules register in ``registry.METADATA_TYPES`` (the ECA's policies). Each rule cites
``../shared/docs/salesforce-facts.md`` ("facts §N"). The SOAP protocol is ``soap.py``.

:class:`Metadata` is a part of ``platform.Org`` (it uses ``ConnectedApps`` and ``Identity``).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from lxml import etree

from orgsim import mdxml, registry
from orgsim.errors import SalesforceError
from orgsim.mdpackage import (
    Component,
    ComponentProblem,
    RetrieveResult,
    deploy_result,
    read_package,
)
from orgsim.object_rules import PERMSET_NAME_MESSAGE, PERMSET_NAME_RE

#: The Metadata API types the simulator models itself (``registry.METADATA_TYPES`` adds the ECA's).
MODELLED_TYPES = ("BlacklistedConsumer", "ConnectedApp", "PermissionSet", "Profile", "Settings")
#: The built-in standard profiles (``scenario.STANDARD_PROFILES``): ``custom`` false in their metadata.
STANDARD_PROFILE_NAMES = frozenset(
    {
        "System Administrator",
        "Standard User",
        "Minimum Access - Salesforce",
        "Minimum Access - API Only Integrations",
    }
)
#: Profile names whose Metadata API full name differs: the standard profiles retrieve as ``Admin.profile``
#: and ``Standard.profile`` (VERIFIED-3P: the file names in public SFDX repositories); other profiles keep
#: their name (UNCERTAIN for the two Minimum Access profiles).
PROFILE_FULL_NAMES = {"System Administrator": "Admin", "Standard User": "Standard"}
#: ConnectedApp ``oauthPolicy`` values (facts §6.1).
IP_RELAXATIONS = ("ENFORCE", "BYPASS_2FACTOR", "BYPASS", "ENFORCE_RELAXREFRESH")
REFRESH_TOKEN_POLICY_RE = re.compile(
    r"zero|infinite|specific_(lifetime|inactivity):[1-9][0-9]*:(HOURS|DAYS|MONTHS)"
)


def profile_full_name(name: str) -> str:
    """The Metadata API ``fullName`` of the profile named ``name``."""
    return PROFILE_FULL_NAMES.get(name, name)


class Metadata:
    """Metadata API list / retrieve / deploy against the org's records."""

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

    def metadata_types(self) -> list[str]:
        """The Metadata API types this org answers for: the modelled ones plus registered ones."""
        return sorted({*MODELLED_TYPES, *registry.METADATA_TYPES})

    def check_metadata_type(self, md_type: str) -> None:
        """Raise ``SalesforceError`` ``INVALID_TYPE`` "Unknown type:X" for a type the org does not answer
        for (Salesforce's SOAP fault ``sf:INVALID_TYPE`` "INVALID_TYPE: Unknown type:MobileSettings",
        alan-morey/force-meta-backup#1, certinia/apex-mdapi#179). A real type the simulator does not model
        is refused the same way: when in doubt the simulator refuses rather than answer "none"."""
        if md_type not in self.metadata_types():
            raise SalesforceError("INVALID_TYPE", f"Unknown type:{md_type}")

    def _file_properties(self, md_type, full_name, file_name, row=None, record_id=""):
        """A ``FileProperties`` dict; dates and creator/modifier from ``row`` (the sObject row behind the
        component) when there is one, else the org's creation (``Organization``)."""
        source = row or self.store.find_one("Organization") or {}

        def name_of(user_id):
            user = self.user(user_id) if user_id else None
            return user.get("Name") if user else ""

        def date(value):
            return (value or self.store.now()).replace("+0000", "Z")

        return {
            "createdById": source.get("CreatedById") or "",
            "createdByName": name_of(source.get("CreatedById")),
            "createdDate": date(source.get("CreatedDate")),
            "fileName": file_name,
            "fullName": full_name,
            "id": record_id or (row or {}).get("Id") or "",
            "lastModifiedById": source.get("LastModifiedById") or "",
            "lastModifiedByName": name_of(source.get("LastModifiedById")),
            "lastModifiedDate": date(source.get("LastModifiedDate")),
            "manageableState": "unmanaged",
            "type": md_type,
        }

    def list_metadata(self, md_type: str) -> list[dict[str, Any]]:
        """``listMetadata`` results (``FileProperties`` dicts, dates and creator ids of the rows behind
        them) for the types the simulator models: PermissionSet (not profile-owned), Profile (every
        profile, standard ones included, :func:`profile_full_name`), ConnectedApp (see
        :meth:`metadata_sees_connected_app`), BlacklistedConsumer (blocked apps, facts §6.2; no row holds
        when an app was blocked, so its dates are the org's), Settings (ConnectedApp), and registered types.
        Any other type raises ``SalesforceError`` ``INVALID_TYPE`` (:meth:`check_metadata_type`)."""
        self.check_metadata_type(md_type)
        out = []
        props = self._file_properties
        if md_type == "PermissionSet":
            for ps in self.store.find("PermissionSet", IsOwnedByProfile=0):
                out.append(
                    props(md_type, ps["Name"], f"permissionsets/{ps['Name']}.permissionset", ps)
                )
        elif md_type == "Profile":
            for prof in self.store.find("Profile"):
                full = profile_full_name(prof["Name"])
                out.append(props(md_type, full, f"profiles/{full}.profile", prof))
        elif md_type == "ConnectedApp":
            for app in self.apps():
                if self.metadata_sees_connected_app(app["name"]):
                    row = self.store.get("ConnectedApplication", app["connected_application_id"])
                    out.append(
                        props(
                            md_type, app["name"], f"connectedApps/{app['name']}.connectedApp", row
                        )
                    )
        elif md_type == "BlacklistedConsumer":
            for app in self.apps():
                if app["blocked"]:
                    out.append(
                        props(
                            md_type,
                            app["name"],
                            f"blacklistedConsumers/{app['name']}.blacklistedConsumer",
                        )
                    )
        elif md_type == "Settings":
            out.append(props(md_type, "ConnectedApp", "settings/ConnectedApp.settings"))
        elif md_type in registry.METADATA_TYPES:
            for full_name, file_name in registry.METADATA_TYPES[md_type].list(self):
                out.append({**props(md_type, full_name, file_name), "manageableState": "installed"})
        return out

    def read_metadata(self, md_type: str, full_names: list[str]) -> list[tuple[str, Any] | None]:
        """``readMetadata(type, fullNames)`` for PermissionSet, ConnectedApp and the registered types (the ECA's
        policies, ``registry.METADATA_TYPES``): per name, ``(fullName,
        root element)`` of the component as a retrieve renders it, or ``None`` where the org has no such
        component (Salesforce answers an empty record then; UNCERTAIN whether it has ``xsi:nil``). Unknown
        types raise ``INVALID_TYPE`` (:meth:`check_metadata_type`); other modelled types are refused with
        ``INVALID_TYPE`` too (the simulator does not model reading them)."""
        self.check_metadata_type(md_type)
        if md_type not in ("PermissionSet", "ConnectedApp", *registry.METADATA_TYPES):
            raise SalesforceError(
                "INVALID_TYPE", f"The org simulator does not model readMetadata of type {md_type}"
            )
        listed = {p["fullName"] for p in self.list_metadata(md_type)}
        out: list[tuple[str, Any] | None] = []
        for name in full_names:
            body = self._render_component(md_type, name) if name in listed else None
            out.append((name, etree.fromstring(body)) if body else None)
        return out

    def retrieve_metadata(self, types: dict[str, list[str]]) -> RetrieveResult:
        """``retrieve`` of an unpackaged manifest ``{type: [members]}`` (``*`` = all). Returns the zip (entries
        under ``unpackaged/``, as cci's ``zip_subfolder`` needs, cumulusci-notes §3.6), file properties and
        ``messages`` for members that do not exist: "Entity of type 'X' named 'Y' cannot be found", and for
        types the org does not know: "Unknown type name 'X' specified in package.xml" (the deploy error's
        wording, seen in public deploy logs; for a retrieve UNCERTAIN)."""
        files: dict[str, bytes] = {}
        props: list[dict[str, str]] = []
        messages: list[dict[str, str]] = []
        retrieved: dict[str, list[str]] = {}
        for md_type, members in types.items():
            if md_type not in self.metadata_types():
                messages.append(
                    {
                        "fileName": "unpackaged/package.xml",
                        "problem": f"Unknown type name '{md_type}' specified in package.xml",
                    }
                )
                continue
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
        files["unpackaged/package.xml"] = mdxml.package_xml(retrieved)
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
            root = mdxml.md("PermissionSet")
            if ps.get("Description"):
                mdxml.sub(root, "description", ps["Description"])
            mdxml.sub(root, "hasActivationRequired", "false")
            mdxml.sub(root, "label", ps["Label"])
            self._add_user_permissions(root, ps)
            return mdxml.xml(root)
        if md_type == "Profile":
            return self._profile_xml(member)
        if md_type == "Settings" and member == "ConnectedApp":
            return mdxml.xml(self._connected_app_settings())
        if md_type == "ConnectedApp":
            return mdxml.xml(self._connected_app_xml(member))
        if md_type in registry.METADATA_TYPES:
            return registry.METADATA_TYPES[md_type].render(self, member)
        if md_type == "BlacklistedConsumer":
            state = self.app_state(member)
            root = mdxml.md("BlacklistedConsumer")
            mdxml.sub(root, "blockedByApiWhitelisting", "false")
            mdxml.sub(root, "consumerKey", state["consumer_key"])
            mdxml.sub(root, "consumerName", state["label"])
            mdxml.sub(root, "masterLabel", state["label"])
            return mdxml.xml(root)
        return None

    def _profile_xml(self, member: str) -> bytes | None:
        """A Profile as a retrieve returns it with no other types in the package: ``custom``,
        ``userLicense`` and one ``userPermissions`` per enabled permission (the profile's own permission
        set, facts §5)."""
        prof = next(
            (p for p in self.store.find("Profile") if profile_full_name(p["Name"]) == member), None
        )
        if prof is None:
            return None
        ps = self.store.find_one("PermissionSet", ProfileId=prof["Id"], IsOwnedByProfile=1) or prof
        licence = self.store.get("UserLicense", prof.get("UserLicenseId") or "") or {}
        root = mdxml.md("Profile")
        mdxml.sub(root, "custom", mdxml.b(prof["Name"] not in STANDARD_PROFILE_NAMES))
        if licence.get("Name"):
            mdxml.sub(root, "userLicense", licence["Name"])
        self._add_user_permissions(root, ps)
        return mdxml.xml(root)

    def _add_user_permissions(self, root, permission_set: dict) -> None:
        """``<userPermissions>`` (enabled, name) for each known permission the row holds, sorted."""
        for perm in sorted(self.known_user_permissions()):
            if permission_set.get("Permissions" + perm):
                up = mdxml.sub(root, "userPermissions")
                mdxml.sub(up, "enabled", "true")
                mdxml.sub(up, "name", perm)

    def app_oauth_policy(self, name: str) -> dict[str, str]:
        """The installed app's OAuth policies ``{ip_relaxation, refresh_token_policy}`` (scenario
        ``app.oauth_policy``, or a ConnectedApp deploy's ``oauthPolicy``); the defaults ENFORCE and
        infinite where nothing set them (facts §6.1)."""
        stored = self.store.meta("app_policies", {}).get(name) or {}
        return {
            "ip_relaxation": stored.get("ip_relaxation", "ENFORCE"),
            "refresh_token_policy": stored.get("refresh_token_policy", "infinite"),
        }

    def _connected_app_settings(self):
        """``settings/ConnectedApp.settings`` (facts §2): ``enableAdminApprovedAppsOnly`` and
        ``enableAdminApprovedAppsOnlyForExternalUser`` only where API Access Control is provisioned. Where it
        is not, what a retrieve returns is UNCERTAIN (facts §2 open item); the simulator models the
        conservative case: the file comes back without those fields."""
        root = mdxml.md("ConnectedAppSettings")
        if self.acc_provisioned:
            mdxml.sub(root, "enableAdminApprovedAppsOnly", mdxml.b(self.acc_enforcing))
            mdxml.sub(root, "enableAdminApprovedAppsOnlyForExternalUser", "false")
        mdxml.sub(root, "enableSkipUserProvisioningWizardWelcomePage", "false")
        return root

    def _connected_app_xml(self, name: str):
        """A ConnectedApp as the Metadata API would return it for an installed third-party app (facts §6.1):
        label, contactEmail, oauthConfig (callbackUrl, consumerKey, isAdminApproved, scopes), oauthPolicy
        (``ipRelaxation``, ``refreshTokenPolicy``: the stored policies, :meth:`app_oauth_policy`), and one
        ``permissionSetName`` / ``profileName`` per SetupEntityAccess row."""
        state = self.app_state(name)
        root = mdxml.md("ConnectedApp")
        mdxml.sub(root, "contactEmail", "support@6sense.com")
        mdxml.sub(root, "label", state["label"])
        oauth = mdxml.sub(root, "oauthConfig")
        mdxml.sub(oauth, "callbackUrl", "https://login.6sense.com/salesforce/callback")
        mdxml.sub(oauth, "consumerKey", state["consumer_key"])
        mdxml.sub(oauth, "isAdminApproved", mdxml.b(state["admin_approved"]))
        for scope in ("Api", "RefreshToken"):
            mdxml.sub(oauth, "scopes", scope)
        policy = mdxml.sub(root, "oauthPolicy")
        stored = self.app_oauth_policy(name)
        mdxml.sub(policy, "ipRelaxation", stored["ip_relaxation"])
        mdxml.sub(policy, "refreshTokenPolicy", stored["refresh_token_policy"])
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
            mdxml.sub(root, "permissionSetName", n)
        for n in sorted(profiles):
            mdxml.sub(root, "profileName", n)
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
                components = read_package(zip_bytes)
            except ValueError as exc:
                return deploy_result(check_only, [], [], error=str(exc))
            plans, failures = [], []
            for comp in components:
                try:
                    plans.append((comp, self._validate_component(comp)))
                except ComponentProblem as exc:
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
            return deploy_result(check_only, successes, failures, total=len(components))

    def _validate_component(self, comp: Component):
        if comp.md_type == "PermissionSet":
            return self._validate_permission_set(comp)
        if comp.md_type == "Settings":
            return self._validate_settings(comp)
        if comp.md_type == "ConnectedApp":
            return self._validate_connected_app(comp)
        if comp.md_type in registry.METADATA_TYPES:
            return registry.METADATA_TYPES[comp.md_type].validate(self, comp, ComponentProblem)
        raise ComponentProblem(
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
            raise ComponentProblem(PERMSET_NAME_MESSAGE)
        label = mdxml.text(root, "label")
        if not label:
            raise ComponentProblem("Required field is missing: label")
        known = self.known_user_permissions()
        enabled = []
        for up in mdxml.children(root, "userPermissions"):
            perm = mdxml.text(up, "name") or ""
            if perm not in known:
                raise ComponentProblem(f"Unknown user permission: {perm}")
            if (mdxml.text(up, "enabled") or "false").lower() == "true":
                enabled.append(perm)
        existing = self.store.find_one("PermissionSet", Name=name)
        if existing and existing.get("IsOwnedByProfile"):
            raise ComponentProblem(
                f"{name}: a profile's permission set cannot be deployed as a PermissionSet"
            )
        description = mdxml.text(root, "description")

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
            raise ComponentProblem(
                f"The org simulator does not model Settings:{comp.full_name}; nothing was deployed."
            )
        root = comp.parse()
        value = mdxml.text(root, "enableAdminApprovedAppsOnly")
        if value is not None and not self.acc_provisioned:
            raise ComponentProblem(
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

    def _oauth_policy_of(self, root, name: str) -> dict[str, str] | None:
        """The ``oauthPolicy`` of a deployed ConnectedApp merged over the stored one, or ``None`` when the
        file has none. Values as facts §6.1 lists them; another value is a component problem (its
        wording UNCERTAIN)."""
        node = mdxml.child(root, "oauthPolicy")
        if node is None:
            return None
        policy = self.app_oauth_policy(name)
        ip = mdxml.text(node, "ipRelaxation")
        refresh = mdxml.text(node, "refreshTokenPolicy")
        if ip is not None:
            if ip not in IP_RELAXATIONS:
                raise _policy_problem("ipRelaxation", ip)
            policy["ip_relaxation"] = ip
        if refresh is not None:
            if not REFRESH_TOKEN_POLICY_RE.fullmatch(refresh):
                raise _policy_problem("refreshTokenPolicy", refresh)
            policy["refresh_token_policy"] = refresh
        return policy

    def _validate_connected_app(self, comp: Component):
        """ConnectedApp deploy (facts §6.1). An app the Metadata API does not see (not installed, or installed
        third-party apps are not retrievable in this org) would be *created*: refused, because "Connected apps
        creation is restricted as of Spring '26". For a visible app the consumer org "can only edit the app's
        access policies": ``oauthConfig/isAdminApproved`` (the Permitted Users policy, same effect as
        :meth:`set_policy`), ``oauthPolicy`` (``ipRelaxation``, ``refreshTokenPolicy``, stored and shown by
        later retrieves), ``permissionSetName`` and ``profileName`` (full state: the listed names become the
        app's SetupEntityAccess rows; they need ``isAdminApproved`` true)."""
        name = comp.full_name
        if not self.metadata_sees_connected_app(name):
            raise ComponentProblem(
                f"Cannot create connected app {name}: Connected apps creation is restricted as of Spring '26. "
                "Use an external client app, or contact Salesforce Support."
            )
        root = comp.parse()
        oauth = mdxml.child(root, "oauthConfig")
        approved_text = mdxml.text(oauth, "isAdminApproved") if oauth is not None else None
        state = self.app_state(name)
        approved = (
            state["admin_approved"] if approved_text is None else approved_text.lower() == "true"
        )
        ps_names = [t for t in (mdxml.texts(root, "permissionSetName")) if t]
        profile_names = [t for t in (mdxml.texts(root, "profileName")) if t]
        lists_given = bool(
            mdxml.children(root, "permissionSetName") or mdxml.children(root, "profileName")
        )
        if (ps_names or profile_names) and not approved:
            raise ComponentProblem(
                "permissionSetName and profileName require oauthConfig/isAdminApproved to be true"
            )
        parents = []
        for ps_name in ps_names:
            ps = self.store.find_one("PermissionSet", Name=ps_name, IsOwnedByProfile=0)
            if not ps:
                raise ComponentProblem(
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
                raise ComponentProblem(
                    f"In field: profileName - no Profile named {prof_name} found"
                )
            parents.append(ps["Id"])

        policy = self._oauth_policy_of(root, name)

        def apply(user):
            if policy is not None:
                stored = dict(self.store.meta("app_policies", {}))
                stored[name] = policy
                self.store.set_meta("app_policies", stored)
                self.sync_refresh_token_fields(name)
                self.store.bump()
            if lists_given:
                self.set_access(name, parents)
            if approved != state["admin_approved"] or approved:
                self.set_policy("admin_approved" if approved else "all_users", name, by=user["Id"])
            return False

        return apply


def _policy_problem(field: str, value: str) -> ComponentProblem:
    return ComponentProblem(f"oauthPolicy/{field}: invalid value '{value}' (facts §6.1)")
