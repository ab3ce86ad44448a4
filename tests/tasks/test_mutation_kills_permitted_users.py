"""sixsense_set_permitted_users, specified where ``make mutate`` found the suite silent (tasks/permitted_users.py):
the policy merge of the Metadata ETL path (profiles, an entry added beside the org's own, field order, a
retrieved app that already matches), the ETL touching only the vendor's app, the consent's exact wording and
its defaults (Enter is no; ``interactive`` without a terminal asks nothing; one consent is asked once), the
plan-mode reasons, and the guided step's exact instructions."""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import io
import logging
import zipfile

import pytest

from tests.tasks.conftest import ADMIN, ADMIN_USER, APP, APP_ROW, Terminal
from tests.tasks.test_permitted_users import RETRIEVED, not_approved

NS = "http://soap.sforce.com/2006/04/metadata"
POLICY = {
    "is_admin_approved": True,
    "ip_relaxation": "ENFORCE",
    "refresh_token_policy": "infinite",
    "permission_sets": ["Sixsense_Integration_Access"],
    "profiles": [],
}
#: Another connected app the same retrieve could return (it must never be transformed or deployed).
OTHER_APP = "Pardot"
OTHER_XML = RETRIEVED.replace(f"<label>{APP}</label>", f"<label>{OTHER_APP}</label>")
#: The retrieved app, already as the policy template wants it.
MATCHING = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>ops@6sense.com</contactEmail>
    <label>sfdc_6sense_oauth_app</label>
    <oauthConfig>
        <callbackUrl>https://6sense.example/callback</callbackUrl>
        <isAdminApproved>true</isAdminApproved>
    </oauthConfig>
    <oauthPolicy>
        <ipRelaxation>ENFORCE</ipRelaxation>
        <refreshTokenPolicy>infinite</refreshTokenPolicy>
    </oauthPolicy>
    <permissionSetName>Sixsense_Integration_Access</permissionSetName>
</ConnectedApp>"""


def _module():
    return importlib.import_module("tasks.permitted_users")


def _tree(xml: str):
    from cumulusci.utils.xml import metadata_tree

    return metadata_tree.fromstring(xml.encode())


def _children(app) -> list[tuple[str, str]]:
    """``[(tag, text)]`` of the app's direct children, in document order."""
    return [
        (c.tag.split("}")[-1], (c.text or "").strip())
        for c in app._element
        if isinstance(c.tag, str)
    ]


# -- merge_policy / ensure_child ---------------------------------------------------------------------------


def test_a_profile_is_added_in_field_order_and_named_in_the_changes(runtime):
    app = _tree(RETRIEVED.replace("</ConnectedApp>", "<plugin>Foo</plugin></ConnectedApp>"))
    changes = _module().merge_policy(app, {**POLICY, "profiles": ["6sense Integration"]})
    assert "profileName: + 6sense Integration" in changes
    tags = [t for t, _ in _children(app)]
    # Metadata API order: ... oauthConfig, oauthPolicy, permissionSetName, plugin, profileName.
    assert tags == [
        "contactEmail",
        "label",
        "oauthConfig",
        "oauthPolicy",
        "permissionSetName",
        "plugin",
        "profileName",
    ], tags
    assert ("profileName", "6sense Integration") in _children(app)


def test_an_entry_is_added_beside_the_orgs_own_which_stay(runtime):
    app = _tree(
        RETRIEVED.replace(
            "</ConnectedApp>",
            "<permissionSetName>Org_Own_Set</permissionSetName><profileName>Org Profile</profileName>"
            "</ConnectedApp>",
        )
    )
    changes = _module().merge_policy(
        app, {**POLICY, "profiles": ["Org Profile", "6sense Integration"]}
    )
    assert changes[-2:] == [
        "permissionSetName: + Sixsense_Integration_Access",
        "profileName: + 6sense Integration",
    ]
    entries = [(t, x) for t, x in _children(app) if t in ("permissionSetName", "profileName")]
    assert entries == [
        ("permissionSetName", "Org_Own_Set"),
        ("permissionSetName", "Sixsense_Integration_Access"),
        ("profileName", "Org Profile"),
        ("profileName", "6sense Integration"),
    ]


def test_a_policy_without_profiles_or_permission_sets_adds_none(runtime):
    app = _tree(RETRIEVED)
    policy = {k: v for k, v in POLICY.items() if k not in ("profiles", "permission_sets")}
    changes = _module().merge_policy(app, policy)
    assert not [c for c in changes if c.startswith(("profileName", "permissionSetName"))]
    assert [t for t, _ in _children(app) if t in ("profileName", "permissionSetName")] == []


def test_ensure_child_inserts_between_its_neighbours(runtime):
    app = _tree(
        RETRIEVED.replace(
            "</ConnectedApp>", "<permissionSetName>X</permissionSetName></ConnectedApp>"
        )
    )
    _module().ensure_child(app, "oauthPolicy")
    tags = [t for t, _ in _children(app)]
    assert tags.index("oauthConfig") + 1 == tags.index("oauthPolicy")
    assert tags.index("oauthPolicy") + 1 == tags.index("permissionSetName")


# -- the Metadata ETL path ----------------------------------------------------------------------------------


def _etl(org, files: dict[str, str], approve_on_deploy=True):
    state = not_approved(org)
    org.list_metadata = [APP]
    org.retrieve_files = files

    def on_deploy(kind, body):
        if kind == "deploy" and approve_on_deploy:
            state["row"] = APP_ROW

    org.on_insert = on_deploy
    return state


def _waiting_step(make_task, **options):
    """sixsense_set_permitted_users as a step that gives up waiting after a second (it ends pending)."""
    return make_task("sixsense_set_permitted_users", wait_timeout="1", poll_interval="1", **options)


def _retrieve_bodies(org) -> list[str]:
    return [
        c.request.body.decode() if isinstance(c.request.body, bytes) else c.request.body
        for c in org.rsps.calls
        if c.request.headers.get("SOAPAction") == "retrieve"
    ]


def test_the_etl_retrieves_and_deploys_only_the_vendors_app(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    _etl(
        org,
        {
            f"connectedApps/{APP}.connectedApp": RETRIEVED,
            f"connectedApps/{OTHER_APP}.connectedApp": OTHER_XML,
        },
    )
    step = make_task(
        "sixsense_set_permitted_users",
        interactive="False",
        confirm_logout="True",
        confirm_production="True",
    )
    result = step()
    assert result["status"] == "deployed"
    [body] = _retrieve_bodies(org)
    assert f"<members>{APP}</members>" in body and "<members>*</members>" not in body, body
    deployed = zipfile.ZipFile(io.BytesIO(base64.b64decode(org.deployed_zip.group(1))))
    assert [n for n in deployed.namelist() if n.startswith("connectedApps/")] == [
        f"connectedApps/{APP}.connectedApp"
    ]
    # Each change is logged with the app's name, and recorded in the audit as deployed.
    assert f"{APP}: oauthConfig/isAdminApproved: 'false' -> 'true'" in caplog.messages
    assert step._etl_changes == _module().merge_policy(_tree(RETRIEVED), step.policy)
    assert "The retrieved ConnectedApp already matches the policy template." not in caplog.messages
    assert step.audit_notes["before"] == "all users may self-authorize"
    assert step.audit_notes["changed"] == [
        {
            "object": "ConnectedApp",
            "action": "deployed",
            "what": f"{APP}: Permitted Users admin approved",
            "details": step._etl_changes,
        }
    ]
    assert result["detail"] == f"{APP} is admin approved (Metadata ETL, verified by query)"
    # cci made this change itself: no SetupAuditTrail evidence is read for it (that is for manual steps)
    assert "evidence" not in result and "evidence" not in step.audit_notes


def test_the_production_guard_names_the_etl_write(make_task, org, errors, monkeypatch, capsys):
    """Consent to the logout given, not to writing to production: the question at the terminal names the
    deploy; "n" writes nothing."""
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    with pytest.raises(errors.ConfirmationRequired):
        make_task("sixsense_set_permitted_users", interactive="True", confirm_logout="True")()
    question = capsys.readouterr().out
    assert f"Write to it (deploy the Permitted Users change of {APP})" in question, question
    assert org.writes() == []


def test_a_retrieved_app_that_already_matches_is_not_deployed(make_task, org, caplog, errors):
    """The sObject says not admin approved but the metadata already matches: nothing to deploy (no needless
    write), said in the log; the step then guides the operator, as the org still disagrees."""
    caplog.set_level(logging.INFO)
    _etl(org, {f"connectedApps/{APP}.connectedApp": MATCHING}, approve_on_deploy=False)
    step = _waiting_step(
        make_task, interactive="False", confirm_logout="True", confirm_production="True"
    )
    with pytest.raises(errors.ManualStepPending):
        step()
    assert "The retrieved ConnectedApp already matches the policy template." in caplog.messages
    assert step._etl_changes == []
    assert (
        "The ConnectedApp deploy succeeded but the org does not report the app as admin approved; "
        "set it by hand:"
    ) in caplog.messages
    assert step.method == "guided"  # what the step reports as its method (return value ``method``)
    # cci deploys the package without the unchanged app (its package.xml drops it): no ConnectedApp written.
    deployed = zipfile.ZipFile(io.BytesIO(base64.b64decode(org.deployed_zip.group(1))))
    assert [n for n in deployed.namelist() if n.startswith("connectedApps/")] == []


# -- the consent ----------------------------------------------------------------------------------------------


def _recent_grant(org):
    """A grant of the app to another user, created long before the run and used today (it may be the sync)."""
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000"
    )
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    org.on(
        "FROM OauthToken",
        records=[
            {
                "AppName": APP,
                "UserId": "005000000000009AAA",
                "User": {"Username": "sales.ops@example.com"},
                "CreatedDate": created,
                "LastUsedDate": today,
                "UseCount": 40,
                "AppMenuItemId": None,
            }
        ],
    )


def _hide_other_users_tokens(monkeypatch) -> None:
    """The connected user may not see other users' OAuth tokens ("it lacks Manage Users")."""
    monkeypatch.setattr(
        importlib.import_module("tasks.connected_user"),
        "others_tokens_hidden",
        lambda task: "it lacks Manage Users",
    )


def _consent_message(used: str = "") -> str:
    return (
        f"Not changed: switching {APP} to 'Admin approved users are pre-authorized' revokes "
        "the tokens of users without pre-authorization, and the vendor article says it may log out all "
        f"users of the app; the grants listed above are the ones at stake{used}. Confirm with "
        "-o sixsense_set_permitted_users__confirm_logout True (or run interactively), then run the flow "
        "again. Nothing was written or instructed."
    )


def test_the_etl_consent_names_no_grant_when_none_is_recent(make_task, org, errors):
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert str(refused.value) == _consent_message()
    assert org.writes() == []


def test_the_consent_names_the_recent_grant_and_the_unreadable_ones(
    make_task, org, errors, monkeypatch
):
    """A recent grant the connected user sees, while other users' tokens are hidden from it: both are said."""
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    _recent_grant(org)
    _hide_other_users_tokens(monkeypatch)
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make_task("sixsense_set_permitted_users", interactive="False", connected_app_names=APP)()
    message = str(refused.value)
    assert f"; it revokes sales.ops@example.com's {APP} grant (last used " in message, message
    assert message.endswith(
        "(it may be the live sync); which grants it revokes could not be read (it lacks Manage Users). "
        "Confirm with -o sixsense_set_permitted_users__confirm_logout True (or run interactively), then "
        "run the flow again. Nothing was written or instructed."
    ), message
    assert org.writes() == []


def test_interactive_without_a_terminal_asks_nothing(make_task, org, errors, monkeypatch):
    """``interactive True`` with standard input not a terminal (a pipe, CI): no question, the one refusal."""
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # an answer nobody may read
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make_task("sixsense_set_permitted_users", interactive="True")()
    assert str(refused.value) == _consent_message()
    assert org.writes() == []


def test_enter_at_the_consent_is_no(make_task, org, errors, monkeypatch, capsys):
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("\n"))
    with pytest.raises(errors.ConfirmationRequired):
        make_task("sixsense_set_permitted_users", interactive="True")()
    assert capsys.readouterr().out.count("[y/N]") == 1
    assert org.writes() == []


def test_one_consent_is_asked_once_when_the_etl_falls_back_to_the_guided_step(
    make_task, org, errors, monkeypatch, capsys
):
    """ "y" to the ETL's question; the deploy does not take, so the step guides the operator, with a grant in
    recent use at stake: the consent already given covers it (a second question would read end of input)."""
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED}, approve_on_deploy=False)
    _recent_grant(org)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    step = _waiting_step(make_task, interactive="True", confirm_production="True")
    with pytest.raises(errors.ManualStepPending):
        step()
    assert capsys.readouterr().out.count("[y/N]") == 1
    assert step._logout_confirmed is True


# -- plan mode ----------------------------------------------------------------------------------------------


def test_plan_names_why_the_guided_step_needs_consent(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    not_approved(org)
    _recent_grant(org)
    make_task("sixsense_set_permitted_users", interactive="False", plan="True")()
    [line] = [m for m in caplog.messages if m.startswith("PLAN: would need confirm_logout True")]
    assert line.startswith(
        f"PLAN: would need confirm_logout True (the change revokes sales.ops@example.com's {APP} grant"
    ), line
    assert line.endswith(", used in the last 7 days)"), line


def test_plan_says_when_the_grants_could_not_be_read(make_task, org, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    not_approved(org)
    org.on("FROM OauthToken", records=[])
    _hide_other_users_tokens(monkeypatch)
    make_task(
        "sixsense_set_permitted_users", interactive="False", plan="True", connected_app_names=APP
    )()
    assert (
        "PLAN: would need confirm_logout True (the grants it revokes could not be read)"
        in caplog.messages
    ), caplog.messages


# -- the guided step's instructions ---------------------------------------------------------------------------


def test_the_guided_instructions_word_for_word(make_task, org, errors):
    not_approved(org)
    with pytest.raises(errors.ManualStepPending) as pending:
        make_task("sixsense_set_permitted_users", interactive="False")()
    text = str(pending.value)
    for line in (
        "1. In Salesforce, log in as a System Administrator.",
        "2. Open Setup > Apps > Connected Apps > Connected Apps OAuth Usage: ",
        f"3. Locate {APP} and select Manage App Policies, then Edit Policies.",
        "4. Under OAuth Policies, set Permitted Users to 'Admin approved users are pre-authorized'.",
        "5. Select OK to confirm (Salesforce revokes the tokens of users without pre-authorization; the "
        "vendor article says it may log out all users of the app), then Save.",
    ):
        assert line in text, (line, text)


def test_the_evidence_is_read_for_the_installed_app_only(make_task, org, monkeypatch):
    """The SetupAuditTrail evidence is looked up by the installed app's name, not by every candidate name
    (another candidate's entry is not this app's evidence)."""
    audit_trail = importlib.import_module("tasks.setup_audit_trail")
    asked = []
    monkeypatch.setattr(
        audit_trail, "for_step", lambda task, step, names: asked.append(list(names)) or None
    )
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    step = make_task("sixsense_set_permitted_users", interactive="False")
    step()
    assert asked == [[APP]], asked
    assert ADMIN and ADMIN_USER  # the fake org's connected user


def test_plan_before_the_install_names_every_candidate_in_the_instructions(make_task, org, caplog):
    """Plan mode while the app is not installed yet (an earlier manual step): the instructions name each
    candidate name, joined by "or"."""
    caplog.set_level(logging.INFO)
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    step = make_task("sixsense_set_permitted_users", interactive="False", plan="True")
    step()
    names = " or ".join(step.app_names)
    assert len(step.app_names) > 1
    assert any(
        f"Locate {names} and select Manage App Policies, then Edit Policies." in m
        for m in caplog.messages
    ), caplog.messages


def test_a_retried_listmetadata_is_named(sim_task, caplog, errors):
    """listMetadata, which decides between the ETL and the guided step, failing once: the retry's warning
    names that read."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task("permitted_users_revokes_recent_grant")
    sim.observer.set_faults("match=listMetadata:kind=503:times=1")
    with pytest.raises(errors.ManualStepPending):  # not retrievable here: the guided step
        make(
            "sixsense_set_permitted_users",
            interactive="False",
            confirm_logout="True",
            confirm_production="True",
        )()
    assert [m for m in caplog.messages if m.startswith("listMetadata: ") and "retrying (1/" in m], [
        m for m in caplog.messages if "retrying" in m
    ]
