"""sixsense_authorize_eca (guided): the integration user connects the vendor through the ECA."""

from __future__ import annotations

from .. import procedure, user_checks
from ..base import SixsenseTask
from ..guided import GuidedStep
from ..vendor import VENDOR
from .common import (
    ECA_OPTIONS,
    EcaMixin,
)


class AuthorizeEcaIntegrationUser(EcaMixin, GuidedStep):
    task_docs = f"""
Guided: in {VENDOR.label}, connect Salesforce through the External Client App, signing in as the integration user.
Done when the integration user holds an OauthToken for the {VENDOR.label} ECA (AppName its label).

Return values: done, status (already done | verified | manual step remains), detail.
    """
    step_title = procedure.step("eca_authorize").name
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
    }

    def _progress_subject(self):
        label = (self.eca or {}).get("MasterLabel") or " or ".join(self.eca_names)
        return f"OauthToken for {label} by {self.integration_username}"

    def _prepare(self):
        # The same refusal as the other tasks that take the integration user (tasks/user_checks.py): frozen,
        # locked out, inactive, without API access, or the user cci is connected as; before any instruction.
        self.integration_user = self._require_users(user_checks.INTEGRATION)[
            user_checks.INTEGRATION
        ]
        self.eca = self._installed_eca()

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
        return self._vendor_instructions(
            "authorize_eca",
            integration_username=self.integration_username,
            eca_label=(self.eca or {}).get("MasterLabel") or " or ".join(self.eca_names),
            eca_manager_url=self._eca_manager_url(),
        )
