"""Command line: ``python -m orgsim serve ...`` and ``python -m orgsim action ...``.

``serve --scenario NAME_OR_PATH [--port N] [--state FILE] [--autopilot] [--latency-ms N] [--fault SPEC]
[--env-file FILE] [--cert-dir DIR] [--org-kind production|sandbox|scratch]`` prints ``export`` lines for cci (docs/architecture.md §1.4) on stdout
(and, atomically, to ``--env-file``), serves until SIGINT/SIGTERM, then prints the request-log summary on
stderr. ``--port 0`` picks a free port. Bad input (unknown scenario, port in use, corrupt state file): one
line on stderr, exit status 2, nothing written.

``action {authorize,install,policy,block,unblock} [--url URL] [--token TOKEN] [--username U] [--app NAME]
[--permitted-users admin_approved|all_users]`` posts to ``/_sim/actions/*`` with the simulator's admin token,
prints the JSON answer and exits 0 on ``ok``, 1 otherwise, 2 when it cannot ask (no URL or token, simulator
unreachable, token refused). ``--url`` defaults to ``$ORGSIM_URL`` and ``--token`` to ``$ORGSIM_ADMIN_TOKEN``,
both among the ``serve`` exports, so a second shell that sourced them (or ``--env-file``) needs neither. TLS
is verified against ``$REQUESTS_CA_BUNDLE`` (also exported): without it the command refuses (exit 2) rather
than send the admin token unverified.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import threading

from orgsim.scenario import DEMO_PASSWORD


def _export_lines(env: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def _write_env_file(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".orgsim-env.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _check_env_file(path: str | None) -> str | None:
    """Why ``--env-file`` cannot be written, or ``None``: a directory, or a file in a missing directory."""
    if path is None:
        return None
    if os.path.isdir(path):
        return f"--env-file {path}: is a directory, not a file"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"--env-file {path}: directory {directory} does not exist"
    if not os.access(directory, os.W_OK):
        return f"--env-file {path}: directory {directory} is not writable"
    return None


def serve(args) -> int:
    from orgsim import server

    problem = _check_env_file(args.env_file)
    if problem:  # before the simulator starts: nothing is written
        print(f"orgsim: {problem}", file=sys.stderr)
        return 2
    try:
        sim = server.start(
            args.scenario,
            autopilot=args.autopilot,
            port=args.port,
            latency_ms=args.latency_ms,
            fault=args.fault,
            state_file=args.state,
            cert_dir=args.cert_dir,
            org_kind=args.org_kind,
        )
    except server.StartError as exc:
        print(f"orgsim: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    text = _export_lines(sim.env())
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.env_file:
        _write_env_file(args.env_file, text)
    print(
        f"orgsim: serving scenario '{sim.org.store.meta('scenario_name')}' at {sim.url}"
        f"{' with autopilot' if args.autopilot else ''}; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    admin, password = _browser_login(sim.org.scenario)
    print(
        f"orgsim: Setup in a browser: {sim.url}/ (accept the simulator's certificate), log in as {admin} "
        f"with password {password}; the vendor's side of an authorization: {sim.url}/vendor/connect",
        file=sys.stderr,
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    sim.stop()
    print(sim.observer.summary(), file=sys.stderr, flush=True)
    return 0


def action(args) -> int:
    import requests

    params = {"app": args.app}
    if args.name == "authorize":
        if not args.username:
            print("orgsim: action authorize needs --username", file=sys.stderr)
            return 2
        params["username"] = args.username
    if args.name == "policy":
        if not args.permitted_users:
            print("orgsim: action policy needs --permitted-users", file=sys.stderr)
            return 2
        params["permitted_users"] = args.permitted_users
    url = args.url or os.environ.get("ORGSIM_URL")
    token = args.token or os.environ.get("ORGSIM_ADMIN_TOKEN")
    if not url or not token:
        print(
            "orgsim: action needs the simulator's URL and admin token: source the export lines "
            "`python -m orgsim serve` printed (ORGSIM_URL, ORGSIM_ADMIN_TOKEN) or pass --url and --token",
            file=sys.stderr,
        )
        return 2
    verify = os.environ.get("REQUESTS_CA_BUNDLE")
    if not verify:
        print(
            "orgsim: action needs REQUESTS_CA_BUNDLE (among the export lines `python -m orgsim serve` "
            "printed) to verify the simulator's certificate before sending it the admin token",
            file=sys.stderr,
        )
        return 2
    try:
        resp = requests.post(
            f"{url.rstrip('/')}/_sim/actions/{args.name}",
            json=params,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=30,
        )
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        print(f"orgsim: cannot reach the simulator at {url}: {exc}", file=sys.stderr)
        return 2
    if resp.status_code in (401, 403):
        print(
            f"orgsim: the simulator refused the admin token: {body.get('error_description')}",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(body))
    return 0 if body.get("ok") else 1


def _browser_login(scenario: dict) -> tuple[str, str]:
    """The demo user a person logs in as in a browser (the scenario's admin who does the manual steps, else
    the connected user) and its password (``users[].password``; these are simulated users only)."""
    username = (scenario.get("autopilot") or {}).get("setup_user") or scenario.get("connected_user")
    for user in scenario.get("users") or []:
        if user.get("username") == username:
            return username, user.get("password") or DEMO_PASSWORD
    return str(username), DEMO_PASSWORD


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orgsim", description="Local Salesforce org simulator"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve a scenario over HTTPS on 127.0.0.1")
    p.add_argument("--scenario", required=True, help="bundled scenario name or path to a YAML file")
    p.add_argument("--port", type=int, default=8443, help="port (0 = a free one; default 8443)")
    p.add_argument("--state", help="SQLite state file (created from the scenario if missing)")
    p.add_argument(
        "--autopilot", action="store_true", help="perform the manual steps after a few polls"
    )
    p.add_argument("--latency-ms", type=int, default=0, help="delay every API request by N ms")
    p.add_argument("--fault", help="fault spec, e.g. nth=5:kind=503 (see orgsim/observe.py)")
    p.add_argument(
        "--org-kind",
        choices=["production", "sandbox", "scratch"],
        help="present the org as this kind (default: the scenario's org.kind)",
    )
    p.add_argument("--env-file", help="also write the export lines to this file once listening")
    p.add_argument(
        "--cert-dir", help="certificate directory (default .orgsim/ or $ORGSIM_CERT_DIR)"
    )
    p.set_defaults(func=serve)
    a = sub.add_parser("action", help="perform a human step on a running simulator")
    a.add_argument("name", choices=["authorize", "install", "policy", "block", "unblock"])
    a.add_argument("--url", help="the simulator URL (default $ORGSIM_URL)")
    a.add_argument("--token", help="the simulator's admin token (default $ORGSIM_ADMIN_TOKEN)")
    a.add_argument("--username", help="the user who authorizes (authorize)")
    a.add_argument("--app", help="connected app name (default: the scenario's app)")
    a.add_argument(
        "--permitted-users", choices=["admin_approved", "all_users"], help="policy value"
    )
    a.set_defaults(func=action)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
