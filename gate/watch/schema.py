"""The `watch:` section of gate.yml as JSON Schema; no imports from gate.config, which embeds it."""

from __future__ import annotations

from typing import Any

KINDS = ("http", "login", "stream", "tls", "dns")
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_CHANNEL_COMMON = {"on": {"type": "boolean", "description": "Send to this channel (default true)."}}

TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "kind": {"enum": list(KINDS), "description": "What the probe does (default http)."},
        "path": {"type": "string", "pattern": "^/", "description": "Path on watch.url (http, stream)."},
        "host": {"type": "string", "minLength": 1, "description": "Host name (tls, dns)."},
        "expect": {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}, "minItems": 1},
        "budget": {"$ref": "#/$defs/duration", "description": "Slower than this counts as a failed probe."},
        "core": {"type": "boolean", "description": "A core route: the report's p95 threshold applies."},
        "owner": {"type": "string", "minLength": 1, "description": "Who is paged (default watch.owner)."},
        "check_first": {"type": "string", "minLength": 1, "description": "What to look at first when it fails."},
    },
}

WATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "`gate watch`: uptime probes, alerts and the daily report (docs/watch.md).",
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "Base URL watched (default checks.http.url)."},
        "interval": {"$ref": "#/$defs/duration", "description": "Time between rounds in --every mode."},
        "timeout": {"$ref": "#/$defs/duration", "description": "Deadline of one probe."},
        "store": {"type": "string", "minLength": 1, "description": "SQLite file, or postgresql://host/db."},
        "store_env": {**_ENV_NAME, "description": "Environment variable holding the store (a URL with a password)."},
        "owner": {"type": "string", "minLength": 1, "description": "Who answers for an alert."},
        "secret_env_allow": {
            "type": "array",
            "items": _ENV_NAME,
            "description": "Variables besides GATE_* that secrets may be read from (never the runner's own).",
        },
        "from_http": {"type": "boolean", "description": "Take targets from checks.http (default true)."},
        "only": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Watch only these."},
        "targets": {"type": "array", "items": TARGET_SCHEMA},
        "alerts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "open_after": {"type": "integer", "minimum": 1, "maximum": 60},
                "resolve_after": {"type": "integer", "minimum": 1, "maximum": 60},
                "timeout": {"$ref": "#/$defs/duration", "description": "Deadline of one delivery."},
                "github": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["repository"],
                    "properties": {
                        **_CHANNEL_COMMON,
                        "repository": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"},
                        "token_env": _ENV_NAME,
                        "api_url": {"type": "string", "format": "uri"},
                        "labels": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    },
                },
                "slack": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url_env"],
                    "properties": {**_CHANNEL_COMMON, "url_env": _ENV_NAME},
                },
                "webhook": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url_env"],
                    "properties": {**_CHANNEL_COMMON, "url_env": _ENV_NAME},
                },
                "email": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["host", "from", "to"],
                    "properties": {
                        **_CHANNEL_COMMON,
                        "host": {"type": "string", "minLength": 1},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "from": {"type": "string", "minLength": 3},
                        "to": {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 1},
                        "username_env": _ENV_NAME,
                        "password_env": _ENV_NAME,
                        "security": {"enum": ["starttls", "tls", "none"]},
                        "ca_file": {
                            "type": "string",
                            "format": "repo-path",
                            "description": "PEM file of a private CA the SMTP server's certificate chains to "
                            "(a path in the repository); the system's CAs stay trusted.",
                        },
                    },
                },
            },
        },
        "report": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "p95": {"$ref": "#/$defs/duration", "description": "p95 budget of core routes."},
                "uptime": {"$ref": "#/$defs/percent", "description": "Least uptime of every target."},
                "github_deployments": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Also count GitHub deployments to this environment (needs alerts.github).",
                },
            },
        },
    },
}
