"""gate.yml's `checks.http` keys turned into a `Preview`: where the preview is and how to reach it.

Every value is checked here, before any request: the URL, every declared path (none may leave the
preview), the CA bundle, the environment variables secrets are read from (never the runner's
own), the declared hosts (never a forbidden address) and the `resolve:` pins. Bad input raises
InputError (exit 2) naming the key in gate.yml.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from gate import redact
from gate.checks.http.resolve import Resolver, declared_names, pins_from_config
from gate.checks.http.trust import ssl_context
from gate.config.units import seconds
from gate.errors import InputError, Position
from gate.netpolicy import forbidden

if TYPE_CHECKING:
    from gate.checks.base import CheckContext


@dataclass(frozen=True)
class Limits:
    """Bounds on every request: total time, bytes of body kept, redirects followed."""

    timeout: float = 10.0
    max_body: int = 2_000_000
    max_redirects: int = 5
    concurrency: int = 8

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Limits:
        raw = section.get("limits", {})
        default = cls()
        return cls(
            timeout=seconds(raw["timeout"]) if "timeout" in raw else default.timeout,
            max_body=int(raw.get("max_body", default.max_body)),
            max_redirects=int(raw.get("max_redirects", default.max_redirects)),
            concurrency=int(raw.get("concurrency", default.concurrency)),
        )


@dataclass(frozen=True)
class Preview:
    """Where the preview is and how to reach it, resolved once from gate.yml and the environment."""

    base_url: str
    hosts: tuple[str, ...]
    limits: Limits
    ca_bundle: Path | None = None
    secret_headers: Mapping[str, str] = field(default_factory=dict)
    auth_token: str | None = None
    # Loading the system roots costs ~0.1 s, so one context serves every client and handshake.
    trust: ssl.SSLContext = field(default_factory=lambda: ssl_context(None), repr=False)
    canonical_host: str | None = None
    # `resolve:` in gate.yml: (host, port or None) -> address.
    pins: Mapping[tuple[str, int | None], str] = field(default_factory=dict)
    # Plain-HTTP port per host (`http_port`, one number or a map); 80 where none is given.
    http_ports: Mapping[str, int] = field(default_factory=dict)

    @functools.cached_property
    def resolver(self) -> Resolver:
        """Every connection goes through it: declared hosts only, the pins, no metadata addresses."""
        return Resolver(declared_names(self.hosts), self.pins)

    def http_port(self, host: str) -> int:
        """The plain-HTTP port of host[:port]: its own entry, its name's, or the one for all."""
        for key in (host, split_host_name(host), ""):
            if key in self.http_ports:
                return self.http_ports[key]
        return 80

    @property
    def base_host(self) -> str:
        return netloc(self.base_url)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def is_own(self, url: str) -> bool:
        """True for URLs on the preview's declared hosts, the only ones that get secret headers."""
        return netloc(url) in self.hosts

    def plain_url(self, path: str) -> str:
        """`path` on the preview's plain-HTTP entry (its host on its `http_port`)."""
        name = split_host_name(self.base_host)
        shown = f"[{name}]" if ":" in name else name
        port = self.http_port(self.base_host)
        return urljoin(f"http://{shown}/" if port == 80 else f"http://{shown}:{port}/", path)

    def is_reachable(self, url: str) -> bool:
        """A declared host over https, or its plain-HTTP entry: where a redirect may be followed."""
        if self.is_own(url):
            return True
        parts = urlsplit(url)
        try:
            port = parts.port or 80
        except ValueError:
            return False
        return parts.scheme == "http" and any(
            split_host_name(own) == parts.hostname and port == self.http_port(own) for own in self.hosts
        )


def netloc(url: str) -> str:
    """host[:port] of a URL, lower-cased, without the default port of its scheme."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return host
    return host if port in (None, default) else f"{host}:{port}"


def normalise_host(entry: str) -> str:
    """A gate.yml host (`example.com`, `example.com:8443`, `https://example.com/`) as host[:port]."""
    return netloc(entry if "://" in entry else f"https://{entry}")


def _position(ctx: CheckContext, key: str | tuple[str | int, ...]) -> Position | None:
    """Where `checks.http.KEY` (or, when the key is not in the file, its closest parent) sits in gate.yml."""
    from gate.config.yamlpos import load_file

    if ctx.config_path is None:
        return None
    keys = (key,) if isinstance(key, str) else key
    return load_file(ctx.config_path).position(("checks", "http", *keys))


# Variables the runner itself fills with its credentials: gate.yml (which a pull request may
# change) must never be able to send one of them to a server, allow-listed or not.
RUNNER_SECRETS = ("GITHUB_TOKEN", "GH_TOKEN", "INPUT_*", "ACTIONS_*")


def runner_secret(variable: str) -> bool:
    upper = variable.upper()
    return any(upper.startswith(name[:-1]) if name.endswith("*") else upper == name for name in RUNNER_SECRETS)


def _logins(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """`login` and every entry of `accounts`, with the key path of each."""
    found: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = []
    if section.get("login"):
        found.append((("login",), section["login"]))
    found += [(("accounts", index), spec) for index, spec in enumerate(section.get("accounts", []))]
    return found


def secret_env_references(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every environment variable checks.http reads a secret from, with the key path naming it."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if section.get("auth_token_env"):
        found.append((("auth_token_env",), section["auth_token_env"]))
    if section.get("bypass_header"):
        found.append((("bypass_header", "env"), section["bypass_header"]["env"]))
    for where, spec in _logins(section):
        found += [((*where, "fields", field), variable) for field, variable in spec.get("fields", {}).items()]
    return found


def declared_paths(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every path checks.http requests on the preview, with the key path naming it."""
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("pages", index), path) for index, path in enumerate(section.get("pages", []))
    ]
    found += [(("routes", index, "path"), route["path"]) for index, route in enumerate(section.get("routes", []))]
    for where, spec in _logins(section):
        found.append(((*where, "path"), spec["path"]))
        if "refresh" in spec:
            found.append(((*where, "refresh", "path"), spec["refresh"]["path"]))
    return found


def check_secret_env_names(ctx: CheckContext) -> None:
    """Secrets come only from `GATE_*` variables or those `secret_env_allow` lists, never the runner's own.

    Whoever edits gate.yml picks the variable and the server it goes to; without this, a pull
    request could name the job's GitHub token and send it to a host it controls.
    """
    allowed = {str(name) for name in ctx.config.get("secret_env_allow", [])}
    for keys, variable in secret_env_references(ctx.config):
        key = ".".join(str(part) for part in keys)
        if runner_secret(variable):
            raise InputError(
                f"checks.http.{key} names {variable}, a credential of the CI runner itself; the gate never "
                "sends it to a server",
                _position(ctx, keys),
                hint="put the preview's secret in its own variable, named GATE_something",
            )
        if not variable.startswith("GATE_") and variable not in allowed:
            raise InputError(
                f"checks.http.{key} names the environment variable {variable}; secrets are read only from "
                "GATE_* variables or those listed in checks.http.secret_env_allow",
                _position(ctx, keys),
                hint=f"rename it GATE_{variable}, or add {variable} to checks.http.secret_env_allow",
            )


def _secret_env(ctx: CheckContext, key: str, variable: str) -> str:
    value = ctx.environ.get(variable, "")
    if not value:
        raise InputError(
            f"checks.http.{key} names the environment variable {variable}, which is not set or empty",
            _position(ctx, key),
            hint=f"set {variable} as a secret in the CI job's environment, or remove checks.http.{key}",
        )
    redact.register(value)
    return value


def preview_from_context(ctx: CheckContext, domain: tuple[Sequence[str], str | None] = ((), None)) -> Preview:
    """Resolve gate.yml's `checks.http` keys into a Preview; bad input raises InputError (exit 2).

    `domain` is the dns check's domain map (its names, its canonical host), handed in by the
    caller: unless `checks.http.hosts` lists its own, the preview's hosts and canonical host
    default to it.
    """
    section = ctx.config
    url = _base_url(ctx)
    check_secret_env_names(ctx)
    _check_paths_stay_on(ctx, url)
    ca_bundle, trust = _trust(ctx)
    secret_headers: dict[str, str] = {}
    bypass = section.get("bypass_header")
    if bypass:
        secret_headers[bypass["name"]] = _secret_env(ctx, "bypass_header", bypass["env"])
    token = _secret_env(ctx, "auth_token_env", section["auth_token_env"]) if section.get("auth_token_env") else None
    # The domain map is taken as a whole or not at all: hosts listed here describe another site.
    mapped, mapped_canonical = domain if "hosts" not in section else ((), None)
    canonical = section.get("canonical_host") or mapped_canonical
    hosts = [netloc(url)]
    for entry in [*section.get("hosts", mapped), *section.get("aliases", [])]:
        hosts.append(normalise_host(entry))
    if canonical:
        hosts.append(normalise_host(canonical))
    pins, bad = pins_from_config(section.get("resolve", {}))
    for entry, reason in bad:
        raise InputError(
            f"checks.http.resolve maps {entry} to an address the gate will not use: {reason}",
            _position(ctx, ("resolve", entry)),
            hint="map each declared host to the IP address of the preview, like curl --resolve",
        )
    for host in hosts:
        refusal = forbidden(split_host_name(host))
        if refusal:
            raise InputError(
                f"checks.http declares the host {host}, and {refusal}; the gate never connects there",
                _position(ctx, "hosts"),
                hint="list only the preview's own hosts",
            )
    return Preview(
        base_url=url,
        hosts=tuple(dict.fromkeys(hosts)),
        limits=Limits.from_config(section),
        ca_bundle=ca_bundle,
        secret_headers=secret_headers,
        auth_token=token,
        trust=trust or ssl_context(None),
        canonical_host=normalise_host(canonical) if canonical else None,
        pins=pins,
        http_ports=_http_ports(section.get("http_port", 80)),
    )


def _base_url(ctx: CheckContext) -> str:
    """checks.http.url, absolute, with at least the root path."""
    url = ctx.config.get("url")
    if not url:
        raise InputError(
            "the http check needs the preview's URL",
            _position(ctx, "url"),
            hint="set checks.http.url in gate.yml, or pass `gate check http --url https://...`",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(
            f"checks.http.url '{url}' is not an absolute http(s) URL",
            _position(ctx, "url"),
            hint="write it with its scheme, like https://my-app-git-branch.vercel.app",
        )
    return str(url) if parts.path else f"{url}/"


def _check_paths_stay_on(ctx: CheckContext, url: str) -> None:
    """Every declared path resolves on the preview itself, in its scheme."""
    own = netloc(url)
    scheme = urlsplit(url).scheme
    for keys, path in declared_paths(ctx.config):
        target = urljoin(url, path)
        redact.register_url_secrets(target)
        if netloc(target) != own or urlsplit(target).scheme != scheme:
            # `//other.example/x` is a path only in form: it would carry the credentials elsewhere.
            raise InputError(
                f"checks.http.{'.'.join(map(str, keys))} '{path}' leaves the preview (it resolves to {target})",
                _position(ctx, keys),
                hint="give a path on the preview, starting with a single /",
            )


def _trust(ctx: CheckContext) -> tuple[Path | None, ssl.SSLContext | None]:
    """checks.http.ca_bundle, resolved beside gate.yml, and the context trusting it (None: none given)."""
    section = ctx.config
    if not section.get("ca_bundle"):
        return None, None
    base = ctx.config_path.parent if ctx.config_path else ctx.root
    ca_bundle = (base / section["ca_bundle"]).resolve()
    if not ca_bundle.is_file():
        raise InputError(
            f"checks.http.ca_bundle '{section['ca_bundle']}' is not a file",
            _position(ctx, "ca_bundle"),
            hint="give a PEM file of the CA certificates that signed the preview, relative to gate.yml",
        )
    try:
        return ca_bundle, ssl_context(ca_bundle)
    except (ssl.SSLError, OSError) as error:
        raise InputError(
            f"checks.http.ca_bundle '{section['ca_bundle']}' is not a readable PEM bundle: {error}",
            _position(ctx, "ca_bundle"),
            hint="the file must hold one or more -----BEGIN CERTIFICATE----- blocks",
        ) from error


def _http_ports(raw: int | Mapping[str, int]) -> dict[str, int]:
    """`http_port: 8080` for every host, or `{app.localhost: 8081, "*": 8080}` per host."""
    if isinstance(raw, int):
        return {"": raw}
    return {("" if host == "*" else normalise_host(host)): int(port) for host, port in raw.items()}


def split_host_name(host: str) -> str:
    """The name of a host[:port] (an IPv6 address without its brackets)."""
    return urlsplit(f"https://{host}/").hostname or host
