"""`gate init --preview URL`: ask the running preview which routes answer, which need auth,
and whether it serves /openapi.json; then refine the guesses.

Every request goes to the URL's own origin (the connection is opened to that host and port and
only a path is sent, so no route text can point it elsewhere), redirects are not followed, and
the number of requests, their time and the bytes read are capped. Only GET and HEAD routes are
requested: a probe never writes.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from gate.errors import InputError, Position
from gate.init.routes import Route, routes_from_openapi

MAX_REQUESTS = 60
REQUEST_TIMEOUT = 5.0
MAX_BODY = 512 * 1024
OPENAPI_PATHS = ("/openapi.json", "/api/openapi.json", "/swagger.json")


@dataclass
class ProbeResult:
    routes: list[Route]
    openapi_url: str | None = None
    notes: list[str] = field(default_factory=list)


class Origin:
    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"--preview '{url}' is not an absolute http(s) URL",
                Position("--preview"),
                hint="give the running preview's address, like https://my-app-git-branch.vercel.app",
            )
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.sent = 0

    def request(self, method: str, path: str) -> tuple[int, str, bytes] | None:
        """Status, content type and (capped) body; None when the preview did not answer or the cap is reached."""
        if self.sent >= MAX_REQUESTS or not path.startswith("/") or path.startswith("//"):
            return None
        self.sent += 1
        target = urllib.parse.quote(path, safe="/%:@!$&'()*+,;=-._~?")
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=REQUEST_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, target, headers={"User-Agent": "launch-gate-init", "Accept": "*/*"})
            response = connection.getresponse()
            body = response.read(MAX_BODY) if method == "GET" else b""
            return response.status, response.getheader("Content-Type", "") or "", body
        except (OSError, http.client.HTTPException, ValueError):
            return None
        finally:
            connection.close()


def _refine(route: Route, status: int, content_type: str) -> Route:
    refined = replace(route, answered=status)
    if status in (401, 403):
        return replace(refined, auth=True, reason=route.reason + f"; refused anonymous ({status})")
    if "text/event-stream" in content_type:
        return replace(refined, route_class="stream", reason="the preview answered with text/event-stream")
    return refined


def probe(url: str, routes: Sequence[Route]) -> ProbeResult:
    origin = Origin(url)
    result = ProbeResult([])
    if origin.request("GET", "/") is None:
        raise InputError(
            f"the preview at {origin.url} did not answer",
            Position("--preview"),
            hint="start the preview (or wait for its deployment) and run gate init again",
        )
    for path in OPENAPI_PATHS:
        answer = origin.request("GET", path)
        if answer and answer[0] == 200 and b'"paths"' in answer[2]:
            result.openapi_url = origin.url + path
            known = {(r.path, r.method) for r in routes}
            text = answer[2].decode("utf-8", "replace")
            extra = [r for r in routes_from_openapi(text, path) if (r.path, r.method) not in known]
            routes = [*routes, *extra]
            result.notes.append(f"{origin.url}{path} lists {len(extra)} route(s) the code did not show")
            break
    for route in routes:
        if route.dynamic or route.method not in ("GET", "HEAD"):
            result.routes.append(route)
            continue
        answer = origin.request(route.method, route.path)
        if answer is None:
            result.routes.append(route)
            result.notes.append(f"{route.method} {route.path} was not probed (no answer or request cap reached)")
        elif answer[0] in (404, 410):
            result.notes.append(f"{route.method} {route.path} answered {answer[0]} on the preview; left out")
        else:
            result.routes.append(_refine(route, answer[0], answer[1]))
    return result
