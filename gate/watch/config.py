"""gate.yml's `watch:` section: its schema, and the targets it means.

Targets default to what `checks.http` declares (the home page, every read route, the login, each
stream, TLS of every https host, DNS of every named host); `watch.targets` adds more and
`watch.only` narrows the set to the names it lists. Writes are never replayed: a route that changes
data is not a watch target unless declared under `watch.targets` itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gate.config.units import fraction, milliseconds, seconds
from gate.config.yamlpos import Located
from gate.errors import InputError

# The GitHub channel reads the runner's own token unless told otherwise: GitHub is where it belongs.
DEFAULT_TOKEN_ENV = "GITHUB_TOKEN"
_SECRET_KEYS = {
    "github": ("token_env",),
    "slack": ("url_env",),
    "webhook": ("url_env",),
    "email": ("username_env", "password_env"),
}


@dataclass(frozen=True)
class Target:
    """One thing probed each round."""

    name: str
    kind: str
    url: str = ""
    method: str = "GET"
    host: str = ""
    expect: frozenset[int] | None = None
    budget_ms: float | None = None
    core: bool = False
    owner: str = ""
    check_first: str = ""
    spec: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Settings:
    url: str
    interval_s: float
    timeout_s: float
    store: str
    owner: str
    open_after: int
    resolve_after: int
    delivery_timeout_s: float
    p95_ms: float
    uptime: float
    alerts: Mapping[str, Any]
    targets: tuple[Target, ...]


_CHECK_FIRST = {
    "http": "the app's logs and the last deploy; then the platform's status page",
    "login": "the auth provider and the test account (locked, password rotated?); then the session store",
    "stream": "the upstream model/API provider and the proxy's buffering and idle timeouts",
    "tls": "the certificate's renewal (ACME job, platform domain settings) before it expires",
    "dns": "the domain's registrar (expired?) and the DNS provider's records",
}


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return bool(host) and host != "localhost"
    return False


def _from_http(http: Mapping[str, Any], full: Mapping[str, Any], base: str, owner: str) -> list[Target]:
    from gate.checks.http.routes import SAFE_METHODS, Route

    budgets = http.get("budgets", {})
    targets = [Target("home", "http", url=base, owner=owner, check_first=_CHECK_FIRST["http"])]
    for spec in http.get("routes", []):
        route = Route.from_config(spec)
        if route.klass == "stream":
            kind = "stream"
        elif route.method in SAFE_METHODS | {"HEAD"} and not route.write and not route.auth:
            kind = "http"
        else:
            # Writes and authenticated reads are not replayed every minute by default.
            continue
        p95 = {**budgets.get(route.klass, {}), **spec.get("budget", {})}.get("p95")
        targets.append(
            Target(
                route.name,
                kind,
                url=_join(base, route.path),
                method="HEAD" if route.method == "HEAD" else "GET",
                expect=route.expect,
                budget_ms=milliseconds(p95) if p95 and kind == "http" else None,
                core=route.klass in ("read", "auth", "write"),
                owner=owner,
                check_first=_CHECK_FIRST[kind],
                spec=spec,
            )
        )
    if "login" in http:
        targets.append(Target("login", "login", url=base, owner=owner, check_first=_CHECK_FIRST["login"]))
    return targets + _host_targets(http, full, base, owner)


def _host_targets(http: Mapping[str, Any], full: Mapping[str, Any], base: str, owner: str) -> list[Target]:
    """TLS and DNS probes of every host the gate was told about: the watched URL's, checks.http's
    hosts, aliases and canonical host (else the dns check's domain map)."""
    from gate.checks.http.preview import netloc, normalise_host
    from gate.config.domains import domain_map

    mapped, canonical = domain_map(full) if "hosts" not in http else ([], None)
    entries = [*http.get("hosts", mapped), *http.get("aliases", [])]
    canonical = http.get("canonical_host") or canonical
    hosts = dict.fromkeys([netloc(base), *(normalise_host(entry) for entry in [*entries, canonical] if entry)])
    targets = [
        Target(f"tls {host}", "tls", host=host, owner=owner, check_first=_CHECK_FIRST["tls"])
        for host in hosts
        if base.startswith("https://")
    ]
    names = dict.fromkeys(urlsplit(f"https://{host}").hostname or "" for host in hosts)
    for name in names:
        if _is_name(name):
            targets.append(Target(f"dns {name}", "dns", host=name, owner=owner, check_first=_CHECK_FIRST["dns"]))
    return targets


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _declared(spec: Mapping[str, Any], base: str, owner: str, http: Mapping[str, Any]) -> Target:
    kind = spec.get("kind", "http")
    if kind == "login" and "login" not in http:
        raise InputError(
            f"watch.targets '{spec['name']}' is a login probe, but checks.http declares no login",
            hint="declare checks.http.login (path, fields, success): the watch signs in the way the gate does",
        )
    if kind in ("tls", "dns") and not spec.get("host"):
        raise InputError(f"watch.targets '{spec['name']}' is a {kind} probe and needs `host:`")
    if kind in ("http", "stream") and not spec.get("path"):
        raise InputError(f"watch.targets '{spec['name']}' is an {kind} probe and needs `path:`")
    return Target(
        spec["name"],
        kind,
        url=_join(base, spec["path"]) if spec.get("path") else base,
        host=spec.get("host", ""),
        expect=frozenset(spec["expect"]) if "expect" in spec else None,
        budget_ms=milliseconds(spec["budget"]) if "budget" in spec else None,
        core=bool(spec.get("core", False)),
        owner=spec.get("owner", owner),
        check_first=spec.get("check_first", _CHECK_FIRST[kind]),
        spec=spec,
    )


def secret_variables(watch: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every environment variable `watch:` reads a secret from, with the key path naming it."""
    found: list[tuple[tuple[str, ...], str]] = [(("store_env",), watch["store_env"])] if watch.get("store_env") else []
    alerts = watch.get("alerts", {})
    for channel, keys in _SECRET_KEYS.items():
        spec = alerts.get(channel)
        for key in keys if spec is not None else ():
            variable = spec.get(key) or (DEFAULT_TOKEN_ENV if channel == "github" else None)
            if variable:
                found.append((("alerts", channel, key), variable))
    return found


def check_secret_env_names(watch: Mapping[str, Any], document: Located | None = None) -> None:
    """Secrets come only from `GATE_*` variables or those `watch.secret_env_allow` lists.

    Whoever edits gate.yml picks the variable and where it is sent; without this, a pull request
    could name the job's cloud credentials as a webhook URL or SMTP password. The runner's own
    token goes only to the runner's own GitHub API: with `api_url` set in gate.yml it is refused.
    """
    from gate.checks.http.preview import runner_secret

    allowed = {str(name) for name in watch.get("secret_env_allow", [])}
    for keys, variable in secret_variables(watch):
        key = "watch." + ".".join(keys)
        where = document.position(("watch", *keys)) if document is not None else None
        to_github = keys == ("alerts", "github", "token_env") and not watch["alerts"]["github"].get("api_url")
        if runner_secret(variable) and not (to_github and variable.upper() in ("GITHUB_TOKEN", "GH_TOKEN")):
            raise InputError(
                f"{key} names {variable}, a credential of the CI runner itself; the gate sends it nowhere but "
                "the runner's own GitHub API (watch.alerts.github without api_url)",
                where,
                hint="put this secret in its own variable, named GATE_something",
            )
        if not (variable.startswith("GATE_") or variable in allowed or runner_secret(variable)):
            raise InputError(
                f"{key} names the environment variable {variable}; secrets are read only from GATE_* "
                "variables or those listed in watch.secret_env_allow",
                where,
                hint=f"rename it GATE_{variable}, or add {variable} to watch.secret_env_allow",
            )


def settings(full: Mapping[str, Any], environ: Mapping[str, str], document: Located | None = None) -> Settings:
    """The watch settings of a loaded config; bad or missing input raises InputError (exit 2).

    `document` is the parsed gate.yml, so an error names the line of the key at fault.
    """
    watch: Mapping[str, Any] = full.get("watch", {})
    check_secret_env_names(watch, document)
    http: Mapping[str, Any] = full.get("checks", {}).get("http", {})
    base = watch.get("url") or http.get("url")
    if not base or urlsplit(base).scheme not in ("http", "https"):
        raise InputError(
            "gate watch needs the URL to watch",
            hint="set watch.url (the production URL) or checks.http.url in gate.yml",
        )
    owner = watch.get("owner", "")
    targets = _from_http(http, full, base, owner) if watch.get("from_http", True) else []
    targets += [_declared(spec, base, owner, http) for spec in watch.get("targets", [])]
    by_name = {target.name: target for target in targets}
    only: Sequence[str] = watch.get("only", [])
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise InputError(
            f"watch.only names {', '.join(unknown)}, which no target has",
            hint=f"the targets are: {', '.join(by_name)}",
        )
    chosen = [by_name[name] for name in only] if only else list(by_name.values())
    store = environ.get(watch["store_env"], "") if watch.get("store_env") else watch.get("store", "")
    if watch.get("store_env") and not store:
        raise InputError(f"watch.store_env names {watch['store_env']}, which is not set or empty")
    alerts = watch.get("alerts", {})
    report = watch.get("report", {})
    return Settings(
        url=base,
        interval_s=seconds(watch.get("interval", "1m")),
        timeout_s=seconds(watch.get("timeout", "10s")),
        store=store or ".gate/watch.sqlite",
        owner=owner,
        open_after=int(alerts.get("open_after", 3)),
        resolve_after=int(alerts.get("resolve_after", 2)),
        delivery_timeout_s=seconds(alerts.get("timeout", "10s")),
        p95_ms=milliseconds(report.get("p95", "500ms")),
        uptime=fraction(report.get("uptime", "99.9%")),
        alerts=alerts,
        targets=tuple(chosen),
    )
