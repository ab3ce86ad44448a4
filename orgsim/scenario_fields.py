"""The field checks of scenario files (``orgsim/scenario.py``): one error per bad field, naming its path,
and the app and ECA policy sections. Split from ``scenario.py`` by size, not by rule."""

from __future__ import annotations

from typing import Any

from orgsim.metadata import IP_RELAXATIONS, REFRESH_TOKEN_POLICY_RE


class Invalid(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def expect(value, kind, path, default=None, required=False):
    if value is None:
        if required:
            raise Invalid(path, "required")
        return default
    kinds = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true or false",
        int: "an integer",
    }
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise Invalid(path, f"must be {kinds[kind]}, got {value!r}")
    return value


def bounded(value, path: str, default: int, low: int, high: int) -> int:
    """An integer field within ``[low, high]``, else ``path: must be between low and high``."""
    number = expect(value, int, path, default)
    if not low <= number <= high:
        raise Invalid(path, f"must be between {low:,} and {high:,}, got {number:,}")
    return number


def one_of(value, allowed, path: str, default: str) -> str:
    """A string field naming one of ``allowed``, else ``path: must be one of ...``."""
    text = expect(value, str, path, default)
    if text not in allowed:
        raise Invalid(path, f"must be one of {', '.join(allowed)}")
    return text


def keys(mapping: dict, allowed: set[str], path: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise Invalid(
                f"{path}.{key}" if path else str(key),
                f"unknown field (allowed: {', '.join(sorted(allowed))})",
            )


def validate_oauth_policy(raw, path: str) -> dict[str, str]:
    """``{ip_relaxation [ENFORCE], refresh_token_policy [infinite]}``: the installed app's OAuth policies as
    its ConnectedApp metadata shows them (``oauthPolicy/ipRelaxation``, ``refreshTokenPolicy``; facts §6.1
    gives both defaults)."""
    policy = expect(raw, dict, path, {})
    keys(policy, {"ip_relaxation", "refresh_token_policy"}, path)
    ip = expect(policy.get("ip_relaxation"), str, f"{path}.ip_relaxation", "ENFORCE")
    if ip not in IP_RELAXATIONS:
        raise Invalid(f"{path}.ip_relaxation", f"must be one of {', '.join(IP_RELAXATIONS)}")
    refresh = expect(
        policy.get("refresh_token_policy"), str, f"{path}.refresh_token_policy", "infinite"
    )
    if not REFRESH_TOKEN_POLICY_RE.fullmatch(refresh):
        raise Invalid(
            f"{path}.refresh_token_policy",
            "must be zero, infinite, specific_lifetime:N:UNIT or specific_inactivity:N:UNIT "
            f"(UNIT HOURS, DAYS or MONTHS), got '{refresh}'",
        )
    return {"ip_relaxation": ip, "refresh_token_policy": refresh}


def validate_eca(raw, out: dict[str, Any], standard_profiles) -> dict[str, Any]:
    """``eca: {installed, installed_version, policies: {...}}`` (the keys of ``orgsim.eca.POLICY_FIELDS``,
    metadata values; see ``orgsim/eca.py``). Each policy value is checked by ``eca.check_policy_value``;
    ``comma_separated_permission_set`` lists names of this scenario's ``permission_sets`` and
    ``comma_separated_profile`` names of its profiles or of ``standard_profiles`` (the seed writes the
    permission sets' ids)."""
    from orgsim import eca

    e = expect(raw, dict, "eca", {})
    keys(e, {"installed", "installed_version", "policies"}, "eca")
    version = expect(e.get("installed_version"), str, "eca.installed_version", "1.0")
    if version not in eca.VERSIONS:
        raise Invalid("eca.installed_version", f"must be one of {', '.join(eca.VERSIONS)}")
    policies = dict(expect(e.get("policies"), dict, "eca.policies", {}))
    keys(policies, {key for _, _, key in eca.POLICY_FIELDS}, "eca.policies")
    known = {
        "comma_separated_permission_set": {p["name"] for p in out["permission_sets"]},
        "comma_separated_profile": set(standard_profiles) | {p["name"] for p in out["profiles"]},
    }
    for key, value in policies.items():
        path = f"eca.policies.{key}"
        if key in known:
            names = expect(value, list, path, [])
            for i, name in enumerate(names):
                if name not in known[key]:
                    what = "permission set" if key.endswith("permission_set") else "profile"
                    raise Invalid(f"{path}[{i}]", f"unknown {what} {name!r}")
            policies[key] = names or None
            continue
        try:
            policies[key] = eca.check_policy_value(key, value)
        except ValueError as exc:
            raise Invalid(path, str(exc)) from None
    return {
        "installed": expect(e.get("installed"), bool, "eca.installed", False),
        "installed_version": version,
        "policies": policies,
    }
