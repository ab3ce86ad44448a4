"""sixsense_install_eca_package: install the vendor's ECA package by version id (CumulusCI's install task)."""

from __future__ import annotations

from cumulusci.tasks.salesforce.install_package_version import InstallPackageVersion

from ..base import SixsenseOrgMixin, SixsenseTask
from ..errors import SixsenseOrgError
from ..options import PRODUCTION_OPTION, is_deferred
from ..vendor import VENDOR
from .common import (
    ECA_OPTIONS,
    ECA_PACKAGE_VERSION,
    EcaMixin,
    check_package_version,
    version_text,
)


class InstallEcaPackage(SixsenseOrgMixin, EcaMixin, InstallPackageVersion):
    task_docs = f"""
Install the {VENDOR.label} External Client App package by version id (default ``{ECA_PACKAGE_VERSION}``, the same for
production and sandbox) with CumulusCI's standard ``install_managed`` (Tooling ``PackageInstallRequest``),
unless that version or a newer version of the same package is installed: CumulusCI itself skips only the exact
version id, and Salesforce cannot install an older version over a newer one. Then verifies by query that the
ECA (``ExternalClientApplication``, ``DistributionState`` Packaged) exists.

Options: those of ``install_managed`` (``security_type`` defaults to FULL), ``eca_names``, ``plan``.
Return values: ``installed`` (bool), ``status`` (already installed | installed | would install),
``version``, ``eca_id``.
    """
    connected_user_needs = ("view_setup", "customize_application")
    task_options = {
        **{
            k: v
            for k, v in InstallPackageVersion.task_options.items()
            if k not in ("namespace", "version")
        },
        "namespace": {"description": "Not used (the package is named by its version id)."},
        "version": {
            "description": f"Package version id. Default: {ECA_PACKAGE_VERSION}.",
            "type": "text",
            "check": check_package_version,
        },
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
        if not is_deferred(
            version
        ):  # before cci's install task reads "latest" and the like from GitHub
            version = check_package_version(
                "version" if options.get("version") else "package_version", str(version).strip()
            )
        self.task_config.config.setdefault("options", {})
        self.task_config.config["options"]["version"] = version
        self.task_config.config["options"].setdefault("name", VENDOR.eca_package_name)
        self.task_config.config["options"].setdefault("namespace", None)
        self._tolerate_unparsable_git_remote()
        super()._init_options(kwargs)
        self.options["package_version"] = version

    def _run_task(self):
        status = self._package_status()
        if status["target"] is None:
            raise SixsenseOrgError(
                f"Package version {self.options['version']} is not available to this org (no "
                f"SubscriberPackageVersion). Check the version id with {VENDOR.label}."
            )
        target = version_text(status["target"])
        if status["satisfied"]:
            installed = status["installed"]
            self.logger.info(
                f"{VENDOR.label} ECA package {version_text(installed)} ({installed['Id']}) is installed, "
                f"the same as or newer than {target} ({self.options['version']}): nothing to install."
            )
            self._audit_note(
                before=f"installed {installed['Id']}", skipped=["package already installed"]
            )
            self._finish("already installed", installed["Id"])
            return
        if self.plan:
            self._plan_would(
                f"install the {VENDOR.label} ECA package {target} ({self.options['version']})"
            )
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
        self._before_first_write(f"install the {VENDOR.label} ECA package {target}")
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
                f"The {VENDOR.label} package is installed but no External Client App named {' or '.join(self.eca_names)} "
                "is in the org. Check the names in Setup > External Client App Manager and pass eca_names."
            )
        self._log_table(
            f"{VENDOR.label} ECA package",
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
