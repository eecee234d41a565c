"""Signing in as gate.yml says: the login request, its token or cookie, an optional token refresh,
and the signed-in accounts every authenticated probe of the check uses.

Credentials come from environment variables, never from gate.yml; every value read or received
is registered with gate.redact before anything can print it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from gate import redact
from gate.bodies import DecodingError, read_async
from gate.checks.base import CheckContext
from gate.checks.http.flow_context import Account, FlowContext
from gate.checks.http.preview import Preview
from gate.checks.http.rules import RULES
from gate.checks.http.transport import RequestFailed, Session
from gate.errors import InputError
from gate.model import Finding, Location

SHOWN_BODY = 300
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}

LOGIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "fields"],
    "description": "How the gate signs in; credentials come from environment variables, never from gate.yml.",
    "properties": {
        "path": {"type": "string", "pattern": "^/"},
        "method": {"enum": ["POST", "PUT"]},
        "format": {"enum": ["json", "form"], "description": "Request body encoding (default json)."},
        "fields": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ENV_NAME,
            "description": "Body field -> environment variable holding its value.",
        },
        "role": {"type": "string", "minLength": 1, "description": "The account's role (default user)."},
        "success": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "cookie": {"type": "string", "minLength": 1, "description": "Session cookie the login must set."},
                "token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Dotted path of the token in the JSON body.",
                },
            },
        },
        "header": {"type": "string", "minLength": 1, "description": "Header carrying the token (Authorization)."},
        "scheme": {"type": "string", "description": "Prefix of the token in that header (Bearer)."},
        "refresh": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path", "token", "field"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "token": {"type": "string", "description": "Dotted path of the refresh token in the login body."},
                "field": {"type": "string", "description": "Body field the refresh request sends it in."},
                "new_token": {
                    "type": "string",
                    "description": "Dotted path of the new token (default: success.token).",
                },
            },
        },
    },
}


def dig(document: Any, path: str) -> Any:
    """The value at a dotted path (`data.access_token`, `items.0.id`) of parsed JSON, or None."""
    for part in path.split("."):
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


class LoginFailed(Exception):
    """What came back from a login that did not succeed, redacted."""


def _env(ctx: CheckContext, variable: str, key: str) -> str:
    value = ctx.environ.get(variable, "")
    if not value:
        raise InputError(
            f"checks.http.{key} reads the environment variable {variable}, which is not set or empty",
            hint=f"set {variable} as a secret in the CI job's environment (a test account on the preview)",
        )
    redact.register(value)
    return value


def _shown(body: bytes) -> str:
    text = body[:SHOWN_BODY].decode("utf-8", "replace").replace("\n", " ")
    return redact.scrub(text) + ("..." if len(body) > SHOWN_BODY else "")


async def login(session: Session, preview: Preview, spec: Mapping[str, Any], ctx: CheckContext, key: str) -> Account:
    """Sign in as gate.yml says; the token or cookie becomes headers for authenticated requests."""
    values = {name: _env(ctx, variable, key) for name, variable in spec["fields"].items()}
    success = spec.get("success", {})
    response = await _post(
        session, preview, spec["path"], spec.get("method", "POST"), spec.get("format", "json"), values
    )
    expected = success.get("status")
    ok = expected == response.status_code if expected is not None else 200 <= response.status_code < 300
    shown = f"HTTP {response.status_code}: {_shown(response.content) or '(empty body)'}"
    if not ok:
        raise LoginFailed(f"{spec['path']} answered {shown}")
    headers: dict[str, str] = {}
    if "cookie" in success:
        cookie = response.cookies.get(success["cookie"])
        if not cookie:
            raise LoginFailed(f"{spec['path']} set no cookie named {success['cookie']} ({shown})")
        redact.register(cookie)
        headers["cookie"] = f"{success['cookie']}={cookie}"
    if "token" in success:
        token = _token(response.content, success["token"])
        if token is None:
            raise LoginFailed(f"{spec['path']} gave no token at {success['token']} ({shown})")
        headers[spec.get("header", "authorization").lower()] = _bearer(spec, token)
    account = Account(spec.get("role", "user"), headers)
    if "refresh" in spec:
        account = await _refresh(session, preview, spec, response.content, account)
    return account


def _bearer(spec: Mapping[str, Any], token: str) -> str:
    scheme = spec.get("scheme", "Bearer")
    return f"{scheme} {token}" if scheme else token


def _token(content: bytes, path: str) -> str | None:
    try:
        value = dig(json.loads(content), path)
    except ValueError:
        return None
    if not isinstance(value, str) or not value:
        return None
    redact.register(value)
    return value


async def _post(
    session: Session, preview: Preview, path: str, method: str, form: str, values: Mapping[str, str]
) -> Any:
    import httpx

    client = session.client
    try:
        if form == "form":
            request = client.build_request(method, preview.url(path), data=dict(values))
        else:
            request = client.build_request(method, preview.url(path), json=dict(values))
        response = await client.send(request, stream=True)
        try:
            # Decoded under the check's body cap: a login answer is untrusted like any other.
            body, _ = await read_async(response, session.limits.max_body)
        finally:
            await response.aclose()
        response._content = body
        return response
    except DecodingError as error:
        raise RequestFailed(preview.url(path), f"the body cannot be decoded: {error}") from error
    except httpx.HTTPError as error:
        raise RequestFailed(preview.url(path), f"{type(error).__name__}: {redact.scrub(str(error))}") from error
    finally:
        # The shared client must not keep the session: the access checks ask without credentials
        # through it, and the cookie goes only where a route is declared authenticated.
        session.client.cookies.clear()


async def _refresh(
    session: Session, preview: Preview, spec: Mapping[str, Any], login_body: bytes, account: Account
) -> Account:
    refresh = spec["refresh"]
    refresh_token = _token(login_body, refresh["token"])
    if refresh_token is None:
        raise LoginFailed(f"the login body has no refresh token at {refresh['token']}")
    response = await _post(
        session, preview, refresh["path"], "POST", spec.get("format", "json"), {refresh["field"]: refresh_token}
    )
    shown = f"HTTP {response.status_code}: {_shown(response.content) or '(empty body)'}"
    if not 200 <= response.status_code < 300:
        raise LoginFailed(f"token refresh at {refresh['path']} answered {shown}")
    path = refresh.get("new_token") or spec.get("success", {}).get("token")
    if path is None:
        return account
    token = _token(response.content, path)
    if token is None:
        raise LoginFailed(f"token refresh at {refresh['path']} gave no token at {path} ({shown})")
    # From here on the refreshed token is the one used: proving the refreshed session works.
    return replace(
        account, headers={**account.headers, spec.get("header", "authorization").lower(): _bearer(spec, token)}
    )


async def sign_in(flow: FlowContext, others: list[Account]) -> AsyncIterator[Finding]:
    """Sign in as checks.http.login (the account becomes `flow.account`) and as every entry of
    `accounts` (appended to `others`); a login that fails is a finding, not a crash."""
    config = flow.config
    preview = flow.preview
    if "login" in config and not preview.base_url.startswith("https://"):
        yield RULES.finding(
            "http.login.failed",
            "Not signed in: the preview URL is plain HTTP and the credentials would travel unencrypted. "
            "Authenticated routes were not measured.",
            location=flow.location(),
            preview_host=preview.base_host,
        )
        return
    if "login" not in config:
        return
    flow.ctx.progress.update("signing in")
    try:
        flow.account = await login(flow.session, preview, config["login"], flow.ctx, "login")
    except LoginFailed as failure:
        yield RULES.finding(
            "http.login.failed",
            f"Signing in failed: {failure}. Authenticated routes were not measured.",
            location=Location(url=preview.url(config["login"]["path"])),
            preview_host=preview.base_host,
        )
    for index, spec in enumerate(config.get("accounts", [])):
        try:
            others.append(await login(flow.session, preview, spec, flow.ctx, f"accounts[{index}]"))
        except LoginFailed as failure:
            yield RULES.finding(
                "http.login.failed",
                f"Signing in as {spec['role']} failed: {failure}. Its role checks were skipped.",
                location=Location(url=preview.url(spec["path"])),
                subject=spec["role"],
                preview_host=preview.base_host,
            )


def probe_credentials(preview: Preview, account: Account | None) -> Mapping[str, str]:
    """One login: the session `login` obtained drives every authenticated probe; auth_token_env is
    the fallback. Nothing that is a credential goes to a plain-HTTP preview."""
    if account is not None:
        return account.headers
    if preview.auth_token and preview.base_url.startswith("https://"):
        return {"authorization": f"Bearer {preview.auth_token}"}
    return {}
