"""Start and stop a simulator; its TLS certificate; the environment ``cci`` needs (docs/architecture.md §1.4).

Python API (tests)::

    sim = start("new_customer", autopilot=False, port=0, latency_ms=0, fault=None, state_file=None)
    sim.url            # "https://127.0.0.1:PORT"
    sim.env()          # CUMULUSCI_ORG_sim, CUMULUSCI_KEYCHAIN_CLASS, REQUESTS_CA_BUNDLE, ORGSIM_URL,
                       # ORGSIM_ADMIN_TOKEN
    sim.admin_token    # the bearer token of /_sim/* (random per start; sim.admin_headers() for requests)
    sim.requests(since=0)   # the request log (list of dicts, see observe)
    sim.state()        # GET /_sim/state as a dict, token values included (redact=True: as over HTTP)
    sim.action("authorize", username="admin@example.com")   # {"ok": True, ...} or {"error", "error_description"}
    sim.stop()

Errors at start raise :class:`StartError` with a one-line message (unknown or malformed scenario, port in
use, corrupt state file); nothing is written in those cases.

Certificate: a self-signed RSA certificate (SAN ``IP:127.0.0.1``, ``DNS:localhost``) generated with
``cryptography`` on first start under ``cert_dir`` (default ``.orgsim/`` in the current directory, or
``$ORGSIM_CERT_DIR``); written atomically (temp file + rename) so parallel test processes never read half a
file. ``REQUESTS_CA_BUNDLE`` points at ``bundle-<hash>.pem`` = certifi's CAs + that certificate.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import ipaddress
import json
import os
import secrets
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

import certifi
from werkzeug.serving import WSGIRequestHandler, make_server

from orgsim import scenario as scenario_mod
from orgsim.app import ResetMiddleware, SimContext, create_app, state
from orgsim.autopilot import Autopilot, run_action
from orgsim.errors import ActionError
from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from orgsim.observe import Observer
from orgsim.platform import Org
from orgsim.seed import seed_tool_clients
from orgsim.store import StateFileError, Store

HOST = "127.0.0.1"
#: docs/architecture.md §1.4 names ``EnvironmentProjectKeychain``; the ``cci`` CLI imports this variable as a
#: dotted class path (``cumulusci/cli/runtime.py::get_keychain_class``), and the bare name fails there with
#: "Empty module name", so the simulator exports the importable path of the same class.
KEYCHAIN_CLASS = "cumulusci.core.keychain.EnvironmentProjectKeychain"
CERT_FILE = "orgsim-cert.pem"


class StartError(Exception):
    """The server could not start; the message is one line for stderr."""


class _QuietHandler(WSGIRequestHandler):
    def setup(self):
        # TCP_NODELAY: werkzeug writes a response's headers and body apart and closes every connection, and
        # Nagle's algorithm then holds the body until the client acknowledges the headers: about 12 ms added
        # to each request on loopback (18.8 -> 6.8 ms a query, measured). Salesforce's answers carry no such
        # wait; the simulator's latency is the one asked for (``--latency-ms``).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_request(self, *args, **kwargs):  # the request log replaces werkzeug's access log
        pass

    def log_error(self, *args, **kwargs):
        pass


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ensure_certificate(cert_dir: str | os.PathLike | None = None) -> tuple[Path, Path, Path]:
    """``(keycert_path, bundle_path, cert_path)``: the key+certificate PEM the server loads, the CA bundle
    clients trust (certifi + the certificate) and the certificate alone (a small CA file for fast tests:
    requests reloads its CA file on every new connection). All are content-addressed copies, so a
    concurrent first start in another process cannot swap the certificate under this server."""
    directory = Path(cert_dir or os.environ.get("ORGSIM_CERT_DIR") or ".orgsim").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    main = directory / CERT_FILE
    if not main.exists():
        _atomic_write(main, _generate_certificate())
    pem = main.read_bytes()
    digest = hashlib.sha256(pem).hexdigest()[:12]
    keycert = directory / f"keycert-{digest}.pem"
    bundle = directory / f"bundle-{digest}.pem"
    cert = directory / f"cert-{digest}.pem"
    cert_only = pem[pem.index(b"-----BEGIN CERTIFICATE-----") :]
    if not keycert.exists():
        _atomic_write(keycert, pem)
    if not cert.exists():
        _atomic_write(cert, cert_only)
    if not bundle.exists():
        _atomic_write(bundle, Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + cert_only)
    return keycert, bundle, cert


def _generate_certificate() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "orgsim local Salesforce simulator")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


class SimServer:
    """A running simulator (werkzeug threaded HTTPS server in a daemon thread)."""

    def __init__(self, httpd, ctx: SimContext, bundle: Path, cert: Path, session: dict[str, str]):
        self._httpd = httpd
        self.ctx = ctx
        self.org: Org = ctx.org
        self.observer: Observer = ctx.observer
        self.port: int = httpd.server_port
        self.url = f"https://{HOST}:{self.port}"
        self.ca_bundle = str(bundle)
        self.cert_file = str(cert)
        self.session = session
        #: the bearer token every ``/_sim/`` request needs (``Authorization: Bearer ...``)
        self.admin_token: str = ctx.admin_token
        #: production | sandbox | scratch: the org kind this simulator presents (scenario or override)
        self.org_kind: str = (
            (ctx.org.store.meta("scenario") or {}).get("org", {}).get("kind", "production")
        )
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"orgsim:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def env(self) -> dict[str, str]:
        """The environment for cci (docs/architecture.md §1.4)."""
        user = self.org.connected_user()
        org_json = {
            "instance_url": self.url,
            "access_token": self.session["access_token"],
            "refresh_token": self.session["refresh_token"],
            "id": f"{self.url}/id/{self.org.org_id}/{user['Id']}",
            "username": user["Username"],
        }
        return {
            "CUMULUSCI_ORG_sim": json.dumps(org_json),
            "CUMULUSCI_KEYCHAIN_CLASS": KEYCHAIN_CLASS,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "ORGSIM_URL": self.url,
            "ORGSIM_ADMIN_TOKEN": self.admin_token,
        }

    def admin_headers(self) -> dict[str, str]:
        """Headers for a ``/_sim/`` request over HTTP: the admin token and JSON."""
        return {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"}

    def requests(self, since: int = 0) -> list[dict]:
        return self.observer.requests(since)

    def state(self, *, redact: bool = False) -> dict[str, Any]:
        """The org's state (``app.state``). In process the caller holds the org anyway, so token values
        are included unless ``redact`` (``GET /_sim/state`` always redacts them)."""
        return state(self.org, redact=redact)

    def action(self, name: str, **kw) -> dict[str, Any]:
        """Run a human step like ``POST /_sim/actions/{name}`` (logged with kind ``sim``)."""
        import time

        started = time.perf_counter()
        try:
            result = {
                "ok": True,
                **{k: v for k, v in run_action(self.org, name, kw).items() if k != "ok"},
            }
            status = 200
        except ActionError as exc:
            result, status = {"error": exc.error, "error_description": exc.error_description}, 400
        self.observer.record(
            method="POST",
            path=f"/_sim/actions/{name}",
            action=name,
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            kind="sim",
        )
        return result

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


#: The largest ``--latency-ms``: a minute per request; beyond it clients time out rather than wait (no real
#: org answers that slowly), so a larger value is a typo.
MAX_LATENCY_MS = 60_000


def check_flags(
    *,
    port: int = 0,
    latency_ms: int = 0,
    state_file: str | os.PathLike | None = None,
    cert_dir: str | os.PathLike | None = None,
) -> None:
    """Refuse bad start options before anything is written, with a :class:`StartError` naming the flag:
    ``--port`` outside 0-65535, ``--latency-ms`` outside 0-:data:`MAX_LATENCY_MS`, a ``--state`` that is a
    directory or whose directory does not exist, a ``--cert-dir`` that is not a directory."""
    if not 0 <= port <= 65535:
        raise StartError(f"--port {port}: must be between 0 and 65535")
    if not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise StartError(
            f"--latency-ms {latency_ms}: must be between 0 and {MAX_LATENCY_MS:,} (ms per request)"
        )
    if state_file is not None:
        path = Path(state_file)
        if path.is_dir():
            raise StartError(f"--state {path}: is a directory, not a state file")
        if not path.parent.resolve().is_dir():
            raise StartError(f"--state {path}: directory {path.parent} does not exist")
    if cert_dir is not None and Path(cert_dir).exists() and not Path(cert_dir).is_dir():
        raise StartError(f"--cert-dir {cert_dir}: not a directory")


def start(
    scenario: str,
    *,
    autopilot: bool = False,
    port: int = 0,
    latency_ms: int = 0,
    fault: str | None = None,
    state_file: str | os.PathLike | None = None,
    cert_dir: str | os.PathLike | None = None,
    org_kind: str | None = None,
) -> SimServer:
    """Start a simulator for ``scenario`` (a bundled name or a YAML path). Raises :class:`StartError`.

    ``org_kind`` (``production``, ``sandbox``, ``scratch``) overrides the scenario's ``org.kind``, so every
    scenario can be presented as a sandbox or scratch org (``Organization.IsSandbox``, ``TrialExpirationDate``).
    """
    try:
        loaded = scenario_mod.load(scenario)
    except scenario_mod.ScenarioError as exc:
        raise StartError(str(exc)) from None
    if org_kind is not None:
        if org_kind not in scenario_mod.ORG_KINDS:
            raise StartError(
                f"org kind '{org_kind}' is not one of {', '.join(scenario_mod.ORG_KINDS)}"
            )
        loaded.data["org"]["kind"] = org_kind
    check_flags(port=port, latency_ms=latency_ms, state_file=state_file, cert_dir=cert_dir)
    try:
        observer = Observer(latency_ms=latency_ms, fault_spec=fault)
    except ValueError as exc:
        raise StartError(str(exc)) from None
    existing = state_file is not None and os.path.exists(state_file)
    store = None
    if existing:
        try:
            store = Store.open_existing(os.fspath(state_file))
        except StateFileError as exc:
            raise StartError(str(exc)) from None
        recorded = store.meta("scenario_name")
        if recorded != loaded.name:
            store.conn.close()
            raise StartError(f"{state_file}: holds scenario '{recorded}', not '{loaded.name}'")
    # The prefix keeps the token from starting with "-", which argparse would take for an option.
    ctx = SimContext(observer=observer, admin_token="orgsim_" + secrets.token_urlsafe(32))
    app = ResetMiddleware(create_app(ctx))
    try:
        keycert, bundle, cert = ensure_certificate(cert_dir)
    except OSError as exc:
        if store is not None:
            store.conn.close()
        where = f"--cert-dir {cert_dir}" if cert_dir else "certificate directory"
        raise StartError(f"{where}: cannot write the certificate ({exc.strerror or exc})") from None
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(keycert))
    try:
        httpd = make_server(
            HOST, port, app, threaded=True, ssl_context=tls, request_handler=_QuietHandler
        )
    except OSError as exc:
        if store is not None:
            store.conn.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartError(f"port {port} on {HOST} is already in use") from None
        raise StartError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    if store is None:
        try:
            store = Store.create(os.fspath(state_file) if state_file else ":memory:")
            org = Org.seed(store, loaded.name, loaded.data)
        except BaseException:
            httpd.server_close()
            if store is not None:
                store.conn.close()
            if state_file is not None and os.path.exists(state_file):
                os.remove(
                    state_file
                )  # nothing half-written: the state file is created whole or not at all
            raise
    else:
        org = Org(store)
        if org.oauth_client(TOOL_CLIENTS[TOOL_CLIENT][0]) is None:
            # A state file written before the simulator knew the tool's own clients: register them as
            # an uninstalled app (the default), so cci's connection below is an authorization of it.
            with org.lock:
                seed_tool_clients(org, {"client_app": {"state": "uninstalled"}}, None)
    ctx.org = org
    if autopilot:
        ctx.autopilot = Autopilot(org, observer)
    with org.lock:
        # cci's stored connection: the connected user authorized CumulusCI's built-in app (an OauthToken
        # row for that app, facts §10.1); API Access Control applies to it (docs/salesforce-oauth-metadata.md).
        session = org.issue_session(
            org.connected_user()["Id"],
            client_key=TOOL_CLIENTS[TOOL_CLIENT][0],
            authorization=True,
        )
        if org.app_state(TOOL_CLIENT)["blocked"]:
            # cci connected before the app was blocked: "blocking ends all sessions" (facts §6.2).
            org.block(TOOL_CLIENT)
    return SimServer(httpd, ctx, bundle, cert, session)
