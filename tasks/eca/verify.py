"""sixsense_verify_eca: the ECA route checked by query, in one JSON report (read-only)."""

from __future__ import annotations

from .. import app_policy
from ..base import SixsenseTask
from ..check_report import CheckReport, Unreadable
from ..options import NO_WAIT_OPTIONS
from ..vendor import VENDOR
from .common import (
    DESIRED_POLICIES,
    ECA_OPTIONS,
    POLICY_LABELS,
    SKIPPABLE_POLICIES,
    EcaMixin,
    version_text,
)


class VerifyEca(EcaMixin, CheckReport, SixsenseTask):
    report_title = f"{VENDOR.label} External Client App verification"
    task_docs = f"""
Verify the ECA route by query: the {VENDOR.label} package installed (Tooling InstalledSubscriberPackage, this version
or newer), the ECA present (ExternalClientApplication; a Local one, created in this org, FAILs), each policy
{VENDOR.label} asks for (ExtlClntAppOauthPlcyCnfg; no policy row FAILs them all; a field the org does not expose is
SKIPPED), IP relaxation judged as the connected app's (an empty or unknown value FAILs, Enforce passes and says
refreshes must come from the integration user's profile login IP ranges; not exposed to SOQL: UNREADABLE),
and a token of the integration user for the ECA. The session policies are not readable by query (the report's
``session_policy`` says so; information, not a check). A check whose read was refused or failed is
UNREADABLE ("could not check"), never PASS. ``passed`` is True only when nothing FAILs, nothing is UNREADABLE
and no skip matters: only Start Page's skip does not (``SKIPPABLE_POLICIES``: the integration does not use
the page shown after authorizing); Permitted Users and the refresh-token policy decide whether {VENDOR.label} can
authorize and keep syncing. Prints a table (check, expected, actual, result) and writes a JSON report (no
tokens; its ``not_checked`` lists the skipped and unreadable checks). Fails unless ``passed``, naming the
step to run, the read to retry or what to check by hand. Read-only. Plan mode: shows the checks, never
fails, writes no report.

Return values: ``passed``, ``failed`` (FAIL check names), ``not_checked``, ``report_path``, ``html_path``
(the report as a self-contained HTML page, beside it).
    """
    requires_integration_user = True
    task_options = {
        **NO_WAIT_OPTIONS,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
        "report_path": {
            "description": "Where to write the JSON report. Default: .sixsense/verification-eca.json",
            "type": "path",
            "default": ".sixsense/verification-eca.json",
        },
    }

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
                "session_policy": app_policy.ECA_SESSION_POLICY,
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
            f"{installed['Id']} ({version_text(installed)})"
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
        for key, wanted in DESIRED_POLICIES.items():  # IP relaxation: _check_ip_relaxation
            check, expected = f"policy: {POLICY_LABELS[key]}", wanted or "None"
            fix = "sixsense_set_eca_policies"
            if self._policy_row_missing(check, expected, eca, policies):
                continue
            if key not in policies:
                self._skip(
                    check,
                    expected,
                    "not readable by SOQL (ExtlClntAppOauthPlcyCnfg has no such field here)",
                    f"check {POLICY_LABELS[key]} by hand in External Client App Manager "
                    f"({self._eca_manager_url()})",
                    matters=key not in SKIPPABLE_POLICIES,
                    note=SKIPPABLE_POLICIES.get(key, ""),
                )
            else:
                actual = policies[key]
                self._add(check, expected, actual or "None", actual == wanted, fix)
        self._check_ip_relaxation(eca, policies)

    def _policy_row_missing(self, check, expected, eca, policies) -> bool:
        """Record ``check`` when there is no policy row to judge it on, and say so: UNREADABLE when the ECA
        or its policy row could not be read, FAIL when the ECA is not installed or has no OAuth policy row
        (fix: ``sixsense_set_eca_policies``)."""
        unreadable = next((f for f in (eca, policies) if isinstance(f, Unreadable)), None)
        if unreadable:
            self._add_unreadable(check, expected, unreadable)
        elif not eca:
            self._add(check, expected, "ECA not installed", False, "sixsense_set_eca_policies")
        elif policies is None:
            self._add(
                check,
                expected,
                "no OAuth policy row for the ECA",
                False,
                "sixsense_set_eca_policies",
            )
        else:
            return False
        return True

    def _check_ip_relaxation(self, eca, policies):
        """IP relaxation (``ExtlClntAppOauthPlcyCnfg.IpRelaxationPolicyType``, facts §10.2), judged as the
        connected app's (``app_policy.assess_ip`` against the default, Enforce): an empty or unknown value
        FAILs; Enforce passes, saying that refreshes must then come from the integration user's profile login
        IP ranges. A refused read, or a field the org does not expose to SOQL: UNREADABLE, never PASS."""
        check, fix = (
            "policy: IP Relaxation",
            f"External Client App Manager > Edit Policies ({self._eca_manager_url()})",
        )
        expected = "Enforce or relaxed (as the connected app's)"
        if self._policy_row_missing(check, expected, eca, policies):
            return
        if "ipRelaxationPolicyType" not in policies:
            self._add_unreadable(
                check, expected, "ExtlClntAppOauthPlcyCnfg has no IpRelaxationPolicyType field here"
            )
        else:
            value = policies["ipRelaxationPolicyType"]
            ok, why = app_policy.assess_ip(app_policy.eca_ip_value(value), None)
            self._add(check, expected, f"{value or 'None'}: {why}", ok, fix)

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
