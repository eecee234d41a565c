"""The places alerts go: a GitHub issue, a Slack-compatible webhook, a JSON webhook, e-mail.

Every secret a channel reads (token, webhook URL, SMTP password) is registered with the redactor
before it is used, and every delivery runs under a deadline so a receiver that hangs costs one
round's timeout, not the watcher.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from gate import redact
from gate.errors import InputError
from gate.watch.alerts import Alert, Channel, duration, stamp
from gate.watch.config import DEFAULT_TOKEN_ENV, Settings

T = TypeVar("T")


def _secret(environ: Mapping[str, str], variable: str, key: str) -> str:
    value = environ.get(variable, "")
    if not value:
        raise InputError(
            f"watch.alerts.{key} names the environment variable {variable}, which is not set or empty",
            hint=f"set {variable} as a secret where the watcher runs, or remove watch.alerts.{key}",
        )
    redact.register(value)
    return value


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _encrypted(url: str, key: str) -> str:
    """Secrets and alert contents travel over https only; plain http is for a receiver on this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return url
    raise InputError(
        f"watch.alerts.{key} is not an https URL",
        hint="alerts carry tokens and incident details: use https (plain http only to localhost)",
    )


class GitHubIssues(Channel):
    """One issue per incident: opened with the alert, commented on when the failure changes,
    closed with a comment giving the downtime."""

    name = "github"
    follows_changes = True

    def __init__(self, spec: Mapping[str, Any], environ: Mapping[str, str], timeout_s: float) -> None:
        from gate.github.api import ApiOptions, IssueApi

        token = _secret(environ, spec.get("token_env", DEFAULT_TOKEN_ENV), "github.token_env")
        api_url = _encrypted(
            spec.get("api_url") or environ.get("GITHUB_API_URL") or "https://api.github.com", "github.api_url"
        )
        # A watcher asks rarely; fail fast rather than queue behind rate-limit waits.
        options = ApiOptions(retries=1, backoff=0.2, max_rate_wait=5.0, write_interval=0.0, timeout=int(timeout_s))
        self.api = IssueApi(token=token, repository=spec["repository"], api_url=api_url, options=options)
        self.labels = tuple(spec.get("labels", ()))
        self.timeout_s = timeout_s

    async def send(self, alert: Alert, opened_ref: str | None) -> str:
        # The target's marker finds an issue a lost history no longer knows (an evicted cache):
        # the outage goes on in that issue instead of a second one.
        marker = f"<!-- launch-gate watch target {hashlib.sha256(alert.target.encode()).hexdigest()[:16]} -->"
        body = f"{alert.text()}\n\n{marker}"
        if alert.event == "open":
            existing = await self._call(self.api.find_open_issue, marker)
            if existing is not None:
                await self._call(self.api.comment_issue, existing, body)
                return str(existing)
            return str(await self._call(self.api.open_issue, alert.title, body, self.labels))
        number = int(opened_ref) if opened_ref else await self._call(self.api.find_open_issue, marker)
        if number is None:
            raise RuntimeError("the incident's issue is neither recorded nor open on GitHub")
        if alert.event == "change":
            await self._call(self.api.comment_issue, number, body)
        else:
            await self._call(self.api.close_issue, number, body)
        return str(number)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.wait_for(asyncio.to_thread(function, *args), self.timeout_s * 3)


class _Webhook(Channel):
    def __init__(self, spec: Mapping[str, Any], environ: Mapping[str, str], timeout_s: float, key: str) -> None:
        self.url = _encrypted(_secret(environ, spec["url_env"], f"{key}.url_env"), f"{key}.url_env")
        self.timeout_s = timeout_s

    def payload(self, alert: Alert) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, alert: Alert, opened_ref: str | None) -> str:
        import httpx

        body = json.loads(redact.scrub(json.dumps(self.payload(alert))))
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=self.timeout_s) as client:
            try:
                response = await asyncio.wait_for(client.post(self.url, json=body), self.timeout_s)
            except TimeoutError as error:
                raise RuntimeError(f"the {self.name} receiver did not answer within {self.timeout_s:g}s") from error
            except httpx.HTTPError as error:
                raise RuntimeError(f"the {self.name} receiver failed: {type(error).__name__}") from error
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"the {self.name} receiver answered HTTP {response.status_code}")
        return str(response.status_code)


class Slack(_Webhook):
    """Slack's incoming-webhook shape (`text` plus blocks), which Mattermost and Discord's /slack accept."""

    name = "slack"

    def payload(self, alert: Alert) -> dict[str, Any]:
        icon = ":white_check_mark:" if alert.event == "resolved" else ":rotating_light:"
        text = alert.text()
        return {
            "text": f"{icon} {alert.title}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {text}"}}],
        }


class JsonWebhook(_Webhook):
    name = "webhook"

    def payload(self, alert: Alert) -> dict[str, Any]:
        return {
            "source": "launch-gate watch",
            "event": alert.event,
            "incident": alert.incident,
            "title": alert.title,
            "target": alert.target,
            "kind": alert.kind,
            "url": alert.url,
            "failed": alert.detail,
            "since": stamp(alert.since),
            "last_good": stamp(alert.last_good) if alert.last_good else None,
            "resolved_at": stamp(alert.resolved_at) if alert.resolved_at else None,
            "downtime_s": alert.downtime_s,
            "downtime": duration(alert.downtime_s) if alert.downtime_s is not None else None,
            "owner": alert.owner,
            "check_first": alert.check_first,
        }


def _smtp_trust(spec: Mapping[str, Any], root: Path) -> ssl.SSLContext:
    """The system's CAs plus `ca_file` (inside the repository), verified like the http check's TLS,
    host names included."""
    from gate.checks.http.trust import ssl_context
    from gate.config.paths import PATH_HINT, inside

    name = spec.get("ca_file")
    if name is None:
        return ssl_context(None)
    if not inside(root, name):
        raise InputError(f"watch.alerts.email.ca_file '{name}' resolves outside {root}", hint=PATH_HINT)
    path = root / name
    if not path.is_file():
        raise InputError(
            f"watch.alerts.email.ca_file '{name}' is not a file",
            hint="give the PEM file of the CA that signed the SMTP server's certificate, relative to the project root",
        )
    try:
        return ssl_context(path)
    except (ssl.SSLError, OSError) as error:
        raise InputError(
            f"watch.alerts.email.ca_file '{name}' is not a readable PEM bundle: {error}",
            hint="the file must hold one or more -----BEGIN CERTIFICATE----- blocks",
        ) from error


class Email(Channel):
    name = "email"

    def __init__(self, spec: Mapping[str, Any], environ: Mapping[str, str], timeout_s: float, root: Path) -> None:
        self.spec = spec
        self.trust = _smtp_trust(spec, root)
        self.username = _secret(environ, spec["username_env"], "email.username_env") if "username_env" in spec else ""
        self.password = _secret(environ, spec["password_env"], "email.password_env") if "password_env" in spec else ""
        if self.password and spec.get("security") == "none" and not _loopback(spec["host"]):
            raise InputError(
                f"watch.alerts.email would send its password to {spec['host']} unencrypted (security: none)",
                hint="use security: starttls or tls; none is only for a relay on this machine",
            )
        self.timeout_s = timeout_s

    def _send_now(self, message: EmailMessage) -> None:
        security = self.spec.get("security", "starttls")
        host = self.spec["host"]
        context = self.trust
        if security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, self.spec.get("port", 465), timeout=self.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(host, self.spec.get("port", 587), timeout=self.timeout_s)
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)

    async def send(self, alert: Alert, opened_ref: str | None) -> str:
        message = EmailMessage()
        message["Subject"] = f"[launch-gate] {alert.title}"
        message["From"] = self.spec["from"]
        message["To"] = ", ".join(self.spec["to"])
        message.set_content(alert.text())
        try:
            await asyncio.wait_for(asyncio.to_thread(self._send_now, message), self.timeout_s * 2)
        except (smtplib.SMTPException, OSError) as error:
            raise RuntimeError(f"SMTP delivery failed: {redact.scrub(str(error))}") from error
        return "sent"


def channels(settings: Settings, environ: Mapping[str, str], root: Path) -> list[Channel]:
    """The channels watch.alerts turns on, secrets read and registered now (InputError when missing);
    paths (the SMTP CA file) are relative to the project root."""
    spec = settings.alerts
    timeout = settings.delivery_timeout_s
    made: list[Channel] = []
    if spec.get("github", {}).get("on", True) and "github" in spec:
        made.append(GitHubIssues(spec["github"], environ, timeout))
    if spec.get("slack", {}).get("on", True) and "slack" in spec:
        made.append(Slack(spec["slack"], environ, timeout, "slack"))
    if spec.get("webhook", {}).get("on", True) and "webhook" in spec:
        made.append(JsonWebhook(spec["webhook"], environ, timeout, "webhook"))
    if spec.get("email", {}).get("on", True) and "email" in spec:
        made.append(Email(spec["email"], environ, timeout, root))
    return made
