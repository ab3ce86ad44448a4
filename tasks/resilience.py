"""The one wrapper between a step and the org: one-line errors, bounded retries, a renewed session.

Every sixsense step reads with ``self.sf``, ``self.tooling`` and CumulusCI's Metadata API classes, through
:class:`SalesforceCalls` (mixed into every sixsense task, and into the CumulusCI tasks a step runs inside
itself): ``_call`` turns a Salesforce refusal into ``SixsenseOrgError("<what> failed: <errorCode>: <message>.
<what to do>")``; ``_read`` also retries transient faults and renews an expired session once. Nothing else
sits between a step and the org: no cache, no batching.

What is retried, and how (docs in README "Reliability and performance"):

- **HTTP level** (urllib3 ``Retry`` mounted on the simple-salesforce session, ``self.sf.session``):
  GET/HEAD/OPTIONS on a dropped connection or a ``503``; POST/PATCH/DELETE on a ``503`` only (Salesforce
  answers 503 before it processes the request) and on a connection that could not be opened. A POST whose
  connection dropped after it was sent is *not* retried here: it may have been applied.
- **Reads** (SOQL, describe): also on ``UNABLE_TO_LOCK_ROW`` and on a dropped connection.
- **Writes**: only where the write is idempotent because the task queried first: :func:`converge` re-queries
  what is still missing and inserts only that, so a write that was applied before its connection dropped,
  or a concurrent run's insert (``DUPLICATE_VALUE``), counts as done. Metadata deploys of the same source are
  idempotent and are retried whole.
- **The session**: cci refreshes the token at the flow's start and at each task start; a refresh that
  fails transiently is retried (``SalesforceCalls._update_credentials``). A session that expires mid-step
  is refreshed once by the read that met it (``SalesforceCalls._renew_session``); a second expiry in the
  same step, or one met by a write, stops the step with a message saying to run the flow again.

Backoff: ``BACKOFF * 2**attempt`` seconds, at most ``BACKOFF_MAX``, ``ATTEMPTS`` tries in all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import BaseMetadataApiCall
from defusedxml.minidom import parseString
from requests.adapters import HTTPAdapter
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from urllib3.util.retry import Retry

from .errors import SixsenseOrgError

ATTEMPTS = 4
BACKOFF = 0.5
BACKOFF_MAX = 8.0
TRANSIENT_CODES = ("UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG")

EXPIRED_SESSION_CODE = "INVALID_SESSION_ID"
RUN_AGAIN = "run the flow again (steps already done are skipped)"
TRANSIENT_HINT = (
    "Salesforce was busy or unreachable, and retrying did not help. Wait a minute, check "
    f"https://status.salesforce.com and the network, then {RUN_AGAIN}."
)


class SalesforceRetry(Retry):
    """urllib3 ``Retry`` that also retries non-idempotent methods on ``503`` (not processed by Salesforce)."""

    def is_retry(self, method, status_code, has_retry_after=False):
        if status_code == 503 and self.status_forcelist and 503 in self.status_forcelist:
            return True
        return super().is_retry(method, status_code, has_retry_after)


def http_retry() -> Retry:
    return SalesforceRetry(
        total=ATTEMPTS,
        connect=ATTEMPTS,
        read=ATTEMPTS,  # read errors: only for allowed_methods (GET, HEAD, PUT, DELETE, OPTIONS, TRACE)
        status=ATTEMPTS,
        status_forcelist=(503,),
        backoff_factor=BACKOFF,
        backoff_max=BACKOFF_MAX,
        raise_on_status=False,  # the last 503 reaches simple-salesforce, which raises with its body
    )


def mount_retries(session: requests.Session) -> None:
    adapter = HTTPAdapter(max_retries=http_retry())
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def backoff(attempt: int) -> None:
    time.sleep(min(BACKOFF * 2**attempt, BACKOFF_MAX))


def error_codes(error: BaseException) -> set[str]:
    content = getattr(error, "content", None)
    codes = set()
    if isinstance(content, list):
        codes = {str(item.get("errorCode")) for item in content if isinstance(item, dict)}
    elif isinstance(content, dict):
        codes = {str(content.get("errorCode") or content.get("error"))}
    text = str(error)
    codes |= {c for c in (*TRANSIENT_CODES, "DUPLICATE_VALUE", "INVALID_SESSION_ID") if c in text}
    return codes


def is_transient(error: BaseException) -> bool:
    """A fault that a retry of an idempotent operation can outlast."""
    if isinstance(error, requests.ConnectionError | ConnectionError):
        return True
    if isinstance(error, SalesforceError) and getattr(error, "status", None) in (502, 503, 504):
        return True
    if error_codes(error) & set(TRANSIENT_CODES):
        return True
    text = f"{type(error).__name__} {error}"
    return any(
        marker in text
        for marker in ("ExpatError", "Service Unavailable", "503", "RemoteDisconnected")
    )


#: Salesforce's answer to every REST call of a session whose connected app API Access Control does not
#: allow (salesforce-facts.md §10.1): 401 INVALID_SESSION_ID with this message.
CLIENT_NOT_ALLOWLISTED_TEXT = "This session is not valid for use with the REST API"
#: The Salesforce CLI's own connected app (``clientId`` of ``DEFAULT_CONNECTED_APP_INFO`` in @salesforce/core's
#: ``org/authInfo.js``), which ``sf org login web`` uses unless given ``--client-id``.
SF_CLI_CLIENT_ID = "PlatformCLI"


def refused_client(org_config) -> str:
    """The connected app cci's session for ``org_config`` came through, as a phrase for the message: the sf
    CLI's app for an org cci reads from sf (``SfdxOrgConfig``), the client id stored with the org, or the cci
    ``connected_app`` service the org uses (its own, else the keychain's default; CumulusCI's built-in one
    when none is named), with its client id where the keychain has it. Never a secret: a client id is public
    (it is the consumer key Setup shows on the app's page)."""
    from cumulusci.core.config.sfdx_org_config import SfdxOrgConfig
    from cumulusci.core.keychain.base_project_keychain import (
        DEFAULT_CONNECTED_APP,
        DEFAULT_CONNECTED_APP_NAME,
    )

    if isinstance(org_config, SfdxOrgConfig):
        return (
            "the connected app the Salesforce CLI logged in through (cci reads this org's session from sf: "
            f"the sf CLI's own app, client id {SF_CLI_CLIENT_ID}, unless you logged in with "
            "sf org login web --client-id)"
        )
    config = getattr(org_config, "config", None) or {}
    if config.get("client_id"):
        return f"the connected app with client id {config['client_id']}, stored with this org in cci's keychain"
    keychain = getattr(org_config, "keychain", None)
    alias = config.get("connected_app")
    if not alias and keychain is not None:
        try:
            alias = keychain.get_default_service_name("connected_app")
        except Exception:  # noqa: BLE001 - only for the wording; the built-in app is cci's default
            alias = None
    alias = alias or DEFAULT_CONNECTED_APP_NAME
    if alias == DEFAULT_CONNECTED_APP_NAME:
        return (
            "CumulusCI's built-in connected app (cci's connected_app service 'built-in', client id "
            f"{DEFAULT_CONNECTED_APP.client_id})"
        )
    client_id = None
    if keychain is not None:
        try:
            client_id = keychain.get_service("connected_app", alias).client_id
        except Exception:  # noqa: BLE001 - only for the wording
            client_id = None
    return f"the connected app of cci's connected_app service '{alias}'" + (
        f" (client id {client_id})" if client_id else ""
    )


def client_not_allowlisted_message(org_config) -> str:
    """What to do when API Access Control refuses the connected app cci logs in through, naming that app
    (:func:`refused_client`). Nothing has been changed when this is raised."""
    return (
        f'Salesforce refused the session cci connected with: "{CLIENT_NOT_ALLOWLISTED_TEXT}" '
        "(INVALID_SESSION_ID). API Access Control is enforcing in this org and the connected app cci logs in "
        f"through, {refused_client(org_config)}, is not allowlisted for your user. Nothing was changed. An "
        "admin must, in Setup > Connected Apps OAuth Usage, Install that app, set its Permitted Users to "
        '"Admin approved users are pre-authorized" and give your profile or a permission set access to it '
        f"(or give you the Use Any API Client permission); then {RUN_AGAIN}."
    )


#: Salesforce's OAuth error for a grant through an app blocked on Connected Apps OAuth Usage (a
#: BlacklistedConsumer; salesforce-facts.md §6.2): ``{"error":"app_blocked","error_description":"this app is
#: blocked by admin"}``. CumulusCI's refresh puts that body in "OAuth failed\nstatus_code: 400\ncontent: ...".
CLIENT_BLOCKED_CODE = "app_blocked"


def client_blocked_message(org_config) -> str:
    """What to do when Salesforce refuses cci's token refresh because the connected app cci logs in through
    (:func:`refused_client`) is blocked on Connected Apps OAuth Usage. Nothing has been changed when this is
    raised; reconnecting through the same app is refused alike (blocking "prevents new" sessions)."""
    return (
        f'Salesforce refused cci\'s token refresh: "{CLIENT_BLOCKED_CODE}: this app is blocked by admin". The '
        f"connected app cci logs in through, {refused_client(org_config)}, is blocked in this org (blocking "
        "ends its sessions and prevents new ones: reconnecting through it is refused until it is unblocked). "
        "Nothing was changed. An admin must, in Setup > Connected Apps OAuth Usage, Unblock that app (where "
        'API Access Control is enforcing, also Install it, set Permitted Users to "Admin approved users are '
        'pre-authorized" and give your profile or a permission set access to it); then reconnect the org '
        f"(cci org connect <org>) and {RUN_AGAIN}."
    )


def client_blocked(error: BaseException) -> bool:
    """cci's token refresh was refused because the app it logs in through is blocked (never transient)."""
    return CLIENT_BLOCKED_CODE in str(error)


def client_not_allowlisted(error: BaseException) -> bool:
    """The session's connected app is not allowlisted under API Access Control (never a session expiry:
    refreshing the token cannot help)."""
    return CLIENT_NOT_ALLOWLISTED_TEXT.lower() in str(error).lower()


def is_expired_session(error: BaseException) -> bool:
    return isinstance(error, SalesforceExpiredSession) or "INVALID_SESSION_ID" in error_codes(error)


def expired_session_message(what: str) -> str:
    return (
        f"{what} failed: INVALID_SESSION_ID: the Salesforce session expired during this step (another "
        "login or an admin may have ended it). cci refreshes the session when a flow starts: "
        f"{RUN_AGAIN}. If it happens again, reconnect the org with cci org connect."
    )


def retry_read(fn: Callable, *args, logger=None, label: str = "read", **kwargs):
    """Call a read; on a transient fault wait and call it again, ``ATTEMPTS`` tries in all."""
    for attempt in range(ATTEMPTS):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if attempt == ATTEMPTS - 1 or not is_transient(error) or is_expired_session(error):
                raise
            if logger:
                logger.warning(
                    f"{label}: {_short(error)}; retrying ({attempt + 1}/{ATTEMPTS - 1})."
                )
            backoff(attempt)
    raise AssertionError("unreachable")


def converge(
    what: str,
    missing: Callable[[], list],
    write: Callable[[list], object],
    *,
    logger=None,
    on_give_up: Callable[[str], Exception],
    initial: list | None = None,
) -> list:
    """Query what is missing, write it, and repeat until nothing is missing.

    A transient fault or ``DUPLICATE_VALUE`` (a concurrent run inserted the row first) during ``write`` is
    followed by a fresh query, so only what is still missing is written again. Returns what this call had
    to write (the first query's result, or ``initial`` when the caller has just queried it: that saves a
    query); raises. Every write, even one that returned normally, is verified by the next query: an
    acknowledged write is no proof that the row was saved (``lost_write`` fault, orgsim/observe.py), and
    what a call returns is what the org holds. ``on_give_up(reason)`` after ``ATTEMPTS`` tries.
    """
    first = None if initial is None else list(initial)
    reason = ""
    for attempt in range(ATTEMPTS):
        todo = list(initial) if attempt == 0 and initial is not None else missing()
        if first is None:
            first = list(todo)
        if not todo:
            return first
        try:
            write(todo)
        except Exception as error:
            codes = error_codes(error)
            # cci's composite insert reports per-record failures only as "Not all ... were saved": the
            # next query tells whether the rows are there (a concurrent insert) or still missing.
            partial = "were saved" in str(error)
            if is_expired_session(error) or not (
                is_transient(error) or "DUPLICATE_VALUE" in codes or partial
            ):
                raise
            reason = _short(error)
            if logger:
                if "DUPLICATE_VALUE" in codes:
                    logger.info(
                        f"{what}: already created by a concurrent run (DUPLICATE_VALUE); checking again."
                    )
                else:
                    logger.warning(
                        f"{what}: {reason}; checking what is still missing and retrying."
                    )
            if "DUPLICATE_VALUE" not in codes:
                backoff(attempt)
    if not missing():
        return first or []
    raise on_give_up(reason or "still missing after the write")


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:200]}"


def format_salesforce_error(error: SalesforceError) -> str:
    """``errorCode: message`` for a simple_salesforce error (REST body ``[{"errorCode","message"}]``)."""
    content = getattr(error, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return "; ".join(
            f"{item.get('errorCode', 'ERROR')}: {item.get('message', '')}" for item in content
        )
    if isinstance(content, dict):
        return f"{content.get('errorCode', content.get('error', 'ERROR'))}: {content.get('message', content.get('error_description', ''))}"
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return f"HTTP {getattr(error, 'status', '?')}: {content}"


def one_line_metadata_error(error: MetadataApiError) -> MetadataApiError:
    """cci raises a failed Metadata API result (``done`` with ``errorMessage``) with the whole SOAP response
    as its message: the same error with ``<errorStatusCode>: <errorMessage>`` instead (Metadata API
    Developer Guide, "AsyncResult"/"RetrieveResult"). A SOAP fault (``faultcode: faultstring``, already one
    line) is returned unchanged."""
    text = str(error.args[0] if error.args else error).strip()
    if not text.startswith("<"):
        return error
    try:
        dom = parseString(text)
    except Exception:
        return MetadataApiError(text.splitlines()[0][:200], getattr(error, "response", None))

    def value(tag):
        nodes = dom.getElementsByTagName(tag)
        return nodes[0].firstChild.nodeValue if nodes and nodes[0].firstChild else None

    message = value("errorMessage") or "the Metadata API call failed"
    code = value("errorStatusCode")
    return MetadataApiError(
        f"{code}: {message}" if code else message, getattr(error, "response", None)
    )


class SalesforceCalls:
    """Mixin for a CumulusCI ``BaseSalesforceApiTask``: the wrapper every call to the org goes through.

    * ``_init_api``: cci's simple-salesforce connection with :func:`http_retry` on its session (``self.sf``,
      ``self.tooling``);
    * ``_update_credentials``: cci's token refresh at the task's start, retried on a transient failure;
      ``invalid_grant`` -> ``SixsenseOrgError`` naming ``cci org connect``; the REST refusal of a client
      API Access Control does not allow -> :func:`client_not_allowlisted_message`, and a refresh through a
      blocked app -> :func:`client_blocked_message`, at once (no retry);
    * ``_call(what, fn, ...)``: ``fn(...)``; a ``SalesforceError`` or a lost connection ->
      ``SixsenseOrgError`` (one line: what, Salesforce's code and message, what to do). Retries nothing:
      writes retry through :func:`converge`, which queries first;
    * ``_read(what, fn, ...)``: ``_call`` with :func:`retry_read` (``ATTEMPTS`` tries, bounded backoff) and,
      on ``INVALID_SESSION_ID``, one session renewal (``_renew_session``) and one more round of tries.
      ``fn`` may be a cci Metadata API call (``ApiRetrieveUnpackaged(...)``, ``ApiListMetadata(...)``):
      each attempt starts it afresh.
    """

    def _init_api(self, *args, **kwargs):
        sf = super()._init_api(*args, **kwargs)
        mount_retries(sf.session)
        return sf

    def _update_credentials(self):
        self._refresh_with_retries(super()._update_credentials)

    def _refresh_with_retries(self, refresh) -> None:
        """Run cci's token refresh; retry a transient failure, and say what to do when it cannot succeed
        (``SixsenseOrgError``)."""
        for attempt in range(ATTEMPTS):
            try:
                refresh()
                return
            except Exception as error:
                text = str(error)
                if client_not_allowlisted(error):  # cci's refresh reads Organization over REST
                    raise SixsenseOrgError(
                        client_not_allowlisted_message(self.org_config)
                    ) from None
                if client_blocked(error):  # the refresh grant itself, through a blocked app
                    raise SixsenseOrgError(client_blocked_message(self.org_config)) from None
                if "invalid_grant" in text:
                    raise SixsenseOrgError(
                        "cci could not refresh the Salesforce session: the org refused the stored refresh "
                        f"token (invalid_grant). Reconnect the org (cci org connect <org>), then {RUN_AGAIN}."
                    ) from None
                if attempt == ATTEMPTS - 1:
                    raise SixsenseOrgError(
                        "cci could not refresh the Salesforce session "
                        f"({type(error).__name__}: {text.splitlines()[0] if text else ''}). "
                        f"{TRANSIENT_HINT}"
                    ) from None
                self.logger.warning(f"Session refresh failed ({type(error).__name__}); retrying.")
                backoff(attempt)

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SalesforceError as e:
            if client_not_allowlisted(e):
                raise SixsenseOrgError(client_not_allowlisted_message(self.org_config)) from None
            if is_expired_session(e):
                raise SixsenseOrgError(expired_session_message(what)) from None
            hint = (
                TRANSIENT_HINT
                if is_transient(e)
                else f"Fix what Salesforce reports, then {RUN_AGAIN}."
            )
            raise SixsenseOrgError(f"{what} failed: {format_salesforce_error(e)}. {hint}") from None
        except requests.ConnectionError as e:
            raise SixsenseOrgError(
                f"{what} failed: the connection to Salesforce was lost ({type(e).__name__}). "
                f"{TRANSIENT_HINT}"
            ) from None

    def _read(self, what: str, fn, *args, **kwargs):
        if isinstance(fn, BaseMetadataApiCall):
            call = fn

            def fn(*args, **kwargs):
                # cci keeps ``status`` "Failed" from an attempt that met a SOAP fault and would then skip
                # polling on the next attempt: each attempt starts clean.
                call.status = None
                call.check_num = 1
                try:
                    return call(*args, **kwargs)
                except MetadataApiError as error:
                    raise one_line_metadata_error(error) from None

        def read(*args, **kwargs):
            try:
                return retry_read(fn, *args, logger=self.logger, label=what, **kwargs)
            except SalesforceError as error:
                if client_not_allowlisted(error):  # a new token from the same app is refused alike
                    raise
                if not (is_expired_session(error) and self._renew_session()):
                    raise
            return retry_read(fn, *args, logger=self.logger, label=what, **kwargs)

        return self._call(what, read, *args, **kwargs)

    def _renew_session(self) -> bool:
        """After ``INVALID_SESSION_ID`` mid-step: refresh the token once (cci's refresh-token grant, with
        ``_refresh_with_retries``) and point this task's REST and Tooling connections at it. False when
        this task already renewed once or has no keychain to refresh with."""
        keychain = getattr(self.project_config, "keychain", None)
        if getattr(self, "_session_renewed", False) or keychain is None:
            return False
        self._session_renewed = True
        self.logger.warning("The Salesforce session expired; refreshing it once and retrying.")

        def refresh():
            with self.org_config.save_if_changed():
                self.org_config.refresh_oauth_token(keychain)

        self._refresh_with_retries(refresh)
        for name in ("sf", "tooling"):
            connection = getattr(self, name, None)
            if connection is not None:
                connection.session_id = self.org_config.access_token
                connection.headers["Authorization"] = "Bearer " + self.org_config.access_token
        return True


def explain_refused_client_at_connect() -> None:
    """Make cci's own connection check say what to do when Salesforce refuses cci's connected app.

    Before a flow's first step, cci refreshes the token and reads ``Organization`` over REST
    (``FlowCoordinator._init_org`` -> ``OrgConfig.refresh_oauth_token`` -> ``_refresh_token``, then
    ``_load_orginfo``), and no sixsense step has run yet. Two refusals meet cci there: the refresh grant
    through an app blocked on OAuth Usage (``app_blocked``, in cci's ``OAuth2Error`` "OAuth failed ...") and
    the REST read of a session API Access Control does not allow ("This session is not valid for use with the
    REST API"). This wraps ``OrgConfig._refresh_token`` and ``OrgConfig._load_orginfo`` (once, when cci loads
    the sixsense tasks) so that exactly those become ``SixsenseOrgError`` with :func:`client_blocked_message`
    or :func:`client_not_allowlisted_message`; every other outcome is cci's, unchanged. Nothing has been
    written at that point. The project's one patch of CumulusCI, kept on purpose:
    docs/salesforce-oauth-metadata.md §3 says why."""
    from cumulusci.core.config.org_config import OrgConfig
    from cumulusci.oauth.exceptions import OAuth2Error

    explained = {
        "_refresh_token": (OAuth2Error, client_blocked, client_blocked_message),
        "_load_orginfo": (SalesforceError, client_not_allowlisted, client_not_allowlisted_message),
    }
    for name, (error_type, matches, message) in explained.items():
        original = getattr(OrgConfig, name, None)
        if original is None or getattr(original, "sixsense_wrapped", False):
            # A CumulusCI without that method: cci's own error stands (tests/e2e/test_client_app*.py fail).
            continue
        setattr(OrgConfig, name, _explaining(original, error_type, matches, message))


def _explaining(original, error_type, matches, message):
    """``original`` (an ``OrgConfig`` method), raising ``SixsenseOrgError(message(org_config))`` instead of an
    ``error_type`` that ``matches``."""

    def wrapped(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except error_type as error:
            if matches(error):
                raise SixsenseOrgError(message(self)) from None
            raise

    wrapped.sixsense_wrapped = True
    return wrapped


explain_refused_client_at_connect()
