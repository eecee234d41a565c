"""Where in gate.yml a finding without a file was declared, so code scanning and annotations can show it.

A finding about a URL, a route, a host or a domain has no source file; the nearest thing a reviewer
can open is the key in gate.yml that told the gate to look there (`checks.http.routes[2].path`,
`checks.dns.hosts.api`, `checks.http.url`). This maps such a finding to that key's line through the
positions the config loader kept, without the checks knowing anything about it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.model import Finding, Location

if TYPE_CHECKING:
    from gate.config.yamlpos import JsonPath, Located


@dataclass(frozen=True)
class Declared:
    """A line of the config file: `path` relative to the scanned root, `/`-separated."""

    path: str
    line: int
    column: int | None = None


def _host(url: str) -> str:
    try:
        return (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _url_path(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).path or "/"
    except ValueError:
        return ""


def _fqdn(name: str, domain: str) -> str:
    name = name.rstrip(".").lower()
    if name in ("@", ""):
        return domain
    return name if name.endswith("." + domain) or name == domain else f"{name}.{domain}"


class ConfigPlaces:
    """Answers "which line of gate.yml declared this?" for findings located by URL, route or name."""

    def __init__(self, document: Located | None, config_path: str | None) -> None:
        self._document = document
        self._config_path = config_path

    @classmethod
    def none(cls) -> ConfigPlaces:
        return cls(None, None)

    @classmethod
    def of(cls, document: Located | None, config_file: Path | None, root: Path) -> ConfigPlaces:
        """`config_file` as a path under `root`; a config outside the scanned tree cannot be linked."""
        if document is None or config_file is None:
            return cls.none()
        try:
            relative = config_file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return cls(document, None)
        return cls(document, relative)

    @property
    def config_path(self) -> str | None:
        return self._config_path

    def _at(self, where: JsonPath, *, key: bool = True) -> Declared | None:
        assert self._document is not None and self._config_path is not None
        table = self._document.keys if key else self._document.values
        if where not in table:
            return None
        line, column = table[where]
        return Declared(self._config_path, line, column)

    def _section(self, check: str) -> Mapping[str, Any]:
        assert self._document is not None
        data = self._document.data if isinstance(self._document.data, dict) else {}
        section = data.get("checks", {}).get(check, {}) if isinstance(data.get("checks"), dict) else {}
        return section if isinstance(section, dict) else {}

    def _items(self, check: str, key: str) -> Iterator[tuple[int, Any]]:
        value = self._section(check).get(key)
        if isinstance(value, list):
            yield from enumerate(value)

    def _http_host(self, host: str) -> Declared | None:
        base: JsonPath = ("checks", "http")
        for key in ("hosts", "aliases"):
            for index, declared in self._items("http", key):
                if isinstance(declared, str) and declared.rstrip(".").lower() == host:
                    return self._at((*base, key, index), key=False)
        canonical = self._section("http").get("canonical_host")
        if isinstance(canonical, str) and canonical.rstrip(".").lower() == host:
            return self._at((*base, "canonical_host"))
        return None

    def _http(self, location: Location) -> Declared | None:
        base: JsonPath = ("checks", "http")
        preview = self._section("http").get("url")
        preview_host = _host(preview) if isinstance(preview, str) else ""
        host = (location.name or (_host(location.url) if location.url else "")).rstrip(".").lower()
        if host and host != preview_host:
            # Another host of the domain map (TLS, redirects): its entry, not the preview's paths.
            place = self._http_host(host)
            if place is not None:
                return place
        route_path = location.route or (_url_path(location.url) if location.url else None)
        if route_path:
            for index, route in self._items("http", "routes"):
                if isinstance(route, dict) and route_path in (route.get("path"), route.get("name")):
                    return self._at((*base, "routes", index, "path")) or self._at((*base, "routes", index), key=False)
            login = self._section("http").get("login")
            if isinstance(login, dict) and login.get("path") == route_path:
                return self._at((*base, "login", "path"))
            for index, page in self._items("http", "pages"):
                if page == route_path:
                    return self._at((*base, "pages", index), key=False)
        if (location.url or location.route) and preview is not None:
            return self._at((*base, "url"))
        return None

    def _ai(self, location: Location) -> Declared | None:
        """An ai finding's route entry (by its name, or the default name `METHOD /path`)."""
        for index, route in self._items("ai", "routes"):
            if isinstance(route, dict):
                named = (route.get("name"), f"{route.get('method', 'POST')} {route.get('path')}")
                if location.route in named:
                    return self._at(("checks", "ai", "routes", index, "path"))
        return None

    def _dns(self, location: Location) -> Declared | None:
        name = (location.name or (_host(location.url) if location.url else "")).rstrip(".").lower()
        domain = str(self._section("dns").get("domain", "")).rstrip(".").lower()
        if not name or not domain:
            return None
        hosts = self._section("dns").get("hosts")
        if isinstance(hosts, dict):
            for key in hosts:
                if _fqdn(str(key), domain) == name:
                    return self._at(("checks", "dns", "hosts", key))
        if name == domain or name.endswith("." + domain):
            return self._at(("checks", "dns", "domain"))
        return None

    def declared(self, finding: Finding) -> Declared | None:
        """The config line behind a finding that has no file of its own; None when it has one or none is known."""
        location = finding.location
        if location.path or self._document is None or self._config_path is None:
            return None
        if not (location.url or location.route or location.name):
            return None
        finders: list[Callable[[Location], Declared | None]] = [self._http, self._dns]
        if finding.check == "dns":
            finders.reverse()
        if finding.check == "ai":
            finders.insert(0, self._ai)
        for find in finders:
            place = find(location)
            if place is not None:
                return place
        section = self._at(("checks", finding.check))
        return section or Declared(self._config_path, 1)
