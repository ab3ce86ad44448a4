"""The autopilot: a simulated diligent operator who does the manual steps once the tool is waiting.

The operator acts when the tool is visibly *waiting*: a guided step checks for the outcome of a human step
by querying ``OauthToken`` or ``ConnectedApplication`` (design.md: "verified by an OauthToken", "a
ConnectedApplication row") again and again. So a "poll" is a REST query on one of those objects (sent alone or
as a subrequest of a composite request); once the
same query has been seen ``autopilot.polls_before_action`` times since the org state last changed
(``Store.version``), the autopilot performs the first applicable step, in the seed procedure's order. Other
reads (validation, describes, the Organization lookup) are not polls, so the operator never acts ahead of
the tool's instructions:

a. the app is not visible and not installed, and the setup user holds CanApproveUninstalledApps or
   UseAnyApiClient, or API Access Control is enforcing -> authorize as the setup user (may be denied; the
   attempt still lists the app on OAuth Usage);
b. blocked -> Unblock; visible and not installed -> Install;
c. installed, not admin-approved, and the ConnectedApp metadata is NOT retrievable (otherwise the tool sets
   the policy itself by Metadata ETL) -> Permitted Users = admin approved;
d. admin-approved, the integration user pre-authorized, and no token of theirs created after the
   ConnectedApplication's LastModifiedDate -> authorize as the integration user.

When the repeated query is about the 6sense External Client App (``ExtlClntAppOauthPlcyCnfg``, or an
``OauthToken`` query naming the ECA's label), the operator follows the ECA route instead (6sense's ECA article,
facts §0):

e. ECA installed, its policies not as 6sense asks, and the policy metadata NOT deployable here (otherwise the
   tool sets them itself) -> Edit Policies (Start Page None, all users self-authorize, refresh token expires
   after 30 days unused);
f. ECA installed and the integration user holds no token for it -> authorize the ECA as the integration user.

Every action goes through the same ``platform.Org`` methods as ``/_sim/actions/*``, is printed to stderr and
recorded in the request log with kind ``sim`` (path ``/_sim/autopilot/<action>``).
"""

from __future__ import annotations

import sys
import time
from urllib.parse import unquote_plus

from orgsim import eca
from orgsim.platform import ActionError, Org

#: What 6sense's ECA article asks for (facts §0), as ``eca.set_policies`` keys.
ECA_POLICIES = {
    "permitted_users": "AllSelfAuthorized",
    "refresh_token_policy": "SpecificInactivity",
    "refresh_token_validity_period": 30,
    "refresh_token_validity_unit": "Days",
    "start_url": None,
}


class Autopilot:
    def __init__(self, org: Org, observer, *, stream=None):
        self.org = org
        self.observer = observer
        self.stream = stream or sys.stderr
        self._seen_version: int | None = None
        self._polls: dict[str, int] = {}

    #: The objects whose rows show that a human step happened (an authorization, an Install, a policy edit).
    POLLED_OBJECTS = frozenset({"OauthToken", "ConnectedApplication", "ExtlClntAppOauthPlcyCnfg"})

    def on_read(self, sobject: str | None = None, request_key: str = "") -> str | None:
        """Count one read; act once the same query on a :attr:`POLLED_OBJECTS` object has been repeated
        ``polls_before_action`` times with no change to the org. Returns what was done, if anything."""
        if sobject not in self.POLLED_OBJECTS:
            return None
        with self.org.lock:
            version = self.org.store.version
            if version != self._seen_version:
                self._seen_version = version
                self._polls = {}
            self._polls[request_key] = self._polls.get(request_key, 0) + 1
            if self._polls[request_key] < self.org.scenario["autopilot"]["polls_before_action"]:
                return None
            self._polls = {}
            about_eca = sobject == "ExtlClntAppOauthPlcyCnfg" or (
                eca.ECA_LABEL.lower() in unquote_plus(request_key).lower()
            )
            done = self.step(eca_route=about_eca)
            self._seen_version = self.org.store.version
            return done

    def next_step(self) -> tuple[str, dict] | None:
        """The step the operator would take now: ``(action, kwargs)`` or ``None``."""
        org = self.org
        cfg = org.scenario["autopilot"]
        state = org.app_state()
        setup = org.user_by_username(cfg["setup_user"]) if cfg["setup_user"] else None
        if not state["visible"] and not state["installed"] and setup:
            if (
                org.has_permission(setup["Id"], "CanApproveUninstalledApps")
                or org.has_permission(setup["Id"], "UseAnyApiClient")
                or org.acc_enforcing
            ):
                return "authorize", {"username": setup["Username"]}
        if state["blocked"]:
            return "unblock", {}
        if state["visible"] and not state["installed"]:
            return "install", {}
        if (
            state["installed"]
            and not state["admin_approved"]
            and not org.connected_app_metadata_retrievable
        ):
            return "policy", {"permitted_users": "admin_approved"}
        integration = (
            org.user_by_username(cfg["integration_user"]) if cfg["integration_user"] else None
        )
        if state["admin_approved"] and integration and org.is_pre_authorized(integration["Id"]):
            newer = [
                t
                for t in org.store.find(
                    "OauthToken", UserId=integration["Id"], AppName=state["label"]
                )
                if t["CreatedDate"] > (state["policy_modified"] or "")
            ]
            if not newer:
                return "authorize", {"username": integration["Username"]}
        return None

    def next_eca_step(self) -> tuple[str, dict] | None:
        """Steps e and f (module docstring): the ECA route's manual steps."""
        org = self.org
        cfg = org.scenario["autopilot"]
        state = eca.state(org)
        if not state["installed"]:
            return None
        wanted = {k: v for k, v in ECA_POLICIES.items()}
        current = state["policies"]
        differs = any(str(current.get(k) or "") != str(v or "") for k, v in wanted.items())
        if differs and not eca.policy_metadata_deployable(org):
            return "eca_policy", dict(wanted)
        integration = (
            org.user_by_username(cfg["integration_user"]) if cfg["integration_user"] else None
        )
        if integration and not org.store.find(
            "OauthToken", UserId=integration["Id"], AppName=eca.ECA_LABEL
        ):
            return "authorize", {"username": integration["Username"], "app": eca.ECA_LABEL}
        return None

    def step(self, eca_route: bool = False) -> str | None:
        planned = self.next_eca_step() if eca_route else self.next_step()
        if planned is None:
            return None
        action, kwargs = planned
        started = time.perf_counter()
        status = 200
        try:
            result = run_action(self.org, action, kwargs)
            outcome = "ok" if not result.get("already") else "already done"
        except ActionError as exc:
            status, outcome = 400, f"{exc.error}: {exc.error_description}"
        detail = " ".join(f"{k}={v}" for k, v in kwargs.items())
        message = f"orgsim autopilot: {action} {detail} -> {outcome}".replace("  ", " ")
        print(message, file=self.stream, flush=True)
        self.observer.record(
            method="SIM",
            path=f"/_sim/autopilot/{action}",
            action=f"autopilot:{action}",
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            kind="sim",
        )
        return message


def run_action(org: Org, name: str, params: dict) -> dict:
    """Dispatch a human step by name (``authorize``, ``install``, ``policy``, ``eca_policy``, ``block``,
    ``unblock``) with
    the ``/_sim/actions`` JSON parameters. Raises ``ActionError`` (also for unknown actions / bad params)."""
    app = params.get("app") or None
    if name == "authorize":
        if not params.get("username"):
            raise ActionError("invalid_request", "username is required")
        return org.authorize(params["username"], app)
    if name == "install":
        return org.install(app)
    if name == "policy":
        return org.set_policy(params.get("permitted_users") or "", app)
    if name == "eca_policy":
        changes = {k: v for k, v in params.items() if k in {key for _, _, key in eca.POLICY_FIELDS}}
        with org.lock:
            return eca.set_policies(org, changes)
    if name == "block":
        return org.block(app)
    if name == "unblock":
        return org.unblock(app)
    raise ActionError("invalid_request", f"unknown action '{name}'")
