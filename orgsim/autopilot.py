"""The autopilot: a simulated diligent operator who does a manual step once the tool is waiting in that step.

The simulator cannot see the console, so it decides from what it can see: the tool polling for *that step's
outcome*, again and again. Each guided step waits by sending one request over and over (tasks/guided.py
``GuidedStep._wait``); the autopilot knows each step's request by the objects it queries and what it filters
on, and each step's request triggers that step's action only (design.md: a step is "verified by an
OauthToken", "a ConnectedApplication row"):

- **step 1** (authorize as the setup user) polls an ``OauthToken`` query filtering ``UserId`` = the setup
  user and ``AppName`` naming the 6sense app (sent alone; the same query inside a REST Composite request
  counts too). The operator authorizes as the setup
  user, when the app is not installed and the setup user holds CanApproveUninstalledApps or UseAnyApiClient,
  or API Access Control is enforcing (the denied attempt still lists the app on OAuth Usage).
- **step 2** (Install) and **step 3** (Permitted Users, guided path) both poll the same query, sent alone:
  ``ConnectedApplication`` filtered on ``Name`` naming the app. The org tells them apart as the tool's own
  checks do (step 3 starts only once the app is installed, which ends step 2): not installed -> step 2:
  blocked -> Unblock, listed -> Install, not listed -> "repeat step 1" (authorize as the setup user, as
  above; step 2's instructions say so). Installed and not admin approved -> step 3: Permitted Users = admin
  approved, unless the ConnectedApp metadata is retrievable (the tool then sets it by Metadata ETL).
- **step 5** (reauthorize) polls ``OauthToken`` filtered on ``UserId`` = the integration user only, sent
  alone. The operator authorizes as the integration user when the app is admin approved, the user
  pre-authorized and holding no token for the app (the switch deletes the tokens it revokes, facts §10.1;
  a surviving one keeps working, so the tool asks for none then).
- **ECA policies** (6sense's ECA article, facts §0) polls ``ExtlClntAppOauthPlcyCnfg`` filtered on
  ``ExternalClientApplicationId`` = the ECA, sent alone: Edit Policies (Start Page None, all users
  self-authorize, refresh token expires after 30 days unused) when they differ and the policy metadata is
  NOT deployable here (the tool then deploys them itself).
- **ECA authorization** polls ``OauthToken`` filtered on ``UserId`` = the integration user and ``AppName``
  naming the ECA, sent alone: authorize the ECA as the integration user when it is installed and the user
  holds no token for it. The ECA verification and the connected-app removal read the same text once
  each; they never repeat it in a row.

The rule: the same request (the same query texts) repeated ``autopilot.polls_before_action`` times in a
row, with no change to the org (``Store.version``) in between, is the tool waiting. Any other request that
queries ``OauthToken``, ``ConnectedApplication`` or ``ExtlClntAppOauthPlcyCnfg`` (another step's first
check, validation, diagnose, verify) breaks the run and the count starts again; requests that query no such
object, and requests that are not SOQL queries (describes, API limits), are ignored. A repeated request
that is no step's poll never triggers anything: there is no "first applicable step". After an action the
count starts again. Time is not used: the in-process tests patch ``time.sleep``, so polls "spread over
time" cannot be told from a burst there; a run of identical requests with no other read of those objects
in between is what a wait looks like (tests/e2e/autopilot_order.py checks, on every flow and scenario,
that each action came while the tool waited in that step).

Every action goes through the same ``platform.Org`` methods as ``/_sim/actions/*``, is printed to
``stream`` (stderr by default) and recorded in the request log with kind ``sim`` (path
``/_sim/autopilot/<action>``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from orgsim import eca, soql
from orgsim.errors import ActionError
from orgsim.platform import Org

#: What 6sense's ECA article asks for (facts §0), as ``eca.set_policies`` keys.
ECA_POLICIES = {
    "permitted_users": "AllSelfAuthorized",
    "refresh_token_policy": "SpecificInactivity",
    "refresh_token_validity_period": 30,
    "refresh_token_validity_unit": "Days",
    "start_url": None,
}


@dataclass(frozen=True)
class Read:
    """One query as the autopilot sees it: the object and its ``WHERE`` as ``{field: values}`` (lower-case
    field names; ``=`` and ``IN`` joined by ``AND`` only, else ``filters`` is None)."""

    sobject: str
    filters: dict[str, frozenset[str]] | None

    def names(self, field: str) -> frozenset[str]:
        return frozenset(v.lower() for v in (self.filters or {}).get(field.lower(), ()))


def parse_read(path: str) -> Read | None:
    """The :class:`Read` of one GET (``path`` with its query string decoded), or None when it is not a
    SOQL query (describes, sObject rows, limits)."""
    _, sep, q = path.partition("?q=")
    if not sep or "/query" not in path.split("?", 1)[0]:
        return None
    try:
        query = soql.parse(q)
    except soql.SoqlError:
        return None
    return Read(str(query.obj), _filters(query.where))


def _filters(where) -> dict[str, frozenset[str]] | None:
    if where is None:
        return {}
    items = where.items if isinstance(where, soql.BoolOp) and where.op == "AND" else (where,)
    out: dict[str, frozenset[str]] = {}
    for item in items:
        if isinstance(item, soql.Compare) and item.op == "=":
            values = (item.value,)
        elif isinstance(item, soql.InList) and not item.negate:
            values = item.values
        else:
            return None
        texts = []
        for lit in values:
            if lit.kind != "STRING":
                return None
            texts.append(soql.unescape(str(lit.token)))
        out[item.path.text.lower()] = frozenset(texts)
    return out


def _same_id(values: frozenset[str], record_id: str | None) -> bool:
    """``values`` is exactly one Id, ``record_id`` (15- or 18-character forms)."""
    return bool(record_id) and len(values) == 1 and next(iter(values))[:15] == record_id[:15]


class Autopilot:
    #: The objects whose rows show that a human step happened (an authorization, an Install, a policy edit):
    #: a request reading one of them either continues the current run of polls or breaks it.
    POLLED_OBJECTS = frozenset({"OauthToken", "ConnectedApplication", "ExtlClntAppOauthPlcyCnfg"})

    def __init__(self, org: Org, observer, *, stream=None):
        self.org = org
        self.observer = observer
        self.stream = stream or sys.stderr
        self._seen_version: int | None = None
        self._last: tuple[str, ...] | None = None
        self._count = 0

    def on_reads(self, paths: list[str]) -> str | None:
        """Take one successful read request: the path of each GET it made (one, or a Composite's
        subrequests), query string decoded. Acts once the same request was
        repeated ``polls_before_action`` times in a row and is the poll of a step (module docstring).
        Returns the message of what was done, if anything."""
        parsed = [parse_read(path) for path in paths]
        if not any(r and r.sobject in self.POLLED_OBJECTS for r in parsed):
            return None
        signature = tuple(paths)
        with self.org.lock:
            version = self.org.store.version
            if signature != self._last or version != self._seen_version:
                self._last, self._count, self._seen_version = signature, 0, version
            self._count += 1
            if self._count < self.org.scenario["autopilot"]["polls_before_action"]:
                return None
            step = self.waiting_in([r for r in parsed if r is not None])
            planned = self.plan(step) if step else None
            if planned is None:
                return None
            done = self.act(*planned)
            self._last, self._count, self._seen_version = None, 0, self.org.store.version
            return done

    def waiting_in(self, reads: list[Read]) -> str | None:
        """The step whose poll ``reads`` (one request) is: ``setup_authorization``, ``connected_app``
        (install or Permitted Users), ``reauthorization``, ``eca_policies``, ``eca_authorization``; or None."""
        cfg = self.org.scenario["autopilot"]
        setup = self.org.user_by_username(cfg["setup_user"]) if cfg["setup_user"] else None
        integration = (
            self.org.user_by_username(cfg["integration_user"]) if cfg["integration_user"] else None
        )
        app = self.org.app_state()
        app_names = {app["name"].lower(), app["label"].lower()}
        eca_names = {eca.ECA_LABEL.lower(), eca.ECA_DEVELOPER_NAME.lower()}
        tokens = [r for r in reads if r.sobject == "OauthToken" and r.filters is not None]
        if setup and any(
            _same_id(r.filters.get("userid", frozenset()), setup["Id"])
            and r.names("AppName") & app_names
            for r in tokens
        ):
            return "setup_authorization"
        if len(reads) != 1 or reads[0].filters is None:
            return None
        [read] = reads
        keys = set(read.filters)
        if (
            read.sobject == "ConnectedApplication"
            and keys == {"name"}
            and read.names("Name") & app_names
        ):
            return "connected_app"
        if (
            read.sobject == "OauthToken"
            and integration
            and _same_id(read.filters.get("userid", frozenset()), integration["Id"])
        ):
            if keys == {"userid"}:
                return "reauthorization"
            if keys == {"userid", "appname"} and read.names("AppName") & eca_names:
                return "eca_authorization"
        if read.sobject == "ExtlClntAppOauthPlcyCnfg" and keys == {"externalclientapplicationid"}:
            row = eca.eca_row(self.org)
            if row and _same_id(read.filters["externalclientapplicationid"], row["Id"]):
                return "eca_policies"
        return None

    def plan(self, step: str) -> tuple[str, dict] | None:
        """What the operator does for ``step`` now: ``(action, kwargs)`` or ``None`` (nothing they can do,
        or the org already shows the outcome)."""
        org = self.org
        cfg = org.scenario["autopilot"]
        if step in ("eca_policies", "eca_authorization"):
            return self._plan_eca(step)
        state = org.app_state()
        setup = org.user_by_username(cfg["setup_user"]) if cfg["setup_user"] else None
        may_attempt = bool(setup) and (
            org.has_permission(setup["Id"], "CanApproveUninstalledApps")
            or org.has_permission(setup["Id"], "UseAnyApiClient")
            or org.acc_enforcing
        )
        if step == "setup_authorization":
            if not state["installed"] and may_attempt:
                return "authorize", {"username": setup["Username"]}
            return None
        if step == "connected_app" and not state["installed"]:
            if state["blocked"]:
                return "unblock", {}
            if state["visible"]:
                return "install", {}
            if may_attempt:  # step 2's instructions: not listed -> repeat step 1
                return "authorize", {"username": setup["Username"]}
            return None
        if step == "connected_app":
            if not state["admin_approved"] and not org.connected_app_metadata_retrievable:
                return "policy", {"permitted_users": "admin_approved"}
            return None
        integration = (
            org.user_by_username(cfg["integration_user"]) if cfg["integration_user"] else None
        )
        if (
            step == "reauthorization"
            and state["admin_approved"]
            and integration
            and org.is_pre_authorized(integration["Id"])
        ):
            # The tool asks for a reauthorization only where the integration user holds no token now
            # (facts §10.1: the switch deletes the tokens it revokes; a surviving one keeps working).
            if not org.store.find("OauthToken", UserId=integration["Id"], AppName=state["label"]):
                return "authorize", {"username": integration["Username"]}
        return None

    def _plan_eca(self, step: str) -> tuple[str, dict] | None:
        org = self.org
        cfg = org.scenario["autopilot"]
        state = eca.state(org)
        if not state["installed"]:
            return None
        if step == "eca_policies":
            current = state["policies"]
            differs = any(
                str(current.get(k) or "") != str(v or "") for k, v in ECA_POLICIES.items()
            )
            if differs and not eca.policy_metadata_deployable(org):
                return "eca_policy", dict(ECA_POLICIES)
            return None
        integration = (
            org.user_by_username(cfg["integration_user"]) if cfg["integration_user"] else None
        )
        if integration and not org.store.find(
            "OauthToken", UserId=integration["Id"], AppName=eca.ECA_LABEL
        ):
            return "authorize", {"username": integration["Username"], "app": eca.ECA_LABEL}
        return None

    def act(self, action: str, kwargs: dict) -> str:
        """Perform ``action``; print and log it. Returns the printed message."""
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
