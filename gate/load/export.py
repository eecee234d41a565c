"""`gate export k6` / `gate export locust`: the same routes, login and budgets for a bigger engine.

The gate stays one process on one CI runner. A team that needs more load runs the exported
script on k6's or Locust's own distributed engine and hands the summary back to `gate import`
(gate/load/import_results.py), where the same budgets judge it. The k6 script carries the budgets as
thresholds too, so it fails on its own when run by hand; the locustfile lists them for readers.

Everything taken from gate.yml is written as a JSON (k6) or Python (`repr`) literal, never
pasted into code, so a route path or header cannot inject script. Credentials are never
written: the scripts read them from the same environment variables gate.yml names.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gate.load.measure import RouteBudget, error_rate_samples
from gate.load.stats import label

#: The tag every exported request carries, so summaries can be split per route.
ROUTE_TAG = "gate_route"
K6_SUMMARY_ENV = "GATE_K6_SUMMARY"


@dataclass(frozen=True)
class ExportRoute:
    """One gate.yml route: `name` is how summaries and the gate's report both call it."""

    name: str
    method: str
    path: str
    budget: RouteBudget
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    authenticated: bool = False
    # gate.yml's `expect`: the statuses that count as success (default: below 400).
    expect: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ExportLogin:
    """The login request: body fields filled from environment variables, and where the token is.

    `token_path` is a dotted path into the JSON answer (`data.access_token`); without it, the
    session cookie the login sets is carried, which both engines do on their own.
    """

    path: str
    fields: Mapping[str, str]
    method: str = "POST"
    form: bool = False
    token_path: str | None = None
    header: str = "Authorization"
    scheme: str = "Bearer"


@dataclass(frozen=True)
class ExportPlan:
    """`rate` (requests/s per route) picks k6's arrival-rate executor; without it, `concurrency` users loop."""

    url: str
    routes: Sequence[ExportRoute]
    concurrency: int
    duration_s: float
    rate: float | None = None
    login: ExportLogin | None = None
    # For the header's commands, so they work as printed: the script's file name and the
    # options (`--config`, `--preset`) `gate import` needs to judge with the same budgets.
    script_name: str | None = None
    import_options: Sequence[str] = ()

    def judge_command(self, tool: str, summary: str) -> str:
        return shlex.join(["gate", "import", tool, summary, *self.import_options])


def _route_spec(route: ExportRoute) -> dict[str, Any]:
    return {
        "name": route.name,
        "method": route.method.upper(),
        "path": route.path,
        "headers": dict(route.headers),
        "body": route.body,
        "auth": route.authenticated,
        "expect": list(route.expect) if route.expect else None,
    }


def _login_spec(login: ExportLogin | None) -> dict[str, Any] | None:
    if login is None:
        return None
    return {
        "method": login.method.upper(),
        "path": login.path,
        "fields": dict(login.fields),
        "form": login.form,
        "token_path": login.token_path.split(".") if login.token_path else None,
        "header": login.header,
        "scheme": login.scheme,
    }


def k6_thresholds(route: ExportRoute) -> dict[str, list[str]]:
    tag = f"{{{ROUTE_TAG}:{route.name}}}"
    budget = route.budget
    duration = [f"p({q * 100:g})<{limit:g}" for q, limit in budget.percentiles()]
    thresholds: dict[str, list[str]] = {
        f"http_req_duration{tag}": duration or ["max>=0"],
        # Asking for the submetric is what makes k6 put it, and the request count, in the summary.
        f"http_reqs{tag}": ["count>=0"],
    }
    thresholds[f"http_req_failed{tag}"] = [
        f"rate<{budget.error_rate:g}" if budget.error_rate is not None else "rate<=1"
    ]
    return thresholds


K6_SCRIPT_NAME = "gate-k6.js"
K6_SUMMARY_FILE = "k6-summary.json"
LOCUST_SCRIPT_NAME = "gate_locust.py"
LOCUST_CSV_PREFIX = "gate"
# k6's own end-of-test text, which a handleSummary replaces unless it prints it too.
K6_TEXT_SUMMARY = "https://jslib.k6.io/k6-summary/0.1.0/index.js"

_K6_BODY = """
const TOKEN_PATH_MISSING = 'login answered without the token at the configured path';

function encodeForm(fields) {
  return Object.keys(fields).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(fields[k])).join('&');
}

export function setup() {
  if (!LOGIN) return { token: null };
  const fields = {};
  for (const [field, variable] of Object.entries(LOGIN.fields)) {
    if (__ENV[variable] === undefined) throw new Error('environment variable ' + variable + ' is not set');
    fields[field] = __ENV[variable];
  }
  const body = LOGIN.form ? encodeForm(fields) : JSON.stringify(fields);
  const type = LOGIN.form ? 'application/x-www-form-urlencoded' : 'application/json';
  const params = { headers: { 'Content-Type': type }, tags: { [TAG]: 'login' } };
  const res = http.request(LOGIN.method, BASE + LOGIN.path, body, params);
  if (res.status >= 400) throw new Error('login failed with HTTP ' + res.status);
  if (!LOGIN.token_path) return { token: null };
  let value = res.json();
  for (const key of LOGIN.token_path) value = value === null || value === undefined ? undefined : value[key];
  if (typeof value !== 'string') throw new Error(TOKEN_PATH_MISSING);
  return { token: value };
}

function hit(route, data) {
  const headers = Object.assign({}, route.headers);
  if (route.auth && data.token) headers[LOGIN.header] = (LOGIN.scheme ? LOGIN.scheme + ' ' : '') + data.token;
  const params = { headers: headers, tags: { [TAG]: route.name } };
  // http_req_failed, which the thresholds and `gate import` read, follows the declared statuses.
  if (route.expect) params.responseCallback = http.expectedStatuses(...route.expect);
  const res = http.request(route.method, BASE + route.path, route.body, params);
  const ok = route.expect ? (r) => route.expect.includes(r.status) : (r) => r.status > 0 && r.status < 400;
  check(res, { [route.name + ' answered ' + (route.expect ? route.expect.join(' or ') : 'below 400')]: ok });
}

export function handleSummary(data) {
  const path = __ENV.%(summary_env)s || %(summary_file)s;
  const judge = path === %(summary_file)s ? JUDGE : JUDGE.replace(%(summary_file)s, path);
  return {
    [path]: JSON.stringify(data, null, 2),
    stdout: textSummary(data, { indent: ' ', enableColors: true }) +
      '\\n\\nlaunch-gate: summary written to ' + path + '; judge it with: ' + judge + '\\n',
  };
}
"""


def k6_script(plan: ExportPlan) -> str:
    """A k6 script with one scenario and one set of thresholds per route."""
    scenarios: dict[str, Any] = {}
    thresholds: dict[str, list[str]] = {}
    for index, route in enumerate(plan.routes):
        if plan.rate is not None:
            scenario: dict[str, Any] = {
                "executor": "constant-arrival-rate",
                "rate": plan.rate,
                "timeUnit": "1s",
                "duration": f"{plan.duration_s:g}s",
                "preAllocatedVUs": plan.concurrency,
                "maxVUs": plan.concurrency * 4,
            }
        else:
            scenario = {"executor": "constant-vus", "vus": plan.concurrency, "duration": f"{plan.duration_s:g}s"}
        scenarios[f"route_{index}"] = scenario | {"exec": f"route_{index}"}
        thresholds.update(k6_thresholds(route))
    options = {
        "scenarios": scenarios,
        "thresholds": thresholds,
        "summaryTrendStats": ["min", "med", "avg", "p(95)", "p(99)", "max", "count"],
    }
    script = plan.script_name or K6_SCRIPT_NAME
    judge = plan.judge_command("k6", K6_SUMMARY_FILE)
    lines = [
        "// Generated by `gate export k6` from gate.yml: routes, login, expected statuses and budgets.",
        f"// Run:   k6 run {shlex.quote(script)}",
        f"// Judge: {judge}",
        f"// k6 prints its own summary and this script writes {K6_SUMMARY_FILE} (or ${K6_SUMMARY_ENV}) for",
        "// `gate import`. textSummary is fetched from k6's jslib when the run starts; offline, delete",
        f"// handleSummary and run `k6 run --summary-export {K6_SUMMARY_FILE} {shlex.quote(script)}` instead.",
        "import http from 'k6/http';",
        "import { check } from 'k6';",
        f"import {{ textSummary }} from {json.dumps(K6_TEXT_SUMMARY)};",
        "",
        f"const TAG = {json.dumps(ROUTE_TAG)};",
        f"const JUDGE = {json.dumps(judge)};",
        f"const BASE = __ENV.GATE_URL || {json.dumps(plan.url.rstrip('/'))};",
        f"const ROUTES = {json.dumps([_route_spec(route) for route in plan.routes], indent=2)};",
        f"const LOGIN = {json.dumps(_login_spec(plan.login), indent=2)};",
        f"export const options = {json.dumps(options, indent=2)};",
        _K6_BODY % {"summary_env": K6_SUMMARY_ENV, "summary_file": json.dumps(K6_SUMMARY_FILE)},
    ]
    lines += [
        f"export function route_{index}(data) {{ hit(ROUTES[{index}], data); }}" for index in range(len(plan.routes))
    ]
    return "\n".join(lines) + "\n"


_LOCUST_BODY = """
import os

from locust import FastHttpUser, constant, constant_throughput, task


def _dig(value, path):
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class GateUser(FastHttpUser):
    host = os.environ.get("GATE_URL", BASE)
    wait_time = constant_throughput(RATE_PER_USER) if RATE_PER_USER else constant(0)

    def on_start(self):
        self.token = None
        if LOGIN is None:
            return
        fields = {}
        for field, variable in LOGIN["fields"].items():
            if variable not in os.environ:
                raise RuntimeError(f"environment variable {variable} is not set")
            fields[field] = os.environ[variable]
        kwargs = {"data": fields} if LOGIN["form"] else {"json": fields}
        with self.client.request(LOGIN["method"], LOGIN["path"], name="login", catch_response=True, **kwargs) as res:
            if res.status_code >= 400:
                res.failure(f"login failed with HTTP {res.status_code}")
                raise RuntimeError(f"login failed with HTTP {res.status_code}")
            if LOGIN["token_path"]:
                self.token = _dig(res.json(), LOGIN["token_path"])

    def _hit(self, route):
        headers = dict(route["headers"])
        if route["auth"] and self.token:
            headers[LOGIN["header"]] = (LOGIN["scheme"] + " " if LOGIN["scheme"] else "") + self.token
        with self.client.request(
            route["method"], route["path"], name=route["name"], headers=headers, data=route["body"], catch_response=True
        ) as res:
            # The declared statuses are the success, as in the gate's own load (default: below 400).
            expected = res.status_code in route["expect"] if route["expect"] else 0 < res.status_code < 400
            if expected:
                res.success()
            else:
                res.failure(f"HTTP {res.status_code}")
"""


def _python_name(name: str, index: int) -> str:
    return f"route_{index}_" + re.sub(r"\W+", "_", name).strip("_").lower()[:40]


def locustfile(plan: ExportPlan) -> str:
    """A locustfile whose request names are the gate's route names, one task per route."""
    routes = [_route_spec(route) for route in plan.routes]
    # `rate` is per route and each user picks routes at random: spread the total over the users.
    per_user = plan.rate * len(routes) / plan.concurrency if plan.rate else None
    script = plan.script_name or LOCUST_SCRIPT_NAME
    run = [
        "locust", "-f", script, "--headless", "-u", str(plan.concurrency), "-r", str(plan.concurrency),
        "-t", f"{plan.duration_s:g}s", "--csv", LOCUST_CSV_PREFIX,
    ]  # fmt: skip
    lines = [
        "# Generated by `gate export locust` from gate.yml: routes, login, expected statuses and budgets.",
        f"# Run:   {shlex.join(run)}",
        f"# Judge: {plan.judge_command('locust', f'{LOCUST_CSV_PREFIX}_stats.csv')}",
        f"BASE = {plan.url.rstrip('/')!r}",
        f"ROUTES = {routes!r}",
        f"LOGIN = {_login_spec(plan.login)!r}",
        f"RATE_PER_USER = {per_user!r}",
        f"BUDGETS = {_budgets(plan.routes)!r}",
        _LOCUST_BODY,
    ]
    for index, route in enumerate(plan.routes):
        lines += [
            "    @task",
            f"    def {_python_name(route.name, index)}(self):",
            f"        self._hit(ROUTES[{index}])",
            "",
        ]
    return "\n".join(lines)


def _budgets(routes: Sequence[ExportRoute]) -> dict[str, dict[str, float]]:
    """Kept in the locustfile for people reading it; `gate import` judges with gate.yml's."""
    found: dict[str, dict[str, float]] = {}
    for route in routes:
        limits: dict[str, float] = {f"{label(q)}_ms": limit for q, limit in route.budget.percentiles()}
        if route.budget.error_rate is not None:
            limits["error_rate"] = route.budget.error_rate
            limits["min_requests"] = error_rate_samples(route.budget.error_rate)
        found[route.name] = limits
    return found
