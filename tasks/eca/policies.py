"""sixsense_set_eca_policies: the ECA's OAuth policies by metadata where the org allows it, else guided."""

from __future__ import annotations

import io
from pathlib import Path

from cumulusci.core.config import TaskConfig
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiListMetadata, ApiRetrieveUnpackaged
from cumulusci.tasks.salesforce.Deploy import Deploy
from lxml import etree

from .. import procedure
from ..base import SixsenseTask
from ..guided import GuidedStep
from ..metadata_xml import MD_NS, package_xml
from ..options import PRODUCTION_OPTION
from ..vendor import VENDOR
from .common import (
    DESIRED_POLICIES,
    ECA_OPTIONS,
    MD_FOLDER,
    MD_SUFFIX,
    MD_TYPE,
    POLICY_LABELS,
    SKIPPABLE_POLICIES,
    EcaMixin,
)


class SetEcaPolicies(EcaMixin, GuidedStep):
    task_docs = f"""
Set the {VENDOR.label} ECA's OAuth policies as {VENDOR.label} asks: Start Page None, Permitted Users "All users can
self-authorize", refresh token "Expire refresh token if not used for specific time" 30 days. Done when
``ExtlClntAppOauthPlcyCnfg`` shows them (fields the org does not expose to SOQL are reported unchecked).

Where the org lists the ECA's ``ExtlClntAppOauthConfigurablePolicies`` (``listMetadata``), retrieves it, sets the
fields and deploys it (whether a subscriber org may do that for a packaged ECA is not documented by Salesforce);
otherwise a guided step in External Client App Manager. None of these changes logs anybody out (switching
*to* self-authorize revokes nothing). Fails with "install first" when the ECA is not installed (plan: reported).

A policy that decides the sync (all but Start Page) and that SOQL does not show here is never taken as set:
the step is then not done (``done`` False, ``unverified`` names them, a warning says where to check them by
hand); where it can deploy, it deploys the policies again, since it cannot tell.

Return values: done, status (already done | deployed | verified | not verified | would deploy | manual step
remains), detail, method (metadata | guided | none), unverified (list of policy labels, when any).
    """
    connected_user_needs = ("view_setup", "metadata_api")
    step_title = procedure.step("eca_policies").name
    task_options = {
        **SixsenseTask.task_options,
        **ECA_OPTIONS,
        "confirm_production": PRODUCTION_OPTION,
    }

    def _progress_subject(self):
        return f"ExtlClntAppOauthPlcyCnfg of {(self.eca or {}).get('MasterLabel') or ' or '.join(self.eca_names)}"

    def _prepare(self):
        self.method = "none"
        self.eca = self._installed_eca()

    def _check(self):
        """(done, detail): done when every policy SOQL shows is as the vendor asks. Sets ``unverified``: the
        policies that decide the sync (all but ``SKIPPABLE_POLICIES``) that SOQL does not show here."""
        self.unverified = []
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
        unchecked = [k for k in DESIRED_POLICIES if k not in self.policies]
        self.unverified = [POLICY_LABELS[k] for k in unchecked if k not in SKIPPABLE_POLICIES]
        return True, f"as {VENDOR.label} asks" + (
            f" ({', '.join(POLICY_LABELS[k] for k in unchecked)} not readable by SOQL)"
            if unchecked
            else ""
        )

    def _already_done(self) -> bool:
        """As a guided step's, but never "already done" while a policy that decides the sync could not be
        read (``unverified``): that is not a pass (issue 12, issue 17 kind 8); the step sets it again."""
        self._prepare()
        done, detail = self._check()
        self._last_detail = detail
        if done and not self.unverified:
            self.logger.info(f"{self.step_title}: already done ({detail}).")
            self._finish("already done", detail)
            return True
        return False

    def _run_task(self):
        if self._already_done():
            return
        detail = self._last_detail
        if self.unverified:
            detail = self._last_detail = (
                f"{', '.join(self.unverified)} not readable by SOQL: not verified"
            )
        member = self._member() if self.eca else None
        if member and self.plan:
            self._plan_would(f"deploy {MD_TYPE} {member}: {detail}")
            self.return_values = {
                "done": False,
                "status": "would deploy",
                "detail": detail,
                "method": "metadata",
            }
            return
        if member:
            self._before_first_write(f"deploy the ECA policies ({member})")
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
                verified = "verified by query" + (
                    f" but for {', '.join(self.unverified)}" if self.unverified else ""
                )
                self._finish("deployed", f"{detail} (metadata deploy, {verified})")
                return
            self.logger.warning(
                "The policy deploy succeeded but the org does not show the policies; set them by hand:"
            )
        self.method = "guided"
        if self.unverified and not self.plan:
            # What SOQL shows is as asked and nothing here can show the rest: no wait, the instructions
            # to check it by hand, and the step is not done (nothing was changed, so no audit change).
            for line in self._format_instructions().splitlines():
                self.logger.info(line)
            self._log_table(
                self.step_title,
                [["check", "result"], [self._progress_subject(), f"not verified: {detail}"]],
            )
            self._audit_note(before=self._last_detail, after=f"not verified: {detail}")
            self.return_values = {"status": "not verified", "detail": detail, "method": self.method}
            self._not_verified()
            return
        self._guide()

    def _finish(self, status, detail):
        super()._finish(status, detail)
        self.return_values["method"] = self.method
        if self.unverified:
            self._not_verified()

    def _not_verified(self):
        """Never a pass on a policy that was not read: the step is not done, and says what to check."""
        label = self.eca["MasterLabel"]  # a policy is unverified only once the ECA's row was read
        self.logger.warning(
            f"{', '.join(self.unverified)}: not readable by SOQL in this org, so not verified by query. "
            f"Check them in External Client App Manager > {label} > Edit Policies "
            f"({self._eca_manager_url()}); sixsense_verify_eca reports them as not checked."
        )
        self.return_values["done"] = False
        self.return_values["unverified"] = list(self.unverified)

    def _member(self) -> str | None:
        """The full name of this ECA's ``ExtlClntAppOauthConfigurablePolicies`` file, from the org: the install
        generates it per org, so it is never guessed from the ECA's names (facts §10.2; deploying under
        another name fails "duplicate value found: ExternalClientApplicationId"). ``listMetadata`` gives the
        org's policy files; a retrieve of them tells which one names this ECA (``externalClientApplication``
        = its DeveloperName). None (guided step) when the org lists none for it or refuses the reads."""
        api_version = self.project_config.project__package__api_version
        try:
            listing = self._read(
                "listMetadata", ApiListMetadata(self, MD_TYPE, as_of_version=api_version)
            )
            names = [i["fullName"] for i in listing.get(MD_TYPE, []) if i.get("fullName")]
            zip_file = (
                self._read(
                    "Metadata retrieve",
                    ApiRetrieveUnpackaged(
                        self, package_xml(MD_TYPE, names, api_version), api_version
                    ),
                )
                if names
                else None
            )
        except MetadataApiError as e:
            self.logger.info(
                f"listMetadata/retrieve {MD_TYPE} failed ({e}); using the guided step."
            )
            return None
        wanted = self.eca["DeveloperName"].lower()
        for name in names:
            path = f"{MD_FOLDER}/{name}{MD_SUFFIX}"
            if path not in zip_file.namelist():
                continue
            root = etree.parse(io.BytesIO(zip_file.read(path))).getroot()
            owner = root.findtext(f"{{{MD_NS}}}externalClientApplication") or ""
            if owner.strip().lower() == wanted:
                return name
        self.logger.info(
            f"The org lists no {MD_TYPE} for {self.eca['DeveloperName']}; the policies are set in External "
            "Client App Manager (guided step)."
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
