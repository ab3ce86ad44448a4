"""The next step of the procedure for a diagnosis, and which model (connected app or ECA) the org is on.

Pure functions of the diagnosis dict (``tasks/diagnose/task.py`` documents its shape). Step names, tasks and
article numbers come from the procedure table (``tasks/procedure.py``).
"""

from __future__ import annotations

import shlex

from .. import app_policy, procedure
from ..vendor import VENDOR

NEW_FLOW = "sixsense_new_customer"
EXISTING_FLOW = "sixsense_existing_customer"
ECA_FLOW = "sixsense_eca"
MIGRATE_FLOW = "sixsense_migrate_to_eca"


def recommend_model(diagnosis: dict) -> dict:
    """Which model the org is on and the flow to run (pure). ``{"model": "connected_app" |
    "external_client_app" | "both" | "neither", "flow": str, "command": "cci flow run <flow> -o ..." (the
    run's inputs repeated, :func:`flow_command`), "why": str}``.

    The connected app counts when it is installed or has tokens; the 6sense ECA when its packaged
    ExternalClientApplication row exists (facts §6.3). 6sense supports only the ECA now (facts §0): orgs with
    neither start there; connected-app orgs finish the seed's procedure first if it is incomplete (their
    integration keeps running), then migrate; orgs with both finish the migration. When a section could
    not be read, ``why`` says the recommendation is provisional and names it."""
    model = _recommend_model(diagnosis)
    model["command"] = flow_command(model["flow"], diagnosis.get("inputs"))
    unreadable = diagnosis.get("unreadable") or []
    if unreadable:
        model["why"] += (
            f" Provisional: {', '.join(unreadable)} could not be read, and may change this."
        )
    return model


def _recommend_model(diagnosis: dict) -> dict:
    app = diagnosis.get("app") or {}
    eca = diagnosis.get("eca") or {}
    on_ca = bool(app.get("installed") or app.get("used"))
    on_eca = bool(eca.get("installed"))
    step = diagnosis.get("next_step") or {}
    if on_ca and on_eca:
        return {
            "model": "both",
            "flow": MIGRATE_FLOW,
            "why": f"the connected app and the {VENDOR.label} External Client App are both present: finish the migration "
            "(the ECA checks, then the removal of the connected app's access once confirmed).",
        }
    if on_eca:
        return {
            "model": "external_client_app",
            "flow": ECA_FLOW,
            "why": f"the org uses the {VENDOR.label} External Client App (the supported method).",
        }
    if on_ca:
        if step.get("flow") and not step.get("done"):
            return {
                "model": "connected_app",
                "flow": step["flow"],
                "why": f"the org is on the {VENDOR.label} connected app and its setup is incomplete; finish it to keep {VENDOR.label} "
                f"syncing, then move to the External Client App with {MIGRATE_FLOW}.",
            }
        return {
            "model": "connected_app",
            "flow": MIGRATE_FLOW,
            "why": f"the org is on the {VENDOR.label} connected app, which {VENDOR.label} no longer recommends; migrate to the "
            "External Client App (non-destructive: nothing is removed without confirmation).",
        }
    return {
        "model": "neither",
        "flow": ECA_FLOW,
        "why": f"{VENDOR.label} has never connected here; new customers use the {VENDOR.label} External Client App.",
    }


def next_step(diagnosis: dict) -> dict:
    """The next step of the seed's procedure for a diagnosis dict (pure; see ``Diagnose`` for the shape).

    Returns ``{"step": "Install the app (article step 2)", "number": 2 | "Prerequisite" | None, "title": str,
    "task": "sixsense_install_connected_app" | None, "flow": "sixsense_new_customer" |
    "sixsense_existing_customer" | None, "command": "cci flow run ..." | "cci task run ...", "task_command":
    "cci task run <task>" | "", "why": str, "text": str, "done": bool}``, plus ``"provisional"`` (the text
    of the step what was read points to) when a section could not be read.

    Order and names follow the procedure table (``tasks/procedure.py``): setup access, then article steps 1
    to 6. Users who cannot authorize, a choice of app to pin and a blocked app come first (seed FAQ,
    OAUTH_APP_BLOCKED; field-cases C07): each rests on a fact that was read. Any other step rests on facts
    that may be among the diagnosis's ``unreadable`` sections (a refused or failed read): then the next
    step is to read them, never a step chosen as if what could not be read were absent (issue 17, kind 8).
    """
    flow = EXISTING_FLOW if diagnosis["app"].get("used_by_others") else NEW_FLOW
    inputs = diagnosis.get("inputs")

    def step(key, why, flow_name=flow, title=None):
        return _step(key, why, flow_name, title, inputs)

    stop = _stop(diagnosis, step)
    if stop:
        return stop
    found = _procedure_step(diagnosis, step)
    unreadable = diagnosis.get("unreadable") or []
    if not unreadable:
        return found
    out = step(
        None,
        f"could not read {', '.join(unreadable)} (see the warnings), so the next step cannot be told from "
        f"this org: what was read points to '{found['step']}', which may rest on what could not be read. "
        "Give the connected user the rights the warnings name (or run again after a transient fault), "
        "then diagnose again.",
        None,
        title="Read what could not be read",
    )
    out["provisional"] = found["text"]
    return out


#: The diagnosis's inputs a follow-up command repeats (``Diagnose._inputs``), in this order.
REPEATED_INPUTS = ("integration_username", "setup_username", "connected_app_names")


def command_options(inputs: dict | None, prefix: str = "") -> str:
    """`` -o <prefix><name> <value>`` for each of :data:`REPEATED_INPUTS` given in ``inputs`` (a list value
    comma-joined), shell-quoted; ``prefix`` ``sixsense_validate_inputs__`` for a flow, which hands them to
    its steps. ``""`` when none is given."""
    out = ""
    for name in REPEATED_INPUTS:
        value = (inputs or {}).get(name)
        if value:
            value = ",".join(value) if isinstance(value, list | tuple) else str(value)
            out += f" -o {prefix}{name} {shlex.quote(value)}"
    return out


def flow_command(flow: str, inputs: dict | None) -> str:
    """``cci flow run <flow>`` with the run's ``inputs`` given to its first step, sixsense_validate_inputs,
    which hands them to the others (:func:`command_options`)."""
    return f"cci flow run {flow}" + command_options(inputs, "sixsense_validate_inputs__")


def _step(key, why, flow_name, title=None, inputs=None) -> dict:
    """One ``next_step`` result: the procedure step ``key`` (None: a manual step named ``title``). Its
    commands repeat the run's ``inputs`` (:func:`command_options`: the integration user the steps require,
    the setup user and a pinned app name where given), so that they run as printed."""
    entry = procedure.step(key) if key else None
    task_command = f"cci task run {entry.task}" if entry and entry.task else ""
    if task_command:
        task_command += command_options(inputs)
    task = entry.task if entry else None
    number = (entry.article_step or "Prerequisite") if entry else None
    title = entry.title if entry else title
    label = entry.name if entry else title
    done = key == "verify" and "complete" in why
    if done:
        flow_name = None
    if task and flow_name:
        command = flow_command(flow_name, inputs)
        text = f"{label} — run `{command}` (step {task})"
    elif task:
        command = task_command
        text = f"{label} — run `{task_command}`"
    else:
        command = ""
        text = f"{label} — manual: {why}"
    return {
        "step": label,
        "number": number,
        "title": title,
        "task": task,
        "flow": flow_name if task else None,
        "command": command,
        "task_command": task_command,
        "why": why,
        "text": text,
        "done": done,
    }


def _stop(diagnosis: dict, step) -> dict | None:
    """Users who cannot authorize, an app to pin, a blocked app: each read, and each first (None: none)."""
    app = diagnosis["app"]
    users = diagnosis["users"]
    if users.get("problems"):
        return step(
            None,
            " ".join(users["problems"]),
            None,
            title="Fix the users who cannot authorize",
        )

    if app.get("choice_required"):
        return step(
            None,
            app["choice_required"],
            None,
            title=f"Pin which connected app is {VENDOR.label}'s (connected_app_names)",
        )

    if app.get("blocked"):
        if app.get("installed"):
            why = (
                "the app is blocked on Connected Apps OAuth Usage; select Unblock there "
                "(blocking ends all sessions and prevents new ones)."
            )
        else:
            why = (
                f"the app is blocked on Connected Apps OAuth Usage; {procedure.step('install').name}, "
                f"{procedure.step('app_access').name}, then select Unblock."
            )
        return step(
            None, why, None, title=f"Unblock the {VENDOR.label} app on Connected Apps OAuth Usage"
        )

    return None


def _procedure_step(diagnosis: dict, step) -> dict:
    """The procedure's next step from the facts read (``next_step`` checks what could not be read)."""
    app = diagnosis["app"]
    users = diagnosis["users"]
    acc = diagnosis["api_access_control"]
    setup = users.get("setup") or {}
    integration = users.get("integration") or {}
    tokens = diagnosis.get("tokens") or {}
    if not app.get("installed"):
        if not app.get("used"):
            sources = setup.get("approve_uninstalled_sources")
            if setup.get("found") and sources == []:
                return step(
                    "setup_access",
                    f"the setup user {setup.get('username')} does not hold CanApproveUninstalledApps "
                    "(only the standard System Administrator profile gets it automatically), so the "
                    "one-time authorization would fail with OAUTH_APPROVAL_ERROR_GENERIC.",
                    NEW_FLOW,
                )
            why = (
                "the app has never been used in this org (no OauthToken, no ConnectedApplication), so "
                "Salesforce does not list it on Connected Apps OAuth Usage yet."
                if "OauthToken" not in (diagnosis.get("unreadable") or [])
                else "the app is not installed (no ConnectedApplication), and whether it was ever used here "
                "could not be read (OauthToken: see the warnings); if nobody has authorized it yet, start "
                "here, else install it on Connected Apps OAuth Usage."
            )
            if acc.get("enforcing"):
                why += (
                    " API Access Control is enforcing: Salesforce will deny the attempt (OAUTH_APP_BLOCKED) "
                    "and keep no token, but the attempt lists the app; if it was already made, go on with "
                    f"'{procedure.step('install').name}'."
                )
            return step("authorize_setup_user", why, NEW_FLOW)
        return step(
            "install",
            "the app is in use in this org (tokens exist) but not installed (no ConnectedApplication row); "
            "new authorizations are refused until it is installed.",
        )

    # Access before Permitted Users (the procedure's order): the switch to admin approved revokes the tokens
    # of users who are not pre-authorized (facts §10.1), so the integration user is given access first.
    provided, found = integration.get("provided"), integration.get("found")
    if provided and found is False:
        return step(
            None,
            f"no user {integration.get('username')} in this org; check integration_username.",
            None,
            title="Fix the integration username",
        )
    if (found and not integration.get("has_app_access")) or (
        not provided and not app.get("access")
    ):
        who = (
            f"none of {integration.get('username')}'s permission sets nor its profile has"
            if found
            else "no permission set or profile has"
        )
        return step(
            "app_access",
            f"{who} access to the app (no SetupEntityAccess row), so its authorization would fail with "
            "invalid_app_access"
            + (
                ", and switching Permitted Users to admin approved would revoke its token: give access "
                "first."
                if not app.get("admin_approved")
                else "."
            ),
        )
    if not app.get("admin_approved"):
        return step(
            "permitted_users",
            "the app is installed but Permitted Users is 'All users may self-authorize' "
            "(ConnectedApplication.OptionsAllowAdminApprovedUsersOnly false). Changing it logs out the "
            "app's users who are not pre-authorized.",
        )
    if not provided:
        return step(
            "verify",
            "the app is installed, admin approved and some permission sets or profiles have access; pass "
            "integration_username to check the integration user's access and token.",
        )
    if tokens.get("integration_user") is None:
        return step(
            "verify",
            f"{integration.get('username')}'s OauthToken rows could not be read here (see the warnings), so "
            "whether it holds a token for the app is unknown; the verification checks it.",
        )
    app_tokens = (tokens.get("integration_user") or {}).get("app") or {}
    if not app_tokens.get("count"):
        return step(
            "reauthorize",
            f"{integration.get('username')} holds no token for the app (never authorized, or the Permitted "
            "Users change revoked it); reauthorizing may log it out of Pardot / Sales Engagement (see its "
            "other tokens).",
        )
    policies = app.get("policies") or {}
    broken = [
        why
        for ok, why in (
            (policies.get("refresh_ok"), policies.get("refresh_why")),
            (policies.get("ip_ok"), policies.get("ip_why")),
        )
        if ok is False
    ]
    if broken:
        return step(
            None,
            f"the app's OAuth policies stop {VENDOR.label}'s sync ({'; '.join(broken)}); fix them on "
            f"{app_policy.FIX_PAGE} (the desired policy: refresh token valid until revoked, IP restrictions "
            "relaxed), then run the verification.",
            None,
            title=f"Fix the {VENDOR.label} app's OAuth policies",
        )
    return step(
        "verify",
        "setup complete: installed, admin approved, access granted, the integration user holds a token for "
        "the app (it survived the Permitted Users change or is newer); run "
        "the verification for the record.",
    )
