"""sixsense_preflight: the facts the MetaDeploy plans' preflight checks read, as one flat dict of booleans."""

from __future__ import annotations

from cumulusci.core.exceptions import CumulusCIFailure

from .diagnose.task import Diagnose
from .vendor import VENDOR

#: The placeholder integration username ends with the reserved top-level domain .invalid (RFC 2606).
PLACEHOLDER_SUFFIX = ".invalid"

#: Every fact, what True means, and the diagnosis sections (``Diagnose._safe`` names) it is read from.
#: A fact that is False while one of its sections could not be read is unknown, not False.
FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "integration_username_is_placeholder": (
        "integration_username ends with .invalid: the installer was published unconfigured",
        (),
    ),
    "integration_user_found": ("a User with integration_username exists", ("User",)),
    "integration_user_active": ("that User is active (False when not found)", ("User",)),
    "logged_in_as_integration_user": (
        "the user the installer runs as is the integration user (False when not found)",
        ("User",),
    ),
    "app_blocked": (
        f"a candidate {VENDOR.label} app is blocked (BlacklistedConsumer)",
        ("Blocked apps",),
    ),
    "app_used": (
        f"a candidate app has OauthToken rows ({VENDOR.label} connected before)",
        ("OauthToken",),
    ),
    "app_installed": (
        "a candidate app is installed (a ConnectedApplication row)",
        ("ConnectedApplication", "AppMenuItem"),
    ),
    "app_admin_approved": (
        "an installed candidate has Permitted Users 'Admin approved users are pre-authorized'",
        ("ConnectedApplication", "AppMenuItem"),
    ),
    "setup_user_can_approve_uninstalled_apps": (
        "the setup user (default: the user the installer runs as) holds Approve Uninstalled Connected Apps",
        ("User", "setup user permissions"),
    ),
    "integration_user_has_app_access": (
        "a permission set or the profile of the integration user has access to an installed candidate "
        "(False when not found)",
        (
            "User",
            "ConnectedApplication",
            "AppMenuItem",
            "SetupEntityAccess",
            "PermissionSetAssignment",
            "PermissionSet",
        ),
    ),
    "api_access_control_enforcing": (
        "API Access Control is enforcing (enableAdminApprovedAppsOnly in Settings: ConnectedApp)",
        ("Settings:ConnectedApp",),
    ),
}


def unreadable_sections(diagnosis: dict) -> set[str]:
    """Sections the diagnosis could not read: its ``unreadable`` list (``OrgUserFacts._not_readable``)."""
    return set(diagnosis.get("unreadable") or [])


def preflight_facts(diagnosis: dict, integration_username: str) -> dict[str, bool]:
    """The flat facts (keys of :data:`FACTS`, all bool) from a ``Diagnose.diagnose()`` result."""
    users = diagnosis.get("users") or {}
    integration = users.get("integration") or {}
    setup = users.get("setup") or {}
    app = diagnosis.get("app") or {}
    found = bool(integration.get("found"))
    return {
        "integration_username_is_placeholder": integration_username.endswith(PLACEHOLDER_SUFFIX),
        "integration_user_found": found,
        "integration_user_active": found and bool(integration.get("active")),
        "logged_in_as_integration_user": found and bool(integration.get("is_connected_user")),
        "app_blocked": bool(app.get("blocked")),
        "app_used": bool(app.get("used")),
        "app_installed": bool(app.get("installed")),
        "app_admin_approved": bool(app.get("admin_approved")),
        "setup_user_can_approve_uninstalled_apps": bool(setup.get("can_approve_uninstalled_apps")),
        "integration_user_has_app_access": found and bool(integration.get("has_app_access")),
        "api_access_control_enforcing": bool(
            (diagnosis.get("api_access_control") or {}).get("enforcing")
        ),
    }


def unknown_facts(facts: dict[str, bool], unreadable: set[str]) -> list[str]:
    """Facts that are False only because a section they are read from could not be read (True stays
    known: every fact is an "any of" the rows that were read)."""
    return [
        name
        for name, (_, sections) in FACTS.items()
        if not facts[name] and unreadable.intersection(sections)
    ]


class PreflightFacts(dict):
    """The return values: a dict whose lookup of a missing key raises ``CumulusCIFailure`` (not ``KeyError``).
    A preflight check reads ``tasks.sixsense_preflight()['fact']``; CumulusCI keeps a failed task's return
    values and Jinja reads a ``KeyError`` as undefined (false), so an empty dict would let every check pass
    silently when the task failed, or a misspelt fact. This one stops the preflight with the reason."""

    def __init__(self, facts: dict | None = None, error: BaseException | None = None):
        super().__init__(facts or {})
        self.error = error

    def __missing__(self, key):
        if self.error is not None:
            raise CumulusCIFailure(f"sixsense_preflight failed, so {key} is unknown: {self.error}")
        if key in FACTS:
            raise CumulusCIFailure(f"sixsense_preflight has not run, so {key} is unknown.")
        raise CumulusCIFailure(
            f"{key} is not a sixsense_preflight fact (facts: {', '.join(FACTS)})."
        )


class Preflight(Diagnose):
    task_docs = (
        """
Read-only facts for the MetaDeploy plans' preflight checks (``plans:`` in cumulusci.yml), from the same reads
as ``sixsense_diagnose``; writes no report. A check reads one fact::

    tasks.sixsense_preflight()['app_installed']

``integration_username`` defaults to ``project: custom: sixsense_integration_username`` (cumulusci.yml), the
username a published installer is set up for.

Return values (dict, every value a bool):

"""
        + "\n".join(f"- ``{name}``: {meaning}" for name, (meaning, _) in FACTS.items())
        + """

A fact is never False because the org refused a read: when a section a fact is read from could not be read
(a missing permission, a failed Metadata API call), the task fails with ``CumulusCIFailure`` naming the facts
and the sections. A check that reads a fact of a failed run (or a name that is not a fact) then raises
instead of reading false, so the installer's preflight stops instead of passing a check it could not
evaluate.
    """
    )
    task_options = {
        k: v
        for k, v in Diagnose.task_options.items()
        if k in ("integration_username", "setup_username", "connected_app_names")
    }
    requires_integration_user = True

    def _run_task(self):
        self.return_values = PreflightFacts()
        try:
            self.return_values = PreflightFacts(self._read_facts())
        except Exception as error:
            self.return_values = PreflightFacts(error=error)
            raise

    def _read_facts(self) -> dict[str, bool]:
        diagnosis = self.diagnose()
        facts = preflight_facts(diagnosis, self.integration_username)
        self._log_table(
            f"{VENDOR.label} preflight", [["fact", "value"]] + [[k, v] for k, v in facts.items()]
        )
        unreadable = unreadable_sections(diagnosis)
        unknown = unknown_facts(facts, unreadable)
        if unknown:
            raise CumulusCIFailure(
                f"Preflight could not read {', '.join(sorted(unreadable))}, so these facts are unknown: "
                f"{', '.join(unknown)}. Check that the user running the installer is a System "
                "Administrator, then run it again. Nothing was written."
            )
        return facts
