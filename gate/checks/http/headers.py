"""Security headers graded by what the response is, headers that leak internals, stack traces in
bodies, and session cookie flags.

A JSON API is not graded like a page: CSP, framing and Referrer-Policy protect documents a
browser renders, so they are required on HTML only; HSTS and nosniff apply to both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from gate.checks.http.observations import Observation
from gate.checks.http.transport import Page
from gate.rules_data import rules_file

Kind = Literal["html", "api", "other"]


@dataclass(frozen=True)
class HeaderPolicy:
    """The preset's header numbers (checks.http.headers in gate.yml)."""

    hsts_min_max_age: int = 0
    hsts_include_subdomains: bool = False
    csp_forbid_unsafe_inline: bool = False

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> HeaderPolicy:
        raw = section.get("headers", {})
        return cls(
            hsts_min_max_age=int(raw.get("hsts_min_max_age", 0)),
            hsts_include_subdomains=bool(raw.get("hsts_include_subdomains", False)),
            csp_forbid_unsafe_inline=bool(raw.get("csp_forbid_unsafe_inline", False)),
        )


@dataclass(frozen=True)
class HeaderRules:
    """rules/http/headers.yml, compiled."""

    html_types: frozenset[str]
    api_types: frozenset[str]
    api_suffixes: tuple[str, ...]
    leaking: tuple[tuple[str, re.Pattern[str] | None], ...]
    safe_referrer: frozenset[str]
    session_names: tuple[re.Pattern[str], ...]
    stack_traces: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    @functools.cache
    def load(cls) -> HeaderRules:
        data: dict[str, Any] = yaml.safe_load(rules_file("http", "headers.yml").read_text())
        types = data["content_types"]
        return cls(
            html_types=frozenset(types["html"]),
            api_types=frozenset(types["api"]),
            api_suffixes=tuple(types["api_suffixes"]),
            leaking=tuple(
                (entry["name"].lower(), re.compile(entry["pattern"]) if "pattern" in entry else None)
                for entry in data["leaking_headers"]
            ),
            safe_referrer=frozenset(data["safe_referrer_policies"]),
            session_names=tuple(re.compile(pattern) for pattern in data["session_cookie_names"]),
            stack_traces=tuple((entry["name"], re.compile(entry["pattern"])) for entry in data["stack_traces"]),
        )

    def kind(self, page: Page) -> Kind:
        content_type = page.content_type
        if content_type in self.html_types:
            return "html"
        if content_type in self.api_types or content_type.endswith(self.api_suffixes):
            return "api"
        return "other"

    def is_session_cookie(self, name: str) -> bool:
        return any(pattern.search(name) for pattern in self.session_names)


def csp_directives(policies: Iterable[str]) -> dict[str, list[str]]:
    """Directives of one or more enforced policies; the first occurrence of a directive wins."""
    directives: dict[str, list[str]] = {}
    for policy in policies:
        for part in policy.split(";"):
            tokens = part.split()
            if tokens and tokens[0].lower() not in directives:
                directives[tokens[0].lower()] = tokens[1:]
    return directives


def _inline_scripts_allowed(directives: Mapping[str, list[str]]) -> bool:
    sources = directives.get("script-src", directives.get("default-src"))
    if sources is None:
        return True
    lowered = [source.lower() for source in sources]
    if "'unsafe-inline'" not in lowered:
        return False
    # Browsers ignore 'unsafe-inline' when a nonce, hash or strict-dynamic is present (CSP level 2+).
    return not any(
        s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) or s == "'strict-dynamic'" for s in lowered
    )


def includes_subdomains(page: Page) -> bool:
    value = page.headers.get("strict-transport-security", "")
    return any(part.strip().lower() == "includesubdomains" for part in value.split(";"))


def _hsts(page: Page, policy: HeaderPolicy, route: str | None, covered_by: str | None) -> Iterator[Observation]:
    value = page.headers.get("strict-transport-security")
    if value is None:
        beside = (
            f" {covered_by} sends includeSubDomains, which covers this host only in browsers that visited "
            f"{covered_by} first."
            if covered_by
            else ""
        )
        yield Observation(
            "http.headers.hsts-missing",
            page.url,
            "hsts",
            f"HTTPS responses do not send Strict-Transport-Security.{beside}",
            route=route,
        )
        return
    directives = {part.strip().split("=")[0].lower(): part.strip() for part in value.split(";") if part.strip()}
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    max_age = int(match.group(1)) if match else 0
    problems = []
    if match is None:
        problems.append("it has no max-age, so browsers ignore it")
    elif max_age < policy.hsts_min_max_age:
        problems.append(f"max-age is {max_age}s, below the preset's {policy.hsts_min_max_age}s")
    if policy.hsts_include_subdomains and "includesubdomains" not in directives:
        problems.append("includeSubDomains is missing")
    if problems:
        yield Observation(
            "http.headers.hsts-weak",
            page.url,
            "hsts",
            f"Strict-Transport-Security is `{value}`: {'; '.join(problems)}.",
            route=route,
        )


def grade(
    page: Page,
    rules: HeaderRules,
    policy: HeaderPolicy,
    *,
    meta_csp: Iterable[str] = (),
    route: str | None = None,
    covered_by: str | None = None,
) -> Iterator[Observation]:
    """Header observations for one response, by content type; `covered_by` names a parent host
    whose HSTS has includeSubDomains."""
    kind = rules.kind(page)
    if page.status >= 300 or kind == "other":
        return
    if page.url.startswith("https://"):
        yield from _hsts(page, policy, route, covered_by)
    if page.headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        yield Observation(
            "http.headers.nosniff-missing",
            page.url,
            f"nosniff:{kind}",
            "Responses do not send `X-Content-Type-Options: nosniff`.",
            route=route,
        )
    if kind == "html":
        yield from _html_headers(page, rules, policy, meta_csp, route)


def _html_headers(
    page: Page, rules: HeaderRules, policy: HeaderPolicy, meta_csp: Iterable[str], route: str | None
) -> Iterator[Observation]:
    """What an HTML page needs on top: a CSP (without inline scripts), framing protection, a referrer policy."""
    enforced = [*page.headers.get_list("content-security-policy"), *meta_csp]
    directives = csp_directives(enforced)
    if not enforced:
        report_only = (
            " (only a Report-Only policy, which enforces nothing)"
            if page.headers.get("content-security-policy-report-only")
            else ""
        )
        yield Observation(
            "http.headers.csp-missing",
            page.url,
            "csp",
            f"HTML pages are served without a Content-Security-Policy{report_only}.",
            route=route,
        )
    elif policy.csp_forbid_unsafe_inline and _inline_scripts_allowed(directives):
        yield Observation(
            "http.headers.csp-unsafe-inline",
            page.url,
            "csp",
            "The Content-Security-Policy lets inline scripts run ('unsafe-inline' without a nonce or "
            "hash, or no script-src/default-src at all).",
            route=route,
        )
    # frame-ancestors is ignored in a <meta> policy, so only the header's directives count.
    header_directives = csp_directives(page.headers.get_list("content-security-policy"))
    xfo = page.headers.get("x-frame-options", "").strip().lower()
    if "frame-ancestors" not in header_directives and xfo not in ("deny", "sameorigin"):
        yield Observation(
            "http.headers.framing-unprotected",
            page.url,
            "framing",
            "HTML pages set neither CSP frame-ancestors nor X-Frame-Options.",
            route=route,
        )
    referrer = [token.strip().lower() for token in page.headers.get("referrer-policy", "").split(",") if token.strip()]
    # The last policy a browser understands wins, so the last one is the one to judge.
    if not referrer or referrer[-1] not in rules.safe_referrer:
        shown = f"is `{referrer[-1]}`, which sends full URLs to other sites" if referrer else "is missing"
        yield Observation(
            "http.headers.referrer-policy-missing", page.url, "referrer", f"Referrer-Policy {shown}.", route=route
        )


def leaks(page: Page, rules: HeaderRules, route: str | None = None) -> Iterator[Observation]:
    for name, pattern in rules.leaking:
        for value in page.headers.get_list(name):
            if pattern is None or pattern.search(value):
                yield Observation(
                    "http.headers.leaks-version", page.url, name, f"Responses send `{name}: {value[:80]}`.", route=route
                )


def stack_trace(page: Page, rules: HeaderRules, route: str | None = None) -> Iterator[Observation]:
    if not page.body:
        return
    text = page.text()
    for name, pattern in rules.stack_traces:
        if pattern.search(text):
            yield Observation(
                "http.errors.stack-trace",
                page.url,
                name,
                f"An HTTP {page.status} response body contains a {name}.",
                route=route,
            )
            return


@dataclass(frozen=True)
class Cookie:
    name: str
    attributes: Mapping[str, str]

    @property
    def deleting(self) -> bool:
        """A cookie being cleared (Max-Age=0 or an empty value) carries nothing to protect."""
        return self.attributes.get("max-age", "").strip() in ("0", "-1") or self.attributes.get("") == ""


def parse_set_cookie(header: str) -> Cookie:
    """One Set-Cookie line as Werkzeug's RFC 6265 cookie parser reads it (`sid="a;b"` is one quoted
    value), attribute names lower-cased, the last of a repeated attribute winning as in browsers."""
    from werkzeug.http import parse_cookie

    first, _, rest = header.partition(";")
    name = first.partition("=")[0].strip() if "=" in first else ""
    pairs = list(parse_cookie(header).items(multi=True))
    if pairs and pairs[0][0] == name:
        value, attributes = pairs[0][1], pairs[1:]
    else:
        # Werkzeug refuses a value browsers accept (a space or control character in it): then the
        # pair ends at the first `;` as RFC 6265 section 5.2 has browsers do, and the flags that
        # follow are still read, so an odd value never hides a missing Secure or HttpOnly.
        value, attributes = first.partition("=")[2].strip(), list(parse_cookie(rest).items(multi=True))
    return Cookie(name, {"": value, **{key.strip().lower(): argument.strip() for key, argument in attributes}})


def cookies(page: Page, rules: HeaderRules, route: str | None = None) -> Iterator[Observation]:
    for header in page.headers.get_list("set-cookie"):
        cookie = parse_set_cookie(header)
        if cookie.deleting or not rules.is_session_cookie(cookie.name):
            continue
        where = f"The session cookie `{cookie.name}`"
        if page.url.startswith("https://") and "secure" not in cookie.attributes:
            yield Observation(
                "http.cookies.not-secure", page.url, cookie.name, f"{where} is set without Secure.", route=route
            )
        if "httponly" not in cookie.attributes:
            yield Observation(
                "http.cookies.not-httponly", page.url, cookie.name, f"{where} is set without HttpOnly.", route=route
            )
        samesite = cookie.attributes.get("samesite", "").lower()
        if samesite not in ("lax", "strict"):
            text = "SameSite=None" if samesite == "none" else "no SameSite attribute"
            yield Observation(
                "http.cookies.no-samesite", page.url, cookie.name, f"{where} is set with {text}.", route=route
            )
