"""Shared pieces of the External Client App steps: the desired policies, option declarations, ECA lookups."""

from __future__ import annotations

import re

from ..errors import SixsenseInputError, SixsenseOrgError
from ..queries import soql_in, soql_quote
from ..vendor import VENDOR

#: The vendor's ECA package version, the same for production and sandbox (facts §0).
ECA_PACKAGE_VERSION = VENDOR.eca_package_version
#: The names the vendor's ECA may carry (ExternalClientApplication DeveloperName or MasterLabel); the vendor
#: article does not give them (UNCERTAIN): override with ``eca_names``.
DEFAULT_ECA_NAMES = VENDOR.eca_names
#: The policies 6sense asks for (facts §0): metadata field -> value (ExtlClntAppOauthConfigurablePolicies,
#: facts §6.3). ``startUrl`` empty is "Start Page = None".
DESIRED_POLICIES = VENDOR.eca_policies
#: Metadata field -> ExtlClntAppOauthPlcyCnfg field (SOQL names of facts §10.2; StartUrl is not listed there:
#: every column is read only where the org's describe lists it).
POLICY_COLUMNS = {
    "permittedUsersPolicyType": "PermittedUsersPolicyType",
    "refreshTokenPolicyType": "RefreshTokenPolicyType",
    "refreshTokenValidityPeriod": "RefreshTokenValidityPeriod",
    "refreshTokenValidityUnit": "RefreshTokenValidityUnit",
    "startUrl": "StartUrl",
    "ipRelaxationPolicyType": "IpRelaxationPolicyType",
}
POLICY_LABELS = {
    "permittedUsersPolicyType": "Permitted Users",
    "refreshTokenPolicyType": "Refresh Token Policy",
    "refreshTokenValidityPeriod": "Refresh token validity period",
    "refreshTokenValidityUnit": "Refresh token validity unit",
    "startUrl": "Start Page",
    "ipRelaxationPolicyType": "IP Relaxation",
}
MD_TYPE = "ExtlClntAppOauthConfigurablePolicies"
MD_FOLDER = "extlClntAppOauthPolicies"
MD_SUFFIX = ".ecaOauthPlcy"
ECA_MANAGER_PATH = "/lightning/setup/ManageExternalClientApplication/home"
#: The policies whose SKIPPED check (not readable by SOQL) does not keep the ECA verification from passing,
#: with the reason. Start Page only picks the page shown after a user authorizes: the integration's API
#: access does not depend on it. Permitted Users and the refresh-token policy decide whether 6sense can
#: authorize and keep syncing, so their skips matter.
SKIPPABLE_POLICIES = {
    "startUrl": "Start Page only sets the page shown after authorizing; the integration does not use it",
}

#: A package version id (SubscriberPackageVersion.Id): key prefix 04t, 15 or 18 characters.
PACKAGE_VERSION_RE = re.compile(r"^04t[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def check_package_version(option: str, value: str) -> str:
    """``value`` if it is a package version id (``04t...``), else ``SixsenseInputError`` naming ``option``."""
    if not PACKAGE_VERSION_RE.match(value):
        raise SixsenseInputError(
            f"{option} {value!r} is not a package version id (15 or 18 characters starting 04t); pass "
            f"the id, e.g. -o {option} {ECA_PACKAGE_VERSION}, or leave it out for that default."
        )
    return value


ECA_OPTIONS = {
    "eca_names": {
        "description": f"Comma-separated names the {VENDOR.label} External Client App may carry (DeveloperName or label). "
        f"Default: {','.join(DEFAULT_ECA_NAMES)}.",
        "type": "list",
        "default": DEFAULT_ECA_NAMES,
    },
    "package_version": {
        "description": f"The {VENDOR.label} ECA package version id. Default: {ECA_PACKAGE_VERSION}.",
        "type": "text",
        "default": ECA_PACKAGE_VERSION,
        "check": check_package_version,
    },
}


def version_tuple(row: dict) -> tuple[int, int, int, int]:
    return (
        int(row.get("MajorVersion") or 0),
        int(row.get("MinorVersion") or 0),
        int(row.get("PatchVersion") or 0),
        int(row.get("BuildNumber") or 0),
    )


def version_text(row: dict) -> str:
    major, minor, patch, build = version_tuple(row)
    return f"{major}.{minor}.{patch}" + (f" (beta {build})" if row.get("IsBeta") else "")


def normalize(value) -> str:
    """A policy value as text for comparison (None -> "", 30.0 -> "30")."""
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value).strip()


class EcaMixin:
    """Lookups of the 6sense ECA shared by the ECA tasks (needs SixsenseOrgMixin)."""

    @property
    def eca_names(self) -> list[str]:
        return self.options["eca_names"]

    def _tooling_query(self, soql: str) -> list[dict]:
        return self._read("Tooling query", self.tooling.query_all, soql)["records"]

    def _package_status(self) -> dict:
        """The target version and what is installed of its package (Tooling: SubscriberPackageVersion by id,
        InstalledSubscriberPackage). ``{"target": row|None, "installed": row|None, "satisfied": bool}``."""
        version = self.options["package_version"]
        target = self._tooling_query(
            "SELECT Id, SubscriberPackageId, MajorVersion, MinorVersion, PatchVersion, BuildNumber, IsBeta "
            f"FROM SubscriberPackageVersion WHERE Id = {soql_quote(version)}"
        )
        target = target[0] if target else None
        installed = None
        if target:
            rows = self._tooling_query(
                "SELECT SubscriberPackageId, SubscriberPackageVersionId FROM InstalledSubscriberPackage "
                f"WHERE SubscriberPackageId = {soql_quote(target['SubscriberPackageId'])}"
            )
            if rows:
                current = self._tooling_query(
                    "SELECT Id, MajorVersion, MinorVersion, PatchVersion, BuildNumber, IsBeta "
                    "FROM SubscriberPackageVersion "
                    f"WHERE Id = {soql_quote(rows[0]['SubscriberPackageVersionId'])}"
                )
                installed = current[0] if current else {"Id": rows[0]["SubscriberPackageVersionId"]}
        satisfied = bool(
            target
            and installed
            and (
                installed["Id"] == target["Id"] or version_tuple(installed) >= version_tuple(target)
            )
        )
        return {"target": target, "installed": installed, "satisfied": satisfied}

    def _eca(self) -> dict | None:
        """The packaged 6sense ExternalClientApplication row (standard SOQL endpoint, facts §6.3), or None."""
        names = self.eca_names
        rows = self._query(
            "SELECT Id, DeveloperName, MasterLabel, DistributionState FROM ExternalClientApplication "
            f"WHERE DeveloperName IN {soql_in(names)} OR MasterLabel IN {soql_in(names)}"
        )
        rows.sort(key=lambda r: r.get("DistributionState") != "Packaged")
        return rows[0] if rows else None

    def _installed_eca(self) -> dict | None:
        """The ECA row (:meth:`_eca`); not installed: None in plan mode (an earlier step installs it), else
        ``SixsenseOrgError`` naming the step that installs it."""
        eca = self._eca()
        if eca is None and not self.plan:
            raise SixsenseOrgError(
                f"The {VENDOR.label} External Client App is not installed: run sixsense_install_eca_package "
                "first."
            )
        return eca

    def _eca_policies(self, eca: dict) -> dict | None:
        """The ECA's OAuth policy (ExtlClntAppOauthPlcyCnfg) as metadata field -> value; fields the org's
        describe does not list are absent (not checkable by query). None when the ECA has no policy row."""
        fields = self._describe_fields("ExtlClntAppOauthPlcyCnfg")
        columns = {k: c for k, c in POLICY_COLUMNS.items() if c in fields}
        rows = self._query(
            f"SELECT Id, {', '.join(columns.values())} FROM ExtlClntAppOauthPlcyCnfg "
            f"WHERE ExternalClientApplicationId = {soql_quote(eca['Id'])}"
        )
        if not rows:
            return None
        return {k: normalize(rows[0].get(c)) for k, c in columns.items()}

    def _policy_differences(self, policies: dict) -> dict:
        return {
            k: (policies.get(k), v)
            for k, v in DESIRED_POLICIES.items()
            if k in policies and policies[k] != v
        }

    def _eca_tokens(self, eca: dict, user_id: str | None = None) -> list[dict]:
        return self._oauth_tokens(
            list({eca.get("MasterLabel"), eca.get("DeveloperName")} - {None}), user_id
        )

    def _eca_manager_url(self) -> str:
        return self._instance_url() + ECA_MANAGER_PATH
