"""What the gate reads out of an HTML page: sub-resources, links, scripts and a meta CSP.

The standard library's tolerant HTMLParser is used on purpose: preview pages are untrusted input
and may be malformed; the parser never raises on bad markup and never fetches anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

# Sub-resources a browser loads by itself, and whether loading them over http:// is "active"
# mixed content (can rewrite the page, blocked by browsers) or passive (images, media).
_ACTIVE = {("script", "src"), ("iframe", "src"), ("frame", "src"), ("object", "data"), ("embed", "src")}
_PASSIVE = {
    ("img", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("source", "src"),
    ("video", "poster"),
    ("track", "src"),
    ("input", "src"),
}
_ACTIVE_LINK_RELS = {"stylesheet", "modulepreload", "preload", "prefetch", "import", "manifest"}
_PASSIVE_LINK_RELS = {"icon", "apple-touch-icon", "shortcut"}


@dataclass(frozen=True)
class Resource:
    url: str
    tag: str
    active: bool


@dataclass
class PageParts:
    """The parts of one HTML page the http rules look at, with URLs made absolute."""

    scripts: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    meta_csp: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.parts = PageParts()

    def _url(self, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value or value.startswith(("data:", "blob:", "javascript:", "mailto:", "tel:", "#", "about:")):
            return None
        return urljoin(self.base, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs}
        parts = self.parts
        if tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"] or "")
            return
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            parts.meta_csp.append(values.get("content") or "")
            return
        if tag == "link":
            rels = set((values.get("rel") or "").lower().split())
            url = self._url(values.get("href"))
            if url is None:
                return
            if "stylesheet" in rels:
                parts.stylesheets.append(url)
            if rels & {"modulepreload"} or (rels & {"preload", "prefetch"} and values.get("as") == "script"):
                parts.scripts.append(url)
            if rels & _ACTIVE_LINK_RELS:
                parts.resources.append(Resource(url, f"link rel={values.get('rel')}", True))
            elif rels & _PASSIVE_LINK_RELS:
                parts.resources.append(Resource(url, f"link rel={values.get('rel')}", False))
            return
        if tag == "a":
            url = self._url(values.get("href"))
            if url is not None:
                parts.links.append(url)
            return
        if tag == "form":
            url = self._url(values.get("action"))
            if url is not None:
                parts.forms.append(url)
            return
        for attribute, raw in values.items():
            url = self._url(raw) if (tag, attribute) in _ACTIVE | _PASSIVE else None
            if url is None:
                continue
            if tag == "script" and attribute == "src":
                parts.scripts.append(url)
            parts.resources.append(Resource(url, tag, (tag, attribute) in _ACTIVE))


def parse_page(html: str, url: str) -> PageParts:
    parser = _Parser(url)
    parser.feed(html)
    parser.close()
    parts = parser.parts
    parts.scripts = list(dict.fromkeys(parts.scripts))
    parts.links = list(dict.fromkeys(parts.links))
    return parts
