"""The 6sense External Client App (ECA) route: 6sense's supported method (facts §0; field-cases finding 1).

Install the packaged 6sense ECA by package version id with CumulusCI's standard install task, set its policies
(Start Page None, all users self-authorize, refresh token expires after 30 days unused) by metadata where the
org allows it, else guided, have the integration user authorize it in 6sense (guided), verify by query. For
connected-app customers, ``sixsense_remove_connected_app_access`` ends the migration, non-destructively.

ECA objects are read through the standard SOQL endpoint, not Tooling (facts §6.3); installed packages through
Tooling (``InstalledSubscriberPackage``, as CumulusCI reads them).
"""

from __future__ import annotations

import io
from pathlib import Path

import click
from cumulusci.core.config import TaskConfig
from cumulusci.core.utils import process_list_arg
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiListMetadata, ApiRetrieveUnpackaged
from cumulusci.tasks.salesforce.Deploy import Deploy
from cumulusci.tasks.salesforce.install_package_version import InstallPackageVersion
from lxml import etree

from .common import (
    MD_NS,
    PRODUCTION_OPTION,
    SETUP_PERMISSION_SET,
    ConfirmationRequired,
    SixsenseOrgError,
    SixsenseOrgMixin,
    SixsenseTask,
    check_file_path,
    init_production_option,
    package_xml,
    parse_bool_option,
    soql_in,
    soql_quote,
    stdin_is_tty,
)
from .guided import GuidedStep
from .verify import CheckReport, Unreadable

#: 6sense's ECA package version, the same for production and sandbox (facts §0).
ECA_PACKAGE_VERSION = "04tOH0000003W1lYAE"
#: The names the 6sense ECA may carry (ExternalClientApplication DeveloperName or MasterLabel). 6sense's
#: article does not give them (UNCERTAIN): override with ``eca_names``.
DEFAULT_ECA_NAMES = ["Sixsense_External_Client_App", "6sense External Client App"]
#: The policies 6sense asks for (facts §0): metadata field -> value (ExtlClntAppOauthConfigurablePolicies,
#: facts §6.3). ``startUrl`` empty is "Start Page = None".
DESIRED_POLICIES = {
    "permittedUsersPolicyType": "AllSelfAuthorized",
    "refreshTokenPolicyType": "SpecificInactivity",
    "refreshTokenValidityPeriod": "30",
    "refreshTokenValidityUnit": "Days",
    "startUrl": "",
}
#: Metadata field -> ExtlClntAppOauthPlcyCnfg field (only PermittedUsersPolicyType is attested in public code;
#: the others are read only where describe lists them).
POLICY_COLUMNS = {
    "permittedUsersPolicyType": "PermittedUsersPolicyType",
    "refreshTokenPolicyType": "RefreshTokenPolicyType",
    "refreshTokenValidityPeriod": "RefreshTokenValidityPeriod",
    "refreshTokenValidityUnit": "RefreshTokenValidityUnit",
    "startUrl": "StartUrl",
}
POLICY_LABELS = {
    "permittedUsersPolicyType": "Permitted Users",
    "refreshTokenPolicyType": "Refresh Token Policy",
    "refreshTokenValidityPeriod": "Refresh token validity period",
    "refreshTokenValidityUnit": "Refresh token validity unit",
    "startUrl": "Start Page",
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

ECA_OPTIONS = {
    "eca_names": {
        "description": "Comma-separated names the 6sense External Client App may carry (DeveloperName or label). "
        f"Default: {','.join(DEFAULT_ECA_NAMES)}.",
    },
    "package_version": {
        "description": f"The 6sense ECA package version id. Default: {ECA_PACKAGE_VERSION}.",
    },
}


def _version_tuple(row: dict) -> tuple[int, int, int, int]:
    return (
        int(row.get("MajorVersion") or 0),
        int(row.get("MinorVersion") or 0),
        int(row.get("PatchVersion") or 0),
        int(row.get("BuildNumber") or 0),
    )


def _version_text(row: dict) -> str:
    major, minor, patch, build = _version_tuple(row)
    return f"{major}.{minor}.{patch}" + (f" (beta {build})" if row.get("IsBeta") else "")


def normalize(field: str, value) -> str:
    """A policy value as text for comparison (None -> "", 30.0 -> "30")."""
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value).strip()


class EcaMixin:
    """Lookups of the 6sense ECA shared by the ECA tasks (needs SixsenseOrgMixin)."""

    def _init_eca_options(self):
        names = self.options.get("eca_names")
        if isinstance(names, str) and names.startswith("^^"):
            return
        names = process_list_arg(names) if names else list(DEFAULT_ECA_NAMES)
        self.options["eca_names"] = [n for n in names if n]
        self.options["package_version"] = self.options.get("package_version") or ECA_PACKAGE_VERSION

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
                installed["Id"] == target["Id"]
                or _version_tuple(installed) >= _version_tuple(target)
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
        return {k: normalize(k, rows[0].get(c)) for k, c in columns.items()}

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


class InstallEcaPackage(SixsenseOrgMixin, EcaMixin, InstallPackageVersion):
    task_docs = f"""
Install the 6sense External Client App package by version id (default ``{ECA_PACKAGE_VERSION}``, the same for
production and sandbox) with CumulusCI's standard ``install_managed`` (Tooling ``PackageInstallRequest``),
unless that version or a newer version of the same package is installed: CumulusCI itself skips only the exact
version id, and Salesforce cannot install an older version over a newer one. Then verifies by query that the
ECA (``ExternalClientApplication``, ``DistributionState`` Packaged) exists.

Options: those of ``install_managed`` (``security_type`` defaults to FULL), ``eca_names``, ``plan``.
Return values: ``installed`` (bool), ``status`` (already installed | installed | would install),
``version``, ``eca_id``.
    """
    task_options = {
        **{
            k: v
            for k, v in InstallPackageVersion.task_options.items()
            if k not in ("namespace", "version")
        },
        "namespace": {"description": "Not used (the package is named by its version id)."},
        "version": {"description": f"Package version id. Default: {ECA_PACKAGE_VERSION}."},
        **ECA_OPTIONS,
        "plan": SixsenseTask.task_options["plan"],
        "confirm_production": PRODUCTION_OPTION,
    }

    # cci's install task has an ``interactive`` option of its own (default False): the production guard
    # asks at a terminal whatever it says, as in the flow's other writing steps.
    interactive_option_is_ours = False

    def _tolerate_unparsable_git_remote(self):
        """CumulusCI's install task builds ``https://<host>/<owner>/<name>`` from the project's git remote even
        for a ``04t`` version, which never uses it, and raises IndexError where the remote is not a
        ``host/owner/name`` URL (a clone of a local path, some self-hosted servers). Only then, give it
        placeholders (the project's own name), so installing by version id works from any clone."""
        config = self.project_config
        try:
            config.server_domain, config.repo_owner, config.repo_name  # noqa: B018 (the check is the access)
        except (IndexError, ValueError):
            config.repo_info.update(
                {"domain": "localhost", "owner": "local", "name": config.project__name or "project"}
            )

    def _init_options(self, kwargs):
        kwargs = dict(kwargs or {})
        options = self.task_config.options or {}
        version = options.get("version") or options.get("package_version") or ECA_PACKAGE_VERSION
        self.task_config.config.setdefault("options", {})
        self.task_config.config["options"]["version"] = version
        self.task_config.config["options"].setdefault("name", "6sense External Client App")
        self.task_config.config["options"].setdefault("namespace", None)
        self._tolerate_unparsable_git_remote()
        super()._init_options(kwargs)
        self.options["package_version"] = version
        self._init_eca_options()
        init_production_option(self.options)
        plan = self.options.get("plan")
        self.options["plan"] = (
            False
            if plan in (None, "")
            else plan
            if isinstance(plan, bool) or str(plan).startswith("^^")
            else parse_bool_option("plan", plan)
        )

    def _run_task(self):
        status = self._package_status()
        if status["target"] is None:
            raise SixsenseOrgError(
                f"Package version {self.options['version']} is not available to this org (no "
                "SubscriberPackageVersion). Check the version id with 6sense."
            )
        target = _version_text(status["target"])
        if status["satisfied"]:
            installed = status["installed"]
            self.logger.info(
                f"6sense ECA package {_version_text(installed)} ({installed['Id']}) is installed, "
                f"the same as or newer than {target} ({self.options['version']}): nothing to install."
            )
            self._audit_note(
                before=f"installed {installed['Id']}", skipped=["package already installed"]
            )
            self._finish("already installed", installed["Id"])
            return
        if self.plan:
            self._plan_would(f"install the 6sense ECA package {target} ({self.options['version']})")
            self.return_values = {
                "installed": False,
                "status": "would install",
                "version": self.options["version"],
            }
            return
        self._audit_note(
            before="not installed"
            if not status["installed"]
            else f"older {status['installed']['Id']}"
        )
        self._confirm_production(f"install the 6sense ECA package {target}")
        super()._run_task()
        status = self._package_status()
        if not status["satisfied"]:
            raise SixsenseOrgError(
                "The package install reported success but the org does not list it installed."
            )
        self._audit_note(
            changed=[
                {
                    "object": "InstalledSubscriberPackage",
                    "action": "installed",
                    "what": self.options["version"],
                }
            ]
        )
        self._finish("installed", self.options["version"])

    def _finish(self, status, version):
        eca = self._eca()
        if eca is None:
            raise SixsenseOrgError(
                f"The 6sense package is installed but no External Client App named {' or '.join(self.eca_names)} "
                "is in the org. Check the names in Setup > External Client App Manager and pass eca_names."
            )
        self._log_table(
            "6sense ECA package",
            [
                ["check", "result"],
                ["package", f"{status}: {version}"],
                [
                    "External Client App",
                    f"{eca['MasterLabel']} ({eca['DistributionState']}, {eca['Id']})",
                ],
            ],
        )
        self._audit_note(after=f"{status}: {version}")
        self.return_values = {
            "installed": True,
            "status": status,
            "version": version,
            "eca_id": eca["Id"],
        }


class SetEcaPolicies(EcaMixin, GuidedStep):
    task_docs = """
Set the 6sense ECA's OAuth policies as 6sense asks: Start Page None, Permitted Users "All users can
self-authorize", refresh token "Expire refresh token if not used for specific time" 30 days. Done when
``ExtlClntAppOauthPlcyCnfg`` shows them (fields the org does not expose to SOQL are reported unchecked).

Where the org lists the ECA's ``ExtlClntAppOauthConfigurablePolicies`` (``listMetadata``), retrieves it, sets the
fields and deploys it (whether a subscriber org may do that for a packaged ECA is UNCERTAIN, facts §6.3);
otherwise a guided step in External Client App Manager. None of these changes logs anybody out (switching
*to* self-authorize revokes nothing). Fails with "install first" when the ECA is not installed (plan: reported).

Return values: done, status (already done | deployed | verified | would deploy | manual step remains),
detail, method (metadata | guided | none).
    """
    step_title = "set the 6sense External Client App policies"
    task_options = {
        **SixsenseTask.task_options,
        **ECA_OPTIONS,
        "confirm_production": PRODUCTION_OPTION,
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        self._init_eca_options()
        init_production_option(self.options)

    def _progress_subject(self):
        return f"ExtlClntAppOauthPlcyCnfg of {(self.eca or {}).get('MasterLabel') or ' or '.join(self.eca_names)}"

    def _prepare(self):
        self.method = "none"
        self.eca = self._eca()
        if self.eca is None and not self.plan:
            raise SixsenseOrgError(
                "The 6sense External Client App is not installed: run sixsense_install_eca_package first."
            )

    def _check(self):
        if self.eca is None:
            return False, "the ECA is not installed yet (an earlier step)"
        self.policies = self._eca_policies(self.eca)
        if not self.policies:
            return False, "no OAuth policy row for the ECA"
        diff = self._policy_differences(self.policies)
        if diff:
            return False, "; ".join(
                f"{POLICY_LABELS[k]} is {a or 'none'!s}" for k, (a, _) in diff.items()
            )
        unchecked = [POLICY_LABELS[k] for k in DESIRED_POLICIES if k not in self.policies]
        return True, "as 6sense asks" + (
            f" ({', '.join(unchecked)} not readable by SOQL)" if unchecked else ""
        )

    def _run_task(self):
        if self._already_done():
            return
        detail = self._last_detail
        member = self._member() if self.eca else None
        if member and self.plan:
            self.method = "metadata"
            self._plan_would(f"deploy {MD_TYPE} {member}: {detail}")
            self.return_values = {
                "done": False,
                "status": "would deploy",
                "detail": detail,
                "method": "metadata",
            }
            return
        if member:
            self._confirm_production(f"deploy the ECA policies ({member})")
            self.method = "metadata"
            changes = self._deploy(member)
            done, detail = self._check()
            if done:
                self._audit_note(
                    before=self._last_detail,
                    changed=[
                        {
                            "object": MD_TYPE,
                            "action": "deployed",
                            "what": member,
                            "details": changes,
                        }
                    ],
                )
                self._finish("deployed", f"{detail} (metadata deploy, verified by query)")
                return
            self.logger.warning(
                "The policy deploy succeeded but the org does not show the policies; set them by hand:"
            )
        self.method = "guided"
        self._guide()

    def _finish(self, status, detail):
        super()._finish(status, detail)
        self.return_values["method"] = self.method

    def _member(self) -> str | None:
        try:
            listing = self._read(
                "listMetadata",
                ApiListMetadata(
                    self, MD_TYPE, as_of_version=self.project_config.project__package__api_version
                ),
            )
        except MetadataApiError as e:
            self.logger.info(f"listMetadata {MD_TYPE} failed ({e}); using the guided step.")
            return None
        prefixes = {self.eca["DeveloperName"].lower(), *(n.lower() for n in self.eca_names)}
        for item in listing.get(MD_TYPE, []):
            name = item.get("fullName") or ""
            if name.lower().rsplit("_oauthplcy", 1)[0] in prefixes or name.lower() in prefixes:
                return name
        self.logger.info(
            f"The org does not list the ECA's {MD_TYPE}; the policies are set in External Client App Manager "
            "(guided step)."
        )
        return None

    def _deploy(self, member: str) -> list[str]:
        api_version = self.project_config.project__package__api_version
        package = package_xml(MD_TYPE, [member], api_version)
        zip_file = self._read(
            "Metadata retrieve", ApiRetrieveUnpackaged(self, package, api_version)
        )
        path = f"{MD_FOLDER}/{member}{MD_SUFFIX}"
        root = etree.parse(io.BytesIO(zip_file.read(path))).getroot()
        changes = []
        for tag, value in DESIRED_POLICIES.items():
            element = root.find(f"{{{MD_NS}}}{tag}")
            current = (element.text or "").strip() if element is not None else ""
            if current == value:
                continue
            changes.append(f"{tag}: {current!r} -> {value!r}")
            if value == "":
                if element is not None:
                    root.remove(element)
                continue
            if element is None:
                element = etree.SubElement(root, f"{{{MD_NS}}}{tag}")
            element.text = value
        # Metadata types list their fields alphabetically.
        children = sorted(root, key=lambda e: etree.QName(e).localname)
        for child in children:
            root.remove(child)
            root.append(child)
        for change in changes:
            self.logger.info(f"{member}: {change}")
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp, MD_FOLDER)
            folder.mkdir()
            Path(folder, f"{member}{MD_SUFFIX}").write_bytes(
                etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            )
            Path(tmp, "package.xml").write_text(package, encoding="utf-8")
            Deploy(
                self.project_config,
                TaskConfig({"options": {"path": tmp, "namespace_inject": None}}),
                self.org_config,
                logger=self.logger,
            )()
        return changes

    def _instructions(self):
        label = (self.eca or {}).get("MasterLabel") or " or ".join(self.eca_names)
        return [
            "In Salesforce, log in as a System Administrator.",
            f"Open Setup > External Client Apps > External Client App Manager: {self._eca_manager_url()}",
            f"Locate {label} (type Packaged), open it and select Edit Policies.",
            "Under App Policies, set Start Page to None.",
            "Under OAuth Policies, set Permitted Users to 'All users can self-authorize'.",
            "Set Refresh Token Policy to 'Expire refresh token if not used for specific time', 30 Days.",
            "Select Save.",
        ]


class AuthorizeEcaIntegrationUser(EcaMixin, GuidedStep):
    task_docs = """
Guided: in 6sense, connect Salesforce through the External Client App, signing in as the integration user.
Done when the integration user holds an OauthToken for the 6sense ECA (AppName its label).

Return values: done, status (already done | verified | manual step remains), detail.
    """
    step_title = "authorize the 6sense External Client App as the integration user"
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        self._init_eca_options()

    def _progress_subject(self):
        label = (self.eca or {}).get("MasterLabel") or " or ".join(self.eca_names)
        return f"OauthToken for {label} by {self.integration_username}"

    def _prepare(self):
        self.integration_user = self._get_user(self.integration_username, "integration user")
        self.eca = self._eca()
        if self.eca is None and not self.plan:
            raise SixsenseOrgError(
                "The 6sense External Client App is not installed: run sixsense_install_eca_package first."
            )

    def _check(self):
        if self.eca is None:
            return False, "the ECA is not installed yet (an earlier step)"
        tokens = self._eca_tokens(self.eca, self.integration_user["Id"])
        if tokens:
            newest = max(t["CreatedDate"] for t in tokens)
            return (
                True,
                f"{self.integration_username} holds a token for {self.eca['MasterLabel']} (created {newest})",
            )
        return False, "no token"

    def _instructions(self):
        return [
            "In 6sense, go to Settings > Integrations > CRM > Salesforce.",
            "Choose to connect with the 6sense External Client App (the connected-app method is no longer supported).",
            f"Sign in to Salesforce as the integration user {self.integration_username} (org {self._instance_url()}).",
            "Approve the OAuth consent screen: select Allow. Then finish the 6sense wizard.",
            f"Check: {(self.eca or {}).get('MasterLabel') or 'the 6sense ECA'} lists the user on {self._eca_manager_url()}",
        ]


class VerifyEca(EcaMixin, CheckReport, SixsenseTask):
    report_title = "6sense External Client App verification"
    task_docs = """
Verify the ECA route by query: the 6sense package installed (Tooling InstalledSubscriberPackage, this version
or newer), the ECA present (ExternalClientApplication; a Local one, created in this org, FAILs), each policy
6sense asks for (ExtlClntAppOauthPlcyCnfg; no policy row FAILs them all; a field the org does not expose is
SKIPPED), and a token of the integration user for the ECA. A check whose read was refused or failed is
UNREADABLE ("could not check"), never PASS. ``passed`` is True only when nothing FAILs, nothing is UNREADABLE
and no skip matters: only Start Page's skip does not (``SKIPPABLE_POLICIES``: the integration does not use
the page shown after authorizing); Permitted Users and the refresh-token policy decide whether 6sense can
authorize and keep syncing. Prints a table (check, expected, actual, result) and writes a JSON report (no
tokens; its ``not_checked`` lists the skipped and unreadable checks). Fails unless ``passed``, naming the
step to run, the read to retry or what to check by hand. Read-only. Plan mode: shows the checks, never
fails, writes no report.

Return values: ``passed``, ``failed`` (FAIL check names), ``not_checked``, ``report_path``.
    """
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
        "report_path": {
            "description": "Where to write the JSON report. Default: .sixsense/verification-eca.json"
        },
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        self._init_eca_options()
        self.options["report_path"] = (
            self.options.get("report_path") or ".sixsense/verification-eca.json"
        )
        self.options["report_path"] = check_file_path(
            "report_path", str(self.options["report_path"])
        )

    def _run_task(self):
        self.checks = []
        integration = self._get_user(self.integration_username, "integration user")
        self._check_package()
        eca = self._read_fact(self._eca)
        check, expected = "External Client App", f"{' or '.join(self.eca_names)}, Packaged"
        if isinstance(eca, Unreadable):
            self._add_unreadable(check, expected, eca)
        else:
            # A Local ECA is one created in this org, not 6sense's packaged app, whatever its name.
            packaged = bool(eca) and eca.get("DistributionState") != "Local"
            self._add(
                check,
                expected,
                f"{eca['MasterLabel']} ({eca['DistributionState']})" if eca else "not found",
                packaged,
                "sixsense_install_eca_package",
            )
        self._check_policies(eca)
        self._check_token(eca, integration)
        self._finish(
            {
                "model": "external_client_app",
                "integration_username": self.integration_username,
                "eca_names": self.eca_names,
                "package_version": self.options["package_version"],
            }
        )

    def _check_package(self):
        check, expected = "package installed", f"{self.options['package_version']} or newer"
        status = self._read_fact(self._package_status)
        if isinstance(status, Unreadable):
            self._add_unreadable(check, expected, status)
            return
        installed = status["installed"]
        self._add(
            check,
            expected,
            f"{installed['Id']} ({_version_text(installed)})"
            if installed and "MajorVersion" in installed
            else (installed or {}).get("Id") or "not installed",
            status["satisfied"],
            "sixsense_install_eca_package",
        )

    def _check_policies(self, eca):
        """Each policy 6sense asks for. No policy row for an installed ECA FAILs every policy; a field the
        org does not expose to SOQL is SKIPPED, and only Start Page's skip does not matter."""
        policies = None
        if isinstance(eca, dict):
            policies = self._read_fact(self._eca_policies, eca)
        for key, wanted in DESIRED_POLICIES.items():
            check, expected = f"policy: {POLICY_LABELS[key]}", wanted or "None"
            fix = "sixsense_set_eca_policies"
            unreadable = next((f for f in (eca, policies) if isinstance(f, Unreadable)), None)
            if unreadable:
                self._add_unreadable(check, expected, unreadable)
            elif not eca:
                self._add(check, expected, "ECA not installed", False, fix)
            elif policies is None:
                self._add(check, expected, "no OAuth policy row for the ECA", False, fix)
            elif key not in policies:
                self._add(
                    check,
                    expected,
                    "not readable by SOQL (ExtlClntAppOauthPlcyCnfg has no such field here)",
                    False,
                    f"check {POLICY_LABELS[key]} by hand in External Client App Manager "
                    f"({self._eca_manager_url()})",
                    "SKIPPED",
                    matters=key not in SKIPPABLE_POLICIES,
                    note=SKIPPABLE_POLICIES.get(key, ""),
                )
            else:
                actual = policies[key]
                self._add(check, expected, actual or "None", actual == wanted, fix)

    def _check_token(self, eca, integration):
        check = "integration user authorized"
        expected = f"{self.integration_username} holds a token for the ECA"
        if isinstance(eca, Unreadable):
            self._add_unreadable(check, expected, eca)
            return
        tokens = self._read_fact(self._eca_tokens, eca, integration["Id"]) if eca else []
        if isinstance(tokens, Unreadable):
            self._add_unreadable(check, expected, tokens)
            return
        tokens = [t for t in tokens if t.get("UserId") == integration["Id"]]
        self._add(
            check,
            expected,
            f"{len(tokens)} token(s), newest created {max(t['CreatedDate'] for t in tokens)}"
            if tokens
            else ("no token" if eca else "ECA not installed"),
            bool(tokens),
            "sixsense_authorize_eca",
        )


class RemoveConnectedAppAccess(EcaMixin, SixsenseTask):
    task_docs = f"""
Last step of the migration to the ECA, non-destructive by default. Only once the integration user holds a token
for the 6sense ECA (it works through the ECA), lists what the old connected app still grants: its
SetupEntityAccess rows (profiles and permission sets pre-authorized for the connected app) and the setup user's
``{SETUP_PERMISSION_SET}`` assignment (Approve Uninstalled Connected Apps, needed only for the connected app).
Removes them only with ``remove_connected_app_access True`` or a confirmation at the terminal; otherwise
reports what it would remove and removes nothing. The connected app itself, its tokens and the permission sets
stay (uninstalling or revoking is a decision for 6sense and the admin). Fails, removing nothing, when the
integration user holds no ECA token.

Return values: ``would_remove`` / ``removed`` (lists of descriptions), ``status``.
    """
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
        "remove_connected_app_access": {
            "description": "True: remove the connected app's access grants and the setup user's "
            f"{SETUP_PERMISSION_SET} assignment (after the ECA check passes). Default: False (report only, "
            "or ask at a terminal).",
        },
        "confirm_production": PRODUCTION_OPTION,
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        self._init_eca_options()
        init_production_option(self.options)
        value = self.options.get("remove_connected_app_access")
        if value in (None, ""):
            self.options["remove_connected_app_access"] = False
        elif not isinstance(value, bool) and not str(value).startswith("^^"):
            self.options["remove_connected_app_access"] = parse_bool_option(
                "remove_connected_app_access", value
            )

    def _run_task(self):
        # It removes the setup user's Sixsense_Setup_Access assignment: never the integration user's.
        self._refuse_integration_user_as_setup_user()
        integration = self._get_user(self.integration_username, "integration user")
        eca = self._eca()
        tokens = self._eca_tokens(eca, integration["Id"]) if eca else []
        if not tokens and not self.plan:
            raise SixsenseOrgError(
                f"Not removing anything: {self.integration_username} holds no token for the 6sense External Client "
                "App yet, so 6sense may still depend on the connected app. Run sixsense_eca first."
            )
        grants = self._grants()
        rows = [["what", "record"]] + [[g["what"], g["id"]] for g in grants]
        if not grants:
            self.logger.info("The connected app grants nothing any more: nothing to remove.")
            self._audit_note(skipped=["no connected-app access left"])
            self.return_values = {"status": "nothing to remove", "would_remove": [], "removed": []}
            return
        self._log_table("Connected-app access that the ECA makes unnecessary", rows)
        descriptions = [g["what"] for g in grants]
        if self.plan:
            for d in descriptions:
                self._plan_would(f"remove {d}")
            self.return_values = {
                "status": "would remove",
                "would_remove": descriptions,
                "removed": [],
            }
            return
        if not self._confirmed(len(grants)):
            self.logger.warning(
                "Nothing removed. To remove these, run again with "
                "-o sixsense_remove_connected_app_access__remove_connected_app_access True (flow) or "
                "-o remove_connected_app_access True (this task), or confirm at a terminal."
            )
            self._audit_note(skipped=[f"not confirmed: {d}" for d in descriptions])
            self.return_values = {
                "status": "not confirmed",
                "would_remove": descriptions,
                "removed": [],
            }
            return
        self._confirm_production(f"remove {len(grants)} connected-app access grant(s)")
        removed = []
        for g in grants:
            self._call(
                f"Delete {g['sobject']} {g['id']}", getattr(self.sf, g["sobject"]).delete, g["id"]
            )
            removed.append(g["what"])
        left = self._grants()
        if left:
            raise SixsenseOrgError(
                f"Still present after removal: {', '.join(g['what'] for g in left)}."
            )
        self._audit_note(
            changed=[
                {"object": g["sobject"], "action": "deleted", "what": g["what"]} for g in grants
            ]
        )
        self._log_table("Removed", [["what"]] + [[d] for d in removed])
        self.return_values = {"status": "removed", "would_remove": [], "removed": removed}

    def _confirmed(self, count: int) -> bool:
        if self.options["remove_connected_app_access"]:
            return True
        if self.options["interactive"] and stdin_is_tty():
            if click.confirm(
                f"Remove these {count} connected-app access grant(s) now?", default=False
            ):
                self._record_confirmation(f"remove {count} connected-app access grant(s)")
                return True
        return False

    def _grants(self) -> list[dict]:
        out = []
        apps = self._connected_apps(self.app_names)
        if apps:
            rows = self._query(
                "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name, SetupEntityId "
                f"FROM SetupEntityAccess WHERE SetupEntityId IN {soql_in([a['Id'] for a in apps])}"
            )
            names = {a["Id"]: a["Name"] for a in apps}
            for r in rows:
                parent = r.get("Parent") or {}
                who = (
                    f"profile {(parent.get('Profile') or {}).get('Name')}"
                    if parent.get("IsOwnedByProfile")
                    else f"permission set {parent.get('Name')}"
                )
                out.append(
                    {
                        "sobject": "SetupEntityAccess",
                        "id": r["Id"],
                        "what": f"access of {who} to {names.get(r['SetupEntityId'])}",
                    }
                )
        setup = self._get_users([self.setup_username]).get(self.setup_username.lower())
        if setup:
            rows = self._query(
                "SELECT Id FROM PermissionSetAssignment "
                f"WHERE AssigneeId = {soql_quote(setup['Id'])} AND PermissionSet.Name = {soql_quote(SETUP_PERMISSION_SET)}"
            )
            out += [
                {
                    "sobject": "PermissionSetAssignment",
                    "id": r["Id"],
                    "what": f"{SETUP_PERMISSION_SET} assigned to {self.setup_username}",
                }
                for r in rows
            ]
        return out


_ = ConfirmationRequired  # raised by GuidedStep subclasses
