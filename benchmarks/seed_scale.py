"""Seeding at scale (issue 16): how long the simulator takes to seed a scenario with many OAuth tokens.

Writes a scenario with ``USERS`` users holding ``PER_USER`` tokens each for the 6sense app (at most 5 per user
per app, the cap the scenario loader enforces: facts §10.1) and times ``Org.seed`` into a fresh store, both in
memory and in a state file (``serve --state``). Prints the figures against the target: 10,000 tokens in under
10 s. A figure, not a test: ``.venv/bin/python benchmarks/seed_scale.py [TOKENS]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orgsim import scenario  # noqa: E402
from orgsim.platform import Org  # noqa: E402
from orgsim.store import Store  # noqa: E402

TARGET_TOKENS = 10_000
TARGET_SECONDS = 10.0
PER_USER = 5


def write_scenario(path: Path, tokens: int) -> None:
    users = (tokens + PER_USER - 1) // PER_USER
    names = [f"user{i}@example.com" for i in range(users)]
    data = {
        "description": f"{tokens} tokens for the seeding benchmark",
        "users": [{"username": "admin@example.com", "profile": "System Administrator"}]
        + [
            {"username": n, "alias": f"u{i}", "profile": "Standard User"}
            for i, n in enumerate(names)
        ],
        "app": {"visible": True, "installed": True},
        "tokens": [
            {"user": names[i // PER_USER], "created_days_ago": 1 + i % PER_USER}
            for i in range(tokens)
        ],
    }
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper))


def main() -> None:
    tokens = int(sys.argv[1]) if len(sys.argv) > 1 else TARGET_TOKENS
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed_scale.yml"
        write_scenario(path, tokens)
        started = time.perf_counter()
        loaded = scenario.load(str(path))
        load_s = time.perf_counter() - started
        for where in (":memory:", str(Path(tmp) / "state.db")):
            started = time.perf_counter()
            org = Org.seed(Store.create(where), loaded.name, loaded.data)
            seed_s = time.perf_counter() - started
            count = len(org.store.find("OauthToken"))
            assert count == tokens, (count, tokens)
            total = load_s + seed_s
            verdict = "meets" if total < TARGET_SECONDS else "MISSES"
            kind = "in memory" if where == ":memory:" else "state file"
            print(
                f"seed {tokens:,} tokens ({kind}): load {load_s:.1f} s + seed {seed_s:.1f} s = "
                f"{total:.1f} s; target {TARGET_TOKENS:,} in < {TARGET_SECONDS:.0f} s: {verdict}"
            )


if __name__ == "__main__":
    main()
