"""sixsense_deploy_access: deploy the 6sense permission sets, only where the org differs from the source."""

import os
import shutil
from pathlib import Path

from cumulusci.salesforce_api.utils import get_simple_salesforce_connection
from cumulusci.tasks.salesforce import Deploy
from lxml import etree

from . import resilience
from .base import SixsenseOrgMixin
from .errors import SixsenseInputError, SixsenseOrgError
from .metadata_xml import MD_NS
from .options import API_NAME_RE, PLAN_OPTION, PRODUCTION_OPTION, bool_option
from .queries import soql_in
from .vendor import VENDOR

API_ACCESS_CONTROL_BUNDLE = Path("unpackaged", "api_access_control")
#: The project's pinned Salesforce CLI (installed by scripts/setup), used when ``sf`` is not on PATH.
PINNED_SF_CLI = Path("tools", "sf-cli", "node_modules", ".bin")


def ensure_sf_cli(repo_root: Path, logger) -> None:
    """CumulusCI's ``deploy`` converts SFDX source with ``sf project convert source``: put the project's
    pinned CLI (``tools/sf-cli``) on PATH when ``sf`` is not there already. Raises ``SixsenseOrgError``
    when there is neither."""
    if shutil.which("sf"):
        return
    pinned = repo_root / PINNED_SF_CLI
    if not (pinned / "sf").exists():
        raise SixsenseOrgError(
            "Deploying force-app needs the Salesforce CLI (sf) to convert the source: run scripts/setup "
            "or put sf on PATH."
        )
    os.environ["PATH"] = f"{pinned}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("SF_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("SF_DISABLE_AUTOUPDATE", "true")
    logger.info(f"Using the pinned Salesforce CLI in {PINNED_SF_CLI.as_posix()}.")


def read_permission_sets(path: Path) -> dict:
    """Permission sets in a source folder, SFDX (``*.permissionset-meta.xml``) or MDAPI
    (``permissionsets/*.permissionset``): ``{Name: {"label": str, "permissions": set of enabled
    userPermissions names}}``. Raises ``SixsenseInputError`` for an invalid API name or missing label."""
    files = list(path.rglob("*.permissionset-meta.xml")) + list(path.rglob("*.permissionset"))
    result = {}
    for file in sorted(files):
        name = file.name.split(".permissionset")[0]
        if not API_NAME_RE.match(name):
            raise SixsenseInputError(
                f"{file}: {name!r} is not a valid permission set API name (it must begin with a letter, hold "
                "only letters, digits and single underscores, and not end with an underscore). Rename the "
                "file so that its name starts with a letter, e.g. "
                f"{VENDOR.integration_permission_set}.permissionset-meta.xml."
            )
        root = etree.parse(str(file)).getroot()
        ns = {"md": MD_NS}
        label = root.xpath("string(md:label)", namespaces=ns).strip()
        if not label:
            raise SixsenseInputError(f"{file}: the permission set has no <label>.")
        permissions = {
            p.xpath("string(md:name)", namespaces=ns).strip()
            for p in root.xpath("md:userPermissions", namespaces=ns)
            if p.xpath("string(md:enabled)", namespaces=ns).strip().lower() == "true"
        }
        result[name] = {"label": label, "permissions": permissions, "file": str(file)}
    return result


class DeployAccess(SixsenseOrgMixin, Deploy):
    task_docs = f"""
Deploys the {VENDOR.label} permission sets (``{VENDOR.setup_permission_set}``,
``{VENDOR.integration_permission_set}``) from
``path`` (default ``force-app``, deployed by CumulusCI's ``deploy``, which converts SFDX source with the
Salesforce CLI), and, where
API Access Control is provisioned, the variant bundle ``unpackaged/api_access_control`` whose
``{VENDOR.setup_permission_set}`` also carries Use Any API Client (deploying that permission elsewhere fails with
"Unknown user permission").

Compares first: each permission set's Name, Label and user permissions (the ``Permissions<X>`` fields the
org's describe has) against the org, and deploys a bundle only when something differs. A second run
deploys nothing ("already deployed"). Invalid API names in the source fail before any deploy. In plan mode,
reports what it would deploy and why, and deploys nothing.

Return values: ``deployed`` (list of paths deployed by this run), ``differences`` (list of what differed).
    """
    connected_user_needs = ("view_setup", "metadata_api")
    task_options = {
        **Deploy.task_options,
        "path": {
            "description": "The SFDX source folder with the permission sets. Default: force-app",
            "required": False,
            "type": "text",
            "default": "force-app",
        },
        "api_access_control_provisioned": bool_option(
            "True where API Access Control is provisioned (from "
            "sixsense_detect_api_access_control.provisioned): also deploy unpackaged/api_access_control. "
            "Default: False."
        ),
        "plan": PLAN_OPTION,
        "confirm_production": PRODUCTION_OPTION,
    }

    def _init_task(self):
        super()._init_task()
        self.sf = get_simple_salesforce_connection(self.project_config, self.org_config)
        resilience.mount_retries(self.sf.session)

    def _run_task(self):
        root = Path(self.project_config.repo_root or ".")
        provisioned = self.options["api_access_control_provisioned"]
        source_path = Path(self.options["path"])
        if not (root / source_path).exists() and not source_path.exists():
            raise SixsenseInputError(f"The source folder {source_path} does not exist.")
        base = read_permission_sets(root / source_path)
        if not base:
            raise SixsenseInputError(f"No permission sets found under {source_path}.")
        variant = read_permission_sets(root / API_ACCESS_CONTROL_BUNDLE) if provisioned else {}

        # Desired state: the base source, overridden by the API Access Control variant where provisioned.
        desired = {**base, **variant}
        org = self._org_permission_sets(desired)
        base_diffs = self._differences({n: base[n] for n in base if n not in variant}, org)
        variant_diffs = self._differences(variant, org)
        # A new permission set that only the variant overrides still needs the base deploy first.
        missing_base = [n for n in base if n in variant and n not in org]

        rows = [["permission set", "org", "action"]]
        deployed = []
        self._audit_note(
            before={name: ("missing" if name not in org else "present") for name in sorted(desired)}
        )
        if self.plan:
            if base_diffs or missing_base:
                self._plan_would(f"deploy {source_path}: " + "; ".join(base_diffs + missing_base))
            if variant_diffs or (variant and (base_diffs or missing_base)):
                self._plan_would(
                    f"deploy {API_ACCESS_CONTROL_BUNDLE.as_posix()}: "
                    + "; ".join(variant_diffs or ["overwritten by the base deploy"])
                )
            if not (base_diffs or missing_base or variant_diffs):
                self.logger.info("already deployed: the org matches the source; nothing to deploy.")
                self._audit_note(skipped=["already deployed: the org matches the source"])
            self.return_values = {
                "deployed": [],
                "differences": base_diffs + missing_base + variant_diffs,
            }
            return
        if base_diffs or missing_base or variant_diffs:
            self._before_first_write(f"deploy the {VENDOR.label} permission sets")
        if base_diffs or missing_base:
            self.logger.info(f"Deploying {source_path}: " + "; ".join(base_diffs + missing_base))
            ensure_sf_cli(root, self.logger)
            self._deploy_retrying(str(source_path), super()._run_task)
            deployed.append(str(source_path))
            if variant:
                # The base deploy wrote the full state of the overridden permission sets: redeploy the variant.
                variant_diffs = variant_diffs or ["overwritten by the base deploy"]
        if variant_diffs:
            self.logger.info(
                f"Deploying {API_ACCESS_CONTROL_BUNDLE.as_posix()}: " + "; ".join(variant_diffs)
            )
            api = self._get_api(path=str(root / API_ACCESS_CONTROL_BUNDLE))
            if api:
                self._deploy_retrying(API_ACCESS_CONTROL_BUNDLE.as_posix(), api)
            deployed.append(API_ACCESS_CONTROL_BUNDLE.as_posix())

        if deployed:
            after = self._org_permission_sets(desired)
            still = self._differences(desired, after)
            if still:
                raise SixsenseOrgError(
                    "The deploy succeeded but the org still differs: " + "; ".join(still)
                )
        changed = base_diffs + variant_diffs
        for name in sorted(desired):
            if name not in org:
                state = "missing"
            elif any(d.split(" ", 1)[0] == name for d in changed):
                state = "differed"
            else:
                state = "matches"
            rows.append([name, state, "deployed" if deployed and state != "matches" else "none"])
        self._log_table("Permission sets", rows)
        self._audit_note(
            after={name: "matches the source" for name in sorted(desired)},
            changed=[
                {
                    "object": "PermissionSet",
                    "action": "deployed",
                    "what": path,
                    "details": base_diffs + missing_base + variant_diffs,
                }
                for path in deployed
            ],
        )
        if not deployed:
            self._audit_note(skipped=["already deployed: the org matches the source"])
            self.logger.info("already deployed: the org matches the source; nothing deployed.")
        self.return_values = {
            "deployed": deployed,
            "differences": base_diffs + missing_base + variant_diffs,
        }

    def _deploy_retrying(self, what: str, deploy):
        """Run a Metadata API deploy; on a transient fault (503, UNABLE_TO_LOCK_ROW, a dropped connection)
        deploy the same source again: a deploy of the same source is idempotent."""
        for attempt in range(resilience.ATTEMPTS):
            try:
                return deploy()
            except Exception as error:
                if resilience.is_expired_session(error):
                    raise SixsenseOrgError(
                        resilience.expired_session_message(f"Deploy of {what}")
                    ) from None
                if not resilience.is_transient(error):
                    raise
                if attempt == resilience.ATTEMPTS - 1:
                    raise SixsenseOrgError(
                        f"Deploy of {what} failed: {type(error).__name__}: {error}. "
                        f"{resilience.TRANSIENT_HINT}"
                    ) from None
                self.logger.warning(
                    f"Deploy of {what}: {type(error).__name__}: {error}; deploying again."
                )
                resilience.backoff(attempt)

    def _org_permission_sets(self, desired: dict) -> dict:
        """``{Name: {"label", "permissions"}}`` for the desired names, comparing only describe-visible
        ``Permissions<X>`` fields among those any source mentions."""
        mentioned = sorted({p for ps in desired.values() for p in ps["permissions"]})
        checkable = [p for p in mentioned if self._has_permission_field(p)]
        unchecked = sorted(set(mentioned) - set(checkable))
        if unchecked and not getattr(self, "_warned_unchecked", False):
            self._warned_unchecked = True
            self.logger.warning(
                "Not in this org's PermissionSet describe, so not compared: "
                + ", ".join(f"Permissions{p}" for p in unchecked)
            )
        self._checkable = checkable
        fields = ["Id", "Name", "Label"] + [f"Permissions{p}" for p in checkable]
        rows = self._query(
            f"SELECT {', '.join(fields)} FROM PermissionSet WHERE Name IN {soql_in(sorted(desired))}"
        )
        return {
            r["Name"]: {
                "label": r.get("Label"),
                "permissions": {p for p in checkable if r.get(f"Permissions{p}")},
            }
            for r in rows
        }

    def _differences(self, wanted: dict, org: dict) -> list:
        diffs = []
        checkable = set(getattr(self, "_checkable", []))
        for name, want in sorted(wanted.items()):
            have = org.get(name)
            if not have:
                diffs.append(f"{name} missing")
                continue
            if have["label"] != want["label"]:
                diffs.append(f"{name} label {have['label']!r} != {want['label']!r}")
            want_perms = want["permissions"] & checkable
            if have["permissions"] != want_perms:
                extra = sorted(have["permissions"] - want_perms)
                lacking = sorted(want_perms - have["permissions"])
                parts = [f"lacks {', '.join(lacking)}"] if lacking else []
                parts += [f"has extra {', '.join(extra)}"] if extra else []
                diffs.append(f"{name} {' and '.join(parts)}")
        return diffs
