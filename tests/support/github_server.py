"""A GitHub REST server on 127.0.0.1 that follows GitHub's OpenAPI description (`@octokit/openapi`,
see tests/contracts.py).

Every request body is validated against the operation's schema from the contract (with the
`discriminator` keys dropped: upstream puts one on an inline `oneOf`, which OAS30Validator would
resolve to a schema that does not exist; the `oneOf` itself still applies). Answers are the
contract's own examples with the fields that matter filled in, and are validated against the
response schema too, so the fake cannot drift from GitHub's shape. Faults are scripted per
operation: any status, primary rate limit (403 + X-RateLimit-Reset), 5xx. A SARIF upload is also
put through GitHub's upload rules as Microsoft's SARIF multitool applies them: any error or
warning is a violation.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

from tests.support import contracts

API_VERSION = "2022-11-28"


def drop_discriminators(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: drop_discriminators(value) for key, value in node.items() if key != "discriminator"}
    if isinstance(node, list):
        return [drop_discriminators(item) for item in node]
    return node


@cache
def load_description(path: Path) -> dict[str, Any]:
    """The description, read once per session (13 MB); callers treat it as read-only."""
    loaded: dict[str, Any] = drop_discriminators(json.loads(path.read_text()))
    return loaded


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]


@dataclass
class Request:
    method: str
    template: str
    path: str
    headers: dict[str, str]
    body: str
    json: Any


@dataclass
class Fault:
    status: int
    rate_limit_reset_in: float | None = None
    message: str | None = None


@dataclass
class State:
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    sarifs: list[dict[str, Any]] = field(default_factory=list)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (environment, created_at in ISO 8601) per deployment, newest first as GitHub lists them.
    deployments: list[tuple[str, str]] = field(default_factory=list)


class ContractServer:
    def __init__(self, contract: Path, owner: str = "octo-org", repo: str = "app") -> None:
        self.spec = load_description(contract)
        self.components = self.spec["components"]
        # A path with fewer parameters is the more specific one: /pulls/comments before /pulls/{pull_number}.
        self.operations = sorted(
            (
                Operation(
                    method.upper(), template, re.compile("^" + re.sub(r"\{[^}]+\}", r"([^/]+)", template) + "$"), op
                )
                for template, ops in self.spec["paths"].items()
                for method, op in ops.items()
                if method != "parameters"
            ),
            key=lambda op: op.template.count("{"),
        )
        self.owner, self.repo = owner, repo
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.faults: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self.always: dict[tuple[str, str], Fault] = {}
        self.state = State()
        self._ids = iter(range(4000, 10**9))
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v3"

    def __enter__(self) -> ContractServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(self, method: str, template: str, *faults: Fault) -> None:
        self.faults[(method, template)].extend(faults)

    def fail_always(self, method: str, template: str, fault: Fault) -> None:
        self.always[(method, template)] = fault

    def calls(self, method: str, template: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.template == template]

    def bodies(self) -> Iterator[str]:
        for request in self.requests:
            yield request.body

    # -- schema helpers ----------------------------------------------------------------------
    def _validator(self, schema: dict[str, Any]) -> OAS30Validator:
        return OAS30Validator({**schema, "components": self.components})

    def _check(self, schema: dict[str, Any], value: Any, what: str) -> list[str]:
        errors = sorted(self._validator(schema).iter_errors(value), key=lambda e: list(e.path))
        return [f"{what}: {'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]

    def _example(self, op: Operation, status: str) -> tuple[dict[str, Any], Any]:
        content = op.spec["responses"][status]
        if "$ref" in content:
            content = self.components["responses"][content["$ref"].rsplit("/", 1)[-1]]
        media = content.get("content", {}).get("application/json", {})
        schema = media.get("schema", {})
        example = None
        for value in media.get("examples", {}).values():
            ref = value.get("$ref")
            example = copy.deepcopy(
                self.components["examples"][ref.rsplit("/", 1)[-1]]["value"] if ref else value["value"]
            )
            break
        return schema, example

    # -- the HTTP side -----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = server.handle(self.command, self.path, dict(self.headers.items()), raw)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return Handler

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        split = urllib.parse.urlsplit(raw_path)
        path = split.path.removeprefix("/api/v3")
        query = urllib.parse.parse_qs(split.query)
        op, params = self._route(method, path)
        text = raw.decode("utf-8", "replace")
        body = json.loads(text) if text else None
        with self._lock:
            self.requests.append(Request(method, op.template if op else "?", path, headers, text, body))
        if op is None:
            self.violations.append(f"{method} {path}: not an operation of the contract")
            return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-github-api-version") != API_VERSION:
            self.violations.append(f"{method} {path}: X-GitHub-Api-Version is {lowered.get('x-github-api-version')!r}")
        if not lowered.get("authorization", "").startswith(("token ", "Bearer ")):
            self.violations.append(f"{method} {path}: no token")
        if "requestBody" in op.spec:
            schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
            problems = self._check(schema, body, f"{method} {op.template} body")
            if problems:
                self.violations.extend(problems)
                return (
                    422,
                    {},
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Body", "code": "invalid", "message": p} for p in problems][:5],
                        "documentation_url": "https://docs.github.com/rest",
                    },
                )
        fault = self._fault(method, op.template)
        if fault is not None:
            return self._fault_response(fault)
        status, reply, extra = self._respond(op, params, body, query)
        schema, _ = self._example(op, str(status))
        if reply is not None:
            self.violations.extend(self._check(schema, reply, f"{method} {op.template} response (fake's own bug)"))
        return status, extra, reply

    def _route(self, method: str, path: str) -> tuple[Operation | None, list[str]]:
        for op in self.operations:
            if op.method == method:
                match = op.pattern.match(path)
                if match:
                    return op, list(match.groups())
        return None, []

    def _fault(self, method: str, template: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get((method, template))
            if queue:
                return queue.popleft()
        return self.always.get((method, template))

    def _fault_response(self, fault: Fault) -> tuple[int, dict[str, str], Any]:
        docs = "https://docs.github.com/rest"
        if fault.rate_limit_reset_in is not None:
            reset = int(time.time() + fault.rate_limit_reset_in)
            headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
            message = "API rate limit exceeded for installation ID 1."
            return 403, headers, {"message": message, "documentation_url": docs}
        default = {403: "Resource not accessible by integration", 422: "Validation Failed"}.get(
            fault.status, "Server Error"
        )
        return fault.status, {}, {"message": fault.message or default, "documentation_url": docs}

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _respond(
        self, op: Operation, params: list[str], body: Any, query: dict[str, list[str]]
    ) -> tuple[int, Any, dict[str, str]]:
        owner, repo = params[0], params[1]
        prefix = f"/repos/{owner}/{repo}"
        key = (op.method, op.template)
        if key == ("POST", "/repos/{owner}/{repo}/check-runs"):
            run_id = next(self._ids)
            _, run = self._example(op, "201")
            self._apply_check_run(run, body, run_id, prefix)
            self.state.check_runs[run_id] = run
            return 201, run, {}
        if key == ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"):
            run_id = int(params[2])
            run = self.state.check_runs.get(run_id)
            if run is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
            self._apply_check_run(run, body, run_id, prefix)
            return 200, run, {}
        if key == ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            number = int(params[2])
            items = [c for c in self.state.comments.values() if c["issue_url"].endswith(f"/issues/{number}")]
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                url = self._url(f"{prefix}/issues/{number}/comments?per_page={per_page}&page={page + 1}")
                headers["Link"] = f'<{url}>; rel="next"'
            return 200, chunk, headers
        if key == ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            _, comment = self._example(op, "201")
            return 201, self.add_comment(int(params[2]), body["body"], comment), {}
        if key == ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"):
            comment = self.state.comments[int(params[2])]
            comment["body"] = body["body"]
            return 200, comment, {}
        if key == ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}"):
            del self.state.comments[int(params[2])]
            return 204, None, {}
        if key == ("GET", "/repos/{owner}/{repo}/deployments"):
            _, examples = self._example(op, "200")
            wanted = query.get("environment", [None])[0]
            listed = []
            for number, (environment, created) in enumerate(self.state.deployments, start=1):
                if wanted in (None, environment):
                    listed.append({**examples[0], "id": number, "environment": environment, "created_at": created})
            return self._paged(listed, query, f"{prefix}/deployments?environment={wanted or ''}")
        if key == ("GET", "/repos/{owner}/{repo}/issues"):
            state = query.get("state", ["open"])[0]
            listed = [i for i in reversed(self.state.issues.values()) if state in ("all", i["state"])]
            return self._paged(listed, query, f"{prefix}/issues?state={state}")
        if key == ("POST", "/repos/{owner}/{repo}/issues"):
            number = len(self.state.issues) + 1
            _, issue = self._example(op, "201")
            issue.update(number=number, title=body["title"], body=body.get("body"), state="open")
            issue.update(
                url=self._url(f"{prefix}/issues/{number}"), comments_url=self._url(f"{prefix}/issues/{number}/comments")
            )
            self.state.issues[number] = issue
            return 201, issue, {}
        if key == ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"):
            issue = self.state.issues.get(int(params[2]))
            if issue is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
            issue.update({name: body[name] for name in ("state", "state_reason", "title", "body") if name in body})
            return 200, issue, {}
        if key == ("POST", "/repos/{owner}/{repo}/code-scanning/sarifs"):
            sarif_id = f"sarif-{next(self._ids)}"
            raw = gzip.decompress(base64.b64decode(body["sarif"]))
            log = json.loads(raw)
            self.violations.extend(f"SARIF upload: {problem}" for problem in self._upload_problems(raw))
            self.state.sarifs.append({"request": body, "log": log})
            return 202, {"id": sarif_id, "url": self._url(f"{prefix}/code-scanning/sarifs/{sarif_id}")}, {}
        raise AssertionError(f"the fake does not answer {op.method} {op.template} yet")

    def _upload_problems(self, raw: bytes) -> list[str]:
        """What GitHub's code-scanning upload rules (in Microsoft's SARIF multitool) say of a log."""
        with tempfile.TemporaryDirectory(prefix="sarif-upload-") as folder:
            log = Path(folder) / "upload.sarif"
            log.write_bytes(raw)
            return contracts.multitool_problems(log)

    def _paged(
        self, listed: list[dict[str, Any]], query: dict[str, list[str]], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        """One page of `listed` as GitHub serves it, with a Link to the next page (`path` keeps the filters)."""
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        headers = {}
        if page * per_page < len(listed):
            headers["Link"] = f'<{self._url(f"{path}&per_page={per_page}&page={page + 1}")}>; rel="next"'
        return 200, listed[(page - 1) * per_page : page * per_page], headers

    def add_comment(self, number: int, text: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
        if template is None:
            op, _ = self._route("POST", f"/repos/{self.owner}/{self.repo}/issues/{number}/comments")
            assert op is not None
            _, template = self._example(op, "201")
        comment_id = next(self._ids)
        prefix = f"/repos/{self.owner}/{self.repo}"
        template.update(
            id=comment_id,
            body=text,
            url=self._url(f"{prefix}/issues/comments/{comment_id}"),
            issue_url=self._url(f"{prefix}/issues/{number}"),
        )
        self.state.comments[comment_id] = template
        return template

    def _apply_check_run(self, run: dict[str, Any], body: dict[str, Any], run_id: int, prefix: str) -> None:
        run.update(id=run_id, url=self._url(f"{prefix}/check-runs/{run_id}"))
        for name in (
            "name",
            "head_sha",
            "status",
            "conclusion",
            "details_url",
            "started_at",
            "completed_at",
            "external_id",
        ):
            if name in body:
                run[name] = body[name]
        if "conclusion" in body:
            run["status"] = "completed"
        output = body.get("output") or {}
        annotations = output.get("annotations", [])
        self.state.annotations[run_id].extend(annotations)
        run["output"] = {
            **run.get("output", {}),
            **{k: v for k, v in output.items() if k in ("title", "summary", "text")},
            "annotations_count": len(self.state.annotations[run_id]),
        }
