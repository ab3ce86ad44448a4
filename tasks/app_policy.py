"""The vendor's connected app's OAuth policies as the org keeps them, and whether they break the sync.

Where each policy lives (salesforce-facts.md §6.1, §10.4): the refresh-token policy and IP relaxation are
``oauthPolicy/refreshTokenPolicy`` and ``oauthPolicy/ipRelaxation`` of the app's ConnectedApp metadata;
``ConnectedApplication`` has no IP relaxation field, but it holds the refresh-token validity (§3, §10.4):
``RefreshTokenValidityPeriod`` (int, no unit on the object) and ``OptionsRefreshTokenValidityMetric`` (true:
counted from the token's last use, Object Reference "ConnectedApplication", as ``orgsim/schema.py`` models
it). :func:`read_validity` reads them and :func:`assess_validity` judges only what they establish: a fixed
lifetime breaks the sync; no period cannot tell "valid until revoked" from "expire immediately". Where the
org does not list the app as ConnectedApp metadata (the usual case for an app installed from OAuth Usage),
IP relaxation is "could not read" (never "enforced" or "relaxed"), and the refresh-token policy is what
ConnectedApplication establishes, else "could not read".

The effective policy can differ from the metadata: when the app's developer turns on the 30-day idle limit, a
subscriber's "valid until revoked" behaves as 30 days of inactivity without the metadata changing (§10.1).
"""

from __future__ import annotations

import io

from cumulusci.salesforce_api.metadata import ApiListMetadata, ApiRetrieveUnpackaged
from lxml import etree

from .errors import SixsenseOrgError
from .metadata_xml import MD_NS, package_xml
from .queries import soql_quote
from .vendor import VENDOR

#: ``refreshTokenPolicy`` values (facts §6.1) in the words of Setup's Manage App Policies page.
REFRESH_WORDS = {
    "infinite": "Refresh token is valid until revoked",
    "zero": "Expire refresh token immediately",
    "specific_lifetime": "Expire refresh token after a specific time",
    "specific_inactivity": "Expire refresh token if not used for a specific time",
}
#: ``ipRelaxation`` values (facts §6.1), least to most permissive for a token refresh from anywhere.
IP_WORDS = {
    "ENFORCE": "Enforce IP restrictions",
    "BYPASS_2FACTOR": "Relax IP restrictions for activated devices",
    "ENFORCE_RELAXREFRESH": "Enforce IP restrictions, but relax for refresh tokens",
    "BYPASS": "Relax IP restrictions",
}
_HOURS = {"HOURS": 1, "DAYS": 24, "MONTHS": 24 * 30}
#: The shortest idle lifetime that keeps a sync alive: the one the vendor's own ECA uses (vendor file,
#: ``external_client_app.policies``; §10.1 partner rule: 30 days of inactivity).
MIN_IDLE_HOURS = int(VENDOR.eca_policies.get("refreshTokenValidityPeriod") or 30) * _HOURS.get(
    (VENDOR.eca_policies.get("refreshTokenValidityUnit") or "Days").upper(), 24
)
EFFECTIVE_POLICY_NOTE = (
    "the effective policy can be stricter than this metadata: when the app's developer turns on the 30-day "
    "idle refresh-token limit, 'valid until revoked' behaves as 30 days of inactivity (Salesforce Help: 'Limit the Idle Refresh Token TTL')"
)
FIX_PAGE = "Setup > Connected Apps OAuth Usage > Manage App Policies > Edit Policies"
#: The refresh-token policies that keep the sync alive, in the page's words (what an operator checks by hand
#: where the org cannot show the policy by API).
KEEPS_TOKENS = (
    f"'{REFRESH_WORDS['infinite']}' or 'Expire refresh token if not used for' at least "
    f"{MIN_IDLE_HOURS // 24} days"
)


def read_oauth_policy(task, app_name: str) -> dict | None:
    """The app's ``oauthPolicy`` from its ConnectedApp metadata: ``{"member", "ip_relaxation",
    "refresh_token_policy"}`` (values as the metadata has them, None when absent), or None when the org does
    not list ``app_name`` (or another name of the app) as ConnectedApp metadata. ``task``: a SixsenseOrgMixin
    task. Raises ``SixsenseOrgError`` / ``MetadataApiError`` when the list or retrieve fails (the caller
    reports "could not read")."""
    api_version = task.project_config.project__package__api_version
    listing = task._read(
        "listMetadata", ApiListMetadata(task, "ConnectedApp", as_of_version=api_version)
    )
    wanted = app_name.lower()
    member = next(
        (
            item["fullName"]
            for item in (listing or {}).get("ConnectedApp", [])
            if (item.get("fullName") or "").lower() == wanted
        ),
        None,
    )
    if member is None:
        return None
    zip_file = task._read(
        "Metadata retrieve",
        ApiRetrieveUnpackaged(
            task, package_xml("ConnectedApp", [member], api_version), api_version
        ),
    )
    root = etree.parse(io.BytesIO(zip_file.read(f"connectedApps/{member}.connectedApp"))).getroot()

    def text(tag):
        found = root.xpath(
            f"/md:ConnectedApp/md:oauthPolicy/md:{tag}/text()", namespaces={"md": MD_NS}
        )
        return found[0].strip() if found and found[0].strip() else None

    return {
        "member": member,
        "ip_relaxation": text("ipRelaxation"),
        "refresh_token_policy": text("refreshTokenPolicy"),
    }


def describe_refresh(value: str | None) -> str:
    """``specific_inactivity:2:HOURS`` -> "Expire refresh token if not used for a specific time (2 hours)"."""
    if not value:
        return "not set"
    kind, _, rest = value.partition(":")
    words = REFRESH_WORDS.get(kind.lower(), value)
    if rest:
        number, _, unit = rest.partition(":")
        words += f" ({number} {unit.lower()})"
    return words


def assess_refresh(value: str | None, desired: str | None) -> tuple[bool, str]:
    """Whether the refresh-token policy ``value`` keeps a sync alive: (ok, why). ``zero`` (the sync stops as
    soon as its access token expires) and any ``specific_lifetime`` (it stops that long after each
    authorization, however active) break it; ``specific_inactivity`` shorter than ``MIN_IDLE_HOURS`` breaks it
    at the first longer pause; ``infinite`` and ``desired`` keep it."""
    if not value:
        return False, "no refreshTokenPolicy in the app's metadata"
    if desired and value.lower() == desired.lower():
        return True, f"{describe_refresh(value)}, as the desired policy"
    kind, _, rest = value.partition(":")
    kind = kind.lower()
    if kind == "infinite":
        return True, describe_refresh(value)
    if kind == "zero":
        return False, (
            f"{describe_refresh(value)}: {VENDOR.label}'s sync stops as soon as its access token expires"
        )
    if kind == "specific_lifetime":
        return False, (
            f"{describe_refresh(value)}: {VENDOR.label}'s sync stops that long after each authorization, "
            "however often it runs"
        )
    if kind == "specific_inactivity":
        number, _, unit = rest.partition(":")
        try:
            hours = int(number) * _HOURS[unit.upper()]
        except (KeyError, ValueError):
            return False, f"unrecognised refreshTokenPolicy {value!r}"
        if hours < MIN_IDLE_HOURS:
            return False, (
                f"{describe_refresh(value)}: shorter than the {MIN_IDLE_HOURS // 24} days "
                f"{VENDOR.label}'s own External Client App allows, so a pause of the sync ends it"
            )
        return True, describe_refresh(value)
    return False, f"unrecognised refreshTokenPolicy {value!r}"


def assess_ip(value: str | None, desired: str | None) -> tuple[bool, str]:
    """Whether IP relaxation ``value`` is the desired one or more permissive: (ok, why). ``ENFORCE`` applies
    the integration user's profile login IP ranges to every refresh from the vendor's servers: it is reported
    as such (it breaks the sync wherever that profile has ranges the vendor's servers are outside)."""
    if not value:
        return False, "no ipRelaxation in the app's metadata"
    words = IP_WORDS.get(value.upper(), value)
    order = list(IP_WORDS)
    if value.upper() not in order:
        return False, f"unrecognised ipRelaxation {value!r}"
    want = (desired or "ENFORCE").upper()
    ok = order.index(value.upper()) >= order.index(want if want in order else "ENFORCE")
    if value.upper() == "ENFORCE":
        words += (
            f": {VENDOR.label}'s refreshes must come from the integration user's profile login IP ranges, "
            "if it has any"
        )
    return ok, words


#: ExtlClntAppOauthConfigurablePolicies ``refreshTokenPolicyType`` (facts §10.2) -> ConnectedApp form.
_ECA_REFRESH = {
    "infinite": "infinite",
    "zero": "zero",
    "specificlifetime": "specific_lifetime",
    "specificinactivity": "specific_inactivity",
}


def eca_refresh_value(policy_type, period=None, unit=None) -> str | None:
    """An ECA's refresh-token policy (``RefreshTokenPolicyType``, ``...ValidityPeriod``, ``...ValidityUnit``,
    facts §10.2) in the ConnectedApp form :func:`assess_refresh` reads: ``SpecificInactivity, 30, Days`` ->
    ``specific_inactivity:30:DAYS``. None when ``policy_type`` is empty."""
    if not policy_type:
        return None
    kind = _ECA_REFRESH.get(str(policy_type).lower().replace("_", ""), str(policy_type))
    if kind in ("specific_lifetime", "specific_inactivity"):
        number = int(float(period)) if period not in (None, "") else 0
        return f"{kind}:{number}:{str(unit or '').upper()}"
    return kind


def eca_ip_value(value) -> str | None:
    """An ECA's IP relaxation (``ExtlClntAppOauthPlcyCnfg.IpRelaxationPolicyType`` in SOQL casing, e.g.
    ``Enforce_relaxrefresh``, or the metadata's ``ipRelaxationPolicyType``, e.g. ``Enforce_RelaxRefresh``;
    facts §10.2) in the ConnectedApp form :func:`assess_ip` reads (``ENFORCE_RELAXREFRESH``). The four values
    differ from the connected app's only in case. None when ``value`` is empty."""
    return str(value).strip().upper() or None if value else None


#: ConnectedApplication's refresh-token validity fields (Field Reference v67, facts §3).
VALIDITY_FIELDS = ("RefreshTokenValidityPeriod", "OptionsRefreshTokenValidityMetric")


def read_validity(task, app_id: str) -> dict | None:
    """The refresh-token validity of the installed app ``app_id`` (a ConnectedApplication Id):
    ``{"period": int | None, "idle": bool}`` (``idle``: counted from the last use), or None when the row is
    gone. Raises ``SixsenseOrgError`` when the org refuses the query or a field (``INVALID_FIELD``): the
    caller says "could not read", never a default."""
    rows = task._query(
        f"SELECT {', '.join(VALIDITY_FIELDS)} FROM ConnectedApplication WHERE Id = {soql_quote(app_id)}"
    )
    if not rows:
        return None
    period = rows[0].get("RefreshTokenValidityPeriod")
    return {
        "period": None if period in (None, "") else int(float(period)),
        "idle": bool(rows[0].get("OptionsRefreshTokenValidityMetric")),
    }


def describe_validity(validity: dict) -> str:
    """``{"period": 12, "idle": False}`` -> "RefreshTokenValidityPeriod 12, OptionsRefreshTokenValidityMetric
    false" (as ConnectedApplication gives them)."""
    return (
        f"RefreshTokenValidityPeriod {validity['period'] if validity['period'] is not None else 'null'}, "
        f"OptionsRefreshTokenValidityMetric {str(validity['idle']).lower()}"
    )


def assess_validity(validity: dict) -> tuple[bool | None, str]:
    """What ConnectedApplication's validity fields establish about the sync: (ok, why), ``ok`` None when
    they cannot tell. The object gives no unit (hours, days or months): a period with the metric false is a
    fixed lifetime (breaks the sync, as ``specific_lifetime`` in :func:`assess_refresh`); with the metric true
    it is an idle limit, enough whatever the unit from ``MIN_IDLE_HOURS`` up, 0 breaks it, else undecided.
    No period: "valid until revoked" or "expire refresh token immediately", undecided."""
    period, words = validity["period"], describe_validity(validity)
    if period is None:
        return None, (
            f"{words}: 'valid until revoked' or 'Expire refresh token immediately' (ConnectedApplication "
            "does not say which)"
        )
    if not validity["idle"]:
        return False, (
            f"{words}: {REFRESH_WORDS['specific_lifetime']} ({period} hours, days or months): "
            f"{VENDOR.label}'s sync stops that long after each authorization, however often it runs"
        )
    if period >= MIN_IDLE_HOURS:
        return (
            True,
            f"{words}: {REFRESH_WORDS['specific_inactivity']}, at least {MIN_IDLE_HOURS // 24} days",
        )
    if period <= 0:
        return False, f"{words}: refresh tokens expire as soon as they are unused"
    return None, (
        f"{words}: {REFRESH_WORDS['specific_inactivity']} ({period} hours, days or months; "
        f"ConnectedApplication gives no unit): shorter than {MIN_IDLE_HOURS // 24} days unless the unit is "
        f"{'months' if period < MIN_IDLE_HOURS // 24 else 'days or months'}"
    )


def validity_verdict(task, app_id: str) -> tuple[bool | None, str]:
    """:func:`assess_validity` of the app's row, ``why`` prefixed "ConnectedApplication". Raises
    ``SixsenseOrgError`` when the read is refused or the row is gone (the caller: "could not check")."""
    ok, why = assess_validity(_existing_validity(task, app_id))
    return ok, f"ConnectedApplication {why}"


def _existing_validity(task, app_id: str) -> dict:
    """:func:`read_validity`, with a gone row as ``SixsenseOrgError`` (a read that gives nothing)."""
    validity = read_validity(task, app_id)
    if validity is None:
        raise SixsenseOrgError("the app's ConnectedApplication row is gone")
    return validity


#: ConnectedApplication's session fields (Field Reference v67, facts §3): read and reported, never judged.
SESSION_FIELDS = ("OptionsHasSessionLevelPolicy", "MobileSessionTimeout")


def session_policy_text(task, app_id: str) -> str:
    """The app's session fields as information: "OptionsHasSessionLevelPolicy true, MobileSessionTimeout
    null: ...", or "could not read: why". The facts give these fields no effect on an API integration's
    token refresh (§3 lists them, §10 does not say a session-level policy stops a sync), so this is never
    a verdict or a warning."""
    try:
        rows = task._query(
            f"SELECT {', '.join(SESSION_FIELDS)} FROM ConnectedApplication WHERE Id = {soql_quote(app_id)}"
        )
    except SixsenseOrgError as e:
        return f"could not read: {e}"
    if not rows:
        return "could not read: the app's ConnectedApplication row is gone"
    level = bool(rows[0].get("OptionsHasSessionLevelPolicy"))
    timeout = rows[0].get("MobileSessionTimeout")
    return (
        f"OptionsHasSessionLevelPolicy {str(level).lower()}, MobileSessionTimeout "
        f"{timeout if timeout not in (None, '') else 'null'}"
        + (
            f": the app has a session-level policy (see {FIX_PAGE}); reported as information, the facts "
            "do not establish that it stops an API integration's sync"
            if level
            else ""
        )
    )


#: An ECA's session policies (``requiredSessionLevel``, ``sessionTimeoutInMinutes``) are fields of its policy
#: file (facts §6.3); the SOQL object the ECA verification reads lists none (facts §10.2): reported as such.
ECA_SESSION_POLICY = (
    "not read: ExtlClntAppOauthPlcyCnfg, the policy object read by query, has no session field; "
    "requiredSessionLevel and sessionTimeoutInMinutes are in the ECA's OAuth policy metadata "
    "(ExtlClntAppOauthConfigurablePolicies), shown on External Client App Manager > Policies; reported as "
    "information: no Salesforce document says they stop an API integration's sync"
)


def connected_application_facts(task, app_id: str) -> dict:
    """Diagnose's read of ConnectedApplication: ``{"connected_application": describe_validity text, or
    "could not read: why", "validity_ok": bool | None, "validity_why": "ConnectedApplication ..." | None,
    "session_policy": session_policy_text}`` (:func:`read_validity`, :func:`assess_validity`,
    :func:`session_policy_text`); a refused read is never a value."""
    return {**_validity_facts(task, app_id), "session_policy": session_policy_text(task, app_id)}


def _validity_facts(task, app_id: str) -> dict:
    try:
        validity = _existing_validity(task, app_id)
    except SixsenseOrgError as e:
        return {
            "connected_application": f"could not read: {e}",
            "validity_ok": None,
            "validity_why": None,
        }
    ok, why = assess_validity(validity)
    return {
        "connected_application": describe_validity(validity),
        "validity_ok": ok,
        "validity_why": f"ConnectedApplication {why}",
    }
