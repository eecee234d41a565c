"""The `handover:` section of gate.yml: what only people know (owners, steps, the last drill)."""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "minLength": 1}
_STEPS = {"type": "array", "items": _TEXT, "description": "Each step as someone would type or click it."}
_PLAYBOOK_PROPERTIES: dict[str, Any] = {"owner": _TEXT, "steps": _STEPS}
_PLAYBOOK = {"type": "object", "additionalProperties": False, "properties": _PLAYBOOK_PROPERTIES}

HANDOVER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Owners, steps and links for `gate handover`; never secrets.",
    "properties": {
        "rollback_budget": {"$ref": "#/$defs/duration", "description": "Longest acceptable rollback."},
        "domains": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": _TEXT, "registrar": _TEXT, "owner": _TEXT, "renews": _TEXT},
            },
        },
        "hosting": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": _TEXT, "runs": _TEXT, "owner": _TEXT, "access": _TEXT},
            },
        },
        "deploy": _PLAYBOOK,
        "rollback": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_PLAYBOOK_PROPERTIES,
                "last_drill": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["date", "took"],
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "took": {"$ref": "#/$defs/duration"},
                    },
                },
            },
        },
        "monitoring": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": _TEXT, "url": _TEXT, "owner": _TEXT},
            },
        },
        "alerts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["channel"],
                "properties": {"channel": _TEXT, "who": _TEXT},
            },
        },
    },
}
